// SPDX-License-Identifier: GPL-2.0

//! Regular files: their [`Operations`]; the C callbacks of read, write,
//! `fallocate`, `fsync`, `release` and ioctls. What a write or a size
//! change does to the file's size and blocks is the file system's
//! ([`Operations::write`], [`Operations::resize`],
//! [`Operations::fallocate`]), built from the mechanisms of
//! [`LockedINode`].

use super::*;

/// Where a file system keeps the bytes of its regular files: the
/// `iomap_ops` behind `read()`, `write()`, DAX faults, the page cache,
/// `FIEMAP` and `SEEK_HOLE`, and the size and block changes of truncation
/// and `fallocate`.
///
/// [`Operations::map`] is required; the others change files, and a file
/// system implements all of them or none (see [`FileSystem`]).
#[vtable]
pub trait Operations {
    /// The file system these files belong to.
    type FileSystem: FileSystem;

    /// Maps the range of `inode` that contains byte `pos`, up to `len`
    /// bytes (less is fine, more is trimmed).
    fn map(inode: &INode<'_, Self::FileSystem>, pos: u64, len: u64) -> Result<Mapping>;

    /// Maps the range of `inode` that contains byte `pos` for writing,
    /// allocating blocks for holes (up to `len` bytes; less is fine), and
    /// says so with [`Mapping::Mapped::new`]. New blocks must read as
    /// zeros before they are mapped: DAX exposes them directly. Called
    /// with the inode or the invalidate lock held, for writes inside the
    /// size or past it within what [`Operations::write`] or
    /// [`Operations::fallocate`] prepared for.
    fn map_write(_inode: &INode<'_, Self::FileSystem>, _pos: u64, _len: u64) -> Result<Mapping> {
        Err(EROFS)
    }

    /// Writes to `inode`: `write()` and its kin, checked by the VFS
    /// (`generic_write_checks`). The file system decides what an extending
    /// write does to the size (and to the blocks past it), and performs
    /// the write with [`Write::perform`], which first updates the times
    /// and drops set-id bits (through `setattr` and
    /// [`FileSystem::write_inode`]: no lock of the file system's may be
    /// held across it), then allocates through [`Operations::map_write`].
    /// Before `perform`, no byte inside the file's size may change: the
    /// set-id bits are not dropped yet. Returns what `perform` returned.
    fn write<'a>(
        _inode: &mut LockedINode<'_, Self::FileSystem>,
        _write: Write<'a, Self::FileSystem>,
    ) -> Result<Written<'a>> {
        Err(EROFS)
    }

    /// Changes the size of `inode` to `size` (`truncate(2)`, `ftruncate(2)`
    /// and `open(O_TRUNC)`, through `setattr`, which then copies the other
    /// attributes asked for and writes the inode): freeing the blocks past
    /// a smaller size, zeroing what the new size newly covers.
    fn resize(_inode: &mut LockedINode<'_, Self::FileSystem>, _size: u64) -> Result {
        Err(EROFS)
    }

    /// `fallocate(2)` on `inode` for bytes `start..end`; the file was
    /// opened for writing and its times and privileges were updated
    /// (`file_modified`). Optional: without it, `fallocate(2)` fails with
    /// `EOPNOTSUPP`.
    fn fallocate(
        _inode: &mut LockedINode<'_, Self::FileSystem>,
        _mode: Fallocate,
        _start: u64,
        _end: u64,
    ) -> Result {
        build_error!(crate::error::VTABLE_DEFAULT_ERROR)
    }

    /// Gives back what the file system holds past the size of `inode` for
    /// writes to come (blocks that [`Operations::map_write`] allocated
    /// ahead), so that the size on disk is the inode's size again, and
    /// writes the inode if that changed it. Called under freeze
    /// protection: at `fsync`, at the last close of a file opened for
    /// writing, and when the inode leaves memory, unless the file system
    /// is frozen then. The inode lock may be held, by the caller of
    /// `fsync` (`swapon`) or by a write in progress: the file system
    /// must keep what it gives back away from writes itself.
    fn trim(_inode: &BareINode<Self::FileSystem>) -> Result {
        Ok(())
    }

    /// Where the extended attributes of `inode` are on the device, as
    /// `FS_IOC_FIEMAP` with `FIEMAP_FLAG_XATTR` reports them: the device
    /// byte address and length of the block that holds them, `None` if it
    /// has none.
    fn xattr_extent(_inode: &INode<'_, Self::FileSystem>) -> Result<Option<(u64, u64)>> {
        Ok(None)
    }
}

impl<T: FileSystem> Tables<T> {
    /// `file_operations::read_iter`.
    ///
    /// # Safety
    ///
    /// `iocb` is a valid kiocb of an open regular file of ours and `to` a valid
    /// destination.
    pub(super) unsafe extern "C" fn read_iter(
        iocb: *mut bindings::kiocb,
        to: *mut bindings::iov_iter,
    ) -> isize {
        // SAFETY: The VFS passes a valid destination.
        if unsafe { bindings::iov_iter_count(to) } == 0 {
            return 0;
        }
        // SAFETY: The VFS passes a valid kiocb of an open file.
        let (file, flags) = unsafe { ((*iocb).ki_filp, (*iocb).ki_flags) };
        // SAFETY: An open file has an inode.
        let inode = unsafe { bindings::file_inode(file) };
        // SAFETY: The inode of an open file of ours is valid.
        let i = unsafe { INode::<T>::from_raw(inode) };
        if let Err(e) = i.super_block().live() {
            return e.to_errno() as isize;
        }
        let dax = i.is_dax();
        if !dax && flags & bindings::IOCB_DIRECT as c_int == 0 {
            // Through the page cache, filled by `read_folio`.
            // SAFETY: As the VFS passed them.
            return unsafe { bindings::generic_file_read_iter(iocb, to) };
        }
        let nowait = flags & bindings::IOCB_NOWAIT != 0;
        // SAFETY: The inode is valid and its lock not held by us.
        let guard = match unsafe { InodeLock::lock_nowait(inode, Mode::Shared, nowait) } {
            Ok(guard) => guard,
            Err(e) => return e.to_errno() as isize,
        };
        let ops = &Self::TABLES.iomap_ops;
        let ret = if dax {
            // SAFETY: As the VFS passed them; the inode lock is held.
            unsafe { bindings::dax_iomap_rw(iocb, to, ops) }
        } else {
            // `O_DIRECT`, as `ext4_dio_read_iter`: iomap writes back
            // and waits for cached data in the range first.
            let none = core::ptr::null_mut();
            // SAFETY: As above; the direct I/O operations and private data
            // are optional.
            unsafe { bindings::iomap_dio_rw(iocb, to, ops, core::ptr::null(), 0, none, 0) }
        };
        drop(guard);
        // SAFETY: The file is open.
        unsafe { bindings::file_accessed(file) };
        ret
    }

    /// `file_operations::open`.
    ///
    /// # Safety
    ///
    /// `file` is being opened on `inode`, a regular file of ours.
    pub(super) unsafe extern "C" fn open(
        inode: *mut bindings::inode,
        file: *mut bindings::file,
    ) -> c_int {
        // SAFETY: The VFS passes the inode of a file of ours being opened.
        if let Err(e) = unsafe { SuperBlock::<T>::live_raw((*inode).i_sb) } {
            return e.to_errno();
        }
        // DAX serves `O_DIRECT` the same way as other I/O; without DAX it
        // is iomap's direct I/O. RWF_NOWAIT: reads and writes fail with
        // EAGAIN rather than wait for the inode lock or for metadata
        // writes.
        // SAFETY: The file is being opened: nothing else uses it yet.
        unsafe { (*file).f_mode |= bindings::FMODE_CAN_ODIRECT | bindings::FMODE_NOWAIT };
        // SAFETY: As the VFS passed them.
        unsafe { bindings::generic_file_open(inode, file) }
    }

    /// `file_operations::llseek`.
    ///
    /// # Safety
    ///
    /// `file` is an open regular file of ours.
    pub(super) unsafe extern "C" fn llseek(
        file: *mut bindings::file,
        offset: i64,
        whence: c_int,
    ) -> i64 {
        let seek_data = whence == bindings::SEEK_DATA as c_int;
        if !seek_data && whence != bindings::SEEK_HOLE as c_int {
            // SAFETY: The VFS passes an open file.
            return unsafe { bindings::generic_file_llseek(file, offset, whence) };
        }
        // SAFETY: The VFS passes an open file, which has an inode.
        let inode = unsafe { bindings::file_inode(file) };
        // SAFETY: The inode of an open file is valid; we do not hold its lock.
        let guard = unsafe { InodeLock::lock(inode, Mode::Shared) };
        let ops = &Self::TABLES.iomap_ops;
        let r = if seek_data {
            // SAFETY: The inode is valid and locked.
            unsafe { bindings::iomap_seek_data(inode, offset, ops) }
        } else {
            // SAFETY: As above.
            unsafe { bindings::iomap_seek_hole(inode, offset, ops) }
        };
        drop(guard);
        if r < 0 {
            return r;
        }
        // SAFETY: The file is open; its inode's superblock is valid.
        unsafe { bindings::vfs_setpos(file, r, (*(*inode).i_sb).s_maxbytes) }
    }

    /// `file_operations::write_iter`: the VFS's checks, then
    /// [`Operations::write`] with the inode lock held exclusively.
    ///
    /// # Safety
    ///
    /// `iocb` is a valid kiocb of an open regular file of ours and `from` a
    /// valid source.
    pub(super) unsafe extern "C" fn write_iter(
        iocb: *mut bindings::kiocb,
        from: *mut bindings::iov_iter,
    ) -> isize {
        // SAFETY: The VFS passes a valid kiocb of an open file.
        let (file, nowait) = unsafe {
            (
                (*iocb).ki_filp,
                (*iocb).ki_flags & bindings::IOCB_NOWAIT != 0,
            )
        };
        // SAFETY: An open file has an inode.
        let inode = unsafe { bindings::file_inode(file) };
        // SAFETY: The inode of an open file of ours is valid.
        let i = unsafe { INode::<T>::from_raw(inode) };
        if let Err(e) = i.super_block().writable() {
            return e.to_errno() as isize;
        }
        // SAFETY: The inode is valid and its lock not held by us; the guard
        // releases it.
        let guard = match unsafe { InodeLock::lock_nowait(inode, Mode::Exclusive, nowait) } {
            Ok(guard) => guard,
            Err(e) => return e.to_errno() as isize,
        };
        // SAFETY: As the VFS passed them, with the inode lock held.
        let mut ret = unsafe { bindings::generic_write_checks(iocb, from) };
        if ret > 0 {
            // SAFETY: A regular file of ours, locked exclusively until
            // `guard` is dropped below.
            let mut locked = unsafe { LockedINode::new(i) };
            // SAFETY: The arguments of `write_iter`, checked, on `locked`.
            let write = unsafe { Write::new(iocb, from) };
            // `Write::perform` made the count, at most what was asked for
            // (itself at most `isize::MAX`).
            ret = match T::FileOps::write(&mut locked, write) {
                Ok(written) => written.bytes() as isize,
                Err(e) => e.to_errno() as isize,
            };
        }
        drop(guard);
        if ret > 0 {
            // SAFETY: As the VFS passed it, the inode lock released.
            ret = unsafe { bindings::generic_write_sync(iocb, ret) };
        }
        ret
    }

    /// `file_operations::fallocate`: [`Operations::fallocate`] with the
    /// inode lock held exclusively.
    ///
    /// # Safety
    ///
    /// `file` is an open regular file of ours, opened for writing; the VFS
    /// checked the range against `s_maxbytes`.
    pub(super) unsafe extern "C" fn fallocate(
        file: *mut bindings::file,
        mode: c_int,
        offset: i64,
        len: i64,
    ) -> c_long {
        // SAFETY: The VFS passes an open file of ours and checked the range.
        let inode = unsafe { bindings::file_inode(file) };
        // SAFETY: The inode of an open file of ours is valid.
        let i = unsafe { INode::<T>::from_raw(inode) };
        let r = (|| {
            let mode = Fallocate::from_mode(mode)?;
            i.super_block().writable()?;
            let (Ok(start), Ok(len)) = (u64::try_from(offset), u64::try_from(len)) else {
                return Err(EINVAL);
            };
            let end = start.checked_add(len).ok_or(EFBIG)?;
            // SAFETY: As above; the guard releases the lock.
            let _guard = unsafe { InodeLock::lock(inode, Mode::Exclusive) };
            // SAFETY: The file is open and its inode locked.
            to_result(unsafe { bindings::file_modified(file) })?;
            // SAFETY: A regular file of ours, locked exclusively while
            // `_guard` lives.
            let mut locked = unsafe { LockedINode::new(i) };
            T::FileOps::fallocate(&mut locked, mode, start, end)
        })();
        match r {
            Ok(()) => 0,
            Err(e) => e.to_errno() as c_long,
        }
    }

    /// `FS_IOC_SHUTDOWN`, as ext4's: with `FS_SHUTDOWN_FLAGS_DEFAULT` the
    /// file system is frozen first (written out and quiesced), then shut
    /// down; with `LOGFLUSH` or `NOLOGFLUSH` (the same without a journal:
    /// metadata is written synchronously anyway) at once, so that data
    /// still in the page cache is lost, as after a crash.
    fn shutdown_ioctl(sb: &SuperBlock<T>, flags: u32) -> Result {
        if sb.is_shut_down() {
            return Ok(());
        }
        match flags {
            bindings::FS_SHUTDOWN_FLAGS_DEFAULT => {
                // SAFETY: `s_bdev` is the mounted device, open until
                // `kill_sb`.
                let bdev = unsafe { (*sb.raw()).s_bdev };
                // SAFETY: As above; an ioctl holds no freeze protection.
                let frozen = unsafe { FrozenBdev::freeze(bdev) }?;
                sb.shut_down();
                drop(frozen);
            }
            bindings::FS_SHUTDOWN_FLAGS_LOGFLUSH | bindings::FS_SHUTDOWN_FLAGS_NOLOGFLUSH => {
                sb.shut_down();
            }
            _ => return Err(EINVAL),
        }
        Ok(())
    }

    /// `file_operations::fsync`: `simple_fsync`, or `EIO` once the file
    /// system was shut down.
    ///
    /// # Safety
    ///
    /// `file` is an open file of ours.
    pub(super) unsafe extern "C" fn fsync(
        file: *mut bindings::file,
        start: i64,
        end: i64,
        datasync: c_int,
    ) -> c_int {
        // SAFETY: The VFS passes an open file of ours.
        let inode = unsafe { bindings::file_inode(file) };
        // SAFETY: An open file's inode is valid; so is its superblock.
        if let Err(e) = unsafe { SuperBlock::<T>::writable_raw((*inode).i_sb) } {
            return e.to_errno();
        }
        // Blocks held for writes to come go before the inode is written,
        // so that it is written with its size. If that fails, the data and
        // inode are still written (with the size covering what is held),
        // and the first error is what fsync returns.
        // SAFETY: The file is open, so its inode is valid.
        let trimmed = unsafe { Self::trim(inode) };
        // SAFETY: The VFS passes an open file of ours.
        let synced = unsafe { bindings::simple_fsync(file, start, end, datasync) };
        match trimmed {
            Err(e) => e.to_errno(),
            Ok(()) => synced,
        }
    }

    /// `file_operations::release`: the last close of a file opened for
    /// writing gives back the blocks held for writes to come, as
    /// `ext4_release_file` discards its preallocations.
    ///
    /// # Safety
    ///
    /// `file` is a file of ours on `inode` being released, once.
    pub(super) unsafe extern "C" fn release(
        inode: *mut bindings::inode,
        file: *mut bindings::file,
    ) -> c_int {
        // SAFETY: The VFS passes the file being released and its inode,
        // still counted as a writer if the file was opened for writing.
        let last_writer = unsafe {
            (*file).f_mode & bindings::FMODE_WRITE != 0
                && bindings::atomic_read(&raw const (*inode).i_writecount) == 1
        };
        if last_writer {
            // SAFETY: As above.
            if let Err(e) = unsafe { Self::trim(inode) } {
                // SAFETY: As above.
                let sb = unsafe { SuperBlock::<T>::from_raw((*inode).i_sb) };
                fs_err::<T>(format_args!(
                    "{}: inode {}: cannot give back preallocated blocks: {:?}\n",
                    sb.id().to_str().unwrap_or("?"),
                    // SAFETY: As above.
                    unsafe { (*inode).i_ino },
                    e
                ));
            }
        }
        0
    }

    /// Calls [`Operations::trim`] on a regular file under freeze
    /// protection; does nothing on a read-only, shut down or frozen file
    /// system, or once an error stopped writes.
    ///
    /// # Safety
    ///
    /// `inode` is a valid inode of ours.
    pub(super) unsafe fn trim(inode: *mut bindings::inode) -> Result {
        if !T::FileOps::HAS_TRIM {
            return Ok(());
        }
        // SAFETY: As the caller guarantees.
        let i = unsafe { INode::<T>::from_raw(inode) };
        let sb = i.super_block();
        if sb.read_only()
            || sb.writable().is_err()
            || u32::from(i.mode()) & bindings::S_IFMT != bindings::S_IFREG
        {
            return Ok(());
        }
        // SAFETY: Our mounted superblock, valid while the inode is.
        match unsafe { IntWrite::try_start(sb.raw()) } {
            Some(_protection) => T::FileOps::trim(i),
            None => Ok(()),
        }
    }

    /// `FS_IOC_SHUTDOWN`, `FS_IOC_GETFSLABEL` and `FS_IOC_SETFSLABEL` (the
    /// attribute flags ioctls are the VFS's, through `fileattr_get` and
    /// `fileattr_set`).
    ///
    /// # Safety
    ///
    /// `file` is an open file of ours; `arg` is the caller's argument (a user
    /// pointer for the commands served).
    pub(super) unsafe extern "C" fn ioctl(
        file: *mut bindings::file,
        cmd: c_uint,
        arg: c_ulong,
    ) -> c_long {
        let r = (|| -> Result {
            // SAFETY: The VFS passes an open file of ours.
            let sb = unsafe { SuperBlock::<T>::from_raw((*bindings::file_inode(file)).i_sb) };
            let user = crate::uaccess::UserSlice::new(
                crate::uaccess::UserPtr::from_addr(arg),
                FSLABEL_MAX,
            );
            let mut buf = [0u8; FSLABEL_MAX];
            match cmd {
                bindings::FS_IOC_SHUTDOWN => {
                    // SAFETY: No requirements.
                    if !unsafe { bindings::capable(bindings::CAP_SYS_ADMIN as c_int) } {
                        return Err(EPERM);
                    }
                    let mut flags = [0u8; 4];
                    crate::uaccess::UserSlice::new(crate::uaccess::UserPtr::from_addr(arg), 4)
                        .reader()
                        .read_slice(&mut flags)?;
                    Self::shutdown_ioctl(sb, u32::from_ne_bytes(flags))
                }
                bindings::FS_IOC_GETFSLABEL => {
                    let n = T::label(sb, &mut buf)?;
                    // The rest of `buf` is zeros: the label ends with one.
                    if n >= FSLABEL_MAX {
                        return Err(EINVAL);
                    }
                    user.writer().write_slice(&buf)
                }
                bindings::FS_IOC_SETFSLABEL => {
                    // SAFETY: No requirements.
                    if !unsafe { bindings::capable(bindings::CAP_SYS_ADMIN as c_int) } {
                        return Err(EPERM);
                    }
                    user.reader().read_slice(&mut buf)?;
                    let len = buf.iter().position(|&b| b == 0).ok_or(EINVAL)?;
                    sb.writable()?;
                    // SAFETY: `file` is open; released below.
                    to_result(unsafe { bindings::mnt_want_write_file(file) })?;
                    let r = T::set_label(sb, &buf[..len]);
                    // SAFETY: Taken above.
                    unsafe { bindings::mnt_drop_write_file(file) };
                    r
                }
                _ => Err(ENOIOCTLCMD),
            }
        })();
        match r {
            Ok(()) => 0,
            Err(e) => e.to_errno() as c_long,
        }
    }
}
