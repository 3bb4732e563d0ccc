// SPDX-License-Identifier: GPL-2.0

//! Directory and namespace operations: lookup, listing, create, link, rename.

use super::*;

impl<T: FileSystem> Tables<T> {
    /// `inode_operations::lookup`.
    ///
    /// # Safety
    ///
    /// `dir` is a directory of ours, locked (at least shared), and `dentry` a
    /// negative dentry in it with a stable name.
    pub(super) unsafe extern "C" fn lookup(
        dir: *mut bindings::inode,
        dentry: *mut bindings::dentry,
        _flags: c_uint,
    ) -> *mut bindings::dentry {
        // SAFETY: The VFS passes an initialised directory inode of ours,
        // locked, which keeps the name of the negative `dentry` stable.
        let (d, name) = unsafe {
            (
                INode::<T>::from_raw(dir),
                Dentry::<T>::from_raw(dentry).name(),
            )
        };
        let inode = match T::DirOps::lookup(d, name) {
            Ok(Some(i)) => ARef::into_raw(i).as_ptr().cast(),
            Ok(None) => core::ptr::null_mut(),
            Err(e) => return e.to_ptr(),
        };
        // SAFETY: `d_splice_alias` consumes the inode reference.
        unsafe { bindings::d_splice_alias(inode, dentry) }
    }

    /// `file_operations::iterate_shared`.
    ///
    /// # Safety
    ///
    /// `file` is an open directory of ours, locked shared, and `ctx` the
    /// listing context of this call.
    pub(super) unsafe extern "C" fn iterate_shared(
        file: *mut bindings::file,
        ctx: *mut bindings::dir_context,
    ) -> c_int {
        from_result(|| {
            // SAFETY: An open directory of ours.
            let d = unsafe { INode::<T>::from_raw(bindings::file_inode(file)) };
            d.super_block().live()?;
            // INVARIANT: `ctx` is the context of this call.
            let mut e = DirEmitter {
                ctx,
                _p: PhantomData,
            };
            T::DirOps::read_dir(d, &mut e)?;
            Ok(0)
        })
    }

    /// `inode_operations::create`.
    ///
    /// # Safety
    ///
    /// `dir` is a directory of ours, locked, `dentry` a negative dentry in
    /// it, and `idmap` the mount's.
    pub(super) unsafe extern "C" fn create(
        idmap: *mut bindings::mnt_idmap,
        dir: *mut bindings::inode,
        dentry: *mut bindings::dentry,
        mode: bindings::umode_t,
    ) -> c_int {
        from_result(|| {
            // SAFETY: As the caller guarantees: the VFS passes the mount's
            // idmap, a directory of ours, locked (which keeps the name
            // stable), and a negative dentry in it.
            let (idmap, d, dentry) = unsafe {
                (
                    Idmap::from_raw(idmap),
                    INode::<T>::from_raw(dir),
                    NewDentry::from_raw(dentry),
                )
            };
            d.super_block().writable()?;
            T::DirOps::create(&idmap, d, dentry, mode & 0o7777)?;
            Ok(0)
        })
    }

    /// `inode_operations::mknod`.
    ///
    /// # Safety
    ///
    /// As for [`Self::create`].
    pub(super) unsafe extern "C" fn mknod(
        idmap: *mut bindings::mnt_idmap,
        dir: *mut bindings::inode,
        dentry: *mut bindings::dentry,
        mode: bindings::umode_t,
        rdev: bindings::dev_t,
    ) -> c_int {
        from_result(|| {
            // SAFETY: As in `create`.
            let (idmap, d, dentry) = unsafe {
                (
                    Idmap::from_raw(idmap),
                    INode::<T>::from_raw(dir),
                    NewDentry::from_raw(dentry),
                )
            };
            d.super_block().writable()?;
            let (major, minor) = (rdev >> 20, rdev & 0xfffff);
            let typ = match u32::from(mode) & bindings::S_IFMT {
                bindings::S_IFREG => INodeType::Reg,
                bindings::S_IFCHR => INodeType::Chr(major, minor),
                bindings::S_IFBLK => INodeType::Blk(major, minor),
                bindings::S_IFIFO => INodeType::Fifo,
                bindings::S_IFSOCK => INodeType::Sock,
                _ => return Err(EINVAL),
            };
            T::DirOps::mknod(&idmap, d, dentry, mode & 0o7777, typ)?;
            Ok(0)
        })
    }

    /// `inode_operations::symlink`.
    ///
    /// # Safety
    ///
    /// As for [`Self::create`]; `target` is NUL-terminated.
    pub(super) unsafe extern "C" fn symlink(
        idmap: *mut bindings::mnt_idmap,
        dir: *mut bindings::inode,
        dentry: *mut bindings::dentry,
        target: *const c_char,
    ) -> c_int {
        from_result(|| {
            // SAFETY: As in `create`, and the target is NUL-terminated.
            let (idmap, d, dentry, target) = unsafe {
                (
                    Idmap::from_raw(idmap),
                    INode::<T>::from_raw(dir),
                    NewDentry::from_raw(dentry),
                    CStr::from_char_ptr(target),
                )
            };
            d.super_block().writable()?;
            T::DirOps::symlink(&idmap, d, dentry, target.to_bytes())?;
            Ok(0)
        })
    }

    /// `inode_operations::mkdir`.
    ///
    /// # Safety
    ///
    /// As for [`Self::create`]; the VFS checked `s_max_links`.
    pub(super) unsafe extern "C" fn mkdir(
        idmap: *mut bindings::mnt_idmap,
        dir: *mut bindings::inode,
        dentry: *mut bindings::dentry,
        mode: bindings::umode_t,
    ) -> *mut bindings::dentry {
        let r = (|| {
            // SAFETY: As in `create`.
            let (idmap, d, dentry) = unsafe {
                (
                    Idmap::from_raw(idmap),
                    INode::<T>::from_raw(dir),
                    NewDentry::from_raw(dentry),
                )
            };
            d.super_block().writable()?;
            T::DirOps::mkdir(&idmap, d, dentry, mode & 0o7777).map(|_| ())
        })();
        // The dentry given is the one instantiated: NULL says so.
        match r {
            Ok(()) => core::ptr::null_mut(),
            Err(e) => e.to_ptr(),
        }
    }

    /// `inode_operations::tmpfile`: `O_TMPFILE`.
    ///
    /// # Safety
    ///
    /// `dir` is a directory of ours, `file` is being opened on it, and `idmap`
    /// is the mount's.
    pub(super) unsafe extern "C" fn tmpfile(
        idmap: *mut bindings::mnt_idmap,
        dir: *mut bindings::inode,
        file: *mut bindings::file,
        mode: bindings::umode_t,
    ) -> c_int {
        from_result(|| {
            // SAFETY: As the caller guarantees.
            let (idmap, d, file) = unsafe {
                (
                    Idmap::from_raw(idmap),
                    INode::<T>::from_raw(dir),
                    TmpFile::from_raw(file),
                )
            };
            d.super_block().writable()?;
            T::DirOps::tmpfile(&idmap, d, file, mode & 0o7777)?;
            Ok(0)
        })
    }

    /// `inode_operations::link`.
    ///
    /// # Safety
    ///
    /// `old` is a positive dentry of ours whose inode is locked, `dir` a
    /// directory of ours, locked, and `dentry` a negative dentry in it.
    pub(super) unsafe extern "C" fn link(
        old: *mut bindings::dentry,
        dir: *mut bindings::inode,
        dentry: *mut bindings::dentry,
    ) -> c_int {
        from_result(|| {
            // SAFETY: The VFS passes a positive dentry of ours (its inode
            // locked), our locked directory and a negative dentry in it.
            let (i, d, dentry) = unsafe {
                (
                    INode::<T>::from_raw((*old).d_inode),
                    INode::<T>::from_raw(dir),
                    NewDentry::from_raw(dentry),
                )
            };
            d.super_block().writable()?;
            T::DirOps::link(i, d, dentry)?;
            Ok(0)
        })
    }

    /// `inode_operations::unlink`.
    ///
    /// # Safety
    ///
    /// `dir` is a directory of ours, locked, and `dentry` a positive dentry in
    /// it whose inode is locked.
    pub(super) unsafe extern "C" fn unlink(
        dir: *mut bindings::inode,
        dentry: *mut bindings::dentry,
    ) -> c_int {
        from_result(|| {
            // SAFETY: The VFS passes our locked directory and a positive
            // dentry in it, whose inode is locked.
            let (d, dentry) = unsafe { (INode::<T>::from_raw(dir), Dentry::from_raw(dentry)) };
            d.super_block().writable()?;
            T::DirOps::unlink(d, &dentry)?;
            Ok(0)
        })
    }

    /// `inode_operations::rmdir`.
    ///
    /// # Safety
    ///
    /// As for [`Self::unlink`]; the inode is a directory.
    pub(super) unsafe extern "C" fn rmdir(
        dir: *mut bindings::inode,
        dentry: *mut bindings::dentry,
    ) -> c_int {
        from_result(|| {
            // SAFETY: As in `unlink`.
            let (d, dentry) = unsafe { (INode::<T>::from_raw(dir), Dentry::from_raw(dentry)) };
            d.super_block().writable()?;
            T::DirOps::rmdir(d, &dentry)?;
            Ok(0)
        })
    }

    /// `inode_operations::rename`.
    ///
    /// # Safety
    ///
    /// The directories are ours and locked (with the rename lock when they
    /// differ), `old_dentry` is positive, `new_dentry` is positive for an
    /// exchange, their inodes are locked, and the names are stable under those
    /// locks.
    pub(super) unsafe extern "C" fn rename(
        idmap: *mut bindings::mnt_idmap,
        old_dir: *mut bindings::inode,
        old_dentry: *mut bindings::dentry,
        new_dir: *mut bindings::inode,
        new_dentry: *mut bindings::dentry,
        flags: c_uint,
    ) -> c_int {
        from_result(|| {
            // SAFETY: The VFS passes the mount's idmap, our directories,
            // locked, a positive old dentry and a new one, whose inodes are
            // locked; the names are stable under those locks.
            let (idmap, od, old, nd, new) = unsafe {
                (
                    Idmap::from_raw(idmap),
                    INode::<T>::from_raw(old_dir),
                    Dentry::from_raw(old_dentry),
                    INode::<T>::from_raw(new_dir),
                    Dentry::from_raw(new_dentry),
                )
            };
            od.super_block().writable()?;
            T::DirOps::rename(&idmap, od, &old, nd, &new, flags)?;
            Ok(0)
        })
    }
}
