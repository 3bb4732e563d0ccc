// SPDX-License-Identifier: GPL-2.0

//! `super_operations`: inode allocation and eviction, `statfs`, write-back.

use super::*;

impl<T: FileSystem> Tables<T> {
    /// `super_operations::alloc_inode`: an inode from the file system
    /// type's cache, its VFS part set up by the cache's constructor.
    ///
    /// # Safety
    ///
    /// `sb` is a superblock of ours.
    pub(super) unsafe extern "C" fn alloc_inode(
        sb: *mut bindings::super_block,
    ) -> *mut bindings::inode {
        // SAFETY: `sb` is ours, of the type `Registration<T>` registered.
        let cache = unsafe { Registration::<T>::from_fs_type((*sb).s_type) }
            .cache
            .cache
            .as_ptr();
        // SAFETY: The cache is alive while the type is registered; the
        // inode is on `sb`'s LRU list for reclaim.
        let p = unsafe { bindings::alloc_inode_sb(sb, cache, bindings::GFP_KERNEL) }
            .cast::<INodeWithData<T>>();
        if p.is_null() {
            return core::ptr::null_mut();
        }
        // SAFETY: `p` is an object of the cache, whose `inode` the
        // constructor set up; the other fields are ours to initialise
        // (`data` stays uninitialised until `NewINode::init`).
        unsafe {
            (&raw mut (*p).data_init).write(false);
            (&raw mut (*p).link).write(None);
            (&raw mut (*p).cache).write(cache);
            (*p).inode.get()
        }
    }

    /// `super_operations::free_inode`, after an RCU grace period.
    ///
    /// # Safety
    ///
    /// `inode` came from `alloc_inode`, went through `evict_inode` if it was
    /// initialised, and is freed once.
    pub(super) unsafe extern "C" fn free_inode(inode: *mut bindings::inode) {
        // SAFETY: All our inodes come from `alloc_inode`, embedded in an
        // `INodeWithData<T>` of the cache it recorded; the VFS frees each
        // once, after use. The file system's data was dropped in
        // `evict_inode` (which every initialised inode goes through), not
        // here in RCU context; the symlink target is dropped here.
        unsafe {
            let p = INodeWithData::<T>::from_inode(inode);
            core::ptr::drop_in_place(&raw mut (*p).link);
            bindings::kmem_cache_free((*p).cache, p.cast());
        }
    }

    /// `super_operations::evict_inode`.
    ///
    /// # Safety
    ///
    /// `inode` is an inode of ours that nothing uses any more, evicted once, in
    /// process context.
    pub(super) unsafe extern "C" fn evict_inode(inode: *mut bindings::inode) {
        // SAFETY: The VFS evicts each inode of ours once, when nothing uses
        // it, in process context.
        let c = unsafe { INodeWithData::<T>::from_inode(inode) };
        // As in ext4: DAX entries (and pinned DAX pages) must be gone before
        // the mapping is truncated, or truncation finds them and warns.
        // SAFETY: As above.
        unsafe { bindings::dax_break_layout_final(inode) };
        // SAFETY: As above.
        unsafe { bindings::truncate_inode_pages_final(&raw mut (*inode).i_data) };
        // SAFETY: As above: nothing else reaches the inode or its data.
        let (data_init, nlink, mode) = unsafe {
            (
                (*c).data_init,
                (*inode).__bindgen_anon_1.i_nlink,
                (*inode).i_mode,
            )
        };
        // SAFETY: As above.
        let usable = data_init && !unsafe { bindings::is_bad_inode(inode) };
        if usable {
            // SAFETY: Its data is initialised: a bare inode of ours.
            let i = unsafe { BareINode::<T>::from_raw(inode) };
            if nlink == 0 {
                // An inode without links whose last user is gone: free it.
                // After a shutdown, or once an error stopped writes, nothing
                // is written: e2fsck reclaims it, as after a crash.
                if i.super_block().writable().is_ok() {
                    Self::delete(i);
                }
            } else if T::FileOps::HAS_TRIM
                && u32::from(mode) & bindings::S_IFMT == bindings::S_IFREG
                && i.super_block().writable().is_ok()
            {
                Self::trim_evicted(i);
            }
        }
        // SAFETY: As above.
        unsafe { bindings::clear_inode(inode) };
        // The file system's data is dropped here, where it may sleep, rather
        // than in the RCU callback that frees the inode (a bad inode never
        // got it).
        if data_init {
            // SAFETY: As above; initialised, and dropped once: the flag goes
            // first.
            unsafe {
                (*c).data_init = false;
                (*c).data.assume_init_drop();
            }
        }
    }

    /// Frees an unlinked inode being evicted, under freeze protection
    /// (`sb_start_intwrite`, as `ext2_evict_inode`): while the file system
    /// is frozen, the last close of an unlinked file waits for the thaw
    /// instead of writing to the frozen device.
    pub(super) fn delete(i: &BareINode<T>) {
        let sb = i.super_block();
        if sb.read_only() {
            return;
        }
        // SAFETY: Our mounted superblock. The final `iput` of an unlinked
        // inode may come under its caller's `sb_start_write` (unlink,
        // rename), never under `SB_FREEZE_FS`: our own code takes that
        // only in `trim`, which puts no inode, and memory reclaim never
        // evicts an unlinked inode (it is not kept on the LRU).
        let protection = unsafe { IntWrite::start(sb.raw()) };
        let r = T::delete_inode(i);
        drop(protection);
        if let Err(e) = r {
            fs_err::<T>(format_args!(
                "{}: cannot free inode {}: {:?}\n",
                sb.id().to_str().unwrap_or("?"),
                i.ino(),
                e
            ));
        }
    }

    /// Gives back what a regular file that stays on disk holds past its
    /// size ([`file::Operations::trim`]) as it leaves memory, unless the
    /// file system is read-only, shut down or frozen (eviction may come
    /// from memory reclaim, which must not wait for a thaw; the file then
    /// keeps the zeros past its end that a crash would leave).
    pub(super) fn trim_evicted(i: &BareINode<T>) {
        let sb = i.super_block();
        if sb.read_only() || sb.is_shut_down() {
            return;
        }
        // SAFETY: Our mounted superblock, valid while its inodes are.
        let Some(protection) = (unsafe { IntWrite::try_start(sb.raw()) }) else {
            return;
        };
        let r = T::FileOps::trim(i);
        drop(protection);
        if let Err(e) = r {
            fs_err::<T>(format_args!(
                "{}: inode {}: cannot give back preallocated blocks: {:?}\n",
                sb.id().to_str().unwrap_or("?"),
                i.ino(),
                e
            ));
        }
    }

    /// `super_operations::put_super`.
    ///
    /// # Safety
    ///
    /// `sb` is a mounted superblock of ours being shut down: every inode is
    /// evicted and the device still open; called once.
    pub(super) unsafe extern "C" fn put_super(sb: *mut bindings::super_block) {
        // SAFETY: Called once by `generic_shutdown_super` for our mounted
        // superblock, after every inode was evicted and while the device is
        // still open: the file system's data (which may hold buffers) and
        // the DAX device go here.
        let s = unsafe { SuperBlock::<T>::from_raw(sb) };
        // A file system shut down stays as it was then: not clean. One
        // whose writes an error stopped is written not clean, once more:
        // the error mark may not be on the device yet (a freeze or a
        // failed write deferred it).
        if !s.read_only() && !s.is_shut_down() {
            if let Err(e) = T::write_super(s, !s.is_emergency_ro()) {
                fs_err::<T>(format_args!(
                    "{}: cannot mark the file system clean: {:?}\n",
                    s.id().to_str().unwrap_or("?"),
                    e
                ));
            }
        }
        // SAFETY: As above: no inode is left and nothing uses the data or
        // the DAX device any more. `s_fs_info` came from `KBox::into_raw`
        // in `fill_super`; NULL tells `kill_sb` it is gone.
        unsafe {
            drop(KBox::from_raw((*sb).s_fs_info.cast::<SbInfo<T>>()));
            (*sb).s_fs_info = core::ptr::null_mut();
        }
    }

    /// `super_operations::statfs`.
    ///
    /// # Safety
    ///
    /// `dentry` is a dentry of a mounted superblock of ours and `buf` is valid
    /// for writes.
    pub(super) unsafe extern "C" fn statfs(
        dentry: *mut bindings::dentry,
        buf: *mut bindings::kstatfs,
    ) -> c_int {
        from_result(|| {
            // SAFETY: A dentry of a mounted superblock of ours.
            let sb = unsafe { SuperBlock::<T>::from_raw((*dentry).d_sb) };
            let st = T::statfs(sb)?;
            // SAFETY: `buf` is valid for writes.
            unsafe {
                (*buf).f_type = T::MAGIC as isize;
                (*buf).f_bsize = (*sb.raw()).s_blocksize as isize;
                (*buf).f_blocks = st.blocks;
                (*buf).f_bfree = st.free_blocks;
                (*buf).f_bavail = st.avail_blocks;
                (*buf).f_files = st.files;
                (*buf).f_ffree = st.free_files;
                (*buf).f_namelen = st.name_len as isize;
                (*buf).f_fsid.val = [st.fsid as i32, (st.fsid >> 32) as i32];
            }
            Ok(0)
        })
    }

    /// `super_operations::show_options`.
    ///
    /// # Safety
    ///
    /// `m` is a valid `seq_file` and `root` the root dentry of a mounted
    /// superblock of ours.
    pub(super) unsafe extern "C" fn show_options(
        m: *mut bindings::seq_file,
        root: *mut bindings::dentry,
    ) -> c_int {
        // SAFETY: A root dentry of a mounted superblock of ours.
        let sb = unsafe { SuperBlock::<T>::from_raw((*root).d_sb) };
        let dax = match sb.info().mode {
            DaxMode::Always => Some(c",dax=always"),
            DaxMode::Never => Some(c",dax=never"),
            DaxMode::Inode => Some(c",dax=inode"),
            DaxMode::Default => None,
        };
        if let Some(dax) = dax {
            // SAFETY: `m` is valid; the string is NUL-terminated.
            unsafe { bindings::seq_puts(m, dax.as_char_ptr()) };
        }
        // SAFETY: As above.
        if unsafe {
            !(*sb.raw()).s_xattr.is_null()
                && (*sb.raw()).s_flags & bindings::SB_POSIXACL as c_ulong == 0
        } {
            // SAFETY: As above.
            unsafe { bindings::seq_puts(m, c",noacl".as_char_ptr()) };
        }
        if sb.is_emergency_ro() {
            // SAFETY: As above.
            unsafe { bindings::seq_puts(m, c",emergency_ro".as_char_ptr()) };
        }
        if let Some(more) = T::show_options(sb) {
            // SAFETY: As above.
            unsafe { bindings::seq_puts(m, more.as_char_ptr()) };
        }
        0
    }

    /// `super_operations::write_inode` (write-back).
    ///
    /// # Safety
    ///
    /// `inode` is an initialised inode of ours, kept alive during the call,
    /// maybe with no reference held.
    pub(super) unsafe extern "C" fn write_inode(
        inode: *mut bindings::inode,
        _wbc: *mut bindings::writeback_control,
    ) -> c_int {
        from_result(|| {
            // SAFETY: Writeback passes an initialised inode of ours, which
            // it keeps alive during the call; nobody may hold a reference.
            let i = unsafe { BareINode::<T>::from_raw(inode) };
            if i.super_block().read_only() {
                return Ok(0);
            }
            i.super_block().writable()?;
            T::write_inode(i)?;
            Ok(0)
        })
    }

    /// `super_operations::sync_fs`.
    ///
    /// # Safety
    ///
    /// `sb` is a mounted superblock of ours.
    pub(super) unsafe extern "C" fn sync_fs(sb: *mut bindings::super_block, _wait: c_int) -> c_int {
        from_result(|| {
            // SAFETY: A mounted superblock of ours.
            let s = unsafe { SuperBlock::<T>::from_raw(sb) };
            if !s.read_only() {
                s.writable()?;
                T::write_super(s, false)?;
            }
            Ok(0)
        })
    }

    /// `super_operations::freeze_fs`: the VFS has stopped every writer
    /// and synced the file system. As `ext2_freeze`, the superblock is
    /// written clean, so that a copy of the frozen device mounts without
    /// e2fsck, unless unlinked inodes are still open: their blocks are
    /// freed at their last close, after the thaw.
    ///
    /// # Safety
    ///
    /// `sb` is a mounted read-write superblock of ours, being frozen.
    pub(super) unsafe extern "C" fn freeze_fs(sb: *mut bindings::super_block) -> c_int {
        from_result(|| {
            // SAFETY: As the caller guarantees.
            let s = unsafe { SuperBlock::<T>::from_raw(sb) };
            s.live()?;
            // After an error stopped writes, the device stays as it is.
            if s.is_emergency_ro() {
                return Ok(0);
            }
            // SAFETY: `s_remove_count` is an atomic of the mounted
            // superblock, counting inodes without links not yet evicted.
            let open_unlinked =
                unsafe { bindings::atomic64_read(&raw const (*sb).s_remove_count) } != 0;
            T::write_super(s, !open_unlinked)?;
            Ok(0)
        })
    }

    /// `super_operations::unfreeze_fs`: writes are coming again, so the
    /// superblock is marked not clean, as at mount. A file system shut
    /// down while frozen writes nothing, and thaws all the same (as
    /// `ext4_unfreeze`): a failed thaw would leave it frozen, and every
    /// writer waiting, for good.
    ///
    /// # Safety
    ///
    /// `sb` is a mounted read-write superblock of ours, being thawed.
    pub(super) unsafe extern "C" fn unfreeze_fs(sb: *mut bindings::super_block) -> c_int {
        from_result(|| {
            // SAFETY: As the caller guarantees.
            let s = unsafe { SuperBlock::<T>::from_raw(sb) };
            if s.is_emergency_ro() {
                // An error while frozen stopped writes: the superblock goes
                // out once more, for the error mark, and whatever happens
                // the file system thaws (a failed thaw would keep it frozen).
                if let Err(e) = T::write_super(s, false) {
                    fs_err::<T>(format_args!(
                        "{}: cannot write the superblock at thaw: {:?}\n",
                        s.id().to_str().unwrap_or("?"),
                        e
                    ));
                }
            } else if !s.is_shut_down() {
                T::write_super(s, false)?;
            }
            Ok(0)
        })
    }

    /// `super_operations::shutdown`: the block device is going away.
    ///
    /// # Safety
    ///
    /// `sb` is a mounted superblock of ours.
    pub(super) unsafe extern "C" fn shutdown(sb: *mut bindings::super_block) {
        // SAFETY: A mounted superblock of ours.
        unsafe { SuperBlock::<T>::from_raw(sb) }.shut_down();
    }
}
