// SPDX-License-Identifier: GPL-2.0

//! Extended attributes and POSIX ACLs, in the ext2 format (`xattr.rs`).
//!
//! An inode's attributes are in one block, which C ext2 may share between
//! inodes with the same attributes. rext2 never changes an attribute block
//! in place: a change writes a new block, points the inode at it durably,
//! then drops the inode's reference to the old one (freeing it with the
//! last reference). Readers and writers of an inode's attributes hold its
//! state lock, so a reader never sees a block being freed; a crash leaves
//! at worst a leaked block.

use crate::{corrupt, ondisk, report, xattr, Rext2, BS, SECTORS};
use kernel::{
    fs::blockfs::{AclEntry, AclTag, AclType, Buffer, INode, SuperBlock, XattrNs, XattrSet},
    prelude::*,
};

/// The ext2 name index of a name space.
fn index(ns: XattrNs) -> u8 {
    match ns {
        XattrNs::User => xattr::INDEX_USER,
        XattrNs::Trusted => xattr::INDEX_TRUSTED,
        XattrNs::Security => xattr::INDEX_SECURITY,
        XattrNs::AclAccess => xattr::INDEX_ACL_ACCESS,
        XattrNs::AclDefault => xattr::INDEX_ACL_DEFAULT,
    }
}

/// The name space of an ext2 name index, if rext2 knows it (others, such
/// as Lustre's, are kept but not shown).
fn name_space(index: u8) -> Option<XattrNs> {
    Some(match index {
        xattr::INDEX_USER => XattrNs::User,
        xattr::INDEX_TRUSTED => XattrNs::Trusted,
        xattr::INDEX_SECURITY => XattrNs::Security,
        xattr::INDEX_ACL_ACCESS => XattrNs::AclAccess,
        xattr::INDEX_ACL_DEFAULT => XattrNs::AclDefault,
        _ => return None,
    })
}

fn acl_ns(typ: AclType) -> XattrNs {
    match typ {
        AclType::Access => XattrNs::AclAccess,
        AclType::Default => XattrNs::AclDefault,
    }
}

impl Rext2 {
    /// Reads and checks attribute block `blk` of inode `ino`.
    fn xattr_block(sb: &SuperBlock<Self>, ino: u64, blk: u32) -> Result<Buffer<'_>> {
        ondisk::check_block_ptr(blk, &sb.data().geo).map_err(|c| corrupt(sb, ino, c))?;
        Self::check_meta_ptr(sb, ino, blk, 1)?;
        let buf = sb.bread(blk.into())?;
        buf.read(xattr::validate)
            .map_err(|b| report(sb, ino, format_args!("block {}: {}", blk, b.describe())))?;
        Ok(buf)
    }

    /// Calls `f` with a copy of the attribute block of the inode, if it has
    /// one, under the inode's state lock (`f` may allocate: it does not run
    /// under the buffer lock).
    fn with_xattrs<R>(
        inode: &INode<'_, Self>,
        f: impl FnOnce(Option<&[u8]>) -> Result<R>,
    ) -> Result<R> {
        let st = inode.data().lock_state();
        if st.di.file_acl == 0 {
            return f(None);
        }
        let mut copy = KVec::from_elem(0u8, BS as usize, GFP_KERNEL)?;
        Self::xattr_block(inode.super_block(), inode.ino(), st.di.file_acl)?
            .read(|b| copy.copy_from_slice(b));
        f(Some(&copy))
    }

    pub(crate) fn get_xattr_raw(
        inode: &INode<'_, Self>,
        ns: XattrNs,
        name: &[u8],
        out: &mut [u8],
    ) -> Result<usize> {
        Self::with_xattrs(inode, |block| {
            let v = block
                .and_then(|b| xattr::find(b, index(ns), name))
                .ok_or(ENODATA)?;
            if out.is_empty() {
                return Ok(v.len());
            }
            out.get_mut(..v.len()).ok_or(ERANGE)?.copy_from_slice(v);
            Ok(v.len())
        })
    }

    pub(crate) fn list_xattrs_raw(
        inode: &INode<'_, Self>,
        f: &mut dyn FnMut(XattrNs, &[u8]) -> Result,
    ) -> Result {
        Self::with_xattrs(inode, |block| {
            for a in block.into_iter().flat_map(xattr::entries) {
                if let Some(ns) = name_space(a.index) {
                    f(ns, a.name)?;
                }
            }
            Ok(())
        })
    }

    /// Sets or removes an attribute: see the module documentation.
    pub(crate) fn set_xattr_raw(
        inode: &INode<'_, Self>,
        ns: XattrNs,
        name: &[u8],
        value: Option<&[u8]>,
        how: XattrSet,
    ) -> Result {
        if name.len() > xattr::NAME_MAX || value.is_some_and(|v| v.len() as u64 > BS) {
            return Err(ERANGE);
        }
        let sb = inode.super_block();
        let ino = inode.ino();
        let idx = index(ns);
        let mut new = KVec::from_elem(0u8, BS as usize, GFP_KERNEL)?;
        let mut st = inode.data().lock_state();
        let old = st.di.file_acl;
        let buf = match old {
            0 => None,
            b => Some(Self::xattr_block(sb, ino, b)?),
        };
        // The new block is built in `new`, from the old one read under its
        // buffer lock (no allocation there).
        let mut edit = |block: Option<&[u8]>| {
            let exists = block.and_then(|b| xattr::find(b, idx, name)).is_some();
            match how {
                XattrSet::Create if exists => return Err(EEXIST),
                XattrSet::Replace if !exists => return Err(ENODATA),
                _ if !exists && value.is_none() => return Ok(None),
                _ => {}
            }
            xattr::rebuild(block, idx, name, value, &mut new)
                .map(Some)
                .map_err(|b| match b {
                    xattr::Bad::NoSpace => ENOSPC,
                    xattr::Bad::Entry => ERANGE,
                    _ => EUCLEAN,
                })
        };
        let count = match &buf {
            Some(b) => b.read(|d| edit(Some(d))),
            None => edit(None),
        }?;
        drop(buf);
        let Some(count) = count else {
            return Ok(());
        };
        let blk = if count == 0 {
            0
        } else {
            Self::alloc_meta(sb, Self::home_block(inode), |d| {
                for (to, from) in d.iter_mut().zip(new.iter()) {
                    *to = *from;
                }
            })?
        };
        // The inode points at the new block (or none) durably before the
        // old one loses this reference.
        let blocks = st.di.blocks;
        st.di.file_acl = blk;
        if old == 0 && blk != 0 {
            st.di.blocks = st.di.blocks.saturating_add(SECTORS);
        } else if old != 0 && blk == 0 {
            st.di.blocks = st.di.blocks.saturating_sub(SECTORS);
        }
        inode.set_blocks(st.di.blocks.into());
        if let Err(e) = Self::write_inode_locked(inode, &mut st) {
            // Nothing points at the new block durably: give it back.
            st.di.file_acl = old;
            st.di.blocks = blocks;
            inode.set_blocks(blocks.into());
            if blk != 0 {
                Self::free_blocks(sb, &mut [blk])?;
            }
            return Err(e);
        }
        if old != 0 {
            Self::release_xattr_block(sb, ino, old)?;
        }
        Ok(())
    }

    /// Drops a reference to attribute block `blk`, freeing it with the
    /// last one. The inode no longer points at it on disk.
    pub(crate) fn release_xattr_block(sb: &SuperBlock<Self>, ino: u64, blk: u32) -> Result {
        let last = {
            // Inodes sharing the block may drop their references at once.
            let _guard = sb.data().xattr_lock.lock();
            let buf = Self::xattr_block(sb, ino, blk)?;
            let refs = buf.read(xattr::refcount);
            if refs > 1 {
                buf.modify(|b| xattr::set_refcount(b, refs - 1));
                buf.sync()?;
            }
            refs <= 1
        };
        if last {
            Self::free_blocks(sb, &mut [blk])?;
        }
        Ok(())
    }

    pub(crate) fn get_acl_raw(
        inode: &INode<'_, Self>,
        typ: AclType,
    ) -> Result<Option<KVec<AclEntry>>> {
        Self::with_xattrs(inode, |block| {
            let Some(v) = block.and_then(|b| xattr::find(b, index(acl_ns(typ)), b"")) else {
                return Ok(None);
            };
            let bad = |b: xattr::Bad| {
                report(
                    inode.super_block(),
                    inode.ino(),
                    format_args!("{}", b.describe()),
                )
            };
            let n = xattr::acl_decode(v, |_, _, _| ()).map_err(bad)?;
            if n == 0 {
                return Ok(None);
            }
            let mut acl = KVec::with_capacity(n, GFP_KERNEL)?;
            xattr::acl_decode(v, |tag, perm, id| {
                // `acl_decode` admits only the six tags `from_disk` knows.
                if let Some(tag) = AclTag::from_disk(tag, id) {
                    // Within the capacity counted above.
                    let _ = acl.push_within_capacity(AclEntry { tag, perm });
                }
            })
            .map_err(bad)?;
            Ok(Some(acl))
        })
    }

    pub(crate) fn set_acl_raw(
        inode: &INode<'_, Self>,
        typ: AclType,
        acl: Option<&[AclEntry]>,
    ) -> Result {
        let ns = acl_ns(typ);
        let Some(acl) = acl else {
            return Self::set_xattr_raw(inode, ns, b"", None, XattrSet::Any);
        };
        let disk = |e: &AclEntry| {
            let (tag, id) = e.tag.to_disk();
            (tag, e.perm, id)
        };
        let size = xattr::acl_size(acl.iter().map(|e| disk(e).0));
        let mut v = KVec::from_elem(0u8, size, GFP_KERNEL)?;
        xattr::acl_encode(acl.iter().map(disk), &mut v).map_err(|_| EINVAL)?;
        Self::set_xattr_raw(inode, ns, b"", Some(&v), XattrSet::Any)
    }
}
