// SPDX-License-Identifier: GPL-2.0

//! DAX devices: direct access to byte-addressable storage.
//!
//! A driver for memory-like storage registers a DAX device whose
//! `direct_access` translates a page offset on the device into a kernel
//! address and a PFN. File systems mounted with `-o dax` then map and copy
//! file data without the page cache.
//!
//! C header: [`include/linux/dax.h`](srctree/include/linux/dax.h)

use crate::{
    bindings,
    error::{from_err_ptr, to_result},
    iov::IovIterSource,
    pmem::PmemRange,
    prelude::*,
    sync::Arc,
    types::ForeignOwnable,
};
use core::{ffi::c_void, marker::PhantomData};

/// How the caller of `direct_access` means to use the range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccessMode {
    /// Ordinary loads and stores: known-poisoned pages are refused.
    Access,
    /// A write that will repair poisoned pages (`recovery_write`).
    RecoveryWrite,
}

/// The answer of `direct_access`: a kernel address and PFN for the first
/// requested page, and how many pages are contiguous from there.
///
/// # Invariants
///
/// `kaddr` and `pfn` designate the same page of memory that stays mapped, with
/// struct pages, for `'a` (the borrow of the mapping it came from), and
/// `nr_pages` pages from there are valid too.
#[derive(Debug, Clone, Copy)]
pub struct DirectAccess<'a> {
    kaddr: *mut u8,
    pfn: u64,
    nr_pages: u64,
    _mapping: PhantomData<&'a ()>,
}

impl DirectAccess<'_> {
    /// The answer for `nr_pages` pages from `kaddr` (PFN `pfn`), for a mapping
    /// that the caller borrows for the lifetime of the result.
    ///
    /// # Safety
    ///
    /// `kaddr` and `pfn` must designate the same page of memory, which must
    /// stay mapped, with struct pages, for the lifetime of the result, and so
    /// must the `nr_pages` pages from there.
    pub unsafe fn new(kaddr: *mut u8, pfn: u64, nr_pages: u64) -> Self {
        // INVARIANT: The caller guarantees them (the safety requirements).
        Self {
            kaddr,
            pfn,
            nr_pages,
            _mapping: PhantomData,
        }
    }

    /// Number of contiguous pages available.
    pub fn nr_pages(&self) -> u64 {
        self.nr_pages
    }

    /// The same access limited to at most `nr_pages` pages (at least one).
    pub fn limit(self, nr_pages: u64) -> Self {
        // INVARIANT: Fewer pages of a valid range are still valid.
        Self {
            nr_pages: self.nr_pages.min(nr_pages.max(1)),
            ..self
        }
    }
}

/// Operations of a DAX device.
///
/// The device holds an `Arc<Self>` as its private data until it is killed.
#[vtable]
pub trait Operations: Send + Sync + Sized + 'static {
    /// Translates `pgoff` (in pages from the start of the device) for up to
    /// `nr_pages` pages. The answer borrows `this`, which the device keeps
    /// until it is killed, so it can only come from a mapping `this` owns.
    fn direct_access(
        this: &Self,
        pgoff: u64,
        nr_pages: u64,
        mode: AccessMode,
    ) -> Result<DirectAccess<'_>>;

    /// Zeroes `nr_pages` pages from `pgoff`, durably.
    fn zero_page_range(this: &Self, pgoff: u64, nr_pages: u64) -> Result;

    /// Writes `src` into `dst`, the range at `pgoff` that
    /// [`Operations::direct_access`] returned in [`AccessMode::RecoveryWrite`]
    /// mode, repairing poisoned media first. Returns the bytes written (0 if
    /// the range cannot be repaired).
    fn recovery_write(
        this: &Self,
        pgoff: u64,
        dst: PmemRange<'_>,
        src: &mut IovIterSource<'_>,
    ) -> usize {
        let _ = (this, pgoff, dst, src);
        build_error!(crate::error::VTABLE_DEFAULT_ERROR)
    }
}

struct OperationsVTable<T: Operations>(PhantomData<T>);

impl<T: Operations> OperationsVTable<T> {
    /// # Safety
    ///
    /// `dax_dev` must be a DAX device allocated by [`DaxDevice::new`] for
    /// `T`, and not yet freed.
    unsafe fn this<'a>(
        dax_dev: *mut bindings::dax_device,
    ) -> Option<<Arc<T> as ForeignOwnable>::Borrowed<'a>> {
        // SAFETY: The caller guarantees `dax_dev` is valid.
        let private = unsafe { bindings::dax_get_private(dax_dev) };
        if private.is_null() {
            // Killed: the private data may be gone.
            return None;
        }
        // SAFETY: `dax_dev` is ours and alive, so its private data came from
        // `Arc::<T>::into_foreign` and is released only after `kill_dax`,
        // which waits for the callbacks in progress.
        Some(unsafe { <Arc<T> as ForeignOwnable>::borrow(private) })
    }

    /// # Safety
    ///
    /// Called by the DAX core with a device of ours; `kaddr` and `pfn`
    /// are NULL or valid for writes.
    unsafe extern "C" fn direct_access(
        dax_dev: *mut bindings::dax_device,
        pgoff: usize,
        nr_pages: isize,
        mode: bindings::dax_access_mode,
        kaddr: *mut *mut c_void,
        pfn: *mut usize,
    ) -> isize {
        let mode = if mode == bindings::dax_access_mode_DAX_RECOVERY_WRITE {
            AccessMode::RecoveryWrite
        } else {
            AccessMode::Access
        };
        let Ok(nr_pages) = u64::try_from(nr_pages) else {
            return EINVAL.to_errno() as isize;
        };
        // SAFETY: The caller guarantees the device is ours.
        let Some(this) = (unsafe { Self::this(dax_dev) }) else {
            return ENXIO.to_errno() as isize;
        };
        match T::direct_access(&this, pgoff as u64, nr_pages, mode) {
            Ok(da) => {
                if !kaddr.is_null() {
                    // SAFETY: `kaddr` is valid for writes when not NULL.
                    unsafe { *kaddr = da.kaddr.cast() };
                }
                if !pfn.is_null() {
                    // SAFETY: `pfn` is valid for writes when not NULL.
                    unsafe { *pfn = da.pfn as usize };
                }
                isize::try_from(da.nr_pages).unwrap_or(isize::MAX)
            }
            Err(e) => e.to_errno() as isize,
        }
    }

    /// # Safety
    ///
    /// Called by the DAX core with a device of ours.
    unsafe extern "C" fn zero_page_range(
        dax_dev: *mut bindings::dax_device,
        pgoff: usize,
        nr_pages: usize,
    ) -> c_int {
        // SAFETY: The caller guarantees the device is ours.
        let Some(this) = (unsafe { Self::this(dax_dev) }) else {
            return ENXIO.to_errno();
        };
        match T::zero_page_range(&this, pgoff as u64, nr_pages as u64) {
            Ok(()) => 0,
            Err(e) => e.to_errno(),
        }
    }

    /// # Safety
    ///
    /// Called by the DAX core with a device of ours, `addr` as returned by
    /// our `direct_access` for `pgoff` in recovery mode and valid for
    /// `bytes`, and a valid source `iter`.
    unsafe extern "C" fn recovery_write(
        dax_dev: *mut bindings::dax_device,
        pgoff: usize,
        addr: *mut c_void,
        bytes: usize,
        iter: *mut bindings::iov_iter,
    ) -> usize {
        // SAFETY: The caller guarantees the device is ours.
        let Some(this) = (unsafe { Self::this(dax_dev) }) else {
            return 0;
        };
        // SAFETY: `addr` came from our `direct_access`, which only hands out
        // addresses of a live mapping (`DirectAccess` invariant), valid for
        // `bytes` bytes while the device is alive, as it is during this call.
        let dst = unsafe { PmemRange::from_raw(addr.cast(), bytes) };
        // SAFETY: The DAX core passes the write's source iterator, used only
        // through this reference during the call.
        let src = unsafe { IovIterSource::from_raw(iter) };
        T::recovery_write(&this, pgoff as u64, dst, src)
    }

    const VTABLE: bindings::dax_operations = bindings::dax_operations {
        direct_access: Some(Self::direct_access),
        zero_page_range: Some(Self::zero_page_range),
        recovery_write: if T::HAS_RECOVERY_WRITE {
            Some(Self::recovery_write)
        } else {
            None
        },
    };
}

/// A DAX device (`struct dax_device`) with private data `Arc<T>`.
///
/// Dropping it kills the device (direct access fails from then on, and
/// callbacks in progress have finished), drops the reference, and releases
/// the private data.
///
/// # Invariants
///
/// `dax` was returned by `alloc_dax` with `Arc::<T>::into_foreign` as its
/// private data and our vtable as its operations, and is not killed yet.
pub struct DaxDevice<T: Operations> {
    dax: *mut bindings::dax_device,
    _data: PhantomData<Arc<T>>,
}

// SAFETY: The DAX core synchronises access to `struct dax_device`; the
// private data is `Arc<T>` with `T: Send + Sync`.
unsafe impl<T: Operations> Send for DaxDevice<T> {}
// SAFETY: All methods taking `&self` call thread-safe C functions.
unsafe impl<T: Operations> Sync for DaxDevice<T> {}

impl<T: Operations> DaxDevice<T> {
    /// Allocates a DAX device whose operations are `T`'s.
    pub fn new(data: Arc<T>) -> Result<Self> {
        let private = data.into_foreign();
        // SAFETY: `VTABLE` is static; `private` stays valid until we release
        // it in `drop` (or below on failure).
        let dax =
            from_err_ptr(unsafe { bindings::alloc_dax(private, &OperationsVTable::<T>::VTABLE) });
        match dax {
            // INVARIANT: Allocated above with our private data and vtable.
            Ok(dax) => Ok(Self {
                dax,
                _data: PhantomData,
            }),
            Err(e) => {
                // SAFETY: `alloc_dax` failed, so nobody else has `private`.
                drop(unsafe { Arc::<T>::from_foreign(private) });
                Err(e)
            }
        }
    }

    pub(crate) fn as_raw(&self) -> *mut bindings::dax_device {
        self.dax
    }

    /// The device's stores bypass the CPU cache (`set_dax_nocache`).
    pub fn set_nocache(&self) {
        // SAFETY: By the type invariant `dax` is valid.
        unsafe { bindings::set_dax_nocache(self.dax) }
    }

    /// Reads need no machine-check-safe copy (`set_dax_nomc`).
    pub fn set_nomc(&self) {
        // SAFETY: By the type invariant `dax` is valid.
        unsafe { bindings::set_dax_nomc(self.dax) }
    }

    /// CPU stores are durable once flushed: `MAP_SYNC` is allowed.
    pub fn set_synchronous(&self) {
        // SAFETY: By the type invariant `dax` is valid.
        unsafe { bindings::set_dax_synchronous(self.dax) }
    }

    /// Whether the platform has a volatile cache in front of the media.
    pub fn set_write_cache(&self, enabled: bool) {
        // SAFETY: By the type invariant `dax` is valid.
        unsafe { bindings::dax_write_cache(self.dax, enabled) }
    }

    /// Whether the write cache is reported enabled.
    pub fn write_cache(&self) -> bool {
        // SAFETY: By the type invariant `dax` is valid.
        unsafe { bindings::dax_write_cache_enabled(self.dax) }
    }

    /// Whether `MAP_SYNC` is allowed.
    pub fn synchronous(&self) -> bool {
        // SAFETY: By the type invariant `dax` is valid.
        unsafe { bindings::dax_synchronous(self.dax) }
    }

    /// A counted handle for telling the device's holder about memory
    /// failures, which may outlive this [`DaxDevice`].
    pub fn holder_notifier(&self) -> HolderNotifier {
        // SAFETY: By the type invariant `dax` is valid; `ihold` takes a
        // reference on its inode, which `put_dax` drops.
        unsafe { bindings::ihold(bindings::dax_inode(self.dax)) };
        // INVARIANT: We took a reference above.
        HolderNotifier { dax: self.dax }
    }
}

/// A counted reference to a DAX device, for forwarding memory failures to
/// whoever holds the device (a file system mounted on its disk).
///
/// Once the device is killed, notifications fail with `ENXIO`.
///
/// # Invariants
///
/// `dax` is a DAX device on which this value owns a reference.
pub struct HolderNotifier {
    dax: *mut bindings::dax_device,
}

// SAFETY: The reference may be dropped on any thread, and
// `dax_holder_notify_failure` synchronises with `kill_dax` itself.
unsafe impl Send for HolderNotifier {}
// SAFETY: See `Send`.
unsafe impl Sync for HolderNotifier {}

impl HolderNotifier {
    /// Tells the holder that `len` bytes at `offset` on the device are
    /// lost (`mf_flags` are the memory-failure flags, `MF_*`).
    pub fn notify_failure(&self, offset: u64, len: u64, mf_flags: i32) -> Result {
        // SAFETY: By the type invariant `dax` is valid; the C side checks
        // that the device is alive and has a holder.
        to_result(unsafe { bindings::dax_holder_notify_failure(self.dax, offset, len, mf_flags) })
    }
}

impl Drop for HolderNotifier {
    fn drop(&mut self) {
        // SAFETY: By the type invariant we own a reference.
        unsafe { bindings::put_dax(self.dax) };
    }
}

impl<T: Operations> Drop for DaxDevice<T> {
    fn drop(&mut self) {
        // SAFETY: By the type invariant `dax` is valid and alive.
        let private = unsafe { bindings::dax_get_private(self.dax) };
        // SAFETY: As above. After `kill_dax` no callback runs any more.
        unsafe { bindings::kill_dax(self.dax) };
        // SAFETY: Drops the reference `alloc_dax` gave us.
        unsafe { bindings::put_dax(self.dax) };
        // SAFETY: `private` came from `into_foreign` in `new`, and no callback
        // can borrow it any more.
        drop(unsafe { Arc::<T>::from_foreign(private) });
    }
}
