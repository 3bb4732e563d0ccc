// SPDX-License-Identifier: GPL-2.0

//! The kernel types of an inode's owner and times, as `stat` reports
//! them: [`Kuid`] and [`Kgid`] (ids as the kernel keeps them, independent
//! of any user namespace) and [`Timespec`] (seconds and nanoseconds).
//!
//! A file system converts between them and what its disk stores through
//! its superblock ([`SuperBlock::disk_uid`], [`SuperBlock::kuid`] and the
//! group pair), in the superblock's user namespace as `i_uid_read` and
//! `i_uid_write` do; the mount's idmap is the VFS's business and never
//! reaches the file system.

use super::*;

pub use crate::task::Kuid;

/// A kernel group id (`kgid_t`), the group counterpart of [`Kuid`].
///
/// # Examples
///
/// ```
/// use kernel::{bindings, fs::blockfs::Kgid};
///
/// let a = Kgid::from_raw(bindings::kgid_t { val: 100_000 });
/// assert!(a == Kgid::from_raw(bindings::kgid_t { val: 100_000 }));
/// assert!(a != Kgid::from_raw(bindings::kgid_t { val: 0 }));
/// assert_eq!(a.into_raw().val, 100_000);
/// ```
#[derive(Copy, Clone)]
pub struct Kgid {
    kgid: bindings::kgid_t,
}

impl Kgid {
    /// Wraps the raw C type.
    #[inline]
    pub fn from_raw(kgid: bindings::kgid_t) -> Self {
        Self { kgid }
    }

    /// Returns the raw C type.
    #[inline]
    pub fn into_raw(self) -> bindings::kgid_t {
        self.kgid
    }
}

impl PartialEq for Kgid {
    #[inline]
    fn eq(&self, other: &Kgid) -> bool {
        // `gid_eq` compares the values: a kgid_t has no other state.
        self.kgid.val == other.kgid.val
    }
}

impl Eq for Kgid {}

/// A time stamp: seconds since the epoch and nanoseconds within the
/// second (`struct timespec64`), already truncated to the file system's
/// granularity ([`NewSuperBlock::set_time_granularity`]) when the VFS
/// made it.
///
/// # Examples
///
/// ```
/// use kernel::fs::blockfs::Timespec;
///
/// // ext2 keeps whole seconds, as a signed 32-bit number: 0xffffffff on
/// // disk is one second before the epoch.
/// let t = Timespec::from_secs((0xffff_ffffu32 as i32).into());
/// assert_eq!(t, Timespec { sec: -1, nsec: 0 });
/// ```
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Timespec {
    /// Seconds since the epoch (negative before it).
    pub sec: i64,
    /// Nanoseconds, below 1,000,000,000.
    pub nsec: u32,
}

impl Timespec {
    /// A whole number of seconds.
    pub const fn from_secs(sec: i64) -> Self {
        Self { sec, nsec: 0 }
    }

    pub(super) fn from_raw(ts: bindings::timespec64) -> Self {
        Self {
            sec: ts.tv_sec,
            // A timespec64 in an inode is normalised: 0 <= tv_nsec < 1e9.
            nsec: u32::try_from(ts.tv_nsec).unwrap_or(0),
        }
    }

    pub(super) fn into_raw(self) -> bindings::timespec64 {
        bindings::timespec64 {
            tv_sec: self.sec,
            // Below 1e9, so it fits any `c_long`.
            tv_nsec: self.nsec.min(999_999_999) as isize,
        }
    }
}

impl<T: FileSystem> SuperBlock<T> {
    fn user_ns(&self) -> *mut bindings::user_namespace {
        // SAFETY: By the type invariant the superblock is valid;
        // `s_user_ns` is set when it is allocated and never changes.
        unsafe { (*self.raw()).s_user_ns }
    }

    /// The owner id to store on disk for `uid`, as `i_uid_read` gives it
    /// (`(uid_t)-1` if it has no mapping in the file system's namespace,
    /// which the VFS does not let a new owner have).
    pub fn disk_uid(&self, uid: Kuid) -> u32 {
        // SAFETY: `user_ns` is valid while the superblock is.
        unsafe { bindings::from_kuid(self.user_ns(), uid.into_raw()) }
    }

    /// The group id to store on disk for `gid`, as `i_gid_read`.
    pub fn disk_gid(&self, gid: Kgid) -> u32 {
        // SAFETY: `user_ns` is valid while the superblock is.
        unsafe { bindings::from_kgid(self.user_ns(), gid.into_raw()) }
    }

    /// The kernel id of the owner id `uid` read from disk, as
    /// `i_uid_write` makes it.
    pub fn kuid(&self, uid: u32) -> Kuid {
        // SAFETY: `user_ns` is valid while the superblock is.
        Kuid::from_raw(unsafe { bindings::make_kuid(self.user_ns(), uid) })
    }

    /// The kernel id of the group id `gid` read from disk, as
    /// `i_gid_write`.
    pub fn kgid(&self, gid: u32) -> Kgid {
        // SAFETY: `user_ns` is valid while the superblock is.
        Kgid::from_raw(unsafe { bindings::make_kgid(self.user_ns(), gid) })
    }
}
