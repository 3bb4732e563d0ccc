// SPDX-License-Identifier: GPL-2.0

//! New inodes and directory entries.
//!
//! The VFS holds the directory locks; the POSIX side (link counts, times,
//! which entries change in a rename) is in `namei.rs`. This file
//! writes the blocks, in this order: a new inode (bitmap, then the inode
//! and its first block) is durable before an entry points to it; an entry
//! is removed before its inode's link count drops.

use crate::{
    alloc::Pending, corrupt, dirent, dirindex, flag, ondisk, report, INodeData, IState, Rext2, BS,
};
use dirent::DirError;
use dirindex::Slot;
use kernel::{
    alloc::KVVec,
    fs::blockfs::{
        Buffer, GetINode, Head, INode, INodeParams, INodeType, Idmap, NewNode, SuperBlock,
    },
    prelude::*,
    sync::aref::ARef,
};
use ondisk::{Corrupt, FileType};

/// ext2's `EXT2_INDEX_FL`: an htree index, which rext2 does not keep up to
/// date; it is cleared when a directory changes, as the index is then
/// stale (the blocks stay a valid linear directory).
use ondisk::INDEX_FL;

/// Directories of at least this many blocks get an index (see
/// `dirindex`): a smaller one is read as fast as an index is looked up.
const INDEX_MIN_BLOCKS: u64 = 2;

/// The most entries one directory block holds (12-byte records).
const ENTRIES_PER_BLOCK: usize = BS as usize / dirent::MIN_REC_LEN;

/// The in-memory index of a directory (see `dirindex`), in its `IState`:
/// kept exactly in step with the directory's blocks, or dropped (and
/// rebuilt on next use) when a change may have left it behind.
pub(crate) struct DirIndex {
    /// The seed of the name hashes.
    seed: u64,
    /// The hash table.
    slots: KVVec<Slot>,
    /// Slots not `EMPTY`: entries and tombstones.
    used: usize,
    /// Entries.
    live: usize,
    /// For each block, the longest record a new entry could take there.
    rooms: KVVec<u16>,
}

impl DirIndex {
    fn new(seed: u64) -> Result<Self> {
        let cap = dirindex::capacity_for(0).ok_or(ENOMEM)?;
        Ok(Self {
            seed,
            slots: KVVec::from_elem(Slot::FREE, cap, GFP_KERNEL)?,
            used: 0,
            live: 0,
            rooms: KVVec::new(),
        })
    }

    fn hash(&self, name: &[u8]) -> u32 {
        dirindex::name_hash(self.seed, name)
    }

    /// Grows the table, if needed, so that `more` entries can be added
    /// without allocating (which must not happen under a buffer lock).
    fn reserve(&mut self, more: usize) -> Result {
        if !dirindex::must_grow(self.slots.len(), self.used, more) {
            return Ok(());
        }
        let cap = self
            .live
            .checked_add(more)
            .and_then(dirindex::capacity_for)
            .ok_or(ENOMEM)?;
        let mut slots = KVVec::from_elem(Slot::FREE, cap, GFP_KERNEL)?;
        self.live = dirindex::rehash(&self.slots, &mut slots).ok_or(ENOMEM)?;
        self.used = self.live;
        self.slots = slots;
        Ok(())
    }

    /// Adds the entry `name` at `offset` of block `lblk`; `false` if it
    /// could not be (the index is then incomplete and must be dropped).
    fn add(&mut self, name: &[u8], lblk: u64, offset: usize) -> bool {
        let (h, Some(loc)) = (self.hash(name), dirindex::pack(lblk, offset)) else {
            return false;
        };
        match dirindex::insert(&mut self.slots, h, loc) {
            Some(was_empty) => {
                self.used += usize::from(was_empty);
                self.live += 1;
                true
            }
            None => false,
        }
    }

    /// Removes the entry `name` at `offset` of block `lblk`; `false` if it
    /// was not there.
    fn remove(&mut self, name: &[u8], lblk: u64, offset: usize) -> bool {
        let (h, Some(loc)) = (self.hash(name), dirindex::pack(lblk, offset)) else {
            return false;
        };
        let gone = dirindex::remove(&mut self.slots, h, loc);
        self.live -= usize::from(gone);
        gone
    }

    /// Records the room block `lblk` now has.
    fn set_room(&mut self, lblk: u64, room: usize) -> bool {
        match usize::try_from(lblk)
            .ok()
            .and_then(|i| self.rooms.get_mut(i))
        {
            Some(r) => {
                *r = room.min(u16::MAX.into()) as u16;
                true
            }
            None => false,
        }
    }
}

/// Turns a directory block error into an errno, logging corruption.
fn dir_err(dir: &INode<'_, Rext2>, e: DirError) -> Error {
    match e {
        DirError::Exists { .. } => EEXIST,
        DirError::BadName => EINVAL,
        e => report(
            dir.super_block(),
            dir.ino(),
            format_args!("{}", e.describe()),
        ),
    }
}

impl Rext2 {
    /// `ext2_new_inode`: allocates, initialises and writes a new inode of
    /// type `typ` with permissions `mode` for an entry of `dir`, owned as
    /// `inode_init_owner` has it.
    pub(crate) fn create_inode<'a>(
        idmap: &Idmap<'_>,
        dir: &INode<'a, Self>,
        typ: INodeType,
        mode: u16,
    ) -> Result<ARef<INode<'a, Self>>> {
        let sb = dir.sb();
        let geo = &sb.data().geo;
        let is_dir = matches!(typ, INodeType::Dir);
        let parent_group = ((dir.ino() - 1) / u64::from(geo.inodes_per_group)) as u32;
        // The inode's bit and descriptor, and a directory's or a slow
        // symlink's first block with its own, share the ordering point of
        // the inode's first write, which has no links (rules 1 and 3).
        let mut pending = Pending::new();
        let ino = Self::alloc_inode(sb, parent_group, is_dir, &mut pending)?;
        // A free bit for an inode in use (a corrupt bitmap) must not make
        // us overwrite it: it may be cached, or live on disk. Either way
        // the bit stays set (it was wrong) and the creation fails.
        let new = match sb.iget(ino.into())? {
            GetINode::New(n) => n,
            GetINode::Cached(_) => {
                return Err(corrupt(sb, ino.into(), Corrupt::FreeInodeInUse { ino }));
            }
        };
        if Self::inode_live_on_disk(sb, ino)? {
            return Err(corrupt(sb, ino.into(), Corrupt::FreeInodeInUse { ino }));
        }
        let node = new.init_owner(idmap, dir, typ, mode);
        let mut data_block = 0;
        let r = Self::init_inode(sb, dir, ino, &node, &mut data_block, &mut pending);
        let (di, typ) = match r {
            Ok(x) => x,
            Err(e) => {
                // What was allocated is durable before it is freed, so no
                // change to a freed block waits in the buffer cache.
                let _ = pending.sync();
                if data_block != 0 {
                    let _ = Self::free_blocks(sb, &mut [data_block]);
                }
                let _ = Self::free_inode(sb, ino, is_dir);
                return Err(e);
            }
        };
        let params = INodeParams {
            typ,
            mode: node.mode,
            size: di.size(),
            nlink: di.links_count.into(),
            uid: node.uid,
            gid: node.gid,
            atime: node.time,
            mtime: node.time,
            ctime: node.time,
            blocks: di.blocks.into(),
            attr_flags: di.flags & ondisk::FL_USER_VISIBLE,
            generation: di.generation,
        };
        new.init(params, INodeData::new(di)?)
    }

    /// Whether on-disk inode `ino` is in use: it has links and no
    /// deletion time (`ext2_free_inode` leaves both behind when it frees).
    pub(crate) fn inode_live_on_disk(sb: &SuperBlock<Self>, ino: u32) -> Result<bool> {
        Ok(match Self::read_di(sb, ino.into())? {
            Ok(di) => di.links_count != 0 && di.dtime == 0,
            Err(_) => false,
        })
    }

    /// Builds and writes the on-disk inode `ino`, and a directory's or a
    /// slow symlink's first block (returned in `data_block` so that it
    /// can be freed on failure).
    fn init_inode<'a>(
        sb: &'a SuperBlock<Self>,
        dir: &INode<'_, Self>,
        ino: u32,
        node: &NewNode,
        data_block: &mut u32,
        pending: &mut Pending<'a>,
    ) -> Result<(ondisk::Inode, INodeType)> {
        let geo = &sb.data().geo;
        let mut di = ondisk::Inode::zeroed();
        di.extra_len = (geo.inode_size as usize)
            .saturating_sub(ondisk::GOOD_OLD_INODE_SIZE)
            .min(ondisk::INODE_EXTRA_KEPT);
        let ft = match &node.typ {
            INodeType::Reg => FileType::Regular,
            INodeType::Dir => FileType::Directory,
            INodeType::Symlink(_) => FileType::Symlink,
            INodeType::Chr(..) => FileType::CharDevice,
            INodeType::Blk(..) => FileType::BlockDevice,
            INodeType::Fifo => FileType::Fifo,
            INodeType::Sock => FileType::Socket,
        };
        di.mode = ft.mode_bits() | (node.mode & 0o7777);
        di.set_uid(sb.disk_uid(node.uid));
        di.set_gid(sb.disk_gid(node.gid));
        // ext2 keeps whole seconds (the VFS's default granularity).
        let t = node.time.sec as u32;
        (di.atime, di.mtime, di.ctime) = (t, t, t);
        di.links_count = 1;
        di.generation = Self::next_generation(sb);
        di.flags = ondisk::inherited_flags(dir.data().lock_state().di.flags, ft);
        let goal = || {
            let g = (ino - 1) / geo.inodes_per_group;
            geo.group_first_block(g).unwrap_or(0)
        };
        let typ = match &node.typ {
            INodeType::Dir => {
                let b = Self::first_block(sb, goal(), data_block, pending)?;
                let buf = sb.new_buffer(b.into())?;
                let fmt = sb.data().fmt;
                buf.modify(|blk| dirent::make_empty_dir(blk, ino, dir.ino() as u32, fmt))
                    .map_err(|e| {
                        // The caller frees the block: nothing may write it.
                        buf.discard();
                        dir_err(dir, e)
                    })?;
                pending.add(buf)?;
                di.block[0] = b;
                di.blocks = (BS / 512) as u32;
                di.links_count = 2;
                di.set_size(BS).map_err(|c| corrupt(sb, ino.into(), c))?;
                INodeType::Dir
            }
            INodeType::Symlink(t) => {
                if t.len() < ondisk::I_BLOCK_BYTES {
                    di.set_fast_symlink_target(t)
                        .map_err(|c| corrupt(sb, ino.into(), c))?;
                } else {
                    let b = Self::first_block(sb, goal(), data_block, pending)?;
                    let buf = sb.new_buffer(b.into())?;
                    buf.modify(|blk| {
                        if let Some(dst) = blk.get_mut(..t.len()) {
                            dst.copy_from_slice(t);
                        }
                    });
                    pending.add(buf)?;
                    di.block[0] = b;
                    di.blocks = (BS / 512) as u32;
                }
                di.set_size(t.len() as u64)
                    .map_err(|c| corrupt(sb, ino.into(), c))?;
                let mut v = KVec::new();
                v.extend_from_slice(t, GFP_KERNEL)?;
                INodeType::Symlink(v)
            }
            INodeType::Chr(ma, mi) => {
                di.set_device_numbers(*ma, *mi);
                INodeType::Chr(*ma, *mi)
            }
            INodeType::Blk(ma, mi) => {
                di.set_device_numbers(*ma, *mi);
                INodeType::Blk(*ma, *mi)
            }
            INodeType::Reg => INodeType::Reg,
            INodeType::Fifo => INodeType::Fifo,
            INodeType::Sock => INodeType::Sock,
        };
        // Two ordering points: pmem may tear a write at any 8-byte word,
        // and a torn new inode with links would be an in-use inode mixing
        // old and new fields (an invalid mode, a deletion time). Written
        // first without links, any mix is a deleted inode to e2fsck (its
        // bit a leak, as rule 3 allows), so the bits and the first block
        // go with it; then the count alone, one field.
        let links = core::mem::take(&mut di.links_count);
        let ibuf = Self::put_di(sb, ino.into(), &di)?;
        pending.sync_with(Some(&ibuf))?;
        di.links_count = links;
        Self::write_di(sb, ino.into(), &di)?;
        Ok((di, typ))
    }

    /// Allocates a new inode's first block near `goal` (its number also
    /// goes to `data_block`, for the caller to free on failure), leaving
    /// its bitmap and descriptor in `pending`.
    fn first_block<'a>(
        sb: &'a SuperBlock<Self>,
        goal: u32,
        data_block: &mut u32,
        pending: &mut Pending<'a>,
    ) -> Result<u32> {
        let a = Self::alloc_blocks_unsynced(sb, goal, 1, 1)?;
        *data_block = a.start;
        let r = pending.add(a.bitmap);
        // `and` takes its argument evaluated: the descriptor is added
        // even if the bitmap's add failed.
        r.and(pending.add(a.gd))?;
        Ok(a.start)
    }

    /// Makes sure `st.index` is the index of `dir`, building it if the
    /// directory is big enough: whether there is one. Without one (a small
    /// or huge directory, no memory, a corrupt block) callers scan the
    /// blocks, which also reports any corruption.
    fn indexed(dir: &INode<'_, Self>, st: &mut IState) -> bool {
        if st.index.is_some() {
            return true;
        }
        let n = Self::dir_blocks(dir);
        if !(INDEX_MIN_BLOCKS..=dirindex::MAX_BLOCKS).contains(&n) {
            return false;
        }
        st.index = Self::build_index(dir, &st.di.block, n).ok();
        st.index.is_some()
    }

    /// Reads the `n` blocks of `dir` (block map `map`) into a new index.
    fn build_index(
        dir: &INode<'_, Self>,
        map: &[u32; ondisk::N_BLOCKS],
        n: u64,
    ) -> Result<DirIndex> {
        let sb = dir.super_block();
        let fmt = sb.data().fmt;
        // Per directory, so that names colliding in one do not in others.
        let seed = dir.ino().wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ sb.data().fsid;
        let mut idx = DirIndex::new(seed)?;
        idx.rooms.reserve(n as usize, GFP_KERNEL)?;
        // Blocks read once each: from DAX memory into `scratch` where the
        // device has it, not through the buffer cache (a bio and a buffer
        // for each block cost as much as indexing its entries). Callers
        // hold the directory's inode lock: its blocks cannot change.
        let mut scratch = KVec::from_elem(0u8, BS as usize, GFP_KERNEL)?;
        for lblk in 0..n {
            idx.reserve(ENTRIES_PER_BLOCK)?;
            let blk = Self::dir_block_nr(dir, map, lblk)?;
            let room = sb.read_block_once(blk.into(), &mut scratch, |b| {
                dirent::scan(b, fmt, |e| {
                    e.name == b"." || e.name == b".." || idx.add(e.name, lblk, e.offset)
                })
            })?;
            let room = room.ok().flatten().ok_or(EUCLEAN)?;
            idx.rooms
                .push(room.min(u16::MAX.into()) as u16, GFP_KERNEL)?;
        }
        Ok(idx)
    }

    /// Finds entry `name` in `dir`: its block (read), logical block,
    /// offset and inode number. Through the index if the directory has
    /// one: one block read, whatever its size.
    pub(crate) fn find<'a>(
        dir: &'a INode<'_, Self>,
        name: &[u8],
    ) -> Result<Option<(Buffer<'a>, u64, usize, u32)>> {
        let sb = dir.super_block();
        let fmt = sb.data().fmt;
        if name != b"." && name != b".." {
            let mut guard = dir.data().lock_state();
            let st = &mut *guard;
            if Self::indexed(dir, st) {
                if let Some(idx) = &st.index {
                    let mut found = Ok(None);
                    for loc in dirindex::probe(&idx.slots, idx.hash(name)) {
                        let (lblk, off) = dirindex::unpack(loc);
                        let buf = Self::dir_block_in(dir, &st.di.block, lblk)?;
                        // The index has the entry's offset from a block
                        // checked whole: only the entry itself is checked.
                        let hit = buf.read(|b| {
                            dirent::entry_at_indexed(b, off, fmt)
                                .map(|e| (e.inode != 0 && e.name == name).then_some(e.inode))
                        });
                        match hit {
                            Ok(None) => continue,
                            Ok(Some(ino)) => found = Ok(Some((buf, lblk, off, ino))),
                            Err(c) => found = Err(c),
                        }
                        break;
                    }
                    if found.is_err() {
                        // The block changed under the index: the next
                        // lookup scans, and finds the name or reports what
                        // is wrong with the block.
                        st.index = None;
                    }
                    return found.map_err(|c| corrupt(sb, dir.ino(), c));
                }
            }
        }
        for lblk in 0..Self::dir_blocks(dir) {
            let buf = Self::dir_block(dir, lblk)?;
            let found = buf
                .read(|b| dirent::find_entry(b, name, fmt).map(|e| e.map(|e| (e.offset, e.inode))))
                .map_err(|c| corrupt(sb, dir.ino(), c))?;
            if let Some((off, ino)) = found {
                return Ok(Some((buf, lblk, off, ino)));
            }
        }
        Ok(None)
    }

    /// Clears a stale htree flag of a directory being changed.
    fn dir_changed(dir: &INode<'_, Self>, st: &mut IState) -> Result {
        if st.di.flags & INDEX_FL != 0 {
            st.di.flags &= !INDEX_FL;
            Self::write_inode_locked(dir, st)?;
        }
        Ok(())
    }

    /// Adds entry `name` in `slot` of `buf` (found there by `find_slot_for`,
    /// the block unchanged since); returns the new entry's offset and the
    /// room left in the block. The directory's new times share the entry's
    /// first ordering point: nothing depends on them.
    fn insert_entry(
        dir: &INode<'_, Self>,
        st: &mut IState,
        buf: &Buffer<'_>,
        slot: &dirent::Slot,
        ino: u32,
        ft: u8,
        name: &[u8],
    ) -> Result<(usize, usize)> {
        let sb = dir.super_block();
        let fmt = sb.data().fmt;
        // Two ordering points: the entry, written where nothing sees it
        // yet, is durable before the one field that links it in changes
        // (pmem has no sector atomicity: a torn single write could shorten
        // a `rec_len` without the entry behind it).
        let pending = buf
            .modify(|b| dirent::insert_prepare_in(b, slot, ino, ft, name, fmt))
            .map_err(|e| dir_err(dir, e))?;
        dir.touch_mtime();
        let ibuf = match Self::put_inode_locked(dir, st) {
            Ok(ibuf) => ibuf,
            Err(e) => {
                // The prepared entry is not visible; it is written all the
                // same, so that the buffer holds nothing undurable.
                let _ = buf.sync();
                return Err(e);
            }
        };
        let heads = Iterator::chain(core::iter::once(&**buf), ibuf.as_deref());
        Head::sync_all_iter(heads)?;
        buf.modify(|b| dirent::insert_commit(b, &pending));
        if let Err(e) = buf.sync() {
            // The caller frees the inode, and the buffer keeps the bytes of
            // a failed write for the next (see `Head`): take the entry back
            // in memory, so that no later write names a freed inode, and
            // try to write the block so.
            buf.modify(|b| dirent::insert_undo(b, &pending));
            if buf.sync().is_err() {
                Self::entry_may_stay(dir, ino);
            }
            return Err(e);
        }
        Ok((pending.offset(), pending.room()))
    }

    /// Logs that an entry of `dir` naming inode `ino`, which the caller
    /// gives up, may still be on the device: the write that took it back
    /// failed, and so may have the one that made it, in part. The file
    /// system is marked as having errors, so that e2fsck clears the entry
    /// if a crash leaves it there (a later successful write of the block
    /// takes it away).
    fn entry_may_stay(dir: &INode<'_, Self>, ino: u32) {
        flag(
            dir.super_block(),
            dir.ino(),
            format_args!("an entry for inode {ino} may stay on disk"),
        );
    }

    /// `add_entry`: in the first block with room, or in a new block. The
    /// directory's modification and change times are set, and written
    /// with the entry.
    pub(crate) fn add_link(dir: &INode<'_, Self>, name: &[u8], inode: &INode<'_, Self>) -> Result {
        let mut guard = dir.data().lock_state();
        let st = &mut *guard;
        let r = Self::add_link_locked(dir, st, name, inode, true);
        if r.is_err() {
            // The blocks may have changed: rebuilt on next use.
            st.index = None;
        }
        r
    }

    fn add_link_locked(
        dir: &INode<'_, Self>,
        st: &mut IState,
        name: &[u8],
        inode: &INode<'_, Self>,
        use_index: bool,
    ) -> Result {
        let sb = dir.super_block();
        let fmt = sb.data().fmt;
        let ino = u32::try_from(inode.ino()).map_err(|_| EINVAL)?;
        let ft = dirent::ft_from_mode(inode.mode());
        Self::dir_changed(dir, st)?;
        let nblocks = Self::dir_blocks(dir);
        let need = dirent::rec_len_for(name.len());
        // With an index, its idea of the room in each block picks the one
        // block to read; without, every block is read until one has room.
        let candidates = if use_index && Self::indexed(dir, st) {
            let pick = st
                .index
                .as_ref()
                .and_then(|idx| dirindex::block_with_room(&idx.rooms, need));
            pick.map_or(0..0, |b| b..b + 1)
        } else {
            0..nblocks
        };
        for lblk in candidates {
            let buf = Self::dir_block_in(dir, &st.di.block, lblk)?;
            let Some(slot) = buf
                .read(|b| dirent::find_slot_for(b, name, fmt))
                .map_err(|e| dir_err(dir, e))?
            else {
                if st.index.is_some() {
                    // The index was wrong about this block: scan instead.
                    st.index = None;
                    return Self::add_link_locked(dir, st, name, inode, false);
                }
                continue;
            };
            let (new_off, room) = Self::insert_entry(dir, st, &buf, &slot, ino, ft, name)?;
            if let Some(idx) = &mut st.index {
                if idx.reserve(1).is_err()
                    || !idx.add(name, lblk, new_off)
                    || !idx.set_room(lblk, room)
                {
                    st.index = None;
                }
            }
            return Ok(());
        }
        // A new block: written in full before the directory points to it.
        let goal = match Self::map_blocks(dir, &st.di.block, nblocks.saturating_sub(1), 1) {
            Ok((Some(b), _)) => b + 1,
            _ => 0,
        };
        let (b, _) = Self::alloc_blocks(sb, goal, 1, 1)?;
        let buf = match sb.new_buffer(b.into()) {
            Ok(buf) => buf,
            Err(e) => {
                let _ = Self::free_blocks(sb, &mut [b]);
                return Err(e);
            }
        };
        let r = buf
            .modify(|blk| {
                dirent::init_empty(blk)?;
                dirent::insert(blk, 0, ino, ft, name, fmt)
            })
            .map_err(|e| dir_err(dir, e))
            .and_then(|_| buf.sync())
            .and_then(|()| {
                buf.read(|b| dirent::room(b, fmt))
                    .map_err(|c| corrupt(sb, dir.ino(), c))
            });
        let room = match r {
            Ok(room) => room,
            Err(e) => {
                // The block is freed: nothing may write it later.
                buf.discard();
                let _ = Self::free_blocks(sb, &mut [b]);
                return Err(e);
            }
        };
        // The times go with the pointer to the block.
        dir.touch_mtime();
        if let Err((e, linked)) = Self::append_block(dir, st, nblocks, b) {
            if linked {
                // The block stays the directory's, and what memory holds of
                // the directory goes to the device with a later write (see
                // `Head`), maybe with a size that covers the block; the
                // caller gives the inode up: the entry goes, in memory, and
                // is written so if it can be. The block's only entry, it
                // becomes free.
                let _ = buf.modify(|blk| dirent::remove(blk, 0, fmt));
                if buf.sync().is_err() {
                    Self::entry_may_stay(dir, ino);
                }
            }
            return Err(e);
        }
        if let Some(idx) = &mut st.index {
            let ok = idx.reserve(1).is_ok()
                && idx.rooms.push(room as u16, GFP_KERNEL).is_ok()
                && idx.rooms.len() as u64 == nblocks + 1
                && idx.add(name, nblocks, 0);
            if !ok {
                st.index = None;
            }
        }
        Ok(())
    }

    /// Links block `b` as logical block `lblk` (the end) of directory
    /// `dir`, which grows by a block.
    ///
    /// The pointer is durable before the size covers it: a crash between
    /// the two leaves a block past the end that e2fsck takes back, whereas
    /// a size covering a hole would make the directory unreadable.
    ///
    /// An error comes with whether `b` stays linked in memory: if not, it
    /// is freed.
    fn append_block(
        dir: &INode<'_, Self>,
        st: &mut IState,
        lblk: u64,
        b: u32,
    ) -> core::result::Result<(), (Error, bool)> {
        let sb = dir.super_block();
        // Reuse the file path: a one-block "allocation" that maps `b`.
        match Self::link_block(dir, st, lblk, b) {
            Err((e, false)) => {
                let _ = Self::free_blocks(sb, &mut [b]);
                return Err((e, false));
            }
            Err((e, true)) => return Err((e, true)),
            Ok(()) => {}
        }
        // Linked in memory: from here on the block goes with the directory.
        Self::write_inode_locked(dir, st).map_err(|e| (e, true))?;
        dir.set_size((lblk + 1) * BS);
        Self::write_inode_locked(dir, st).map_err(|e| (e, true))
    }

    /// `remove_entry`. The directory's modification and change times are
    /// set, and written with the removal: nothing depends on them.
    pub(crate) fn remove_link(
        dir: &INode<'_, Self>,
        name: &[u8],
        inode: &INode<'_, Self>,
    ) -> Result {
        let sb = dir.super_block();
        let fmt = sb.data().fmt;
        Self::dir_changed(dir, &mut dir.data().lock_state())?;
        let (buf, lblk, off, ino) = Self::find(dir, name)?.ok_or(ENOENT)?;
        if u64::from(ino) != inode.ino() {
            return Err(report(
                sb,
                dir.ino(),
                format_args!("entry refers to inode {} instead of {}", ino, inode.ino()),
            ));
        }
        let mut st = dir.data().lock_state();
        // The directory's new times go into its inode's buffer first: if
        // that fails, the call fails before the entry is touched.
        dir.touch_mtime();
        let ibuf = Self::put_inode_locked(dir, &mut st)?;
        let removed = buf
            .modify(|b| dirent::remove(b, off, fmt))
            .map_err(|e| dir_err(dir, e));
        // The inode is written even if the entry could not be removed: an
        // inode's bytes in its buffer are always durable (see
        // `put_inode_locked`).
        let entry = removed.is_ok().then_some(&*buf);
        let synced = Head::sync_all_iter(Iterator::chain(entry.into_iter(), ibuf.as_deref()));
        if let (Ok(gone), Err(_)) = (&removed, &synced) {
            // The call fails and the name stays, for the VFS too, but the
            // buffer keeps the bytes of a failed write for the next (see
            // `Head`): put the entry back in memory, where lookups and
            // later writes find it, and try to write the block so.
            buf.modify(|b| dirent::restore(b, gone));
            let _ = buf.sync();
        }
        // `dirent::remove` walked the whole block, and counted its room.
        let room = match (&removed, &synced) {
            (Ok(gone), Ok(())) => Some(gone.room()),
            _ => None,
        };
        let r = removed.and(synced);
        let keep = match (room, &mut st.index) {
            (Some(room), Some(idx)) => idx.remove(name, lblk, off) && idx.set_room(lblk, room),
            _ => false,
        };
        if !keep {
            st.index = None;
        }
        r
    }

    /// `replace_entry` and `set_parent`: points entry `name` at `inode`.
    /// The entry stays where it is: the index is unchanged.
    ///
    /// On failure the entry names its old inode again, in memory; the
    /// `bool` says whether the device may still name `inode` through it
    /// (a write that set it may have reached the device, and the write
    /// that took it back failed): then `inode` must keep the count the
    /// caller gave it for the entry, and the file system is marked as
    /// having errors.
    pub(crate) fn set_link(
        dir: &INode<'_, Self>,
        name: &[u8],
        inode: &INode<'_, Self>,
    ) -> Result<(), (Error, bool)> {
        let sb = dir.super_block();
        let unnamed = |e| (e, false);
        Self::dir_changed(dir, &mut dir.data().lock_state()).map_err(unnamed)?;
        let (buf, _, off, old_ino) = Self::find(dir, name)
            .and_then(|f| f.ok_or(ENOENT))
            .map_err(unnamed)?;
        let ino = u32::try_from(inode.ino()).map_err(|_| (EINVAL, false))?;
        let ft = dirent::ft_from_mode(inode.mode());
        let fmt = sb.data().fmt;
        let (old_ft, (steps, n)) = buf
            .read(|b| {
                let s = dirent::set_inode_steps(b, off, ino, ft, fmt)?;
                Ok((dirent::type_at(b, off, fmt), s))
            })
            .map_err(|e| (dir_err(dir, e), false))?;
        // Each step is an ordering point (see `set_inode_steps`).
        for (k, &(step_ino, step_ft)) in steps[..n].iter().enumerate() {
            buf.modify(|b| dirent::set_inode(b, off, step_ino, step_ft, fmt))
                .map_err(|e| (dir_err(dir, e), false))?;
            let Err(e) = buf.sync() else {
                continue;
            };
            // The caller undoes its counts, and the buffer keeps the bytes
            // of a failed write for the next (see `Head`): the entry goes
            // back to its inode in memory, in steps as it came, each
            // written if it can be. Memory goes all the way back even if
            // one of those writes fails too: the entry must not name the
            // inode whose count the caller drops. A later single write of
            // the block then takes the entry back, and a crash during it
            // may leave the type byte torn from the inode number (see
            // `set_inode_steps`), which e2fsck corrects.
            let mut undone = false;
            if let Ok((back, m)) =
                buf.read(|b| dirent::set_inode_steps(b, off, old_ino, old_ft, fmt))
            {
                for &(i, t) in &back[..m] {
                    let _ = buf.modify(|b| dirent::set_inode(b, off, i, t, fmt));
                    // Each write is of the whole block: the last one
                    // decides what the device holds.
                    undone = buf.sync().is_ok();
                }
            }
            let named = !undone && steps[..=k].iter().any(|&(i, _)| i == ino);
            if named {
                flag(
                    sb,
                    dir.ino(),
                    format_args!("entry may still name inode {ino} on disk: its count is kept"),
                );
            }
            return Err((e, named));
        }
        Ok(())
    }

    /// `is_empty_dir`.
    pub(crate) fn empty_dir(dir: &INode<'_, Self>) -> Result<bool> {
        let sb = dir.super_block();
        for lblk in 0..Self::dir_blocks(dir) {
            let buf = Self::dir_block(dir, lblk)?;
            let self_ino = dir.ino() as u32;
            let empty = buf
                .read(|b| dirent::is_empty_dir_block(b, self_ino, sb.data().fmt))
                .map_err(|c| corrupt(sb, dir.ino(), c))?;
            if !empty {
                return Ok(false);
            }
        }
        Ok(true)
    }
}
