// SPDX-License-Identifier: GPL-2.0

//! Bio-based block devices.
//!
//! A bio-based driver receives each `struct bio` in its `submit_bio`
//! callback and completes it there, without the request queue and tag set
//! of blk-mq. That suits memory-like devices (persistent memory, RAM disks)
//! whose I/O is a synchronous copy.
//!
//! C headers: [`include/linux/bio.h`](srctree/include/linux/bio.h),
//! [`include/linux/blkdev.h`](srctree/include/linux/blkdev.h).

use crate::{
    bindings,
    block::badblocks::BadBlocks,
    dax::{DaxDevice, Operations as DaxOperations},
    error::{from_err_ptr, to_result},
    fmt::{self, Write},
    prelude::*,
    str::NullTerminatedFormatter,
    sync::Arc,
    types::{ForeignOwnable, Opaque, ScopeGuard},
};
use core::{marker::PhantomData, ptr::NonNull};

/// The operation of a [`Bio`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// Read sectors.
    Read,
    /// Write sectors.
    Write,
    /// Flush the volatile write cache (an empty bio with `REQ_PREFLUSH`).
    Flush,
    /// Any other operation (discard, write zeroes, zone management, ...).
    Other(u32),
}

/// A block I/O request (`struct bio`) handed to a driver's `submit_bio`.
///
/// # Invariants
///
/// The wrapped `struct bio` is valid and owned by the driver for the
/// duration of the `submit_bio` call that produced the reference.
#[repr(transparent)]
pub struct Bio(Opaque<bindings::bio>);

impl Bio {
    fn as_raw(&self) -> *mut bindings::bio {
        self.0.get()
    }

    fn opf(&self) -> u32 {
        // SAFETY: By the type invariant the bio is valid; `bi_opf` is not
        // changed while the driver owns the bio.
        unsafe { (*self.as_raw()).bi_opf }
    }

    /// The operation.
    pub fn op(&self) -> Op {
        match self.opf() & bindings::REQ_OP_MASK {
            bindings::req_op_REQ_OP_READ => Op::Read,
            bindings::req_op_REQ_OP_WRITE => Op::Write,
            bindings::req_op_REQ_OP_FLUSH => Op::Flush,
            other => Op::Other(other),
        }
    }

    /// Whether the volatile cache must be flushed before the data is written.
    pub fn is_preflush(&self) -> bool {
        self.opf() & bindings::REQ_PREFLUSH != 0
    }

    /// Whether the data must be durable when the bio completes.
    pub fn is_fua(&self) -> bool {
        self.opf() & bindings::REQ_FUA != 0
    }

    /// Whether the bio carries data (reads and writes with a payload).
    pub fn has_data(&self) -> bool {
        // SAFETY: By the type invariant the bio is valid.
        unsafe { bindings::bio_has_data(self.as_raw()) }
    }

    /// First sector of the bio.
    pub fn sector(&self) -> u64 {
        // SAFETY: By the type invariant the bio is valid.
        unsafe { (*self.as_raw()).bi_iter.bi_sector }
    }

    /// Remaining size in bytes.
    pub fn size(&self) -> u32 {
        // SAFETY: By the type invariant the bio is valid.
        unsafe { (*self.as_raw()).bi_iter.bi_size }
    }

    /// Iterates over the bio's data, one page-bounded segment at a time.
    pub fn segments(&self) -> Segments<'_> {
        Segments {
            bio: self,
            // SAFETY: By the type invariant the bio is valid; the iterator is
            // a copy, so the bio itself is not advanced.
            iter: unsafe { (*self.as_raw()).bi_iter },
        }
    }
}

/// Iterator over the segments of a [`Bio`] (`bio_for_each_segment`).
pub struct Segments<'a> {
    bio: &'a Bio,
    iter: bindings::bvec_iter,
}

impl<'a> Iterator for Segments<'a> {
    type Item = Segment<'a>;

    fn next(&mut self) -> Option<Segment<'a>> {
        if self.iter.bi_size == 0 {
            return None;
        }
        let sector = self.iter.bi_sector;
        // SAFETY: The bio is valid (type invariant of `Bio`) and `iter` has
        // bytes left, so it designates a segment of the bio's vector.
        let bv = unsafe { bindings::bio_iter_iovec(self.bio.as_raw(), self.iter) };
        // SAFETY: As above; `bv_len` is the length of the current segment.
        unsafe { bindings::bio_advance_iter_single(self.bio.as_raw(), &mut self.iter, bv.bv_len) };
        let page = NonNull::new(bv.bv_page)?;
        // INVARIANT: `bio_iter_iovec` yields a segment within one page.
        Some(Segment {
            page,
            offset: bv.bv_offset as usize,
            len: bv.bv_len as usize,
            sector,
            _bio: PhantomData,
        })
    }
}

/// One segment of a [`Bio`]: `len` bytes at `offset` in one page, for the
/// device range starting at `sector`.
///
/// # Invariants
///
/// `page` is a valid page pinned by the bio for `'a`, and
/// `offset + len <= PAGE_SIZE`.
pub struct Segment<'a> {
    page: NonNull<bindings::page>,
    offset: usize,
    len: usize,
    sector: u64,
    _bio: PhantomData<&'a Bio>,
}

impl Segment<'_> {
    /// Device sector this segment starts at.
    pub fn sector(&self) -> u64 {
        self.sector
    }

    /// Length in bytes.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the segment is empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Runs `f` with the segment's bytes mapped at a kernel address.
    ///
    /// The pointer is valid for reads and writes of [`Self::len`] bytes
    /// during the call only.
    pub(crate) fn with_mapped<R>(&self, f: impl FnOnce(*mut u8) -> R) -> R {
        // SAFETY: By the type invariant `page` is valid; the mapping is
        // released below, before the page can go away.
        let base = unsafe { bindings::kmap_local_page(self.page.as_ptr()) }.cast::<u8>();
        // SAFETY: `offset < PAGE_SIZE` by the type invariant, so the result
        // is within the mapped page.
        let r = f(unsafe { base.add(self.offset) });
        // SAFETY: `base` came from `kmap_local_page` above, in this context.
        unsafe { bindings::kunmap_local(base.cast()) };
        r
    }
}

/// Queue feature flags (`BLK_FEAT_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Features(u32);

impl Features {
    /// The device has a volatile write cache that flushes (`REQ_PREFLUSH`) empty.
    pub const WRITE_CACHE: Self = Self(bindings::BLK_FEAT_WRITE_CACHE);
    /// The device honours `REQ_FUA`.
    pub const FUA: Self = Self(bindings::BLK_FEAT_FUA);
    /// The driver completes every bio before `submit_bio` returns.
    pub const SYNCHRONOUS: Self = Self(bindings::BLK_FEAT_SYNCHRONOUS);
    /// The device supports direct access (a DAX device is registered for it).
    pub const DAX: Self = Self(bindings::BLK_FEAT_DAX);

    /// No features.
    pub const fn empty() -> Self {
        Self(0)
    }

    /// Whether all of `other` is set.
    pub const fn contains(self, other: Self) -> bool {
        self.0 & other.0 == other.0
    }
}

impl core::ops::BitOr for Features {
    type Output = Self;
    fn bitor(self, rhs: Self) -> Self {
        Self(self.0 | rhs.0)
    }
}

impl core::ops::BitOrAssign for Features {
    fn bitor_assign(&mut self, rhs: Self) {
        self.0 |= rhs.0;
    }
}

/// A `struct queue_limits` builder.
pub struct QueueLimits {
    lim: bindings::queue_limits,
}

impl Default for QueueLimits {
    fn default() -> Self {
        Self::new()
    }
}

impl QueueLimits {
    /// Limits with the block layer's defaults.
    pub fn new() -> Self {
        Self {
            lim: pin_init::zeroed(),
        }
    }

    fn block_size(size: u32) -> Result<u32> {
        if (512..=bindings::PAGE_SIZE as u32).contains(&size) && size.is_power_of_two() {
            Ok(size)
        } else {
            Err(EINVAL)
        }
    }

    /// Smallest addressable unit; a power of two from 512 to `PAGE_SIZE`.
    pub fn logical_block_size(mut self, size: u32) -> Result<Self> {
        self.lim.logical_block_size = Self::block_size(size)?;
        Ok(self)
    }

    /// Smallest unit written atomically; a power of two from 512 to `PAGE_SIZE`.
    pub fn physical_block_size(mut self, size: u32) -> Result<Self> {
        self.lim.physical_block_size = Self::block_size(size)?;
        Ok(self)
    }

    /// Largest bio the device accepts, in sectors.
    pub fn max_hw_sectors(mut self, sectors: u32) -> Self {
        self.lim.max_hw_sectors = sectors;
        self
    }

    /// Feature flags.
    pub fn features(mut self, features: Features) -> Self {
        self.lim.features = features.0;
        self
    }
}

/// Operations of a bio-based disk.
///
/// The disk holds an `Arc<Self>` as its private data for as long as the
/// gendisk exists.
#[vtable]
pub trait Operations: Send + Sync + Sized + 'static {
    /// Performs `bio` and returns its status; the bio is completed
    /// (`bio_endio`) with that status when this returns.
    fn submit_bio(this: &Self, bio: &Bio) -> Result;

    /// The bad block list published as the disk's `badblocks` attribute.
    ///
    /// It is read once, when the disk is built; the disk keeps `this` (and
    /// so the list) alive for as long as it exists.
    fn badblocks(this: &Self) -> Option<&BadBlocks> {
        let _ = this;
        None
    }
}

struct OperationsVTable<T: Operations>(PhantomData<T>);

impl<T: Operations> OperationsVTable<T> {
    /// # Safety
    ///
    /// Called by the block layer with a valid bio whose disk was created by
    /// [`Builder::build`] for `T`.
    unsafe extern "C" fn submit_bio(bio: *mut bindings::bio) {
        // SAFETY: The bio is valid and its disk is one of ours, whose
        // `private_data` came from `Arc::<T>::into_foreign` and is only
        // released after `del_gendisk`, which waits for submitters.
        let data = unsafe { (*(*(*bio).bi_bdev).bd_disk).private_data };
        // SAFETY: See above.
        let this = unsafe { <Arc<T> as ForeignOwnable>::borrow(data) };
        // SAFETY: The bio is valid and owned by us until `bio_endio`.
        let r = T::submit_bio(&this, unsafe { &*bio.cast::<Bio>() });
        if let Err(e) = r {
            // SAFETY: We own the bio until `bio_endio`.
            unsafe { (*bio).bi_status = bindings::errno_to_blk_status(e.to_errno()) };
        }
        // SAFETY: We own the bio; this hands it back to its submitter.
        unsafe { bindings::bio_endio(bio) };
    }

    const VTABLE: bindings::block_device_operations = bindings::block_device_operations {
        submit_bio: Some(Self::submit_bio),
        owner: crate::module::this_module::<T::OwnerModule>().as_ptr(),
        ..pin_init::zeroed()
    };
}

/// Builds a bio-based [`Disk`].
pub struct Builder {
    limits: QueueLimits,
    capacity_sectors: u64,
    numa_node: i32,
}

impl Builder {
    /// A disk of `capacity_sectors` 512-byte sectors with the given limits.
    pub fn new(limits: QueueLimits, capacity_sectors: u64) -> Self {
        Self {
            limits,
            capacity_sectors,
            numa_node: bindings::NUMA_NO_NODE,
        }
    }

    /// Allocates the disk's structures on this NUMA node.
    pub fn numa_node(mut self, node: i32) -> Self {
        self.numa_node = node;
        self
    }

    /// Creates the disk `name`, registers `dax` as its DAX device (if any),
    /// and adds the disk to the system under `parent`.
    pub fn build<T: Operations, D: DaxOperations>(
        mut self,
        name: fmt::Arguments<'_>,
        parent: &crate::device::Device<crate::device::Bound>,
        data: Arc<T>,
        dax: Option<DaxDevice<D>>,
    ) -> Result<Disk<T, D>> {
        // SAFETY: `lim` is a valid limits structure; NULL lock class keys
        // select the block layer's default.
        let gendisk = from_err_ptr(unsafe {
            bindings::__blk_alloc_disk(
                &mut self.limits.lim,
                self.numa_node,
                crate::static_lock_class!().as_ptr(),
            )
        })?;
        let put_on_error = ScopeGuard::new(move || {
            // SAFETY: `gendisk` was allocated above and not added yet.
            unsafe { bindings::put_disk(gendisk) }
        });

        let mut writer = NullTerminatedFormatter::new(
            // SAFETY: `gendisk` is valid and not visible to anyone else yet.
            unsafe { &mut (*gendisk).disk_name },
        )
        .ok_or(EINVAL)?;
        writer.write_fmt(name)?;

        let bb = T::badblocks(&data).map_or(core::ptr::null_mut(), |bb| bb.as_raw());
        // SAFETY: `gendisk` is valid and not visible to anyone else yet.
        // `bb`, if not NULL, lives in `*data`, which the disk keeps alive
        // through `private_data` until after `del_gendisk`.
        unsafe {
            (*gendisk).fops = &OperationsVTable::<T>::VTABLE;
            (*gendisk).bb = bb;
            bindings::set_capacity(gendisk, self.capacity_sectors);
        }

        if let Some(dax) = &dax {
            // SAFETY: Both pointers are valid; the host entry is removed in
            // `Disk::drop` (or below on error) before either goes away.
            to_result(unsafe { bindings::dax_add_host(dax.as_raw(), gendisk) })?;
        }
        let has_dax = dax.is_some();
        let remove_host_on_error = ScopeGuard::new(move || {
            if has_dax {
                // SAFETY: The host entry was added above.
                unsafe { bindings::dax_remove_host(gendisk) };
            }
        });

        let private = data.into_foreign();
        // SAFETY: `gendisk` is valid and not visible to anyone else yet.
        unsafe { (*gendisk).private_data = private };
        // SAFETY: `gendisk` is fully set up; `parent` is a bound device that
        // outlives the disk (the disk is deleted before unbind completes).
        let rc =
            unsafe { bindings::device_add_disk(parent.as_raw(), gendisk, core::ptr::null_mut()) };
        if let Err(e) = to_result(rc) {
            // SAFETY: `private` came from `into_foreign` above; the disk was
            // never added, so nobody else can have borrowed it.
            drop(unsafe { Arc::<T>::from_foreign(private) });
            return Err(e);
        }
        remove_host_on_error.dismiss();
        put_on_error.dismiss();

        // INVARIANT: The disk was added above, with `private` as its private
        // data, and `dax` (if any) registered as its DAX host.
        Ok(Disk {
            gendisk,
            dax,
            _data: PhantomData,
        })
    }
}

/// A bio-based disk added to the system, with its DAX device if it has one.
///
/// Dropping it removes the DAX host and kills the DAX device (so no new
/// direct access starts), then deletes the disk and releases the private
/// data: the order of `drivers/nvdimm/pmem.c`.
///
/// # Invariants
///
/// `gendisk` is valid and was added with `device_add_disk`; its
/// `private_data` came from `Arc::<T>::into_foreign`; if `dax` is `Some`,
/// it is registered as the disk's DAX host.
pub struct Disk<T: Operations, D: DaxOperations> {
    gendisk: *mut bindings::gendisk,
    dax: Option<DaxDevice<D>>,
    _data: PhantomData<Arc<T>>,
}

// SAFETY: The disk is only a handle; the C side synchronises its use, and the
// private data (`Arc<T>`) and DAX device are `Send`.
unsafe impl<T: Operations, D: DaxOperations> Send for Disk<T, D> {}
// SAFETY: Shared references only read immutable state.
unsafe impl<T: Operations, D: DaxOperations> Sync for Disk<T, D> {}

impl<T: Operations, D: DaxOperations> Disk<T, D> {
    /// The disk's name (`disk_name`).
    pub fn name(&self) -> &CStr {
        // SAFETY: By the type invariant `gendisk` is valid; `disk_name` is
        // NUL-terminated and not changed after the disk was added.
        unsafe { CStr::from_char_ptr((*self.gendisk).disk_name.as_ptr()) }
    }

    /// The DAX device, if the disk has one.
    pub fn dax(&self) -> Option<&DaxDevice<D>> {
        self.dax.as_ref()
    }

    /// Whether the disk is read-only (`get_disk_ro`).
    pub fn read_only(&self) -> bool {
        // SAFETY: By the type invariant `gendisk` is valid.
        unsafe { bindings::get_disk_ro(self.gendisk) }
    }

    /// Makes the disk read-only or writable again (`set_disk_ro`): opening
    /// a read-only disk for writing fails (so file systems mount it
    /// read-only only, and `O_DIRECT` writes are refused).
    pub fn set_read_only(&self, read_only: bool) {
        // SAFETY: By the type invariant `gendisk` is valid and added.
        unsafe { bindings::set_disk_ro(self.gendisk, read_only) };
    }

    /// Tells those polling the disk's `badblocks` attribute in sysfs that
    /// it changed (after the bad blocks list did).
    pub fn notify_badblocks(&self) {
        // SAFETY: By the type invariant `gendisk` is valid and added, so
        // `part0` and its device's kobject are; the names are
        // NUL-terminated.
        unsafe {
            bindings::sysfs_notify(
                &raw mut (*(*self.gendisk).part0).bd_device.kobj,
                core::ptr::null(),
                c"badblocks".as_char_ptr(),
            )
        };
    }
}

impl<T: Operations, D: DaxOperations> Drop for Disk<T, D> {
    fn drop(&mut self) {
        if let Some(dax) = self.dax.take() {
            // SAFETY: By the type invariant the host entry exists.
            unsafe { bindings::dax_remove_host(self.gendisk) };
            // Kills the DAX device and drops our reference to it.
            drop(dax);
        }
        // SAFETY: By the type invariant the disk is valid and was added.
        let private = unsafe { (*self.gendisk).private_data };
        // SAFETY: As above; after this no new bio reaches `submit_bio` and
        // those in flight have completed.
        unsafe { bindings::del_gendisk(self.gendisk) };
        // SAFETY: `del_gendisk` must be followed by `put_disk`.
        unsafe { bindings::put_disk(self.gendisk) };
        // SAFETY: `private` came from `Arc::<T>::into_foreign` (type
        // invariant) and no callback can borrow it any more.
        drop(unsafe { Arc::<T>::from_foreign(private) });
    }
}
