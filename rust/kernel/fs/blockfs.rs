// SPDX-License-Identifier: GPL-2.0

//! Read-only block-device file systems with DAX.
//!
//! A file system implements [`FileSystem`]: it reads its superblock, looks up
//! names, lists directories and maps file ranges to device ranges. This
//! module does the VFS side: registration with `fs_context` and
//! `get_tree_bdev`, superblock setup (block size, DAX device, root dentry),
//! inodes embedded with the file system's own per-inode data, directory and
//! file operations, and the DAX paths (`dax_iomap_rw` for `read()`,
//! `dax_iomap_fault` for mmap faults, PTE and PMD sized) through `iomap_ops`
//! built from [`FileSystem::map`]. Without DAX (`-o dax=never`, or a device
//! without it) file data goes through the page cache, read by iomap's bio
//! helpers from the same `iomap_ops`.
//!
//! Locking follows ext4: reads take the inode lock shared, faults take the
//! mapping's invalidate lock shared.
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
}

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
    fn root(sb: &SuperBlock<Self>) -> Result<ARef<INode<Self>>>;

    /// Looks `name` up in directory `dir`.
    fn lookup(dir: &INode<Self>, name: &[u8]) -> Result<Option<ARef<INode<Self>>>>;

    /// Emits the entries of `dir` from the emitter's position on.
    fn read_dir(dir: &INode<Self>, emitter: &mut DirEmitter<'_>) -> Result;

    /// Maps the range of `inode` that contains byte `pos`, up to `len`
    /// bytes (less is fine, more is trimmed).
    fn map(inode: &INode<Self>, pos: u64, len: u64) -> Result<Mapping>;

    /// Returns `statfs` numbers.
    fn statfs(sb: &SuperBlock<Self>) -> Result<Stat>;
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

    /// Size of the device in bytes.
    pub fn device_size(&self) -> u64 {
        // SAFETY: `s_bdev` is set for block-device superblocks.
        let n = unsafe { bindings::bdev_nr_bytes((*self.sb).s_bdev) };
        u64::try_from(n).unwrap_or(0)
    }

    /// Reads block `block` (of the current block size).
    pub fn bread(&self, block: u64) -> Result<Buffer> {
        // SAFETY: `sb` is valid (type invariant).
        unsafe { Buffer::read(self.sb, block) }
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
    pub fn bread(&self, block: u64) -> Result<Buffer> {
        // SAFETY: `raw` is a valid superblock (type invariant).
        unsafe { Buffer::read(self.raw(), block) }
    }

    /// Gets the inode `ino`: a cached one, or a new one to be filled.
    pub fn iget(&self, ino: u64) -> Result<GetINode<T>> {
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

    /// The superblock's name (the device, as in `rpmem0`).
    pub fn id(&self) -> &CStr {
        // SAFETY: `s_id` is a NUL-terminated name set by the VFS before
        // the file system sees the superblock, and not changed after.
        unsafe { CStr::from_char_ptr((*self.raw()).s_id.as_ptr()) }
    }
}

/// The result of [`SuperBlock::iget`].
pub enum GetINode<T: FileSystem> {
    /// The inode was in the cache.
    Cached(ARef<INode<T>>),
    /// The inode is new: fill it with [`NewINode::init`].
    New(NewINode<T>),
}

/// A block of the device, read through the buffer cache.
///
/// # Invariants
///
/// `bh` is a referenced, up-to-date buffer head.
pub struct Buffer {
    bh: NonNull<bindings::buffer_head>,
}

// SAFETY: A buffer head reference may be dropped on any thread.
unsafe impl Send for Buffer {}
// SAFETY: The data is only read.
unsafe impl Sync for Buffer {}

impl Buffer {
    /// # Safety
    ///
    /// `sb` must be a valid block-device superblock.
    unsafe fn read(sb: *mut bindings::super_block, block: u64) -> Result<Self> {
        // SAFETY: `sb` is valid (caller).
        let bh = unsafe { bindings::sb_bread(sb, block) };
        // INVARIANT: `sb_bread` returns an up-to-date, referenced buffer.
        Ok(Self {
            bh: NonNull::new(bh).ok_or(EIO)?,
        })
    }

    /// The block's bytes.
    pub fn data(&self) -> &[u8] {
        // SAFETY: By the type invariant the buffer is up to date; `b_data`
        // is valid for `b_size` bytes while we hold the reference.
        unsafe {
            let bh = self.bh.as_ptr();
            core::slice::from_raw_parts((*bh).b_data.cast::<u8>(), (*bh).b_size)
        }
    }
}

impl Drop for Buffer {
    fn drop(&mut self) {
        // SAFETY: By the type invariant we hold a reference.
        unsafe { bindings::brelse(self.bh.as_ptr()) };
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

/// An inode of file system `T`.
///
/// # Invariants
///
/// The wrapped inode is embedded in an `INodeWithData<T>` whose data is
/// initialised, and is reference counted.
#[repr(transparent)]
pub struct INode<T: FileSystem>(Opaque<bindings::inode>, PhantomData<T>);

// SAFETY: Inodes are reference counted by `ihold`/`iput`.
unsafe impl<T: FileSystem> AlwaysRefCounted for INode<T> {
    fn inc_ref(&self) {
        // SAFETY: A shared reference means the count is non-zero.
        unsafe { bindings::ihold(self.0.get()) };
    }

    unsafe fn dec_ref(obj: NonNull<Self>) {
        // SAFETY: The caller owns a reference.
        unsafe { bindings::iput(obj.as_ref().0.get()) };
    }
}

// SAFETY: Inodes are shared between threads by design; `T::INodeData` is
// `Send + Sync`.
unsafe impl<T: FileSystem> Send for INode<T> {}
// SAFETY: See `Send`.
unsafe impl<T: FileSystem> Sync for INode<T> {}

impl<T: FileSystem> INode<T> {
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
        unsafe {
            crate::container_of!(
                self.0.get().cast_const().cast::<Opaque<bindings::inode>>(),
                INodeWithData<T>,
                inode
            )
        }
        .cast_mut()
    }

    /// The inode number.
    pub fn ino(&self) -> u64 {
        // SAFETY: `i_ino` does not change after the inode is set up.
        unsafe { (*self.raw()).i_ino }
    }

    /// The size in bytes.
    pub fn size(&self) -> u64 {
        // SAFETY: A plain read of `i_size`; read-only file systems do not
        // change it.
        unsafe { (*self.raw()).i_size as u64 }
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
pub struct NewINode<T: FileSystem> {
    inode: NonNull<bindings::inode>,
    _p: PhantomData<T>,
}

impl<T: FileSystem> NewINode<T> {
    /// Fills the inode, unlocks it, and returns it.
    pub fn init(self, params: INodeParams, data: T::INodeData) -> Result<ARef<INode<T>>> {
        let inode = self.inode.as_ptr();
        // SAFETY: By the type invariant `inode` is embedded in an
        // `INodeWithData<T>`.
        let container = unsafe {
            crate::container_of!(
                inode.cast_const().cast::<Opaque<bindings::inode>>(),
                INodeWithData<T>,
                inode
            )
        }
        .cast_mut();
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
                    (*inode).i_op = &bindings::simple_symlink_inode_operations;
                }
            }
            _ => {
                // SAFETY: As above; `init_special_inode` sets the ops.
                unsafe { bindings::init_special_inode(inode, mode, rdev) };
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

impl<T: FileSystem> Drop for NewINode<T> {
    fn drop(&mut self) {
        // SAFETY: By the type invariant the inode is new and ours.
        unsafe { bindings::iget_failed(self.inode.as_ptr()) };
    }
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

/// The VFS tables of file system `T`.
pub struct Tables<T: FileSystem> {
    super_ops: bindings::super_operations,
    dir_iops: bindings::inode_operations,
    dir_fops: bindings::file_operations,
    file_iops: bindings::inode_operations,
    file_fops: bindings::file_operations,
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
            statfs: Some(Self::statfs),
            show_options: Some(Self::show_options),
            ..pin_init::zeroed()
        },
        dir_iops: bindings::inode_operations {
            lookup: Some(Self::lookup),
            ..pin_init::zeroed()
        },
        dir_fops: bindings::file_operations {
            llseek: Some(bindings::generic_file_llseek),
            read: Some(bindings::generic_read_dir),
            iterate_shared: Some(Self::iterate_shared),
            ..pin_init::zeroed()
        },
        file_iops: pin_init::zeroed(),
        file_fops: bindings::file_operations {
            llseek: Some(bindings::generic_file_llseek),
            read_iter: Some(Self::read_iter),
            mmap_prepare: Some(Self::mmap_prepare),
            get_unmapped_area: Some(bindings::thp_get_unmapped_area),
            splice_read: Some(bindings::copy_splice_read),
            ..pin_init::zeroed()
        },
        dax_aops: bindings::address_space_operations {
            dirty_folio: Some(bindings::noop_dirty_folio),
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

    // -- fs_context -------------------------------------------------------

    unsafe extern "C" fn init_fs_context(fc: *mut bindings::fs_context) -> c_int {
        from_result(|| {
            let opts = KBox::new(
                MountOptions {
                    dax: DaxMode::Default,
                    read_only: false,
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
        if key.to_bytes() != b"dax" {
            // Let the VFS handle (or refuse) the rest.
            return -(bindings::ENOPARAM as c_int);
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

    /// Remounts: read-only file systems stay read-only.
    unsafe extern "C" fn reconfigure(fc: *mut bindings::fs_context) -> c_int {
        // SAFETY: The VFS passes a valid reconfiguration context.
        if unsafe { (*fc).sb_flags } & bindings::SB_RDONLY == 0 {
            pr_err!(
                "{}: read-write mounts are not supported yet\n",
                T::NAME.to_str().unwrap_or("?")
            );
            return EROFS.to_errno();
        }
        0
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
            if !opts.read_only {
                // SAFETY: `dax` is NULL or came from `fs_dax_get_by_bdev`
                // with this holder; `fs_put_dax` accepts both.
                unsafe { bindings::fs_put_dax(dax, core::ptr::null_mut()) };
                pr_err!(
                    "{}: read-write mounts are not supported yet: mount with -o ro\n",
                    name
                );
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
                (*sb).s_flags |= bindings::SB_RDONLY as c_ulong;
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
            let c = crate::container_of!(
                inode.cast_const().cast::<Opaque<bindings::inode>>(),
                INodeWithData<T>,
                inode
            )
            .cast_mut();
            drop(KBox::from_raw(c));
        }
    }

    unsafe extern "C" fn evict_inode(inode: *mut bindings::inode) {
        // SAFETY: The VFS evicts each inode once, when nothing uses it, in
        // process context. As in ext4: DAX entries (and pinned DAX pages)
        // must be gone before the mapping is truncated, or truncation finds
        // them and warns. The file system's data is dropped here, where it
        // may sleep, rather than in the RCU callback that frees the inode.
        unsafe {
            bindings::dax_break_layout_final(inode);
            bindings::truncate_inode_pages_final(&raw mut (*inode).i_data);
            bindings::clear_inode(inode);
            let c = crate::container_of!(
                inode.cast_const().cast::<Opaque<bindings::inode>>(),
                INodeWithData<T>,
                inode
            )
            .cast_mut();
            if (*c).data_init {
                (*c).data_init = false;
                (*c).data.assume_init_drop();
            }
        }
    }

    unsafe extern "C" fn put_super(sb: *mut bindings::super_block) {
        // SAFETY: Called once by `generic_shutdown_super` for our mounted
        // superblock, after every inode was evicted and while the device is
        // still open: the file system's data (which may hold buffers) goes
        // here; `kill_sb` frees the rest.
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
            bindings::inode_lock_shared(inode);
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
            // Read-only: no shared writable mapping of the image (as erofs).
            if bindings::vma_desc_is_shared_maywrite(desc) {
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
        // of our DAX files. Shared mappings are never writable
        // (`mmap_prepare`); write faults on private ones copy into anonymous
        // memory inside `dax_iomap_fault`.
        unsafe {
            let mapping = (*(*(*vmf).__bindgen_anon_1.vma).vm_file).f_mapping;
            bindings::filemap_invalidate_lock_shared(mapping);
            let mut pfn = 0;
            let r = bindings::dax_iomap_fault(
                vmf,
                order,
                &mut pfn,
                core::ptr::null_mut(),
                &Self::TABLES.iomap_ops,
            );
            bindings::filemap_invalidate_unlock_shared(mapping);
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
        _flags: c_uint,
        iomap: *mut bindings::iomap,
        _srcmap: *mut bindings::iomap,
    ) -> c_int {
        from_result(|| {
            // SAFETY: The DAX code passes an initialised inode of ours.
            let i = unsafe { INode::<T>::from_raw(inode) };
            let pos = u64::try_from(pos).map_err(|_| EINVAL)?;
            let len = u64::try_from(length).map_err(|_| EINVAL)?;
            let m = T::map(i, pos, len)?;
            let sbi = i.super_block().info();
            // SAFETY: `iomap` is valid for writes; the bdev and DAX device
            // outlive the mount.
            unsafe {
                (*iomap).bdev = (*(*inode).i_sb).s_bdev;
                (*iomap).dax_dev = sbi.dax;
                (*iomap).flags = 0;
                match m {
                    Mapping::Mapped { offset, addr, len } => {
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
                    (*fs).fs_flags = bindings::FS_REQUIRES_DEV as c_int;
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
