// SPDX-License-Identifier: GPL-2.0

//! NFS export: `export_operations` over [`FileSystem::inode_for_handle`]
//! and [`dir::Operations::lookup`] of `..`. Handles are the VFS's default
//! (`FILEID_INO32_GEN`: inode number and generation).

use super::*;

impl<T: FileSystem> Tables<T> {
    /// The `get_inode` callback of `generic_fh_to_dentry` and
    /// `generic_fh_to_parent`: a referenced inode, or an `ERR_PTR`.
    ///
    /// # Safety
    ///
    /// `sb` is a mounted superblock of ours.
    unsafe extern "C" fn handle_inode(
        sb: *mut bindings::super_block,
        ino: u64,
        generation: u32,
    ) -> *mut bindings::inode {
        // SAFETY: The export code passes a mounted superblock of ours.
        let s = unsafe { SuperBlock::<T>::from_raw(sb) };
        let r = s.live().and_then(|()| T::inode_for_handle(s, ino));
        match r {
            // Generation 0 is the handle type without one.
            Ok(i) if generation != 0 && i.generation() != generation => ESTALE.to_ptr(),
            Ok(i) => ARef::into_raw(i).as_ptr().cast(),
            Err(e) => e.to_ptr(),
        }
    }

    /// `export_operations::fh_to_dentry`.
    ///
    /// # Safety
    ///
    /// `sb` is a mounted superblock of ours and `fid` a handle of `fh_len`
    /// words of type `fh_type`.
    pub(super) unsafe extern "C" fn fh_to_dentry(
        sb: *mut bindings::super_block,
        fid: *mut bindings::fid,
        fh_len: c_int,
        fh_type: c_int,
    ) -> *mut bindings::dentry {
        // SAFETY: As the caller guarantees; `handle_inode` has the
        // expected signature.
        unsafe {
            bindings::generic_fh_to_dentry(sb, fid, fh_len, fh_type, Some(Self::handle_inode))
        }
    }

    /// `export_operations::fh_to_parent`.
    ///
    /// # Safety
    ///
    /// As for [`Self::fh_to_dentry`].
    pub(super) unsafe extern "C" fn fh_to_parent(
        sb: *mut bindings::super_block,
        fid: *mut bindings::fid,
        fh_len: c_int,
        fh_type: c_int,
    ) -> *mut bindings::dentry {
        // SAFETY: As for `fh_to_dentry`.
        unsafe {
            bindings::generic_fh_to_parent(sb, fid, fh_len, fh_type, Some(Self::handle_inode))
        }
    }

    /// `export_operations::get_parent`: the directory `..` of `child`
    /// names, as a (possibly disconnected) dentry.
    ///
    /// # Safety
    ///
    /// `child` is a positive dentry of a directory of ours, locked by the
    /// caller.
    pub(super) unsafe extern "C" fn get_parent(
        child: *mut bindings::dentry,
    ) -> *mut bindings::dentry {
        // SAFETY: The export code passes a positive directory dentry of
        // ours.
        let dir = unsafe { INode::<T>::from_raw((*child).d_inode) };
        match dir
            .super_block()
            .live()
            .and_then(|()| T::DirOps::lookup(dir, b".."))
        {
            // SAFETY: `d_obtain_alias` takes our reference, also on failure.
            Ok(Some(p)) => unsafe { bindings::d_obtain_alias(ARef::into_raw(p).as_ptr().cast()) },
            Ok(None) => ENOENT.to_ptr(),
            Err(e) => e.to_ptr(),
        }
    }
}
