// SPDX-License-Identifier: GPL-2.0

//! What a file system builds the size changes of its regular files from:
//! a [`LockedINode`] (the inode lock held exclusively) with the VFS's
//! mechanisms (waiting for direct I/O, breaking DAX layouts, zeroing
//! through DAX or the page cache, dropping cached pages), a [`Write`] to
//! perform, and the [`Fallocate`] modes. When the size changes and which
//! blocks go, in what order, is the file system's policy
//! ([`file::Operations::write`], [`file::Operations::resize`],
//! [`file::Operations::fallocate`]), as in `ext4_setattr` and
//! `ext4_fallocate`.

use super::*;
use crate::types::NotThreadSafe;

/// The last byte of `start..end` as the VFS's inclusive `loff_t` ranges
/// say it, `u64::MAX` (the rest of the file) as `LLONG_MAX`.
fn last_byte(end: u64) -> i64 {
    end.saturating_sub(1).min(i64::MAX as u64) as i64
}

/// A regular file of a file system `T` whose inode lock (`i_rwsem`) the
/// caller holds exclusively: its size and blocks may change.
///
/// The file system's methods get it by `&mut`:
/// [`LockedINode::lock_invalidate`] borrows it mutably, so the invalidate
/// lock is taken once at a time, and [`Write::perform`] does too, so no
/// write runs while it is held (a write's copy from user memory may fault
/// on a mapping of the same file, and faults take the invalidate lock).
///
/// # Invariants
///
/// `inode` is a regular file of `T`, and its lock is held exclusively by
/// this task for as long as the `LockedINode` exists.
pub struct LockedINode<'a, T: FileSystem> {
    inode: &'a INode<'a, T>,
    _not_send: NotThreadSafe,
}

impl<T: FileSystem> core::ops::Deref for LockedINode<'_, T> {
    type Target = BareINode<T>;

    fn deref(&self) -> &BareINode<T> {
        self.inode
    }
}

impl<'a, T: FileSystem> LockedINode<'a, T> {
    /// # Safety
    ///
    /// `inode` is a regular file of `T` whose lock the caller holds
    /// exclusively for as long as the returned value exists.
    pub(super) unsafe fn new(inode: &'a INode<'a, T>) -> Self {
        // INVARIANT: As the caller guarantees.
        Self {
            inode,
            _not_send: NotThreadSafe,
        }
    }

    /// The inode, for the file system's methods that take one.
    pub fn inode(&self) -> &'a INode<'a, T> {
        self.inode
    }

    /// Waits for the direct I/O in flight on the file to finish
    /// (`inode_dio_wait`); new direct I/O waits for the inode lock.
    pub fn dio_wait(&self) {
        // SAFETY: The inode is valid (type invariant).
        unsafe { bindings::inode_dio_wait(self.raw()) };
    }

    /// Takes the mapping's invalidate lock exclusively: page faults wait
    /// until the returned guard is dropped, so blocks can be freed and
    /// cached pages dropped without a fault mapping them meanwhile.
    pub fn lock_invalidate(&mut self) -> Invalidating<'_, 'a, T> {
        // SAFETY: The inode is valid while `self` is borrowed, and the lock
        // order is `i_rwsem` (held, type invariant) then `invalidate_lock`,
        // which this task does not hold: only an `Invalidating` holds it,
        // and it borrows `self` mutably, so none is alive now (unless one
        // was leaked with `mem::forget`, which can only deadlock here, as
        // it does every later fault on the file).
        let guard = unsafe { InvalidateLock::lock_inode(self.raw()) };
        Invalidating {
            inode: self,
            _guard: guard,
        }
    }

    /// Zeroes bytes `pos..pos + len` of the file (holes stay holes): in
    /// place with DAX, in the page cache otherwise. `EFBIG` past the
    /// largest file size.
    pub fn zero_range(&self, pos: u64, len: u64) -> Result {
        match pos.checked_add(len) {
            Some(end) if end <= self.super_block().max_bytes() => {}
            _ => return Err(EFBIG),
        }
        // SAFETY: A regular file of ours, its lock held exclusively (type
        // invariant); the range fits in an `loff_t` (checked above).
        unsafe { Tables::<T>::zero_range(self.raw(), pos, len) }
    }

    /// Zeroes the rest of the block that holds byte `old` (the size before
    /// an extension to `new`), up to `new`: a shared mapping of the last
    /// page may have stored there past the end, and those bytes must read
    /// as zeros once they are inside the file (as `ext4_block_zero_eof`).
    pub fn zero_eof(&self, old: u64, new: u64) -> Result {
        let bs = self.super_block().block_size();
        let end = old
            .checked_next_multiple_of(bs)
            .unwrap_or(u64::MAX)
            .min(new);
        self.zero_range(old, end.saturating_sub(old))
    }

    /// After the size grew from `old` to `new`: a page that straddled the
    /// old end is write-protected again, so that stores through a mapping
    /// past it fault (`pagecache_isize_extended`).
    pub fn pagecache_isize_extended(&self, old: u64, new: u64) {
        let (old, new) = (old.min(i64::MAX as u64), new.min(i64::MAX as u64));
        // SAFETY: The inode is valid and its lock held (type invariant).
        unsafe { bindings::pagecache_isize_extended(self.raw(), old as i64, new as i64) };
    }

    /// Whether the file may grow to `size` bytes: within `s_maxbytes` and
    /// the caller's `RLIMIT_FSIZE` (which also sends `SIGXFSZ`), as
    /// `inode_newsize_ok` says; `EFBIG` otherwise.
    pub fn newsize_ok(&self, size: u64) -> Result {
        let size = i64::try_from(size).map_err(|_| EFBIG)?;
        // SAFETY: The inode is valid and its lock held (type invariant).
        to_result(unsafe { bindings::inode_newsize_ok(self.raw(), size) })
    }
}

/// A [`LockedINode`] whose mapping's invalidate lock is also held
/// exclusively: no page fault runs on the file meanwhile.
///
/// # Invariants
///
/// `_guard` holds the invalidate lock of `inode`'s own mapping
/// exclusively.
pub struct Invalidating<'b, 'a, T: FileSystem> {
    inode: &'b LockedINode<'a, T>,
    _guard: InvalidateLock,
}

impl<'a, T: FileSystem> core::ops::Deref for Invalidating<'_, 'a, T> {
    type Target = LockedINode<'a, T>;

    fn deref(&self) -> &LockedINode<'a, T> {
        self.inode
    }
}

impl<T: FileSystem> Invalidating<'_, '_, T> {
    /// Unmaps the DAX pages of bytes `start..end` (`u64::MAX`: the rest of
    /// the file) and waits until no pinned reference to them (`vmsplice`,
    /// `O_DIRECT` targets) is left, so that their blocks can be freed.
    /// Does nothing on a file without DAX.
    pub fn break_layouts(&self, start: u64, end: u64) -> Result {
        if start >= end {
            return Ok(());
        }
        let start = start.min(i64::MAX as u64) as i64;
        // SAFETY: Our inode, its invalidate lock held exclusively (type
        // invariant).
        unsafe { Tables::<T>::break_layouts(self.raw(), start, last_byte(end)) }
    }

    /// Drops the cached pages (or DAX entries) of the file from byte
    /// `from` on, unmapping them (`truncate_pagecache`), once DAX layouts
    /// there are broken ([`Invalidating::break_layouts`]), so that their
    /// blocks may be freed after.
    pub fn truncate_pagecache(&self, from: u64) -> Result {
        self.break_layouts(from, u64::MAX)?;
        let from = from.min(i64::MAX as u64) as i64;
        // SAFETY: The inode is valid; its lock and its invalidate lock are
        // held (type invariants).
        unsafe { bindings::truncate_pagecache(self.raw(), from) };
        Ok(())
    }

    /// Drops the cached pages (or DAX entries) of bytes `start..end`
    /// (`u64::MAX`: the rest of the file), unmapping them
    /// (`truncate_pagecache_range`), once DAX layouts there are broken.
    pub fn truncate_pagecache_range(&self, start: u64, end: u64) -> Result {
        if start >= end {
            return Ok(());
        }
        self.break_layouts(start, end)?;
        // `-1` is the end of the file for `truncate_pagecache_range`.
        let last = if end > i64::MAX as u64 {
            -1
        } else {
            last_byte(end)
        };
        let start = start.min(i64::MAX as u64) as i64;
        // SAFETY: The inode is valid; its lock and its invalidate lock are
        // held (type invariants).
        unsafe { bindings::truncate_pagecache_range(self.raw(), start, last) };
        Ok(())
    }
}

/// A `write()` (or `pwrite()`, `writev()`, `io_submit()`) to a regular
/// file, checked by the VFS (`generic_write_checks`) and ready to be
/// performed with [`Write::perform`], once.
///
/// `'a` is invariant: the [`Written`] that performing it gives is the
/// only one [`file::Operations::write`] can return for it.
///
/// # Invariants
///
/// `iocb` and `from` are the valid arguments of a `write_iter` call on a
/// regular file of `T` whose lock the caller holds exclusively, while the
/// `Write` exists.
pub struct Write<'a, T: FileSystem> {
    iocb: *mut bindings::kiocb,
    from: *mut bindings::iov_iter,
    _invariant: Invariant<'a>,
    _fs: PhantomData<T>,
    _not_send: NotThreadSafe,
}

/// Makes a type invariant in `'a`: it neither grows nor shrinks to
/// another lifetime.
type Invariant<'a> = PhantomData<fn(&'a ()) -> &'a ()>;

/// How many bytes a [`Write`] moved: what [`Write::perform`] returns, and
/// [`file::Operations::write`] passes on. Only `perform` makes one, so the
/// VFS is never told of more bytes than the write asked for.
pub struct Written<'a> {
    bytes: usize,
    _invariant: Invariant<'a>,
}

impl Written<'_> {
    /// The number of bytes written.
    pub fn bytes(&self) -> usize {
        self.bytes
    }
}

impl<'a, T: FileSystem> Write<'a, T> {
    /// # Safety
    ///
    /// As the type invariants say.
    pub(super) unsafe fn new(iocb: *mut bindings::kiocb, from: *mut bindings::iov_iter) -> Self {
        // INVARIANT: As the caller guarantees.
        Self {
            iocb,
            from,
            _invariant: PhantomData,
            _fs: PhantomData,
            _not_send: NotThreadSafe,
        }
    }

    /// The file offset the write starts at (the end of the file with
    /// `O_APPEND`).
    pub fn pos(&self) -> u64 {
        // SAFETY: The kiocb is valid (type invariant); its position is
        // not negative after `generic_write_checks`.
        unsafe { (*self.iocb).ki_pos as u64 }
    }

    /// How many bytes the write asks to move.
    pub fn count(&self) -> u64 {
        // SAFETY: The source is valid (type invariant).
        unsafe { bindings::iov_iter_count(self.from) as u64 }
    }

    /// Whether the caller asked not to wait (`RWF_NOWAIT`, `IOCB_NOWAIT`):
    /// the write fails with `EAGAIN` rather than wait for I/O or locks.
    pub fn nowait(&self) -> bool {
        // SAFETY: The kiocb is valid (type invariant).
        unsafe { (*self.iocb).ki_flags & bindings::IOCB_NOWAIT != 0 }
    }

    /// Updates the file's times and drops its set-id bits
    /// (`kiocb_modified`, which refuses `RWF_NOWAIT` when that would wait),
    /// then moves the bytes: through DAX (`dax_iomap_rw`, as
    /// `ext4_dax_write_iter`), with `O_DIRECT` into the blocks
    /// [`file::Operations::map_write`] allocates (waited for even when
    /// asynchronous, so that the caller sees what reached them; if the
    /// cached pages of the range cannot be dropped, through the page cache
    /// instead, as ext4 does), or into the page cache, written back later
    /// to the blocks allocated now. Returns how many bytes were written,
    /// which may be fewer than [`Write::count`] (a short write), or the
    /// error if none was.
    ///
    /// `inode` is the file being written, borrowed mutably so that its
    /// invalidate lock is not held meanwhile (each call of
    /// [`file::Operations::write`] has one `LockedINode`, the file's).
    pub fn perform(self, inode: &mut LockedINode<'_, T>) -> Result<Written<'a>> {
        let _ = inode;
        let (iocb, from) = (self.iocb, self.from);
        // SAFETY: The kiocb is valid and its inode locked (type invariant).
        to_result(unsafe { bindings::kiocb_modified(iocb) })?;
        let ops = &Tables::<T>::TABLES.iomap_ops;
        let none = core::ptr::null_mut();
        // SAFETY: The kiocb is valid (type invariant).
        let (file, flags) = unsafe { ((*iocb).ki_filp, (*iocb).ki_flags) };
        // SAFETY: An open file has an inode; ours is (type invariant).
        let i = unsafe { INode::<T>::from_raw(bindings::file_inode(file)) };
        let ret = if i.is_dax() {
            // SAFETY: The arguments of `write_iter`, the inode locked (type
            // invariant).
            unsafe { bindings::dax_iomap_rw(iocb, from, ops) }
        } else if flags & bindings::IOCB_DIRECT as c_int != 0 {
            let wait = bindings::IOMAP_DIO_FORCE_WAIT;
            // SAFETY: As above; the direct I/O operations and private data
            // are optional.
            match unsafe {
                bindings::iomap_dio_rw(iocb, from, ops, core::ptr::null(), wait, none, 0)
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
        match usize::try_from(ret) {
            Ok(bytes) => Ok(Written {
                bytes,
                _invariant: PhantomData,
            }),
            Err(_) => Err(Error::from_errno(ret as c_int)),
        }
    }
}

/// What `fallocate(2)` asks for, in the modes this abstraction serves
/// (others fail with `EOPNOTSUPP` before the file system is asked).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fallocate {
    /// Allocate blocks for the range's holes, which keep reading as zeros
    /// (mode 0, or `FALLOC_FL_KEEP_SIZE`: the size does not grow).
    Allocate {
        /// `FALLOC_FL_KEEP_SIZE`.
        keep_size: bool,
    },
    /// `FALLOC_FL_ZERO_RANGE`: the range reads as zeros afterwards, with
    /// blocks allocated.
    ZeroRange {
        /// `FALLOC_FL_KEEP_SIZE`.
        keep_size: bool,
    },
    /// `FALLOC_FL_PUNCH_HOLE` (with `FALLOC_FL_KEEP_SIZE`, as the VFS
    /// requires): the range reads as zeros, its whole blocks freed.
    PunchHole,
}

impl Fallocate {
    /// The mode of `fallocate(2)`, typed; `EOPNOTSUPP` for the modes not
    /// served (collapse, insert, unshare, write-zeroes).
    pub(super) fn from_mode(mode: c_int) -> Result<Self> {
        let keep = bindings::FALLOC_FL_KEEP_SIZE as c_int;
        let punch = bindings::FALLOC_FL_PUNCH_HOLE as c_int;
        let zero = bindings::FALLOC_FL_ZERO_RANGE as c_int;
        let keep_size = mode & keep != 0;
        match mode & !keep {
            0 => Ok(Self::Allocate { keep_size }),
            m if m == zero => Ok(Self::ZeroRange { keep_size }),
            // `vfs_fallocate` lets a hole be punched only with KEEP_SIZE.
            m if m == punch && keep_size => Ok(Self::PunchHole),
            _ => Err(EOPNOTSUPP),
        }
    }
}
