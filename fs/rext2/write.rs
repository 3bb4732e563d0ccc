// SPDX-License-Identifier: GPL-2.0

//! Writing inodes, allocating and freeing file blocks, and the superblock.
//!
//! Ordering (see `Documentation/filesystems/rext2.rst`):
//!
//! - New blocks: bitmap and group descriptor first, then the block's
//!   contents (zeroed data, or an initialised metadata block), then the
//!   pointer to it (indirect block or inode). Each step is durable before
//!   the next starts.
//! - Freed blocks: the pointers are cleared durably first, then the bitmap.
//!
//! So a crash leaves no pointer to a block that is free or uninitialised;
//! at worst blocks are marked used that nothing points to.

use crate::{
    alloc::{Pending, PMD_BLOCKS},
    bmap, corrupt, ondisk, IState, Rext2, BS,
};
use core::sync::atomic::Ordering;
use kernel::{
    alloc::KVVec,
    fs::blockfs::{BareINode, Buffer, ErrorsMode, Head, INode, Mapping, SuperBlock},
    prelude::*,
};
use ondisk::Corrupt;

/// Sectors (512 bytes) per block, the unit of `i_blocks`.
pub(crate) const SECTORS: u32 = (BS / 512) as u32;

/// Most blocks allocated by one `map_write` call.
const MAX_ALLOC: u64 = 4 * PMD_BLOCKS as u64;

/// A DAX write this long (1 MiB) into a file's first 2 MiB starts its
/// blocks at a 2 MiB boundary of the device: a file written in such pieces
/// is likely to be large. Past the first 2 MiB every chunk starts at one.
const PMD_START_MIN: u64 = 256;

/// Most blocks an appending page-cache write allocates ahead of itself
/// (the window, `IState::window`, doubles up to it): 256 KiB.
pub(crate) const WINDOW_MAX: u32 = 64;

/// The buffers of indirect blocks changed by an allocation, written once
/// each at the end.
struct Dirty<'a>(KVec<(u32, Buffer<'a>)>);

impl<'a> Dirty<'a> {
    fn get(&mut self, sb: &'a SuperBlock<Rext2>, blk: u32) -> Result<&Buffer<'a>> {
        if let Some(i) = self.0.iter().position(|(b, _)| *b == blk) {
            return Ok(&self.0[i].1);
        }
        let buf = sb.bread(blk.into())?;
        self.0.push((blk, buf), GFP_KERNEL)?;
        Ok(&self.0[self.0.len() - 1].1)
    }

    fn sync(&self) -> Result {
        self.sync_with(None)
    }

    /// Makes the indirect blocks durable, with `inode` (the buffer of the
    /// inode whose pointers and block count changed with them) if given:
    /// one ordering point, as nothing in either points into the other.
    fn sync_with(&self, inode: Option<Buffer<'_>>) -> Result {
        let blocks = self.0.iter().map(|(_, b)| &**b);
        Head::sync_all_iter(Iterator::chain(blocks, inode.as_deref()))
    }
}

impl Rext2 {
    /// Copies the VFS inode's attributes into `st.di` and writes it
    /// durably. The size written covers `st.cover` too (rule 5: blocks
    /// past the VFS size during an extension or a truncation stay inside
    /// the size on disk).
    pub(crate) fn write_inode_locked(inode: &BareINode<Self>, st: &mut IState) -> Result {
        match Self::put_inode_locked(inode, st)? {
            Some(buf) => buf.sync(),
            None => Ok(()),
        }
    }

    /// As [`Rext2::write_inode_locked`], but leaves the inode's buffer to
    /// the caller's ordering point, or returns `None` if the inode's bytes
    /// in it are already what it holds. Those bytes were made durable by
    /// whoever put them there: every change to an inode is synced under
    /// its state lock, which the caller holds. If that write failed, the
    /// buffer is returned all the same (`Head::modify_if`), to be written
    /// again.
    pub(crate) fn put_inode_locked<'a>(
        inode: &'a BareINode<Self>,
        st: &mut IState,
    ) -> Result<Option<Buffer<'a>>> {
        let sb = inode.super_block();
        let size = inode.size().max(st.cover).max(st.prealloc);
        let di = &mut st.di;
        di.mode = inode.mode();
        di.set_uid(sb.disk_uid(inode.uid()));
        di.set_gid(sb.disk_gid(inode.gid()));
        di.set_size(size).map_err(|c| corrupt(sb, inode.ino(), c))?;
        di.atime = inode.atime().sec as u32;
        di.mtime = inode.mtime().sec as u32;
        di.ctime = inode.ctime().sec as u32;
        di.links_count = u16::try_from(inode.nlink()).unwrap_or(ondisk::LINK_MAX);
        if size > i32::MAX as u64 {
            Self::set_large_file(sb)?;
        }
        let isize = sb.data().geo.inode_size as usize;
        let ino = inode.ino();
        let (buf, off) = Self::inode_buffer(sb, ino)?;
        let changed = buf
            .modify_if(|b| match b.get_mut(off..off + isize) {
                Some(out) => di.write_changes(out).map_err(Some),
                None => Err(None),
            })
            // With the buffer unlocked: marking errors writes the superblock.
            .map_err(|c| c.map_or(EUCLEAN, |c| corrupt(sb, ino, c)))?;
        Ok(changed.then_some(buf))
    }

    /// Writes on-disk inode `ino` durably.
    pub(crate) fn write_di(sb: &SuperBlock<Self>, ino: u64, di: &ondisk::Inode) -> Result {
        Self::put_di(sb, ino, di)?.sync()
    }

    /// Puts on-disk inode `ino` into its block and returns the block,
    /// dirty: the caller makes it durable.
    pub(crate) fn put_di<'a>(
        sb: &'a SuperBlock<Self>,
        ino: u64,
        di: &ondisk::Inode,
    ) -> Result<Buffer<'a>> {
        let size = sb.data().geo.inode_size as usize;
        let (buf, off) = Self::inode_buffer(sb, ino)?;
        let r = buf.modify(|b| match b.get_mut(off..off + size) {
            Some(out) => di.write_to(out).map_err(Some),
            None => Err(None),
        });
        // With the buffer unlocked: marking errors writes the superblock.
        r.map_err(|c| c.map_or(EUCLEAN, |c| corrupt(sb, ino, c)))?;
        Ok(buf)
    }

    /// Sets the `large_file` feature, needed for files of 2 GiB and more.
    fn set_large_file(sb: &SuperBlock<Self>) -> Result {
        {
            let mut st = sb.data().sb.lock();
            let f = st.raw.feature_ro_compat();
            if f & ondisk::RO_COMPAT_LARGE_FILE != 0 {
                return Ok(());
            }
            st.raw
                .set_feature_ro_compat(f | ondisk::RO_COMPAT_LARGE_FILE);
        }
        Self::write_superblock(sb, false)
    }

    /// Allocates a metadata block near `goal` and writes it durably,
    /// zeroed and then filled in by `init`.
    pub(crate) fn alloc_meta(
        sb: &SuperBlock<Self>,
        goal: u32,
        init: impl FnOnce(&mut [u8]),
    ) -> Result<u32> {
        // The block's contents, its bitmap and its group descriptor share
        // one ordering point, before anything points at the block.
        let a = Self::alloc_blocks_unsynced(sb, goal, 1, 1)?;
        let b = a.start;
        let r = sb.new_buffer(b.into()).and_then(|buf| {
            buf.modify(init);
            Head::sync_all(&[&a.bitmap, &a.gd, &buf])
        });
        drop(a);
        if let Err(e) = r {
            let _ = Self::free_blocks(sb, &mut [b]);
            return Err(e);
        }
        Ok(b)
    }

    /// Points logical block `lblk` at `phys`, allocating indirect blocks on
    /// the way (counted in `meta`). Indirect blocks that get a data pointer
    /// are left in `dirty`; new ones are durable when linked.
    fn set_ptr<'a>(
        inode: &'a INode<'_, Self>,
        st: &mut IState,
        lblk: u64,
        phys: u32,
        dirty: &mut Dirty<'a>,
        meta: &mut u32,
    ) -> Result {
        let sb = inode.super_block();
        let geo = &sb.data().geo;
        Self::map_changes(st);
        let path = bmap::path(lblk).map_err(|c| corrupt(sb, inode.ino(), c))?;
        let offs = path.offsets();
        let depth = path.depth();
        if depth == 0 {
            st.di.block[offs[0] as usize] = phys;
            return Ok(());
        }
        // Indirect blocks go first-fit from the start of the data's group,
        // into the gaps that aligned runs leave, not after the data: there
        // they would split the file's next 2 MiB run, which then could not
        // be mapped with a PMD.
        let meta_goal = geo
            .group_of_block(phys)
            .and_then(|g| geo.group_first_block(g))
            .unwrap_or(phys);
        let slot = offs[0] as usize;
        let mut ptr = st.di.block[slot];
        if ptr == 0 {
            ptr = Self::alloc_meta(sb, meta_goal, |_| ())?;
            *meta += 1;
            st.di.block[slot] = ptr;
        }
        for (level, &off) in offs.iter().enumerate().take(depth + 1).skip(1) {
            ondisk::check_block_ptr(ptr, geo).map_err(|c| corrupt(sb, inode.ino(), c))?;
            Self::check_meta_ptr(sb, inode.ino(), ptr, 1)?;
            let idx = off as usize;
            let buf = dirty.get(sb, ptr)?;
            if level == depth {
                if !buf.modify(|b| bmap::write_ptr(b, idx, phys)) {
                    return Err(EUCLEAN);
                }
                return Ok(());
            }
            let mut child = buf.read(|b| bmap::read_ptr(b, idx)).ok_or(EUCLEAN)?;
            if child == 0 {
                child = Self::alloc_meta(sb, meta_goal, |_| ())?;
                *meta += 1;
                let buf = dirty.get(sb, ptr)?;
                if !buf.modify(|b| bmap::write_ptr(b, idx, child)) {
                    return Err(EUCLEAN);
                }
            }
            ptr = child;
        }
        Err(EUCLEAN)
    }

    /// Points logical block `lblk` of `inode` at block `b`, which is
    /// allocated and initialised, durably (the inode is written by the
    /// caller).
    ///
    /// An error comes with whether `b` is linked in memory all the same
    /// (its pointer set, but not written: the buffer keeps the bytes of a
    /// failed write for the next, see `Head`), so that the caller frees
    /// `b` only if it is not.
    pub(crate) fn link_block(
        inode: &INode<'_, Self>,
        st: &mut IState,
        lblk: u64,
        b: u32,
    ) -> core::result::Result<(), (Error, bool)> {
        let mut dirty = Dirty(KVec::new());
        let mut meta = 0u32;
        let r = Self::set_ptr(inode, st, lblk, b, &mut dirty, &mut meta);
        let synced = dirty.sync();
        // The new indirect blocks are linked either way.
        let n = u32::from(r.is_ok()) + meta;
        st.di.blocks = st.di.blocks.saturating_add(n.saturating_mul(SECTORS));
        inode.set_blocks(st.di.blocks.into());
        match (r, synced) {
            (Err(e), _) => Err((e, false)),
            (Ok(()), Err(e)) => Err((e, true)),
            (Ok(()), Ok(())) => Ok(()),
        }
    }

    /// The first block of the group holding `inode`: where its blocks go
    /// when there is no better goal.
    pub(crate) fn home_block(inode: &INode<'_, Self>) -> u32 {
        let geo = &inode.super_block().data().geo;
        let g = inode
            .ino()
            .saturating_sub(1)
            .checked_div(geo.inodes_per_group.into())
            .unwrap_or(0) as u32;
        geo.group_first_block(g).unwrap_or(0)
    }

    /// `map_write`: maps the range containing `pos`, allocating zeroed
    /// blocks for a hole at `pos`.
    pub(crate) fn map_alloc(inode: &INode<'_, Self>, pos: u64, len: u64) -> Result<Mapping> {
        let sb = inode.super_block();
        let mut st = inode.data().lock_state();
        let m = Self::map_locked(inode, &mut st, pos, len)?;
        let Mapping::Hole { offset, len: hole } = m else {
            return Ok(m);
        };
        let lblk = offset / BS;
        let end = pos.saturating_add(len.max(1)).div_ceil(BS);
        let need = (end - lblk).min(hole / BS).clamp(1, MAX_ALLOC) as u32;
        // Appending through the page cache, blocks come a window at a
        // time: one allocation, one set of zeros and ordering points for
        // many small writes (a file system image on a loop device writes
        // its blocks one at a time). The size on disk covers the window
        // (rule 5) until `trim_prealloc` gives back what no write reached.
        // DAX writes take exactly what they need: their appends are cheap,
        // and a fault must never find a block past what was written.
        let ahead = !inode.is_dax() && offset >= inode.size() && st.window > 0;
        let want = if ahead && st.window > need {
            // How far the hole goes (`map_locked` looked only as far as
            // the write).
            let window = u64::from(st.window) * BS;
            let room = match Self::map_locked(inode, &mut st, offset, window)? {
                Mapping::Hole { len, .. } => len / BS,
                Mapping::Mapped { .. } => 1,
            };
            need.max(st.window.min(u32::try_from(room).unwrap_or(u32::MAX)))
        } else {
            need
        };

        // Continue after the previous block, or from the last allocation,
        // or in the inode's group.
        let mut goal = st.goal;
        if lblk > 0 {
            if let Ok((Some(prev), _)) = Self::map_blocks(inode, &st.di.block, lblk - 1, 1) {
                goal = prev + 1;
            }
        }
        if goal == 0 {
            goal = Self::home_block(inode);
        }
        // Runs that start a 2 MiB chunk of the file start at a 2 MiB
        // boundary of the device, for PMD faults: those of 2 MiB or more
        // always, and shorter ones of DAX files into a chunk that is all
        // hole, where 2 MiB are free, so that the writes that follow
        // continue the run (`goal` above). In the first chunk only for a
        // large write, so that small files do not scatter over the aligned
        // free space; and never to refill part of a chunk, which would
        // take a free aligned 2 MiB for a few blocks.
        let pmd = u64::from(PMD_BLOCKS);
        let mut chunk_is_hole = || -> Result<bool> {
            Ok(
                matches!(Self::map_locked(inode, &mut st, offset, pmd * BS)?,
                Mapping::Hole { len, .. } if len >= pmd * BS),
            )
        };
        let align = if lblk % pmd == 0
            && (u64::from(want) >= pmd
                || (inode.is_dax()
                    && (lblk > 0 || u64::from(need) >= PMD_START_MIN)
                    && chunk_is_hole()?))
        {
            PMD_BLOCKS
        } else {
            1
        };
        let a = Self::alloc_blocks_unsynced(sb, goal, want, align)?;
        let (start, count) = (a.start, a.count);
        let (prealloc, window) = (st.prealloc, st.window);
        if count > need {
            st.prealloc = (lblk + u64::from(count)) * BS;
        }
        if ahead {
            st.window = st.window.saturating_mul(2).min(WINDOW_MAX);
        }

        let give_back = |from: u32| {
            let mut v = KVVec::new();
            for b in from..count {
                v.push(start + b, GFP_KERNEL)?;
            }
            Self::free_blocks(sb, &mut v)
        };
        // One ordering point before anything points at the blocks: their
        // bitmap and group descriptor (rule 1), their zeros (rule 3), and
        // (rule 5) a size on disk that covers them (`file::reserve_size` raised
        // `cover` for an extension). None of these needs the others first.
        let first_point = (|| {
            let cover = if st.di.size() < st.cover.max(st.prealloc) {
                Self::put_inode_locked(inode, &mut st)?
            } else {
                None
            };
            sb.write_zeroes(start.into(), count.into())?;
            match &cover {
                Some(ibuf) => Head::sync_all(&[&a.bitmap, &a.gd, ibuf]),
                None => Head::sync_all(&[&a.bitmap, &a.gd]),
            }
        })();
        drop(a);
        if let Err(e) = first_point {
            st.prealloc = prealloc;
            st.window = window;
            give_back(0)?;
            return Err(e);
        }
        let mut dirty = Dirty(KVec::new());
        let mut meta = 0u32;
        let mut linked = Ok(());
        let mut done = 0u32;
        while done < count {
            let l = lblk + u64::from(done);
            linked = Self::set_ptr(inode, &mut st, l, start + done, &mut dirty, &mut meta);
            if linked.is_err() {
                break;
            }
            done += 1;
        }
        // Blocks not linked are given back; linked ones stay with the file
        // (and are freed with it). The indirect blocks and the inode (its
        // direct pointers, block count and a size that already covers the
        // blocks, made durable above) share one ordering point.
        st.di.blocks = st
            .di
            .blocks
            .saturating_add((done + meta).saturating_mul(SECTORS));
        inode.set_blocks(st.di.blocks.into());
        st.goal = start + done;
        let ibuf = Self::put_inode_locked(inode, &mut st)?;
        dirty.sync_with(ibuf)?;
        drop(st);
        give_back(done)?;
        linked?;
        Ok(Mapping::Mapped {
            offset: lblk * BS,
            addr: u64::from(start) * BS,
            len: u64::from(done) * BS,
            new: true,
        })
    }

    /// Frees the blocks of `inode` from logical block `first` to `end`
    /// (exclusive), and the indirect blocks left with nothing to point to.
    ///
    /// As `ext2_free_branches()`: first the branches are detached (the
    /// pointers to them cleared, in indirect blocks and in the inode, and
    /// written), then the detached trees are freed, a batch at a time, each
    /// indirect block right after its children. Memory stays bounded (a
    /// few blocks' worth of pointers) whatever the file's size, and a tree
    /// that reaches one block twice (a corrupt image: a cycle, or blocks
    /// shared between files) is caught at the second visit, when the block
    /// is already free: the walk stops there with `EUCLEAN`, leaking what
    /// it did not reach, rather than freeing a block twice or looping.
    pub(crate) fn free_blocks_of(inode: &BareINode<Self>, first: u64, end: u64) -> Result {
        let mut pending = Pending::new();
        let mut st = inode.data().lock_state();
        Self::free_blocks_locked(inode, &mut st, first, end, &mut pending)?;
        pending.sync()
    }

    /// As [`Rext2::free_blocks_of`], with the inode's state lock held, and
    /// the bitmaps and descriptors of the frees left in `pending`: they
    /// need no order among themselves, only to come after the inode and
    /// indirect blocks that no longer point at the blocks, which are
    /// durable when it returns (rule 2).
    fn free_blocks_locked<'a>(
        inode: &'a BareINode<Self>,
        st: &mut IState,
        first: u64,
        end: u64,
        pending: &mut Pending<'a>,
    ) -> Result {
        if first >= end {
            return Ok(());
        }
        Self::map_changes(st);
        let sb = inode.super_block();
        let apb = u64::from(sb.data().geo.addr_per_block);
        let mut detached = Roots::new();
        let mut cx = Detach {
            inode,
            first,
            end,
            apb,
            detached: &mut detached,
        };
        for i in (first.min(12) as usize)..(end.min(12) as usize) {
            let b = core::mem::take(&mut st.di.block[i]);
            cx.push(b, 0)?;
        }
        let mut base = 12u64;
        let mut span = apb;
        for (slot, depth) in [(12usize, 1u32), (13, 2), (14, 3)] {
            let ptr = st.di.block[slot];
            if ptr != 0 && first < base + span && end > base {
                if first <= base && end >= base + span {
                    cx.push(ptr, depth)?;
                    st.di.block[slot] = 0;
                } else {
                    cx.partial(ptr, depth, base)?;
                }
            }
            base += span;
            span = span.saturating_mul(apb);
        }
        st.goal = 0;
        // The pointers are gone on disk before any block is free.
        Self::write_inode_locked(inode, st)?;
        let mut f = Freer {
            inode,
            batch: [0; FREE_BATCH],
            len: 0,
            count: 0,
            pending,
        };
        let r = detached
            .iter()
            .try_for_each(|(ptr, depth)| f.tree(ptr, depth))
            .and_then(|()| f.flush());
        // Written by the caller, which writes the inode after freeing.
        let freed = u32::try_from(f.count).unwrap_or(u32::MAX);
        st.di.blocks = st.di.blocks.saturating_sub(freed.saturating_mul(SECTORS));
        inode.set_blocks(st.di.blocks.into());
        if end == u64::MAX && r.is_ok() {
            // Nothing is left past `first`: the caller's size is all the
            // size on disk needs to cover.
            st.prealloc = 0;
        }
        r
    }

    /// Gives back the blocks allocated ahead of appending writes that no
    /// write reached (`file::Operations::trim`, at `fsync`, the last close
    /// of a writer and eviction), as the size on disk comes back to the
    /// inode's: the blocks past it are detached and freed (rule 2), then
    /// the inode written. A file that gave blocks back is synced or closed
    /// between its writes, and allocates exactly what they need from then
    /// on.
    ///
    /// The inode lock may be held by someone else (`swapon` calls `fsync`
    /// under it), so the state lock alone excludes writers: blocks ahead
    /// are taken and reached only during an extension or a truncation,
    /// between `reserve_size` and `commit_size`, which hold `cover` up;
    /// while it is up nothing is given back (the extension goes on past
    /// them, and a truncation frees them itself).
    pub(crate) fn trim_prealloc(inode: &BareINode<Self>) -> Result {
        let mut st = inode.data().lock_state();
        let size = inode.size();
        if st.prealloc == 0 || st.cover != 0 {
            return Ok(());
        }
        if st.prealloc <= size {
            // Writes reached past the window: the size on disk is the
            // inode's already.
            st.prealloc = 0;
            return Ok(());
        }
        let from = size.div_ceil(BS);
        if st.prealloc > from * BS {
            st.window = 0;
            let mut pending = Pending::new();
            Self::free_blocks_locked(inode, &mut st, from, u64::MAX, &mut pending)?;
            pending.sync()?;
        }
        st.prealloc = 0;
        Self::write_inode_locked(inode, &mut st)
    }

    /// Frees an unlinked inode: its blocks, its extended attribute block
    /// and its number, with two ordering points (rules 2 and 3). First the
    /// inode, once, with its deletion time and no size, block pointers or
    /// attribute block; then the bits of its blocks and of its number
    /// together, as nothing on disk points at the blocks or names the
    /// inode any more: a crash in between, or any subset of the bitmap
    /// writes, leaks.
    pub(crate) fn delete(inode: &BareINode<Self>) -> Result {
        let sb = inode.super_block();
        let typ = u32::from(inode.mode()) & u32::from(ondisk::S_IFMT);
        inode.set_size(0);
        let mut pending = Pending::new();
        let mut st = inode.data().lock_state();
        let has_blocks = match typ {
            t if t == u32::from(ondisk::S_IFREG) || t == u32::from(ondisk::S_IFDIR) => true,
            t if t == u32::from(ondisk::S_IFLNK) => !st.di.is_fast_symlink(ondisk::BLOCK_SIZE),
            _ => false,
        };
        let acl = core::mem::take(&mut st.di.file_acl);
        if acl != 0 {
            st.di.blocks = st.di.blocks.saturating_sub(SECTORS);
        }
        // ext2 marks deleted inodes with a deletion time.
        st.di.dtime = inode.ctime().sec as u32;
        // Every block goes: the size on disk need not cover any.
        st.prealloc = 0;
        if has_blocks {
            Self::free_blocks_locked(inode, &mut st, 0, u64::MAX, &mut pending)?;
        } else {
            Self::write_inode_locked(inode, &mut st)?;
        }
        // The inode no longer points at its attribute block on disk.
        if acl != 0 {
            Self::release_xattr_block(sb, inode.ino(), acl)?;
        }
        drop(st);
        let dir = typ == u32::from(ondisk::S_IFDIR);
        Self::free_inode_pending(sb, inode.ino() as u32, dir, &mut pending)?;
        pending.sync()
    }

    /// Writes the primary superblock with exact free counts, marked clean
    /// or in use.
    pub(crate) fn write_superblock(sb: &SuperBlock<Self>, clean: bool) -> Result {
        let d = sb.data();
        let free_blocks = d.free_blocks();
        let free_inodes = d.free_inodes();
        let mut st = d.sb.lock();
        let raw = &mut st.raw;
        if !clean {
            let unknown = raw.feature_ro_compat() & !ondisk::RO_COMPAT_SUPP;
            if unknown != 0 {
                pr_err!(
                    "{}: refusing to write: unsupported ro_compat features {:#x}\n",
                    sb.id().to_str().unwrap_or("?"),
                    unknown
                );
                return Err(EROFS);
            }
        }
        raw.set_free_blocks_count(u32::try_from(free_blocks).map_err(|_| EUCLEAN)?);
        raw.set_free_inodes_count(u32::try_from(free_inodes).map_err(|_| EUCLEAN)?);
        let state = raw.state();
        raw.set_state(if clean {
            state | ondisk::STATE_VALID
        } else {
            state & !ondisk::STATE_VALID
        });
        let buf = sb.bread(0)?;
        let off = ondisk::SUPERBLOCK_OFFSET as usize;
        buf.modify(|b| match b.get_mut(off..off + ondisk::SUPERBLOCK_SIZE) {
            // Not `corrupt_sb`, which marks errors: that writes the
            // superblock, whose lock is held here.
            Some(out) => raw.write_to(out).map_err(|c| {
                pr_err!(
                    "{}: superblock not written: {}\n",
                    sb.id().to_str().unwrap_or("?"),
                    c.describe()
                );
                EUCLEAN
            }),
            None => Err(EUCLEAN),
        })?;
        buf.sync()
    }

    /// Marks the file system as having errors and acts on `errors=`, as
    /// `ext2_error()` does. On a read-write mount `s_state` gets
    /// [`ondisk::STATE_ERROR`] and the superblock is written at once (an
    /// ordering point of its own), so that `e2fsck -p` checks the file
    /// system after a crash as after a clean unmount; each error writes
    /// until one such write succeeded, so that none returns before the
    /// mark is durable. A frozen file system gets the mark in memory, and
    /// on the device when it thaws or is unmounted; a read-only mount, as
    /// in C ext2, gets none. Then `errors=panic` panics, and `errors=remount-ro` stops
    /// all writes ([`SuperBlock::force_read_only`]). An error found while
    /// mounting, which fails the mount, is only logged.
    ///
    /// Takes the superblock lock and block 0's buffer: the caller must
    /// hold neither, nor any other buffer's lock.
    pub(crate) fn mark_error(sb: &SuperBlock<Self>) {
        let d = sb.data();
        if !d.mounted.load(Ordering::Acquire) {
            return;
        }
        if !sb.read_only() {
            let write = {
                let mut st = d.sb.lock();
                let state = st.raw.state();
                st.raw.set_state(state | ondisk::STATE_ERROR);
                !st.error_on_disk && !sb.is_shut_down() && !sb.is_frozen()
            };
            if write {
                match Self::write_superblock(sb, false) {
                    Ok(()) => d.sb.lock().error_on_disk = true,
                    Err(e) => pr_warn!(
                        "{}: could not record the error in the superblock ({:?})\n",
                        sb.id().to_str().unwrap_or("?"),
                        e
                    ),
                }
            }
        }
        match d.errors() {
            ErrorsMode::Panic => sb.panic_after_error(),
            ErrorsMode::RemountRo if !sb.read_only() && !sb.is_emergency_ro() => {
                pr_crit!(
                    "{}: error: remounting filesystem read-only\n",
                    sb.id().to_str().unwrap_or("?")
                );
                sb.force_read_only();
            }
            _ => {}
        }
    }

    /// A new `i_generation`.
    pub(crate) fn next_generation(sb: &SuperBlock<Self>) -> u32 {
        let mut st = sb.data().sb.lock();
        st.generation = st.generation.wrapping_add(1);
        st.generation
    }
}

/// Detaching the part of a block tree inside `first..end`.
struct Detach<'a> {
    inode: &'a BareINode<Rext2>,
    first: u64,
    end: u64,
    apb: u64,
    /// Roots of the detached trees and their levels of indirection.
    detached: &'a mut Roots,
}

impl Detach<'_> {
    fn push(&mut self, b: u32, depth: u32) -> Result {
        if b != 0 {
            Rext2::check_meta_ptr(self.inode.super_block(), self.inode.ino(), b, 1)?;
            self.detached.push(b, depth)?;
        }
        Ok(())
    }

    /// Detaches the part of `first..end` under the indirect block `ptr` of
    /// `depth` levels, which maps logical blocks from `base`; the block
    /// itself stays. Its cleared pointers are written before returning.
    fn partial(&mut self, ptr: u32, depth: u32, base: u64) -> Result {
        let sb = self.inode.super_block();
        Rext2::check_meta_ptr(sb, self.inode.ino(), ptr, 1)?;
        let buf = sb.bread(ptr.into())?;
        let child_span = self.apb.pow(depth - 1);
        let lo = (self.first.saturating_sub(base) / child_span) as usize;
        let hi = (self.end.saturating_sub(base).div_ceil(child_span)).min(self.apb) as usize;
        let mut changed = false;
        for (i, c) in pointers(&buf, lo, hi)?.into_iter().enumerate() {
            let i = lo + i;
            if c == 0 {
                continue;
            }
            let cb = base + i as u64 * child_span;
            if self.first <= cb && self.end >= cb + child_span {
                self.push(c, depth - 1)?;
                buf.modify(|b| bmap::write_ptr(b, i, 0));
                changed = true;
            } else if depth > 1 {
                self.partial(c, depth - 1, cb)?;
            }
        }
        if changed {
            buf.sync()?;
        }
        Ok(())
    }
}

/// The roots of detached trees, with their levels of indirection (0 for
/// data): those of a whole small file (at most 15) on the stack, so that
/// deleting one allocates nothing; more, from a partial truncation, in a
/// vector.
struct Roots {
    near: [(u32, u32); ondisk::N_BLOCKS],
    len: usize,
    more: KVec<(u32, u32)>,
}

impl Roots {
    fn new() -> Self {
        Self {
            near: [(0, 0); ondisk::N_BLOCKS],
            len: 0,
            more: KVec::new(),
        }
    }

    fn push(&mut self, root: u32, depth: u32) -> Result {
        match self.near.get_mut(self.len) {
            Some(slot) => {
                *slot = (root, depth);
                self.len += 1;
            }
            None => self.more.push((root, depth), GFP_KERNEL)?,
        }
        Ok(())
    }

    fn iter(&self) -> impl Iterator<Item = (u32, u32)> + '_ {
        Iterator::chain(self.near[..self.len].iter(), self.more.iter()).copied()
    }
}

/// Blocks freed in one batch by [`Freer`].
const FREE_BATCH: usize = 128;

/// Frees detached trees, a batch of blocks at a time, into a [`Pending`]
/// set of bitmaps and descriptors.
struct Freer<'a, 'p> {
    inode: &'a BareINode<Rext2>,
    /// Blocks to free with the next [`Freer::flush`]: the first `len`.
    batch: [u32; FREE_BATCH],
    len: usize,
    /// Blocks freed so far.
    count: u64,
    pending: &'p mut Pending<'a>,
}

impl Freer<'_, '_> {
    /// Frees the batch. A block already free means the tree reached it
    /// twice: corruption, and the end of the walk.
    fn flush(&mut self) -> Result {
        if self.len == 0 {
            return Ok(());
        }
        let sb = self.inode.super_block();
        let batch = &mut self.batch[..self.len];
        let twice = Rext2::free_blocks_pending(sb, batch, self.pending)?;
        self.count += self.len as u64;
        self.len = 0;
        kernel::fs::blockfs::cond_resched();
        match twice {
            Some(block) => Err(corrupt(
                sb,
                self.inode.ino(),
                Corrupt::BlockAlreadyFree { block },
            )),
            None => Ok(()),
        }
    }

    fn push(&mut self, b: u32) -> Result {
        if self.len == FREE_BATCH {
            self.flush()?;
        }
        self.batch[self.len] = b;
        self.len += 1;
        Ok(())
    }

    /// Frees the tree at `ptr` of `depth` levels of indirection: the
    /// children of an indirect block, then the block itself, at once, so
    /// that a second visit finds it free.
    fn tree(&mut self, ptr: u32, depth: u32) -> Result {
        let sb = self.inode.super_block();
        let ino = self.inode.ino();
        Rext2::check_meta_ptr(sb, ino, ptr, 1)?;
        if depth == 0 {
            return self.push(ptr);
        }
        if !Rext2::block_in_use(sb, ptr)? {
            return Err(corrupt(sb, ino, Corrupt::BlockAlreadyFree { block: ptr }));
        }
        let apb = sb.data().geo.addr_per_block as usize;
        let children = pointers(&sb.bread(ptr.into())?, 0, apb)?;
        for c in children.into_iter().filter(|&c| c != 0) {
            self.tree(c, depth - 1)?;
        }
        self.push(ptr)?;
        self.flush()
    }
}

/// The block pointers `lo..hi` of indirect block `buf`, copied out (the
/// walks that use them read other blocks meanwhile).
fn pointers(buf: &Buffer<'_>, lo: usize, hi: usize) -> Result<KVec<u32>> {
    let mut v = KVec::with_capacity(hi.saturating_sub(lo), GFP_KERNEL)?;
    buf.read(|b| {
        (lo..hi).try_for_each(|i| {
            let p = bmap::read_ptr(b, i).ok_or(EUCLEAN)?;
            // Within the capacity reserved above.
            v.push_within_capacity(p).map_err(|_| ENOMEM)
        })
    })?;
    Ok(v)
}
