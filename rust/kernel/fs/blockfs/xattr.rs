// SPDX-License-Identifier: GPL-2.0

//! Extended attributes and POSIX ACLs: their [`Operations`], name spaces,
//! entries, the VFS handlers.

use super::*;

/// A file system's extended attributes (`xattr_handler`s for `user.`,
/// `trusted.` and `security.`, and `listxattr`). Only called once
/// [`NewSuperBlock::enable_xattrs`] has been. All are optional.
#[vtable]
pub trait Operations {
    /// The file system these attributes belong to.
    type FileSystem: FileSystem;

    /// Copies the value of extended attribute `name` in name space `ns`
    /// into `buf` and returns its length; with an empty `buf`, returns the
    /// length only. `ENODATA` if there is no such attribute, `ERANGE` if
    /// `buf` is too small.
    fn get_xattr(
        _inode: &INode<'_, Self::FileSystem>,
        _ns: XattrNs,
        _name: &[u8],
        _buf: &mut [u8],
    ) -> Result<usize> {
        Err(EOPNOTSUPP)
    }

    /// Sets extended attribute `name` in `ns` to `value`, or removes it if
    /// `value` is `None`, durably; `how` says what to do when it exists or
    /// does not (`EEXIST`, `ENODATA`). The inode's lock is held; its change
    /// time is updated by the caller, which writes the inode afterwards.
    fn set_xattr(
        _inode: &INode<'_, Self::FileSystem>,
        _ns: XattrNs,
        _name: &[u8],
        _value: Option<&[u8]>,
        _how: XattrSet,
    ) -> Result {
        Err(EOPNOTSUPP)
    }

    /// Calls `f` with the name space and name of each extended attribute
    /// of `inode` (ACLs included, with empty names).
    fn list_xattrs(
        _inode: &INode<'_, Self::FileSystem>,
        _f: &mut dyn FnMut(XattrNs, &[u8]) -> Result,
    ) -> Result {
        Ok(())
    }
}

/// An extended attribute name space.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum XattrNs {
    /// `user.`: for regular files and directories.
    User,
    /// `trusted.`: for `CAP_SYS_ADMIN` only.
    Trusted,
    /// `security.`: for security modules.
    Security,
    /// `system.posix_acl_access`: the access ACL, through
    /// [`inode::Operations::get_acl`] and [`inode::Operations::set_acl`].
    AclAccess,
    /// `system.posix_acl_default`: a directory's default ACL.
    AclDefault,
}

impl XattrNs {
    /// The prefix of the name space's attribute names.
    pub(super) fn prefix(self) -> &'static [u8] {
        match self {
            XattrNs::User => b"user.",
            XattrNs::Trusted => b"trusted.",
            XattrNs::Security => b"security.",
            XattrNs::AclAccess => b"system.posix_acl_access",
            XattrNs::AclDefault => b"system.posix_acl_default",
        }
    }
}

/// What [`xattr::Operations::set_xattr`] does about an existing attribute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum XattrSet {
    /// Create or replace.
    Any,
    /// Create only: `EEXIST` if the attribute exists.
    Create,
    /// Replace only: `ENODATA` if it does not.
    Replace,
}

/// The two POSIX ACLs of an inode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AclType {
    /// The access ACL.
    Access,
    /// The default ACL of a directory, inherited by new entries.
    Default,
}

impl AclType {
    pub(super) fn raw(self) -> c_int {
        match self {
            AclType::Access => bindings::ACL_TYPE_ACCESS as c_int,
            AclType::Default => bindings::ACL_TYPE_DEFAULT as c_int,
        }
    }

    pub(super) fn from_raw(t: c_int) -> Result<Self> {
        match t as u32 {
            bindings::ACL_TYPE_ACCESS => Ok(AclType::Access),
            bindings::ACL_TYPE_DEFAULT => Ok(AclType::Default),
            _ => Err(EINVAL),
        }
    }
}

/// The tag of a POSIX ACL entry and, for a named user or group, whom it
/// names.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum AclTag {
    /// The file's owner (`ACL_USER_OBJ`).
    UserObj,
    /// A named user (`ACL_USER`).
    User(Kuid),
    /// The file's group (`ACL_GROUP_OBJ`).
    GroupObj,
    /// A named group (`ACL_GROUP`).
    Group(Kgid),
    /// The mask of the group class (`ACL_MASK`).
    Mask,
    /// Everyone else (`ACL_OTHER`).
    Other,
}

impl AclTag {
    /// The tag's C value (`ACL_USER_OBJ` ... `ACL_OTHER`).
    fn c_tag(&self) -> u32 {
        match self {
            AclTag::UserObj => bindings::ACL_USER_OBJ,
            AclTag::User(_) => bindings::ACL_USER,
            AclTag::GroupObj => bindings::ACL_GROUP_OBJ,
            AclTag::Group(_) => bindings::ACL_GROUP,
            AclTag::Mask => bindings::ACL_MASK,
            AclTag::Other => bindings::ACL_OTHER,
        }
    }

    /// The tag of C value `tag`; `uid` or `gid` give whom it names, and
    /// are called only for the tag that names a user or a group. `None`
    /// for a tag no ACL has.
    fn from_c(tag: u32, uid: impl FnOnce() -> Kuid, gid: impl FnOnce() -> Kgid) -> Option<Self> {
        Some(match tag {
            bindings::ACL_USER_OBJ => AclTag::UserObj,
            bindings::ACL_USER => AclTag::User(uid()),
            bindings::ACL_GROUP_OBJ => AclTag::GroupObj,
            bindings::ACL_GROUP => AclTag::Group(gid()),
            bindings::ACL_MASK => AclTag::Mask,
            bindings::ACL_OTHER => AclTag::Other,
            _ => return None,
        })
    }

    /// The entry as the xattr format of ACLs and ext2's disk format store
    /// it: the tag's C value (`ACL_USER_OBJ` 0x01 to `ACL_OTHER` 0x20) and
    /// the id, in the initial user namespace (0 for the tags that name
    /// nobody), as `posix_acl_to_xattr` and ext2 write them.
    ///
    /// # Examples
    ///
    /// ```
    /// use kernel::{bindings, fs::blockfs::AclTag};
    ///
    /// let entries = [(0x01, 0), (0x02, 1000), (0x04, 0), (0x08, 70_000), (0x10, 0), (0x20, 0)];
    /// for (tag, id) in entries {
    ///     let t = AclTag::from_disk(tag, id).unwrap();
    ///     assert!(t.to_disk() == (tag, id));
    /// }
    /// // Unknown tags name nothing.
    /// assert!(AclTag::from_disk(0x40, 0).is_none());
    /// // The id of a tag that names nobody is not kept.
    /// assert!(AclTag::from_disk(0x20, 5).unwrap() == AclTag::Other);
    /// ```
    pub fn to_disk(&self) -> (u16, u32) {
        let ns = &raw mut bindings::init_user_ns;
        let id = match *self {
            // SAFETY: `init_user_ns` is static.
            AclTag::User(uid) => unsafe { bindings::from_kuid(ns, uid.into_raw()) },
            // SAFETY: As above.
            AclTag::Group(gid) => unsafe { bindings::from_kgid(ns, gid.into_raw()) },
            _ => 0,
        };
        (self.c_tag() as u16, id)
    }

    /// The tag `tag` with the id `id`, as [`AclTag::to_disk`] gives them;
    /// `None` for a tag no ACL has.
    pub fn from_disk(tag: u16, id: u32) -> Option<Self> {
        let ns = &raw mut bindings::init_user_ns;
        Self::from_c(
            u32::from(tag),
            // SAFETY: `init_user_ns` is static.
            || Kuid::from_raw(unsafe { bindings::make_kuid(ns, id) }),
            // SAFETY: As above.
            || Kgid::from_raw(unsafe { bindings::make_kgid(ns, id) }),
        )
    }
}

/// One POSIX ACL entry.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct AclEntry {
    /// The tag, and whom it names.
    pub tag: AclTag,
    /// Permissions (`4` read, `2` write, `1` execute).
    pub perm: u16,
}

/// A VFS POSIX ACL (`struct posix_acl`).
///
/// # Examples
///
/// ```
/// use kernel::{
///     error::Error,
///     fs::blockfs::{AclEntry, AclTag, PosixAcl},
/// };
///
/// let entries = [
///     AclEntry { tag: AclTag::UserObj, perm: 6 },
///     AclEntry { tag: AclTag::from_disk(0x02, 1000).unwrap(), perm: 4 },
///     AclEntry { tag: AclTag::GroupObj, perm: 4 },
///     AclEntry { tag: AclTag::Mask, perm: 4 },
///     AclEntry { tag: AclTag::Other, perm: 0 },
/// ];
/// let acl = PosixAcl::new(&entries)?;
/// // A second reference keeps it after the first is gone.
/// let shared = acl.clone();
/// drop(acl);
/// assert!(shared.entries()?[..] == entries[..]);
/// assert!(PosixAcl::new(&[])?.entries()?.is_empty());
/// # Ok::<(), Error>(())
/// ```
///
/// # Invariants
///
/// A `PosixAcl` is only reached through a reference-counted `posix_acl`
/// whose entries no longer change (the VFS shares ACLs only once they
/// are made, and never changes a shared one).
#[repr(transparent)]
pub struct PosixAcl(Opaque<bindings::posix_acl>);

// SAFETY: ACLs are reference counted with `posix_acl_dup` and
// `posix_acl_release` (an atomic count; the last reference frees it after
// an RCU grace period), which may be called from any thread.
unsafe impl AlwaysRefCounted for PosixAcl {
    fn inc_ref(&self) {
        // SAFETY: A shared reference means the count is non-zero.
        unsafe { bindings::posix_acl_dup(self.0.get()) };
    }

    unsafe fn dec_ref(obj: NonNull<Self>) {
        // SAFETY: The caller owns a reference.
        unsafe { bindings::posix_acl_release(obj.cast().as_ptr()) };
    }
}

// SAFETY: The entries do not change (type invariant) and the count is
// atomic.
unsafe impl Send for PosixAcl {}

// SAFETY: See `Send`.
unsafe impl Sync for PosixAcl {}

impl PosixAcl {
    /// Allocates an ACL holding `entries`.
    pub fn new(entries: &[AclEntry]) -> Result<ARef<Self>> {
        let n = u32::try_from(entries.len()).map_err(|_| EINVAL)?;
        // SAFETY: No requirements.
        let acl = NonNull::new(unsafe { bindings::posix_acl_alloc(n, bindings::GFP_KERNEL) })
            .ok_or(ENOMEM)?;
        for (i, e) in entries.iter().enumerate() {
            let id = match e.tag {
                AclTag::User(uid) => bindings::posix_acl_entry__bindgen_ty_1 {
                    e_uid: uid.into_raw(),
                },
                AclTag::Group(gid) => bindings::posix_acl_entry__bindgen_ty_1 {
                    e_gid: gid.into_raw(),
                },
                _ => pin_init::zeroed(),
            };
            let entry = bindings::posix_acl_entry {
                e_tag: e.tag.c_tag() as c_short,
                e_perm: e.perm,
                __bindgen_anon_1: id,
            };
            // SAFETY: `acl` has `n` entries, of which this is one, not yet
            // initialised, and is ours alone.
            unsafe {
                (&raw mut (*acl.as_ptr()).a_entries)
                    .cast::<bindings::posix_acl_entry>()
                    .add(i)
                    .write(entry)
            };
        }
        // SAFETY: `posix_acl_alloc` returned a reference, now ours; its
        // entries are all set and will not change.
        Ok(unsafe { ARef::from_raw(acl.cast()) })
    }

    /// The ACL at `ptr`, for the caller's borrow.
    ///
    /// # Safety
    ///
    /// `ptr` is a valid ACL, shared (its entries do not change), on which
    /// the caller holds a reference for `'a`.
    pub(super) unsafe fn from_raw<'a>(ptr: *mut bindings::posix_acl) -> &'a Self {
        // SAFETY: As the caller guarantees; `PosixAcl` is transparent.
        unsafe { &*ptr.cast() }
    }

    /// The ACL, for C.
    pub(super) fn as_raw(&self) -> *mut bindings::posix_acl {
        self.0.get()
    }

    /// The entries.
    pub fn entries(&self) -> Result<KVec<AclEntry>> {
        // SAFETY: A valid ACL with unchanging entries (type invariant).
        unsafe { acl_entries(self.as_raw()) }
    }
}

/// The entries of `acl` (none if NULL).
///
/// # Safety
///
/// `acl` is NULL or a valid ACL we hold a reference to during the call.
pub(super) unsafe fn acl_entries(acl: *const bindings::posix_acl) -> Result<KVec<AclEntry>> {
    let mut v = KVec::new();
    if acl.is_null() {
        return Ok(v);
    }
    // SAFETY: A valid ACL (caller), whose entries do not change: a
    // `posix_acl` is immutable once shared.
    let entries = unsafe {
        core::slice::from_raw_parts(
            (&raw const (*acl).a_entries).cast::<bindings::posix_acl_entry>(),
            (*acl).__bindgen_anon_1.__bindgen_anon_1.a_count as usize,
        )
    };
    for e in entries {
        let tag = AclTag::from_c(
            e.e_tag as u32,
            // SAFETY: `e_uid` is the member of `ACL_USER` entries, the
            // only ones `from_c` asks for a user.
            || Kuid::from_raw(unsafe { e.__bindgen_anon_1.e_uid }),
            // SAFETY: `e_gid` is the member of `ACL_GROUP` entries.
            || Kgid::from_raw(unsafe { e.__bindgen_anon_1.e_gid }),
        )
        // `posix_acl_valid` admits no other tag into a VFS ACL.
        .ok_or(EINVAL)?;
        v.push(
            AclEntry {
                tag,
                perm: e.e_perm,
            },
            GFP_KERNEL,
        )?;
    }
    Ok(v)
}

impl<T: FileSystem> Tables<T> {
    pub(super) fn xattr_ns(handler: *const bindings::xattr_handler) -> XattrNs {
        // SAFETY: The VFS passes one of our handlers, whose `flags` is the
        // name space.
        match unsafe { (*handler).flags } {
            f if f == XattrNs::User as c_int => XattrNs::User,
            f if f == XattrNs::Trusted as c_int => XattrNs::Trusted,
            _ => XattrNs::Security,
        }
    }

    /// `xattr_handler::get` for our three name spaces.
    ///
    /// # Safety
    ///
    /// `handler` is one of ours, `inode` an inode of ours, `name`
    /// NUL-terminated (without the prefix), and `buffer` NULL or valid for
    /// `size` bytes.
    pub(super) unsafe extern "C" fn xattr_get(
        handler: *const bindings::xattr_handler,
        _dentry: *mut bindings::dentry,
        inode: *mut bindings::inode,
        name: *const c_char,
        buffer: *mut c_void,
        size: usize,
    ) -> c_int {
        from_result(|| {
            // SAFETY: The VFS passes an inode of ours, a NUL-terminated name
            // (without the prefix) and a buffer of `size` bytes or NULL.
            let (i, name, buf) = unsafe {
                let buf: &mut [u8] = if buffer.is_null() || size == 0 {
                    &mut []
                } else {
                    core::slice::from_raw_parts_mut(buffer.cast(), size)
                };
                (INode::<T>::from_raw(inode), CStr::from_char_ptr(name), buf)
            };
            let n = T::XattrOps::get_xattr(i, Self::xattr_ns(handler), name.to_bytes(), buf)?;
            c_int::try_from(n).map_err(|_| E2BIG)
        })
    }

    /// `xattr_handler::set`.
    ///
    /// # Safety
    ///
    /// `handler` is one of ours, `inode` an inode of ours with its lock held,
    /// `name` NUL-terminated, and `value` NULL (remove) or valid for `size`
    /// bytes.
    pub(super) unsafe extern "C" fn xattr_set(
        handler: *const bindings::xattr_handler,
        _idmap: *mut bindings::mnt_idmap,
        _dentry: *mut bindings::dentry,
        inode: *mut bindings::inode,
        name: *const c_char,
        value: *const c_void,
        size: usize,
        flags: c_int,
    ) -> c_int {
        from_result(|| {
            // SAFETY: The VFS passes an inode of ours, locked, a
            // NUL-terminated name and a value of `size` bytes, or NULL to
            // remove the attribute.
            let (i, name, value) = unsafe {
                let value: Option<&[u8]> = if value.is_null() {
                    None
                } else if size == 0 {
                    Some(&[])
                } else {
                    Some(core::slice::from_raw_parts(value.cast(), size))
                };
                (
                    INode::<T>::from_raw(inode),
                    CStr::from_char_ptr(name),
                    value,
                )
            };
            let how = match flags as u32 & (bindings::XATTR_CREATE | bindings::XATTR_REPLACE) {
                bindings::XATTR_CREATE => XattrSet::Create,
                bindings::XATTR_REPLACE => XattrSet::Replace,
                _ => XattrSet::Any,
            };
            i.super_block().writable()?;
            T::XattrOps::set_xattr(i, Self::xattr_ns(handler), name.to_bytes(), value, how)?;
            i.touch_ctime();
            T::write_inode(i)?;
            Ok(0)
        })
    }

    /// `inode_operations::listxattr`.
    ///
    /// # Safety
    ///
    /// `dentry` is a positive dentry of ours and `buffer` NULL or valid for
    /// `size` bytes.
    pub(super) unsafe extern "C" fn listxattr(
        dentry: *mut bindings::dentry,
        buffer: *mut c_char,
        size: usize,
    ) -> isize {
        let r = (|| -> Result<usize> {
            // SAFETY: The VFS passes a positive dentry of ours and a buffer
            // of `size` bytes, or NULL for the size only.
            let (inode, mut out) = unsafe {
                let inode = (*dentry).d_inode;
                let out: Option<&mut [u8]> = if buffer.is_null() || size == 0 {
                    None
                } else {
                    Some(core::slice::from_raw_parts_mut(buffer.cast(), size))
                };
                (inode, out)
            };
            // SAFETY: `inode` is ours.
            if unsafe { (*(*inode).i_sb).s_xattr.is_null() } {
                return Err(EOPNOTSUPP);
            }
            // SAFETY: No requirements.
            let admin = unsafe { bindings::capable(bindings::CAP_SYS_ADMIN as c_int) };
            let mut total = 0usize;
            // SAFETY: `inode` is ours.
            let i = unsafe { INode::<T>::from_raw(inode) };
            let acl = i.super_block().posix_acl();
            T::XattrOps::list_xattrs(i, &mut |ns, name| {
                let shown = match ns {
                    XattrNs::Trusted => admin,
                    XattrNs::AclAccess | XattrNs::AclDefault => acl,
                    _ => true,
                };
                if !shown {
                    return Ok(());
                }
                let p = ns.prefix();
                let len = p.len() + name.len() + 1;
                if let Some(out) = out.as_deref_mut() {
                    let dst = out.get_mut(total..total + len).ok_or(ERANGE)?;
                    dst[..p.len()].copy_from_slice(p);
                    dst[p.len()..len - 1].copy_from_slice(name);
                    dst[len - 1] = 0;
                }
                total += len;
                Ok(())
            })?;
            Ok(total)
        })();
        match r {
            Ok(n) => n as isize,
            Err(e) => e.to_errno() as isize,
        }
    }

    /// `inode_operations::get_inode_acl`.
    ///
    /// # Safety
    ///
    /// `inode` is a referenced inode of ours.
    pub(super) unsafe extern "C" fn get_inode_acl(
        inode: *mut bindings::inode,
        typ: c_int,
        rcu: bool,
    ) -> *mut bindings::posix_acl {
        if rcu {
            // Reading may sleep: ask for a walk without RCU.
            return ECHILD.to_ptr();
        }
        let r = (|| -> Result<*mut bindings::posix_acl> {
            // SAFETY: The VFS passes an inode of ours.
            let i = unsafe { INode::<T>::from_raw(inode) };
            match T::INodeOps::get_acl(i, AclType::from_raw(typ)?)? {
                None => Ok(core::ptr::null_mut()),
                Some(e) => Ok(ARef::into_raw(PosixAcl::new(&e)?).as_ptr().cast()),
            }
        })();
        r.unwrap_or_else(|e: Error| e.to_ptr())
    }

    /// `inode_operations::set_acl`.
    ///
    /// # Safety
    ///
    /// `dentry` is a positive dentry of ours whose inode is locked, `idmap` the
    /// mount's, and `acl` NULL or an ACL the caller holds a reference to.
    pub(super) unsafe extern "C" fn set_acl(
        idmap: *mut bindings::mnt_idmap,
        dentry: *mut bindings::dentry,
        acl: *mut bindings::posix_acl,
        typ: c_int,
    ) -> c_int {
        from_result(|| {
            let t = AclType::from_raw(typ)?;
            // SAFETY: The VFS passes a positive dentry of ours, its inode
            // locked.
            let inode = unsafe { (*dentry).d_inode };
            // SAFETY: A positive dentry holds a reference to its inode.
            let i = unsafe { INode::<T>::from_raw(inode) };
            i.super_block().writable()?;
            let mut acl = acl;
            let mut mode = i.mode();
            if t == AclType::Access && !acl.is_null() {
                // May decide the mode says it all (`acl` becomes NULL).
                // SAFETY: The mount's idmap, our locked inode, and an ACL the
                // VFS holds a reference to.
                to_result(unsafe {
                    bindings::posix_acl_update_mode(idmap, inode, &mut mode, &mut acl)
                })?;
            }
            if t == AclType::Default && u32::from(mode) & bindings::S_IFMT != bindings::S_IFDIR {
                return if acl.is_null() { Ok(0) } else { Err(EACCES) };
            }
            let entries = if acl.is_null() {
                None
            } else {
                // SAFETY: An ACL the VFS made and holds a reference to for
                // the call.
                Some(unsafe { PosixAcl::from_raw(acl) }.entries()?)
            };
            T::INodeOps::set_acl(i, t, entries.as_deref())?;
            // SAFETY: We hold the inode lock, which `i_mode` changes under.
            unsafe { (*inode).i_mode = mode };
            i.touch_ctime();
            T::write_inode(i)?;
            // SAFETY: As above; the cache takes its own reference.
            unsafe { bindings::set_cached_acl(inode, typ, acl) };
            Ok(0)
        })
    }
}
