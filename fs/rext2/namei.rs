// SPDX-License-Identifier: GPL-2.0

//! Namespace operations: lookup, listing, and the POSIX side of changing
//! names (as `fs/ext2/namei.c`).
//!
//! The VFS holds the locks and has checked permissions; this file keeps
//! link counts and times and orders the writes of `dir.rs` so that a crash
//! leaves counts too high (which `e2fsck` lowers), never too low: a count
//! is raised, durably, before the entry that needs it is written, and
//! lowered after the entry is gone (rule 4 of the crash rules in
//! `Documentation/filesystems/rext2.rst`).

use crate::{corrupt, dirent, flag, ondisk, report, Rext2, BS};
use kernel::{
    fs::blockfs::{
        self, Dentry, DirEmitter, DirEntryType, INode, INodeType, Idmap, InheritedAcls,
        Instantiated, NewDentry, TmpFile, RENAME_EXCHANGE, RENAME_NOREPLACE, RENAME_WHITEOUT,
    },
    prelude::*,
    sync::aref::ARef,
};
use ondisk::Corrupt;

impl Rext2 {
    /// Writes the attributes of `inode`, durably.
    fn sync(inode: &blockfs::BareINode<Self>) -> Result {
        <Self as blockfs::FileSystem>::write_inode(inode)
    }

    /// Writes the attributes of `inode` once the call has happened: the
    /// entry change it follows is durable, and the VFS is about to be told
    /// so. A failed write is logged, not returned, as `ext2_unlink()`
    /// marks the inode dirty and succeeds: the inode's buffer keeps the
    /// bytes for its next sync (see `Head`), and until one succeeds the
    /// count on the device stays too high, which rule 4 allows (`e2fsck`
    /// lowers it; the file system is marked as having errors for it).
    fn sync_after(inode: &blockfs::BareINode<Self>) {
        if let Err(e) = Self::sync(inode) {
            flag(
                inode.super_block(),
                inode.ino(),
                format_args!("write failed ({e:?}): its link count on disk may be too high"),
            );
        }
    }

    /// Raises the count of each of `inodes`, durably, before the entry
    /// that needs it (rule 4); if a write fails, none stays raised. The
    /// one whose write failed drops its count again and tries once more
    /// to write it (the buffer holds the raised one): its count on the
    /// device was not raised, so a second failure is not an error of the
    /// file system.
    fn count<'b>(inodes: impl Iterator<Item = &'b blockfs::BareINode<Self>> + Clone) -> Result {
        for (i, g) in inodes.clone().enumerate() {
            g.inc_nlink();
            if let Err(e) = Self::sync(g) {
                g.drop_nlink();
                let _ = Self::sync(g);
                inodes.take(i).for_each(Self::uncount);
                return Err(e);
            }
        }
        Ok(())
    }

    /// Takes back a count raised for an entry that was not written: the
    /// entry's error is the call's, so a failed write is only logged (the
    /// count on the device stays too high, as rule 4 allows).
    fn uncount(inode: &blockfs::BareINode<Self>) {
        inode.drop_nlink();
        Self::sync_after(inode);
    }

    /// A new inode of type `typ` and permissions `mode` for an entry of
    /// `dir`: owned as `inode_init_owner` would, with the ACLs it inherits
    /// (as `ext2_new_inode` and `ext2_init_acl`). On failure after the
    /// inode exists it loses its links, and is deleted when dropped.
    fn new_node<'a>(
        idmap: &Idmap<'_>,
        dir: &INode<'a, Self>,
        mut mode: u16,
        typ: INodeType,
    ) -> Result<ARef<INode<'a, Self>>> {
        let acls = InheritedAcls::new(dir, &typ, &mut mode)?;
        let inode = Self::create_inode(idmap, dir, typ, mode)?;
        if let Err(e) = acls.apply(&inode) {
            inode.clear_nlink();
            return Err(e);
        }
        Ok(inode)
    }

    /// Enters a new `inode` in `dir` as `dentry` (`ext2_add_nondir`); if
    /// the entry cannot be written, the inode loses its links and is
    /// deleted when dropped.
    fn enter<'a>(
        dir: &INode<'a, Self>,
        dentry: NewDentry<'a, Self>,
        inode: ARef<INode<'a, Self>>,
    ) -> Result<Instantiated> {
        if let Err(e) = Self::add_link(dir, dentry.name(), &inode) {
            inode.clear_nlink();
            return Err(e);
        }
        Self::entered(dentry, inode)
    }

    /// The end of a namespace operation once the entry naming `inode` is
    /// on disk (with the directory's times, `add_link`): nothing is undone
    /// from here on (counts stay as high as the entry needs), the dentry
    /// gets its inode.
    fn entered<'a>(
        dentry: NewDentry<'a, Self>,
        inode: ARef<INode<'a, Self>>,
    ) -> Result<Instantiated> {
        dentry.instantiate(inode)
    }

    /// `rename` without `RENAME_EXCHANGE`: `src`, named `oname` in `od`,
    /// becomes `nname` in `nd`, replacing `tgt` if there is one; its old
    /// entry goes, or with `whiteout` points at the whiteout instead
    /// (`named` says when the whiteout may be named).
    ///
    /// Rule 4 of the crash rules: a count is raised, durably, before the
    /// entry that needs it and lowered after the entry is gone. The new
    /// name comes before the old one goes, so the inode has two names for
    /// a while: it counts them, a directory too. The new parent gains a
    /// `..` when a directory arrives without replacing one, the old parent
    /// loses one when it leaves (as ext2_rename()).
    ///
    /// The old name's change is the point of no return. If it fails, the
    /// new name is taken back, so that the error means nothing moved, for
    /// the VFS too (`tgt`, which keeps its dentry, has kept its count).
    /// After it, the call succeeds: a failed write of a count is logged
    /// (`sync_after`), and so is a `..` that still names the old parent,
    /// which then keeps its count; the file system is marked as having
    /// errors for both.
    #[expect(clippy::too_many_arguments)]
    fn move_entry(
        od: &INode<'_, Self>,
        oname: &[u8],
        src: &INode<'_, Self>,
        nd: &INode<'_, Self>,
        nname: &[u8],
        tgt: Option<&INode<'_, Self>>,
        whiteout: Option<&INode<'_, Self>>,
        named: &mut bool,
    ) -> Result {
        let moved = !core::ptr::eq(od, nd);
        let parent = (src.is_dir() && tgt.is_none()).then_some(nd);
        let counted = || [Some(src), parent].into_iter().flatten();
        Self::count(counted().map(|g| &**g))?;
        let linked = match tgt {
            Some(_) => Self::set_link(nd, nname, src),
            None => Self::add_link(nd, nname, src).map_err(|e| (e, false)),
        };
        if let Err((e, may_name)) = linked {
            // Counts stay raised for a name the device may show.
            if !may_name {
                counted().for_each(|g| Self::uncount(g));
            }
            return Err(e);
        }
        let old_gone = match whiteout {
            Some(w) => {
                let r = Self::set_link(od, oname, w);
                // The whiteout keeps its count where it may be named.
                *named = r.as_ref().map_or_else(|&(_, may_name)| may_name, |()| true);
                r.map_err(|(e, _)| e)
            }
            None => Self::remove_link(od, oname, src),
        };
        if let Err(e) = old_gone {
            let back = match tgt {
                Some(t) => Self::set_link(nd, nname, t).map_err(|(e, _)| e),
                None => Self::remove_link(nd, nname, src),
            };
            match back {
                Ok(()) => counted().for_each(|g| Self::uncount(g)),
                // Both names may be on the device: both are counted.
                Err(_) => flag(
                    src.super_block(),
                    src.ino(),
                    format_args!("rename failed half way: it may have both names"),
                ),
            }
            return Err(e);
        }
        // The point of no return: `tgt` has lost its name, `src` its old
        // one.
        if let Some(t) = tgt {
            t.touch_ctime();
            if t.is_dir() {
                t.clear_nlink();
            } else {
                t.drop_nlink();
            }
            Self::sync_after(t);
        }
        src.drop_nlink();
        if src.is_dir() {
            let dotdot = if moved {
                Self::set_link(src, b"..", nd)
            } else {
                Ok(())
            };
            match dotdot {
                Ok(()) => od.drop_nlink(),
                Err((e, _)) => Self::dotdot_failed(src, od, e),
            }
        }
        Ok(())
    }

    /// Logs that an exchange that fails could not take back its first
    /// entry, which still names the other inode's partner in memory: the
    /// counts cover every name on the device, the dentries may not match
    /// until they are evicted.
    fn half_way(other: &INode<'_, Self>) {
        flag(
            other.super_block(),
            other.ino(),
            format_args!("exchange failed half way: its names may not match the dcache"),
        );
    }

    /// The `..` entries of an exchange between parents `od` (of `src`
    /// before) and `nd` (of `tgt` before), once both entries are swapped;
    /// `lose` is the parent that loses a `..` when only one of the two is
    /// a directory (its new parent, `gain`, was counted first).
    ///
    /// Two directories swap both `..`: between the two writes `nd` is
    /// named by both, so it counts the second first, durably (rule 4),
    /// and drops it after. A `..` that cannot be changed keeps naming its
    /// old parent, which keeps its count (`lose` is not dropped); when the
    /// first of two cannot, the second is not changed either.
    fn swap_dotdots(
        od: &INode<'_, Self>,
        src: &INode<'_, Self>,
        nd: &INode<'_, Self>,
        tgt: &INode<'_, Self>,
        lose: Option<&INode<'_, Self>>,
    ) {
        let both = src.is_dir() && tgt.is_dir();
        if both {
            if let Err(e) = Self::count(core::iter::once(&**nd)) {
                Self::dotdot_failed(src, od, e);
                Self::dotdot_failed(tgt, nd, e);
                return;
            }
        }
        let mut kept = false;
        if src.is_dir() {
            if let Err((e, may_name)) = Self::set_link(src, b"..", nd) {
                Self::dotdot_failed(src, od, e);
                if both {
                    Self::dotdot_failed(tgt, nd, e);
                    if !may_name {
                        Self::uncount(nd);
                    }
                    return;
                }
                kept = true;
            }
        }
        if tgt.is_dir() {
            if let Err((e, _)) = Self::set_link(tgt, b"..", od) {
                // `nd` is named by both `..` now, and counts both.
                Self::dotdot_failed(tgt, nd, e);
                return;
            }
        }
        if both {
            Self::uncount(nd);
        } else if let (Some(l), false) = (lose, kept) {
            l.drop_nlink();
        }
    }

    /// Logs that the `..` of directory `dir`, moved away from `parent`,
    /// could not be changed (error `e`): it still names `parent`, which
    /// keeps its count. The call succeeds all the same (the move is
    /// durable); the file system is marked as having errors, and e2fsck
    /// corrects the `..`.
    fn dotdot_failed(dir: &INode<'_, Self>, parent: &INode<'_, Self>, e: Error) {
        flag(
            dir.super_block(),
            dir.ino(),
            format_args!("'..' still names inode {} ({e:?})", parent.ino()),
        );
    }

    /// `RENAME_EXCHANGE`: swaps the inodes of two entries.
    ///
    /// Two entries change, one write each: between them one inode has both
    /// names and the other none. The one with both is a file where there
    /// is one (a directory never has two names unless both are
    /// directories), and it counts the second name first, as a directory's
    /// new parent counts its `..`; the counts drop once both entries are
    /// written. A crash between the two leaves the other inode without a
    /// name, its count intact (e2fsck attaches it in `lost+found`); where
    /// the two entries' file types differ, an entry's type byte may not
    /// match its new inode yet (it lies in another 8-byte word than the
    /// inode number: e2fsck corrects it).
    fn exchange(
        od: &INode<'_, Self>,
        oname: &[u8],
        src: &INode<'_, Self>,
        nd: &INode<'_, Self>,
        nname: &[u8],
        tgt: &INode<'_, Self>,
    ) -> Result {
        let moved = !core::ptr::eq(od, nd);
        // A directory changing parents takes a `..` count along.
        let (gain, lose) = match (src.is_dir(), tgt.is_dir()) {
            (true, false) if moved => (Some(nd), Some(od)),
            (false, true) if moved => (Some(od), Some(nd)),
            _ => (None, None),
        };
        // The entry written first, and the inode it gives a second name.
        let tgt_first = src.is_dir() && !tgt.is_dir();
        let doubled = if tgt_first { tgt } else { src };
        Self::count([gain, Some(doubled)].into_iter().flatten().map(|g| &**g))?;
        // Entry `first` is pointed at `doubled` from `other`; then `second`
        // at `other`.
        let (first, second, other) = if tgt_first {
            ((od, oname), (nd, nname), src)
        } else {
            ((nd, nname), (od, oname), tgt)
        };
        let uncount = || {
            for g in [gain, Some(doubled)].into_iter().flatten() {
                Self::uncount(g);
            }
        };
        if let Err((e, may_name)) = Self::set_link(first.0, first.1, doubled) {
            // Counts stay raised for a name the device may show.
            if !may_name {
                uncount();
            }
            return Err(e);
        }
        if let Err((e, may_name)) = Self::set_link(second.0, second.1, other) {
            // The call fails, so nothing has moved, for the VFS either:
            // the first entry goes back to `other`, which has no name
            // until it does. If the second entry may name `other` on the
            // device, `other` may then have two names: it counts the
            // second first, and keeps that count.
            if may_name && Self::count(core::iter::once(&**other)).is_err() {
                Self::half_way(other);
                return Err(e);
            }
            match Self::set_link(first.0, first.1, other) {
                Ok(()) => uncount(),
                Err(_) => Self::half_way(other),
            }
            return Err(e);
        }
        // Both entries are swapped: the call succeeds.
        if moved {
            Self::swap_dotdots(od, src, nd, tgt, lose);
        } else if let Some(l) = lose {
            l.drop_nlink();
        }
        doubled.drop_nlink();
        tgt.touch_ctime();
        Self::sync_after(tgt);
        Ok(())
    }
}

fn dtype(code: u8) -> DirEntryType {
    match code {
        dirent::FT_REG_FILE => DirEntryType::Reg,
        dirent::FT_DIR => DirEntryType::Dir,
        dirent::FT_CHRDEV => DirEntryType::Chr,
        dirent::FT_BLKDEV => DirEntryType::Blk,
        dirent::FT_FIFO => DirEntryType::Fifo,
        dirent::FT_SOCK => DirEntryType::Sock,
        dirent::FT_SYMLINK => DirEntryType::Lnk,
        _ => DirEntryType::Unknown,
    }
}

#[vtable]
impl blockfs::dir::Operations for Rext2 {
    type FileSystem = Self;

    fn lookup<'a>(dir: &INode<'a, Self>, name: &[u8]) -> Result<Option<ARef<INode<'a, Self>>>> {
        if name.len() > 255 {
            return Err(ENAMETOOLONG);
        }
        let sb = dir.sb();
        let Some((_, _, _, ino)) = Self::find(dir, name)? else {
            return Ok(None);
        };
        // Only `.`, and the root's `..`, name their own directory.
        if ino == dir.ino() as u32 && name != b"." && !(name == b".." && ino == ondisk::ROOT_INO) {
            return Err(report(
                sb,
                dir.ino(),
                format_args!("entry loops to its directory"),
            ));
        }
        // As ext2_lookup(): reserved inodes (the bad-blocks list, resize
        // and journal inodes...) are not files; only the root is named.
        let reserved = ino < sb.data().geo.first_ino && ino != ondisk::ROOT_INO;
        if reserved {
            return Err(corrupt(
                sb,
                dir.ino(),
                Corrupt::DirEntryReservedInode { inode: ino },
            ));
        }
        Self::iget(sb, ino.into()).map(Some)
    }

    fn read_dir(dir: &INode<'_, Self>, emitter: &mut DirEmitter<'_>) -> Result {
        let sb = dir.super_block();
        let Ok(mut pos) = u64::try_from(emitter.pos()) else {
            return Ok(());
        };
        // Entries are emitted from a copy of the block: emitting copies to
        // user memory, which may fault, and must not hold the buffer lock.
        let mut block = KVec::from_elem(0u8, BS as usize, GFP_KERNEL)?;
        while pos < dir.size() {
            let in_block = pos % BS;
            let base = pos - in_block;
            Self::dir_block(dir, base / BS)?.read(|b| block.copy_from_slice(b));
            for e in dirent::entries(&block, sb.data().fmt) {
                let e = e.map_err(|c| corrupt(sb, dir.ino(), c))?;
                // Entries end within the block (checked by the iterator).
                let (start, end) = (e.offset as u64, e.offset.saturating_add(e.rec_len) as u64);
                if start < in_block {
                    continue;
                }
                if !emitter.emit(e.name, e.inode.into(), dtype(e.file_type)) {
                    return Ok(());
                }
                emitter.set_pos(base.saturating_add(end).min(i64::MAX as u64) as i64);
            }
            pos = base.saturating_add(BS);
            emitter.set_pos(pos.min(i64::MAX as u64) as i64);
        }
        Ok(())
    }

    fn create<'a>(
        idmap: &Idmap<'_>,
        dir: &INode<'a, Self>,
        dentry: NewDentry<'a, Self>,
        mode: u16,
    ) -> Result<Instantiated> {
        Self::mknod(idmap, dir, dentry, mode, INodeType::Reg)
    }

    fn mknod<'a>(
        idmap: &Idmap<'_>,
        dir: &INode<'a, Self>,
        dentry: NewDentry<'a, Self>,
        mode: u16,
        typ: INodeType,
    ) -> Result<Instantiated> {
        let inode = Self::new_node(idmap, dir, mode, typ)?;
        Self::enter(dir, dentry, inode)
    }

    fn symlink<'a>(
        idmap: &Idmap<'_>,
        dir: &INode<'a, Self>,
        dentry: NewDentry<'a, Self>,
        target: &[u8],
    ) -> Result<Instantiated> {
        // The target and its NUL fit in one block (as ext2_symlink).
        if target.len() >= BS as usize {
            return Err(ENAMETOOLONG);
        }
        let mut t = KVec::new();
        t.extend_from_slice(target, GFP_KERNEL)?;
        let inode = Self::new_node(idmap, dir, 0o777, INodeType::Symlink(t))?;
        Self::enter(dir, dentry, inode)
    }

    fn mkdir<'a>(
        idmap: &Idmap<'_>,
        dir: &INode<'a, Self>,
        dentry: NewDentry<'a, Self>,
        mode: u16,
    ) -> Result<Instantiated> {
        // The new `..`: counted before it exists, uncounted if the entry
        // is not written.
        Self::count(core::iter::once(&**dir))?;
        let undo = |e: Error| -> Result<Instantiated> {
            Self::uncount(dir);
            Err(e)
        };
        let inode = match Self::new_node(idmap, dir, mode, INodeType::Dir) {
            Ok(inode) => inode,
            Err(e) => return undo(e),
        };
        if let Err(e) = Self::add_link(dir, dentry.name(), &inode) {
            inode.clear_nlink();
            return undo(e);
        }
        Self::entered(dentry, inode)
    }

    fn tmpfile<'a>(
        idmap: &Idmap<'_>,
        dir: &INode<'a, Self>,
        file: TmpFile<'a, Self>,
        mode: u16,
    ) -> Result<Instantiated> {
        let inode = Self::new_node(idmap, dir, mode, INodeType::Reg)?;
        // Its link count drops to zero: an orphan until `linkat` names it,
        // deleted on its last close otherwise.
        file.open(inode)
    }

    fn link<'a>(
        inode: &INode<'a, Self>,
        dir: &INode<'a, Self>,
        dentry: NewDentry<'a, Self>,
    ) -> Result<Instantiated> {
        inode.touch_ctime();
        Self::count(core::iter::once(&**inode))?;
        if let Err(e) = Self::add_link(dir, dentry.name(), inode) {
            Self::uncount(inode);
            return Err(e);
        }
        Self::entered(dentry, ARef::from(inode))
    }

    fn unlink<'a>(dir: &INode<'a, Self>, dentry: &Dentry<'a, Self>) -> Result {
        let inode = dentry.inode().ok_or(ENOENT)?;
        Self::remove_link(dir, dentry.name(), inode)?;
        inode.touch_ctime();
        inode.drop_nlink();
        Self::sync_after(inode);
        Ok(())
    }

    fn rmdir<'a>(dir: &INode<'a, Self>, dentry: &Dentry<'a, Self>) -> Result {
        let inode = dentry.inode().ok_or(ENOENT)?;
        if !Self::empty_dir(inode)? {
            return Err(ENOTEMPTY);
        }
        Self::remove_link(dir, dentry.name(), inode)?;
        inode.touch_ctime();
        inode.clear_nlink();
        Self::sync_after(inode);
        // Its `..` is gone.
        dir.drop_nlink();
        dir.touch_mtime();
        Self::sync_after(dir);
        Ok(())
    }

    fn rename<'a>(
        idmap: &Idmap<'_>,
        od: &INode<'a, Self>,
        old: &Dentry<'a, Self>,
        nd: &INode<'a, Self>,
        new: &Dentry<'a, Self>,
        flags: u32,
    ) -> Result {
        if flags & !(RENAME_NOREPLACE | RENAME_EXCHANGE | RENAME_WHITEOUT) != 0 {
            return Err(EINVAL);
        }
        let src = old.inode().ok_or(ENOENT)?;
        let tgt = new.inode();
        let (oname, nname) = (old.name(), new.name());
        let moved = !core::ptr::eq(od, nd);
        if flags & RENAME_EXCHANGE != 0 {
            let tgt = tgt.ok_or(ENOENT)?;
            Self::exchange(od, oname, src, nd, nname, tgt)?;
        } else {
            if let Some(t) = tgt {
                if src.is_dir() && !Self::empty_dir(t)? {
                    return Err(ENOTEMPTY);
                }
            }
            // RENAME_WHITEOUT (overlayfs): the old name is left to a
            // whiteout, a character device 0:0, as ext4_rename() does. It
            // is made (durably, rule 3) before anything changes, so that
            // running out of inodes fails the rename cleanly.
            let whiteout = if flags & RENAME_WHITEOUT != 0 {
                Some(Self::new_node(idmap, od, 0, INodeType::Chr(0, 0))?)
            } else {
                None
            };
            let mut named = false;
            let r = Self::move_entry(
                od,
                oname,
                src,
                nd,
                nname,
                tgt,
                whiteout.as_deref(),
                &mut named,
            );
            if let (Err(_), Some(w), false) = (&r, &whiteout, named) {
                // No entry names it: it goes when dropped.
                w.clear_nlink();
            }
            r?;
        }
        src.touch_ctime();
        Self::sync_after(src);
        od.touch_mtime();
        Self::sync_after(od);
        if moved {
            nd.touch_mtime();
            Self::sync_after(nd);
        }
        Ok(())
    }
}
