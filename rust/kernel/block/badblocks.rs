// SPDX-License-Identifier: GPL-2.0

//! Bad block lists.
//!
//! C header: [`include/linux/badblocks.h`](srctree/include/linux/badblocks.h)

use crate::{bindings, error::to_result, prelude::*, types::Opaque};

/// A list of known-bad sector ranges of a block device (`struct badblocks`).
///
/// # Examples
///
/// ```
/// use kernel::block::badblocks::{BadBlocks, BadRange};
///
/// let bb = KBox::pin_init(BadBlocks::new(), GFP_KERNEL)?;
/// assert_eq!(bb.count(), 0);
/// assert_eq!(bb.check(0, 1024), None);
///
/// // The media reports 8 bad sectors at 16.
/// bb.add(16, 8)?;
/// assert_eq!(bb.count(), 1);
/// assert_eq!(bb.check(0, 16), None);
/// assert_eq!(bb.check(0, 1024), Some(BadRange { first: 16, sectors: 8 }));
///
/// // Repairing the first half leaves the second.
/// bb.clear(16, 4);
/// assert_eq!(bb.check(0, 1024), Some(BadRange { first: 20, sectors: 4 }));
/// bb.clear(20, 4);
/// assert_eq!(bb.check(0, 1024), None);
/// # Ok::<(), Error>(())
/// ```
///
/// # Invariants
///
/// `inner` was initialised by `badblocks_init` and is released by
/// `badblocks_exit` on drop.
#[pin_data(PinnedDrop)]
pub struct BadBlocks {
    #[pin]
    inner: Opaque<bindings::badblocks>,
}

// SAFETY: `struct badblocks` is protected by its own seqlock; all operations
// may be called from any thread.
unsafe impl Send for BadBlocks {}
// SAFETY: See `Send`; shared references only call thread-safe C functions.
unsafe impl Sync for BadBlocks {}

/// The first bad range found in a checked range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BadRange {
    /// First bad sector.
    pub first: u64,
    /// Number of bad sectors from `first`.
    pub sectors: u64,
}

impl BadBlocks {
    /// Creates an empty, enabled list.
    pub fn new() -> impl PinInit<Self, Error> {
        try_pin_init!(Self {
            inner <- Opaque::try_ffi_init(|slot: *mut bindings::badblocks| {
                // SAFETY: `slot` is valid for writes; `badblocks_init`
                // initialises the whole structure or fails without leaving
                // anything to undo.
                to_result(unsafe { bindings::badblocks_init(slot, 1) })
            }),
        })
    }

    /// Returns the raw pointer, for C APIs that fill or publish the list.
    pub(crate) fn as_raw(&self) -> *mut bindings::badblocks {
        self.inner.get()
    }

    /// Number of bad ranges currently recorded.
    pub fn count(&self) -> usize {
        // SAFETY: By the type invariant `inner` is initialised; `count` is a
        // plain integer updated under the list's seqlock, and a racy read
        // only decides whether to take the slower `check` path.
        let n = unsafe { core::ptr::read_volatile(&raw const (*self.as_raw()).count) };
        usize::try_from(n).unwrap_or(0)
    }

    /// Returns the first bad range overlapping `sectors` sectors at `sector`.
    pub fn check(&self, sector: u64, sectors: u64) -> Option<BadRange> {
        if self.count() == 0 {
            return None;
        }
        let mut first = 0;
        let mut len = 0;
        // SAFETY: By the type invariant `inner` is initialised;
        // `badblocks_check` takes the list's lock itself.
        let rc = unsafe {
            bindings::badblocks_check(self.as_raw(), sector, sectors, &mut first, &mut len)
        };
        (rc != 0).then_some(BadRange {
            first,
            sectors: len,
        })
    }

    /// Records `sectors` bad sectors at `sector`, acknowledged (as libnvdimm
    /// records the poison its bus reports); `ENOSPC` if the list is full.
    pub fn add(&self, sector: u64, sectors: u64) -> Result {
        // SAFETY: By the type invariant `inner` is initialised;
        // `badblocks_set` takes the list's lock itself.
        if unsafe { bindings::badblocks_set(self.as_raw(), sector, sectors, 1) } {
            Ok(())
        } else {
            Err(ENOSPC)
        }
    }

    /// Forgets `sectors` bad sectors at `sector`, after the media was repaired.
    pub fn clear(&self, sector: u64, sectors: u64) {
        // SAFETY: By the type invariant `inner` is initialised.
        unsafe { bindings::badblocks_clear(self.as_raw(), sector, sectors) };
    }
}

#[pinned_drop]
impl PinnedDrop for BadBlocks {
    fn drop(self: Pin<&mut Self>) {
        // SAFETY: By the type invariant `inner` was initialised by
        // `badblocks_init` and is not used after this.
        unsafe { bindings::badblocks_exit(self.inner.get()) };
    }
}
