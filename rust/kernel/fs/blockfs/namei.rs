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
        // SAFETY: The VFS passes an initialised directory inode of ours.
        let d = unsafe { INode::<T>::from_raw(dir) };
        // SAFETY: `d_name` is stable during lookup; `name` is valid for `len`.
        let name = unsafe {
            let q = &(*dentry).__bindgen_anon_1.d_name;
            core::slice::from_raw_parts(q.name, q.__bindgen_anon_1.__bindgen_anon_1.len as usize)
        };
        let inode = match T::lookup(d, name) {
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
            T::read_dir(d, &mut e)?;
            Ok(0)
        })
    }

    /// The name of `dentry`.
    ///
    /// # Safety
    ///
    /// `dentry` must be valid, with a name stable for `'a` (the VFS holds
    /// the parent's lock, or the rename lock, during namespace operations).
    pub(super) unsafe fn name<'a>(dentry: *mut bindings::dentry) -> &'a [u8] {
        // SAFETY: As the caller guarantees; `name` is valid for `len` bytes.
        unsafe {
            let q = &(*dentry).__bindgen_anon_1.d_name;
            core::slice::from_raw_parts(q.name, q.__bindgen_anon_1.__bindgen_anon_1.len as usize)
        }
    }

    /// Allocates a new inode of type `typ` with permissions from `mode` in
    /// `dir`, owned as `inode_init_owner` would (the VFS has already applied
    /// the umask and stripped `S_ISGID` where the caller may not set it).
    pub(super) fn new_node<'a>(
        idmap: *mut bindings::mnt_idmap,
        dir: &INode<'a, T>,
        mode: u32,
        typ: INodeType,
    ) -> Result<ARef<INode<'a, T>>> {
        dir.super_block().live()?;
        let fmt = match typ {
            INodeType::Reg => bindings::S_IFREG,
            INodeType::Dir => bindings::S_IFDIR,
            INodeType::Symlink(_) => bindings::S_IFLNK,
            INodeType::Chr(..) => bindings::S_IFCHR,
            INodeType::Blk(..) => bindings::S_IFBLK,
            INodeType::Fifo => bindings::S_IFIFO,
            INodeType::Sock => bindings::S_IFSOCK,
        };
        let mut full = (fmt | (mode & 0o7777)) as bindings::umode_t;
        let mut default_acl = core::ptr::null_mut();
        let mut access_acl = core::ptr::null_mut();
        // With ACLs the VFS leaves the umask to us: `posix_acl_create`
        // applies it, or the parent's default ACL instead.
        // SAFETY: `dir` is valid; on success we own the references put in
        // the two pointers (NULL when there is no ACL).
        to_result(unsafe {
            bindings::posix_acl_create(dir.raw(), &mut full, &mut default_acl, &mut access_acl)
        })?;
        // INVARIANT: Both are NULL or references of ours.
        let acls = [
            (AclType::Default, AclRef(default_acl)),
            (AclType::Access, AclRef(access_acl)),
        ];
        let inode = Self::new_node_mode(idmap, dir, u32::from(full), typ)?;
        // SAFETY: `dir` is valid.
        if unsafe { bindings::blockfs_is_posixacl(dir.raw()) } {
            for (typ, acl) in &acls {
                if !acl.0.is_null() {
                    let r = acl
                        .entries()
                        .and_then(|e| T::set_acl(&inode, *typ, Some(&e)));
                    if let Err(e) = r {
                        inode.clear_nlink();
                        return Err(e);
                    }
                }
                // SAFETY: The new inode is ours; `set_cached_acl` takes its
                // own reference.
                unsafe { bindings::set_cached_acl(inode.raw(), typ.raw(), acl.0) };
            }
        }
        Ok(inode)
    }

    pub(super) fn new_node_mode<'a>(
        idmap: *mut bindings::mnt_idmap,
        dir: &INode<'a, T>,
        mode: u32,
        typ: INodeType,
    ) -> Result<ARef<INode<'a, T>>> {
        let mut perm = (mode & 0o7777) as u16;
        // The caller's fs ids, through the mount's idmap (as
        // `inode_init_owner`), in the file system's user namespace (the
        // initial one: block devices are not mounted from others).
        let ns = &raw mut bindings::init_user_ns;
        // SAFETY: `idmap` is the mount's, valid during the call.
        let uid = unsafe { bindings::from_kuid_munged(ns, bindings::mapped_fsuid(idmap, ns)) };
        let gid = if u32::from(dir.mode()) & bindings::S_ISGID != 0 {
            if matches!(typ, INodeType::Dir) {
                perm |= bindings::S_ISGID as u16;
            }
            dir.gid()
        } else {
            // SAFETY: As above.
            unsafe { bindings::from_kgid_munged(ns, bindings::mapped_fsgid(idmap, ns)) }
        };
        // SAFETY: No requirements.
        let time = unsafe { bindings::ktime_get_real_seconds() };
        T::new_inode(
            dir,
            NewNode {
                typ,
                mode: perm,
                uid,
                gid,
                time,
            },
        )
    }

    /// Enters a new `inode` in `dir` as `dentry`; on failure the inode
    /// loses its links and is deleted when dropped.
    ///
    /// # Safety
    ///
    /// `dentry` is a negative dentry of `dir`, whose lock is held.
    pub(super) unsafe fn enter(
        dir: &INode<'_, T>,
        dentry: *mut bindings::dentry,
        inode: ARef<INode<'_, T>>,
    ) -> Result {
        // SAFETY: The caller holds the directory lock.
        let name = unsafe { Self::name(dentry) };
        if let Err(e) = T::add_entry(dir, name, &inode) {
            inode.clear_nlink();
            return Err(e);
        }
        dir.touch_mtime();
        T::write_inode(dir)?;
        // SAFETY: `d_instantiate` takes over our inode reference.
        unsafe { bindings::d_instantiate(dentry, ARef::into_raw(inode).as_ptr().cast()) };
        Ok(())
    }

    /// `inode_operations::create`.
    ///
    /// # Safety
    ///
    /// As for [`Self::mknod`].
    pub(super) unsafe extern "C" fn create(
        idmap: *mut bindings::mnt_idmap,
        dir: *mut bindings::inode,
        dentry: *mut bindings::dentry,
        mode: bindings::umode_t,
    ) -> c_int {
        // SAFETY: The VFS passes a directory of ours, locked, and a negative
        // dentry in it.
        unsafe { Self::mknod(idmap, dir, dentry, mode | bindings::S_IFREG as u16, 0) }
    }

    /// `inode_operations::mknod`.
    ///
    /// # Safety
    ///
    /// `dir` is a directory of ours, locked, `dentry` a negative dentry in it,
    /// and `idmap` the mount's.
    pub(super) unsafe extern "C" fn mknod(
        idmap: *mut bindings::mnt_idmap,
        dir: *mut bindings::inode,
        dentry: *mut bindings::dentry,
        mode: bindings::umode_t,
        rdev: bindings::dev_t,
    ) -> c_int {
        from_result(|| {
            // SAFETY: The VFS passes a directory of ours, locked.
            let d = unsafe { INode::<T>::from_raw(dir) };
            let (major, minor) = (rdev >> 20, rdev & 0xfffff);
            let typ = match u32::from(mode) & bindings::S_IFMT {
                bindings::S_IFREG => INodeType::Reg,
                bindings::S_IFCHR => INodeType::Chr(major, minor),
                bindings::S_IFBLK => INodeType::Blk(major, minor),
                bindings::S_IFIFO => INodeType::Fifo,
                bindings::S_IFSOCK => INodeType::Sock,
                _ => return Err(EINVAL),
            };
            let inode = Self::new_node(idmap, d, mode.into(), typ)?;
            // SAFETY: A negative dentry of `dir`, whose lock is held.
            unsafe { Self::enter(d, dentry, inode)? };
            Ok(0)
        })
    }

    /// `inode_operations::symlink`.
    ///
    /// # Safety
    ///
    /// As for [`Self::mknod`]; `target` is NUL-terminated.
    pub(super) unsafe extern "C" fn symlink(
        idmap: *mut bindings::mnt_idmap,
        dir: *mut bindings::inode,
        dentry: *mut bindings::dentry,
        target: *const c_char,
    ) -> c_int {
        from_result(|| {
            // SAFETY: The VFS passes a directory of ours, locked, and a
            // NUL-terminated target.
            let (d, target) = unsafe { (INode::<T>::from_raw(dir), CStr::from_char_ptr(target)) };
            let t = target.to_bytes();
            // SAFETY: `i_sb` is ours.
            if t.len() >= unsafe { (*(*dir).i_sb).s_blocksize } {
                return Err(ENAMETOOLONG);
            }
            let mut v = KVec::new();
            v.extend_from_slice(t, GFP_KERNEL)?;
            let inode = Self::new_node(idmap, d, 0o777, INodeType::Symlink(v))?;
            // SAFETY: A negative dentry of `dir`, whose lock is held.
            unsafe { Self::enter(d, dentry, inode)? };
            Ok(0)
        })
    }

    /// `inode_operations::mkdir`.
    ///
    /// # Safety
    ///
    /// As for [`Self::mknod`]; the VFS checked `s_max_links`.
    pub(super) unsafe extern "C" fn mkdir(
        idmap: *mut bindings::mnt_idmap,
        dir: *mut bindings::inode,
        dentry: *mut bindings::dentry,
        mode: bindings::umode_t,
    ) -> *mut bindings::dentry {
        let r = (|| -> Result {
            // SAFETY: The VFS passes a directory of ours, locked; it checked
            // `s_max_links`.
            let d = unsafe { INode::<T>::from_raw(dir) };
            // The new `..`: counted before it exists.
            d.inc_nlink();
            let made = T::write_inode(d)
                .and_then(|()| Self::new_node(idmap, d, mode.into(), INodeType::Dir))
                // SAFETY: A negative dentry of `dir`, whose lock is held.
                .and_then(|inode| unsafe { Self::enter(d, dentry, inode) });
            if let Err(e) = made {
                d.drop_nlink();
                T::write_inode(d)?;
                return Err(e);
            }
            Ok(())
        })();
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
            // SAFETY: The VFS passes a directory of ours.
            let d = unsafe { INode::<T>::from_raw(dir) };
            let inode = Self::new_node(idmap, d, mode.into(), INodeType::Reg)?;
            // SAFETY: `d_tmpfile` drops the link count to zero and takes
            // over our reference; the inode is deleted on its last close
            // unless `linkat` gives it a name.
            unsafe {
                bindings::d_tmpfile(file, ARef::into_raw(inode).as_ptr().cast());
                Ok(bindings::finish_open_simple(file, 0))
            }
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
            let (i, d) = unsafe {
                (
                    INode::<T>::from_raw((*old).d_inode),
                    INode::<T>::from_raw(dir),
                )
            };
            d.super_block().live()?;
            i.touch_ctime();
            i.inc_nlink();
            T::write_inode(i)?;
            // SAFETY: The dentry is negative and `dir` locked.
            let name = unsafe { Self::name(dentry) };
            if let Err(e) = T::add_entry(d, name, i) {
                i.drop_nlink();
                T::write_inode(i)?;
                return Err(e);
            }
            d.touch_mtime();
            T::write_inode(d)?;
            i.inc_ref();
            // SAFETY: `d_instantiate` takes the reference taken above.
            unsafe { bindings::d_instantiate(dentry, i.raw()) };
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
            let (d, i, name) = unsafe {
                (
                    INode::<T>::from_raw(dir),
                    INode::<T>::from_raw((*dentry).d_inode),
                    Self::name(dentry),
                )
            };
            d.super_block().live()?;
            T::remove_entry(d, name, i)?;
            d.touch_mtime();
            T::write_inode(d)?;
            i.touch_ctime();
            i.drop_nlink();
            T::write_inode(i)?;
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
            let (d, i, name) = unsafe {
                (
                    INode::<T>::from_raw(dir),
                    INode::<T>::from_raw((*dentry).d_inode),
                    Self::name(dentry),
                )
            };
            d.super_block().live()?;
            if !T::is_empty_dir(i)? {
                return Err(ENOTEMPTY);
            }
            T::remove_entry(d, name, i)?;
            i.touch_ctime();
            i.clear_nlink();
            T::write_inode(i)?;
            // Its `..` is gone.
            d.drop_nlink();
            d.touch_mtime();
            T::write_inode(d)?;
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
        _idmap: *mut bindings::mnt_idmap,
        old_dir: *mut bindings::inode,
        old_dentry: *mut bindings::dentry,
        new_dir: *mut bindings::inode,
        new_dentry: *mut bindings::dentry,
        flags: c_uint,
    ) -> c_int {
        from_result(|| {
            if flags & !(bindings::RENAME_NOREPLACE | bindings::RENAME_EXCHANGE) != 0 {
                return Err(EINVAL);
            }
            // SAFETY: The VFS passes our directory.
            unsafe { SuperBlock::<T>::live_raw((*old_dir).i_sb)? };
            // SAFETY: The VFS passes our directories, locked, a positive old
            // dentry and a new dentry (positive for an exchange), whose
            // inodes are locked; the names are stable under those locks.
            let (od, nd, src, tgt, oname, nname) = unsafe {
                let tgt = (*new_dentry).d_inode;
                (
                    INode::<T>::from_raw(old_dir),
                    INode::<T>::from_raw(new_dir),
                    INode::<T>::from_raw((*old_dentry).d_inode),
                    (!tgt.is_null()).then(|| INode::<T>::from_raw(tgt)),
                    Self::name(old_dentry),
                    Self::name(new_dentry),
                )
            };
            let moved = !core::ptr::eq(od, nd);
            if flags & bindings::RENAME_EXCHANGE != 0 {
                let tgt = tgt.ok_or(ENOENT)?;
                Self::exchange(od, oname, src, nd, nname, tgt)?;
            } else {
                if let Some(t) = tgt {
                    if src.is_dir() && !T::is_empty_dir(t)? {
                        return Err(ENOTEMPTY);
                    }
                }
                // Rule 4 of the crash rules: a count is raised, durably,
                // before the entry that needs it and lowered after the
                // entry is gone. The new name comes before the old one
                // goes, so the inode has two names for a while: it counts
                // them, a directory too. The new parent gains a `..` when
                // a directory arrives without replacing one, the old
                // parent loses one when it leaves (as ext2_rename()).
                let parent = (src.is_dir() && tgt.is_none()).then_some(nd);
                for g in [Some(src), parent].into_iter().flatten() {
                    g.inc_nlink();
                    T::write_inode(g)?;
                }
                let linked = match tgt {
                    Some(_) => T::replace_entry(nd, nname, src),
                    None => T::add_entry(nd, nname, src),
                };
                if let Err(e) = linked {
                    for g in [Some(src), parent].into_iter().flatten() {
                        g.drop_nlink();
                        T::write_inode(g)?;
                    }
                    return Err(e);
                }
                if let Some(t) = tgt {
                    t.touch_ctime();
                    if t.is_dir() {
                        t.clear_nlink();
                    } else {
                        t.drop_nlink();
                    }
                    T::write_inode(t)?;
                }
                T::remove_entry(od, oname, src)?;
                src.drop_nlink();
                if src.is_dir() {
                    if moved {
                        T::set_parent(src, nd)?;
                    }
                    od.drop_nlink();
                }
            }
            src.touch_ctime();
            T::write_inode(src)?;
            od.touch_mtime();
            T::write_inode(od)?;
            if moved {
                nd.touch_mtime();
                T::write_inode(nd)?;
            }
            Ok(0)
        })
    }

    /// `RENAME_EXCHANGE`: swaps the inodes of two entries.
    ///
    /// Two entries change, one write each: between them one inode has both
    /// names and the other none. The one with both is a file where there
    /// is one (a directory never has two names unless both are
    /// directories), and it counts the second name first, as a directory's
    /// new parent counts its `..`; the counts drop once both entries are
    /// written. A crash between the two leaves the other inode without a
    /// name, its count intact (e2fsck attaches it in `lost+found`); where
    /// the two entries' file types differ, an entry's type byte may not
    /// match its new inode yet (it lies in another 8-byte word than the
    /// inode number: e2fsck corrects it).
    pub(super) fn exchange(
        od: &INode<'_, T>,
        oname: &[u8],
        src: &INode<'_, T>,
        nd: &INode<'_, T>,
        nname: &[u8],
        tgt: &INode<'_, T>,
    ) -> Result {
        let moved = !core::ptr::eq(od, nd);
        // A directory changing parents takes a `..` count along.
        let (gain, lose) = match (src.is_dir(), tgt.is_dir()) {
            (true, false) if moved => (Some(nd), Some(od)),
            (false, true) if moved => (Some(od), Some(nd)),
            _ => (None, None),
        };
        // The entry written first, and the inode it gives a second name.
        let tgt_first = src.is_dir() && !tgt.is_dir();
        let doubled = if tgt_first { tgt } else { src };
        for g in [gain, Some(doubled)].into_iter().flatten() {
            g.inc_nlink();
            T::write_inode(g)?;
        }
        if tgt_first {
            T::replace_entry(od, oname, tgt)?;
            T::replace_entry(nd, nname, src)?;
        } else {
            T::replace_entry(nd, nname, src)?;
            T::replace_entry(od, oname, tgt)?;
        }
        if moved {
            if src.is_dir() {
                T::set_parent(src, nd)?;
            }
            if tgt.is_dir() {
                T::set_parent(tgt, od)?;
            }
        }
        if let Some(l) = lose {
            l.drop_nlink();
        }
        doubled.drop_nlink();
        tgt.touch_ctime();
        T::write_inode(tgt)
    }
}
