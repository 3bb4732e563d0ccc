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
//! Files without DAX (`-o dax=never`, a device without it, or with the
//! default `-o dax=inode` a file without the DAX flag) go through the page
//! cache with iomap's buffered helpers and the same `iomap_ops`: reads by
//! its bio helpers, writes into folios written back by `iomap_writepages`,
//! shared mappings made writable by `iomap_page_mkwrite`.
//!
//! A file system that implements the write methods of [`FileSystem`] gets
//! the POSIX side of writing from this module: `create`, `mkdir`, `rename`
//! and the rest keep link counts and times the way POSIX and ext2 do, and
//! call small on-disk primitives ([`FileSystem::add_entry`], [`FileSystem::new_inode`],
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

mod buffer;
mod context;
mod dir;
mod export;
mod file;
mod inode;
mod iomap;
mod lock;
mod namei;
mod sb;
mod super_ops;
mod tables;
mod xattr;

pub use buffer::{Buffer, Head};
pub use dir::{DirEmitter, DirEntryType};
use inode::{vfs_flags, INodeWithData};
pub use inode::{BareINode, INode, INodeParams, INodeType, NewINode, NewNode, ATTR_VFS_FLAGS};
use lock::{DaxReadLock, InodeLock, InvalidateLock, Mode};
use sb::{FsDax, SbInfo};
pub use sb::{GetINode, NewSuperBlock, SuperBlock};
pub use tables::{Tables, XattrHandlers};
use xattr::AclRef;
pub use xattr::{AclEntry, AclType, XattrNs, XattrSet};

/// Gives the CPU to other tasks if one is waiting: long loops over a file
/// system's blocks (freeing a huge file) call it between batches.
pub fn cond_resched() {
    // SAFETY: No requirements: called from process context, where every
    // file system operation runs.
    unsafe { bindings::cond_resched() };
}

/// Logs an error as the file system's own messages are logged, with its
/// name as the prefix (`rext2: ...`), not this crate's.
fn fs_err<T: FileSystem>(args: core::fmt::Arguments<'_>) {
    // SAFETY: `ERR` is one of the kernel's format strings, and `NAME` is
    // NUL-terminated (a `CStr`).
    unsafe {
        crate::print::call_printk(
            &crate::print::format_strings::ERR,
            T::NAME.to_bytes_with_nul(),
            args,
        )
    };
}

/// How the mount asked for DAX.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DaxMode {
    /// Not specified: as `-o dax=inode` (as ext4 and XFS).
    Default,
    /// `-o dax` or `-o dax=always`: every regular file uses DAX, or the
    /// mount fails.
    Always,
    /// `-o dax=never`: every file goes through the page cache.
    Never,
    /// `-o dax=inode`: regular files with the DAX flag (`FS_DAX_FL`,
    /// `FS_XFLAG_DAX`, `chattr +x`) use DAX, if the device has it; the
    /// others go through the page cache. A changed flag takes effect when
    /// the inode is next read from disk: the change marks it so that it
    /// leaves the cache once unused (`d_mark_dontcache`).
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

/// The most bytes of a file system label, as `FS_IOC_GETFSLABEL` and
/// `FS_IOC_SETFSLABEL` pass them (with the terminating NUL).
pub const FSLABEL_MAX: usize = bindings::FSLABEL_MAX as usize;

/// A block-device file system.
///
/// The optional methods are those a file system may leave out: the C
/// operations that need them are then not installed (their slots stay
/// NULL), as in a C file system without them. Implementations carry
/// `#[vtable]`, which records which methods they provide.
#[vtable]
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

    // A file system that can be mounted read-write implements all of the
    // methods from here to `is_empty_dir`, and `write_super`; one that
    // implements none of them is read-only, and its C tables have no
    // operation that writes (no `create`, `write_iter`, `page_mkwrite`,
    // `write_inode`, ...). Anything in between does not build.

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

    /// Gets inode `ino` for an NFS file handle (`open_by_handle_at`, an
    /// NFS server): `ESTALE` if no inode of that number is in use (out of
    /// range, reserved, or deleted since the handle was made); the caller
    /// compares generations. A file system that implements it can be
    /// exported: handles carry the inode number and generation
    /// (`FILEID_INO32_GEN`).
    fn inode_for_handle(_sb: &SuperBlock<Self>, _ino: u64) -> Result<ARef<INode<'_, Self>>> {
        Err(ESTALE)
    }

    /// Where the extended attributes of `inode` are on the device, as
    /// `FS_IOC_FIEMAP` with `FIEMAP_FLAG_XATTR` reports them: the device
    /// byte address and length of the block that holds them, `None` if it
    /// has none.
    fn xattr_extent(_inode: &INode<'_, Self>) -> Result<Option<(u64, u64)>> {
        Ok(None)
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

/// A registered file system type.
///
/// # Invariants
///
/// `fs` was registered with `register_filesystem` and is unregistered on drop.
#[pin_data(PinnedDrop)]
pub struct Registration<T: FileSystem> {
    cache: inode::INodeCache<T>,
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
            cache: inode::INodeCache::new()?,
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
                    (*fs).parameters = context::PARAMS.0.as_ptr();
                    (*fs).kill_sb = Some(Tables::<T>::kill_sb);
                    (*fs).owner = module.as_ptr();
                    to_result(bindings::register_filesystem(fs))
                }
            }),
            _p: PhantomData,
        })
    }
}

impl<T: FileSystem> Registration<T> {
    /// The registration of file system type `fs`.
    ///
    /// # Safety
    ///
    /// `fs` is the type registered by a `Registration<T>`, which is alive
    /// while any of its superblocks exists.
    unsafe fn from_fs_type<'a>(fs: *mut bindings::file_system_type) -> &'a Self {
        // SAFETY: As the caller guarantees: `fs` is the `fs` field of a
        // pinned, live `Registration<T>`.
        unsafe { &*crate::container_of!(fs.cast::<Opaque<bindings::file_system_type>>(), Self, fs) }
    }
}

#[pinned_drop]
impl<T: FileSystem> PinnedDrop for Registration<T> {
    fn drop(self: Pin<&mut Self>) {
        // SAFETY: Registered in `new` (type invariant).
        unsafe { bindings::unregister_filesystem(self.fs.get()) };
        // Inodes are freed after an RCU grace period, through our code,
        // into the cache, which is destroyed after this.
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
