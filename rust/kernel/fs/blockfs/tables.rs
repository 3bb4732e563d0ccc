// SPDX-License-Identifier: GPL-2.0

//! The C operation tables of a file system type.

use super::*;

/// `Some(f)` if `cond`, else `None`: a C slot stays NULL unless the file
/// system implements what its operation needs, as C file systems leave out
/// what they do not do (a read-only one has no `create`, `write_iter`,
/// `page_mkwrite`, ...).
macro_rules! slot {
    ($cond:expr, $f:expr) => {
        if $cond {
            Some($f)
        } else {
            None
        }
    };
}

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
    pub(super) xattr_iomap_ops: bindings::iomap_ops,
    pub(super) writeback_ops: bindings::iomap_writeback_ops,
    pub(super) ctx_ops: bindings::fs_context_operations,
    pub(super) export_ops: bindings::export_operations,
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
    /// Whether `T` can be mounted read-write: it implements the methods of
    /// [`FileSystem`] that change the file system, all of them (a build
    /// error otherwise: a file system that could create files but not
    /// delete them would be a bug, not a feature).
    pub(super) const READ_WRITE: bool = {
        let has = [
            T::FileOps::HAS_MAP_WRITE,
            T::FileOps::HAS_WRITE,
            T::FileOps::HAS_RESIZE,
            T::HAS_WRITE_INODE,
            T::HAS_DELETE_INODE,
            T::DirOps::HAS_CREATE,
            T::DirOps::HAS_MKNOD,
            T::DirOps::HAS_SYMLINK,
            T::DirOps::HAS_MKDIR,
            T::DirOps::HAS_TMPFILE,
            T::DirOps::HAS_LINK,
            T::DirOps::HAS_UNLINK,
            T::DirOps::HAS_RMDIR,
            T::DirOps::HAS_RENAME,
            T::HAS_WRITE_SUPER,
        ];
        let mut i = 1;
        while i < has.len() {
            assert!(
                has[i] == has[0],
                "a writable FileSystem implements every write method"
            );
            i += 1;
        }
        has[0]
    };

    pub(super) const TABLES: Self = Self {
        super_ops: bindings::super_operations {
            alloc_inode: Some(Self::alloc_inode),
            free_inode: Some(Self::free_inode),
            evict_inode: Some(Self::evict_inode),
            put_super: slot!(Self::READ_WRITE, Self::put_super),
            write_inode: slot!(Self::READ_WRITE, Self::write_inode),
            sync_fs: slot!(Self::READ_WRITE, Self::sync_fs),
            freeze_fs: slot!(Self::READ_WRITE, Self::freeze_fs),
            unfreeze_fs: slot!(Self::READ_WRITE, Self::unfreeze_fs),
            statfs: Some(Self::statfs),
            show_options: Some(Self::show_options),
            shutdown: Some(Self::shutdown),
            ..pin_init::zeroed()
        },
        dir_iops: bindings::inode_operations {
            lookup: Some(Self::lookup),
            create: slot!(Self::READ_WRITE, Self::create),
            link: slot!(Self::READ_WRITE, Self::link),
            unlink: slot!(Self::READ_WRITE, Self::unlink),
            symlink: slot!(Self::READ_WRITE, Self::symlink),
            mkdir: slot!(Self::READ_WRITE, Self::mkdir),
            rmdir: slot!(Self::READ_WRITE, Self::rmdir),
            mknod: slot!(Self::READ_WRITE, Self::mknod),
            rename: slot!(Self::READ_WRITE, Self::rename),
            setattr: slot!(Self::READ_WRITE, Self::setattr),
            tmpfile: slot!(Self::READ_WRITE, Self::tmpfile),
            listxattr: slot!(T::XattrOps::HAS_LIST_XATTRS, Self::listxattr),
            getattr: slot!(T::INodeOps::HAS_ATTR_FLAGS, Self::getattr),
            get_inode_acl: slot!(T::INodeOps::HAS_GET_ACL, Self::get_inode_acl),
            set_acl: slot!(T::INodeOps::HAS_SET_ACL, Self::set_acl),
            fileattr_get: slot!(T::INodeOps::HAS_ATTR_FLAGS, Self::fileattr_get),
            fileattr_set: slot!(T::INodeOps::HAS_SET_ATTR_FLAGS, Self::fileattr_set),
            ..pin_init::zeroed()
        },
        dir_fops: bindings::file_operations {
            llseek: Some(bindings::generic_file_llseek),
            read: Some(bindings::generic_read_dir),
            iterate_shared: Some(Self::iterate_shared),
            fsync: slot!(Self::READ_WRITE, Self::fsync),
            unlocked_ioctl: Some(Self::ioctl),
            compat_ioctl: COMPAT_IOCTL,
            setlease: Some(bindings::generic_setlease),
            ..pin_init::zeroed()
        },
        file_iops: bindings::inode_operations {
            setattr: slot!(Self::READ_WRITE, Self::setattr),
            fiemap: Some(Self::fiemap),
            listxattr: slot!(T::XattrOps::HAS_LIST_XATTRS, Self::listxattr),
            getattr: slot!(T::INodeOps::HAS_ATTR_FLAGS, Self::getattr),
            get_inode_acl: slot!(T::INodeOps::HAS_GET_ACL, Self::get_inode_acl),
            set_acl: slot!(T::INodeOps::HAS_SET_ACL, Self::set_acl),
            fileattr_get: slot!(T::INodeOps::HAS_ATTR_FLAGS, Self::fileattr_get),
            fileattr_set: slot!(T::INodeOps::HAS_SET_ATTR_FLAGS, Self::fileattr_set),
            ..pin_init::zeroed()
        },
        sym_iops: bindings::inode_operations {
            get_link: Some(bindings::simple_get_link),
            setattr: slot!(Self::READ_WRITE, Self::setattr),
            listxattr: slot!(T::XattrOps::HAS_LIST_XATTRS, Self::listxattr),
            getattr: slot!(T::INodeOps::HAS_ATTR_FLAGS, Self::getattr),
            ..pin_init::zeroed()
        },
        special_iops: bindings::inode_operations {
            setattr: slot!(Self::READ_WRITE, Self::setattr),
            listxattr: slot!(T::XattrOps::HAS_LIST_XATTRS, Self::listxattr),
            getattr: slot!(T::INodeOps::HAS_ATTR_FLAGS, Self::getattr),
            get_inode_acl: slot!(T::INodeOps::HAS_GET_ACL, Self::get_inode_acl),
            set_acl: slot!(T::INodeOps::HAS_SET_ACL, Self::set_acl),
            ..pin_init::zeroed()
        },
        file_fops: bindings::file_operations {
            llseek: Some(Self::llseek),
            read_iter: Some(Self::read_iter),
            write_iter: slot!(Self::READ_WRITE, Self::write_iter),
            mmap_prepare: Some(Self::mmap_prepare),
            open: Some(Self::open),
            release: slot!(Self::READ_WRITE && T::FileOps::HAS_TRIM, Self::release),
            fsync: slot!(Self::READ_WRITE, Self::fsync),
            fallocate: slot!(
                Self::READ_WRITE && T::FileOps::HAS_FALLOCATE,
                Self::fallocate
            ),
            get_unmapped_area: Some(bindings::thp_get_unmapped_area),
            unlocked_ioctl: Some(Self::ioctl),
            compat_ioctl: COMPAT_IOCTL,
            splice_read: Some(bindings::copy_splice_read),
            splice_write: slot!(Self::READ_WRITE, bindings::iter_file_splice_write),
            setlease: Some(bindings::generic_setlease),
            // Reads and writes honour IOCB_NOWAIT (DAX has no buffering
            // to wait for; see `write_iter`).
            fop_flags: bindings::FOP_MMAP_SYNC
                | bindings::FOP_BUFFER_RASYNC
                | bindings::FOP_BUFFER_WASYNC,
            ..pin_init::zeroed()
        },
        dax_aops: bindings::address_space_operations {
            dirty_folio: slot!(Self::READ_WRITE, bindings::noop_dirty_folio),
            writepages: slot!(Self::READ_WRITE, Self::dax_writepages),
            bmap: Some(Self::bmap),
            swap_activate: slot!(Self::READ_WRITE, Self::swap_activate),
            ..pin_init::zeroed()
        },
        // Files without DAX: the page cache, as iomap file systems (zonefs,
        // `def_blk_aops`) set it up.
        aops: bindings::address_space_operations {
            read_folio: Some(Self::read_folio),
            readahead: Some(Self::readahead),
            writepages: slot!(Self::READ_WRITE, Self::writepages),
            dirty_folio: slot!(Self::READ_WRITE, bindings::iomap_dirty_folio),
            release_folio: Some(bindings::iomap_release_folio),
            invalidate_folio: Some(bindings::iomap_invalidate_folio),
            migrate_folio: Some(bindings::filemap_migrate_folio),
            is_partially_uptodate: Some(bindings::iomap_is_partially_uptodate),
            error_remove_folio: Some(bindings::generic_error_remove_folio),
            bmap: Some(Self::bmap),
            swap_activate: slot!(Self::READ_WRITE, Self::swap_activate),
            ..pin_init::zeroed()
        },
        dax_vm_ops: bindings::vm_operations_struct {
            fault: Some(Self::fault),
            huge_fault: Some(Self::huge_fault),
            page_mkwrite: slot!(Self::READ_WRITE, Self::fault),
            pfn_mkwrite: slot!(Self::READ_WRITE, Self::fault),
            ..pin_init::zeroed()
        },
        vm_ops: bindings::vm_operations_struct {
            fault: Some(bindings::filemap_fault),
            map_pages: Some(bindings::filemap_map_pages),
            page_mkwrite: slot!(Self::READ_WRITE, Self::page_mkwrite),
            ..pin_init::zeroed()
        },
        iomap_ops: bindings::iomap_ops {
            iomap_begin: Some(Self::iomap_begin),
            ..pin_init::zeroed()
        },
        xattr_iomap_ops: bindings::iomap_ops {
            iomap_begin: Some(Self::xattr_iomap_begin),
            ..pin_init::zeroed()
        },
        writeback_ops: bindings::iomap_writeback_ops {
            writeback_range: slot!(Self::READ_WRITE, Self::writeback_range),
            writeback_submit: Some(bindings::iomap_ioend_writeback_submit),
        },
        export_ops: bindings::export_operations {
            // Inode number and generation, as ext2's handles.
            encode_fh: Some(bindings::generic_encode_ino32_fh),
            fh_to_dentry: Some(Self::fh_to_dentry),
            fh_to_parent: Some(Self::fh_to_parent),
            get_parent: Some(Self::get_parent),
            ..pin_init::zeroed()
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

    /// How many of the C operations that change a file system are
    /// installed for `T`: none for a read-only file system (for tests,
    /// which check that a read-only file system has no write paths at all).
    pub const fn write_ops() -> usize {
        let t = &Self::TABLES;
        let installed = [
            t.super_ops.write_inode.is_some(),
            t.super_ops.sync_fs.is_some(),
            t.super_ops.put_super.is_some(),
            t.super_ops.freeze_fs.is_some(),
            t.super_ops.unfreeze_fs.is_some(),
            t.dir_iops.create.is_some(),
            t.dir_iops.link.is_some(),
            t.dir_iops.unlink.is_some(),
            t.dir_iops.symlink.is_some(),
            t.dir_iops.mkdir.is_some(),
            t.dir_iops.rmdir.is_some(),
            t.dir_iops.mknod.is_some(),
            t.dir_iops.rename.is_some(),
            t.dir_iops.tmpfile.is_some(),
            t.dir_iops.setattr.is_some(),
            t.dir_iops.set_acl.is_some(),
            t.dir_iops.fileattr_set.is_some(),
            t.dir_fops.fsync.is_some(),
            t.file_iops.setattr.is_some(),
            t.file_iops.set_acl.is_some(),
            t.file_iops.fileattr_set.is_some(),
            t.sym_iops.setattr.is_some(),
            t.special_iops.setattr.is_some(),
            t.special_iops.set_acl.is_some(),
            t.file_fops.write_iter.is_some(),
            t.file_fops.fsync.is_some(),
            t.file_fops.fallocate.is_some(),
            t.file_fops.splice_write.is_some(),
            t.dax_aops.dirty_folio.is_some(),
            t.dax_aops.writepages.is_some(),
            t.dax_aops.swap_activate.is_some(),
            t.aops.dirty_folio.is_some(),
            t.aops.writepages.is_some(),
            t.aops.swap_activate.is_some(),
            t.dax_vm_ops.page_mkwrite.is_some(),
            t.dax_vm_ops.pfn_mkwrite.is_some(),
            t.vm_ops.page_mkwrite.is_some(),
            t.writeback_ops.writeback_range.is_some(),
            Self::USER_XATTR.set.is_some(),
        ];
        let mut n = 0;
        let mut i = 0;
        while i < installed.len() {
            if installed[i] {
                n += 1;
            }
            i += 1;
        }
        n
    }

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
            set: slot!(T::XattrOps::HAS_SET_XATTR, Self::xattr_set),
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
