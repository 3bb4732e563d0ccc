// SPDX-License-Identifier: GPL-2.0

//! Block and inode allocation.
//!
//! Each group has its own lock, which covers its descriptor and its two
//! bitmaps; no code holds two group locks at once. A change is made
//! durable with one ordering point: the bitmap block and the group
//! descriptor are written together (`Head::sync_all`). A data allocation
//! shares that point with the zeroing of its blocks and the size that
//! covers them (`Rext2::alloc_blocks_unsynced`), a new inode's with its
//! first write, and the frees of a delete share one (a [`Pending`] set).
//! A bitmap and its descriptor may disagree after a crash: e2fsck
//! recounts the free counts.
//! Allocations set bits before anything points at the blocks or inodes;
//! frees clear them after nothing points at them any more, so a crash can
//! only leak (see `Documentation/filesystems/rext2.rst`).

use crate::{bitmap, corrupt_sb, ondisk, Rext2, SbData};
use core::sync::atomic::{AtomicU64, Ordering};
use kernel::{
    fs::blockfs::{Buffer, Head, SuperBlock},
    prelude::*,
};
use ondisk::{Corrupt, GroupDesc};

/// Blocks in a PMD (2 MiB) mapping: large aligned files get runs of this
/// alignment, so that DAX can map them with huge pages.
pub(crate) const PMD_BLOCKS: u32 = 512;

/// Puts group descriptor `g` into its block and returns the block, dirty:
/// the caller makes it durable.
fn put_gd<'a>(sb: &'a SuperBlock<Rext2>, g: u32, gd: &GroupDesc) -> Result<Buffer<'a>> {
    let d = sb.data();
    let (blk, off) = ondisk::group_desc_location(&d.geo, g).map_err(|c| corrupt_sb(sb, c))?;
    let buf = sb.bread(blk.into())?;
    let r = buf.modify(|b| match b.get_mut(off..off + ondisk::GROUP_DESC_SIZE) {
        Some(out) => gd.write_to(out).map_err(Some),
        None => Err(None),
    });
    // Reported with the buffer unlocked: marking errors writes the
    // superblock.
    r.map_err(|c| c.map_or(EUCLEAN, |c| corrupt_sb(sb, c)))?;
    Ok(buf)
}

/// Blocks handed out by [`Rext2::alloc_blocks_unsynced`]: the first and
/// the count, and the bitmap and group descriptor blocks that record
/// them, not yet durable. Whoever allocated makes them durable, in one
/// ordering point with whatever else must be durable before anything
/// points at the blocks (`Head::sync_all`).
pub(crate) struct Allocated<'a> {
    pub(crate) start: u32,
    pub(crate) count: u32,
    pub(crate) bitmap: Buffer<'a>,
    pub(crate) gd: Buffer<'a>,
}

/// Most buffers a [`Pending`] set holds before it syncs them.
const PENDING_MAX: usize = 8;

/// Dirty metadata buffers whose writes need no order among themselves,
/// made durable together by one ordering point (`Head::sync_all`): the
/// bitmaps and group descriptors of a delete's frees, or a new inode's bit
/// with its first write. Any subset of them reaching the media is a state
/// the crash rules allow, so the set may also sync early, when it is full.
/// Each buffer is held once; the set lives on the stack.
///
/// Dropped with buffers in it (an error path), it makes them durable
/// first, so that no change is left to write-back: a bit cleared there
/// could otherwise reach the media after the block was reused, and a
/// stale metadata buffer could overwrite a reused block.
pub(crate) struct Pending<'a> {
    bufs: [Option<Buffer<'a>>; PENDING_MAX],
    len: usize,
}

impl<'a> Pending<'a> {
    pub(crate) fn new() -> Self {
        Self {
            bufs: [const { None }; PENDING_MAX],
            len: 0,
        }
    }

    /// Adds `buf`, which the caller changed, unless the set holds it.
    pub(crate) fn add(&mut self, buf: Buffer<'a>) -> Result {
        let held = self.heads().any(|h| core::ptr::eq(h, &*buf));
        if held {
            return Ok(());
        }
        // Held even if the early sync fails, so that its change is made
        // durable later, by the next sync or on drop.
        let r = if self.len == PENDING_MAX {
            self.sync()
        } else {
            Ok(())
        };
        self.bufs[self.len] = Some(buf);
        self.len += 1;
        r
    }

    fn heads(&self) -> impl Iterator<Item = &Head> + Clone {
        self.bufs[..self.len].iter().flatten().map(|b| &**b)
    }

    /// Makes the buffers durable, with `extra` (last) if given: one
    /// ordering point. The set is empty afterwards, whatever the outcome.
    pub(crate) fn sync_with(&mut self, extra: Option<&Head>) -> Result {
        let r = Head::sync_all_iter(Iterator::chain(self.heads(), extra));
        self.bufs.iter_mut().for_each(|b| *b = None);
        self.len = 0;
        r
    }

    /// As [`Pending::sync_with`], alone.
    pub(crate) fn sync(&mut self) -> Result {
        self.sync_with(None)
    }
}

impl Drop for Pending<'_> {
    fn drop(&mut self) {
        if self.len > 0 {
            // An error path: the error that brought us here is the one
            // reported.
            let _ = self.sync();
        }
    }
}

impl SbData {
    /// The first metadata block in `start..start + count`, if any: see
    /// `Geometry::metadata_in`.
    pub(crate) fn metadata_in(&self, start: u32, count: u32) -> Option<u32> {
        self.geo
            .metadata_in(start, count, |g| self.meta.get(g as usize).copied())
    }

    /// Checks that the `count` blocks from `start` are inside the file
    /// system and none of them is metadata: `Err(Some(problem))` if not,
    /// `Err(None)` if the run wraps past the last block number. Reports
    /// nothing (see `Rext2::check_meta_ptr`).
    pub(crate) fn check_run(&self, start: u32, count: u32) -> Result<(), Option<Corrupt>> {
        let last = start.checked_add(count.saturating_sub(1)).ok_or(None)?;
        for b in [start, last] {
            ondisk::check_block_ptr(b, &self.geo).map_err(Some)?;
        }
        match self.metadata_in(start, count) {
            Some(block) => Err(Some(Corrupt::BlockPtrIntoMetadata { block })),
            None => Ok(()),
        }
    }

    /// Free blocks in all groups.
    pub(crate) fn free_blocks(&self) -> u64 {
        self.free_blocks.load(Ordering::Relaxed)
    }

    /// Free inodes in all groups.
    pub(crate) fn free_inodes(&self) -> u64 {
        self.free_inodes.load(Ordering::Relaxed)
    }

    /// Sets the free block count of `gd`, whose group's lock the caller
    /// holds, to `n`, and the total with it.
    fn set_free_blocks(&self, gd: &mut GroupDesc, n: u16) {
        Self::adjust(&self.free_blocks, gd.free_blocks_count, n);
        gd.free_blocks_count = n;
    }

    /// Sets the free inode count of `gd`, likewise.
    fn set_free_inodes(&self, gd: &mut GroupDesc, n: u16) {
        Self::adjust(&self.free_inodes, gd.free_inodes_count, n);
        gd.free_inodes_count = n;
    }

    fn adjust(total: &AtomicU64, old: u16, new: u16) {
        if new >= old {
            total.fetch_add(u64::from(new - old), Ordering::Relaxed);
        } else {
            total.fetch_sub(u64::from(old - new), Ordering::Relaxed);
        }
    }
}

impl Rext2 {
    /// Allocates up to `want` contiguous blocks, near `goal` if possible.
    /// If `align` is above 1, a run starting at a multiple of `align`, with
    /// `align` blocks free from there, is preferred (a shorter `want` takes
    /// its start, and the rest stays free for the writes that follow).
    /// Returns the first block and the count. The blocks' contents are not
    /// touched. The bitmap and the group descriptor are durable when it
    /// returns.
    pub(crate) fn alloc_blocks(
        sb: &SuperBlock<Self>,
        goal: u32,
        want: u32,
        align: u32,
    ) -> Result<(u32, u32)> {
        let a = Self::alloc_blocks_unsynced(sb, goal, want, align)?;
        Head::sync_all(&[&a.bitmap, &a.gd])?;
        Ok((a.start, a.count))
    }

    /// As [`Rext2::alloc_blocks`], but leaves the bitmap and the group
    /// descriptor to the caller's ordering point. Until then a crash loses
    /// the allocation, which is harmless as long as nothing durable points
    /// at the blocks; if the caller gives up, it frees them as usual.
    pub(crate) fn alloc_blocks_unsynced<'a>(
        sb: &'a SuperBlock<Self>,
        goal: u32,
        want: u32,
        align: u32,
    ) -> Result<Allocated<'a>> {
        let d = sb.data();
        let geo = &d.geo;
        let mut want = want.max(1);
        // The reserved blocks are for CAP_SYS_RESOURCE, asked only when
        // the others run short, as ext2_has_free_blocks() does: capable()
        // marks the task as having used privilege (PF_SUPERPRIV), and an
        // allocation with room to spare should not.
        let usable = d.free_blocks().saturating_sub(d.r_blocks.into());
        if usable < u64::from(want) && !sb.may_use_reserved() {
            if usable == 0 {
                return Err(ENOSPC);
            }
            want = want.min(u32::try_from(usable).unwrap_or(u32::MAX));
        }
        let goal = if goal >= geo.first_data_block && goal < geo.blocks_count {
            goal
        } else {
            geo.first_data_block
        };
        let g0 = geo.group_of_block(goal).unwrap_or(0);
        let aligned = align > 1;
        for pass_align in [if aligned { align } else { 1 }, 1] {
            for k in 0..geo.groups {
                let g = (g0 + k) % geo.groups;
                let Some(lock) = d.groups.get(g as usize) else {
                    return Err(EUCLEAN);
                };
                let mut gd = lock.lock();
                if u32::from(gd.free_blocks_count) < pass_align {
                    continue;
                }
                let first = geo.group_first_block(g).ok_or(EUCLEAN)?;
                let nbits = geo.group_blocks(g).ok_or(EUCLEAN)? as usize;
                // A bitmap that cannot be read fails the allocation only
                // when no other group can serve it unaligned either.
                let buf = match sb.bread(gd.block_bitmap.into()) {
                    Ok(buf) => buf,
                    Err(_) if pass_align > 1 => continue,
                    Err(e) => return Err(e),
                };
                let goal_bit = if k == 0 { (goal - first) as usize } else { 0 };
                let align = pass_align as usize;
                let found = buf.read(|b| {
                    let start = if align > 1 {
                        bitmap::find_zero_run(b, nbits, goal_bit, align, align)
                    } else {
                        bitmap::find_next_zero(b, nbits, goal_bit)
                            .or_else(|| bitmap::find_next_zero(b, nbits, 0))
                    }?;
                    let mut count = 0usize;
                    while count < want as usize
                        && start + count < nbits
                        && bitmap::test_bit(b, start + count) == Some(false)
                    {
                        count += 1;
                    }
                    Some((start, count))
                });
                let Some((start, mut count)) = found else {
                    continue;
                };
                // The bitmap must not hand out the group's own metadata.
                if let Some(m) = d.metadata_in(first + start as u32, count as u32) {
                    if m == first + start as u32 {
                        return Err(corrupt_sb(sb, Corrupt::BitmapFreesMetadata { block: m }));
                    }
                    count = (m - first) as usize - start;
                }
                // After a crash the count may be below the bitmap's zeros
                // (a free was cut short); trust the lower number.
                count = count.min(usize::from(gd.free_blocks_count));
                if count == 0 {
                    continue;
                }
                let set = buf.modify(|b| bitmap::set_range(b, start, count));
                if set != Some(0) {
                    return Err(EUCLEAN);
                }
                let left = gd.free_blocks_count - count as u16;
                d.set_free_blocks(&mut gd, left);
                let gd_buf = put_gd(sb, g, &gd)?;
                return Ok(Allocated {
                    start: first + start as u32,
                    count: count as u32,
                    bitmap: buf,
                    gd: gd_buf,
                });
            }
            if !aligned {
                break;
            }
        }
        Err(ENOSPC)
    }

    /// Frees `blocks` (sorted here), group by group. Metadata blocks are
    /// never freed (a corrupt file pointing at them must not free an inode
    /// table). Returns the first block that was already free, or was
    /// metadata, if any: whoever pointed at it shares it with someone else
    /// (corruption, logged here).
    pub(crate) fn free_blocks(sb: &SuperBlock<Self>, blocks: &mut [u32]) -> Result<Option<u32>> {
        let mut pending = Pending::new();
        let bad = Self::free_blocks_pending(sb, blocks, &mut pending)?;
        pending.sync()?;
        Ok(bad)
    }

    /// As [`Rext2::free_blocks`], but leaves the bitmaps and the group
    /// descriptors in `pending`, for the caller's ordering point. The bits
    /// are clear in memory at once: an allocation may take the blocks
    /// before they are durable, and then makes the same buffers durable
    /// before anything points at them.
    pub(crate) fn free_blocks_pending<'a>(
        sb: &'a SuperBlock<Self>,
        blocks: &mut [u32],
        pending: &mut Pending<'a>,
    ) -> Result<Option<u32>> {
        let d = sb.data();
        let geo = &d.geo;
        blocks.sort_unstable();
        let mut bad = None;
        let mut i = 0;
        while i < blocks.len() {
            let g = geo.group_of_block(blocks[i]).ok_or(EUCLEAN)?;
            let first = geo.group_first_block(g).ok_or(EUCLEAN)?;
            let last = geo.group_last_block(g).ok_or(EUCLEAN)?;
            let mut j = i;
            while j < blocks.len() && blocks[j] <= last {
                j += 1;
            }
            let lock = d.groups.get(g as usize).ok_or(EUCLEAN)?;
            let mut gd = lock.lock();
            let buf = sb.bread(gd.block_bitmap.into())?;
            let run = &blocks[i..j];
            let (freed, first_bad) = buf.modify(|b| {
                let mut freed = 0usize;
                let mut first_bad = None;
                for &blk in run {
                    let ok = d.metadata_in(blk, 1).is_none()
                        && bitmap::clear_bit(b, (blk - first) as usize) == Some(true);
                    if ok {
                        freed += 1;
                    } else {
                        first_bad = first_bad.or(Some(blk));
                    }
                }
                (freed, first_bad)
            });
            let now = gd.free_blocks_count.saturating_add(freed as u16);
            d.set_free_blocks(&mut gd, now);
            // Both are held even if an early sync fails (see `Pending::add`).
            let r = pending.add(buf);
            let gd_buf = put_gd(sb, g, &gd)?;
            r.and(pending.add(gd_buf))?;
            drop(gd);
            if let Some(blk) = first_bad {
                pr_err!(
                    "{}: freeing {} blocks of group {} that were free or metadata (block {})\n",
                    sb.id().to_str().unwrap_or("?"),
                    run.len() - freed,
                    g,
                    blk
                );
                bad = bad.or(first_bad);
            }
            i = j;
        }
        Ok(bad)
    }

    /// Whether `block` is marked in use in its group's bitmap.
    pub(crate) fn block_in_use(sb: &SuperBlock<Self>, block: u32) -> Result<bool> {
        let d = sb.data();
        let geo = &d.geo;
        let g = geo.group_of_block(block).ok_or(EUCLEAN)?;
        let first = geo.group_first_block(g).ok_or(EUCLEAN)?;
        let lock = d.groups.get(g as usize).ok_or(EUCLEAN)?;
        let gd = lock.lock();
        let buf = sb.bread(gd.block_bitmap.into())?;
        Ok(buf.read(|b| bitmap::test_bit(b, (block - first) as usize)) == Some(true))
    }

    /// The group a new inode goes to: a file stays with its parent; a
    /// directory goes to a group with more free inodes than average and
    /// the most free blocks (a simple form of ext2's Orlov allocator), so
    /// that directory trees spread over the device.
    fn inode_group(sb: &SuperBlock<Self>, parent: u32, dir: bool) -> u32 {
        let d = sb.data();
        if !dir || d.geo.groups == 1 {
            return parent;
        }
        let avg = d.free_inodes() / u64::from(d.geo.groups);
        let mut best = (parent, 0u16);
        for (g, lock) in d.groups.iter().enumerate() {
            let gd = lock.lock();
            if u64::from(gd.free_inodes_count) >= avg.max(1) && gd.free_blocks_count > best.1 {
                best = (g as u32, gd.free_blocks_count);
            }
        }
        best.0
    }

    /// Allocates an inode number for a child of a directory in group
    /// `parent`.
    /// Its bitmap and group descriptor are left in `pending`, for the
    /// ordering point of the inode's first write (which has no links).
    pub(crate) fn alloc_inode<'a>(
        sb: &'a SuperBlock<Self>,
        parent: u32,
        dir: bool,
        pending: &mut Pending<'a>,
    ) -> Result<u32> {
        let d = sb.data();
        let geo = &d.geo;
        let g0 = Self::inode_group(sb, parent, dir) % geo.groups;
        for k in 0..geo.groups {
            let g = (g0 + k) % geo.groups;
            let lock = d.groups.get(g as usize).ok_or(EUCLEAN)?;
            let mut gd = lock.lock();
            if gd.free_inodes_count == 0 {
                continue;
            }
            let buf = sb.bread(gd.inode_bitmap.into())?;
            let ipg = geo.inodes_per_group as usize;
            // Inodes below `first_ino` are reserved.
            let from = if g == 0 {
                geo.first_ino as usize - 1
            } else {
                0
            };
            // A count above the bitmap's zeros (an allocation cut short by
            // a crash) just sends us to the next group.
            let Some(bit) = buf
                .read(|b| bitmap::find_next_zero(b, ipg, from))
                .filter(|b| *b >= from)
            else {
                continue;
            };
            if buf.modify(|b| bitmap::set_bit(b, bit)) != Some(false) {
                return Err(EUCLEAN);
            }
            let left = gd.free_inodes_count - 1;
            d.set_free_inodes(&mut gd, left);
            if dir {
                gd.used_dirs_count = gd.used_dirs_count.saturating_add(1);
            }
            let r = pending.add(buf);
            let gd_buf = put_gd(sb, g, &gd)?;
            r.and(pending.add(gd_buf))?;
            return Ok(g * geo.inodes_per_group + bit as u32 + 1);
        }
        Err(ENOSPC)
    }

    /// Frees inode number `ino`.
    pub(crate) fn free_inode(sb: &SuperBlock<Self>, ino: u32, dir: bool) -> Result {
        let mut pending = Pending::new();
        Self::free_inode_pending(sb, ino, dir, &mut pending)?;
        pending.sync()
    }

    /// As [`Rext2::free_inode`], but leaves the bitmap and the group
    /// descriptor in `pending`, as [`Rext2::free_blocks_pending`] does.
    pub(crate) fn free_inode_pending<'a>(
        sb: &'a SuperBlock<Self>,
        ino: u32,
        dir: bool,
        pending: &mut Pending<'a>,
    ) -> Result {
        let d = sb.data();
        let loc = ondisk::inode_location(&d.geo, ino).map_err(|c| corrupt_sb(sb, c))?;
        let lock = d.groups.get(loc.group as usize).ok_or(EUCLEAN)?;
        let mut gd = lock.lock();
        let buf = sb.bread(gd.inode_bitmap.into())?;
        if buf.modify(|b| bitmap::clear_bit(b, loc.index as usize)) != Some(true) {
            pr_err!(
                "{}: freeing inode {} that was already free\n",
                sb.id().to_str().unwrap_or("?"),
                ino
            );
            return Ok(());
        }
        let now = gd.free_inodes_count.saturating_add(1);
        d.set_free_inodes(&mut gd, now);
        if dir {
            gd.used_dirs_count = gd.used_dirs_count.saturating_sub(1);
        }
        let r = pending.add(buf);
        let gd_buf = put_gd(sb, loc.group, &gd)?;
        r.and(pending.add(gd_buf))
    }
}
