// SPDX-License-Identifier: GPL-2.0

//! Guards for the VFS locks the file paths take: an inode's `i_rwsem`, its
//! mapping's `invalidate_lock`, the DAX read lock, freeze protection, and
//! a frozen block device. Each is released when its guard is dropped, so
//! an early return cannot leave one held.

use super::*;
use crate::types::NotThreadSafe;

/// Whether a lock is held for writing or for reading.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Mode {
    /// Held exclusively.
    Exclusive,
    /// Held shared.
    Shared,
}

/// An inode's `i_rwsem`, held.
///
/// # Invariants
///
/// `inode` is valid while the guard lives, and the guard holds its `i_rwsem`
/// in `mode`, released once, on drop, by the task that took it.
pub(super) struct InodeLock {
    inode: *mut bindings::inode,
    mode: Mode,
    _not_send: NotThreadSafe,
}

impl InodeLock {
    /// Takes `inode`'s lock in `mode`, sleeping until it is free.
    ///
    /// # Safety
    ///
    /// `inode` is valid for the guard's whole life, and the caller does not
    /// hold its lock yet.
    pub(super) unsafe fn lock(inode: *mut bindings::inode, mode: Mode) -> Self {
        match mode {
            // SAFETY: `inode` is valid, as the caller guarantees.
            Mode::Exclusive => unsafe { bindings::inode_lock(inode) },
            // SAFETY: As above.
            Mode::Shared => unsafe { bindings::inode_lock_shared(inode) },
        }
        // INVARIANT: Taken just above, in `mode`.
        Self {
            inode,
            mode,
            _not_send: NotThreadSafe,
        }
    }

    /// Takes `inode`'s lock in `mode` if it is free, without sleeping.
    ///
    /// # Safety
    ///
    /// As for [`InodeLock::lock`].
    pub(super) unsafe fn try_lock(inode: *mut bindings::inode, mode: Mode) -> Option<Self> {
        let got = match mode {
            // SAFETY: `inode` is valid, as the caller guarantees.
            Mode::Exclusive => unsafe { bindings::inode_trylock(inode) },
            // SAFETY: As above.
            Mode::Shared => unsafe { bindings::inode_trylock_shared(inode) },
        };
        if got == 0 {
            return None;
        }
        // INVARIANT: Taken just above, in `mode`.
        Some(Self {
            inode,
            mode,
            _not_send: NotThreadSafe,
        })
    }

    /// [`InodeLock::lock`], or [`InodeLock::try_lock`] with `nowait`
    /// (`IOCB_NOWAIT`): `EAGAIN` if the lock is taken.
    ///
    /// # Safety
    ///
    /// As for [`InodeLock::lock`].
    pub(super) unsafe fn lock_nowait(
        inode: *mut bindings::inode,
        mode: Mode,
        nowait: bool,
    ) -> Result<Self> {
        if nowait {
            // SAFETY: As the caller guarantees.
            unsafe { Self::try_lock(inode, mode) }.ok_or(EAGAIN)
        } else {
            // SAFETY: As the caller guarantees.
            Ok(unsafe { Self::lock(inode, mode) })
        }
    }
}

impl Drop for InodeLock {
    fn drop(&mut self) {
        match self.mode {
            // SAFETY: By the type invariants the inode is valid and we hold
            // its lock in this mode.
            Mode::Exclusive => unsafe { bindings::inode_unlock(self.inode) },
            // SAFETY: As above.
            Mode::Shared => unsafe { bindings::inode_unlock_shared(self.inode) },
        }
    }
}

/// The `invalidate_lock` of a mapping, held: it keeps faults (shared) away
/// from truncation and hole punching (exclusive).
///
/// # Invariants
///
/// `mapping` is valid while the guard lives, and the guard holds its
/// `invalidate_lock` in `mode`, released once, on drop, by the task that
/// took it.
pub(super) struct InvalidateLock {
    mapping: *mut bindings::address_space,
    mode: Mode,
    _not_send: NotThreadSafe,
}

impl InvalidateLock {
    /// Takes `mapping`'s invalidate lock in `mode`.
    ///
    /// # Safety
    ///
    /// `mapping` is valid for the guard's whole life, and the caller does not
    /// hold its invalidate lock yet.
    pub(super) unsafe fn lock(mapping: *mut bindings::address_space, mode: Mode) -> Self {
        match mode {
            // SAFETY: `mapping` is valid, as the caller guarantees.
            Mode::Exclusive => unsafe { bindings::filemap_invalidate_lock(mapping) },
            // SAFETY: As above.
            Mode::Shared => unsafe { bindings::filemap_invalidate_lock_shared(mapping) },
        }
        // INVARIANT: Taken just above, in `mode`.
        Self {
            mapping,
            mode,
            _not_send: NotThreadSafe,
        }
    }

    /// Takes the invalidate lock of `inode`'s own mapping exclusively.
    ///
    /// # Safety
    ///
    /// `inode` is valid for the guard's whole life, and the caller does not
    /// hold the lock yet.
    pub(super) unsafe fn lock_inode(inode: *mut bindings::inode) -> Self {
        // SAFETY: `inode` is valid, as the caller guarantees, and so is its
        // `i_mapping` for as long as the inode.
        unsafe { Self::lock((*inode).i_mapping, Mode::Exclusive) }
    }
}

impl Drop for InvalidateLock {
    fn drop(&mut self) {
        match self.mode {
            // SAFETY: By the type invariants the mapping is valid and we hold
            // its invalidate lock in this mode.
            Mode::Exclusive => unsafe { bindings::filemap_invalidate_unlock(self.mapping) },
            // SAFETY: As above.
            Mode::Shared => unsafe { bindings::filemap_invalidate_unlock_shared(self.mapping) },
        }
    }
}

/// A scope in which the current task's allocations do not enter
/// file-system reclaim, as if they were all `GFP_NOFS`
/// (`memalloc_nofs_save`).
///
/// A file system holds one while it holds a lock that its own inode
/// eviction takes: reclaim may evict inodes, and an allocation under the
/// lock must not wait for that (C ext2 allocates `GFP_NOFS` under its
/// `truncate_mutex` for the same reason).
///
/// # Invariants
///
/// `flags` is what `memalloc_nofs_save` returned to this task; the guard
/// passes it to `memalloc_nofs_restore` once, on drop.
pub struct NoFsScope {
    flags: c_uint,
    _not_send: NotThreadSafe,
}

impl NoFsScope {
    /// Enters the scope, until the guard is dropped. Scopes nest; each
    /// should end in the reverse order of its start.
    pub fn enter() -> Self {
        // SAFETY: No requirements: it changes only the current task's
        // allocation flags.
        let flags = unsafe { bindings::memalloc_nofs_save() };
        // INVARIANT: Saved just above, by this task.
        Self {
            flags,
            _not_send: NotThreadSafe,
        }
    }
}

impl Drop for NoFsScope {
    fn drop(&mut self) {
        // SAFETY: By the type invariants `flags` is what this task's
        // `memalloc_nofs_save` returned.
        unsafe { bindings::memalloc_nofs_restore(self.flags) };
    }
}

/// The DAX read lock (`dax_read_lock`, an SRCU read section): DAX devices
/// are not killed while it is held.
///
/// # Invariants
///
/// `id` is what `dax_read_lock` returned to this task; the guard passes it
/// to `dax_read_unlock` once, on drop.
pub(super) struct DaxReadLock {
    id: c_int,
    _not_send: NotThreadSafe,
}

impl DaxReadLock {
    /// Enters the DAX read section.
    pub(super) fn lock() -> Self {
        // SAFETY: No requirements: any task may enter the read section.
        let id = unsafe { bindings::dax_read_lock() };
        // INVARIANT: Entered just above.
        Self {
            id,
            _not_send: NotThreadSafe,
        }
    }
}

impl Drop for DaxReadLock {
    fn drop(&mut self) {
        // SAFETY: By the type invariants `id` is this task's read section.
        unsafe { bindings::dax_read_unlock(self.id) };
    }
}

/// Freeze protection for a file system's internal writes
/// (`sb_start_intwrite`): while it is held, the file system is not frozen
/// past `SB_FREEZE_FS`, so metadata may be written.
///
/// # Invariants
///
/// `sb` is valid while the guard lives, and the guard holds its
/// `SB_FREEZE_FS` protection, released once, on drop.
pub(super) struct IntWrite {
    sb: *mut bindings::super_block,
    _not_send: NotThreadSafe,
}

impl IntWrite {
    /// Takes the protection, waiting for a thaw if the file system is
    /// frozen.
    ///
    /// # Safety
    ///
    /// `sb` is a mounted superblock valid for the guard's whole life, and
    /// the caller does not already hold this protection (a freeze waiting
    /// for it would then wait for us). The lower levels (`sb_start_write`,
    /// `sb_start_pagefault`) come first in the freeze order and may be
    /// held.
    pub(super) unsafe fn start(sb: *mut bindings::super_block) -> Self {
        // SAFETY: As the caller guarantees.
        unsafe { bindings::sb_start_intwrite(sb) };
        // INVARIANT: Taken just above.
        Self {
            sb,
            _not_send: NotThreadSafe,
        }
    }

    /// Takes the protection unless the file system is being frozen or
    /// is frozen, without waiting.
    ///
    /// # Safety
    ///
    /// `sb` is a mounted superblock valid for the guard's whole life.
    pub(super) unsafe fn try_start(sb: *mut bindings::super_block) -> Option<Self> {
        // SAFETY: As the caller guarantees; a trylock cannot deadlock.
        let got = unsafe { bindings::sb_start_intwrite_trylock(sb) };
        if !got {
            return None;
        }
        // INVARIANT: Taken just above.
        Some(Self {
            sb,
            _not_send: NotThreadSafe,
        })
    }
}

impl Drop for IntWrite {
    fn drop(&mut self) {
        // SAFETY: By the type invariants `sb` is valid and we hold its
        // protection.
        unsafe { bindings::sb_end_intwrite(self.sb) };
    }
}

/// Freeze protection for a page fault that writes (`sb_start_pagefault`):
/// while it is held, the file system is not frozen past
/// `SB_FREEZE_PAGEFAULT`, so the fault may allocate and dirty.
///
/// # Invariants
///
/// `sb` is valid while the guard lives, and the guard holds its
/// `SB_FREEZE_PAGEFAULT` protection, released once, on drop.
pub(super) struct PageFault {
    sb: *mut bindings::super_block,
    _not_send: NotThreadSafe,
}

impl PageFault {
    /// Takes the protection, waiting for a thaw if the file system is
    /// frozen.
    ///
    /// # Safety
    ///
    /// `sb` is a mounted superblock valid for the guard's whole life, and
    /// the caller holds none of its freeze protections at this level or
    /// above (`sb_start_pagefault`, `sb_start_intwrite`).
    pub(super) unsafe fn start(sb: *mut bindings::super_block) -> Self {
        // SAFETY: As the caller guarantees.
        unsafe { bindings::sb_start_pagefault(sb) };
        // INVARIANT: Taken just above.
        Self {
            sb,
            _not_send: NotThreadSafe,
        }
    }
}

impl Drop for PageFault {
    fn drop(&mut self) {
        // SAFETY: By the type invariants `sb` is valid and we hold its
        // protection.
        unsafe { bindings::sb_end_pagefault(self.sb) };
    }
}

/// A block device frozen with `bdev_freeze`: the file system on it is
/// written out and quiesced (`freeze_super`) until the guard thaws it.
///
/// # Invariants
///
/// `bdev` is valid while the guard lives, and the guard holds one freeze
/// of it, thawed once, on drop.
pub(super) struct FrozenBdev {
    bdev: *mut bindings::block_device,
    _not_send: NotThreadSafe,
}

impl FrozenBdev {
    /// Freezes `bdev` (and its file system).
    ///
    /// # Safety
    ///
    /// `bdev` is an open block device, valid for the guard's whole life,
    /// and the caller holds none of the freeze protections of the file
    /// system on it (the freeze would wait for them).
    pub(super) unsafe fn freeze(bdev: *mut bindings::block_device) -> Result<Self> {
        // SAFETY: As the caller guarantees.
        to_result(unsafe { bindings::bdev_freeze(bdev) })?;
        // INVARIANT: Frozen just above.
        Ok(Self {
            bdev,
            _not_send: NotThreadSafe,
        })
    }
}

impl Drop for FrozenBdev {
    fn drop(&mut self) {
        // SAFETY: By the type invariants `bdev` is valid and frozen by us.
        let r = to_result(unsafe { bindings::bdev_thaw(self.bdev) });
        // It fails if the file system's thaw does: a `FITHAW` from user
        // space may have used up the freeze this one nested in. Nothing
        // here can undo that; say so.
        if let Err(e) = r {
            crate::pr_warn!("cannot thaw the device after a shutdown: {:?}\n", e);
        }
    }
}
