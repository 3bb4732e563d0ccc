// SPDX-License-Identifier: GPL-2.0

//! New inodes and directory entries.
//!
//! The VFS holds the directory locks; the POSIX side (link counts, times,
//! which entries change in a rename) is in `kernel::fs::blockfs`. This file
//! writes the blocks, in this order: a new inode (bitmap, then the inode
//! and its first block) is durable before an entry points to it; an entry
//! is removed before its inode's link count drops.

use crate::{corrupt, dirent, ondisk, report, INodeData, IState, Rext2, BS};
use dirent::DirError;
use kernel::{
    fs::blockfs::{Buffer, GetINode, INode, INodeParams, INodeType, NewNode, SuperBlock},
    prelude::*,
    sync::aref::ARef,
};
use ondisk::{Corrupt, FileType};

/// ext2's `EXT2_INDEX_FL`: an htree index, which rext2 does not keep up to
/// date; it is cleared when a directory changes, as the index is then
/// stale (the blocks stay a valid linear directory).
use ondisk::INDEX_FL;

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
    /// `new_inode`: allocates, initialises and writes a new inode.
    pub(crate) fn create_inode<'a>(
        dir: &INode<'a, Self>,
        node: NewNode,
    ) -> Result<ARef<INode<'a, Self>>> {
        let sb = dir.sb();
        let geo = &sb.data().geo;
        let is_dir = matches!(node.typ, INodeType::Dir);
        let parent_group = ((dir.ino() - 1) / u64::from(geo.inodes_per_group)) as u32;
        let ino = Self::alloc_inode(sb, parent_group, is_dir)?;
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
        let mut data_block = 0;
        let r = Self::init_inode(sb, dir, ino, &node, &mut data_block);
        let (di, typ) = match r {
            Ok(x) => x,
            Err(e) => {
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
        };
        new.init(params, INodeData::new(di)?)
    }

    /// Whether on-disk inode `ino` is in use: it has links and no
    /// deletion time (`ext2_free_inode` leaves both behind when it frees).
    fn inode_live_on_disk(sb: &SuperBlock<Self>, ino: u32) -> Result<bool> {
        Ok(match Self::read_di(sb, ino.into())? {
            Ok(di) => di.links_count != 0 && di.dtime == 0,
            Err(_) => false,
        })
    }

    /// Builds and writes the on-disk inode `ino`, and a directory's or a
    /// slow symlink's first block (returned in `data_block` so that it
    /// can be freed on failure).
    fn init_inode(
        sb: &SuperBlock<Self>,
        dir: &INode<'_, Self>,
        ino: u32,
        node: &NewNode,
        data_block: &mut u32,
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
        di.set_uid(node.uid);
        di.set_gid(node.gid);
        let t = node.time as u32;
        (di.atime, di.mtime, di.ctime) = (t, t, t);
        di.links_count = 1;
        di.generation = Self::next_generation(sb);
        di.flags = ondisk::inherited_flags(dir.data().state.lock().di.flags, ft);
        let goal = || {
            let g = (ino - 1) / geo.inodes_per_group;
            geo.group_first_block(g).unwrap_or(0)
        };
        let typ = match &node.typ {
            INodeType::Dir => {
                let (b, _) = Self::alloc_blocks(sb, goal(), 1, 1)?;
                *data_block = b;
                let buf = sb.new_buffer(b.into())?;
                let fmt = sb.data().fmt;
                buf.modify(|blk| dirent::make_empty_dir(blk, ino, dir.ino() as u32, fmt))
                    .map_err(|e| dir_err(dir, e))?;
                buf.sync()?;
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
                    let (b, _) = Self::alloc_blocks(sb, goal(), 1, 1)?;
                    *data_block = b;
                    let buf = sb.new_buffer(b.into())?;
                    buf.modify(|blk| {
                        if let Some(dst) = blk.get_mut(..t.len()) {
                            dst.copy_from_slice(t);
                        }
                    });
                    buf.sync()?;
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
        // bit a leak, as rule 3 allows); then the count alone, one field.
        let links = core::mem::take(&mut di.links_count);
        Self::write_di(sb, ino.into(), &di)?;
        di.links_count = links;
        Self::write_di(sb, ino.into(), &di)?;
        Ok((di, typ))
    }

    /// Finds entry `name` in `dir`: its block (read) and offset.
    fn find<'a>(dir: &'a INode<'_, Self>, name: &[u8]) -> Result<Option<(Buffer<'a>, usize, u32)>> {
        let sb = dir.super_block();
        let fmt = sb.data().fmt;
        for lblk in 0..Self::dir_blocks(dir) {
            let buf = Self::dir_block(dir, lblk)?;
            let found = buf
                .read(|b| dirent::find_entry(b, name, fmt).map(|e| e.map(|e| (e.offset, e.inode))))
                .map_err(|c| corrupt(sb, dir.ino(), c))?;
            if let Some((off, ino)) = found {
                return Ok(Some((buf, off, ino)));
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

    /// `add_entry`: in the first block with room, or in a new block.
    pub(crate) fn add_link(dir: &INode<'_, Self>, name: &[u8], inode: &INode<'_, Self>) -> Result {
        let sb = dir.super_block();
        let fmt = sb.data().fmt;
        let ino = u32::try_from(inode.ino()).map_err(|_| EINVAL)?;
        let ft = dirent::ft_from_mode(inode.mode());
        Self::dir_changed(dir, &mut dir.data().state.lock())?;
        let nblocks = Self::dir_blocks(dir);
        for lblk in 0..nblocks {
            let buf = Self::dir_block(dir, lblk)?;
            let Some(off) = buf
                .read(|b| dirent::find_slot(b, name, fmt))
                .map_err(|e| dir_err(dir, e))?
            else {
                continue;
            };
            // Two ordering points: the entry, written where nothing sees
            // it yet, is durable before the one field that links it in
            // changes (pmem has no sector atomicity: a torn single write
            // could shorten a `rec_len` without the entry behind it).
            let pending = buf
                .modify(|b| dirent::insert_prepare(b, off, ino, ft, name, fmt))
                .map_err(|e| dir_err(dir, e))?;
            buf.sync()?;
            buf.modify(|b| dirent::insert_commit(b, &pending));
            return buf.sync();
        }
        // A new block: written in full before the directory points to it.
        let mut st = dir.data().state.lock();
        let goal = match Self::map_blocks(dir, &st.di.block, nblocks.saturating_sub(1), 1) {
            Ok((Some(b), _)) => b + 1,
            _ => 0,
        };
        let (b, _) = Self::alloc_blocks(sb, goal, 1, 1)?;
        let r = (|| {
            let buf = sb.new_buffer(b.into())?;
            buf.modify(|blk| {
                dirent::init_empty(blk)?;
                dirent::insert(blk, 0, ino, ft, name, fmt)
            })
            .map_err(|e| dir_err(dir, e))?;
            buf.sync()
        })();
        if let Err(e) = r {
            let _ = Self::free_blocks(sb, &mut [b]);
            return Err(e);
        }
        Self::append_block(dir, &mut st, nblocks, b)
    }

    /// Links block `b` as logical block `lblk` (the end) of directory
    /// `dir`, which grows by a block.
    ///
    /// The pointer is durable before the size covers it: a crash between
    /// the two leaves a block past the end that e2fsck takes back, whereas
    /// a size covering a hole would make the directory unreadable.
    fn append_block(dir: &INode<'_, Self>, st: &mut IState, lblk: u64, b: u32) -> Result {
        let sb = dir.super_block();
        // Reuse the file path: a one-block "allocation" that maps `b`.
        if let Err(e) = Self::link_block(dir, st, lblk, b) {
            let _ = Self::free_blocks(sb, &mut [b]);
            return Err(e);
        }
        // Linked in memory: from here on the block goes with the directory.
        Self::write_inode_locked(dir, st)?;
        dir.set_size((lblk + 1) * BS);
        Self::write_inode_locked(dir, st)
    }

    /// `remove_entry`.
    pub(crate) fn remove_link(
        dir: &INode<'_, Self>,
        name: &[u8],
        inode: &INode<'_, Self>,
    ) -> Result {
        let sb = dir.super_block();
        Self::dir_changed(dir, &mut dir.data().state.lock())?;
        let (buf, off, ino) = Self::find(dir, name)?.ok_or(ENOENT)?;
        if u64::from(ino) != inode.ino() {
            return Err(report(
                sb,
                dir.ino(),
                format_args!("entry refers to inode {} instead of {}", ino, inode.ino()),
            ));
        }
        buf.modify(|b| dirent::remove(b, off, sb.data().fmt))
            .map_err(|e| dir_err(dir, e))?;
        buf.sync()
    }

    /// `replace_entry` and `set_parent`: points entry `name` at `inode`.
    pub(crate) fn set_link(dir: &INode<'_, Self>, name: &[u8], inode: &INode<'_, Self>) -> Result {
        let sb = dir.super_block();
        Self::dir_changed(dir, &mut dir.data().state.lock())?;
        let (buf, off, _) = Self::find(dir, name)?.ok_or(ENOENT)?;
        let ino = u32::try_from(inode.ino()).map_err(|_| EINVAL)?;
        let ft = dirent::ft_from_mode(inode.mode());
        let fmt = sb.data().fmt;
        let (steps, n) = buf
            .read(|b| dirent::set_inode_steps(b, off, ino, ft, fmt))
            .map_err(|e| dir_err(dir, e))?;
        // Each step is an ordering point (see `set_inode_steps`).
        for &(ino, ft) in &steps[..n] {
            buf.modify(|b| dirent::set_inode(b, off, ino, ft, fmt))
                .map_err(|e| dir_err(dir, e))?;
            buf.sync()?;
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
