// SPDX-License-Identifier: GPL-2.0

//! Inodes: their attribute [`Operations`]; the VFS inode with the file
//! system's data, the referenced [`INode`] and the [`BareINode`] of eviction
//! and write-back, new inodes.

use super::*;

/// The attributes a file system keeps for inodes of every type beyond
/// those of the VFS inode: attribute flags (`chattr`) and POSIX ACLs
/// (`inode_operations::fileattr_*`, `get_inode_acl`, `set_acl`). All are
/// optional: without them the flags read as none and ACLs are off.
#[vtable]
pub trait Operations {
    /// The file system these inodes belong to.
    type FileSystem: FileSystem;

    /// The attribute flags of `inode` (`FS_*_FL`) that `chattr` and
    /// `FS_IOC_GETFLAGS` show: those the file system keeps.
    fn attr_flags(_inode: &INode<'_, Self::FileSystem>) -> u32 {
        0
    }

    /// Sets the attribute flags of `inode` from `flags` (`FS_IOC_SETFLAGS`
    /// or `chattr`), durably; the file system decides which of them it
    /// keeps and may change, and returns the flags now set. The VFS has
    /// checked the caller's rights (owner, `CAP_LINUX_IMMUTABLE` for the
    /// immutable and append-only flags); this module then applies
    /// [`ATTR_VFS_FLAGS`] to the inode and updates its change time.
    fn set_attr_flags(_inode: &INode<'_, Self::FileSystem>, _flags: u32) -> Result<u32> {
        Err(EOPNOTSUPP)
    }

    /// Reads the POSIX ACL of type `typ` of `inode`: `None` if it has none.
    fn get_acl(
        _inode: &INode<'_, Self::FileSystem>,
        _typ: AclType,
    ) -> Result<Option<KVec<AclEntry>>> {
        Ok(None)
    }

    /// Stores (or with `None`, removes) the POSIX ACL of type `typ` of
    /// `inode`, durably. The mode and change time are the caller's.
    fn set_acl(
        _inode: &INode<'_, Self::FileSystem>,
        _typ: AclType,
        _acl: Option<&[AclEntry]>,
    ) -> Result {
        Err(EOPNOTSUPP)
    }
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

impl INodeType {
    /// The type's `S_IF*` bits of a mode.
    pub fn format(&self) -> u32 {
        match self {
            INodeType::Reg => bindings::S_IFREG,
            INodeType::Dir => bindings::S_IFDIR,
            INodeType::Symlink(_) => bindings::S_IFLNK,
            INodeType::Chr(..) => bindings::S_IFCHR,
            INodeType::Blk(..) => bindings::S_IFBLK,
            INodeType::Fifo => bindings::S_IFIFO,
            INodeType::Sock => bindings::S_IFSOCK,
        }
    }
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
    /// Owner ([`SuperBlock::kuid`] of the id on disk).
    pub uid: Kuid,
    /// Group ([`SuperBlock::kgid`] of the id on disk).
    pub gid: Kgid,
    /// Access time.
    pub atime: Timespec,
    /// Modification time.
    pub mtime: Timespec,
    /// Change time.
    pub ctime: Timespec,
    /// Allocated 512-byte sectors.
    pub blocks: u64,
    /// Attribute flags (`FS_*_FL`, as `chattr` sets them): those the VFS
    /// enforces ([`ATTR_VFS_FLAGS`]) become the inode's `S_*` flags, and
    /// `FS_DAX_FL` makes a regular file use DAX under `-o dax=inode`.
    pub attr_flags: u32,
    /// Generation number (`i_generation`), which NFS file handles carry:
    /// a handle to an inode number freed and used again is stale.
    pub generation: u32,
}

/// The attribute flags (`FS_*_FL`) the VFS itself enforces once they are
/// on an inode, as its `S_SYNC`, `S_IMMUTABLE`, `S_APPEND`, `S_NOATIME`
/// and `S_DIRSYNC` flags (as `ext2_set_inode_flags` does).
pub const ATTR_VFS_FLAGS: u32 = bindings::FS_SYNC_FL
    | bindings::FS_IMMUTABLE_FL
    | bindings::FS_APPEND_FL
    | bindings::FS_NOATIME_FL
    | bindings::FS_DIRSYNC_FL;

/// A new inode's type, permissions, owner and time, as
/// [`NewINode::init_owner`] gives them.
pub struct NewNode {
    /// Type (and, for symlinks and devices, their data).
    pub typ: INodeType,
    /// Permission bits (`S_ISUID`, `S_ISGID`, `S_ISVTX` and `rwx`).
    pub mode: u16,
    /// Owner ([`SuperBlock::disk_uid`] gives the id to store).
    pub uid: Kuid,
    /// Group ([`SuperBlock::disk_gid`] gives the id to store).
    pub gid: Kgid,
    /// Access, modification and change time: now, at the file system's
    /// granularity.
    pub time: Timespec,
}

/// The allocation behind every inode of `T`: the file system's data and the
/// VFS inode.
#[repr(C)]
pub(super) struct INodeWithData<T: FileSystem> {
    pub(super) data: MaybeUninit<T::INodeData>,
    pub(super) data_init: bool,
    pub(super) link: Option<KVec<u8>>,
    /// The cache the object came from, to free it without the superblock
    /// (which may be gone when the RCU callback frees the inode).
    pub(super) cache: *mut bindings::kmem_cache,
    pub(super) inode: Opaque<bindings::inode>,
}

/// The slab cache of file system `T`'s inodes (`INodeWithData<T>`), as C
/// file systems keep theirs (`ext2_inode_cachep`): each object's VFS inode
/// is set up once by `inode_init_once` (the constructor), and the objects
/// are reclaimable and charged to the allocating task's memory cgroup.
///
/// # Invariants
///
/// `cache` is a cache of `INodeWithData<T>` objects with
/// [`INodeCache::ctor`] as constructor, destroyed on drop.
pub(super) struct INodeCache<T: FileSystem> {
    pub(super) cache: NonNull<bindings::kmem_cache>,
    _p: PhantomData<T>,
}

// SAFETY: A slab cache may be used and destroyed from any thread.
unsafe impl<T: FileSystem> Send for INodeCache<T> {}

// SAFETY: Slab allocations are thread-safe.
unsafe impl<T: FileSystem> Sync for INodeCache<T> {}

impl<T: FileSystem> INodeCache<T> {
    /// Creates the cache, named after the file system type.
    pub(super) fn new() -> Result<Self> {
        let mut args = bindings::kmem_cache_args {
            align: core::mem::align_of::<INodeWithData<T>>() as c_uint,
            ctor: Some(Self::ctor),
            ..pin_init::zeroed()
        };
        let flags = bindings::SLAB_RECLAIM_ACCOUNT | bindings::SLAB_ACCOUNT;
        // SAFETY: The name is a `'static` C string, which the cache keeps;
        // `args` is valid for the call.
        let cache = unsafe {
            bindings::__kmem_cache_create_args(
                T::NAME.as_char_ptr(),
                core::mem::size_of::<INodeWithData<T>>() as c_uint,
                &mut args,
                flags,
            )
        };
        // INVARIANT: Created with our constructor, for our objects.
        Ok(Self {
            cache: NonNull::new(cache).ok_or(ENOMEM)?,
            _p: PhantomData,
        })
    }

    /// The cache's constructor: runs once per object, when the slab gets
    /// it, not on each allocation.
    ///
    /// # Safety
    ///
    /// `obj` is a new object of the cache: `size_of::<INodeWithData<T>>()`
    /// bytes, suitably aligned.
    unsafe extern "C" fn ctor(obj: *mut c_void) {
        // SAFETY: As the caller guarantees; `inode_init_once` initialises
        // the VFS inode's fields that survive reuse.
        unsafe {
            let p = obj.cast::<INodeWithData<T>>();
            bindings::inode_init_once(Opaque::cast_into(&raw const (*p).inode));
        }
    }
}

impl<T: FileSystem> Drop for INodeCache<T> {
    fn drop(&mut self) {
        // SAFETY: By the type invariant the cache is ours; the registration
        // that owns it waited for every inode to be freed (`rcu_barrier`).
        unsafe { bindings::kmem_cache_destroy(self.cache.as_ptr()) };
    }
}

impl<T: FileSystem> INodeWithData<T> {
    /// The allocation that `inode` is embedded in.
    ///
    /// # Safety
    ///
    /// `inode` must point to the `inode` field of an `INodeWithData<T>`
    /// (every inode of a superblock of `T`, from `alloc_inode`).
    pub(super) unsafe fn from_inode(inode: *mut bindings::inode) -> *mut Self {
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
    pub(super) unsafe fn from_raw(inode: *mut bindings::inode) -> &'a Self {
        // SAFETY: Transparent wrappers; the caller guarantees the invariants.
        unsafe { &*inode.cast() }
    }

    /// Whether the inode has a dentry (`i_dentry` not empty). A racy read
    /// without `i_lock`: it may miss a dentry being added concurrently.
    pub(super) fn has_alias(&self) -> bool {
        // SAFETY: The inode is valid (type invariant), so `i_dentry` is the
        // member of its union in use (`i_rcu` is, once it is being freed);
        // the list head is read once.
        let first = unsafe {
            core::ptr::read_volatile(&raw const (*self.0.raw()).__bindgen_anon_2.i_dentry.first)
        };
        !first.is_null()
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
    pub(super) unsafe fn from_raw<'a>(inode: *mut bindings::inode) -> &'a Self {
        // SAFETY: Transparent wrapper; the caller guarantees the invariants.
        unsafe { &*inode.cast() }
    }

    pub(super) fn raw(&self) -> *mut bindings::inode {
        self.0.get()
    }

    pub(super) fn container(&self) -> *mut INodeWithData<T> {
        // SAFETY: By the type invariant the inode is embedded in an
        // `INodeWithData<T>`.
        unsafe { INodeWithData::<T>::from_inode(self.0.get()) }
    }

    /// The inode number.
    pub fn ino(&self) -> u64 {
        // SAFETY: `i_ino` does not change after the inode is set up.
        unsafe { (*self.raw()).i_ino }
    }

    /// The generation number.
    pub fn generation(&self) -> u32 {
        // SAFETY: `i_generation` does not change after the inode is set up.
        unsafe { (*self.raw()).i_generation }
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

    /// Whether the file's data goes through DAX (`S_DAX`) rather than the
    /// page cache.
    pub fn is_dax(&self) -> bool {
        // SAFETY: `S_DAX` is set when the inode is set up and does not
        // change while it is in memory (a new `FS_DAX_FL` takes effect
        // when the inode is next read); a plain read of `i_flags`.
        unsafe { core::ptr::read_volatile(&raw const (*self.raw()).i_flags) & bindings::S_DAX != 0 }
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

    /// The owner ([`SuperBlock::disk_uid`] gives the id to store).
    pub fn uid(&self) -> Kuid {
        // SAFETY: A read of `i_uid`, which only `chown` changes, under the
        // inode lock, one store at a time.
        Kuid::from_raw(unsafe { core::ptr::read_volatile(&raw const (*self.raw()).i_uid) })
    }

    /// The group ([`SuperBlock::disk_gid`] gives the id to store).
    pub fn gid(&self) -> Kgid {
        // SAFETY: As for `i_uid`.
        Kgid::from_raw(unsafe { core::ptr::read_volatile(&raw const (*self.raw()).i_gid) })
    }

    /// Access time.
    pub fn atime(&self) -> Timespec {
        // SAFETY: The inode is valid.
        Timespec::from_raw(unsafe { bindings::inode_get_atime(self.raw()) })
    }

    /// Modification time.
    pub fn mtime(&self) -> Timespec {
        // SAFETY: The inode is valid.
        Timespec::from_raw(unsafe { bindings::inode_get_mtime(self.raw()) })
    }

    /// Change time.
    pub fn ctime(&self) -> Timespec {
        // SAFETY: The inode is valid.
        Timespec::from_raw(unsafe { bindings::inode_get_ctime(self.raw()) })
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
    pub(super) inode: NonNull<bindings::inode>,
    pub(super) _p: PhantomData<(&'a SuperBlock<T>, T)>,
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
            (*inode).i_uid = params.uid.into_raw();
            (*inode).i_gid = params.gid.into_raw();
            (*inode).i_blocks = params.blocks;
            (*inode).i_generation = params.generation;
            (*inode).i_flags |= vfs_flags(params.attr_flags);
        }
        // SAFETY: As above.
        unsafe { bindings::i_size_write(inode, params.size.min(i64::MAX as u64) as i64) };
        // SAFETY: As above.
        unsafe { bindings::set_nlink(inode, params.nlink) };
        // SAFETY: As above.
        unsafe { bindings::inode_set_atime_to_ts(inode, params.atime.into_raw()) };
        // SAFETY: As above.
        unsafe { bindings::inode_set_mtime_to_ts(inode, params.mtime.into_raw()) };
        // SAFETY: As above.
        unsafe { bindings::inode_set_ctime_to_ts(inode, params.ctime.into_raw()) };
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
                    if sbi.file_dax(params.attr_flags) {
                        (*inode).i_flags |= bindings::S_DAX;
                        (*(*inode).i_mapping).a_ops = &sb.dax_aops;
                    } else {
                        (*(*inode).i_mapping).a_ops = &sb.aops;
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

/// The inode flags (`S_*`) the VFS enforces for attribute flags `attr`
/// (`FS_*_FL`; see [`ATTR_VFS_FLAGS`]).
pub(super) fn vfs_flags(attr: u32) -> c_uint {
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

pub(super) fn mkdev(major: u32, minor: u32) -> u32 {
    ((major & 0xfff) << 20) | (minor & 0xfffff)
}
