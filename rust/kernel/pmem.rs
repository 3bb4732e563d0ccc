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

use crate::{bindings, prelude::*};

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
/// # Examples
///
/// ```
/// use kernel::pmem::{copy_flushcache, copy_mc};
///
/// let src = [0x5au8; 300];
/// let mut dst = [0u8; 300];
/// copy_flushcache(&mut dst, &src);
/// assert_eq!(dst, src);
///
/// // Memory without poison copies whole.
/// let mut back = [0u8; 300];
/// assert_eq!(copy_mc(&mut back, &dst), Ok(()));
/// assert_eq!(back, src);
/// ```
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

/// A range of persistent memory mapped in the kernel, valid for `'a`.
///
/// Reads use machine-check-safe copies; writes bypass the CPU caches, so a
/// write fence (or `nvdimm_flush`) afterwards makes them durable. No Rust
/// reference to the memory is ever created: others (DAX users) may access
/// it concurrently, as with DMA.
///
/// # Examples
///
/// ```
/// use kernel::pmem::{PmemRange, Poisoned};
///
/// let mut buf = KVec::from_elem(0xffu8, 8192, GFP_KERNEL)?;
/// // SAFETY: `buf` is valid for its length and outlives `r`; nothing else
/// // uses it meanwhile.
/// let r = unsafe { PmemRange::from_raw(buf.as_mut_ptr().add(100), 5000) };
/// assert_eq!((r.len(), r.page_offset()), (5000, (buf.as_ptr() as usize + 100) % 4096));
///
/// let data = KVec::from_elem(7u8, 5000, GFP_KERNEL)?;
/// r.write(&data)?;
/// let mut back = KVec::from_elem(0u8, 5000, GFP_KERNEL)?;
/// assert_eq!(r.read(&mut back), Ok(()));
/// assert!(back == data);
///
/// // A buffer of another length is refused.
/// assert_eq!(r.write(&data[..10]), Err(EINVAL));
/// assert_eq!(r.read(&mut back[..10]), Err(Poisoned { copied: 0 }));
///
/// r.zero();
/// assert_eq!(r.read(&mut back), Ok(()));
/// assert!(back.iter().all(|&b| b == 0));
/// drop(r);
/// // Only the range was written.
/// assert!(buf[..100].iter().all(|&b| b == 0xff));
/// assert!(buf[5100..].iter().all(|&b| b == 0xff));
/// # Ok::<(), Error>(())
/// ```
///
/// # Invariants
///
/// `ptr` is valid for reads and writes of `len` bytes for `'a`.
pub struct PmemRange<'a> {
    ptr: *mut u8,
    len: usize,
    _mapping: core::marker::PhantomData<&'a ()>,
}

/// The largest single `copy_mc` call.
const COPY_CHUNK: usize = 1 << 30;

impl PmemRange<'_> {
    /// # Safety
    ///
    /// `ptr` must be valid for reads and writes of `len` bytes for `'a`.
    pub unsafe fn from_raw(ptr: *mut u8, len: usize) -> Self {
        // INVARIANT: Guaranteed by the caller.
        Self {
            ptr,
            len,
            _mapping: core::marker::PhantomData,
        }
    }

    /// Length in bytes.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the range is empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Writes `src` (of the range's length) with cache-bypassing stores.
    pub fn write(&self, src: &[u8]) -> Result {
        if src.len() != self.len {
            return Err(EINVAL);
        }
        // SAFETY: `ptr` is valid for `len` bytes (type invariant) and cannot
        // overlap `src`, which Rust owns.
        unsafe { raw_copy_flushcache(self.ptr, src.as_ptr(), self.len) };
        Ok(())
    }

    /// Reads the range into `dst` (of the range's length).
    pub fn read(&self, dst: &mut [u8]) -> Result<(), Poisoned> {
        if dst.len() != self.len {
            return Err(Poisoned { copied: 0 });
        }
        // SAFETY: As in `write`.
        unsafe { self.read_raw(dst.as_mut_ptr()) }
    }

    /// # Safety
    ///
    /// `dst` must be valid for writes of `len` bytes and not overlap the range.
    unsafe fn read_raw(&self, dst: *mut u8) -> Result<(), Poisoned> {
        let mut done = 0;
        while done < self.len {
            let n = (self.len - done).min(COPY_CHUNK);
            // SAFETY: Both ranges are valid for `n` bytes from `done`.
            unsafe { raw_copy_mc(dst.add(done), self.ptr.add(done), n) }.map_err(|p| Poisoned {
                copied: done + p.copied,
            })?;
            done += n;
        }
        Ok(())
    }

    /// Zeroes the range with cache-bypassing stores.
    pub fn zero(&self) {
        static ZEROES: [u8; 4096] = [0; 4096];
        let mut done = 0;
        while done < self.len {
            let n = (self.len - done).min(ZEROES.len());
            // SAFETY: `ptr + done` is valid for `n` bytes (type invariant),
            // and `ZEROES` is a distinct static.
            unsafe { raw_copy_flushcache(self.ptr.add(done), ZEROES.as_ptr(), n) };
            done += n;
        }
    }

    /// Offset of the range's start within its page.
    pub fn page_offset(&self) -> usize {
        self.ptr as usize % bindings::PAGE_SIZE
    }

    /// Copies up to the range's length from `src` with cache-bypassing
    /// stores; returns the bytes copied (fewer on a fault in user memory).
    pub fn write_from_iter(&self, src: &mut crate::iov::IovIterSource<'_>) -> usize {
        // SAFETY: `ptr` is valid for `len` bytes (type invariant) and `src`
        // is a valid source iterator.
        unsafe { bindings::_copy_from_iter_flushcache(self.ptr.cast(), self.len, src.as_raw()) }
    }

    /// Drops any cached copy of the range, after its media was repaired.
    pub fn invalidate_cache(&self) {
        // SAFETY: `ptr` is valid for `len` bytes (type invariant).
        unsafe { bindings::arch_invalidate_pmem(self.ptr.cast(), self.len) }
    }

    /// Writes the data of a bio segment (of the range's length).
    pub fn write_segment(&self, seg: &crate::block::bio::Segment<'_>) -> Result {
        if seg.len() != self.len {
            return Err(EINVAL);
        }
        seg.with_mapped(|src| {
            // SAFETY: `src` is valid for `len` bytes during the call, `ptr`
            // for `len` bytes by the type invariant; a bio page is never
            // persistent memory of this range being written.
            unsafe { raw_copy_flushcache(self.ptr, src, self.len) }
        });
        Ok(())
    }

    /// Reads the range into a bio segment (of the range's length).
    pub fn read_segment(&self, seg: &crate::block::bio::Segment<'_>) -> Result<(), Poisoned> {
        if seg.len() != self.len {
            return Err(Poisoned { copied: 0 });
        }
        // SAFETY: `dst` is valid for `len` bytes during the call.
        seg.with_mapped(|dst| unsafe { self.read_raw(dst) })
    }
}
