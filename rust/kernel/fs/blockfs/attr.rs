// SPDX-License-Identifier: GPL-2.0

//! Inode attributes: `setattr` and `getattr`, and the attribute flags
//! (`fileattr_get`, `fileattr_set`).

use super::*;

impl<T: FileSystem> Tables<T> {
    /// `inode_operations::setattr`.
    ///
    /// # Safety
    ///
    /// `dentry` is a positive dentry of ours whose inode is locked, `attr` the
    /// changes asked for, and `idmap` the mount's.
    pub(super) unsafe extern "C" fn setattr(
        idmap: *mut bindings::mnt_idmap,
        dentry: *mut bindings::dentry,
        attr: *mut bindings::iattr,
    ) -> c_int {
        from_result(|| {
            // SAFETY: The VFS passes a positive dentry of ours.
            unsafe { SuperBlock::<T>::writable_raw((*dentry).d_sb)? };
            // SAFETY: The VFS passes the mount's idmap, the dentry with its
            // inode locked, and the attributes to change.
            to_result(unsafe { bindings::setattr_prepare(idmap, dentry, attr) })?;
            // SAFETY: As above: the dentry is positive.
            let inode = unsafe { (*dentry).d_inode };
            // SAFETY: A positive dentry of ours holds a reference to its
            // inode, one of ours.
            let i = unsafe { INode::<T>::from_raw(inode) };
            // SAFETY: As above: `attr` is valid.
            let valid = unsafe { (*attr).ia_valid };
            if valid & bindings::ATTR_SIZE != 0 {
                // SAFETY: As above; `ia_size` is set when `ATTR_SIZE` is
                // (callers leave it uninitialised otherwise).
                let new_size = unsafe { (*attr).ia_size };
                let size = u64::try_from(new_size).map_err(|_| EINVAL)?;
                if u32::from(i.mode()) & bindings::S_IFMT != bindings::S_IFREG {
                    return Err(EINVAL);
                }
                if size != i.size() {
                    // SAFETY: A regular file of ours, locked exclusively
                    // by the VFS for the whole call.
                    let mut locked = unsafe { LockedINode::new(i) };
                    T::FileOps::resize(&mut locked, size)?;
                }
            }
            // SAFETY: As for `setattr_prepare`, which accepted the change.
            unsafe { bindings::setattr_copy(idmap, inode, attr) };
            T::write_inode(i)?;
            let mode = i.mode();
            if valid & bindings::ATTR_MODE != 0
                && u32::from(mode) & bindings::S_IFMT != bindings::S_IFLNK
            {
                // SAFETY: As above.
                to_result(unsafe { bindings::posix_acl_chmod(idmap, dentry, mode) })?;
            }
            Ok(0)
        })
    }

    /// `inode_operations::getattr`: the VFS's attributes, and the `statx`
    /// attributes that the file system's attribute flags imply (as
    /// `ext2_getattr` and `ext4_getattr` report them).
    ///
    /// # Safety
    ///
    /// `path` is a path to a positive dentry of ours and `stat` is valid for
    /// writes.
    pub(super) unsafe extern "C" fn getattr(
        idmap: *mut bindings::mnt_idmap,
        path: *const bindings::path,
        stat: *mut bindings::kstat,
        request_mask: u32,
        _query_flags: c_uint,
    ) -> c_int {
        const ATTRS: [(u32, u32); 4] = [
            (bindings::FS_APPEND_FL, bindings::STATX_ATTR_APPEND),
            (bindings::FS_COMPR_FL, bindings::STATX_ATTR_COMPRESSED),
            (bindings::FS_IMMUTABLE_FL, bindings::STATX_ATTR_IMMUTABLE),
            (bindings::FS_NODUMP_FL, bindings::STATX_ATTR_NODUMP),
        ];
        // SAFETY: The VFS passes a path to a positive dentry of ours.
        let inode = unsafe { (*(*path).dentry).d_inode };
        // SAFETY: As above: an initialised inode of ours, referenced by the
        // dentry.
        let flags = T::INodeOps::attr_flags(unsafe { INode::<T>::from_raw(inode) });
        let (mut attributes, mut mask) = (0u64, 0u64);
        for (fl, attr) in ATTRS {
            mask |= u64::from(attr);
            if flags & fl != 0 {
                attributes |= u64::from(attr);
            }
        }
        // SAFETY: `stat` is valid for writes; `idmap` is the mount's and
        // `inode` ours.
        unsafe {
            (*stat).attributes |= attributes;
            (*stat).attributes_mask |= mask;
            bindings::generic_fillattr(idmap, request_mask, inode, stat);
        }
        0
    }

    /// `inode_operations::fileattr_get`.
    ///
    /// # Safety
    ///
    /// `dentry` is a positive dentry of ours and `fa` is valid for writes.
    pub(super) unsafe extern "C" fn fileattr_get(
        dentry: *mut bindings::dentry,
        fa: *mut bindings::file_kattr,
    ) -> c_int {
        // SAFETY: The VFS passes a positive dentry of ours and attributes
        // to fill.
        unsafe {
            let i = INode::<T>::from_raw((*dentry).d_inode);
            bindings::fileattr_fill_flags(fa, T::INodeOps::attr_flags(i));
        }
        0
    }

    /// `inode_operations::fileattr_set`.
    ///
    /// # Safety
    ///
    /// `dentry` is a positive dentry of ours whose inode is locked, with
    /// permission checked, and `fa` the attributes asked for.
    pub(super) unsafe extern "C" fn fileattr_set(
        _idmap: *mut bindings::mnt_idmap,
        dentry: *mut bindings::dentry,
        fa: *mut bindings::file_kattr,
    ) -> c_int {
        from_result(|| {
            // SAFETY: The VFS passes a positive dentry of ours, its inode
            // locked, and the attributes asked for, with permission checked
            // (`fileattr_set_prepare`).
            let (i, flags) = unsafe {
                // Only what `FS_IOC_SETFLAGS` can say (as ext2).
                if bindings::fileattr_has_fsx(fa) {
                    return Err(EOPNOTSUPP);
                }
                (INode::<T>::from_raw((*dentry).d_inode), (*fa).flags)
            };
            i.super_block().writable()?;
            let old = T::INodeOps::attr_flags(i);
            let now = T::INodeOps::set_attr_flags(i, flags)?;
            // SAFETY: Our inode, locked; `inode_set_flags` changes the
            // masked bits atomically.
            unsafe {
                bindings::inode_set_flags(i.raw(), vfs_flags(now), vfs_flags(ATTR_VFS_FLAGS));
            }
            // A regular file's DAX flag takes effect when the inode is
            // next read (its page cache or DAX mappings cannot change
            // under its users): it leaves the cache once unused, as in
            // `ext4_dax_dontcache`.
            let per_inode = i.super_block().info().per_inode();
            if per_inode && !i.is_dir() && (old ^ now) & bindings::FS_DAX_FL != 0 {
                // SAFETY: Our inode, referenced by the caller's dentry.
                unsafe { bindings::d_mark_dontcache(i.raw()) };
            }
            i.touch_ctime();
            T::write_inode(i)?;
            Ok(0)
        })
    }
}
