// SPDX-License-Identifier: GPL-2.0

//! Block-device file systems with DAX.
//!
//! A file system implements [`FileSystem`] for its superblock and the
//! per-object traits for what it serves: [`dir::Operations`] looks up
//! names and lists directories, [`file::Operations`] maps file ranges to
//! device ranges, [`inode::Operations`] and [`xattr::Operations`] keep
//! flags, ACLs and extended attributes. This module does the VFS side:
//! registration with `fs_context` and `get_tree_bdev`, superblock setup
//! (block size, DAX device, root dentry), inodes embedded with the file
//! system's own per-inode data, the C operation tables, and the DAX paths
//! (`dax_iomap_rw` for `read()` and `write()`, `dax_iomap_fault` for mmap
//! faults, PTE and PMD sized) through `iomap_ops` built from
//! [`file::Operations::map`] and [`file::Operations::map_write`]. Files
//! without DAX (`-o dax=never`, a device without it, or with the default
//! `-o dax=inode` a file without the DAX flag) go through the page cache
//! with iomap's buffered helpers and the same `iomap_ops`: reads by its bio
//! helpers, writes into folios written back by `iomap_writepages`, shared
//! mappings made writable by `iomap_page_mkwrite`.
//!
//! Policy is the file system's, as in C: its namespace operations
//! ([`dir::Operations::create`], [`dir::Operations::rename`], ...) keep
//! link counts and times and order their writes; this module gives them
//! typed arguments ([`Dentry`], [`NewDentry`], [`Idmap`]) and the VFS's
//! mechanisms (a new inode's owner as `inode_init_owner` gives it,
//! inherited ACLs, `d_instantiate`).
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

mod attr;
mod buffer;
mod context;
mod dentry;
pub mod dir;
mod export;
pub mod file;
pub mod inode;
mod iomap;
mod lock;
mod namei;
mod sb;
mod size;
mod stat;
mod super_ops;
mod tables;
pub mod xattr;

// The per-object traits, in scope for the callbacks of every table.
use dir::Operations as _;
use file::Operations as _;
use inode::Operations as _;
use xattr::Operations as _;

pub use buffer::{Buffer, Head};
pub use dentry::{Dentry, Idmap, InheritedAcls, Instantiated, NewDentry, TmpFile};
pub use dir::{DirEmitter, DirEntryType, RENAME_EXCHANGE, RENAME_NOREPLACE, RENAME_WHITEOUT};
use inode::{vfs_flags, INodeWithData};
pub use inode::{BareINode, INode, INodeParams, INodeType, NewINode, NewNode, ATTR_VFS_FLAGS};
pub use lock::NoFsScope;
use lock::{DaxReadLock, FrozenBdev, InodeLock, IntWrite, InvalidateLock, Mode, PageFault};
use sb::{FsDax, SbInfo};
pub use sb::{GetINode, NewSuperBlock, SuperBlock};
pub use size::{Fallocate, Invalidating, LockedINode, Write, Written};
pub use stat::{Kgid, Kuid, Timespec};
pub use tables::{Tables, XattrHandlers};
pub use xattr::{AclEntry, AclTag, AclType, PosixAcl, XattrNs, XattrSet};

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

/// What a file system does once it found itself corrupt (`-o errors=`, as
/// ext2 and ext4 spell it). The file system applies it; this module parses
/// it and provides the means ([`SuperBlock::force_read_only`],
/// [`SuperBlock::panic_after_error`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorsMode {
    /// `errors=continue`: fail the access and go on.
    Continue,
    /// `errors=remount-ro`: stop writing: the mount turns read-only.
    RemountRo,
    /// `errors=panic`: panic the kernel.
    Panic,
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
    /// `errors=`, if given; otherwise the file system's default.
    pub errors: Option<ErrorsMode>,
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

/// What a file range is on the device, for [`file::Operations::map`].
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

/// A block-device file system: what it says about itself and its
/// superblock (`super_operations`).
///
/// The objects it serves have their own traits, as the VFS has its own
/// operation tables: [`dir::Operations`] (directories: names and entries),
/// [`file::Operations`] (regular files: where their bytes are),
/// [`inode::Operations`] (attributes of any inode: flags and ACLs) and
/// [`xattr::Operations`] (extended attributes). A file system names the
/// types that implement them; they may all be the file system's own type,
/// as in C one `.c` file may hold several tables.
///
/// The optional methods are those a file system may leave out: the C
/// operations that need them are then not installed (their slots stay
/// NULL), as in a C file system without them. Implementations carry
/// `#[vtable]`, which records which methods they provide.
///
/// A file system that can be mounted read-write implements every method
/// that changes it: here [`FileSystem::write_inode`],
/// [`FileSystem::delete_inode`] and [`FileSystem::write_super`], the write
/// methods of [`dir::Operations`] and of [`file::Operations`]. One that
/// implements none of them is read-only, and its C tables have no
/// operation that writes (no `create`, `write_iter`, `page_mkwrite`,
/// `write_inode`, ...). Anything in between does not build.
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

    /// Directory operations.
    type DirOps: dir::Operations<FileSystem = Self>;
    /// Regular file operations.
    type FileOps: file::Operations<FileSystem = Self>;
    /// Attribute operations, for inodes of every type.
    type INodeOps: inode::Operations<FileSystem = Self>;
    /// Extended attribute operations.
    type XattrOps: xattr::Operations<FileSystem = Self>;

    /// Reads and validates the superblock.
    fn fill_super(sb: &NewSuperBlock<'_, Self>, opts: &MountOptions) -> Result<Self::Data>;

    /// Returns the root directory's inode.
    fn root(sb: &SuperBlock<Self>) -> Result<ARef<INode<'_, Self>>>;

    /// Returns `statfs` numbers.
    fn statfs(sb: &SuperBlock<Self>) -> Result<Stat>;

    /// Writes the attributes of `inode` (size, mode, owner, times, link
    /// count) to disk, durably. Also called by write-back, where nobody may
    /// hold a reference to the inode: hence a [`BareINode`].
    fn write_inode(_inode: &BareINode<Self>) -> Result {
        Err(EROFS)
    }

    /// Frees the blocks and the number of `inode`, which has no links left
    /// and is not used any more (it is being evicted: no reference).
    fn delete_inode(_inode: &BareINode<Self>) -> Result {
        Err(EROFS)
    }

    /// Writes the superblock durably: its counters, and a state that says
    /// whether the file system is `clean` (unmounted or read-only) or in
    /// use. Called with `clean == false` before a read-write mount or
    /// remount proceeds (refusing it if the file system must stay
    /// read-only), and with `true` on unmount and read-only remount.
    fn write_super(_sb: &SuperBlock<Self>, _clean: bool) -> Result {
        Err(EROFS)
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

    /// Takes what a remount (`mount -o remount,...`) asks of the options
    /// this module does not apply itself: `errors=`, if given. Called
    /// after a change between read-only and read-write succeeded.
    fn reconfigure(_sb: &SuperBlock<Self>, _errors: Option<ErrorsMode>) -> Result {
        Ok(())
    }

    /// Options to show in `/proc/mounts` after this module's own, each
    /// with its leading comma (`c",errors=remount-ro"`).
    fn show_options(_sb: &SuperBlock<Self>) -> Option<&'static CStr> {
        None
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
                    let flags = bindings::FS_REQUIRES_DEV | bindings::FS_ALLOW_IDMAP;
                    (*fs).fs_flags = flags as c_int;
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
