// SPDX-License-Identifier: GPL-2.0

//! Directory listing: [`DirEmitter`].

use super::*;

/// Emits directory entries for `iterate_shared`.
///
/// # Invariants
///
/// `ctx` is the valid `dir_context` of the current `iterate_shared` call.
pub struct DirEmitter<'a> {
    pub(super) ctx: *mut bindings::dir_context,
    pub(super) _p: PhantomData<&'a mut bindings::dir_context>,
}

/// `d_type` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u32)]
pub enum DirEntryType {
    /// Unknown.
    Unknown = bindings::DT_UNKNOWN,
    /// Regular file.
    Reg = bindings::DT_REG,
    /// Directory.
    Dir = bindings::DT_DIR,
    /// Character device.
    Chr = bindings::DT_CHR,
    /// Block device.
    Blk = bindings::DT_BLK,
    /// FIFO.
    Fifo = bindings::DT_FIFO,
    /// Socket.
    Sock = bindings::DT_SOCK,
    /// Symbolic link.
    Lnk = bindings::DT_LNK,
}

impl DirEmitter<'_> {
    /// The position to continue from.
    pub fn pos(&self) -> i64 {
        // SAFETY: `ctx` is valid (type invariant).
        unsafe { (*self.ctx).pos }
    }

    /// Sets the position to continue from.
    pub fn set_pos(&mut self, pos: i64) {
        // SAFETY: `ctx` is valid (type invariant) and ours during the call.
        unsafe { (*self.ctx).pos = pos };
    }

    /// Emits one entry; returns `false` when the caller's buffer is full
    /// (stop, without advancing the position past this entry).
    pub fn emit(&mut self, name: &[u8], ino: u64, typ: DirEntryType) -> bool {
        let Ok(len) = c_int::try_from(name.len()) else {
            return false;
        };
        // SAFETY: `ctx` is valid; `name` is valid for `len` bytes.
        unsafe { bindings::dir_emit(self.ctx, name.as_ptr().cast(), len, ino, typ as u32) }
    }
}
