// SPDX-License-Identifier: GPL-2.0

//! Superblocks: [`NewSuperBlock`] while it is being filled, then [`SuperBlock`].

use super::*;
use crate::{
    ffi::{c_long, c_ulong, c_void},
    pmem,
};

/// A reference to the DAX device under a mounted block device, taken with
/// `fs_dax_get_by_bdev` and dropped with `fs_put_dax`.
///
/// # Invariants
///
/// `self.0` is a reference to a DAX device that we own, taken with no
/// holder.
pub(super) struct FsDax(NonNull<bindings::dax_device>);

// SAFETY: A DAX device reference may be used and dropped from any thread.
unsafe impl Send for FsDax {}

// SAFETY: The DAX functions called through `&FsDax` synchronise internally.
unsafe impl Sync for FsDax {}

impl FsDax {
    /// The DAX device of `bdev`, if it has one, with the offset of the
    /// partition on it.
    ///
    /// # Safety
    ///
    /// `bdev` is a valid, open block device.
    pub(super) unsafe fn get(bdev: *mut bindings::block_device) -> Option<(Self, u64)> {
        let mut part_off = 0u64;
        // SAFETY: `bdev` is valid (caller). As ext4, no holder: memory
        // failures take the kernel's generic path.
        let dax = unsafe {
            bindings::fs_dax_get_by_bdev(
                bdev,
                &mut part_off,
                core::ptr::null_mut(),
                core::ptr::null(),
            )
        };
        // INVARIANT: A reference `fs_dax_get_by_bdev` took for us.
        NonNull::new(dax).map(|d| (Self(d), part_off))
    }

    /// The DAX device, for the C functions that take it.
    pub(super) fn as_ptr(&self) -> *mut bindings::dax_device {
        self.0.as_ptr()
    }
}

/// Copies `out.len()` bytes at byte `dev` of DAX device `dax` into `out`
/// with `copy_mc_to_kernel`: `Ok(true)` once copied, `Ok(false)` if the
/// device cannot map them all (a bad block: the caller reads through the
/// block layer, which reports it), `EIO` if the copy hit poison.
fn copy_from_dax(dax: &FsDax, dev: u64, out: &mut [u8]) -> Result<bool> {
    let page = 1u64 << bindings::PAGE_SHIFT;
    let in_page = (dev & (page - 1)) as usize;
    let pages = (in_page + out.len()).div_ceil(page as usize);
    let mut kaddr: *mut c_void = core::ptr::null_mut();
    // The read lock keeps the DAX device alive while we use its memory.
    let _lock = DaxReadLock::lock();
    // SAFETY: `dax` is a DAX device we hold a reference to (type
    // invariant of `FsDax`), alive under the read lock; `pfn` may be NULL.
    let got = unsafe {
        bindings::dax_direct_access(
            dax.as_ptr(),
            (dev >> bindings::PAGE_SHIFT) as c_ulong,
            pages as c_long,
            bindings::dax_access_mode_DAX_ACCESS,
            &mut kaddr,
            core::ptr::null_mut(),
        )
    };
    if kaddr.is_null() || got < pages as c_long {
        return Ok(false);
    }
    // SAFETY: `dax_direct_access` mapped `pages` pages from `kaddr`, which
    // hold `in_page + out.len()` bytes, readable while the read lock is
    // held; `out` is ours, so the ranges are disjoint. Device memory may be
    // poisoned: the copy stops there and says so.
    let r =
        unsafe { pmem::raw_copy_mc(out.as_mut_ptr(), kaddr.cast::<u8>().add(in_page), out.len()) };
    r.map(|()| true).map_err(|_| EIO)
}

impl Drop for FsDax {
    fn drop(&mut self) {
        // SAFETY: Our reference, taken with no holder (type invariant).
        unsafe { bindings::fs_put_dax(self.0.as_ptr(), core::ptr::null_mut()) };
    }
}

/// The abstraction's per-superblock state, in `s_fs_info` from the end of
/// [`FileSystem::fill_super`] to `put_super` (or `kill_sb` if the mount
/// fails after it).
pub(super) struct SbInfo<T: FileSystem> {
    /// The file system's data.
    pub(super) data: T::Data,
    /// The DAX device, if the device has one and the mount may use it
    /// (not `-o dax=never`).
    pub(super) dax: Option<FsDax>,
    /// Offset of the partition on the DAX device, added to device addresses.
    pub(super) part_off: u64,
    /// How the mount asked for DAX.
    pub(super) mode: DaxMode,
    /// Set by `FS_IOC_SHUTDOWN` or the block device going away: from then
    /// on every operation that would read or write the file system's data
    /// or metadata fails with `EIO`, and nothing more is written.
    pub(super) shutdown: core::sync::atomic::AtomicBool,
    /// Set by [`SuperBlock::force_read_only`] (an error under
    /// `errors=remount-ro`): from then on every operation that would write
    /// fails with `EROFS`, nothing more is written but the file system's
    /// error mark, and the mount stays so until unmounted.
    pub(super) emergency_ro: core::sync::atomic::AtomicBool,
}

impl<T: FileSystem> SbInfo<T> {
    /// Whether a regular file with attribute flags `attr_flags` uses DAX,
    /// as `ext4_should_enable_dax`: always with `-o dax=always`, never
    /// with `-o dax=never` or without a DAX device, and otherwise (`-o
    /// dax=inode`, the default) if the file has the DAX flag
    /// (`FS_DAX_FL`, `chattr +x`).
    pub(super) fn file_dax(&self, attr_flags: u32) -> bool {
        self.dax.is_some()
            && (self.mode == DaxMode::Always
                || self.per_inode() && attr_flags & bindings::FS_DAX_FL != 0)
    }

    /// The DAX device, or NULL, for the C functions that take it.
    pub(super) fn dax_ptr(&self) -> *mut bindings::dax_device {
        self.dax
            .as_ref()
            .map_or(core::ptr::null_mut(), FsDax::as_ptr)
    }

    /// Whether each file's DAX flag decides (`-o dax=inode`, the default).
    pub(super) fn per_inode(&self) -> bool {
        matches!(self.mode, DaxMode::Default | DaxMode::Inode)
    }
}

/// A superblock being set up: its data does not exist yet, so this type
/// has no `data()`; [`SuperBlock`] is the same superblock once it does.
///
/// # Invariants
///
/// `sb` is a valid superblock of type `T` being filled; `dax` says whether
/// the mount holds a DAX device for it.
pub struct NewSuperBlock<'a, T: FileSystem> {
    pub(super) sb: *mut bindings::super_block,
    pub(super) dax: bool,
    pub(super) _p: PhantomData<(&'a (), T)>,
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

    /// Sets the granularity of the timestamps the file system stores, in
    /// nanoseconds (a power of ten from 1 to 1,000,000,000; the VFS's
    /// default is whole seconds, as ext2 stores them): the VFS truncates
    /// the times it sets to it.
    pub fn set_time_granularity(&self, nsec: u32) {
        // SAFETY: By the type invariant `sb` is valid and being set up.
        unsafe { (*self.sb).s_time_gran = nsec };
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

    /// Turns on extended attributes (see [`xattr::Operations::get_xattr`]) and,
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

    /// Whether file data may be accessed with DAX: the device has it and
    /// the mount did not refuse it (which files do is the mount's
    /// [`DaxMode`] and their DAX flag).
    pub fn dax(&self) -> bool {
        self.dax
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
    pub(super) fn raw(&self) -> *mut bindings::super_block {
        self.0.get()
    }

    /// # Safety
    ///
    /// `sb` must be a superblock of `T` whose data is set, valid for `'a`.
    pub(super) unsafe fn from_raw<'a>(sb: *mut bindings::super_block) -> &'a Self {
        // SAFETY: `SuperBlock` is a transparent wrapper (caller guarantees
        // the invariants).
        unsafe { &*sb.cast() }
    }

    pub(super) fn info(&self) -> &SbInfo<T> {
        // SAFETY: By the type invariant `s_fs_info` is our `SbInfo<T>`,
        // which lives until `kill_sb`.
        unsafe { &*(*self.raw()).s_fs_info.cast::<SbInfo<T>>() }
    }

    /// The file system's data.
    pub fn data(&self) -> &T::Data {
        &self.info().data
    }

    /// Reads block `block` (of the file system's block size).
    pub fn bread(&self, block: u64) -> Result<Buffer<'_>> {
        // SAFETY: `raw` is a valid superblock (type invariant) while it is
        // borrowed.
        unsafe { Buffer::read_block(self.raw(), block) }
    }

    /// Calls `f` on the bytes of block `block` (of the file system's block
    /// size), for scans that read many blocks once each, such as indexing
    /// a large directory: they need not fill the buffer cache.
    ///
    /// A block whose buffer is in the buffer cache, up to date or holding
    /// the bytes of a write that failed, is read there, since the buffer
    /// may hold changes not on the device; `f` then runs under the buffer
    /// lock, as for [`Head::read`]. Any other block is, on a DAX device,
    /// copied from persistent memory into
    /// `scratch` with `copy_mc_to_kernel`, without a bio or a buffer;
    /// poisoned memory fails the read with `EIO`. Otherwise, or if the DAX
    /// device cannot map the block, it is read as [`SuperBlock::bread`]
    /// does, which also refuses blocks past the end of the device.
    ///
    /// `scratch` must be at least one block long (`EINVAL`). As for any
    /// read of metadata, the caller keeps the block from changing
    /// meanwhile.
    pub fn read_block_once<R>(
        &self,
        block: u64,
        scratch: &mut [u8],
        f: impl FnOnce(&[u8]) -> R,
    ) -> Result<R> {
        let bs = self.block_size();
        let out = scratch.get_mut(..bs as usize).ok_or(EINVAL)?;
        // SAFETY: `raw` is a valid block-device superblock (type
        // invariant) while it is borrowed, and so the buffer's lifetime.
        if let Some(buf) = unsafe { Buffer::cached(self.raw(), block) } {
            return Ok(buf.read(f));
        }
        let info = self.info();
        // SAFETY: `s_bdev` is set for block-device superblocks.
        let size = unsafe { bindings::bdev_nr_bytes((*self.raw()).s_bdev) };
        // The DAX device may span more than this partition, and its driver
        // need not check bounds: only blocks of the device go there.
        let dev = block
            .checked_add(1)
            .and_then(|n| n.checked_mul(bs))
            .filter(|&end| end <= u64::try_from(size).unwrap_or(0))
            .and_then(|end| (end - bs).checked_add(info.part_off));
        if let (Some(dax), Some(dev)) = (&info.dax, dev) {
            if copy_from_dax(dax, dev, out)? {
                return Ok(f(out));
            }
        }
        Ok(self.bread(block)?.read(f))
    }

    /// Gets the inode `ino`: a cached one, or a new one to be filled.
    pub fn iget(&self, ino: u64) -> Result<GetINode<'_, T>> {
        // SAFETY: The superblock is valid.
        let inode =
            NonNull::new(unsafe { bindings::iget_locked(self.raw(), ino) }).ok_or(ENOMEM)?;
        // SAFETY: `iget_locked` returned a referenced inode of this sb.
        let state = unsafe { bindings::inode_state_read_once(inode.as_ptr()) };
        if state & bindings::inode_state_flags_enum_I_NEW != 0 {
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

    /// Zeroes `count` blocks from `block` on the device, durably: an
    /// ordering point. [`Self::write_zeroes`], then a cache flush
    /// (`REQ_PREFLUSH`), before anything may point at the blocks.
    pub fn zero_blocks(&self, block: u64, count: u64) -> Result {
        self.write_zeroes(block, count)?;
        // SAFETY: `s_bdev` is the mounted device, open until `kill_sb`.
        to_result(unsafe { bindings::blkdev_issue_flush((*self.raw()).s_bdev) })
    }

    /// Zeroes `count` blocks from `block` on the device and waits for the
    /// writes, but leaves them in the device's volatile domain: the next
    /// cache flush (`REQ_PREFLUSH`, as [`Head::sync_all`]'s last write carries) makes
    /// them durable, so that one ordering point can cover them and the
    /// metadata written with them. Through the DAX device if there is one
    /// (the driver zeroes with non-temporal stores and no fence), otherwise
    /// with `blkdev_issue_zeroout`.
    ///
    /// [`Head::sync_all`]: super::buffer::Head::sync_all
    pub fn write_zeroes(&self, block: u64, count: u64) -> Result {
        let info = self.info();
        // SAFETY: `raw` is a valid superblock.
        let bits = unsafe { (*self.raw()).s_blocksize_bits };
        let Some(dax) = &info.dax else {
            let shift = u32::from(bits) - bindings::SECTOR_SHIFT;
            let sector = block.checked_shl(shift).ok_or(EIO)?;
            let sectors = count.checked_shl(shift).ok_or(EIO)?;
            // SAFETY: `s_bdev` is the mounted device, open until `kill_sb`;
            // the range is within the file system, which fits the device
            // (checked by the file system at mount).
            return to_result(unsafe {
                bindings::blkdev_issue_zeroout(
                    (*self.raw()).s_bdev,
                    sector,
                    sectors,
                    bindings::GFP_KERNEL,
                    0,
                )
            });
        };
        let page_shift = bindings::PAGE_SHIFT;
        let start = block
            .checked_shl(u32::from(bits))
            .and_then(|b| b.checked_add(info.part_off))
            .ok_or(EIO)?;
        let pages = count.checked_shl(u32::from(bits)).ok_or(EIO)? >> page_shift;
        let first = start >> page_shift;
        // The read lock keeps the DAX device alive.
        let dax_lock = DaxReadLock::lock();
        // `dax_zero_page_range` zeroes one page per call (device mapper
        // targets may split larger ranges).
        let r = (first..first + pages).try_for_each(|pgoff| {
            // SAFETY: `dax` is the DAX device of our mounted superblock,
            // held until `put_super`, and alive under the read lock. The page
            // is within the file system, which fits the device (checked by
            // the file system at mount).
            to_result(unsafe { bindings::dax_zero_page_range(dax.as_ptr(), pgoff as usize, 1) })
        });
        drop(dax_lock);
        r
    }

    /// Whether the file system was shut down (`FS_IOC_SHUTDOWN`).
    pub fn is_shut_down(&self) -> bool {
        self.info()
            .shutdown
            .load(core::sync::atomic::Ordering::Acquire)
    }

    /// `EIO` once the file system was shut down: what every operation
    /// that would touch it checks first.
    pub(super) fn live(&self) -> Result {
        if self.is_shut_down() {
            Err(EIO)
        } else {
            Ok(())
        }
    }

    /// [`Self::live`], and `EROFS` once [`Self::force_read_only`] stopped
    /// writes: what every operation that would write checks first.
    pub(super) fn writable(&self) -> Result {
        self.live()?;
        if self.is_emergency_ro() {
            Err(EROFS)
        } else {
            Ok(())
        }
    }

    /// [`Self::writable`] for callbacks that have only the C superblock.
    ///
    /// # Safety
    ///
    /// `sb` is a mounted superblock of `T` whose data is set.
    pub(super) unsafe fn writable_raw(sb: *mut bindings::super_block) -> Result {
        // SAFETY: As the caller guarantees.
        unsafe { Self::from_raw(sb) }.writable()
    }

    /// [`Self::live`] for callbacks that have only the C superblock.
    ///
    /// # Safety
    ///
    /// `sb` is a mounted superblock of `T` whose data is set.
    pub(super) unsafe fn live_raw(sb: *mut bindings::super_block) -> Result {
        // SAFETY: As the caller guarantees.
        unsafe { Self::from_raw(sb) }.live()
    }

    /// Shuts the file system down (see [`Self::is_shut_down`]); logs it
    /// once.
    pub(super) fn shut_down(&self) {
        if !self
            .info()
            .shutdown
            .swap(true, core::sync::atomic::Ordering::AcqRel)
        {
            fs_err::<T>(format_args!(
                "{}: shut down: no more reads or writes\n",
                self.id().to_str().unwrap_or("?")
            ));
        }
    }

    /// Stops all writes at once, for `errors=remount-ro`: from then on
    /// every operation that would write fails with `EROFS` (new calls, and
    /// writes through files and mappings already open), calls under way
    /// finish, and unmounting leaves the file system as it is on disk (not
    /// marked clean). As ext4's emergency read-only state, not C ext2's
    /// `SB_RDONLY` behind the VFS's back, which a frozen file system would
    /// never thaw from. `/proc/mounts` shows `emergency_ro`; a remount
    /// between read-only and read-write is refused (`EROFS`).
    pub fn force_read_only(&self) {
        self.info()
            .emergency_ro
            .store(true, core::sync::atomic::Ordering::Release);
    }

    /// Whether [`Self::force_read_only`] stopped writes.
    pub fn is_emergency_ro(&self) -> bool {
        self.info()
            .emergency_ro
            .load(core::sync::atomic::Ordering::Acquire)
    }

    /// Whether the file system is frozen (`FIFREEZE`), or far enough into
    /// a freeze that the file system's own `freeze_fs` runs: nothing more
    /// may be written to the device then (before, while the freeze syncs,
    /// writes still go out). A snapshot, which a freeze or thaw may change
    /// at once: `unfreeze_fs` writes the superblock again.
    pub fn is_frozen(&self) -> bool {
        // SAFETY: `raw` is a valid superblock (type invariant), so the
        // field is valid for reads; the VFS changes it under `s_umount`,
        // which we do not hold: a racy, advisory read, done once (as
        // `READ_ONCE`).
        let frozen = unsafe {
            core::ptr::read_volatile(core::ptr::addr_of!((*self.raw()).s_writers.frozen))
        };
        u32::from(frozen) >= bindings::SB_FREEZE_FS
    }

    /// Panics the kernel after an error of this file system, as
    /// `errors=panic` asks: `<name> (<device>): panic forced after error`.
    pub fn panic_after_error(&self) -> ! {
        // SAFETY: The format takes two NUL-terminated strings, which `NAME`
        // and `s_id` (type invariant: a valid superblock) are.
        unsafe {
            bindings::panic(
                c"%s (device %s): panic forced after error\n".as_char_ptr(),
                T::NAME.as_char_ptr(),
                (*self.raw()).s_id.as_ptr(),
            )
        }
    }

    /// Whether the superblock is mounted read-only.
    pub fn read_only(&self) -> bool {
        // SAFETY: `raw` is a valid superblock; `s_flags` is read once.
        let flags = unsafe { (*self.raw()).s_flags };
        flags & bindings::SB_RDONLY as c_ulong != 0
    }

    /// The block size in bytes, as [`NewSuperBlock::set_block_size`] set
    /// it.
    pub fn block_size(&self) -> u64 {
        // SAFETY: `raw` is a valid superblock; `s_blocksize` is set before
        // the file system has inodes and not changed after.
        unsafe { (*self.raw()).s_blocksize as u64 }
    }

    /// The largest file size, as [`NewSuperBlock::set_max_bytes`] set it.
    pub fn max_bytes(&self) -> u64 {
        // SAFETY: As above, for `s_maxbytes`.
        unsafe { (*self.raw()).s_maxbytes }.max(0) as u64
    }

    /// Whether POSIX ACLs are on (`IS_POSIXACL`: the mount's `acl`
    /// option, once [`NewSuperBlock::enable_xattrs`] turned them on).
    pub fn posix_acl(&self) -> bool {
        // SAFETY: `raw` is a valid superblock; `s_flags` is read once.
        let flags = unsafe { (*self.raw()).s_flags };
        flags & bindings::SB_POSIXACL as c_ulong != 0
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
