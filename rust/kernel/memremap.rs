// SPDX-License-Identifier: GPL-2.0

//! Device memory with struct pages (`memremap_pages`).
//!
//! File-system DAX in this kernel needs struct pages behind every PFN that
//! `direct_access` returns: the DAX core takes page references and tracks
//! page-to-file mappings. [`DevPagemap`] maps a physical range of device
//! memory into the kernel and creates those pages, as
//! `MEMORY_DEVICE_FS_DAX`.
//!
//! C header: [`include/linux/memremap.h`](srctree/include/linux/memremap.h)

use crate::{
    bindings,
    dax::{DirectAccess, HolderNotifier},
    error::from_err_ptr,
    pmem::PmemRange,
    prelude::*,
    sync::SetOnce,
    types::Opaque,
};

const PAGE_SHIFT: u32 = bindings::PAGE_SHIFT;

/// A range of device memory mapped with struct pages, for file-system DAX.
///
/// A memory failure in the range (a machine check, or `MADV_HWPOISON`) is
/// forwarded to the DAX holder set with [`DevPagemap::set_failure_notifier`],
/// so that the file system can kill the processes that map the lost data;
/// without one the kernel's generic handling applies.
///
/// # Invariants
///
/// `pgmap` was set up for `[start, start + len)` and `memremap_pages`
/// succeeded on it, mapping the range at `kaddr`; the mapping lasts until
/// `memunmap_pages` in drop. `start` and `len` are page aligned.
#[pin_data(PinnedDrop)]
pub struct DevPagemap {
    #[pin]
    pgmap: Opaque<bindings::dev_pagemap>,
    kaddr: *mut u8,
    start: u64,
    len: u64,
    notifier: SetOnce<HolderNotifier>,
}

// SAFETY: The mapping is plain memory shared by design; the C side
// synchronises the pagemap's reference count.
unsafe impl Send for DevPagemap {}
// SAFETY: Shared references only read immutable fields or hand out ranges
// whose users must synchronise among themselves, as with any device memory.
unsafe impl Sync for DevPagemap {}

impl DevPagemap {
    /// Maps `len` bytes of device memory at physical address `start` with
    /// struct pages allocated on NUMA node `nid`.
    pub fn new_fsdax(start: u64, len: u64, nid: i32) -> impl PinInit<Self, Error> {
        let page_mask = (1u64 << PAGE_SHIFT) - 1;
        let init = move |slot: *mut Self| -> Result {
            if len == 0 || start & page_mask != 0 || len & page_mask != 0 {
                return Err(EINVAL);
            }
            let end = start.checked_add(len - 1).ok_or(EINVAL)?;
            // SAFETY: `slot` is valid for writes of `Self`.
            let pgmap = unsafe { Opaque::cast_into(&raw const (*slot).pgmap) };
            // SAFETY: `pgmap` is valid for writes; a zeroed `dev_pagemap` is
            // its documented initial state before the fields below are set.
            // `range` is the first member of a union at `__bindgen_anon_1`.
            unsafe {
                core::ptr::write_bytes(pgmap, 0, 1);
                (*pgmap).type_ = bindings::memory_type_MEMORY_DEVICE_FS_DAX;
                (*pgmap).nr_range = 1;
                let range = (&raw mut (*pgmap).__bindgen_anon_1).cast::<bindings::range>();
                (*range).start = start;
                (*range).end = end;
                (*pgmap).ops = &FSDAX_OPS;
            }
            // SAFETY: `slot` is valid for writes; the notifier must be set
            // before `memremap_pages` makes the hook reachable.
            unsafe { (&raw mut (*slot).notifier).write(SetOnce::new()) };
            // The failure hook may run as soon as `memremap_pages` publishes
            // the pagemap: what it reads must be in place first.
            // SAFETY: `slot` is valid for writes.
            unsafe {
                (&raw mut (*slot).kaddr).write(core::ptr::null_mut());
                (&raw mut (*slot).start).write(start);
                (&raw mut (*slot).len).write(len);
            }
            // SAFETY: `pgmap` is initialised for one range; it stays at this
            // address (pinned) until `memunmap_pages` in drop.
            let addr = from_err_ptr(unsafe { bindings::memremap_pages(pgmap, nid) })?;
            // SAFETY: `slot` is valid for writes.
            unsafe {
                (&raw mut (*slot).kaddr).write(addr.cast::<u8>());
            }
            Ok(())
        };
        // SAFETY: On success every field of `*slot` is initialised; on error
        // nothing was mapped, and the empty notifier needs no dropping.
        unsafe { pin_init::pin_init_from_closure(init) }
    }

    /// Sets where memory failures in the range are reported; only once
    /// (`EBUSY` after that).
    pub fn set_failure_notifier(&self, notifier: HolderNotifier) -> Result {
        if self.notifier.populate(notifier) {
            Ok(())
        } else {
            Err(EBUSY)
        }
    }

    /// # Safety
    ///
    /// Called by the memory-failure code with the `pgmap` of a live
    /// [`DevPagemap`] (it holds a reference on the pagemap, which
    /// `memunmap_pages` waits for).
    unsafe extern "C" fn memory_failure(
        pgmap: *mut bindings::dev_pagemap,
        pfn: usize,
        nr_pages: usize,
        mf_flags: c_int,
    ) -> c_int {
        // SAFETY: `pgmap` is the `pgmap` field of a live `DevPagemap`
        // (caller), so the container is valid for the call.
        let this = unsafe { &*crate::container_of!(Opaque::cast_from(pgmap), DevPagemap, pgmap) };
        let Some(notifier) = this.notifier.as_ref() else {
            return EOPNOTSUPP.to_errno();
        };
        let phys = (pfn as u64) << PAGE_SHIFT;
        let Some(offset) = phys.checked_sub(this.start).filter(|&o| o < this.len) else {
            return EINVAL.to_errno();
        };
        let len = (nr_pages as u64) << PAGE_SHIFT;
        pr_warn!(
            "memory failure in device memory at {:#x}+{:#x}: telling the DAX holder\n",
            phys,
            len
        );
        match notifier.notify_failure(offset, len, mf_flags) {
            Ok(()) => 0,
            Err(e) => e.to_errno(),
        }
    }

    /// Physical address of the start of the range.
    pub fn phys_start(&self) -> u64 {
        self.start
    }

    /// Length of the range in bytes.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether the range is empty (it never is).
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The `len` bytes at `offset`, for copies in and out.
    pub fn range(&self, offset: u64, len: usize) -> Result<PmemRange<'_>> {
        let end = offset.checked_add(len as u64).ok_or(EINVAL)?;
        if end > self.len {
            return Err(EINVAL);
        }
        // SAFETY: `offset + len <= self.len`, so the range lies within the
        // mapping, which lasts as long as `self` (type invariant).
        Ok(unsafe { PmemRange::from_raw(self.kaddr.add(offset as usize), len) })
    }

    /// Direct access to the pages from `offset` (page aligned) to the end of
    /// the range: the kernel address, PFN and number of pages.
    pub fn direct_access(&self, offset: u64) -> Result<DirectAccess<'_>> {
        let page_mask = (1u64 << PAGE_SHIFT) - 1;
        if offset & page_mask != 0 || offset >= self.len {
            return Err(EINVAL);
        }
        let pfn = (self.start + offset) >> PAGE_SHIFT;
        let nr_pages = (self.len - offset) >> PAGE_SHIFT;
        // SAFETY: `offset` is a page within the mapping, which has struct
        // pages and lasts as long as `self`; `nr_pages` pages follow it.
        Ok(unsafe { DirectAccess::new(self.kaddr.add(offset as usize), pfn, nr_pages) })
    }
}

/// Pagemap operations: only the memory-failure hook.
static FSDAX_OPS: bindings::dev_pagemap_ops = bindings::dev_pagemap_ops {
    memory_failure: Some(DevPagemap::memory_failure),
    ..pin_init::zeroed()
};

#[pinned_drop]
impl PinnedDrop for DevPagemap {
    fn drop(self: Pin<&mut Self>) {
        // SAFETY: By the type invariant `memremap_pages` succeeded on
        // `pgmap`; this waits for all page (and pagemap) references to go
        // and unmaps, so the failure hook cannot run any more when the
        // notifier is dropped after this.
        unsafe { bindings::memunmap_pages(self.pgmap.get()) };
    }
}
