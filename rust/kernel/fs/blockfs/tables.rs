// SPDX-License-Identifier: GPL-2.0

//! The C operation tables of a file system type.

use super::*;

/// A NULL-terminated `s_xattr` array.
pub struct XattrHandlers(pub(super) [*const bindings::xattr_handler; 4]);

// SAFETY: The pointers are to immutable handler tables.
unsafe impl Sync for XattrHandlers {}

/// The VFS tables of file system `T`.
pub struct Tables<T: FileSystem> {
    pub(super) super_ops: bindings::super_operations,
    pub(super) dir_iops: bindings::inode_operations,
    pub(super) dir_fops: bindings::file_operations,
    pub(super) file_iops: bindings::inode_operations,
    pub(super) file_fops: bindings::file_operations,
    pub(super) sym_iops: bindings::inode_operations,
    pub(super) special_iops: bindings::inode_operations,
    pub(super) dax_aops: bindings::address_space_operations,
    pub(super) aops: bindings::address_space_operations,
    pub(super) dax_vm_ops: bindings::vm_operations_struct,
    pub(super) vm_ops: bindings::vm_operations_struct,
    pub(super) iomap_ops: bindings::iomap_ops,
    pub(super) writeback_ops: bindings::iomap_writeback_ops,
    pub(super) ctx_ops: bindings::fs_context_operations,
    pub(super) _p: PhantomData<T>,
}

// SAFETY: The tables are immutable function pointer tables.
unsafe impl<T: FileSystem> Sync for Tables<T> {}

/// 32-bit callers' ioctls, which take pointer arguments: as native ones.
#[cfg(CONFIG_COMPAT)]
pub(super) const COMPAT_IOCTL: Option<
    unsafe extern "C" fn(*mut bindings::file, c_uint, c_ulong) -> c_long,
> = Some(bindings::compat_ptr_ioctl);

#[cfg(not(CONFIG_COMPAT))]
pub(super) const COMPAT_IOCTL: Option<
    unsafe extern "C" fn(*mut bindings::file, c_uint, c_ulong) -> c_long,
> = None;

impl<T: FileSystem> Tables<T> {
    pub(super) const TABLES: Self = Self {
        super_ops: bindings::super_operations {
            alloc_inode: Some(Self::alloc_inode),
            free_inode: Some(Self::free_inode),
            evict_inode: Some(Self::evict_inode),
            put_super: Some(Self::put_super),
            write_inode: Some(Self::write_inode),
            sync_fs: Some(Self::sync_fs),
            statfs: Some(Self::statfs),
            show_options: Some(Self::show_options),
            shutdown: Some(Self::shutdown),
            ..pin_init::zeroed()
        },
        dir_iops: bindings::inode_operations {
            lookup: Some(Self::lookup),
            create: Some(Self::create),
            link: Some(Self::link),
            unlink: Some(Self::unlink),
            symlink: Some(Self::symlink),
            mkdir: Some(Self::mkdir),
            rmdir: Some(Self::rmdir),
            mknod: Some(Self::mknod),
            rename: Some(Self::rename),
            setattr: Some(Self::setattr),
            tmpfile: Some(Self::tmpfile),
            listxattr: Some(Self::listxattr),
            get_inode_acl: Some(Self::get_inode_acl),
            set_acl: Some(Self::set_acl),
            fileattr_get: Some(Self::fileattr_get),
            fileattr_set: Some(Self::fileattr_set),
            ..pin_init::zeroed()
        },
        dir_fops: bindings::file_operations {
            llseek: Some(bindings::generic_file_llseek),
            read: Some(bindings::generic_read_dir),
            iterate_shared: Some(Self::iterate_shared),
            fsync: Some(Self::fsync),
            unlocked_ioctl: Some(Self::ioctl),
            compat_ioctl: COMPAT_IOCTL,
            setlease: Some(bindings::generic_setlease),
            ..pin_init::zeroed()
        },
        file_iops: bindings::inode_operations {
            setattr: Some(Self::setattr),
            fiemap: Some(Self::fiemap),
            listxattr: Some(Self::listxattr),
            get_inode_acl: Some(Self::get_inode_acl),
            set_acl: Some(Self::set_acl),
            fileattr_get: Some(Self::fileattr_get),
            fileattr_set: Some(Self::fileattr_set),
            ..pin_init::zeroed()
        },
        sym_iops: bindings::inode_operations {
            get_link: Some(bindings::simple_get_link),
            setattr: Some(Self::setattr),
            listxattr: Some(Self::listxattr),
            ..pin_init::zeroed()
        },
        special_iops: bindings::inode_operations {
            setattr: Some(Self::setattr),
            listxattr: Some(Self::listxattr),
            get_inode_acl: Some(Self::get_inode_acl),
            set_acl: Some(Self::set_acl),
            ..pin_init::zeroed()
        },
        file_fops: bindings::file_operations {
            llseek: Some(Self::llseek),
            read_iter: Some(Self::read_iter),
            write_iter: Some(Self::write_iter),
            mmap_prepare: Some(Self::mmap_prepare),
            open: Some(Self::open),
            fsync: Some(Self::fsync),
            fallocate: Some(Self::fallocate),
            get_unmapped_area: Some(bindings::thp_get_unmapped_area),
            unlocked_ioctl: Some(Self::ioctl),
            compat_ioctl: COMPAT_IOCTL,
            splice_read: Some(bindings::copy_splice_read),
            splice_write: Some(bindings::iter_file_splice_write),
            setlease: Some(bindings::generic_setlease),
            // Reads and writes honour IOCB_NOWAIT (DAX has no buffering
            // to wait for; see `write_iter`).
            fop_flags: bindings::FOP_MMAP_SYNC
                | bindings::FOP_BUFFER_RASYNC
                | bindings::FOP_BUFFER_WASYNC,
            ..pin_init::zeroed()
        },
        dax_aops: bindings::address_space_operations {
            dirty_folio: Some(bindings::noop_dirty_folio),
            writepages: Some(Self::dax_writepages),
            bmap: Some(Self::bmap),
            swap_activate: Some(Self::swap_activate),
            ..pin_init::zeroed()
        },
        // Files without DAX: the page cache, as iomap file systems (zonefs,
        // `def_blk_aops`) set it up.
        aops: bindings::address_space_operations {
            read_folio: Some(Self::read_folio),
            readahead: Some(Self::readahead),
            writepages: Some(Self::writepages),
            dirty_folio: Some(bindings::iomap_dirty_folio),
            release_folio: Some(bindings::iomap_release_folio),
            invalidate_folio: Some(bindings::iomap_invalidate_folio),
            migrate_folio: Some(bindings::filemap_migrate_folio),
            is_partially_uptodate: Some(bindings::iomap_is_partially_uptodate),
            error_remove_folio: Some(bindings::generic_error_remove_folio),
            bmap: Some(Self::bmap),
            swap_activate: Some(Self::swap_activate),
            ..pin_init::zeroed()
        },
        dax_vm_ops: bindings::vm_operations_struct {
            fault: Some(Self::fault),
            huge_fault: Some(Self::huge_fault),
            page_mkwrite: Some(Self::fault),
            pfn_mkwrite: Some(Self::fault),
            ..pin_init::zeroed()
        },
        vm_ops: bindings::vm_operations_struct {
            fault: Some(bindings::filemap_fault),
            map_pages: Some(bindings::filemap_map_pages),
            page_mkwrite: Some(Self::page_mkwrite),
            ..pin_init::zeroed()
        },
        iomap_ops: bindings::iomap_ops {
            iomap_begin: Some(Self::iomap_begin),
            ..pin_init::zeroed()
        },
        writeback_ops: bindings::iomap_writeback_ops {
            writeback_range: Some(Self::writeback_range),
            writeback_submit: Some(bindings::iomap_ioend_writeback_submit),
        },
        ctx_ops: bindings::fs_context_operations {
            free: Some(Self::ctx_free),
            parse_param: Some(Self::parse_param),
            get_tree: Some(Self::get_tree),
            reconfigure: Some(Self::reconfigure),
            ..pin_init::zeroed()
        },
        _p: PhantomData,
    };

    pub(super) const fn xattr_handler(
        prefix: &'static CStr,
        ns: XattrNs,
    ) -> bindings::xattr_handler {
        bindings::xattr_handler {
            name: core::ptr::null(),
            prefix: prefix.as_ptr().cast(),
            flags: ns as c_int,
            list: None,
            get: Some(Self::xattr_get),
            set: Some(Self::xattr_set),
        }
    }

    pub(super) const USER_XATTR: bindings::xattr_handler =
        Self::xattr_handler(c"user.", XattrNs::User);

    pub(super) const TRUSTED_XATTR: bindings::xattr_handler =
        Self::xattr_handler(c"trusted.", XattrNs::Trusted);

    pub(super) const SECURITY_XATTR: bindings::xattr_handler =
        Self::xattr_handler(c"security.", XattrNs::Security);

    /// `s_xattr`. ACLs are not among them: the VFS serves their names
    /// through `get_inode_acl` and `set_acl`.
    pub(super) const XATTR_HANDLERS: XattrHandlers = XattrHandlers([
        &Self::USER_XATTR,
        &Self::TRUSTED_XATTR,
        &Self::SECURITY_XATTR,
        core::ptr::null(),
    ]);
}
