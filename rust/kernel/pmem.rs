// SPDX-License-Identifier: GPL-2.0

//! Persistent memory copy primitives.
//!
//! Stores to persistent memory are durable only once they have left the CPU
//! caches, and loads from it may hit poisoned lines that raise a machine
//! check. These wrappers give the two copies a pmem driver needs: one that
//! writes around (or flushes) the caches, and one that survives poison.
//!
//! C headers: [`include/linux/libnvdimm.h`](srctree/include/linux/libnvdimm.h),
//! [`include/linux/uaccess.h`](srctree/include/linux/uaccess.h).

use crate::bindings;

/// The copy hit poisoned memory: only `copied` bytes reached the destination.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Poisoned {
    /// Bytes copied before the poisoned line.
    pub copied: usize,
}

/// Copies `src` into `dst` so that the stores do not linger in the CPU caches.
///
/// After it returns, a write fence (or `nvdimm_flush`) makes the data durable.
///
/// # Panics
///
/// Panics if the slices differ in length.
pub fn copy_flushcache(dst: &mut [u8], src: &[u8]) {
    assert_eq!(dst.len(), src.len());
    // SAFETY: Both slices are valid for `src.len()` bytes and cannot overlap,
    // since `dst` is borrowed mutably.
    unsafe { raw_copy_flushcache(dst.as_mut_ptr(), src.as_ptr(), src.len()) }
}

/// Copies `src` into `dst`, stopping at poisoned memory instead of crashing.
///
/// # Panics
///
/// Panics if the slices differ in length, or are longer than `u32::MAX`.
pub fn copy_mc(dst: &mut [u8], src: &[u8]) -> Result<(), Poisoned> {
    assert_eq!(dst.len(), src.len());
    // SAFETY: Both slices are valid for `src.len()` bytes and cannot overlap,
    // since `dst` is borrowed mutably.
    unsafe { raw_copy_mc(dst.as_mut_ptr(), src.as_ptr(), src.len()) }
}

/// Raw form of [`copy_flushcache`], for memory that Rust references cannot
/// describe (persistent memory mapped by a driver and shared with DAX users).
///
/// # Safety
///
/// `dst` must be valid for writes and `src` for reads of `len` bytes, and the
/// two ranges must not overlap.
pub unsafe fn raw_copy_flushcache(dst: *mut u8, src: *const u8, len: usize) {
    // SAFETY: The caller guarantees both ranges are valid and disjoint.
    unsafe { bindings::memcpy_flushcache(dst.cast(), src.cast(), len) }
}

/// Raw form of [`copy_mc`].
///
/// # Safety
///
/// `dst` must be valid for writes and `src` for reads of `len` bytes, and the
/// two ranges must not overlap.
///
/// # Panics
///
/// Panics if `len` does not fit in a `u32`.
pub unsafe fn raw_copy_mc(dst: *mut u8, src: *const u8, len: usize) -> Result<(), Poisoned> {
    let n = u32::try_from(len).expect("copy_mc of more than 4 GiB");
    // SAFETY: The caller guarantees both ranges are valid and disjoint.
    let rem = unsafe { bindings::copy_mc_to_kernel(dst.cast(), src.cast(), n) };
    if rem == 0 {
        Ok(())
    } else {
        // `rem <= n`, so the difference cannot underflow and fits in a usize.
        Err(Poisoned {
            copied: len - rem as usize,
        })
    }
}

