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

/// The size of a `struct page`: what a page map stores per page.
pub const STRUCT_PAGE_SIZE: usize = core::mem::size_of::<bindings::page>();

/// The alignment `memremap_pages` needs of the ends of a range for it to
/// be mapped in any mode (`memremap_compat_align`).
pub fn compat_align() -> u64 {
    // SAFETY: Returns a constant of the architecture.
    unsafe { bindings::memremap_compat_align() as u64 }
}

/// A range of device memory mapped with struct pages, for file-system DAX.
///
/// A memory failure in the range (a machine check, or `MADV_HWPOISON`) is
/// forwarded to the DAX holder set with [`DevPagemap::set_failure_notifier`],
/// so that the file system can kill the processes that map the lost data;
/// without one the kernel's generic handling applies.
///
/// # Invariants
///
/// `pgmap` was set up for one range that ends with `[start, start + len)`
/// (the data; before it may be an info block and the page map), and
/// `memremap_pages` succeeded on it, mapping the data at `kaddr`; the
/// mapping lasts until `memunmap_pages` in drop. `start` and `len` are page
/// aligned.
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

/// How a range of device memory is to be mapped, before it is: one
/// physical range, the offset of the data in it, and, when the struct pages
/// of the data live on the device itself, the altmap that places them
/// between the start of the range and the data.
///
/// # Invariants
///
/// `pgmap` is zeroed but for one page-aligned range, `nr_range` and, with
/// `PGMAP_ALTMAP_VALID` in `flags` (the only flag), an altmap inside the
/// range and before `data_off`; `data_off` is page aligned and inside the
/// range.
pub struct PagemapSetup {
    pgmap: bindings::dev_pagemap,
    data_off: u64,
}

impl PagemapSetup {
    /// All of the `len` bytes at physical address `start`, with the struct
    /// pages in RAM.
    pub fn range(start: u64, len: u64) -> Result<Self> {
        let end = start
            .checked_add(len)
            .ok_or(EINVAL)?
            .checked_sub(1)
            .ok_or(EINVAL)?;
        let fill = |pgmap: *mut bindings::dev_pagemap| -> Result<u64> {
            // SAFETY: `pgmap` is valid for writes (`with`'s contract);
            // `range` is the first member of the union at `__bindgen_anon_1`.
            unsafe {
                (*pgmap).nr_range = 1;
                let range = (&raw mut (*pgmap).__bindgen_anon_1).cast::<bindings::range>();
                (*range).start = start;
                (*range).end = end;
            }
            Ok(0)
        };
        // SAFETY: `fill` writes only the range of the `dev_pagemap`.
        unsafe { Self::with(fill) }
    }

    /// A setup that `fill` writes into a zeroed `dev_pagemap` (one range,
    /// optionally an altmap), returning the offset of the data in the
    /// range; checked here.
    ///
    /// # Safety
    ///
    /// `fill` writes, of the `dev_pagemap` it is given, only the range,
    /// `nr_range`, the altmap and `flags`.
    pub(crate) unsafe fn with(
        fill: impl FnOnce(*mut bindings::dev_pagemap) -> Result<u64>,
    ) -> Result<Self> {
        let page_mask = (1u64 << PAGE_SHIFT) - 1;
        // SAFETY: A zeroed `dev_pagemap` is its documented initial state.
        let mut pgmap: bindings::dev_pagemap = unsafe { core::mem::zeroed() };
        let data_off = fill(&raw mut pgmap)?;
        // SAFETY: `fill` wrote at most one range, in the union at
        // `__bindgen_anon_1` (the function's contract).
        let range = unsafe { &*(&raw const pgmap.__bindgen_anon_1).cast::<bindings::range>() };
        let (start, end) = (range.start, range.end);
        let len = end.wrapping_sub(start).wrapping_add(1);
        if pgmap.nr_range != 1
            || end < start
            || start & page_mask != 0
            || len & page_mask != 0
            || data_off & page_mask != 0
            || data_off >= len
        {
            return Err(EINVAL);
        }
        let valid = bindings::PGMAP_ALTMAP_VALID;
        if pgmap.flags & !valid != 0
            || pgmap.vmemmap_shift != 0
            || pgmap.type_ != 0
            || !pgmap.ops.is_null()
            || !pgmap.owner.is_null()
        {
            return Err(EINVAL);
        }
        if pgmap.flags & valid != 0 {
            // The page map goes from `base_pfn`, past `reserve` pages, into
            // `free` pages, all before the data.
            let alt = &pgmap.altmap;
            let pages = |n: usize| n as u64;
            let room = pages(alt.reserve).checked_add(pages(alt.free));
            if pages(alt.base_pfn) != start >> PAGE_SHIFT
                || pages(alt.end_pfn) > end >> PAGE_SHIFT
                || room.is_none_or(|r| r > data_off >> PAGE_SHIFT)
                || alt.alloc != 0
            {
                return Err(EINVAL);
            }
        }
        // INVARIANT: Checked above.
        Ok(Self { pgmap, data_off })
    }

    /// Whether the struct pages of the data live on the device (an altmap).
    pub fn pages_on_device(&self) -> bool {
        self.pgmap.flags & bindings::PGMAP_ALTMAP_VALID != 0
    }
}

impl DevPagemap {
    /// Maps device memory as `setup` says, with the struct pages allocated
    /// on NUMA node `nid` (or on the device, with an altmap). The data,
    /// from its offset to the end of the range, is what
    /// [`DevPagemap::range`] and [`DevPagemap::direct_access`] reach; what
    /// precedes it (an info block, the page map) is not reachable.
    pub fn new(setup: PagemapSetup, nid: i32) -> impl PinInit<Self, Error> {
        let init = move |slot: *mut Self| -> Result {
            let PagemapSetup {
                pgmap: raw,
                data_off,
            } = setup;
            // SAFETY: The range is the first member of the union at
            // `__bindgen_anon_1` (type invariant of `PagemapSetup`).
            let (start, end) = unsafe {
                let range = &*(&raw const raw.__bindgen_anon_1).cast::<bindings::range>();
                (range.start, range.end)
            };
            let len = end - start + 1;
            // SAFETY: `slot` is valid for writes of `Self`.
            let pgmap = unsafe { Opaque::cast_into(&raw const (*slot).pgmap) };
            // SAFETY: `pgmap` is valid for writes; `raw` is a set-up
            // `dev_pagemap` that nothing points into yet.
            unsafe {
                pgmap.write(raw);
                (*pgmap).type_ = bindings::memory_type_MEMORY_DEVICE_FS_DAX;
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
                (&raw mut (*slot).start).write(start + data_off);
                (&raw mut (*slot).len).write(len - data_off);
            }
            // SAFETY: `pgmap` is set up for one range (and an altmap before
            // the data); it stays at this address (pinned) until
            // `memunmap_pages` in drop.
            let addr = from_err_ptr(unsafe { bindings::memremap_pages(pgmap, nid) })?;
            // SAFETY: `slot` is valid for writes; `memremap_pages` mapped
            // the whole range at `addr`, and `data_off < len`.
            unsafe {
                (&raw mut (*slot).kaddr).write(addr.cast::<u8>().add(data_off as usize));
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

    /// Physical address of the start of the data.
    pub fn phys_start(&self) -> u64 {
        self.start
    }

    /// Length of the data in bytes.
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
