// SPDX-License-Identifier: GPL-2.0

//! What namespace operations get besides their directories: names
//! ([`Dentry`], [`NewDentry`]), an `O_TMPFILE` open ([`TmpFile`]), the
//! mount's id mapping ([`Idmap`]); and what a new inode takes from its
//! directory: its owner ([`NewINode::init_owner`]) and ACLs ([`InheritedAcls`]).

use super::*;

/// A name in a directory of `T`, as a namespace operation gets it: the
/// name and, if the dentry is positive, its inode.
///
/// # Invariants
///
/// `ptr` is a valid dentry in a directory of `T`. For `'a` its name is
/// stable and its inode, if any, is an initialised inode of `T` that it
/// references: the VFS holds the directory's lock (and the rename lock
/// when an operation involves two directories) during the operation.
pub struct Dentry<'a, T: FileSystem> {
    ptr: NonNull<bindings::dentry>,
    _p: PhantomData<(&'a bindings::dentry, T)>,
}

impl<'a, T: FileSystem> Dentry<'a, T> {
    /// # Safety
    ///
    /// `ptr` satisfies the type invariants for `'a`.
    pub(super) unsafe fn from_raw(ptr: *mut bindings::dentry) -> Self {
        // INVARIANT: As the caller guarantees.
        Self {
            // SAFETY: A valid dentry is not NULL.
            ptr: unsafe { NonNull::new_unchecked(ptr) },
            _p: PhantomData,
        }
    }

    /// The name, without NUL.
    pub fn name(&self) -> &'a [u8] {
        // SAFETY: The name is stable for `'a` (type invariant); `name` is
        // valid for `len` bytes.
        unsafe {
            let q = &(*self.ptr.as_ptr()).__bindgen_anon_1.d_name;
            core::slice::from_raw_parts(q.name, q.__bindgen_anon_1.__bindgen_anon_1.len as usize)
        }
    }

    /// The inode, if the dentry is positive.
    pub fn inode(&self) -> Option<&'a INode<'a, T>> {
        // SAFETY: The dentry is valid; its inode does not change during the
        // operation (type invariant).
        let inode = unsafe { (*self.ptr.as_ptr()).d_inode };
        // SAFETY: An initialised inode of `T`, referenced by the dentry for
        // `'a` (type invariant).
        (!inode.is_null()).then(|| unsafe { INode::from_raw(inode) })
    }
}

/// A negative dentry that `create`, `mknod`, `symlink`, `mkdir` or `link`
/// gives an inode once the entry is on disk.
///
/// # Invariants
///
/// As for [`Dentry`], and the dentry is negative.
pub struct NewDentry<'a, T: FileSystem>(Dentry<'a, T>);

impl<'a, T: FileSystem> NewDentry<'a, T> {
    /// # Safety
    ///
    /// `ptr` is a negative dentry satisfying the invariants of [`Dentry`]
    /// for `'a`.
    pub(super) unsafe fn from_raw(ptr: *mut bindings::dentry) -> Self {
        // INVARIANT: As the caller guarantees.
        // SAFETY: As the caller guarantees.
        Self(unsafe { Dentry::from_raw(ptr) })
    }

    /// The name, without NUL.
    pub fn name(&self) -> &'a [u8] {
        self.0.name()
    }

    /// Gives the dentry its inode (`d_instantiate`): the operation
    /// succeeded, and says so with the [`Instantiated`] that the namespace
    /// operation returns. Consumes the dentry, which is no longer negative.
    ///
    /// A directory has one dentry (the VFS's rename locking and loop
    /// checks rest on it), so a directory that already has one is refused
    /// with `EINVAL` and a warning, the dentry left negative: that is a
    /// bug of the file system, which would give a directory a second name.
    pub fn instantiate(self, inode: ARef<INode<'a, T>>) -> Result<Instantiated> {
        if inode.is_dir() && inode.has_alias() {
            fs_err::<T>(format_args!(
                "refused to give a directory a second dentry\n"
            ));
            return Err(EINVAL);
        }
        // SAFETY: The dentry is negative (type invariant) and instantiated
        // once (`self` is consumed); `d_instantiate` takes over the
        // reference.
        unsafe {
            bindings::d_instantiate(self.0.ptr.as_ptr(), ARef::into_raw(inode).as_ptr().cast())
        };
        Ok(Instantiated(()))
    }
}

/// The proof that a namespace operation that succeeded did what it must:
/// its dentry was given an inode ([`NewDentry::instantiate`]), or its
/// `O_TMPFILE` file opened ([`TmpFile::open`]). Only those make one.
pub struct Instantiated(());

/// A file being opened with `O_TMPFILE` in a directory of `T`.
///
/// # Invariants
///
/// `file` is the file of a `tmpfile` call in progress, valid for `'a`, not
/// yet opened.
pub struct TmpFile<'a, T: FileSystem> {
    file: NonNull<bindings::file>,
    _p: PhantomData<(&'a bindings::file, T)>,
}

impl<'a, T: FileSystem> TmpFile<'a, T> {
    /// # Safety
    ///
    /// `file` satisfies the type invariants for `'a`.
    pub(super) unsafe fn from_raw(file: *mut bindings::file) -> Self {
        // INVARIANT: As the caller guarantees.
        Self {
            // SAFETY: A valid file is not NULL.
            file: unsafe { NonNull::new_unchecked(file) },
            _p: PhantomData,
        }
    }

    /// Opens the file on `inode`, a new inode without a name: its link
    /// count drops to zero (`d_tmpfile`), and it is deleted on its last
    /// close unless `linkat` gives it one. An inode that is not a new
    /// regular file (one link, no dentry) is refused with `EINVAL` and a
    /// warning: `d_tmpfile` would take a link from an inode that has it.
    pub fn open(self, inode: ARef<INode<'a, T>>) -> Result<Instantiated> {
        if inode.is_dir() || inode.nlink() != 1 || inode.has_alias() {
            fs_err::<T>(format_args!(
                "refused to open an inode in use as O_TMPFILE\n"
            ));
            return Err(EINVAL);
        }
        let file = self.file.as_ptr();
        // SAFETY: The file of a `tmpfile` call, opened once (`self` is
        // consumed), on an inode with the one link `d_tmpfile` drops;
        // `d_tmpfile` takes over the reference.
        unsafe { bindings::d_tmpfile(file, ARef::into_raw(inode).as_ptr().cast()) };
        // SAFETY: As above.
        to_result(unsafe { bindings::finish_open_simple(file, 0) })?;
        Ok(Instantiated(()))
    }
}

/// The id mapping of the mount that an operation came through: new inodes
/// take their owner through it (idmapped mounts).
///
/// # Invariants
///
/// `ptr` is the mount's `mnt_idmap`, valid for `'a`.
pub struct Idmap<'a> {
    ptr: NonNull<bindings::mnt_idmap>,
    _p: PhantomData<&'a bindings::mnt_idmap>,
}

impl<'a> Idmap<'a> {
    /// # Safety
    ///
    /// `ptr` satisfies the type invariants for `'a`.
    pub(super) unsafe fn from_raw(ptr: *mut bindings::mnt_idmap) -> Self {
        // INVARIANT: As the caller guarantees.
        Self {
            // SAFETY: A valid idmap (the caller guarantees it) is not NULL;
            // mounts without one pass `nop_mnt_idmap`.
            ptr: unsafe { NonNull::new_unchecked(ptr) },
            _p: PhantomData,
        }
    }
}

impl<T: FileSystem> NewINode<'_, T> {
    /// Gives this new inode of type `typ` the owner, group and permissions
    /// of an entry of `dir` (`inode_init_owner`): the caller's file system
    /// ids through the mount's idmap; with `S_ISGID` on `dir`, its group,
    /// and for a new directory `S_ISGID` too. `mode` is the permission
    /// part of the mode the VFS passed (it has applied the umask, or
    /// [`InheritedAcls::new`] has, and stripped `S_ISGID` where the caller
    /// may not set it). Returns them with the time, now, for the file
    /// system to store and to give [`NewINode::init`].
    pub fn init_owner(
        &self,
        idmap: &Idmap<'_>,
        dir: &INode<'_, T>,
        typ: INodeType,
        mode: u16,
    ) -> NewNode {
        let inode = self.inode.as_ptr();
        let full = (typ.format() | u32::from(mode & 0o7777)) as bindings::umode_t;
        // SAFETY: `idmap` is valid while borrowed (`Idmap`'s invariant),
        // `dir` is a valid directory, and the inode is new and locked: we
        // are its only user.
        unsafe { bindings::inode_init_owner(idmap.ptr.as_ptr(), inode, dir.raw(), full) };
        // SAFETY: As above.
        let (uid, gid, mode) = unsafe { ((*inode).i_uid, (*inode).i_gid, (*inode).i_mode) };
        // Now, truncated to the file system's granularity.
        // SAFETY: The inode is valid, with its superblock set.
        let time = Timespec::from_raw(unsafe { bindings::current_time(inode) });
        NewNode {
            typ,
            mode: mode & 0o7777,
            uid: Kuid::from_raw(uid),
            gid: Kgid::from_raw(gid),
            time,
        }
    }
}

/// The POSIX ACLs that a new inode inherits from its directory
/// (`posix_acl_create`).
///
/// # Invariants
///
/// Both are the ACLs `posix_acl_create` gave, if any.
pub struct InheritedAcls<T: FileSystem> {
    default: Option<ARef<PosixAcl>>,
    access: Option<ARef<PosixAcl>>,
    /// Whether ACLs are on (else the two are NULL and nothing is stored).
    posix: bool,
    _p: PhantomData<T>,
}

impl<T: FileSystem> InheritedAcls<T> {
    /// The ACLs that a new inode of type `typ` and permissions `mode` in
    /// `dir` inherits. Changes `mode` as its directory's default ACL
    /// requires or, without one, as the umask does (with ACLs on, the VFS
    /// leaves the umask to the file system).
    pub fn new(dir: &INode<'_, T>, typ: &INodeType, mode: &mut u16) -> Result<Self> {
        let mut full = (typ.format() | u32::from(*mode & 0o7777)) as bindings::umode_t;
        let mut default = core::ptr::null_mut();
        let mut access = core::ptr::null_mut();
        // SAFETY: `dir` is valid; on success we own the references put in
        // the two pointers (NULL when there is no ACL).
        to_result(unsafe {
            bindings::posix_acl_create(dir.raw(), &mut full, &mut default, &mut access)
        })?;
        *mode = (u32::from(full) & 0o7777) as u16;
        let own = |p: *mut bindings::posix_acl| {
            // SAFETY: A reference of ours to a new ACL, made and no longer
            // changed by `posix_acl_create`.
            NonNull::new(p).map(|p| unsafe { ARef::from_raw(p.cast::<PosixAcl>()) })
        };
        // INVARIANT: What `posix_acl_create` gave.
        Ok(Self {
            default: own(default),
            access: own(access),
            posix: dir.super_block().posix_acl(),
            _p: PhantomData,
        })
    }

    /// Stores the ACLs for `inode`, the new inode they were made for,
    /// through [`inode::Operations::set_acl`], and caches them.
    pub fn apply(self, inode: &INode<'_, T>) -> Result {
        if !self.posix {
            return Ok(());
        }
        for (typ, acl) in [
            (AclType::Default, self.default),
            (AclType::Access, self.access),
        ] {
            if let Some(acl) = &acl {
                T::INodeOps::set_acl(inode, typ, Some(&acl.entries()?))?;
            }
            let raw = acl
                .as_deref()
                .map_or(core::ptr::null_mut(), PosixAcl::as_raw);
            // SAFETY: `inode` is a valid inode of ours and `raw` NULL or a
            // valid ACL; `set_cached_acl` takes its own reference.
            unsafe { bindings::set_cached_acl(inode.raw(), typ.raw(), raw) };
        }
        Ok(())
    }
}
