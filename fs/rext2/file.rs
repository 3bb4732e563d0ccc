// SPDX-License-Identifier: GPL-2.0

//! The sizes of regular files: extending writes, truncation and
//! `fallocate`, written like `ext4_setattr`, `ext4_fallocate` and
//! `ext4_dax_write_iter`, over the mechanisms of `blockfs::LockedINode`.
//!
//! One rule orders them all (rule 5 of the crash rules in
//! `Documentation/filesystems/rext2.rst`): the size on disk covers every
//! block the file points at. Before blocks are allocated past the end, or
//! freed past a smaller size, [`reserve_size`] makes the size that
//! `write_inode` records cover them; `map_alloc` writes it before the
//! first pointer past the old size; [`commit_size`] makes the on-disk size
//! the inode's again once the blocks are there or gone. A crash in
//! between leaves a file longer than written, with zeros at its end (the
//! new blocks are zeroed before anything points at them), and e2fsck finds
//! it clean.

use crate::{Rext2, BS};
use kernel::{
    fs::blockfs::{Fallocate, INode, LockedINode, Mapping, Write, Written},
    prelude::*,
};

/// Makes the size that `write_inode` records at least `size` until
/// [`commit_size`], without changing the inode's size. The size on disk is
/// raised by `map_alloc`, before the first block past it is pointed at: a
/// write that allocates nothing (an append inside the last block) writes
/// the inode once, in [`commit_size`].
fn reserve_size(inode: &INode<'_, Rext2>, size: u64) {
    let mut st = inode.data().lock_state();
    st.cover = st.cover.max(size);
}

/// Ends a [`reserve_size`]: the blocks past the inode's size are gone (or
/// were never allocated), so the size on disk becomes the inode's size
/// again; writes the inode.
fn commit_size(inode: &INode<'_, Rext2>) -> Result {
    let mut st = inode.data().lock_state();
    st.cover = 0;
    Rext2::write_inode_locked(inode, &mut st)
}

/// Frees the blocks of bytes `start..end` (block aligned; `u64::MAX`: the
/// rest of the file), leaving a hole. Nothing maps the range any more.
fn free_range(inode: &INode<'_, Rext2>, start: u64, end: u64) -> Result {
    Rext2::free_blocks_of(inode, start / BS, end / BS)
}

impl Rext2 {
    /// `write()`: a write inside the size just moves bytes. A write past
    /// the end first makes the size on disk cover the blocks it may
    /// allocate, so that a crash never leaves blocks past it (holes read
    /// as zeros); the inode's size grows only by what was written, once it
    /// is written. Until then faults past the old size fail (`SIGBUS`), so
    /// no mapping ever reaches a block that a short write then frees, and
    /// a write that moves no byte leaves the file as it was.
    pub(crate) fn write_file<'a>(
        inode: &mut LockedINode<'_, Self>,
        w: Write<'a, Self>,
    ) -> Result<Written<'a>> {
        let i = inode.inode();
        let old = i.size();
        let pos = w.pos();
        let end = pos.saturating_add(w.count());
        if end <= old {
            return w.perform(inode);
        }
        if w.nowait() {
            // Extending writes the inode synchronously.
            return Err(EAGAIN);
        }
        if pos > old {
            // Bytes between the old end and `pos` become part of the file.
            inode.zero_eof(old, pos)?;
        }
        reserve_size(i, end);
        let written = w.perform(inode);
        // A write that moved no byte leaves the size alone, even past it.
        let size = match &written {
            Ok(n) if n.bytes() > 0 => pos.saturating_add(n.bytes() as u64).max(old),
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
            // (As `ext4_truncate_failed_write`, under the invalidate lock.)
            let inval = inode.lock_invalidate();
            if !i.is_dax() {
                r = inval.truncate_pagecache(size);
            }
            r = r.and_then(|()| free_range(i, size.next_multiple_of(BS), u64::MAX));
            drop(inval);
        }
        r.and_then(|()| commit_size(i))?;
        written
    }

    /// Changes the size of a regular file (`setattr` with `ATTR_SIZE`):
    /// shrinking breaks DAX layouts, zeroes the rest of the new last block
    /// and frees the blocks past it, with the size on disk covering them
    /// until they are gone (a write-back of the inode meanwhile must not
    /// record a size below its blocks); growing zeroes the rest of the old
    /// last block (which a shared mapping may have written past the end).
    pub(crate) fn resize_file(inode: &mut LockedINode<'_, Self>, new: u64) -> Result {
        let i = inode.inode();
        let old = i.size();
        inode.dio_wait();
        let inval = inode.lock_invalidate();
        inval.break_layouts(0, u64::MAX)?;
        if new < old {
            let end = new.next_multiple_of(BS);
            inval.zero_range(new, end.min(old) - new)?;
            reserve_size(i, old);
            i.set_size(new);
            // Drops the page-cache (DAX) entries past `new`.
            inval.truncate_pagecache(new)?;
            free_range(i, end, u64::MAX)?;
            commit_size(i)?;
        } else {
            inval.zero_eof(old, new)?;
            i.set_size(new);
            inval.pagecache_isize_extended(old, new);
        }
        // truncate(2) asks only for ATTR_SIZE: the times are ours to
        // update (ftruncate(2) asks for them too).
        i.touch_mtime();
        Ok(())
    }

    /// `fallocate(2)`: allocation, zeroing and hole punching.
    pub(crate) fn fallocate_file(
        inode: &mut LockedINode<'_, Self>,
        mode: Fallocate,
        start: u64,
        end: u64,
    ) -> Result {
        match mode {
            Fallocate::PunchHole => Self::punch_hole(inode, start, end),
            Fallocate::Allocate { keep_size } => {
                Self::allocate(inode, start, end, keep_size, false)
            }
            Fallocate::ZeroRange { keep_size } => {
                Self::allocate(inode, start, end, keep_size, true)
            }
        }
    }

    /// Frees the whole blocks of `start..end` and zeroes the partial ones
    /// at its edges, inside the file's size.
    fn punch_hole(inode: &mut LockedINode<'_, Self>, start: u64, end: u64) -> Result {
        let i = inode.inode();
        let end = end.min(i.size());
        if start >= end {
            return Ok(());
        }
        let (first, last) = (start.next_multiple_of(BS), end - end % BS);
        inode.dio_wait();
        let inval = inode.lock_invalidate();
        inval.break_layouts(start, end)?;
        if first >= last {
            inval.zero_range(start, end - start)?;
        } else {
            inval.zero_range(start, first - start)?;
            inval.zero_range(last, end - last)?;
            inval.truncate_pagecache_range(first, last)?;
            free_range(i, first, last)?;
        }
        i.touch_mtime();
        Self::write_inode_locked(i, &mut i.data().lock_state())
    }

    /// Allocates (zeroed) blocks for `start..end`; with `zero`, also
    /// zeroes the data already there. Without `keep` the size grows to
    /// `end` first, as for writes; ext2 has no way to keep blocks past the
    /// size, so `FALLOC_FL_KEEP_SIZE` past it is refused.
    fn allocate(
        inode: &mut LockedINode<'_, Self>,
        start: u64,
        end: u64,
        keep: bool,
        zero: bool,
    ) -> Result {
        let i = inode.inode();
        let old = i.size();
        if end > i.super_block().max_bytes() {
            return Err(EFBIG);
        }
        if keep && end > old.next_multiple_of(BS) {
            return Err(EOPNOTSUPP);
        }
        let extend = end > old && !keep;
        if extend {
            // The caller's file size limit (`RLIMIT_FSIZE`: `EFBIG` and
            // `SIGXFSZ`), as ext4_fallocate() checks it.
            inode.newsize_ok(end)?;
        }
        let inval = inode.lock_invalidate();
        let r = (|| {
            if extend {
                // As for writes: the size on disk covers the new blocks
                // first, the inode's size only once they are there.
                reserve_size(i, end);
                inval.zero_eof(old, end)?;
            }
            let mut pos = start - start % BS;
            while pos < end {
                match Self::map_alloc(i, pos, end - pos)? {
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
                inval.break_layouts(start, end)?;
                inval.zero_range(start, end - start)?;
            }
            Ok(())
        })();
        if r.is_err() && extend && i.size() == old {
            // The blocks past the old size go again.
            let _ = free_range(i, old.next_multiple_of(BS), u64::MAX);
        }
        i.touch_ctime();
        let w = if extend {
            commit_size(i)
        } else {
            Self::write_inode_locked(i, &mut i.data().lock_state())
        };
        drop(inval);
        r.and(w)
    }
}
