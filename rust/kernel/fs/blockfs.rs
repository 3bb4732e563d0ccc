// SPDX-License-Identifier: GPL-2.0

//! Block-device file systems with DAX.
//!
//! A file system implements [`FileSystem`]: it reads its superblock, looks up
//! names, lists directories and maps file ranges to device ranges. This
//! module does the VFS side: registration with `fs_context` and
//! `get_tree_bdev`, superblock setup (block size, DAX device, root dentry),
//! inodes embedded with the file system's own per-inode data, directory and
//! file operations, and the DAX paths (`dax_iomap_rw` for `read()` and
//! `write()`, `dax_iomap_fault` for mmap faults, PTE and PMD sized) through
//! `iomap_ops` built from [`FileSystem::map`] and [`FileSystem::map_write`].
//! Without DAX (`-o dax=never`, or a device without it) file data goes
//! through the page cache, read by iomap's bio helpers from the same
//! `iomap_ops`, and mounts are read-only.
//!
//! A file system with [`FileSystem::READ_WRITE`] gets the POSIX side of
//! writing from this module: `create`, `mkdir`, `rename` and the rest keep
//! link counts and times the way POSIX and ext2 do, and call small
//! on-disk primitives ([`FileSystem::add_entry`], [`FileSystem::new_inode`],
//! ...) that the file system implements. Link counts are raised before the
//! entry that needs them is written and dropped after the entry is gone, so
//! that a crash leaves counts too high (which `fsck` lowers), never too low.
//!
//! Locking follows ext4: reads take the inode lock shared, writes take it
//! exclusive; faults take the mapping's invalidate lock shared, and size
//! changes and hole punching take it exclusive and break DAX layouts (wait
//! for pinned pages, such as `vmsplice` or `O_DIRECT` targets, to be
//! released) before blocks are freed.
//!
//! C headers: [`include/linux/fs.h`](srctree/include/linux/fs.h),
//! [`include/linux/fs_context.h`](srctree/include/linux/fs_context.h),
//! [`include/linux/iomap.h`](srctree/include/linux/iomap.h),
//! [`include/linux/dax.h`](srctree/include/linux/dax.h).

use crate::{
    bindings,
    error::{from_result, to_result},
    prelude::*,
    sync::aref::{ARef, AlwaysRefCounted},
    types::Opaque,
};
use core::{marker::PhantomData, mem::MaybeUninit, ptr::NonNull};

/// Gives the CPU to other tasks if one is waiting: long loops over a file
/// system's blocks (freeing a huge file) call it between batches.
pub fn cond_resched() {
    // SAFETY: No requirements: called from process context, where every
    // file system operation runs.
    unsafe { bindings::cond_resched() };
}

/// How the mount asked for DAX.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DaxMode {
    /// Not specified: DAX if the device supports it.
    Default,
    /// `-o dax` or `-o dax=always`: DAX, or the mount fails.
    Always,
    /// `-o dax=never`.
    Never,
    /// `-o dax=inode`: per-inode DAX flags (not supported by this module).
    Inode,
}

/// Mount options understood by this module; anything else goes to the VFS
/// (`ro`, `rw`, ...), which refuses what it does not know either.
#[derive(Debug, Clone, Copy)]
pub struct MountOptions {
    /// The requested DAX mode.
    pub dax: DaxMode,
    /// Whether the mount is read-only.
    pub read_only: bool,
    /// Whether POSIX ACLs are on (`acl`, the default, or `noacl`).
    pub acl: bool,
}

/// Statistics for `statfs`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Stat {
    /// Total data blocks.
    pub blocks: u64,
    /// Free blocks.
    pub free_blocks: u64,
    /// Free blocks available to unprivileged users.
    pub avail_blocks: u64,
    /// Total inodes.
    pub files: u64,
    /// Free inodes.
    pub free_files: u64,
    /// Longest name.
    pub name_len: u32,
    /// File system id (for example from the UUID).
    pub fsid: u64,
}

/// What a file range is on the device, for [`FileSystem::map`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mapping {
    /// `len` bytes at file offset `offset` are at device byte `addr`.
    Mapped {
        /// File offset, block aligned, at or before the requested position.
        offset: u64,
        /// Device byte address of `offset`.
        addr: u64,
        /// Length in bytes.
        len: u64,
        /// Whether the blocks were allocated by this call (`map_write`):
        /// the DAX code then drops mappings of the hole they replace.
        new: bool,
    },
    /// `len` bytes at file offset `offset` are a hole (read as zeros).
    Hole {
        /// File offset, block aligned, at or before the requested position.
        offset: u64,
        /// Length in bytes.
        len: u64,
    },
}

/// The type of an inode, with what each type needs.
pub enum INodeType {
    /// A regular file.
    Reg,
    /// A directory.
    Dir,
    /// A symbolic link and its target (without NUL).
    Symlink(KVec<u8>),
    /// A character device.
    Chr(u32, u32),
    /// A block device.
    Blk(u32, u32),
    /// A FIFO.
    Fifo,
    /// A socket.
    Sock,
}

/// The attributes of an inode, from disk.
pub struct INodeParams {
    /// Type (and, for symlinks and devices, their data).
    pub typ: INodeType,
    /// Permission bits (`S_ISUID`, `S_ISGID`, `S_ISVTX` and `rwx`).
    pub mode: u16,
    /// Size in bytes.
    pub size: u64,
    /// Link count.
    pub nlink: u32,
    /// Owner.
    pub uid: u32,
    /// Group.
    pub gid: u32,
    /// Access time, seconds.
    pub atime: i64,
    /// Modification time, seconds.
    pub mtime: i64,
    /// Change time, seconds.
    pub ctime: i64,
    /// Allocated 512-byte sectors.
    pub blocks: u64,
    /// Attribute flags (`FS_*_FL`, as `chattr` sets them): those the VFS
    /// enforces ([`ATTR_VFS_FLAGS`]) become the inode's `S_*` flags.
    pub attr_flags: u32,
}

/// The attribute flags (`FS_*_FL`) the VFS itself enforces once they are
/// on an inode, as its `S_SYNC`, `S_IMMUTABLE`, `S_APPEND`, `S_NOATIME`
/// and `S_DIRSYNC` flags (as `ext2_set_inode_flags` does).
pub const ATTR_VFS_FLAGS: u32 = bindings::FS_SYNC_FL
    | bindings::FS_IMMUTABLE_FL
    | bindings::FS_APPEND_FL
    | bindings::FS_NOATIME_FL
    | bindings::FS_DIRSYNC_FL;

/// The most bytes of a file system label, as `FS_IOC_GETFSLABEL` and
/// `FS_IOC_SETFSLABEL` pass them (with the terminating NUL).
pub const FSLABEL_MAX: usize = bindings::FSLABEL_MAX as usize;

/// A read-only block-device file system.
pub trait FileSystem: Sized + Send + Sync + 'static {
    /// The file system type's name (`mount -t NAME`).
    const NAME: &'static CStr;
    /// The magic number reported by `statfs`.
    const MAGIC: u32;

    /// Per-superblock data.
    type Data: Send + Sync;
    /// Per-inode data, kept with the VFS inode.
    type INodeData: Send + Sync;

    /// Reads and validates the superblock.
    fn fill_super(sb: &NewSuperBlock<'_, Self>, opts: &MountOptions) -> Result<Self::Data>;

    /// Returns the root directory's inode.
    fn root(sb: &SuperBlock<Self>) -> Result<ARef<INode<'_, Self>>>;

    /// Looks `name` up in directory `dir`.
    fn lookup<'a>(dir: &INode<'a, Self>, name: &[u8]) -> Result<Option<ARef<INode<'a, Self>>>>;

    /// Emits the entries of `dir` from the emitter's position on.
    fn read_dir(dir: &INode<'_, Self>, emitter: &mut DirEmitter<'_>) -> Result;

    /// Maps the range of `inode` that contains byte `pos`, up to `len`
    /// bytes (less is fine, more is trimmed).
    fn map(inode: &INode<'_, Self>, pos: u64, len: u64) -> Result<Mapping>;

    /// Returns `statfs` numbers.
    fn statfs(sb: &SuperBlock<Self>) -> Result<Stat>;

    /// Whether the file system can be mounted read-write (with DAX). If so
    /// it implements the methods below, whose defaults refuse.
    const READ_WRITE: bool = false;

    /// Maps the range of `inode` that contains byte `pos` for writing,
    /// allocating blocks for holes (up to `len` bytes; less is fine), and
    /// says so with [`Mapping::Mapped::new`]. New blocks must read as
    /// zeros before they are mapped: DAX exposes them directly. Called
    /// with the inode or the invalidate lock held. `pos` may be past the
    /// size only after [`FileSystem::reserve_size`] covered it.
    fn map_write(_inode: &INode<'_, Self>, _pos: u64, _len: u64) -> Result<Mapping> {
        Err(EROFS)
    }

    /// Makes the size that [`FileSystem::write_inode`] records at least
    /// `size`, durably, without changing the inode's size: blocks are
    /// about to be allocated up to `size` past the end (an extending write
    /// or `fallocate`), or are about to be freed past a smaller size
    /// (truncation), and the size on disk must cover them meanwhile. Called
    /// with the inode lock held exclusively.
    fn reserve_size(_inode: &INode<'_, Self>, _size: u64) -> Result {
        Err(EROFS)
    }

    /// Ends a [`FileSystem::reserve_size`]: the blocks past the inode's
    /// size are gone (or were never allocated), so the size on disk
    /// becomes the inode's size again; writes the inode.
    fn commit_size(_inode: &INode<'_, Self>) -> Result {
        Err(EROFS)
    }

    /// Frees the blocks of `inode` between byte `start` and byte `end`
    /// (exclusive, `u64::MAX` for the rest of the file), both block aligned,
    /// leaving a hole. The range is no longer mapped anywhere.
    fn free_range(_inode: &INode<'_, Self>, _start: u64, _end: u64) -> Result {
        Err(EROFS)
    }

    /// Writes the attributes of `inode` (size, mode, owner, times, link
    /// count) to disk, durably. Also called by write-back, where nobody may
    /// hold a reference to the inode: hence a [`BareINode`].
    fn write_inode(_inode: &BareINode<Self>) -> Result {
        Err(EROFS)
    }

    /// Allocates and durably writes a new inode for an entry of `dir`, with
    /// one link (two for a directory, whose first block has `.` and `..`),
    /// and returns it.
    fn new_inode<'a>(_dir: &INode<'a, Self>, _node: NewNode) -> Result<ARef<INode<'a, Self>>> {
        Err(EROFS)
    }

    /// Frees the blocks and the number of `inode`, which has no links left
    /// and is not used any more (it is being evicted: no reference).
    fn delete_inode(_inode: &BareINode<Self>) -> Result {
        Err(EROFS)
    }

    /// Adds entry `name` for `inode` to `dir`, which has no entry of that
    /// name.
    fn add_entry(_dir: &INode<'_, Self>, _name: &[u8], _inode: &INode<'_, Self>) -> Result {
        Err(EROFS)
    }

    /// Removes entry `name`, which refers to `inode`, from `dir`.
    fn remove_entry(_dir: &INode<'_, Self>, _name: &[u8], _inode: &INode<'_, Self>) -> Result {
        Err(EROFS)
    }

    /// Points the existing entry `name` of `dir` at `inode`.
    fn replace_entry(_dir: &INode<'_, Self>, _name: &[u8], _inode: &INode<'_, Self>) -> Result {
        Err(EROFS)
    }

    /// Points the `..` entry of directory `dir` at `parent`.
    fn set_parent(_dir: &INode<'_, Self>, _parent: &INode<'_, Self>) -> Result {
        Err(EROFS)
    }

    /// Whether directory `dir` has no entries but `.` and `..`.
    fn is_empty_dir(_dir: &INode<'_, Self>) -> Result<bool> {
        Err(EROFS)
    }

    /// Copies the value of extended attribute `name` in name space `ns`
    /// into `buf` and returns its length; with an empty `buf`, returns the
    /// length only. `ENODATA` if there is no such attribute, `ERANGE` if
    /// `buf` is too small. Only called once [`NewSuperBlock::enable_xattrs`]
    /// has been, as are the attribute methods below.
    fn get_xattr(
        _inode: &INode<'_, Self>,
        _ns: XattrNs,
        _name: &[u8],
        _buf: &mut [u8],
    ) -> Result<usize> {
        Err(EOPNOTSUPP)
    }

    /// Sets extended attribute `name` in `ns` to `value`, or removes it if
    /// `value` is `None`, durably; `how` says what to do when it exists or
    /// does not (`EEXIST`, `ENODATA`). The inode's lock is held; its change
    /// time is updated by the caller, which writes the inode afterwards.
    fn set_xattr(
        _inode: &INode<'_, Self>,
        _ns: XattrNs,
        _name: &[u8],
        _value: Option<&[u8]>,
        _how: XattrSet,
    ) -> Result {
        Err(EOPNOTSUPP)
    }

    /// Calls `f` with the name space and name of each extended attribute
    /// of `inode` (ACLs included, with empty names).
    fn list_xattrs(
        _inode: &INode<'_, Self>,
        _f: &mut dyn FnMut(XattrNs, &[u8]) -> Result,
    ) -> Result {
        Ok(())
    }

    /// Reads the POSIX ACL of type `typ` of `inode`: `None` if it has none.
    fn get_acl(_inode: &INode<'_, Self>, _typ: AclType) -> Result<Option<KVec<AclEntry>>> {
        Ok(None)
    }

    /// Stores (or with `None`, removes) the POSIX ACL of type `typ` of
    /// `inode`, durably. The mode and change time are the caller's.
    fn set_acl(_inode: &INode<'_, Self>, _typ: AclType, _acl: Option<&[AclEntry]>) -> Result {
        Err(EOPNOTSUPP)
    }

    /// The attribute flags of `inode` (`FS_*_FL`) that `chattr` and
    /// `FS_IOC_GETFLAGS` show: those the file system keeps.
    fn attr_flags(_inode: &INode<'_, Self>) -> u32 {
        0
    }

    /// Sets the attribute flags of `inode` from `flags` (`FS_IOC_SETFLAGS`
    /// or `chattr`), durably; the file system decides which of them it
    /// keeps and may change, and returns the flags now set. The VFS has
    /// checked the caller's rights (owner, `CAP_LINUX_IMMUTABLE` for the
    /// immutable and append-only flags); this module then applies
    /// [`ATTR_VFS_FLAGS`] to the inode and updates its change time.
    fn set_attr_flags(_inode: &INode<'_, Self>, _flags: u32) -> Result<u32> {
        Err(EOPNOTSUPP)
    }

    /// The file system's label (without NUL), for `FS_IOC_GETFSLABEL`.
    fn label(_sb: &SuperBlock<Self>, _buf: &mut [u8; FSLABEL_MAX]) -> Result<usize> {
        Err(ENOTTY)
    }

    /// Sets the label to `label` (without NUL), durably, for
    /// `FS_IOC_SETFSLABEL`: `EINVAL` if it is too long. The caller has
    /// `CAP_SYS_ADMIN` and write access to the mount.
    fn set_label(_sb: &SuperBlock<Self>, _label: &[u8]) -> Result {
        Err(ENOTTY)
    }

    /// Writes the superblock durably: its counters, and a state that says
    /// whether the file system is `clean` (unmounted or read-only) or in
    /// use. Called with `clean == false` before a read-write mount or
    /// remount proceeds (refusing it if the file system must stay
    /// read-only), and with `true` on unmount and read-only remount.
    fn write_super(_sb: &SuperBlock<Self>, _clean: bool) -> Result {
        Err(EROFS)
    }
}

/// A new inode's type, permissions, owner and time, for
/// [`FileSystem::new_inode`].
pub struct NewNode {
    /// Type (and, for symlinks and devices, their data).
    pub typ: INodeType,
    /// Permission bits (`S_ISUID`, `S_ISGID`, `S_ISVTX` and `rwx`).
    pub mode: u16,
    /// Owner.
    pub uid: u32,
    /// Group.
    pub gid: u32,
    /// Access, modification and change time, seconds.
    pub time: i64,
}

/// An extended attribute name space.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum XattrNs {
    /// `user.`: for regular files and directories.
    User,
    /// `trusted.`: for `CAP_SYS_ADMIN` only.
    Trusted,
    /// `security.`: for security modules.
    Security,
    /// `system.posix_acl_access`: the access ACL, through
    /// [`FileSystem::get_acl`] and [`FileSystem::set_acl`].
    AclAccess,
    /// `system.posix_acl_default`: a directory's default ACL.
    AclDefault,
}

impl XattrNs {
    /// The prefix of the name space's attribute names.
    fn prefix(self) -> &'static [u8] {
        match self {
            XattrNs::User => b"user.",
            XattrNs::Trusted => b"trusted.",
            XattrNs::Security => b"security.",
            XattrNs::AclAccess => b"system.posix_acl_access",
            XattrNs::AclDefault => b"system.posix_acl_default",
        }
    }
}

/// What [`FileSystem::set_xattr`] does about an existing attribute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum XattrSet {
    /// Create or replace.
    Any,
    /// Create only: `EEXIST` if the attribute exists.
    Create,
    /// Replace only: `ENODATA` if it does not.
    Replace,
}

/// The two POSIX ACLs of an inode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AclType {
    /// The access ACL.
    Access,
    /// The default ACL of a directory, inherited by new entries.
    Default,
}

impl AclType {
    fn raw(self) -> c_int {
        match self {
            AclType::Access => bindings::ACL_TYPE_ACCESS as c_int,
            AclType::Default => bindings::ACL_TYPE_DEFAULT as c_int,
        }
    }

    fn from_raw(t: c_int) -> Result<Self> {
        match t as u32 {
            bindings::ACL_TYPE_ACCESS => Ok(AclType::Access),
            bindings::ACL_TYPE_DEFAULT => Ok(AclType::Default),
            _ => Err(EINVAL),
        }
    }
}

/// One POSIX ACL entry: a tag (`ACL_USER_OBJ` 0x01, `ACL_USER` 0x02,
/// `ACL_GROUP_OBJ` 0x04, `ACL_GROUP` 0x08, `ACL_MASK` 0x10, `ACL_OTHER`
/// 0x20), `rwx` permissions and, for named users and groups, the id in the
/// initial user namespace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AclEntry {
    /// The tag.
    pub tag: u16,
    /// Permissions (`4` read, `2` write, `1` execute).
    pub perm: u16,
    /// User or group id (`ACL_USER`, `ACL_GROUP`), else 0.
    pub id: u32,
}

/// A reference to a VFS `posix_acl`, or none.
///
/// # Invariants
///
/// The pointer is NULL or a `posix_acl` we hold a reference to.
struct AclRef(*mut bindings::posix_acl);

impl AclRef {
    /// Allocates an ACL holding `entries`.
    fn new(entries: &[AclEntry]) -> Result<Self> {
        let n = u32::try_from(entries.len()).map_err(|_| EINVAL)?;
        // SAFETY: No requirements.
        let acl = unsafe { bindings::posix_acl_alloc(n, bindings::GFP_KERNEL) };
        if acl.is_null() {
            return Err(ENOMEM);
        }
        for (i, e) in (0..n).zip(entries) {
            // SAFETY: `acl` has `n` entries.
            unsafe { bindings::blockfs_acl_set(acl, i, e.tag, e.perm, e.id) };
        }
        // INVARIANT: `posix_acl_alloc` returned a reference.
        Ok(Self(acl))
    }

    /// The entries.
    fn entries(&self) -> Result<KVec<AclEntry>> {
        // SAFETY: NULL or a valid ACL (type invariant).
        unsafe { acl_entries(self.0) }
    }

    /// Gives up our reference.
    fn into_raw(self) -> *mut bindings::posix_acl {
        core::mem::ManuallyDrop::new(self).0
    }
}

/// The entries of `acl` (none if NULL).
///
/// # Safety
///
/// `acl` is NULL or a valid ACL we hold a reference to during the call.
unsafe fn acl_entries(acl: *const bindings::posix_acl) -> Result<KVec<AclEntry>> {
    let mut v = KVec::new();
    if acl.is_null() {
        return Ok(v);
    }
    // SAFETY: A valid ACL (caller).
    let n = unsafe { bindings::blockfs_acl_count(acl) };
    for i in 0..n {
        let mut e = AclEntry {
            tag: 0,
            perm: 0,
            id: 0,
        };
        // SAFETY: `i` is below the ACL's entry count.
        unsafe { bindings::blockfs_acl_get(acl, i, &mut e.tag, &mut e.perm, &mut e.id) };
        v.push(e, GFP_KERNEL)?;
    }
    Ok(v)
}

impl Drop for AclRef {
    fn drop(&mut self) {
        if !self.0.is_null() {
            // SAFETY: Our reference (type invariant).
            unsafe { bindings::posix_acl_release(self.0) };
        }
    }
}

/// The abstraction's per-superblock state, in `s_fs_info`.
struct SbInfo<T: FileSystem> {
    data: Option<T::Data>,
    dax: *mut bindings::dax_device,
    /// Offset of the partition on the DAX device, added to device addresses.
    part_off: u64,
}

/// A superblock being set up: its data does not exist yet.
///
/// # Invariants
///
/// `sb` is a valid superblock of type `T` being filled, with an `SbInfo<T>`
/// in `s_fs_info`.
pub struct NewSuperBlock<'a, T: FileSystem> {
    sb: *mut bindings::super_block,
    _p: PhantomData<(&'a (), T)>,
}

impl<T: FileSystem> NewSuperBlock<'_, T> {
    /// Sets the block size (a power of two from 512 to `PAGE_SIZE`, not
    /// below the device's logical block size).
    pub fn set_block_size(&self, size: u32) -> Result {
        // SAFETY: By the type invariant `sb` is valid and being set up.
        if unsafe { bindings::sb_set_blocksize(self.sb, size as c_int) } == 0 {
            return Err(EINVAL);
        }
        Ok(())
    }

    /// Sets the largest file size.
    pub fn set_max_bytes(&self, max: u64) {
        // SAFETY: By the type invariant `sb` is valid and being set up.
        unsafe { (*self.sb).s_maxbytes = max.min(i64::MAX as u64) as i64 };
    }

    /// Sets the most links an inode may have (`EMLINK` past it).
    pub fn set_max_links(&self, max: u32) {
        // SAFETY: By the type invariant `sb` is valid and being set up.
        unsafe { (*self.sb).s_max_links = max };
    }

    /// Sets the range of timestamps the file system stores, in seconds;
    /// the VFS clamps times to it.
    pub fn set_time_range(&self, min: i64, max: i64) {
        // SAFETY: By the type invariant `sb` is valid and being set up.
        unsafe {
            (*self.sb).s_time_min = min;
            (*self.sb).s_time_max = max;
        }
    }

    /// Turns on extended attributes (see [`FileSystem::get_xattr`]) and,
    /// if `acl`, POSIX ACLs: permission checks use them and new inodes
    /// inherit default ACLs. Call before the first inode is read.
    pub fn enable_xattrs(&self, acl: bool) {
        let handlers: &'static XattrHandlers = &Tables::<T>::XATTR_HANDLERS;
        // SAFETY: By the type invariant `sb` is valid and being set up; the
        // handler table is static.
        unsafe {
            (*self.sb).s_xattr = handlers.0.as_ptr();
            if acl {
                (*self.sb).s_flags |= bindings::SB_POSIXACL as c_ulong;
            }
        }
    }

    /// Size of the device in bytes.
    pub fn device_size(&self) -> u64 {
        // SAFETY: `s_bdev` is set for block-device superblocks.
        let n = unsafe { bindings::bdev_nr_bytes((*self.sb).s_bdev) };
        u64::try_from(n).unwrap_or(0)
    }

    /// Reads block `block` (of the current block size).
    pub fn bread(&self, block: u64) -> Result<Buffer<'_>> {
        // SAFETY: `sb` is valid while it is being set up (type invariant).
        unsafe { Buffer::read_block(self.sb, block) }
    }

    /// Whether file data will be accessed with DAX (otherwise it goes
    /// through the page cache).
    pub fn dax(&self) -> bool {
        // SAFETY: By the type invariant `s_fs_info` is our `SbInfo<T>`.
        unsafe { !(*(*self.sb).s_fs_info.cast::<SbInfo<T>>()).dax.is_null() }
    }
}

/// A mounted superblock of file system `T`.
///
/// # Invariants
///
/// The wrapped superblock is of type `T`, with an `SbInfo<T>` whose data is
/// set in `s_fs_info`.
#[repr(transparent)]
pub struct SuperBlock<T: FileSystem>(Opaque<bindings::super_block>, PhantomData<T>);

impl<T: FileSystem> SuperBlock<T> {
    fn raw(&self) -> *mut bindings::super_block {
        self.0.get()
    }

    /// # Safety
    ///
    /// `sb` must be a superblock of `T` whose data is set, valid for `'a`.
    unsafe fn from_raw<'a>(sb: *mut bindings::super_block) -> &'a Self {
        // SAFETY: `SuperBlock` is a transparent wrapper (caller guarantees
        // the invariants).
        unsafe { &*sb.cast() }
    }

    fn info(&self) -> &SbInfo<T> {
        // SAFETY: By the type invariant `s_fs_info` is our `SbInfo<T>`,
        // which lives until `kill_sb`.
        unsafe { &*(*self.raw()).s_fs_info.cast::<SbInfo<T>>() }
    }

    /// The file system's data.
    pub fn data(&self) -> &T::Data {
        match &self.info().data {
            Some(d) => d,
            // By the type invariant the data is set.
            None => unreachable!(),
        }
    }

    /// Reads block `block` (of the file system's block size).
    pub fn bread(&self, block: u64) -> Result<Buffer<'_>> {
        // SAFETY: `raw` is a valid superblock (type invariant) while it is
        // borrowed.
        unsafe { Buffer::read_block(self.raw(), block) }
    }

    /// Gets the inode `ino`: a cached one, or a new one to be filled.
    pub fn iget(&self, ino: u64) -> Result<GetINode<'_, T>> {
        // SAFETY: The superblock is valid.
        let inode =
            NonNull::new(unsafe { bindings::iget_locked(self.raw(), ino) }).ok_or(ENOMEM)?;
        // SAFETY: `iget_locked` returned a referenced inode of this sb.
        if unsafe { bindings::inode_is_new(inode.as_ptr()) } {
            // INVARIANT: A new, locked inode with our reference.
            Ok(GetINode::New(NewINode {
                inode,
                _p: PhantomData,
            }))
        } else {
            // SAFETY: A cached inode of ours is fully set up; we own the
            // reference `iget_locked` took.
            Ok(GetINode::Cached(unsafe { ARef::from_raw(inode.cast()) }))
        }
    }

    /// Gets block `block` without reading it, filled with zeros: for blocks
    /// being allocated for metadata.
    pub fn new_buffer(&self, block: u64) -> Result<Buffer<'_>> {
        // SAFETY: As in `bread`.
        unsafe { Buffer::new_zeroed(self.raw(), block) }
    }

    /// Zeroes `count` blocks from `block` on the device, durably, through
    /// the DAX device (the way data blocks are written): an ordering
    /// point. The driver zeroes with non-temporal stores and no fence, so
    /// a cache flush (`REQ_PREFLUSH`) follows, before anything may point
    /// at the blocks.
    pub fn zero_blocks(&self, block: u64, count: u64) -> Result {
        let info = self.info();
        if info.dax.is_null() {
            return Err(EROFS);
        }
        // SAFETY: `raw` is a valid superblock.
        let bits = unsafe { (*self.raw()).s_blocksize_bits };
        let page_shift = bindings::PAGE_SHIFT;
        let start = block
            .checked_shl(u32::from(bits))
            .and_then(|b| b.checked_add(info.part_off))
            .ok_or(EIO)?;
        let pages = count.checked_shl(u32::from(bits)).ok_or(EIO)? >> page_shift;
        let first = start >> page_shift;
        // SAFETY: No requirements; the read lock keeps the DAX device alive.
        let id = unsafe { bindings::dax_read_lock() };
        // `dax_zero_page_range` zeroes one page per call (device mapper
        // targets may split larger ranges).
        let r = (first..first + pages).try_for_each(|pgoff| {
            // SAFETY: `dax` is the DAX device of our mounted superblock,
            // held until `kill_sb`, and alive under the read lock. The page
            // is within the file system, which fits the device (checked by
            // the file system at mount).
            to_result(unsafe { bindings::dax_zero_page_range(info.dax, pgoff as usize, 1) })
        });
        // SAFETY: Taken above.
        unsafe { bindings::dax_read_unlock(id) };
        r?;
        // SAFETY: `s_bdev` is the mounted device, open until `kill_sb`.
        to_result(unsafe { bindings::blkdev_issue_flush((*self.raw()).s_bdev) })
    }

    /// Whether the superblock is mounted read-only.
    pub fn read_only(&self) -> bool {
        // SAFETY: `raw` is a valid superblock; `s_flags` is read once.
        let flags = unsafe { (*self.raw()).s_flags };
        flags & bindings::SB_RDONLY as c_ulong != 0
    }

    /// Whether the current task may use blocks reserved for the
    /// administrator (`CAP_SYS_RESOURCE`).
    pub fn may_use_reserved(&self) -> bool {
        // SAFETY: No requirements.
        unsafe { bindings::capable(bindings::CAP_SYS_RESOURCE as c_int) }
    }

    /// The superblock's name (the device, as in `rpmem0`).
    pub fn id(&self) -> &CStr {
        // SAFETY: `s_id` is a NUL-terminated name set by the VFS before
        // the file system sees the superblock, and not changed after.
        unsafe { CStr::from_char_ptr((*self.raw()).s_id.as_ptr()) }
    }
}

/// The result of [`SuperBlock::iget`].
pub enum GetINode<'a, T: FileSystem> {
    /// The inode was in the cache.
    Cached(ARef<INode<'a, T>>),
    /// The inode is new: fill it with [`NewINode::init`].
    New(NewINode<'a, T>),
}

/// A block of a block device in the buffer cache (`struct buffer_head`).
///
/// Its bytes are reached only under the buffer lock (`lock_buffer`), by
/// [`Head::read`] and [`Head::modify`]: two users of one block (a lookup
/// reading an inode-table block while another inode in it is written)
/// never see each other's half-made changes, and write-out never sees
/// one. The closures must not sleep on other buffers or do I/O: they run
/// with the lock held.
///
/// # Invariants
///
/// A `Head` is only reached through a reference-counted buffer head of an
/// open block device whose data is up to date and `b_size` bytes long.
#[repr(transparent)]
pub struct Head(Opaque<bindings::buffer_head>);

// SAFETY: Buffer heads are reference counted with `get_bh`/`put_bh`
// (`brelse`), which may be called from any thread.
unsafe impl AlwaysRefCounted for Head {
    fn inc_ref(&self) {
        // SAFETY: A shared reference means the count is non-zero.
        unsafe { bindings::get_bh(self.0.get()) };
    }

    unsafe fn dec_ref(obj: NonNull<Self>) {
        // SAFETY: The caller owns a reference.
        unsafe { bindings::brelse(obj.cast().as_ptr()) };
    }
}

// SAFETY: The bytes are only reached under the buffer lock; the rest of
// the buffer head is the buffer cache's, which is thread safe.
unsafe impl Send for Head {}
// SAFETY: See `Send`.
unsafe impl Sync for Head {}

impl Head {
    fn raw(&self) -> *mut bindings::buffer_head {
        self.0.get()
    }

    /// Runs `f` on the block's bytes under the buffer lock, for reading.
    pub fn read<R>(&self, f: impl FnOnce(&[u8]) -> R) -> R {
        let bh = self.raw();
        // SAFETY: By the type invariant the buffer is referenced and up to
        // date, and `b_data` is valid for `b_size` bytes. The lock keeps
        // `modify` and `new_zeroed`, the only writers, away meanwhile.
        unsafe {
            bindings::lock_buffer(bh);
            let data = core::slice::from_raw_parts((*bh).b_data.cast::<u8>(), (*bh).b_size);
            let r = f(data);
            bindings::unlock_buffer(bh);
            r
        }
    }

    /// Changes the block's bytes with `f`, under the buffer lock, and marks
    /// the buffer dirty. Use [`Head::sync`] to write it.
    pub fn modify<R>(&self, f: impl FnOnce(&mut [u8]) -> R) -> R {
        let bh = self.raw();
        // SAFETY: As in `read`; the lock excludes every other access to the
        // bytes (`read`, `modify`) and write-out, so the slice is unique.
        unsafe {
            bindings::lock_buffer(bh);
            let data = core::slice::from_raw_parts_mut((*bh).b_data.cast::<u8>(), (*bh).b_size);
            let r = f(data);
            bindings::mark_buffer_dirty(bh);
            bindings::unlock_buffer(bh);
            r
        }
    }

    /// Makes the block's contents durable, and everything written to the
    /// device before: an ordering point. A dirty buffer is written with
    /// `REQ_FUA` (a pmem driver copies, then fences with `nvdimm_flush`);
    /// one already written by write-back, which sets no such flag, gets an
    /// explicit cache flush (`REQ_PREFLUSH`) instead. Either way the flush
    /// happens on the device's own flush path, so asynchronous regions
    /// (virtio-pmem) are covered too.
    pub fn sync(&self) -> Result {
        let bh = self.raw();
        // SAFETY: The buffer is referenced and up to date (type invariant).
        // As `__sync_dirty_buffer`: with the buffer locked, write-back
        // cannot be writing it; `bh_end_write` unlocks it when the write
        // completes.
        unsafe {
            bindings::lock_buffer(bh);
            if bindings::test_clear_buffer_dirty(bh) != 0 {
                let op = bindings::req_op_REQ_OP_WRITE | bindings::REQ_SYNC | bindings::REQ_FUA;
                bindings::bh_submit(bh, op, Some(bindings::bh_end_write));
                bindings::wait_on_buffer(bh);
                return if bindings::buffer_uptodate(bh) != 0 {
                    Ok(())
                } else {
                    Err(EIO)
                };
            }
            bindings::unlock_buffer(bh);
            to_result(bindings::blkdev_issue_flush((*bh).b_bdev))
        }
    }
}

/// A referenced block of the device of a superblock, from
/// [`SuperBlock::bread`] or [`SuperBlock::new_buffer`]; see [`Head`].
///
/// It lives no longer than the borrow of the superblock it came from, so a
/// file system cannot keep one past `put_super` (in its superblock data).
pub struct Buffer<'a> {
    head: ARef<Head>,
    _sb: PhantomData<&'a ()>,
}

impl core::ops::Deref for Buffer<'_> {
    type Target = Head;

    fn deref(&self) -> &Head {
        &self.head
    }
}

impl Buffer<'_> {
    /// Reads block `block` of the superblock's block size.
    ///
    /// # Safety
    ///
    /// `sb` must be a valid block-device superblock, for the buffer's
    /// lifetime.
    unsafe fn read_block(sb: *mut bindings::super_block, block: u64) -> Result<Self> {
        // SAFETY: `sb` is valid (caller).
        let bh = NonNull::new(unsafe { bindings::sb_bread(sb, block) }).ok_or(EIO)?;
        // SAFETY: `sb_bread` returns a referenced, up-to-date buffer: ours.
        let head = unsafe { ARef::from_raw(bh.cast()) };
        Ok(Self {
            head,
            _sb: PhantomData,
        })
    }

    /// Gets block `block` without reading it, filled with zeros.
    ///
    /// # Safety
    ///
    /// As for `read_block`.
    unsafe fn new_zeroed(sb: *mut bindings::super_block, block: u64) -> Result<Self> {
        // SAFETY: `sb` is valid (caller).
        let bh = NonNull::new(unsafe { bindings::sb_getblk(sb, block) }).ok_or(ENOMEM)?;
        // SAFETY: `bh` is a referenced buffer; under its lock no I/O runs on
        // it and no `read` or `modify` sees the bytes being zeroed.
        unsafe {
            let b = bh.as_ptr();
            bindings::lock_buffer(b);
            core::ptr::write_bytes((*b).b_data.cast::<u8>(), 0, (*b).b_size);
            bindings::set_buffer_uptodate(b);
            bindings::unlock_buffer(b);
        }
        // SAFETY: Referenced and now up to date: ours.
        let head = unsafe { ARef::from_raw(bh.cast()) };
        Ok(Self {
            head,
            _sb: PhantomData,
        })
    }
}

/// The allocation behind every inode of `T`: the file system's data and the
/// VFS inode.
#[repr(C)]
struct INodeWithData<T: FileSystem> {
    data: MaybeUninit<T::INodeData>,
    data_init: bool,
    link: Option<KVec<u8>>,
    inode: Opaque<bindings::inode>,
}

impl<T: FileSystem> INodeWithData<T> {
    /// The allocation that `inode` is embedded in.
    ///
    /// # Safety
    ///
    /// `inode` must point to the `inode` field of an `INodeWithData<T>`
    /// (every inode of a superblock of `T`, from `alloc_inode`).
    unsafe fn from_inode(inode: *mut bindings::inode) -> *mut Self {
        // SAFETY: As the caller guarantees.
        unsafe {
            crate::container_of!(
                inode.cast_const().cast::<Opaque<bindings::inode>>(),
                Self,
                inode
            )
        }
        .cast_mut()
    }
}

/// An inode of file system `T`, as the VFS hands it to callbacks that may
/// run while nobody holds a reference to it: eviction and write-back. It
/// has every accessor of an inode but one: taking a reference, which on an
/// inode whose count is zero (being evicted, or cached unused) would
/// resurrect it. Everywhere else file systems get an [`INode`], which
/// dereferences to this.
///
/// # Invariants
///
/// The wrapped inode is embedded in an `INodeWithData<T>` whose data is
/// initialised, and stays valid while it is borrowed.
#[repr(transparent)]
pub struct BareINode<T: FileSystem>(Opaque<bindings::inode>, PhantomData<T>);

// SAFETY: Inodes are shared between threads by design; `T::INodeData` is
// `Send + Sync`.
unsafe impl<T: FileSystem> Send for BareINode<T> {}
// SAFETY: See `Send`.
unsafe impl<T: FileSystem> Sync for BareINode<T> {}

/// A referenced inode of file system `T`, whose superblock is borrowed for
/// `'a`.
///
/// Holding one means the inode's count is not zero, so more references can
/// be taken (`ARef<INode>`). The lifetime ties them to the superblock: a
/// file system cannot keep an inode in its superblock data (`'static`),
/// from where it would be released after `put_super`, when the data it
/// needs to evict it is gone.
///
/// # Invariants
///
/// As for [`BareINode`], and the inode's reference count is not zero while
/// it is borrowed.
#[repr(transparent)]
pub struct INode<'a, T: FileSystem>(BareINode<T>, PhantomData<&'a ()>);

// SAFETY: Inodes are reference counted by `ihold`/`iput`.
unsafe impl<T: FileSystem> AlwaysRefCounted for INode<'_, T> {
    fn inc_ref(&self) {
        // SAFETY: By the type invariant the count is non-zero.
        unsafe { bindings::ihold(self.0.raw()) };
    }

    unsafe fn dec_ref(obj: NonNull<Self>) {
        // SAFETY: The caller owns a reference.
        unsafe { bindings::iput(obj.as_ref().0.raw()) };
    }
}

impl<T: FileSystem> core::ops::Deref for INode<'_, T> {
    type Target = BareINode<T>;

    fn deref(&self) -> &BareINode<T> {
        &self.0
    }
}

impl<'a, T: FileSystem> INode<'a, T> {
    /// # Safety
    ///
    /// `inode` must be an initialised inode of `T` with a reference held
    /// for `'a` (by the caller or the VFS), of a superblock valid for `'a`.
    unsafe fn from_raw(inode: *mut bindings::inode) -> &'a Self {
        // SAFETY: Transparent wrappers; the caller guarantees the invariants.
        unsafe { &*inode.cast() }
    }

    /// The superblock, for as long as the inode is borrowed.
    pub fn sb(&self) -> &'a SuperBlock<T> {
        // SAFETY: The inode's superblock is ours, valid for `'a` (type
        // invariant), with its data set before any initialised inode exists.
        unsafe { SuperBlock::from_raw((*self.0.raw()).i_sb) }
    }
}

impl<T: FileSystem> BareINode<T> {
    /// # Safety
    ///
    /// `inode` must be an initialised inode of `T`, valid for `'a`.
    unsafe fn from_raw<'a>(inode: *mut bindings::inode) -> &'a Self {
        // SAFETY: Transparent wrapper; the caller guarantees the invariants.
        unsafe { &*inode.cast() }
    }

    fn raw(&self) -> *mut bindings::inode {
        self.0.get()
    }

    fn container(&self) -> *mut INodeWithData<T> {
        // SAFETY: By the type invariant the inode is embedded in an
        // `INodeWithData<T>`.
        unsafe { INodeWithData::<T>::from_inode(self.0.get()) }
    }

    /// The inode number.
    pub fn ino(&self) -> u64 {
        // SAFETY: `i_ino` does not change after the inode is set up.
        unsafe { (*self.raw()).i_ino }
    }

    /// The size in bytes.
    pub fn size(&self) -> u64 {
        // SAFETY: `i_size_read` reads `i_size` safely against writers.
        unsafe { bindings::i_size_read(self.raw()) as u64 }
    }

    /// Sets the size in bytes (in memory; see [`FileSystem::write_inode`]).
    /// Callers hold the inode lock or own the inode.
    pub fn set_size(&self, size: u64) {
        // SAFETY: `i_size_write` is safe against readers; writers are
        // serialised by the inode lock (caller).
        unsafe { bindings::i_size_write(self.raw(), size.min(i64::MAX as u64) as i64) };
    }

    /// The file type and permission bits (`st_mode`).
    pub fn mode(&self) -> u16 {
        // SAFETY: A read of `i_mode`, which only `chmod` changes, under
        // the inode lock, one store at a time.
        unsafe { core::ptr::read_volatile(&raw const (*self.raw()).i_mode) }
    }

    /// Whether this is a directory.
    pub fn is_dir(&self) -> bool {
        u32::from(self.mode()) & bindings::S_IFMT == bindings::S_IFDIR
    }

    /// The link count.
    pub fn nlink(&self) -> u32 {
        // SAFETY: `i_nlink` is a plain counter read once.
        unsafe { core::ptr::read_volatile(&raw const (*self.raw()).__bindgen_anon_1.i_nlink) }
    }

    /// Adds a link (in memory; see [`FileSystem::write_inode`]).
    pub fn inc_nlink(&self) {
        // SAFETY: Link counts change under the locks the VFS holds for
        // namespace operations.
        unsafe { bindings::inc_nlink(self.raw()) };
    }

    /// Drops a link (in memory).
    pub fn drop_nlink(&self) {
        if self.nlink() > 0 {
            // SAFETY: As in `inc_nlink`; the count is not zero.
            unsafe { bindings::drop_nlink(self.raw()) };
        }
    }

    /// Drops all links (in memory).
    pub fn clear_nlink(&self) {
        // SAFETY: As in `inc_nlink`.
        unsafe { bindings::clear_nlink(self.raw()) };
    }

    /// The owner.
    pub fn uid(&self) -> u32 {
        // SAFETY: The inode is valid.
        unsafe { bindings::i_uid_read(self.raw()) }
    }

    /// The group.
    pub fn gid(&self) -> u32 {
        // SAFETY: The inode is valid.
        unsafe { bindings::i_gid_read(self.raw()) }
    }

    /// Access time, seconds.
    pub fn atime(&self) -> i64 {
        // SAFETY: The inode is valid.
        unsafe { bindings::inode_get_atime_sec(self.raw()) }
    }

    /// Modification time, seconds.
    pub fn mtime(&self) -> i64 {
        // SAFETY: The inode is valid.
        unsafe { bindings::inode_get_mtime_sec(self.raw()) }
    }

    /// Change time, seconds.
    pub fn ctime(&self) -> i64 {
        // SAFETY: The inode is valid.
        unsafe { bindings::inode_get_ctime_sec(self.raw()) }
    }

    /// Sets the change time to now.
    pub fn touch_ctime(&self) {
        // SAFETY: The inode is valid; callers hold its lock.
        unsafe { bindings::inode_set_ctime_current(self.raw()) };
    }

    /// Sets the modification and change times to now.
    pub fn touch_mtime(&self) {
        // SAFETY: The inode is valid; callers hold its lock.
        unsafe {
            let now = bindings::inode_set_ctime_current(self.raw());
            bindings::inode_set_mtime_to_ts(self.raw(), now);
        }
    }

    /// Sets the allocated size, in 512-byte sectors (in memory).
    pub fn set_blocks(&self, sectors: u64) {
        // SAFETY: The file system serialises block accounting of an inode.
        unsafe { (*self.raw()).i_blocks = sectors };
    }

    /// The superblock.
    pub fn super_block(&self) -> &SuperBlock<T> {
        // SAFETY: The inode's superblock is ours and outlives the inode;
        // its data is set before any initialised inode exists.
        unsafe { SuperBlock::from_raw((*self.raw()).i_sb) }
    }

    /// The file system's data for this inode.
    pub fn data(&self) -> &T::INodeData {
        // SAFETY: By the type invariant the data is initialised, and it is
        // only dropped when the inode is freed.
        unsafe { (*self.container()).data.assume_init_ref() }
    }
}

/// A new inode, locked until [`NewINode::init`] fills it.
///
/// Dropping it without `init` marks the inode bad and releases it.
///
/// # Invariants
///
/// `inode` is a new (`I_NEW`) inode of `T` on which we own a reference.
pub struct NewINode<'a, T: FileSystem> {
    inode: NonNull<bindings::inode>,
    _p: PhantomData<(&'a SuperBlock<T>, T)>,
}

impl<'a, T: FileSystem> NewINode<'a, T> {
    /// Fills the inode, unlocks it, and returns it.
    pub fn init(self, params: INodeParams, data: T::INodeData) -> Result<ARef<INode<'a, T>>> {
        let inode = self.inode.as_ptr();
        // SAFETY: By the type invariant `inode` is embedded in an
        // `INodeWithData<T>`.
        let container = unsafe { INodeWithData::<T>::from_inode(inode) };
        let sb = &Tables::<T>::TABLES;
        let (fmt, rdev) = match &params.typ {
            INodeType::Reg => (bindings::S_IFREG, 0),
            INodeType::Dir => (bindings::S_IFDIR, 0),
            INodeType::Symlink(_) => (bindings::S_IFLNK, 0),
            INodeType::Chr(ma, mi) => (bindings::S_IFCHR, mkdev(*ma, *mi)),
            INodeType::Blk(ma, mi) => (bindings::S_IFBLK, mkdev(*ma, *mi)),
            INodeType::Fifo => (bindings::S_IFIFO, 0),
            INodeType::Sock => (bindings::S_IFSOCK, 0),
        };
        let mode = (fmt | (u32::from(params.mode) & 0o7777)) as u16;
        // SAFETY: The inode is new and locked: we are its only user.
        unsafe {
            (*inode).i_mode = mode;
            bindings::i_size_write(inode, params.size.min(i64::MAX as u64) as i64);
            bindings::set_nlink(inode, params.nlink);
            bindings::i_uid_write(inode, params.uid);
            bindings::i_gid_write(inode, params.gid);
            bindings::inode_set_times(inode, params.atime, params.mtime, params.ctime);
            (*inode).i_blocks = params.blocks;
            (*inode).i_flags |= vfs_flags(params.attr_flags);
        }
        match params.typ {
            INodeType::Reg => {
                let sbi = {
                    // SAFETY: `i_sb` is ours, with `SbInfo<T>` set.
                    unsafe { &*(*(*inode).i_sb).s_fs_info.cast::<SbInfo<T>>() }
                };
                // SAFETY: As above; the tables are static.
                unsafe {
                    (*inode).i_op = &sb.file_iops;
                    (*inode).__bindgen_anon_3.i_fop = &sb.file_fops;
                    if sbi.dax.is_null() {
                        (*(*inode).i_mapping).a_ops = &sb.aops;
                    } else {
                        (*inode).i_flags |= bindings::S_DAX;
                        (*(*inode).i_mapping).a_ops = &sb.dax_aops;
                    }
                }
            }
            INodeType::Dir => {
                // SAFETY: As above.
                unsafe {
                    (*inode).i_op = &sb.dir_iops;
                    (*inode).__bindgen_anon_3.i_fop = &sb.dir_fops;
                }
            }
            INodeType::Symlink(mut target) => {
                target.push(0, GFP_KERNEL)?;
                // SAFETY: We are the only user of the new inode; the target
                // lives in the container until the inode is freed, and
                // `KVec`'s buffer does not move when the vector does.
                unsafe {
                    (*container).link = Some(target);
                    if let Some(t) = &(*container).link {
                        (*inode).__bindgen_anon_5.i_link = t.as_ptr().cast_mut().cast();
                    }
                    (*inode).i_op = &sb.sym_iops;
                }
            }
            _ => {
                // SAFETY: As above; `init_special_inode` sets the file
                // operations, the inode operations are ours.
                unsafe {
                    bindings::init_special_inode(inode, mode, rdev);
                    (*inode).i_op = &sb.special_iops;
                }
            }
        }
        // SAFETY: As above; the data is dropped in `free_inode`.
        unsafe {
            (*container).data.write(data);
            (*container).data_init = true;
            bindings::unlock_new_inode(inode);
        }
        let this = core::mem::ManuallyDrop::new(self);
        // SAFETY: Now initialised; we hand our reference to the `ARef`.
        Ok(unsafe { ARef::from_raw(this.inode.cast()) })
    }
}

impl<T: FileSystem> Drop for NewINode<'_, T> {
    fn drop(&mut self) {
        // SAFETY: By the type invariant the inode is new and ours.
        unsafe { bindings::iget_failed(self.inode.as_ptr()) };
    }
}

/// 32-bit callers' ioctls, which take pointer arguments: as native ones.
#[cfg(CONFIG_COMPAT)]
const COMPAT_IOCTL: Option<unsafe extern "C" fn(*mut bindings::file, c_uint, c_ulong) -> c_long> =
    Some(bindings::compat_ptr_ioctl);
#[cfg(not(CONFIG_COMPAT))]
const COMPAT_IOCTL: Option<unsafe extern "C" fn(*mut bindings::file, c_uint, c_ulong) -> c_long> =
    None;

/// The inode flags (`S_*`) the VFS enforces for attribute flags `attr`
/// (`FS_*_FL`; see [`ATTR_VFS_FLAGS`]).
fn vfs_flags(attr: u32) -> c_uint {
    [
        (bindings::FS_SYNC_FL, bindings::S_SYNC),
        (bindings::FS_IMMUTABLE_FL, bindings::S_IMMUTABLE),
        (bindings::FS_APPEND_FL, bindings::S_APPEND),
        (bindings::FS_NOATIME_FL, bindings::S_NOATIME),
        (bindings::FS_DIRSYNC_FL, bindings::S_DIRSYNC),
    ]
    .iter()
    .filter(|(fl, _)| attr & fl != 0)
    .fold(0, |acc, (_, s)| acc | s)
}

fn mkdev(major: u32, minor: u32) -> u32 {
    ((major & 0xfff) << 20) | (minor & 0xfffff)
}

/// Emits directory entries for `iterate_shared`.
///
/// # Invariants
///
/// `ctx` is the valid `dir_context` of the current `iterate_shared` call.
pub struct DirEmitter<'a> {
    ctx: *mut bindings::dir_context,
    _p: PhantomData<&'a mut bindings::dir_context>,
}

/// `d_type` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u32)]
pub enum DirEntryType {
    /// Unknown.
    Unknown = bindings::DT_UNKNOWN,
    /// Regular file.
    Reg = bindings::DT_REG,
    /// Directory.
    Dir = bindings::DT_DIR,
    /// Character device.
    Chr = bindings::DT_CHR,
    /// Block device.
    Blk = bindings::DT_BLK,
    /// FIFO.
    Fifo = bindings::DT_FIFO,
    /// Socket.
    Sock = bindings::DT_SOCK,
    /// Symbolic link.
    Lnk = bindings::DT_LNK,
}

impl DirEmitter<'_> {
    /// The position to continue from.
    pub fn pos(&self) -> i64 {
        // SAFETY: `ctx` is valid (type invariant).
        unsafe { (*self.ctx).pos }
    }

    /// Sets the position to continue from.
    pub fn set_pos(&mut self, pos: i64) {
        // SAFETY: `ctx` is valid (type invariant) and ours during the call.
        unsafe { (*self.ctx).pos = pos };
    }

    /// Emits one entry; returns `false` when the caller's buffer is full
    /// (stop, without advancing the position past this entry).
    pub fn emit(&mut self, name: &[u8], ino: u64, typ: DirEntryType) -> bool {
        let Ok(len) = c_int::try_from(name.len()) else {
            return false;
        };
        // SAFETY: `ctx` is valid; `name` is valid for `len` bytes.
        unsafe { bindings::dir_emit(self.ctx, name.as_ptr().cast(), len, ino, typ as u32) }
    }
}

/// A NULL-terminated `s_xattr` array.
pub struct XattrHandlers([*const bindings::xattr_handler; 4]);

// SAFETY: The pointers are to immutable handler tables.
unsafe impl Sync for XattrHandlers {}

/// The VFS tables of file system `T`.
pub struct Tables<T: FileSystem> {
    super_ops: bindings::super_operations,
    dir_iops: bindings::inode_operations,
    dir_fops: bindings::file_operations,
    file_iops: bindings::inode_operations,
    file_fops: bindings::file_operations,
    sym_iops: bindings::inode_operations,
    special_iops: bindings::inode_operations,
    dax_aops: bindings::address_space_operations,
    aops: bindings::address_space_operations,
    dax_vm_ops: bindings::vm_operations_struct,
    iomap_ops: bindings::iomap_ops,
    ctx_ops: bindings::fs_context_operations,
    _p: PhantomData<T>,
}

// SAFETY: The tables are immutable function pointer tables.
unsafe impl<T: FileSystem> Sync for Tables<T> {}

impl<T: FileSystem> Tables<T> {
    const TABLES: Self = Self {
        super_ops: bindings::super_operations {
            alloc_inode: Some(Self::alloc_inode),
            free_inode: Some(Self::free_inode),
            evict_inode: Some(Self::evict_inode),
            put_super: Some(Self::put_super),
            write_inode: Some(Self::write_inode),
            sync_fs: Some(Self::sync_fs),
            statfs: Some(Self::statfs),
            show_options: Some(Self::show_options),
            ..pin_init::zeroed()
        },
        dir_iops: bindings::inode_operations {
            lookup: Some(Self::lookup),
            create: Some(Self::create),
            link: Some(Self::link),
            unlink: Some(Self::unlink),
            symlink: Some(Self::symlink),
            mkdir: Some(Self::mkdir),
            rmdir: Some(Self::rmdir),
            mknod: Some(Self::mknod),
            rename: Some(Self::rename),
            setattr: Some(Self::setattr),
            tmpfile: Some(Self::tmpfile),
            listxattr: Some(Self::listxattr),
            get_inode_acl: Some(Self::get_inode_acl),
            set_acl: Some(Self::set_acl),
            fileattr_get: Some(Self::fileattr_get),
            fileattr_set: Some(Self::fileattr_set),
            ..pin_init::zeroed()
        },
        dir_fops: bindings::file_operations {
            llseek: Some(bindings::generic_file_llseek),
            read: Some(bindings::generic_read_dir),
            iterate_shared: Some(Self::iterate_shared),
            fsync: Some(bindings::simple_fsync),
            unlocked_ioctl: Some(Self::ioctl),
            compat_ioctl: COMPAT_IOCTL,
            ..pin_init::zeroed()
        },
        file_iops: bindings::inode_operations {
            setattr: Some(Self::setattr),
            listxattr: Some(Self::listxattr),
            get_inode_acl: Some(Self::get_inode_acl),
            set_acl: Some(Self::set_acl),
            fileattr_get: Some(Self::fileattr_get),
            fileattr_set: Some(Self::fileattr_set),
            ..pin_init::zeroed()
        },
        sym_iops: bindings::inode_operations {
            get_link: Some(bindings::simple_get_link),
            setattr: Some(Self::setattr),
            listxattr: Some(Self::listxattr),
            ..pin_init::zeroed()
        },
        special_iops: bindings::inode_operations {
            setattr: Some(Self::setattr),
            listxattr: Some(Self::listxattr),
            get_inode_acl: Some(Self::get_inode_acl),
            set_acl: Some(Self::set_acl),
            ..pin_init::zeroed()
        },
        file_fops: bindings::file_operations {
            llseek: Some(Self::llseek),
            read_iter: Some(Self::read_iter),
            write_iter: Some(Self::write_iter),
            mmap_prepare: Some(Self::mmap_prepare),
            open: Some(Self::open),
            fsync: Some(bindings::simple_fsync),
            fallocate: Some(Self::fallocate),
            get_unmapped_area: Some(bindings::thp_get_unmapped_area),
            unlocked_ioctl: Some(Self::ioctl),
            compat_ioctl: COMPAT_IOCTL,
            splice_read: Some(bindings::copy_splice_read),
            splice_write: Some(bindings::iter_file_splice_write),
            // Reads and writes honour IOCB_NOWAIT (DAX has no buffering
            // to wait for; see `write_iter`).
            fop_flags: bindings::FOP_MMAP_SYNC
                | bindings::FOP_BUFFER_RASYNC
                | bindings::FOP_BUFFER_WASYNC,
            ..pin_init::zeroed()
        },
        dax_aops: bindings::address_space_operations {
            dirty_folio: Some(bindings::noop_dirty_folio),
            writepages: Some(Self::dax_writepages),
            ..pin_init::zeroed()
        },
        aops: bindings::address_space_operations {
            read_folio: Some(Self::read_folio),
            readahead: Some(Self::readahead),
            ..pin_init::zeroed()
        },
        dax_vm_ops: bindings::vm_operations_struct {
            fault: Some(Self::fault),
            huge_fault: Some(Self::huge_fault),
            page_mkwrite: Some(Self::fault),
            pfn_mkwrite: Some(Self::fault),
            ..pin_init::zeroed()
        },
        iomap_ops: bindings::iomap_ops {
            iomap_begin: Some(Self::iomap_begin),
            ..pin_init::zeroed()
        },
        ctx_ops: bindings::fs_context_operations {
            free: Some(Self::ctx_free),
            parse_param: Some(Self::parse_param),
            get_tree: Some(Self::get_tree),
            reconfigure: Some(Self::reconfigure),
            ..pin_init::zeroed()
        },
        _p: PhantomData,
    };

    const fn xattr_handler(prefix: &'static CStr, ns: XattrNs) -> bindings::xattr_handler {
        bindings::xattr_handler {
            name: core::ptr::null(),
            prefix: prefix.as_ptr().cast(),
            flags: ns as c_int,
            list: None,
            get: Some(Self::xattr_get),
            set: Some(Self::xattr_set),
        }
    }

    const USER_XATTR: bindings::xattr_handler = Self::xattr_handler(c"user.", XattrNs::User);
    const TRUSTED_XATTR: bindings::xattr_handler =
        Self::xattr_handler(c"trusted.", XattrNs::Trusted);
    const SECURITY_XATTR: bindings::xattr_handler =
        Self::xattr_handler(c"security.", XattrNs::Security);

    /// `s_xattr`. ACLs are not among them: the VFS serves their names
    /// through `get_inode_acl` and `set_acl`.
    const XATTR_HANDLERS: XattrHandlers = XattrHandlers([
        &Self::USER_XATTR,
        &Self::TRUSTED_XATTR,
        &Self::SECURITY_XATTR,
        core::ptr::null(),
    ]);

    // -- fs_context -------------------------------------------------------

    unsafe extern "C" fn init_fs_context(fc: *mut bindings::fs_context) -> c_int {
        from_result(|| {
            let opts = KBox::new(
                MountOptions {
                    dax: DaxMode::Default,
                    read_only: false,
                    acl: true,
                },
                GFP_KERNEL,
            )?;
            // SAFETY: The VFS passes a valid context being set up.
            unsafe {
                (*fc).fs_private = KBox::into_raw(opts).cast();
                (*fc).ops = &Self::TABLES.ctx_ops;
            }
            Ok(0)
        })
    }

    /// # Safety
    ///
    /// `fc` is a context set up by `init_fs_context`.
    unsafe fn opts<'a>(fc: *mut bindings::fs_context) -> &'a mut MountOptions {
        // SAFETY: `fs_private` is our `KBox<MountOptions>` (caller).
        unsafe { &mut *(*fc).fs_private.cast::<MountOptions>() }
    }

    unsafe extern "C" fn ctx_free(fc: *mut bindings::fs_context) {
        // SAFETY: Called once for our context; `fs_private` may be NULL if
        // `init_fs_context` failed.
        let p = unsafe { (*fc).fs_private };
        if !p.is_null() {
            // SAFETY: Came from `KBox::into_raw` in `init_fs_context`.
            drop(unsafe { KBox::from_raw(p.cast::<MountOptions>()) });
        }
    }

    unsafe extern "C" fn parse_param(
        fc: *mut bindings::fs_context,
        param: *mut bindings::fs_parameter,
    ) -> c_int {
        // SAFETY: The VFS passes a valid parameter with a NUL-terminated key.
        let key = unsafe { CStr::from_char_ptr((*param).key) };
        match key.to_bytes() {
            b"dax" => {}
            k @ (b"acl" | b"noacl") => {
                // SAFETY: Our context.
                unsafe { Self::opts(fc) }.acl = k == b"acl";
                return 0;
            }
            // Let the VFS handle (or refuse) the rest.
            _ => return -(bindings::ENOPARAM as c_int),
        }
        // SAFETY: For a string parameter `string` is a NUL-terminated value;
        // for a flag it is NULL.
        let value = unsafe {
            match (*param).type_() {
                bindings::fs_value_type_fs_value_is_flag => None,
                bindings::fs_value_type_fs_value_is_string => {
                    let s = (*param).__bindgen_anon_1.string;
                    (!s.is_null()).then(|| CStr::from_char_ptr(s))
                }
                _ => return EINVAL.to_errno(),
            }
        };
        let mode = match value.map(|v| v.to_bytes()) {
            None | Some(b"always") => DaxMode::Always,
            Some(b"never") => DaxMode::Never,
            Some(b"inode") => DaxMode::Inode,
            Some(_) => {
                pr_err!(
                    "{}: dax= takes always, never or inode\n",
                    T::NAME.to_str().unwrap_or("?")
                );
                return EINVAL.to_errno();
            }
        };
        // SAFETY: Our context.
        unsafe { Self::opts(fc) }.dax = mode;
        0
    }

    /// Remounts: switching to read-write marks the file system in use on
    /// disk (and may be refused), switching to read-only marks it clean
    /// (the VFS has synced it).
    unsafe extern "C" fn reconfigure(fc: *mut bindings::fs_context) -> c_int {
        from_result(|| {
            // SAFETY: The VFS passes a reconfiguration context of a mounted
            // superblock of ours, with `root` set.
            let (want_ro, sb) = unsafe {
                (
                    (*fc).sb_flags & bindings::SB_RDONLY != 0,
                    SuperBlock::<T>::from_raw((*(*fc).root).d_sb),
                )
            };
            if want_ro == sb.read_only() {
                return Ok(0);
            }
            if want_ro {
                T::write_super(sb, true)?;
            } else {
                if !T::READ_WRITE || sb.info().dax.is_null() {
                    pr_err!(
                        "{}: read-write mounts need DAX\n",
                        T::NAME.to_str().unwrap_or("?")
                    );
                    return Err(EROFS);
                }
                T::write_super(sb, false)?;
            }
            Ok(0)
        })
    }

    unsafe extern "C" fn get_tree(fc: *mut bindings::fs_context) -> c_int {
        // SAFETY: Our context; `fill_super` matches the expected signature.
        unsafe { bindings::get_tree_bdev(fc, Some(Self::fill_super)) }
    }

    unsafe extern "C" fn fill_super(
        sb: *mut bindings::super_block,
        fc: *mut bindings::fs_context,
    ) -> c_int {
        from_result(|| {
            // SAFETY: Our context.
            let mut opts = *unsafe { Self::opts(fc) };
            // SAFETY: The VFS passes the new superblock and our context.
            opts.read_only = unsafe { (*fc).sb_flags } & bindings::SB_RDONLY != 0;
            let name = T::NAME.to_str().unwrap_or("?");
            if opts.dax == DaxMode::Inode {
                pr_err!("{}: dax=inode is not supported\n", name);
                return Err(EINVAL);
            }
            let mut dax = core::ptr::null_mut();
            let mut part_off = 0u64;
            if opts.dax != DaxMode::Never {
                // SAFETY: `s_bdev` is the device being mounted. As ext4, no
                // holder: memory failures take the kernel's generic path.
                // Released with `fs_put_dax` in `kill_sb`.
                dax = unsafe {
                    bindings::fs_dax_get_by_bdev(
                        (*sb).s_bdev,
                        &mut part_off,
                        core::ptr::null_mut(),
                        core::ptr::null(),
                    )
                };
                if dax.is_null() && opts.dax == DaxMode::Always {
                    pr_err!("{}: DAX unsupported by block device\n", name);
                    return Err(EINVAL);
                }
            }
            if !opts.read_only && (!T::READ_WRITE || dax.is_null()) {
                // SAFETY: `dax` is NULL or came from `fs_dax_get_by_bdev`
                // with this holder; `fs_put_dax` accepts both.
                unsafe { bindings::fs_put_dax(dax, core::ptr::null_mut()) };
                pr_err!("{}: read-write mounts need DAX: mount with -o ro\n", name);
                return Err(EROFS);
            }
            let info = KBox::new(
                SbInfo::<T> {
                    data: None,
                    dax,
                    part_off,
                },
                GFP_KERNEL,
            )
            .inspect_err(|_| {
                // SAFETY: As above.
                unsafe { bindings::fs_put_dax(dax, core::ptr::null_mut()) };
            })?;
            // SAFETY: The new superblock is ours to set up; `kill_sb` frees
            // `s_fs_info` (also when this fails).
            unsafe {
                (*sb).s_fs_info = KBox::into_raw(info).cast();
                (*sb).s_op = &Self::TABLES.super_ops;
                (*sb).s_magic = T::MAGIC as usize;
                (*sb).s_time_gran = 1_000_000_000;
            }
            // INVARIANT: `sb` is being filled, with our `SbInfo`.
            let new = NewSuperBlock::<T> {
                sb,
                _p: PhantomData,
            };
            let data = T::fill_super(&new, &opts)?;
            // DAX maps device pages one to one with file pages.
            // SAFETY: The new superblock is ours to set up, with our
            // `SbInfo` in `s_fs_info`.
            let info = unsafe { &mut *(*sb).s_fs_info.cast::<SbInfo<T>>() };
            // SAFETY: As above.
            let page_blocks = unsafe { (*sb).s_blocksize } == bindings::PAGE_SIZE;
            if !info.dax.is_null() && !page_blocks {
                if opts.dax == DaxMode::Always {
                    pr_err!("{}: DAX needs the block size to be the page size\n", name);
                    return Err(EINVAL);
                }
                // SAFETY: Taken above, with no holder.
                unsafe { bindings::fs_put_dax(info.dax, core::ptr::null_mut()) };
                info.dax = core::ptr::null_mut();
            }
            // SAFETY: Set above.
            unsafe { (*(*sb).s_fs_info.cast::<SbInfo<T>>()).data = Some(data) };
            // SAFETY: The data is set: a full superblock of `T` now.
            let sbr = unsafe { SuperBlock::<T>::from_raw(sb) };
            let root = T::root(sbr)?;
            if !opts.read_only {
                T::write_super(sbr, false)?;
            }
            let root = ARef::into_raw(root);
            // SAFETY: `d_make_root` consumes the inode reference, also on
            // failure.
            let dentry = unsafe { bindings::d_make_root(root.as_ptr().cast()) };
            if dentry.is_null() {
                return Err(ENOMEM);
            }
            // SAFETY: The new superblock is ours to set up.
            unsafe { (*sb).s_root = dentry };
            Ok(0)
        })
    }

    unsafe extern "C" fn kill_sb(sb: *mut bindings::super_block) {
        // SAFETY: The VFS passes one of our superblocks, once.
        let info = unsafe { (*sb).s_fs_info };
        // SAFETY: As above; this evicts all inodes first.
        unsafe { bindings::kill_block_super(sb) };
        if !info.is_null() {
            // SAFETY: `s_fs_info` came from `KBox::into_raw` in `fill_super`.
            let info = unsafe { KBox::from_raw(info.cast::<SbInfo<T>>()) };
            if !info.dax.is_null() {
                // SAFETY: Taken in `fill_super` with this holder.
                unsafe { bindings::fs_put_dax(info.dax, core::ptr::null_mut()) };
            }
        }
    }

    // -- super_operations -------------------------------------------------

    unsafe extern "C" fn alloc_inode(_sb: *mut bindings::super_block) -> *mut bindings::inode {
        let Ok(b) = KBox::new(
            INodeWithData::<T> {
                data: MaybeUninit::uninit(),
                data_init: false,
                link: None,
                inode: Opaque::uninit(),
            },
            GFP_KERNEL,
        ) else {
            return core::ptr::null_mut();
        };
        let p = KBox::into_raw(b);
        // SAFETY: `p` is a valid allocation; `inode_init_once` initialises
        // the fields that must survive reuse (we never reuse).
        unsafe {
            let inode = (*p).inode.get();
            bindings::inode_init_once(inode);
            inode
        }
    }

    unsafe extern "C" fn free_inode(inode: *mut bindings::inode) {
        // SAFETY: All our inodes come from `alloc_inode`, embedded in a
        // `KBox<INodeWithData<T>>`; the VFS frees each once, after use. The
        // file system's data was dropped in `evict_inode` (which every
        // initialised inode goes through), not here in RCU context; the
        // `MaybeUninit` is not dropped with the box.
        unsafe {
            drop(KBox::from_raw(INodeWithData::<T>::from_inode(inode)));
        }
    }

    unsafe extern "C" fn evict_inode(inode: *mut bindings::inode) {
        // SAFETY: The VFS evicts each inode once, when nothing uses it, in
        // process context. As in ext4: DAX entries (and pinned DAX pages)
        // must be gone before the mapping is truncated, or truncation finds
        // them and warns. The file system's data is dropped here, where it
        // may sleep, rather than in the RCU callback that frees the inode.
        unsafe {
            let c = INodeWithData::<T>::from_inode(inode);
            bindings::dax_break_layout_final(inode);
            bindings::truncate_inode_pages_final(&raw mut (*inode).i_data);
            // An inode without links whose last user is gone: free it (a
            // bad inode never got our data).
            if (*c).data_init
                && (*inode).__bindgen_anon_1.i_nlink == 0
                && !bindings::is_bad_inode(inode)
            {
                Self::delete(BareINode::<T>::from_raw(inode));
            }
            bindings::clear_inode(inode);
            if (*c).data_init {
                (*c).data_init = false;
                (*c).data.assume_init_drop();
            }
        }
    }

    /// Frees an unlinked inode being evicted.
    fn delete(i: &BareINode<T>) {
        let sb = i.super_block();
        if sb.read_only() {
            return;
        }
        if let Err(e) = T::delete_inode(i) {
            pr_err!(
                "{}: {}: cannot free inode {}: {:?}\n",
                T::NAME.to_str().unwrap_or("?"),
                sb.id().to_str().unwrap_or("?"),
                i.ino(),
                e
            );
        }
    }

    unsafe extern "C" fn put_super(sb: *mut bindings::super_block) {
        // SAFETY: Called once by `generic_shutdown_super` for our mounted
        // superblock, after every inode was evicted and while the device is
        // still open: the file system's data (which may hold buffers) goes
        // here; `kill_sb` frees the rest.
        let s = unsafe { SuperBlock::<T>::from_raw(sb) };
        if !s.read_only() {
            if let Err(e) = T::write_super(s, true) {
                pr_err!(
                    "{}: {}: cannot mark the file system clean: {:?}\n",
                    T::NAME.to_str().unwrap_or("?"),
                    s.id().to_str().unwrap_or("?"),
                    e
                );
            }
        }
        // SAFETY: As above; nothing uses the data any more.
        unsafe {
            let info = &mut *(*sb).s_fs_info.cast::<SbInfo<T>>();
            drop(info.data.take());
        }
    }

    unsafe extern "C" fn statfs(
        dentry: *mut bindings::dentry,
        buf: *mut bindings::kstatfs,
    ) -> c_int {
        from_result(|| {
            // SAFETY: A dentry of a mounted superblock of ours.
            let sb = unsafe { SuperBlock::<T>::from_raw((*dentry).d_sb) };
            let st = T::statfs(sb)?;
            // SAFETY: `buf` is valid for writes.
            unsafe {
                (*buf).f_type = T::MAGIC as isize;
                (*buf).f_bsize = (*sb.raw()).s_blocksize as isize;
                (*buf).f_blocks = st.blocks;
                (*buf).f_bfree = st.free_blocks;
                (*buf).f_bavail = st.avail_blocks;
                (*buf).f_files = st.files;
                (*buf).f_ffree = st.free_files;
                (*buf).f_namelen = st.name_len as isize;
                (*buf).f_fsid.val = [st.fsid as i32, (st.fsid >> 32) as i32];
            }
            Ok(0)
        })
    }

    unsafe extern "C" fn show_options(
        m: *mut bindings::seq_file,
        root: *mut bindings::dentry,
    ) -> c_int {
        // SAFETY: A root dentry of a mounted superblock of ours.
        let sb = unsafe { SuperBlock::<T>::from_raw((*root).d_sb) };
        if !sb.info().dax.is_null() {
            // SAFETY: `m` is valid; the string is NUL-terminated.
            unsafe { bindings::seq_puts(m, c",dax=always".as_char_ptr()) };
        }
        // SAFETY: As above.
        if unsafe {
            !(*sb.raw()).s_xattr.is_null()
                && (*sb.raw()).s_flags & bindings::SB_POSIXACL as c_ulong == 0
        } {
            // SAFETY: As above.
            unsafe { bindings::seq_puts(m, c",noacl".as_char_ptr()) };
        }
        0
    }

    // -- directories ------------------------------------------------------

    unsafe extern "C" fn lookup(
        dir: *mut bindings::inode,
        dentry: *mut bindings::dentry,
        _flags: c_uint,
    ) -> *mut bindings::dentry {
        // SAFETY: The VFS passes an initialised directory inode of ours.
        let d = unsafe { INode::<T>::from_raw(dir) };
        // SAFETY: `d_name` is stable during lookup; `name` is valid for `len`.
        let name = unsafe {
            let q = &(*dentry).__bindgen_anon_1.d_name;
            core::slice::from_raw_parts(q.name, q.__bindgen_anon_1.__bindgen_anon_1.len as usize)
        };
        let inode = match T::lookup(d, name) {
            Ok(Some(i)) => ARef::into_raw(i).as_ptr().cast(),
            Ok(None) => core::ptr::null_mut(),
            Err(e) => return e.to_ptr(),
        };
        // SAFETY: `d_splice_alias` consumes the inode reference.
        unsafe { bindings::d_splice_alias(inode, dentry) }
    }

    unsafe extern "C" fn iterate_shared(
        file: *mut bindings::file,
        ctx: *mut bindings::dir_context,
    ) -> c_int {
        from_result(|| {
            // SAFETY: An open directory of ours.
            let d = unsafe { INode::<T>::from_raw(bindings::file_inode(file)) };
            // INVARIANT: `ctx` is the context of this call.
            let mut e = DirEmitter {
                ctx,
                _p: PhantomData,
            };
            T::read_dir(d, &mut e)?;
            Ok(0)
        })
    }

    // -- files and DAX ----------------------------------------------------

    unsafe extern "C" fn read_iter(
        iocb: *mut bindings::kiocb,
        to: *mut bindings::iov_iter,
    ) -> isize {
        // SAFETY: The VFS passes a valid kiocb and destination.
        unsafe {
            if bindings::iov_iter_count(to) == 0 {
                return 0;
            }
            let inode = bindings::file_inode((*iocb).ki_filp);
            if (*inode).i_flags & bindings::S_DAX == 0 {
                // Through the page cache, filled by `read_folio`.
                return bindings::generic_file_read_iter(iocb, to);
            }
            if (*iocb).ki_flags & bindings::IOCB_NOWAIT != 0 {
                if bindings::inode_trylock_shared(inode) == 0 {
                    return EAGAIN.to_errno() as isize;
                }
            } else {
                bindings::inode_lock_shared(inode);
            }
            let ret = bindings::dax_iomap_rw(iocb, to, &Self::TABLES.iomap_ops);
            bindings::inode_unlock_shared(inode);
            bindings::file_accessed((*iocb).ki_filp);
            ret
        }
    }

    unsafe extern "C" fn mmap_prepare(desc: *mut bindings::vm_area_desc) -> c_int {
        // SAFETY: The VFS passes a valid descriptor of a file of ours.
        unsafe {
            let file = (*desc).file;
            let inode = bindings::file_inode(file);
            if (*inode).i_flags & bindings::S_DAX == 0 {
                return bindings::generic_file_readonly_mmap_prepare(desc);
            }
            let sbi = &*(*(*inode).i_sb).s_fs_info.cast::<SbInfo<T>>();
            if !bindings::daxdev_mapping_supported(desc, inode, sbi.dax) {
                return EOPNOTSUPP.to_errno();
            }
            // Read-only mounts: no shared writable mapping of the image.
            if bindings::vma_desc_is_shared_maywrite(desc)
                && (*(*inode).i_sb).s_flags & bindings::SB_RDONLY as c_ulong != 0
            {
                return EINVAL.to_errno();
            }
            bindings::file_accessed(file);
            (*desc).vm_ops = &Self::TABLES.dax_vm_ops;
            bindings::vma_desc_set_hugepage(desc);
        }
        0
    }

    unsafe extern "C" fn read_folio(
        _file: *mut bindings::file,
        folio: *mut bindings::folio,
    ) -> c_int {
        // SAFETY: The page cache passes a locked folio of one of our
        // non-DAX files; the iomap code reads it through our `iomap_ops`
        // and unlocks it.
        unsafe { bindings::iomap_bio_read_folio(folio, &Self::TABLES.iomap_ops) };
        0
    }

    unsafe extern "C" fn readahead(rac: *mut bindings::readahead_control) {
        // SAFETY: As for `read_folio`, for a readahead batch.
        unsafe { bindings::iomap_bio_readahead(rac, &Self::TABLES.iomap_ops) };
    }

    unsafe extern "C" fn huge_fault(
        vmf: *mut bindings::vm_fault,
        order: c_uint,
    ) -> bindings::vm_fault_t {
        // SAFETY: The fault handler passes a valid fault on a mapping of one
        // of our DAX files. As ext4: write faults on shared mappings (which
        // only read-write mounts allow) allocate blocks under freeze
        // protection; write faults on private ones copy into anonymous
        // memory inside `dax_iomap_fault` and change nothing. Our block
        // allocations are durable when `iomap_begin` returns, so
        // `IOMAP_F_DIRTY` is never set and `MAP_SYNC` faults need no
        // `dax_finish_sync_fault`; it is kept for the general contract.
        unsafe {
            let vma = (*vmf).__bindgen_anon_1.vma;
            let file = (*vma).vm_file;
            let mapping = (*file).f_mapping;
            let sb = (*bindings::file_inode(file)).i_sb;
            let write = (*vmf).flags & bindings::fault_flag_FAULT_FLAG_WRITE != 0
                && (*vma).__bindgen_anon_2.vm_flags & bindings::VM_SHARED != 0;
            if write {
                bindings::sb_start_pagefault(sb);
                bindings::file_update_time(file);
            }
            bindings::filemap_invalidate_lock_shared(mapping);
            let mut pfn = 0;
            let mut r = bindings::dax_iomap_fault(
                vmf,
                order,
                &mut pfn,
                core::ptr::null_mut(),
                &Self::TABLES.iomap_ops,
            );
            if write && r & bindings::vm_fault_reason_VM_FAULT_NEEDDSYNC != 0 {
                r = bindings::dax_finish_sync_fault(vmf, order, pfn);
            }
            bindings::filemap_invalidate_unlock_shared(mapping);
            if write {
                bindings::sb_end_pagefault(sb);
            }
            r
        }
    }

    unsafe extern "C" fn fault(vmf: *mut bindings::vm_fault) -> bindings::vm_fault_t {
        // SAFETY: As for `huge_fault`.
        unsafe { Self::huge_fault(vmf, 0) }
    }

    unsafe extern "C" fn iomap_begin(
        inode: *mut bindings::inode,
        pos: i64,
        length: i64,
        flags: c_uint,
        iomap: *mut bindings::iomap,
        _srcmap: *mut bindings::iomap,
    ) -> c_int {
        from_result(|| {
            // SAFETY: The DAX code passes an initialised inode of ours.
            let i = unsafe { INode::<T>::from_raw(inode) };
            let pos = u64::try_from(pos).map_err(|_| EINVAL)?;
            let len = u64::try_from(length).map_err(|_| EINVAL)?;
            // Writes (and write faults) allocate; zeroing skips holes.
            let write = flags & bindings::IOMAP_WRITE != 0 && flags & bindings::IOMAP_ZERO == 0;
            let m = if write && flags & bindings::IOMAP_NOWAIT != 0 {
                // Allocating writes metadata synchronously: RWF_NOWAIT
                // writes only go where blocks exist.
                match T::map(i, pos, len)? {
                    m @ Mapping::Mapped { .. } => m,
                    Mapping::Hole { .. } => return Err(EAGAIN),
                }
            } else if write {
                match T::map_write(i, pos, len)? {
                    m @ Mapping::Mapped { .. } => m,
                    Mapping::Hole { .. } => return Err(EIO),
                }
            } else {
                T::map(i, pos, len)?
            };
            let sbi = i.super_block().info();
            // SAFETY: `iomap` is valid for writes; the bdev and DAX device
            // outlive the mount.
            unsafe {
                (*iomap).bdev = (*(*inode).i_sb).s_bdev;
                (*iomap).dax_dev = sbi.dax;
                (*iomap).flags = 0;
                match m {
                    Mapping::Mapped {
                        offset,
                        addr,
                        len,
                        new,
                    } => {
                        // New blocks replace a hole that a read fault may
                        // have mapped to the zero page: DAX unmaps it.
                        if new {
                            (*iomap).flags = bindings::IOMAP_F_NEW as u16;
                        }
                        (*iomap).type_ = bindings::IOMAP_MAPPED as u16;
                        (*iomap).offset = offset as i64;
                        (*iomap).addr = addr.checked_add(sbi.part_off).ok_or(EIO)?;
                        (*iomap).length = len;
                    }
                    Mapping::Hole { offset, len } => {
                        (*iomap).type_ = bindings::IOMAP_HOLE as u16;
                        (*iomap).offset = offset as i64;
                        (*iomap).addr = u64::MAX;
                        (*iomap).length = len;
                    }
                }
                // The extent must contain `pos`.
                let start = (*iomap).offset as u64;
                let end = start.checked_add((*iomap).length).ok_or(EIO)?;
                if start > pos || end <= pos {
                    return Err(EIO);
                }
                if flags & bindings::IOMAP_FAULT != 0
                    && (*iomap).type_ == bindings::IOMAP_MAPPED as u16
                {
                    let n = len.min(end - pos);
                    let dev = (*iomap).addr + (pos - start);
                    Self::check_dax_owner(i, sbi.dax, pos, dev, n)?;
                }
            }
            Ok(0)
        })
    }

    /// Refuses to map, for a fault at file offset `pos`, the `len` bytes
    /// of DAX memory at device byte `dev` if any of their pages already
    /// belongs to another file's mapping, or to another offset of this one:
    /// a corrupt image that gives one block to two files (or twice to one).
    /// The DAX core keeps one owner per page and warns otherwise
    /// (`dax_associate_entry`). Two faults racing on such a block in two
    /// files can still both pass; sequential ones cannot.
    fn check_dax_owner(
        i: &INode<'_, T>,
        dax: *mut bindings::dax_device,
        pos: u64,
        dev: u64,
        len: u64,
    ) -> Result {
        let shift = bindings::PAGE_SHIFT;
        let pages = len.div_ceil(1 << shift).max(1);
        let mut pfn: c_ulong = 0;
        // SAFETY: No requirements; the read lock keeps the DAX device alive.
        let id = unsafe { bindings::dax_read_lock() };
        // SAFETY: `dax` is the DAX device of our mounted superblock, alive
        // under the read lock; `kaddr` may be NULL.
        let got = unsafe {
            bindings::dax_direct_access(
                dax,
                (dev >> shift) as c_ulong,
                pages as c_long,
                bindings::dax_access_mode_DAX_ACCESS,
                core::ptr::null_mut(),
                &mut pfn,
            )
        };
        // SAFETY: Only reads; `i` is ours.
        let ours = unsafe { (*i.raw()).i_mapping };
        // Errors (poison) are the DAX core's to report.
        let n = u64::try_from(got).unwrap_or(0).min(pages);
        let r = (0..n).try_for_each(|k| {
            let p = pfn + k as c_ulong;
            // SAFETY: `p` is a page of the device's `memremap_pages()`
            // mapping, with a struct page, while the read lock is held.
            // `mapping` and `index` change under the DAX entry lock of
            // their owner, which we do not hold: read once each.
            let (mapping, index, head) = unsafe {
                let folio = bindings::pfn_folio(p);
                let f = &raw const (*folio).__bindgen_anon_1.__bindgen_anon_1;
                (
                    core::ptr::read_volatile(&raw const (*f).mapping),
                    core::ptr::read_volatile(&raw const (*f).__bindgen_anon_2.index),
                    bindings::folio_pfn(folio),
                )
            };
            let want = (pos >> shift) + k - (p - head) as u64;
            if mapping.is_null() || (mapping == ours && index as u64 == want) {
                Ok(())
            } else {
                Err(EUCLEAN)
            }
        });
        // SAFETY: Taken above.
        unsafe { bindings::dax_read_unlock(id) };
        if r.is_err() {
            let sb = i.super_block();
            pr_err!(
                "{}: {}: inode {}: block at device byte {:#x} is mapped by another file too (blocks shared between files): run e2fsck\n",
                T::NAME.to_str().unwrap_or("?"),
                sb.id().to_str().unwrap_or("?"),
                i.ino(),
                dev
            );
        }
        r
    }

    // -- writing ----------------------------------------------------------

    /// The name of `dentry`.
    ///
    /// # Safety
    ///
    /// `dentry` must be valid, with a name stable for `'a` (the VFS holds
    /// the parent's lock, or the rename lock, during namespace operations).
    unsafe fn name<'a>(dentry: *mut bindings::dentry) -> &'a [u8] {
        // SAFETY: As the caller guarantees; `name` is valid for `len` bytes.
        unsafe {
            let q = &(*dentry).__bindgen_anon_1.d_name;
            core::slice::from_raw_parts(q.name, q.__bindgen_anon_1.__bindgen_anon_1.len as usize)
        }
    }

    /// Allocates a new inode of type `typ` with permissions from `mode` in
    /// `dir`, owned as `inode_init_owner` would (the VFS has already applied
    /// the umask and stripped `S_ISGID` where the caller may not set it).
    fn new_node<'a>(
        idmap: *mut bindings::mnt_idmap,
        dir: &INode<'a, T>,
        mode: u32,
        typ: INodeType,
    ) -> Result<ARef<INode<'a, T>>> {
        let fmt = match typ {
            INodeType::Reg => bindings::S_IFREG,
            INodeType::Dir => bindings::S_IFDIR,
            INodeType::Symlink(_) => bindings::S_IFLNK,
            INodeType::Chr(..) => bindings::S_IFCHR,
            INodeType::Blk(..) => bindings::S_IFBLK,
            INodeType::Fifo => bindings::S_IFIFO,
            INodeType::Sock => bindings::S_IFSOCK,
        };
        let mut full = (fmt | (mode & 0o7777)) as bindings::umode_t;
        let mut default_acl = core::ptr::null_mut();
        let mut access_acl = core::ptr::null_mut();
        // With ACLs the VFS leaves the umask to us: `posix_acl_create`
        // applies it, or the parent's default ACL instead.
        // SAFETY: `dir` is valid; on success we own the references put in
        // the two pointers (NULL when there is no ACL).
        to_result(unsafe {
            bindings::posix_acl_create(dir.raw(), &mut full, &mut default_acl, &mut access_acl)
        })?;
        // INVARIANT: Both are NULL or references of ours.
        let acls = [
            (AclType::Default, AclRef(default_acl)),
            (AclType::Access, AclRef(access_acl)),
        ];
        let inode = Self::new_node_mode(idmap, dir, u32::from(full), typ)?;
        // SAFETY: `dir` is valid.
        if unsafe { bindings::blockfs_is_posixacl(dir.raw()) } {
            for (typ, acl) in &acls {
                if !acl.0.is_null() {
                    let r = acl
                        .entries()
                        .and_then(|e| T::set_acl(&inode, *typ, Some(&e)));
                    if let Err(e) = r {
                        inode.clear_nlink();
                        return Err(e);
                    }
                }
                // SAFETY: The new inode is ours; `set_cached_acl` takes its
                // own reference.
                unsafe { bindings::set_cached_acl(inode.raw(), typ.raw(), acl.0) };
            }
        }
        Ok(inode)
    }

    fn new_node_mode<'a>(
        idmap: *mut bindings::mnt_idmap,
        dir: &INode<'a, T>,
        mode: u32,
        typ: INodeType,
    ) -> Result<ARef<INode<'a, T>>> {
        let mut perm = (mode & 0o7777) as u16;
        // The caller's fs ids, through the mount's idmap (as
        // `inode_init_owner`), in the file system's user namespace (the
        // initial one: block devices are not mounted from others).
        let ns = &raw mut bindings::init_user_ns;
        // SAFETY: `idmap` is the mount's, valid during the call.
        let uid = unsafe { bindings::from_kuid_munged(ns, bindings::mapped_fsuid(idmap, ns)) };
        let gid = if u32::from(dir.mode()) & bindings::S_ISGID != 0 {
            if matches!(typ, INodeType::Dir) {
                perm |= bindings::S_ISGID as u16;
            }
            dir.gid()
        } else {
            // SAFETY: As above.
            unsafe { bindings::from_kgid_munged(ns, bindings::mapped_fsgid(idmap, ns)) }
        };
        // SAFETY: No requirements.
        let time = unsafe { bindings::ktime_get_real_seconds() };
        T::new_inode(
            dir,
            NewNode {
                typ,
                mode: perm,
                uid,
                gid,
                time,
            },
        )
    }

    /// Enters a new `inode` in `dir` as `dentry`; on failure the inode
    /// loses its links and is deleted when dropped.
    ///
    /// # Safety
    ///
    /// `dentry` is a negative dentry of `dir`, whose lock is held.
    unsafe fn enter(
        dir: &INode<'_, T>,
        dentry: *mut bindings::dentry,
        inode: ARef<INode<'_, T>>,
    ) -> Result {
        // SAFETY: The caller holds the directory lock.
        let name = unsafe { Self::name(dentry) };
        if let Err(e) = T::add_entry(dir, name, &inode) {
            inode.clear_nlink();
            return Err(e);
        }
        dir.touch_mtime();
        T::write_inode(dir)?;
        // SAFETY: `d_instantiate` takes over our inode reference.
        unsafe { bindings::d_instantiate(dentry, ARef::into_raw(inode).as_ptr().cast()) };
        Ok(())
    }

    unsafe extern "C" fn create(
        idmap: *mut bindings::mnt_idmap,
        dir: *mut bindings::inode,
        dentry: *mut bindings::dentry,
        mode: bindings::umode_t,
    ) -> c_int {
        // SAFETY: The VFS passes a directory of ours, locked, and a negative
        // dentry in it.
        unsafe { Self::mknod(idmap, dir, dentry, mode | bindings::S_IFREG as u16, 0) }
    }

    unsafe extern "C" fn mknod(
        idmap: *mut bindings::mnt_idmap,
        dir: *mut bindings::inode,
        dentry: *mut bindings::dentry,
        mode: bindings::umode_t,
        rdev: bindings::dev_t,
    ) -> c_int {
        from_result(|| {
            // SAFETY: The VFS passes a directory of ours, locked.
            let d = unsafe { INode::<T>::from_raw(dir) };
            let (major, minor) = (rdev >> 20, rdev & 0xfffff);
            let typ = match u32::from(mode) & bindings::S_IFMT {
                bindings::S_IFREG => INodeType::Reg,
                bindings::S_IFCHR => INodeType::Chr(major, minor),
                bindings::S_IFBLK => INodeType::Blk(major, minor),
                bindings::S_IFIFO => INodeType::Fifo,
                bindings::S_IFSOCK => INodeType::Sock,
                _ => return Err(EINVAL),
            };
            let inode = Self::new_node(idmap, d, mode.into(), typ)?;
            // SAFETY: A negative dentry of `dir`, whose lock is held.
            unsafe { Self::enter(d, dentry, inode)? };
            Ok(0)
        })
    }

    unsafe extern "C" fn symlink(
        idmap: *mut bindings::mnt_idmap,
        dir: *mut bindings::inode,
        dentry: *mut bindings::dentry,
        target: *const c_char,
    ) -> c_int {
        from_result(|| {
            // SAFETY: The VFS passes a directory of ours, locked, and a
            // NUL-terminated target.
            let (d, target) = unsafe { (INode::<T>::from_raw(dir), CStr::from_char_ptr(target)) };
            let t = target.to_bytes();
            // SAFETY: `i_sb` is ours.
            if t.len() >= unsafe { (*(*dir).i_sb).s_blocksize } {
                return Err(ENAMETOOLONG);
            }
            let mut v = KVec::new();
            v.extend_from_slice(t, GFP_KERNEL)?;
            let inode = Self::new_node(idmap, d, 0o777, INodeType::Symlink(v))?;
            // SAFETY: A negative dentry of `dir`, whose lock is held.
            unsafe { Self::enter(d, dentry, inode)? };
            Ok(0)
        })
    }

    unsafe extern "C" fn mkdir(
        idmap: *mut bindings::mnt_idmap,
        dir: *mut bindings::inode,
        dentry: *mut bindings::dentry,
        mode: bindings::umode_t,
    ) -> *mut bindings::dentry {
        let r = (|| -> Result {
            // SAFETY: The VFS passes a directory of ours, locked; it checked
            // `s_max_links`.
            let d = unsafe { INode::<T>::from_raw(dir) };
            // The new `..`: counted before it exists.
            d.inc_nlink();
            let made = T::write_inode(d)
                .and_then(|()| Self::new_node(idmap, d, mode.into(), INodeType::Dir))
                // SAFETY: A negative dentry of `dir`, whose lock is held.
                .and_then(|inode| unsafe { Self::enter(d, dentry, inode) });
            if let Err(e) = made {
                d.drop_nlink();
                T::write_inode(d)?;
                return Err(e);
            }
            Ok(())
        })();
        match r {
            Ok(()) => core::ptr::null_mut(),
            Err(e) => e.to_ptr(),
        }
    }

    unsafe extern "C" fn tmpfile(
        idmap: *mut bindings::mnt_idmap,
        dir: *mut bindings::inode,
        file: *mut bindings::file,
        mode: bindings::umode_t,
    ) -> c_int {
        from_result(|| {
            // SAFETY: The VFS passes a directory of ours.
            let d = unsafe { INode::<T>::from_raw(dir) };
            let inode = Self::new_node(idmap, d, mode.into(), INodeType::Reg)?;
            // SAFETY: `d_tmpfile` drops the link count to zero and takes
            // over our reference; the inode is deleted on its last close
            // unless `linkat` gives it a name.
            unsafe {
                bindings::d_tmpfile(file, ARef::into_raw(inode).as_ptr().cast());
                Ok(bindings::finish_open_simple(file, 0))
            }
        })
    }

    unsafe extern "C" fn link(
        old: *mut bindings::dentry,
        dir: *mut bindings::inode,
        dentry: *mut bindings::dentry,
    ) -> c_int {
        from_result(|| {
            // SAFETY: The VFS passes a positive dentry of ours (its inode
            // locked), our locked directory and a negative dentry in it.
            let (i, d) = unsafe {
                (
                    INode::<T>::from_raw((*old).d_inode),
                    INode::<T>::from_raw(dir),
                )
            };
            i.touch_ctime();
            i.inc_nlink();
            T::write_inode(i)?;
            // SAFETY: The dentry is negative and `dir` locked.
            let name = unsafe { Self::name(dentry) };
            if let Err(e) = T::add_entry(d, name, i) {
                i.drop_nlink();
                T::write_inode(i)?;
                return Err(e);
            }
            d.touch_mtime();
            T::write_inode(d)?;
            i.inc_ref();
            // SAFETY: `d_instantiate` takes the reference taken above.
            unsafe { bindings::d_instantiate(dentry, i.raw()) };
            Ok(0)
        })
    }

    unsafe extern "C" fn unlink(dir: *mut bindings::inode, dentry: *mut bindings::dentry) -> c_int {
        from_result(|| {
            // SAFETY: The VFS passes our locked directory and a positive
            // dentry in it, whose inode is locked.
            let (d, i, name) = unsafe {
                (
                    INode::<T>::from_raw(dir),
                    INode::<T>::from_raw((*dentry).d_inode),
                    Self::name(dentry),
                )
            };
            T::remove_entry(d, name, i)?;
            d.touch_mtime();
            T::write_inode(d)?;
            i.touch_ctime();
            i.drop_nlink();
            T::write_inode(i)?;
            Ok(0)
        })
    }

    unsafe extern "C" fn rmdir(dir: *mut bindings::inode, dentry: *mut bindings::dentry) -> c_int {
        from_result(|| {
            // SAFETY: As in `unlink`.
            let (d, i, name) = unsafe {
                (
                    INode::<T>::from_raw(dir),
                    INode::<T>::from_raw((*dentry).d_inode),
                    Self::name(dentry),
                )
            };
            if !T::is_empty_dir(i)? {
                return Err(ENOTEMPTY);
            }
            T::remove_entry(d, name, i)?;
            i.touch_ctime();
            i.clear_nlink();
            T::write_inode(i)?;
            // Its `..` is gone.
            d.drop_nlink();
            d.touch_mtime();
            T::write_inode(d)?;
            Ok(0)
        })
    }

    unsafe extern "C" fn rename(
        _idmap: *mut bindings::mnt_idmap,
        old_dir: *mut bindings::inode,
        old_dentry: *mut bindings::dentry,
        new_dir: *mut bindings::inode,
        new_dentry: *mut bindings::dentry,
        flags: c_uint,
    ) -> c_int {
        from_result(|| {
            if flags & !(bindings::RENAME_NOREPLACE | bindings::RENAME_EXCHANGE) != 0 {
                return Err(EINVAL);
            }
            // SAFETY: The VFS passes our directories, locked, a positive old
            // dentry and a new dentry (positive for an exchange), whose
            // inodes are locked; the names are stable under those locks.
            let (od, nd, src, tgt, oname, nname) = unsafe {
                let tgt = (*new_dentry).d_inode;
                (
                    INode::<T>::from_raw(old_dir),
                    INode::<T>::from_raw(new_dir),
                    INode::<T>::from_raw((*old_dentry).d_inode),
                    (!tgt.is_null()).then(|| INode::<T>::from_raw(tgt)),
                    Self::name(old_dentry),
                    Self::name(new_dentry),
                )
            };
            let moved = !core::ptr::eq(od, nd);
            if flags & bindings::RENAME_EXCHANGE != 0 {
                let tgt = tgt.ok_or(ENOENT)?;
                Self::exchange(od, oname, src, nd, nname, tgt)?;
            } else {
                if let Some(t) = tgt {
                    if src.is_dir() && !T::is_empty_dir(t)? {
                        return Err(ENOTEMPTY);
                    }
                }
                // Rule 4 of the crash rules: a count is raised, durably,
                // before the entry that needs it and lowered after the
                // entry is gone. The new name comes before the old one
                // goes, so the inode has two names for a while: it counts
                // them, a directory too. The new parent gains a `..` when
                // a directory arrives without replacing one, the old
                // parent loses one when it leaves (as ext2_rename()).
                let parent = (src.is_dir() && tgt.is_none()).then_some(nd);
                for g in [Some(src), parent].into_iter().flatten() {
                    g.inc_nlink();
                    T::write_inode(g)?;
                }
                let linked = match tgt {
                    Some(_) => T::replace_entry(nd, nname, src),
                    None => T::add_entry(nd, nname, src),
                };
                if let Err(e) = linked {
                    for g in [Some(src), parent].into_iter().flatten() {
                        g.drop_nlink();
                        T::write_inode(g)?;
                    }
                    return Err(e);
                }
                if let Some(t) = tgt {
                    t.touch_ctime();
                    if t.is_dir() {
                        t.clear_nlink();
                    } else {
                        t.drop_nlink();
                    }
                    T::write_inode(t)?;
                }
                T::remove_entry(od, oname, src)?;
                src.drop_nlink();
                if src.is_dir() {
                    if moved {
                        T::set_parent(src, nd)?;
                    }
                    od.drop_nlink();
                }
            }
            src.touch_ctime();
            T::write_inode(src)?;
            od.touch_mtime();
            T::write_inode(od)?;
            if moved {
                nd.touch_mtime();
                T::write_inode(nd)?;
            }
            Ok(0)
        })
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
        od: &INode<'_, T>,
        oname: &[u8],
        src: &INode<'_, T>,
        nd: &INode<'_, T>,
        nname: &[u8],
        tgt: &INode<'_, T>,
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
        for g in [gain, Some(doubled)].into_iter().flatten() {
            g.inc_nlink();
            T::write_inode(g)?;
        }
        if tgt_first {
            T::replace_entry(od, oname, tgt)?;
            T::replace_entry(nd, nname, src)?;
        } else {
            T::replace_entry(nd, nname, src)?;
            T::replace_entry(od, oname, tgt)?;
        }
        if moved {
            if src.is_dir() {
                T::set_parent(src, nd)?;
            }
            if tgt.is_dir() {
                T::set_parent(tgt, od)?;
            }
        }
        if let Some(l) = lose {
            l.drop_nlink();
        }
        doubled.drop_nlink();
        tgt.touch_ctime();
        T::write_inode(tgt)
    }

    /// Called back by `dax_break_layout` while a DAX page of the file is
    /// still in use (pinned): waits without the invalidate lock, as
    /// `ext4_wait_dax_page`.
    unsafe extern "C" fn wait_dax_page(inode: *mut bindings::inode) {
        // SAFETY: `dax_break_layout` passes the inode whose invalidate lock
        // our caller holds exclusively; it is taken back before returning.
        unsafe {
            bindings::filemap_invalidate_unlock((*inode).i_mapping);
            bindings::schedule();
            bindings::filemap_invalidate_lock((*inode).i_mapping);
        }
    }

    /// Unmaps the DAX pages of `start..end` (bytes, `end` inclusive) and
    /// waits until no pinned reference to them is left.
    ///
    /// # Safety
    ///
    /// `inode` is ours and its invalidate lock is held exclusively.
    unsafe fn break_layouts(inode: *mut bindings::inode, start: i64, end: i64) -> Result {
        // SAFETY: As the caller guarantees.
        to_result(unsafe {
            bindings::dax_break_layout(inode, start, end, Some(Self::wait_dax_page))
        })
    }

    /// Zeroes bytes `pos..pos + len` of a DAX file in place (holes stay
    /// holes).
    ///
    /// # Safety
    ///
    /// `inode` is ours, with DAX, and its lock is held exclusively.
    unsafe fn zero_range(inode: *mut bindings::inode, pos: u64, len: u64) -> Result {
        if len == 0 {
            return Ok(());
        }
        // SAFETY: As the caller guarantees.
        to_result(unsafe {
            bindings::dax_zero_range(
                inode,
                pos as i64,
                len as i64,
                core::ptr::null_mut(),
                &Self::TABLES.iomap_ops,
            )
        })
    }

    /// Zeroes the rest of the block that holds byte `old` (the size before
    /// an extension to `new`), up to `new`: a shared mapping of the last
    /// page may have stored there past the end, and those bytes must read
    /// as zeros once they are inside the file (as `ext4_block_zero_eof`).
    ///
    /// # Safety
    ///
    /// `inode` is ours, with DAX, and its lock is held exclusively.
    unsafe fn zero_eof(inode: *mut bindings::inode, old: u64, new: u64) -> Result {
        // SAFETY: Our superblock's block size.
        let bs = unsafe { (*(*inode).i_sb).s_blocksize } as u64;
        let end = old.next_multiple_of(bs).min(new);
        // SAFETY: As the caller guarantees.
        unsafe { Self::zero_range(inode, old, end.saturating_sub(old)) }
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
    unsafe fn set_size(inode: *mut bindings::inode, new: u64) -> Result {
        // SAFETY: As the caller guarantees.
        let i = unsafe { INode::<T>::from_raw(inode) };
        // SAFETY: Our superblock's block size.
        let bs = unsafe { (*(*inode).i_sb).s_blocksize } as u64;
        let old = i.size();
        // SAFETY: `inode` is valid; the mapping is the inode's own. The
        // lock is released on every path below.
        unsafe {
            bindings::inode_dio_wait(inode);
            bindings::filemap_invalidate_lock((*inode).i_mapping);
        }
        let r = (|| {
            // SAFETY: We hold the invalidate lock exclusively.
            unsafe { Self::break_layouts(inode, 0, i64::MAX)? };
            if new < old {
                let end = new.next_multiple_of(bs);
                // SAFETY: As above; a DAX file (rw mounts need DAX).
                unsafe { Self::zero_range(inode, new, end.min(old) - new)? };
                T::reserve_size(i, old)?;
                i.set_size(new);
                // SAFETY: Drops the page-cache (DAX) entries past `new`.
                unsafe { bindings::truncate_pagecache(inode, new as i64) };
                T::free_range(i, end, u64::MAX)?;
                T::commit_size(i)?;
            } else {
                // SAFETY: As above.
                unsafe { Self::zero_eof(inode, old, new)? };
                i.set_size(new);
            }
            // truncate(2) asks only for ATTR_SIZE: the times are ours to
            // update (ftruncate(2) asks for them too).
            i.touch_mtime();
            Ok(())
        })();
        // SAFETY: Taken above.
        unsafe { bindings::filemap_invalidate_unlock((*inode).i_mapping) };
        r
    }

    unsafe extern "C" fn setattr(
        idmap: *mut bindings::mnt_idmap,
        dentry: *mut bindings::dentry,
        attr: *mut bindings::iattr,
    ) -> c_int {
        from_result(|| {
            // SAFETY: The VFS passes a positive dentry of ours with its inode
            // locked, and the attributes to change.
            unsafe {
                to_result(bindings::setattr_prepare(idmap, dentry, attr))?;
                let inode = (*dentry).d_inode;
                let i = INode::<T>::from_raw(inode);
                if (*attr).ia_valid & bindings::ATTR_SIZE != 0 {
                    let size = u64::try_from((*attr).ia_size).map_err(|_| EINVAL)?;
                    if u32::from(i.mode()) & bindings::S_IFMT != bindings::S_IFREG {
                        return Err(EINVAL);
                    }
                    if size != i.size() {
                        Self::set_size(inode, size)?;
                    }
                }
                bindings::setattr_copy(idmap, inode, attr);
                T::write_inode(i)?;
                if (*attr).ia_valid & bindings::ATTR_MODE != 0
                    && u32::from(i.mode()) & bindings::S_IFMT != bindings::S_IFLNK
                {
                    to_result(bindings::posix_acl_chmod(idmap, dentry, (*inode).i_mode))?;
                }
            }
            Ok(0)
        })
    }

    // -- extended attributes and ACLs -------------------------------------

    fn xattr_ns(handler: *const bindings::xattr_handler) -> XattrNs {
        // SAFETY: The VFS passes one of our handlers, whose `flags` is the
        // name space.
        match unsafe { (*handler).flags } {
            f if f == XattrNs::User as c_int => XattrNs::User,
            f if f == XattrNs::Trusted as c_int => XattrNs::Trusted,
            _ => XattrNs::Security,
        }
    }

    unsafe extern "C" fn xattr_get(
        handler: *const bindings::xattr_handler,
        _dentry: *mut bindings::dentry,
        inode: *mut bindings::inode,
        name: *const c_char,
        buffer: *mut c_void,
        size: usize,
    ) -> c_int {
        from_result(|| {
            // SAFETY: The VFS passes an inode of ours, a NUL-terminated name
            // (without the prefix) and a buffer of `size` bytes or NULL.
            let (i, name, buf) = unsafe {
                let buf: &mut [u8] = if buffer.is_null() || size == 0 {
                    &mut []
                } else {
                    core::slice::from_raw_parts_mut(buffer.cast(), size)
                };
                (INode::<T>::from_raw(inode), CStr::from_char_ptr(name), buf)
            };
            let n = T::get_xattr(i, Self::xattr_ns(handler), name.to_bytes(), buf)?;
            c_int::try_from(n).map_err(|_| E2BIG)
        })
    }

    unsafe extern "C" fn xattr_set(
        handler: *const bindings::xattr_handler,
        _idmap: *mut bindings::mnt_idmap,
        _dentry: *mut bindings::dentry,
        inode: *mut bindings::inode,
        name: *const c_char,
        value: *const c_void,
        size: usize,
        flags: c_int,
    ) -> c_int {
        from_result(|| {
            // SAFETY: The VFS passes an inode of ours, locked, a
            // NUL-terminated name and a value of `size` bytes, or NULL to
            // remove the attribute.
            let (i, name, value) = unsafe {
                let value: Option<&[u8]> = if value.is_null() {
                    None
                } else if size == 0 {
                    Some(&[])
                } else {
                    Some(core::slice::from_raw_parts(value.cast(), size))
                };
                (
                    INode::<T>::from_raw(inode),
                    CStr::from_char_ptr(name),
                    value,
                )
            };
            let how = match flags as u32 & (bindings::XATTR_CREATE | bindings::XATTR_REPLACE) {
                bindings::XATTR_CREATE => XattrSet::Create,
                bindings::XATTR_REPLACE => XattrSet::Replace,
                _ => XattrSet::Any,
            };
            T::set_xattr(i, Self::xattr_ns(handler), name.to_bytes(), value, how)?;
            i.touch_ctime();
            T::write_inode(i)?;
            Ok(0)
        })
    }

    unsafe extern "C" fn listxattr(
        dentry: *mut bindings::dentry,
        buffer: *mut c_char,
        size: usize,
    ) -> isize {
        let r = (|| -> Result<usize> {
            // SAFETY: The VFS passes a positive dentry of ours and a buffer
            // of `size` bytes, or NULL for the size only.
            let (inode, mut out) = unsafe {
                let inode = (*dentry).d_inode;
                let out: Option<&mut [u8]> = if buffer.is_null() || size == 0 {
                    None
                } else {
                    Some(core::slice::from_raw_parts_mut(buffer.cast(), size))
                };
                (inode, out)
            };
            // SAFETY: `inode` is ours.
            if unsafe { (*(*inode).i_sb).s_xattr.is_null() } {
                return Err(EOPNOTSUPP);
            }
            // SAFETY: No requirements.
            let admin = unsafe { bindings::capable(bindings::CAP_SYS_ADMIN as c_int) };
            // SAFETY: `inode` is valid.
            let acl = unsafe { bindings::blockfs_is_posixacl(inode) };
            let mut total = 0usize;
            // SAFETY: `inode` is ours.
            let i = unsafe { INode::<T>::from_raw(inode) };
            T::list_xattrs(i, &mut |ns, name| {
                let shown = match ns {
                    XattrNs::Trusted => admin,
                    XattrNs::AclAccess | XattrNs::AclDefault => acl,
                    _ => true,
                };
                if !shown {
                    return Ok(());
                }
                let p = ns.prefix();
                let len = p.len() + name.len() + 1;
                if let Some(out) = out.as_deref_mut() {
                    let dst = out.get_mut(total..total + len).ok_or(ERANGE)?;
                    dst[..p.len()].copy_from_slice(p);
                    dst[p.len()..len - 1].copy_from_slice(name);
                    dst[len - 1] = 0;
                }
                total += len;
                Ok(())
            })?;
            Ok(total)
        })();
        match r {
            Ok(n) => n as isize,
            Err(e) => e.to_errno() as isize,
        }
    }

    unsafe extern "C" fn get_inode_acl(
        inode: *mut bindings::inode,
        typ: c_int,
        rcu: bool,
    ) -> *mut bindings::posix_acl {
        if rcu {
            // Reading may sleep: ask for a walk without RCU.
            return ECHILD.to_ptr();
        }
        let r = (|| -> Result<*mut bindings::posix_acl> {
            // SAFETY: The VFS passes an inode of ours.
            let i = unsafe { INode::<T>::from_raw(inode) };
            match T::get_acl(i, AclType::from_raw(typ)?)? {
                None => Ok(core::ptr::null_mut()),
                Some(e) => Ok(AclRef::new(&e)?.into_raw()),
            }
        })();
        r.unwrap_or_else(|e: Error| e.to_ptr())
    }

    unsafe extern "C" fn set_acl(
        idmap: *mut bindings::mnt_idmap,
        dentry: *mut bindings::dentry,
        acl: *mut bindings::posix_acl,
        typ: c_int,
    ) -> c_int {
        from_result(|| {
            let t = AclType::from_raw(typ)?;
            // SAFETY: The VFS passes a positive dentry of ours, its inode
            // locked, and an ACL (or NULL) it holds a reference to.
            unsafe {
                let inode = (*dentry).d_inode;
                let i = INode::<T>::from_raw(inode);
                let mut acl = acl;
                let mut mode = (*inode).i_mode;
                if t == AclType::Access && !acl.is_null() {
                    // May decide the mode says it all (`acl` becomes NULL).
                    to_result(bindings::posix_acl_update_mode(
                        idmap, inode, &mut mode, &mut acl,
                    ))?;
                }
                if t == AclType::Default && u32::from(mode) & bindings::S_IFMT != bindings::S_IFDIR
                {
                    return if acl.is_null() { Ok(0) } else { Err(EACCES) };
                }
                let entries = acl_entries(acl)?;
                T::set_acl(i, t, (!acl.is_null()).then_some(&entries[..]))?;
                (*inode).i_mode = mode;
                i.touch_ctime();
                T::write_inode(i)?;
                bindings::set_cached_acl(inode, typ, acl);
            }
            Ok(0)
        })
    }

    unsafe extern "C" fn fileattr_get(
        dentry: *mut bindings::dentry,
        fa: *mut bindings::file_kattr,
    ) -> c_int {
        // SAFETY: The VFS passes a positive dentry of ours and attributes
        // to fill.
        unsafe {
            let i = INode::<T>::from_raw((*dentry).d_inode);
            bindings::fileattr_fill_flags(fa, T::attr_flags(i));
        }
        0
    }

    unsafe extern "C" fn fileattr_set(
        _idmap: *mut bindings::mnt_idmap,
        dentry: *mut bindings::dentry,
        fa: *mut bindings::file_kattr,
    ) -> c_int {
        from_result(|| {
            // SAFETY: The VFS passes a positive dentry of ours, its inode
            // locked, and the attributes asked for, with permission checked
            // (`fileattr_set_prepare`).
            let (i, flags) = unsafe {
                // Only what `FS_IOC_SETFLAGS` can say (as ext2).
                if bindings::fileattr_has_fsx(fa) {
                    return Err(EOPNOTSUPP);
                }
                (INode::<T>::from_raw((*dentry).d_inode), (*fa).flags)
            };
            let now = T::set_attr_flags(i, flags)?;
            // SAFETY: Our inode, locked; `inode_set_flags` changes the
            // masked bits atomically.
            unsafe {
                bindings::inode_set_flags(i.raw(), vfs_flags(now), vfs_flags(ATTR_VFS_FLAGS));
            }
            i.touch_ctime();
            T::write_inode(i)?;
            Ok(0)
        })
    }

    /// `FS_IOC_GETFSLABEL` and `FS_IOC_SETFSLABEL` (the attribute flags
    /// ioctls are the VFS's, through `fileattr_get`/`fileattr_set`).
    unsafe extern "C" fn ioctl(file: *mut bindings::file, cmd: c_uint, arg: c_ulong) -> c_long {
        let r = (|| -> Result {
            // SAFETY: The VFS passes an open file of ours.
            let sb = unsafe { SuperBlock::<T>::from_raw((*bindings::file_inode(file)).i_sb) };
            let user = crate::uaccess::UserSlice::new(
                crate::uaccess::UserPtr::from_addr(arg),
                FSLABEL_MAX,
            );
            let mut buf = [0u8; FSLABEL_MAX];
            match cmd {
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

    unsafe extern "C" fn open(inode: *mut bindings::inode, file: *mut bindings::file) -> c_int {
        // SAFETY: The VFS passes a file of ours being opened. DAX serves
        // `O_DIRECT` the same way as other I/O.
        unsafe {
            if (*inode).i_flags & bindings::S_DAX != 0 {
                (*file).f_mode |= bindings::FMODE_CAN_ODIRECT;
            }
            // RWF_NOWAIT: reads and writes fail with EAGAIN rather than wait
            // for the inode lock or for metadata writes.
            (*file).f_mode |= bindings::FMODE_NOWAIT;
            bindings::generic_file_open(inode, file)
        }
    }

    unsafe extern "C" fn llseek(file: *mut bindings::file, offset: i64, whence: c_int) -> i64 {
        // SAFETY: The VFS passes an open file of ours.
        unsafe {
            let inode = bindings::file_inode(file);
            let seek_data = whence == bindings::SEEK_DATA as c_int;
            if !seek_data && whence != bindings::SEEK_HOLE as c_int {
                return bindings::generic_file_llseek(file, offset, whence);
            }
            bindings::inode_lock_shared(inode);
            let r = if seek_data {
                bindings::iomap_seek_data(inode, offset, &Self::TABLES.iomap_ops)
            } else {
                bindings::iomap_seek_hole(inode, offset, &Self::TABLES.iomap_ops)
            };
            bindings::inode_unlock_shared(inode);
            if r < 0 {
                return r;
            }
            bindings::vfs_setpos(file, r, (*(*inode).i_sb).s_maxbytes)
        }
    }

    unsafe extern "C" fn write_iter(
        iocb: *mut bindings::kiocb,
        from: *mut bindings::iov_iter,
    ) -> isize {
        // SAFETY: The VFS passes a valid kiocb of an open file of ours and
        // a source; the inode lock is taken and released here.
        unsafe {
            let file = (*iocb).ki_filp;
            let inode = bindings::file_inode(file);
            if (*inode).i_flags & bindings::S_DAX == 0 {
                return EROFS.to_errno() as isize;
            }
            let i = INode::<T>::from_raw(inode);
            let nowait = (*iocb).ki_flags & bindings::IOCB_NOWAIT != 0;
            if nowait {
                if bindings::inode_trylock(inode) == 0 {
                    return EAGAIN.to_errno() as isize;
                }
            } else {
                bindings::inode_lock(inode);
            }
            let mut ret = bindings::generic_write_checks(iocb, from);
            if ret > 0 && nowait && (*iocb).ki_pos as u64 + ret as u64 > i.size() {
                // Extending writes the inode synchronously.
                ret = EAGAIN.to_errno() as isize;
            }
            if ret > 0 {
                // Also refuses RWF_NOWAIT when the times need writing.
                ret = bindings::kiocb_modified(iocb) as isize;
            }
            let pos = (*iocb).ki_pos as u64;
            if ret == 0 && pos > i.size() {
                // Bytes between the old end and `pos` become part of the
                // file (RWF_NOWAIT never gets here: it cannot extend).
                if let Err(e) = Self::zero_eof(inode, i.size(), pos) {
                    ret = e.to_errno() as isize;
                }
            }
            if ret == 0 {
                ret = Self::dax_write(i, iocb, from);
            }
            bindings::inode_unlock(inode);
            if ret > 0 {
                ret = bindings::generic_write_sync(iocb, ret);
            }
            ret
        }
    }

    /// Writes through DAX, as `ext4_dax_write_iter`. A write past the end
    /// first makes the size on disk cover the blocks it may allocate, so
    /// that a crash never leaves blocks past it (holes read as zeros); the
    /// inode's size grows only by what was written, once it is written.
    /// Until then faults past the old size fail (`SIGBUS`), so no mapping
    /// ever reaches a block that a short write then frees, and a write
    /// that moves no byte leaves the file as it was.
    ///
    /// # Safety
    ///
    /// `iocb` and `from` are the arguments of `write_iter` on `i`, whose
    /// lock is held exclusively.
    unsafe fn dax_write(
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
            if let Err(e) = T::reserve_size(i, end) {
                return e.to_errno() as isize;
            }
        }
        // SAFETY: As the caller guarantees.
        let ret = unsafe { bindings::dax_iomap_rw(iocb, from, &Self::TABLES.iomap_ops) };
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
            // them (the size never covered them), so they go at once.
            // SAFETY: Our superblock's block size.
            let bs = unsafe { (*(*i.raw()).i_sb).s_blocksize } as u64;
            r = T::free_range(i, size.next_multiple_of(bs), u64::MAX);
        }
        match (r.and_then(|()| T::commit_size(i)), ret) {
            (Err(e), _) => e.to_errno() as isize,
            (Ok(()), ret) => ret,
        }
    }

    unsafe extern "C" fn fallocate(
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
        if unsafe { (*inode).i_flags } & bindings::S_DAX == 0 {
            return EOPNOTSUPP.to_errno() as c_long;
        }
        // SAFETY: As above; the lock is released below.
        unsafe { bindings::inode_lock(inode) };
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
        // SAFETY: Taken above.
        unsafe { bindings::inode_unlock(inode) };
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
    /// `inode` is one of our DAX files, its lock held exclusively.
    unsafe fn punch_hole(inode: *mut bindings::inode, off: u64, end: u64) -> Result {
        // SAFETY: As the caller guarantees.
        let i = unsafe { INode::<T>::from_raw(inode) };
        // SAFETY: Our superblock's block size.
        let bs = unsafe { (*(*inode).i_sb).s_blocksize } as u64;
        let end = end.min(i.size());
        if off >= end {
            return Ok(());
        }
        let (first, last) = (off.next_multiple_of(bs), end - end % bs);
        // SAFETY: The inode is valid; the lock is released below.
        unsafe {
            bindings::inode_dio_wait(inode);
            bindings::filemap_invalidate_lock((*inode).i_mapping);
        }
        let r = (|| {
            // SAFETY: We hold the invalidate lock exclusively; a DAX file.
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
                T::free_range(i, first, last)?;
            }
            i.touch_mtime();
            T::write_inode(i)
        })();
        // SAFETY: Taken above.
        unsafe { bindings::filemap_invalidate_unlock((*inode).i_mapping) };
        r
    }

    /// Allocates (zeroed) blocks for `off..end`; with `zero`, also zeroes
    /// the data already there. Without `keep` the size grows to `end` first,
    /// as for writes; ext2 has no way to keep blocks past the size, so
    /// `FALLOC_FL_KEEP_SIZE` past it is refused.
    ///
    /// # Safety
    ///
    /// `inode` is one of our DAX files, its lock held exclusively.
    unsafe fn allocate(
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
        // SAFETY: The inode is valid; the lock is released below.
        unsafe { bindings::filemap_invalidate_lock((*inode).i_mapping) };
        let r = (|| {
            if extend {
                // As for writes: the size on disk covers the new blocks
                // first, the inode's size only once they are there.
                T::reserve_size(i, end)?;
                // SAFETY: We hold the inode lock.
                unsafe { Self::zero_eof(inode, old, end)? };
            }
            let mut pos = off - off % bs;
            while pos < end {
                match T::map_write(i, pos, end - pos)? {
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
            let _ = T::free_range(i, old.next_multiple_of(bs), u64::MAX);
        }
        i.touch_ctime();
        let w = if extend {
            T::commit_size(i)
        } else {
            T::write_inode(i)
        };
        // SAFETY: Taken above.
        unsafe { bindings::filemap_invalidate_unlock((*inode).i_mapping) };
        r.and(w)
    }

    unsafe extern "C" fn dax_writepages(
        mapping: *mut bindings::address_space,
        wbc: *mut bindings::writeback_control,
    ) -> c_int {
        // SAFETY: Writeback passes the mapping of one of our DAX files; the
        // DAX device is held until `kill_sb`. This flushes CPU caches for
        // pages written through shared mappings.
        unsafe {
            let sbi = &*(*(*(*mapping).host).i_sb).s_fs_info.cast::<SbInfo<T>>();
            bindings::dax_writeback_mapping_range(mapping, sbi.dax, wbc)
        }
    }

    unsafe extern "C" fn write_inode(
        inode: *mut bindings::inode,
        _wbc: *mut bindings::writeback_control,
    ) -> c_int {
        from_result(|| {
            // SAFETY: Writeback passes an initialised inode of ours, which
            // it keeps alive during the call; nobody may hold a reference.
            let i = unsafe { BareINode::<T>::from_raw(inode) };
            if i.super_block().read_only() {
                return Ok(0);
            }
            T::write_inode(i)?;
            Ok(0)
        })
    }

    unsafe extern "C" fn sync_fs(sb: *mut bindings::super_block, _wait: c_int) -> c_int {
        from_result(|| {
            // SAFETY: A mounted superblock of ours.
            let s = unsafe { SuperBlock::<T>::from_raw(sb) };
            if !s.read_only() {
                T::write_super(s, false)?;
            }
            Ok(0)
        })
    }
}

/// A registered file system type.
///
/// # Invariants
///
/// `fs` was registered with `register_filesystem` and is unregistered on drop.
#[pin_data(PinnedDrop)]
pub struct Registration<T: FileSystem> {
    #[pin]
    fs: Opaque<bindings::file_system_type>,
    _p: PhantomData<T>,
}

// SAFETY: The registration is only a handle to a static-like C object.
unsafe impl<T: FileSystem> Send for Registration<T> {}
// SAFETY: See `Send`.
unsafe impl<T: FileSystem> Sync for Registration<T> {}

impl<T: FileSystem> Registration<T> {
    /// Registers file system `T`, owned by `module`.
    pub fn new(module: &'static crate::ThisModule) -> impl PinInit<Self, Error> {
        try_pin_init!(Self {
            fs <- Opaque::try_ffi_init(|fs: *mut bindings::file_system_type| {
                // SAFETY: `fs` is valid for writes and pinned; it is only
                // unregistered in `drop`.
                unsafe {
                    fs.write(pin_init::zeroed());
                    (*fs).name = T::NAME.as_char_ptr();
                    // Idmapped mounts: new inodes take their owner through
                    // the mount's idmap, and the VFS maps the rest.
                    (*fs).fs_flags = (bindings::FS_REQUIRES_DEV | bindings::FS_ALLOW_IDMAP) as c_int;
                    (*fs).init_fs_context = Some(Tables::<T>::init_fs_context);
                    (*fs).kill_sb = Some(Tables::<T>::kill_sb);
                    (*fs).owner = module.as_ptr();
                    to_result(bindings::register_filesystem(fs))
                }
            }),
            _p: PhantomData,
        })
    }
}

#[pinned_drop]
impl<T: FileSystem> PinnedDrop for Registration<T> {
    fn drop(self: Pin<&mut Self>) {
        // SAFETY: Registered in `new` (type invariant).
        unsafe { bindings::unregister_filesystem(self.fs.get()) };
        // Inodes are freed after an RCU grace period, through our code.
        // SAFETY: No requirements.
        unsafe { bindings::rcu_barrier() };
    }
}

/// Declares a module that registers file system `T`.
#[macro_export]
macro_rules! module_blockfs {
    (type: $type:ty, $($f:tt)*) => {
        #[$crate::prelude::pin_data]
        struct FsModule {
            #[pin]
            _fs: $crate::fs::blockfs::Registration<$type>,
        }

        impl $crate::InPlaceModule for FsModule {
            fn init(
                module: &'static $crate::ThisModule,
            ) -> impl ::pin_init::PinInit<Self, $crate::error::Error> {
                $crate::try_pin_init!(Self {
                    _fs <- $crate::fs::blockfs::Registration::new(module),
                })
            }
        }

        $crate::prelude::module! {
            type: FsModule,
            $($f)*
        }
    };
}
