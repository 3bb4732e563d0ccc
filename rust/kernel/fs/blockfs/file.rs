// SPDX-License-Identifier: GPL-2.0

//! Regular files: their [`Operations`]; read, write, `fallocate`,
//! truncation, attributes, ioctls.

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
    /// with the inode or the invalidate lock held. `pos` may be past the
    /// size only after [`Operations::reserve_size`] covered it.
    fn map_write(_inode: &INode<'_, Self::FileSystem>, _pos: u64, _len: u64) -> Result<Mapping> {
        Err(EROFS)
    }

    /// Makes the size that [`FileSystem::write_inode`] records at least
    /// `size` until [`Operations::commit_size`], without changing the
    /// inode's size: blocks are about to be allocated up to `size` past the
    /// end (an extending write or `fallocate`), or are about to be freed
    /// past a smaller size (truncation), and the size on disk must cover
    /// them meanwhile. That size must be durable before anything points at
    /// a block past the old one; the file system may write it here, or
    /// when [`Operations::map_write`] allocates. Called with the inode lock
    /// held exclusively.
    fn reserve_size(_inode: &INode<'_, Self::FileSystem>, _size: u64) -> Result {
        Err(EROFS)
    }

    /// Ends a [`Operations::reserve_size`]: the blocks past the inode's
    /// size are gone (or were never allocated), so the size on disk
    /// becomes the inode's size again; writes the inode.
    fn commit_size(_inode: &INode<'_, Self::FileSystem>) -> Result {
        Err(EROFS)
    }

    /// Frees the blocks of `inode` between byte `start` and byte `end`
    /// (exclusive, `u64::MAX` for the rest of the file), both block aligned,
    /// leaving a hole. The range is no longer mapped anywhere.
    fn free_range(_inode: &INode<'_, Self::FileSystem>, _start: u64, _end: u64) -> Result {
        Err(EROFS)
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

    /// `file_operations::write_iter`.
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
        if let Err(e) = i.super_block().live() {
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
        // SAFETY: The kiocb is valid; `generic_write_checks` may have moved
        // its position (`O_APPEND`).
        let pos = || unsafe { (*iocb).ki_pos } as u64;
        if ret > 0 && nowait && pos() + ret as u64 > i.size() {
            // Extending writes the inode synchronously.
            ret = EAGAIN.to_errno() as isize;
        }
        if ret > 0 {
            // Also refuses RWF_NOWAIT when the times need writing.
            // SAFETY: As above.
            ret = unsafe { bindings::kiocb_modified(iocb) } as isize;
        }
        if ret == 0 && pos() > i.size() {
            // Bytes between the old end and `pos` become part of the
            // file (RWF_NOWAIT never gets here: it cannot extend).
            // SAFETY: We hold the inode lock.
            if let Err(e) = unsafe { Self::zero_eof(inode, i.size(), pos()) } {
                ret = e.to_errno() as isize;
            }
        }
        if ret == 0 {
            // SAFETY: The arguments of `write_iter` on `i`, locked.
            ret = unsafe { Self::write(i, iocb, from) };
        }
        drop(guard);
        if ret > 0 {
            // SAFETY: As the VFS passed it, the inode lock released.
            ret = unsafe { bindings::generic_write_sync(iocb, ret) };
        }
        ret
    }

    /// Writes through DAX, as `ext4_dax_write_iter`, or into the page
    /// cache (`iomap_file_buffered_write`), where write-back takes the data
    /// to the blocks allocated here. A write past the end first makes the
    /// size on disk cover the blocks it may allocate, so that a crash never
    /// leaves blocks past it (holes read as zeros); the inode's size grows
    /// only by what was written, once it is written. Until then faults past
    /// the old size fail (`SIGBUS`), so no mapping ever reaches a block
    /// that a short write then frees, and a write that moves no byte leaves
    /// the file as it was.
    ///
    /// # Safety
    ///
    /// `iocb` and `from` are the arguments of `write_iter` on `i`, whose
    /// lock is held exclusively.
    pub(super) unsafe fn write(
        i: &INode<'_, T>,
        iocb: *mut bindings::kiocb,
        from: *mut bindings::iov_iter,
    ) -> isize {
        // SAFETY: As the caller guarantees.
        let (pos, count) =
            unsafe { ((*iocb).ki_pos as u64, bindings::iov_iter_count(from) as u64) };
        let old = i.size();
        let end = pos.saturating_add(count);
        let extend = end > old;
        if extend {
            if let Err(e) = T::FileOps::reserve_size(i, end) {
                return e.to_errno() as isize;
            }
        }
        let ops = &Self::TABLES.iomap_ops;
        let none = core::ptr::null_mut();
        // SAFETY: As the caller guarantees.
        let direct = unsafe { (*iocb).ki_flags } & bindings::IOCB_DIRECT as c_int != 0;
        let ret = if i.is_dax() {
            // SAFETY: As the caller guarantees.
            unsafe { bindings::dax_iomap_rw(iocb, from, ops) }
        } else if direct {
            // `O_DIRECT`: into the blocks allocated (and zeroed) by
            // `iomap_begin`, waited for even when asynchronous, so that
            // the size below covers only what reached them. If iomap
            // cannot drop the cached folios of the range (`ENOTBLK`),
            // the page cache takes the write instead, as in ext4.
            let flags = bindings::IOMAP_DIO_FORCE_WAIT;
            // SAFETY: As the caller guarantees; the direct I/O operations
            // and private data are optional.
            match unsafe {
                bindings::iomap_dio_rw(iocb, from, ops, core::ptr::null(), flags, none, 0)
            } {
                // SAFETY: As above; the write operations are optional.
                r if r == -(bindings::ENOTBLK as isize) => unsafe {
                    bindings::iomap_file_buffered_write(iocb, from, ops, core::ptr::null(), none)
                },
                r => r,
            }
        } else {
            // SAFETY: As above.
            unsafe { bindings::iomap_file_buffered_write(iocb, from, ops, core::ptr::null(), none) }
        };
        if !extend {
            return ret;
        }
        // A write that moved no byte leaves the size alone, even past it.
        let size = match u64::try_from(ret) {
            Ok(n) if n > 0 => pos.saturating_add(n).max(old),
            _ => old,
        };
        if size > old {
            i.set_size(size);
        }
        let mut r = Ok(());
        if size < end {
            // Blocks allocated past what was written: no fault could map
            // them (the size never covered them), so they go at once, with
            // any folio a short buffered write left past the size.
            // SAFETY: Our superblock's block size.
            let bs = unsafe { (*(*i.raw()).i_sb).s_blocksize } as u64;
            if !i.is_dax() {
                // SAFETY: We hold the inode lock exclusively.
                unsafe { bindings::truncate_pagecache(i.raw(), size as i64) };
            }
            r = T::FileOps::free_range(i, size.next_multiple_of(bs), u64::MAX);
        }
        match (r.and_then(|()| T::FileOps::commit_size(i)), ret) {
            (Err(e), _) => e.to_errno() as isize,
            (Ok(()), ret) => ret,
        }
    }

    /// `file_operations::fallocate`.
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
        let keep = bindings::FALLOC_FL_KEEP_SIZE as c_int;
        let punch = bindings::FALLOC_FL_PUNCH_HOLE as c_int;
        let zero = bindings::FALLOC_FL_ZERO_RANGE as c_int;
        // SAFETY: The VFS passes an open file of ours and checked the range.
        let inode = unsafe { bindings::file_inode(file) };
        if mode & !(keep | punch | zero) != 0 {
            return EOPNOTSUPP.to_errno() as c_long;
        }
        // SAFETY: As above.
        if let Err(e) = unsafe { SuperBlock::<T>::live_raw((*inode).i_sb) } {
            return e.to_errno() as c_long;
        }
        // SAFETY: As above; the guard releases the lock.
        let guard = unsafe { InodeLock::lock(inode, Mode::Exclusive) };
        let r = (|| {
            let (Ok(off), Ok(len)) = (u64::try_from(offset), u64::try_from(len)) else {
                return Err(EINVAL);
            };
            let end = off.checked_add(len).ok_or(EFBIG)?;
            // SAFETY: The file is open and locked.
            unsafe {
                to_result(bindings::file_modified(file))?;
                if mode & punch != 0 {
                    Self::punch_hole(inode, off, end)
                } else {
                    Self::allocate(inode, off, end, mode & keep != 0, mode & zero != 0)
                }
            }
        })();
        drop(guard);
        match r {
            Ok(()) => 0,
            Err(e) => e.to_errno() as c_long,
        }
    }

    /// Frees the whole blocks of `off..end` and zeroes the partial ones at
    /// its edges, inside the file's size.
    ///
    /// # Safety
    ///
    /// `inode` is one of our regular files, its lock held exclusively.
    pub(super) unsafe fn punch_hole(inode: *mut bindings::inode, off: u64, end: u64) -> Result {
        // SAFETY: As the caller guarantees.
        let i = unsafe { INode::<T>::from_raw(inode) };
        // SAFETY: Our superblock's block size.
        let bs = unsafe { (*(*inode).i_sb).s_blocksize } as u64;
        let end = end.min(i.size());
        if off >= end {
            return Ok(());
        }
        let (first, last) = (off.next_multiple_of(bs), end - end % bs);
        // SAFETY: The inode is valid; the guard releases the lock.
        let _invalidate = unsafe {
            bindings::inode_dio_wait(inode);
            InvalidateLock::lock_inode(inode)
        };
        // SAFETY: We hold the invalidate lock exclusively (breaking DAX
        // layouts does nothing on files without DAX).
        unsafe {
            Self::break_layouts(inode, off as i64, end as i64 - 1)?;
            if first >= last {
                Self::zero_range(inode, off, end - off)?;
            } else {
                Self::zero_range(inode, off, first - off)?;
                Self::zero_range(inode, last, end - last)?;
                bindings::truncate_pagecache_range(inode, first as i64, last as i64 - 1);
            }
        }
        if first < last {
            T::FileOps::free_range(i, first, last)?;
        }
        i.touch_mtime();
        T::write_inode(i)
    }

    /// Allocates (zeroed) blocks for `off..end`; with `zero`, also zeroes
    /// the data already there. Without `keep` the size grows to `end` first,
    /// as for writes; ext2 has no way to keep blocks past the size, so
    /// `FALLOC_FL_KEEP_SIZE` past it is refused.
    ///
    /// # Safety
    ///
    /// `inode` is one of our regular files, its lock held exclusively.
    pub(super) unsafe fn allocate(
        inode: *mut bindings::inode,
        off: u64,
        end: u64,
        keep: bool,
        zero: bool,
    ) -> Result {
        // SAFETY: As the caller guarantees.
        let i = unsafe { INode::<T>::from_raw(inode) };
        // SAFETY: Our superblock.
        let (bs, max) = unsafe {
            (
                (*(*inode).i_sb).s_blocksize as u64,
                (*(*inode).i_sb).s_maxbytes as u64,
            )
        };
        let old = i.size();
        if end > max {
            return Err(EFBIG);
        }
        if keep && end > old.next_multiple_of(bs) {
            return Err(EOPNOTSUPP);
        }
        let extend = end > old && !keep;
        if extend {
            // The caller's file size limit (`RLIMIT_FSIZE`: `EFBIG` and
            // `SIGXFSZ`), as ext4_fallocate() checks it.
            // SAFETY: The inode is valid; its lock is held.
            to_result(unsafe { bindings::inode_newsize_ok(inode, end as i64) })?;
        }
        // SAFETY: The inode is valid; the guard releases the lock.
        let invalidate = unsafe { InvalidateLock::lock_inode(inode) };
        let r = (|| {
            if extend {
                // As for writes: the size on disk covers the new blocks
                // first, the inode's size only once they are there.
                T::FileOps::reserve_size(i, end)?;
                // SAFETY: We hold the inode lock.
                unsafe { Self::zero_eof(inode, old, end)? };
            }
            let mut pos = off - off % bs;
            while pos < end {
                match T::FileOps::map_write(i, pos, end - pos)? {
                    Mapping::Mapped { offset, len, .. } if offset <= pos && offset + len > pos => {
                        pos = offset + len;
                    }
                    _ => return Err(EIO),
                }
            }
            if extend {
                i.set_size(end);
            }
            if zero {
                // SAFETY: We hold the invalidate lock exclusively.
                unsafe {
                    Self::break_layouts(inode, off as i64, end as i64 - 1)?;
                    Self::zero_range(inode, off, end - off)?;
                }
            }
            Ok(())
        })();
        if r.is_err() && extend && i.size() == old {
            // The blocks past the old size go again.
            let _ = T::FileOps::free_range(i, old.next_multiple_of(bs), u64::MAX);
        }
        i.touch_ctime();
        let w = if extend {
            T::FileOps::commit_size(i)
        } else {
            T::write_inode(i)
        };
        drop(invalidate);
        r.and(w)
    }

    /// Changes the size of a regular file: shrinking breaks DAX layouts,
    /// zeroes the rest of the new last block and frees the blocks past it,
    /// with the size on disk covering them until they are gone (rule 5 of
    /// the crash rules: a write-back of the inode meanwhile must not record
    /// a size below its blocks); growing zeroes the rest of the old last
    /// block (which a shared mapping may have written past the end).
    ///
    /// # Safety
    ///
    /// `inode` is one of our regular files, its lock held exclusively.
    pub(super) unsafe fn set_size(inode: *mut bindings::inode, new: u64) -> Result {
        // SAFETY: As the caller guarantees.
        let i = unsafe { INode::<T>::from_raw(inode) };
        // SAFETY: Our superblock's block size.
        let bs = unsafe { (*(*inode).i_sb).s_blocksize } as u64;
        let old = i.size();
        // SAFETY: `inode` is valid; the guard releases the lock on every
        // path below.
        let _invalidate = unsafe {
            bindings::inode_dio_wait(inode);
            InvalidateLock::lock_inode(inode)
        };
        // SAFETY: We hold the invalidate lock exclusively.
        unsafe { Self::break_layouts(inode, 0, i64::MAX)? };
        if new < old {
            let end = new.next_multiple_of(bs);
            // SAFETY: As above.
            unsafe { Self::zero_range(inode, new, end.min(old) - new)? };
            T::FileOps::reserve_size(i, old)?;
            i.set_size(new);
            // SAFETY: Drops the page-cache (DAX) entries past `new`.
            unsafe { bindings::truncate_pagecache(inode, new as i64) };
            T::FileOps::free_range(i, end, u64::MAX)?;
            T::FileOps::commit_size(i)?;
        } else {
            // SAFETY: As above.
            unsafe { Self::zero_eof(inode, old, new)? };
            i.set_size(new);
            // A folio that straddled the old end is written-protected
            // again, so that stores through a mapping past it fault.
            // SAFETY: We hold the inode lock exclusively.
            unsafe { bindings::pagecache_isize_extended(inode, old as i64, new as i64) };
        }
        // truncate(2) asks only for ATTR_SIZE: the times are ours to
        // update (ftruncate(2) asks for them too).
        i.touch_mtime();
        Ok(())
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
                // SAFETY: As above; thawed below.
                to_result(unsafe { bindings::bdev_freeze(bdev) })?;
                sb.shut_down();
                // SAFETY: Frozen above.
                unsafe { bindings::bdev_thaw(bdev) };
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
        if let Err(e) = unsafe { SuperBlock::<T>::live_raw((*inode).i_sb) } {
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
    /// system.
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
            || sb.is_shut_down()
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
