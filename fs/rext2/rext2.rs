// SPDX-License-Identifier: GPL-2.0

//! rext2: an ext2-compatible file system for persistent memory, with DAX.
//!
//! The on-disk format is ext2 revision 1 with 4 KiB blocks, so e2fsprogs
//! make and check its images. File data is read and mapped with DAX: no
//! page cache, and 2 MiB mappings where a file's blocks allow them.
//!
//! Metadata goes through the buffer cache and is checked before use: a
//! corrupt image is refused at mount, or gives `EUCLEAN` on access, with a
//! message naming the problem. Read-write mounts write metadata
//! synchronously, in an order that leaves at worst leaked blocks or inodes
//! after a crash. See `Documentation/filesystems/rext2.rst`.

use core::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, Ordering};
use kernel::{
    fs::blockfs::{
        self, AclEntry, AclType, BareINode, ErrorsMode, Fallocate, GetINode, INode, INodeParams,
        INodeType, LockedINode, Mapping, MountOptions, NewSuperBlock, NoFsScope, Stat, SuperBlock,
        Timespec, Write, Written, XattrNs, XattrSet,
    },
    new_mutex,
    prelude::*,
    sync::{aref::ARef, Mutex, MutexGuard},
};

mod alloc;
mod attr;
mod dir;
mod file;
mod namei;
mod write;

// The on-disk layer is shared with the host tests, which use parts of it
// that the module does not.
#[allow(dead_code, unreachable_pub)]
mod bitmap;
#[allow(dead_code, unreachable_pub)]
mod bmap;
#[allow(dead_code, unreachable_pub)]
mod dirent;
#[allow(dead_code, unreachable_pub)]
mod dirindex;
#[allow(dead_code, unreachable_pub)]
mod extents;
#[allow(dead_code, unreachable_pub)]
mod ondisk;
#[allow(dead_code, unreachable_pub)]
mod xattr;

use dirent::DirFormat;
use ondisk::{
    Corrupt, FeatureVerdict, FileType, Geometry, GroupDesc, GroupMeta, Inode, Superblock,
};
use write::SECTORS;

kernel::module_blockfs! {
    type: Rext2,
    name: "rext2",
    authors: ["rpmem developers"],
    description: "ext2-compatible file system with DAX for persistent memory",
    license: "GPL",
    alias: ["fs-rext2"],
}

struct Rext2;

/// What a mounted file system keeps.
struct SbData {
    geo: Geometry,
    /// Group descriptors, each with the lock that covers it and its
    /// bitmaps (see `alloc.rs`).
    groups: KVec<Pin<KBox<Mutex<GroupDesc>>>>,
    /// The sum of the groups' free block counts, changed with them (under
    /// the group's lock), so that allocation and `statfs` read it without
    /// taking every group's lock (C ext2 keeps a per-CPU counter).
    free_blocks: AtomicU64,
    /// The sum of the groups' free inode counts, likewise.
    free_inodes: AtomicU64,
    /// Where each group's bitmaps and inode table are: fixed for the
    /// mount, so read without the group's lock.
    meta: KVec<GroupMeta>,
    fmt: DirFormat,
    r_blocks: u32,
    fsid: u64,
    /// The primary superblock as last written, for `write_super`.
    sb: Pin<KBox<Mutex<SbState>>>,
    /// Serialises reference count changes of shared attribute blocks.
    xattr_lock: Pin<KBox<Mutex<()>>>,
    /// What to do after an error ([`ErrorsMode`] as [`errors_code`]):
    /// `-o errors=`, or else as `s_errors` says. A remount may change it.
    errors: AtomicU8,
    /// `s_errors` as mounted, for `show_options`.
    default_errors: u16,
    /// Set once the root inode is read: errors found before make the
    /// mount fail, and are only logged.
    mounted: AtomicBool,
}

/// [`ErrorsMode`] in a byte, for [`SbData::errors`].
fn errors_code(mode: ErrorsMode) -> u8 {
    match mode {
        ErrorsMode::Continue => 0,
        ErrorsMode::RemountRo => 1,
        ErrorsMode::Panic => 2,
    }
}

impl SbData {
    /// What to do after an error.
    fn errors(&self) -> ErrorsMode {
        match self.errors.load(Ordering::Relaxed) {
            0 => ErrorsMode::Continue,
            2 => ErrorsMode::Panic,
            _ => ErrorsMode::RemountRo,
        }
    }
}

/// The superblock fields rext2 changes, with the rest kept as read.
struct SbState {
    raw: Superblock,
    /// For `i_generation` of new inodes.
    generation: u32,
    /// Whether a write of the superblock with the error mark (`s_state`'s
    /// [`ondisk::STATE_ERROR`]) succeeded: until then each error writes.
    error_on_disk: bool,
}

/// What an inode keeps besides the VFS inode.
struct INodeData {
    /// The on-disk inode. Its lock also serialises block mapping and
    /// allocation for the inode (like ext2's `truncate_mutex`); it is never
    /// held with another inode's.
    state: Pin<KBox<Mutex<IState>>>,
}

/// [`INodeData::lock_state`]'s guard: the state, locked, with the task's
/// allocations kept out of file-system reclaim until it is dropped.
struct StateGuard<'a> {
    // Dropped first: the mutex is released inside the scope.
    guard: MutexGuard<'a, IState>,
    _nofs: NoFsScope,
}

impl core::ops::Deref for StateGuard<'_> {
    type Target = IState;

    fn deref(&self) -> &IState {
        &self.guard
    }
}

impl core::ops::DerefMut for StateGuard<'_> {
    fn deref_mut(&mut self) -> &mut IState {
        &mut self.guard
    }
}

/// The mutable part of an inode.
struct IState {
    /// The on-disk inode as last read or written; the VFS inode has the
    /// current size, mode, owner, times and link count.
    di: Inode,
    /// Where the next block allocation should start.
    goal: u32,
    /// A size the inode's size on disk must not go below, because blocks
    /// may exist up to it past the VFS size (during an extending write or
    /// `fallocate`, and a truncation until its blocks are freed); 0 when
    /// none. See `file::reserve_size`.
    cover: u64,
    /// The end (in bytes, a block boundary) of the blocks allocated ahead
    /// of appending page-cache writes (see `Rext2::map_alloc`): the size on
    /// disk covers them too (rule 5) until `trim` gives them back; 0 when
    /// none.
    prealloc: u64,
    /// How many blocks the next allocation at the end of the file takes
    /// ahead of appending page-cache writes: doubled by each such
    /// allocation, up to `write::WINDOW_MAX`; 0 once `trim` had to give
    /// blocks back (the file is synced or closed between writes).
    window: u32,
    /// A directory's index, once built (see `dirindex`); `None` for other
    /// inodes, small directories, and until a directory's first use.
    index: Option<dir::DirIndex>,
    /// Extents found through indirect blocks (see `extents`), from a
    /// file's first such mapping; emptied before any block pointer of the
    /// inode changes (`Rext2::map_changes`).
    extents: Option<KBox<extents::ExtentCache>>,
}

impl INodeData {
    /// Locks the inode's state. Reclaim evicts inodes, and evicting one
    /// takes its state lock (to give back blocks allocated ahead,
    /// `Rext2::trim_prealloc`), so allocations under the lock must not
    /// enter file-system reclaim: the guard holds a [`NoFsScope`], as C
    /// ext2 allocates `GFP_NOFS` under its `truncate_mutex`.
    fn lock_state(&self) -> StateGuard<'_> {
        let nofs = NoFsScope::enter();
        StateGuard {
            guard: self.state.lock(),
            _nofs: nofs,
        }
    }

    fn new(di: Inode) -> Result<Self> {
        Ok(Self {
            state: KBox::pin_init(
                new_mutex!(IState {
                    di,
                    goal: 0,
                    cover: 0,
                    prealloc: 0,
                    window: 1,
                    index: None,
                    extents: None,
                }),
                GFP_KERNEL,
            )?,
        })
    }
}

/// Logs a corruption found at mount and turns it into `EINVAL`.
/// A time stamp as ext2 stores it: whole seconds, signed 32 bits (as
/// C ext2 reads them; times before 1970 are negative).
fn ondisk_time(t: u32) -> Timespec {
    Timespec::from_secs((t as i32).into())
}

fn refuse(c: Corrupt) -> Error {
    pr_err!("refusing to mount: {}\n", c.describe());
    EINVAL
}

/// Logs a corruption found on access and turns it into `EUCLEAN`.
fn corrupt(sb: &SuperBlock<Rext2>, ino: u64, c: Corrupt) -> Error {
    report(sb, ino, format_args!("{}", c.describe()))
}

/// Logs a corruption of the file system's own structures, marks the file
/// system as having errors ([`Rext2::mark_error`]) and turns it into
/// `EUCLEAN`.
fn corrupt_sb(sb: &SuperBlock<Rext2>, c: Corrupt) -> Error {
    pr_err!(
        "{}: {} ({:?})\n",
        sb.id().to_str().unwrap_or("?"),
        c.describe(),
        c
    );
    Rext2::mark_error(sb);
    EUCLEAN
}

/// Logs a problem with inode `ino`, marks the file system as having
/// errors ([`Rext2::mark_error`], as `ext2_error()` does) and returns
/// `EUCLEAN`.
fn report(sb: &SuperBlock<Rext2>, ino: u64, what: core::fmt::Arguments<'_>) -> Error {
    pr_err!(
        "{}: inode {}: {}\n",
        sb.id().to_str().unwrap_or("?"),
        ino,
        what
    );
    Rext2::mark_error(sb);
    EUCLEAN
}

/// Logs, as [`report`] but as a warning, what a failed write left behind
/// for inode `ino`, and marks the file system as having errors
/// ([`Rext2::mark_error`]), so that e2fsck checks it.
fn flag(sb: &SuperBlock<Rext2>, ino: u64, what: core::fmt::Arguments<'_>) {
    pr_warn!(
        "{}: inode {}: {}\n",
        sb.id().to_str().unwrap_or("?"),
        ino,
        what
    );
    Rext2::mark_error(sb);
}

/// The block size: 4096, the only one `Superblock::validate` accepts (DAX
/// needs it equal to the page size). A constant, so divisions need no
/// zero check.
const BS: u64 = ondisk::BLOCK_SIZE as u64;

impl Rext2 {
    /// Reads inode `ino` from disk (or the cache).
    fn iget(sb: &SuperBlock<Self>, ino: u64) -> Result<ARef<INode<'_, Self>>> {
        match sb.iget(ino)? {
            GetINode::Cached(i) => Ok(i),
            GetINode::New(n) => Self::read_inode(sb, ino, n),
        }
    }

    /// Fills new inode `new` from on-disk inode `ino`.
    fn read_inode<'a>(
        sb: &'a SuperBlock<Self>,
        ino: u64,
        new: blockfs::NewINode<'a, Self>,
    ) -> Result<ARef<INode<'a, Self>>> {
        let geo = &sb.data().geo;
        let di = Self::read_di(sb, ino)?.map_err(|c| corrupt(sb, ino, c))?;
        let ft = di.validate(geo).map_err(|c| corrupt(sb, ino, c))?;
        let typ = match ft {
            FileType::Regular => INodeType::Reg,
            FileType::Directory => INodeType::Dir,
            FileType::Symlink => INodeType::Symlink(Self::symlink_target(sb, ino, &di)?),
            FileType::CharDevice | FileType::BlockDevice => {
                let (ma, mi) = di.device_numbers().unwrap_or((0, 0));
                if ft == FileType::CharDevice {
                    INodeType::Chr(ma, mi)
                } else {
                    INodeType::Blk(ma, mi)
                }
            }
            FileType::Fifo => INodeType::Fifo,
            FileType::Socket => INodeType::Sock,
        };
        let params = INodeParams {
            typ,
            mode: di.mode & 0o7777,
            size: di.size(),
            nlink: di.links_count.into(),
            uid: sb.kuid(di.uid()),
            gid: sb.kgid(di.gid()),
            atime: ondisk_time(di.atime),
            mtime: ondisk_time(di.mtime),
            ctime: ondisk_time(di.ctime),
            blocks: di.blocks.into(),
            attr_flags: di.flags & ondisk::FL_USER_VISIBLE,
            generation: di.generation,
        };
        new.init(params, INodeData::new(di)?)
    }

    /// Reads on-disk inode `ino`: `Ok(Err(..))` if it does not parse.
    fn read_di(sb: &SuperBlock<Self>, ino: u64) -> Result<core::result::Result<Inode, Corrupt>> {
        let size = sb.data().geo.inode_size as usize;
        let (buf, off) = Self::inode_buffer(sb, ino)?;
        buf.read(|b| b.get(off..off + size).map(Inode::parse))
            .ok_or(EUCLEAN)
    }

    /// The inode table block holding inode `ino`, read, and the inode's
    /// offset in it.
    fn inode_buffer(sb: &SuperBlock<Self>, ino: u64) -> Result<(blockfs::Buffer<'_>, usize)> {
        let d = sb.data();
        let ino32 = u32::try_from(ino).map_err(|_| EUCLEAN)?;
        let loc = ondisk::inode_location(&d.geo, ino32).map_err(|c| corrupt(sb, ino, c))?;
        let table = d.meta.get(loc.group as usize).ok_or(EUCLEAN)?.inode_table;
        let blk = loc.block(table).ok_or(EUCLEAN)?;
        Ok((sb.bread(blk.into())?, loc.offset))
    }

    /// A symlink's target: in the inode (fast) or in its one block (slow).
    fn symlink_target(sb: &SuperBlock<Self>, ino: u64, di: &Inode) -> Result<KVec<u8>> {
        let geo = &sb.data().geo;
        let mut v = KVec::new();
        if di.is_fast_symlink(geo.block_size) {
            let t = di.fast_symlink_target().map_err(|c| corrupt(sb, ino, c))?;
            v.extend_from_slice(t.as_bytes(), GFP_KERNEL)?;
            return Ok(v);
        }
        let size = di.size();
        let bad = |sb| corrupt(sb, ino, Corrupt::BadSymlinkSize { size });
        if size == 0 || size >= BS {
            return Err(bad(sb));
        }
        let blk = ondisk::check_block_ptr(di.block[0], geo)
            .map_err(|c| corrupt(sb, ino, c))?
            .ok_or_else(|| bad(sb))?;
        Self::check_meta_ptr(sb, ino, blk, 1)?;
        let buf = sb.bread(blk.into())?;
        v.resize(size as usize, 0, GFP_KERNEL)?;
        let copied = buf.read(|b| match b.get(..v.len()) {
            Some(t) if !t.contains(&0) => {
                v.copy_from_slice(t);
                true
            }
            _ => false,
        });
        if !copied {
            return Err(bad(sb));
        }
        Ok(v)
    }

    /// Maps logical block `lblk` of `inode`, for at most `want` blocks:
    /// `Ok((Some(start), n))` for `n` contiguous blocks at `start`, or
    /// `Ok((None, n))` for a hole of `n` blocks.
    fn map_blocks(
        inode: &INode<'_, Self>,
        block: &[u32; ondisk::N_BLOCKS],
        lblk: u64,
        want: u64,
    ) -> Result<(Option<u32>, u64)> {
        Self::map_blocks_around(inode, block, lblk, want, None)
    }

    /// As [`Self::map_blocks`]; if `lblk` is mapped through an indirect
    /// block and `around` is given, also sets it to the whole extent that
    /// block maps around `lblk` (before it too), checked like the result.
    fn map_blocks_around(
        inode: &INode<'_, Self>,
        block: &[u32; ondisk::N_BLOCKS],
        lblk: u64,
        want: u64,
        around: Option<&mut Option<extents::Extent>>,
    ) -> Result<(Option<u32>, u64)> {
        let sb = inode.super_block();
        let geo = &sb.data().geo;
        let err = |c| corrupt(sb, inode.ino(), c);
        let path = match bmap::path(lblk) {
            // Past the triple indirect tree (and ext2's largest file): no
            // block can be there, so a read (past the end) sees a hole.
            Err(Corrupt::FileBlockTooBig { .. }) => return Ok((None, want.max(1))),
            p => p.map_err(err)?,
        };
        let offs = path.offsets();
        let depth = path.depth();
        let want32 = u32::try_from(want.max(1)).unwrap_or(u32::MAX);
        let addr_per_block = u64::from(geo.addr_per_block);

        // Direct blocks: runs within `i_block`.
        if depth == 0 {
            let max = want32.min(path.remaining_in_block() + 1);
            return Self::run(
                sb,
                inode.ino(),
                bmap::contiguous_run(block, offs[0] as usize, max),
            );
        }

        let mut ptr = block[offs[0] as usize];
        for level in 1..=depth {
            match ondisk::check_block_ptr(ptr, geo).map_err(err)? {
                None => {
                    // A hole in an indirect pointer: everything below it.
                    let mut within = 0u64;
                    let mut span = 1u64;
                    for k in (level..=depth).rev() {
                        within += u64::from(offs[k]) * span;
                        span *= addr_per_block;
                    }
                    return Ok((None, (span - within).min(want.max(1))));
                }
                Some(b) => {
                    Self::check_meta_ptr(sb, inode.ino(), b, 1)?;
                    let buf = sb.bread(b.into())?;
                    let at = offs[level] as usize;
                    if level == depth {
                        let max = want32.min(path.remaining_in_block() + 1);
                        let run = buf.read(|d| bmap::contiguous_run_le(d, at, max));
                        let found = Self::run(sb, inode.ino(), run)?;
                        if let (Some(out), (Some(_), _)) = (around, found) {
                            let apb = geo.addr_per_block as usize;
                            // A run whose other blocks a map would refuse
                            // (a corrupt block) is not cached: those are
                            // refused when they are mapped.
                            *out = buf
                                .read(|d| bmap::run_around_le(d, at, apb))
                                .filter(|&(_, start, count)| {
                                    sb.data().check_run(start, count).is_ok()
                                })
                                .map(|(first, start, count)| extents::Extent {
                                    lblk: lblk - (at - first) as u64,
                                    pblk: start.into(),
                                    len: count.into(),
                                });
                        }
                        return Ok(found);
                    }
                    ptr = buf.read(|d| bmap::read_ptr(d, at)).ok_or(EUCLEAN)?;
                }
            }
        }
        Err(EUCLEAN)
    }

    fn run(sb: &SuperBlock<Self>, ino: u64, run: bmap::Run) -> Result<(Option<u32>, u64)> {
        let geo = &sb.data().geo;
        match run {
            bmap::Run::Hole { count } => Ok((None, u64::from(count.max(1)))),
            bmap::Run::Mapped { start, count } => {
                ondisk::check_block_ptr(start, geo).map_err(|c| corrupt(sb, ino, c))?;
                let last = start.checked_add(count - 1).ok_or(EUCLEAN)?;
                ondisk::check_block_ptr(last, geo).map_err(|c| corrupt(sb, ino, c))?;
                Self::check_meta_ptr(sb, ino, start, count)?;
                Ok((Some(start), count.into()))
            }
        }
    }

    /// Checks that the `count` blocks from `start`, which inode `ino`
    /// points to, are inside the file system and none of them is
    /// metadata: DAX would map them to users, and freeing them would free
    /// a bitmap or an inode table.
    pub(crate) fn check_meta_ptr(
        sb: &SuperBlock<Self>,
        ino: u64,
        start: u32,
        count: u32,
    ) -> Result {
        match sb.data().check_run(start, count) {
            Ok(()) => Ok(()),
            Err(Some(c)) => Err(corrupt(sb, ino, c)),
            Err(None) => Err(EUCLEAN),
        }
    }

    /// Reads directory block `lblk` of `dir`.
    fn dir_block<'a>(dir: &'a INode<'_, Self>, lblk: u64) -> Result<blockfs::Buffer<'a>> {
        let map = dir.data().lock_state().di.block;
        Self::dir_block_in(dir, &map, lblk)
    }

    /// [`Self::dir_block`] with the inode's state locked by the caller,
    /// whose block map (`di.block`) it is.
    fn dir_block_in<'a>(
        dir: &'a INode<'_, Self>,
        map: &[u32; ondisk::N_BLOCKS],
        lblk: u64,
    ) -> Result<blockfs::Buffer<'a>> {
        // Entries are checked as the iterators reach them.
        dir.super_block()
            .bread(Self::dir_block_nr(dir, map, lblk)?.into())
    }

    /// The device block of logical block `lblk` of `dir` (block map
    /// `map`, locked by the caller); a hole is corruption.
    fn dir_block_nr(
        dir: &INode<'_, Self>,
        map: &[u32; ondisk::N_BLOCKS],
        lblk: u64,
    ) -> Result<u32> {
        let (blk, _) = Self::map_blocks(dir, map, lblk, 1)?;
        blk.ok_or_else(|| {
            report(
                dir.super_block(),
                dir.ino(),
                format_args!("hole in a directory, at block {}", lblk),
            )
        })
    }

    fn dir_blocks(dir: &INode<'_, Self>) -> u64 {
        dir.size().div_ceil(BS)
    }
}

#[vtable]
impl blockfs::FileSystem for Rext2 {
    const NAME: &'static CStr = c"rext2";
    const MAGIC: u32 = ondisk::EXT2_MAGIC as u32;

    type Data = SbData;
    type INodeData = INodeData;
    type DirOps = Self;
    type FileOps = Self;
    type INodeOps = Self;
    type XattrOps = Self;

    fn fill_super(sb: &NewSuperBlock<'_, Self>, opts: &MountOptions) -> Result<SbData> {
        if sb.set_block_size(ondisk::BLOCK_SIZE).is_err() {
            pr_err!("refusing to mount: the device cannot use 4096-byte blocks\n");
            return Err(EINVAL);
        }
        let start = ondisk::SUPERBLOCK_OFFSET as usize;
        let s = sb
            .bread(0)?
            .read(|b| {
                b.get(start..start + ondisk::SUPERBLOCK_SIZE)
                    .map(Superblock::parse)
            })
            .ok_or(EINVAL)?
            .map_err(refuse)?;
        match s.check_features() {
            FeatureVerdict::Ok => {}
            FeatureVerdict::Refuse { unknown_incompat } => {
                pr_err!(
                    "refusing to mount: unsupported incompat features {:#x}\n",
                    unknown_incompat
                );
                return Err(EINVAL);
            }
            FeatureVerdict::ReadOnly { unknown_ro_compat } => {
                if !opts.read_only {
                    pr_err!(
                        "refusing to mount read-write: unsupported ro_compat features {:#x}\n",
                        unknown_ro_compat
                    );
                    return Err(EROFS);
                }
            }
        }
        let geo = s.validate(sb.device_size()).map_err(refuse)?;

        let mut groups = KVec::with_capacity(geo.groups as usize, GFP_KERNEL)?;
        let mut meta = KVec::with_capacity(geo.groups as usize, GFP_KERNEL)?;
        let (mut free_blocks, mut free_inodes) = (0u64, 0u64);
        let mut cached: Option<(u32, blockfs::Buffer<'_>)> = None;
        for g in 0..geo.groups {
            let (blk, off) = ondisk::group_desc_location(&geo, g).map_err(refuse)?;
            if cached.as_ref().map(|(b, _)| *b) != Some(blk) {
                cached = Some((blk, sb.bread(blk.into())?));
            }
            let Some((_, buf)) = &cached else {
                return Err(EINVAL);
            };
            let gd = buf
                .read(|b| {
                    b.get(off..off + ondisk::GROUP_DESC_SIZE)
                        .map(GroupDesc::parse)
                })
                .ok_or(EINVAL)?
                .map_err(refuse)?;
            gd.validate(&geo, g).map_err(refuse)?;
            meta.push(GroupMeta::from(&gd), GFP_KERNEL)?;
            free_blocks += u64::from(gd.free_blocks_count);
            free_inodes += u64::from(gd.free_inodes_count);
            groups.push(KBox::pin_init(new_mutex!(gd), GFP_KERNEL)?, GFP_KERNEL)?;
        }
        drop(cached);
        if s.state() & ondisk::STATE_VALID == 0 || s.state() & ondisk::STATE_ERROR != 0 {
            pr_warn!("the file system was not cleanly unmounted or has errors: run e2fsck\n");
        }
        sb.set_max_bytes(geo.max_file_size);
        sb.set_max_links(ondisk::LINK_MAX.into());
        sb.set_time_range(i32::MIN.into(), i32::MAX.into());
        let uuid = s.uuid();
        let mut fsid = 0u64;
        for (i, b) in uuid.iter().enumerate() {
            fsid ^= u64::from(*b) << ((i % 8) * 8);
        }
        let r_blocks = s.r_blocks_count();
        let generation = s.wtime() ^ s.mtime().rotate_left(16);
        let errors = opts.errors.unwrap_or(match s.errors() {
            ondisk::ERRORS_CONTINUE => ErrorsMode::Continue,
            ondisk::ERRORS_PANIC => ErrorsMode::Panic,
            // 2 (remount-ro), and as ext2_fill_super() any other value.
            _ => ErrorsMode::RemountRo,
        });
        // Without the feature, attribute calls fail with EOPNOTSUPP.
        if s.feature_compat() & ondisk::COMPAT_EXT_ATTR != 0 {
            sb.enable_xattrs(opts.acl);
        }
        Ok(SbData {
            fmt: DirFormat::from_geometry(&geo),
            geo,
            groups,
            free_blocks: AtomicU64::new(free_blocks),
            free_inodes: AtomicU64::new(free_inodes),
            meta,
            r_blocks,
            fsid,
            default_errors: s.errors(),
            sb: KBox::pin_init(
                new_mutex!(SbState {
                    raw: s,
                    generation,
                    error_on_disk: false,
                }),
                GFP_KERNEL,
            )?,
            xattr_lock: KBox::pin_init(new_mutex!(()), GFP_KERNEL)?,
            errors: AtomicU8::new(errors_code(errors)),
            mounted: AtomicBool::new(false),
        })
    }

    fn root(sb: &SuperBlock<Self>) -> Result<ARef<INode<'_, Self>>> {
        let root = Self::iget(sb, ondisk::ROOT_INO.into())?;
        if !root.is_dir() || Self::dir_blocks(&root) == 0 {
            return Err(corrupt(sb, root.ino(), Corrupt::BadRootInode));
        }
        sb.data().mounted.store(true, Ordering::Release);
        Ok(root)
    }

    fn statfs(sb: &SuperBlock<Self>) -> Result<Stat> {
        let d = sb.data();
        let free = d.free_blocks();
        Ok(Stat {
            blocks: d.geo.blocks_count.into(),
            free_blocks: free,
            avail_blocks: free.saturating_sub(d.r_blocks.into()),
            files: d.geo.inodes_count.into(),
            free_files: d.free_inodes(),
            name_len: 255,
            fsid: d.fsid,
        })
    }

    fn write_inode(inode: &BareINode<Self>) -> Result {
        let mut st = inode.data().lock_state();
        Self::write_inode_locked(inode, &mut st)
    }

    fn delete_inode(inode: &BareINode<Self>) -> Result {
        Self::delete(inode)
    }

    fn inode_for_handle(sb: &SuperBlock<Self>, ino: u64) -> Result<ARef<INode<'_, Self>>> {
        let geo = &sb.data().geo;
        let in_use = ino == u64::from(ondisk::ROOT_INO)
            || (ino >= u64::from(geo.first_ino) && ino <= u64::from(geo.inodes_count));
        if !in_use {
            return Err(ESTALE);
        }
        match sb.iget(ino)? {
            // In use, if unlinked maybe, but open: as ext2_iget.
            GetINode::Cached(i) => Ok(i),
            // A handle may name an inode freed since: stale, not corrupt
            // (as ext2_nfs_get_inode).
            GetINode::New(new) => {
                if !Self::inode_live_on_disk(sb, ino as u32)? {
                    return Err(ESTALE);
                }
                Self::read_inode(sb, ino, new)
            }
        }
    }

    fn label(sb: &SuperBlock<Self>, buf: &mut [u8; blockfs::FSLABEL_MAX]) -> Result<usize> {
        let name = sb.data().sb.lock().raw.volume_name();
        let len = name.iter().position(|&b| b == 0).unwrap_or(name.len());
        buf[..len].copy_from_slice(&name[..len]);
        Ok(len)
    }

    fn set_label(sb: &SuperBlock<Self>, label: &[u8]) -> Result {
        let mut name = [0u8; 16];
        name.get_mut(..label.len())
            .ok_or(EINVAL)?
            .copy_from_slice(label);
        sb.data().sb.lock().raw.set_volume_name(name);
        Self::write_superblock(sb, false)
    }

    fn write_super(sb: &SuperBlock<Self>, clean: bool) -> Result {
        Self::write_superblock(sb, clean)
    }

    fn reconfigure(sb: &SuperBlock<Self>, errors: Option<ErrorsMode>) -> Result {
        if let Some(errors) = errors {
            sb.data()
                .errors
                .store(errors_code(errors), Ordering::Relaxed);
        }
        Ok(())
    }

    /// As ext2_show_options(): `errors=` unless it is `remount-ro` by the
    /// superblock's default.
    fn show_options(sb: &SuperBlock<Self>) -> Option<&'static CStr> {
        let d = sb.data();
        match (d.errors(), d.default_errors) {
            (ErrorsMode::Continue, _) => Some(c",errors=continue"),
            (ErrorsMode::Panic, _) => Some(c",errors=panic"),
            (ErrorsMode::RemountRo, ondisk::ERRORS_CONTINUE | ondisk::ERRORS_PANIC) => {
                Some(c",errors=remount-ro")
            }
            (ErrorsMode::RemountRo, _) => None,
        }
    }
}

#[vtable]
impl blockfs::file::Operations for Rext2 {
    type FileSystem = Self;

    fn map(inode: &INode<'_, Self>, pos: u64, len: u64) -> Result<Mapping> {
        let mut st = inode.data().lock_state();
        Self::map_locked(inode, &mut st, pos, len)
    }

    fn map_write(inode: &INode<'_, Self>, pos: u64, len: u64) -> Result<Mapping> {
        Self::map_alloc(inode, pos, len)
    }

    fn write<'a>(inode: &mut LockedINode<'_, Self>, write: Write<'a, Self>) -> Result<Written<'a>> {
        Self::write_file(inode, write)
    }

    fn resize(inode: &mut LockedINode<'_, Self>, size: u64) -> Result {
        Self::resize_file(inode, size)
    }

    fn fallocate(
        inode: &mut LockedINode<'_, Self>,
        mode: Fallocate,
        start: u64,
        end: u64,
    ) -> Result {
        Self::fallocate_file(inode, mode, start, end)
    }

    fn trim(inode: &BareINode<Self>) -> Result {
        Self::trim_prealloc(inode)
    }

    fn xattr_extent(inode: &INode<'_, Self>) -> Result<Option<(u64, u64)>> {
        let block = inode.data().lock_state().di.file_acl;
        Ok((block != 0).then(|| (u64::from(block) * BS, BS)))
    }
}

#[vtable]
impl blockfs::inode::Operations for Rext2 {
    type FileSystem = Self;

    fn get_acl(inode: &INode<'_, Self>, typ: AclType) -> Result<Option<KVec<AclEntry>>> {
        Self::get_acl_raw(inode, typ)
    }

    fn set_acl(inode: &INode<'_, Self>, typ: AclType, acl: Option<&[AclEntry]>) -> Result {
        Self::set_acl_raw(inode, typ, acl)
    }

    fn attr_flags(inode: &INode<'_, Self>) -> u32 {
        inode.data().lock_state().di.flags & ondisk::FL_USER_VISIBLE
    }

    fn set_attr_flags(inode: &INode<'_, Self>, flags: u32) -> Result<u32> {
        let mut st = inode.data().lock_state();
        st.di.flags = ondisk::chattr_flags(st.di.flags, flags);
        // The caller writes the inode (with its new change time).
        Ok(st.di.flags & ondisk::FL_USER_VISIBLE)
    }
}

#[vtable]
impl blockfs::xattr::Operations for Rext2 {
    type FileSystem = Self;

    fn get_xattr(
        inode: &INode<'_, Self>,
        ns: XattrNs,
        name: &[u8],
        buf: &mut [u8],
    ) -> Result<usize> {
        Self::get_xattr_raw(inode, ns, name, buf)
    }

    fn set_xattr(
        inode: &INode<'_, Self>,
        ns: XattrNs,
        name: &[u8],
        value: Option<&[u8]>,
        how: XattrSet,
    ) -> Result {
        Self::set_xattr_raw(inode, ns, name, value, how)
    }

    fn list_xattrs(inode: &INode<'_, Self>, f: &mut dyn FnMut(XattrNs, &[u8]) -> Result) -> Result {
        Self::list_xattrs_raw(inode, f)
    }
}

impl Rext2 {
    /// Maps the range of `inode` containing `pos`, with its state locked.
    fn map_locked(inode: &INode<'_, Self>, st: &mut IState, pos: u64, len: u64) -> Result<Mapping> {
        let lblk = pos / BS;
        let end = pos.saturating_add(len.max(1)).div_ceil(BS);
        let want = end - lblk;
        let (start, mut count) = Self::map_cached(inode, st, lblk, want)?;
        // Runs stop where a pointer block ends; carry on while the next
        // one continues the same extent, so that 2 MiB faults see 2 MiB.
        while count < want {
            let (next, n) = Self::map_cached(inode, st, lblk + count, want - count)?;
            let continues = match (start, next) {
                (Some(a), Some(b)) => u64::from(a) + count == u64::from(b),
                (None, None) => true,
                _ => false,
            };
            if !continues {
                break;
            }
            count += n;
        }
        let offset = lblk * BS;
        let len = count * BS;
        Ok(match start {
            Some(b) => Mapping::Mapped {
                offset,
                addr: u64::from(b) * BS,
                len,
                new: false,
            },
            None => Mapping::Hole { offset, len },
        })
    }

    /// [`Self::map_blocks`] for the inode whose state `st` is, through its
    /// extent cache: a hit reads no indirect block; a miss that walks to
    /// one caches the whole extent found there.
    fn map_cached(
        inode: &INode<'_, Self>,
        st: &mut IState,
        lblk: u64,
        want: u64,
    ) -> Result<(Option<u32>, u64)> {
        if let Some((pblk, n)) = st.extents.as_ref().and_then(|c| c.lookup(lblk)) {
            // Cached from a checked run of 32-bit block numbers.
            let pblk = u32::try_from(pblk).map_err(|_| EUCLEAN)?;
            return Ok((Some(pblk), n.min(want.max(1))));
        }
        let mut found = None;
        let r = Self::map_blocks_around(inode, &st.di.block, lblk, want, Some(&mut found))?;
        if let Some(e) = found {
            if st.extents.is_none() {
                // Not worth reclaim under the inode's mutex, on the read
                // and fault path: without memory for it at once, mapping
                // walks the tree as before, and tries again next time.
                st.extents = KBox::new(extents::ExtentCache::new(), GFP_NOWAIT).ok();
            }
            if let Some(c) = st.extents.as_mut() {
                c.insert(e);
            }
        }
        Ok(r)
    }

    /// Empties the extent cache of the inode whose state `st` is: called
    /// before any of its block pointers changes, under the same lock.
    pub(crate) fn map_changes(st: &mut IState) {
        if let Some(c) = st.extents.as_mut() {
            c.clear();
        }
    }
}
