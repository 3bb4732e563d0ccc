// SPDX-License-Identifier: GPL-2.0

//! Not compiled: input for the lint suite's `# Safety` check, which must
//! flag exactly the functions marked `FLAG` below.

struct Tables;

// SAFETY: A one-line impl must not switch the check off for what follows.
unsafe impl Sync for Tables {}

impl Tables {
    /// A callback without its contract. FLAG
    unsafe extern "C" fn callback(p: *mut u8) {}

    /// An unsafe helper without its contract. FLAG
    unsafe fn helper(p: *mut u8) {}

    /// Documented.
    ///
    /// # Safety
    ///
    /// `p` is valid.
    unsafe fn documented(p: *mut u8) {}
}

// Methods of trait impls take the trait's contract.
unsafe impl Send for Tables {
    unsafe fn from_trait() {}
}

/// A free function without its contract. FLAG
pub unsafe fn free(p: *mut u8) {}
