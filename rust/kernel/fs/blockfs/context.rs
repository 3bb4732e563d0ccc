// SPDX-License-Identifier: GPL-2.0

//! Mounting: `fs_context` operations, `fill_super`, `kill_sb`.

use super::*;

/// Option numbers of [`PARAMS`], as `fs_parse` returns them.
const OPT_DAX: c_int = 1;
const OPT_DAX_TYPE: c_int = 2;
const OPT_ACL: c_int = 3;
const OPT_ERRORS: c_int = 4;

/// The values of `dax=`, as `fs_parse` returns them.
const DAX_ALWAYS: c_uint = 1;
const DAX_NEVER: c_uint = 2;
const DAX_INODE: c_uint = 3;

/// `SB_FORCE` (`BIT(27)` in `include/linux/fs/super_types.h`, a macro
/// bindgen does not see): a remount that may not fail.
const SB_FORCE: c_uint = 1 << 27;

/// The values of `errors=`, as `fs_parse` returns them.
const ERRORS_CONTINUE: c_uint = 1;
const ERRORS_RO: c_uint = 2;
const ERRORS_PANIC: c_uint = 3;

/// A NULL-terminated `constant_table`.
pub(super) struct Constants<const N: usize>([bindings::constant_table; N]);

// SAFETY: The names are static strings; the table is never written.
unsafe impl<const N: usize> Sync for Constants<N> {}

/// A `fs_parameter_spec` table, terminated by an empty entry.
pub(super) struct ParamSpecs<const N: usize>(pub(super) [bindings::fs_parameter_spec; N]);

// SAFETY: As for `Constants`: static names and data, never written.
unsafe impl<const N: usize> Sync for ParamSpecs<N> {}

const fn constant(name: &'static CStr, value: c_uint) -> bindings::constant_table {
    bindings::constant_table {
        name: name.as_ptr().cast(),
        value: value as c_int,
    }
}

/// `dax=`'s values, as ext4's `ext4_param_dax`.
static DAX_VALUES: Constants<4> = Constants([
    constant(c"always", DAX_ALWAYS),
    constant(c"never", DAX_NEVER),
    constant(c"inode", DAX_INODE),
    bindings::constant_table {
        name: core::ptr::null(),
        value: 0,
    },
]);

/// `errors=`'s values, as ext2's `ext2_param_errors`.
static ERRORS_VALUES: Constants<4> = Constants([
    constant(c"continue", ERRORS_CONTINUE),
    constant(c"remount-ro", ERRORS_RO),
    constant(c"panic", ERRORS_PANIC),
    bindings::constant_table {
        name: core::ptr::null(),
        value: 0,
    },
]);

const fn spec(
    name: &'static CStr,
    typ: bindings::fs_param_type,
    opt: c_int,
    flags: u32,
    data: *const c_void,
) -> bindings::fs_parameter_spec {
    bindings::fs_parameter_spec {
        name: name.as_ptr().cast(),
        type_: typ,
        opt: opt as u8,
        flags: flags as u16,
        data,
    }
}

/// The mount options this module understands, as ext4 spells them
/// (`fsparam_flag("dax")`, `fsparam_enum("dax", ...)`) and ext2
/// (`fsparam_flag_no("acl")`, `fsparam_enum("errors", ...)`); also
/// `file_system_type::parameters`.
pub(super) static PARAMS: ParamSpecs<5> = ParamSpecs([
    spec(c"dax", None, OPT_DAX, 0, core::ptr::null()),
    spec(
        c"dax",
        Some(bindings::fs_param_is_enum),
        OPT_DAX_TYPE,
        0,
        DAX_VALUES.0.as_ptr().cast(),
    ),
    spec(
        c"acl",
        None,
        OPT_ACL,
        bindings::fs_param_neg_with_no,
        core::ptr::null(),
    ),
    spec(
        c"errors",
        Some(bindings::fs_param_is_enum),
        OPT_ERRORS,
        0,
        ERRORS_VALUES.0.as_ptr().cast(),
    ),
    bindings::fs_parameter_spec {
        name: core::ptr::null(),
        type_: None,
        opt: 0,
        flags: 0,
        data: core::ptr::null(),
    },
]);

impl<T: FileSystem> Tables<T> {
    /// `file_system_type::init_fs_context`: sets up a mount context.
    ///
    /// # Safety
    ///
    /// `fc` is a valid `fs_context` of this file system type, being set up.
    pub(super) unsafe extern "C" fn init_fs_context(fc: *mut bindings::fs_context) -> c_int {
        from_result(|| {
            let opts = KBox::new(
                MountOptions {
                    dax: DaxMode::Default,
                    read_only: false,
                    acl: true,
                    errors: None,
                },
                GFP_KERNEL,
            )?;
            // SAFETY: The VFS passes a valid context being set up.
            unsafe {
                (*fc).fs_private = KBox::into_raw(opts).cast();
                (*fc).ops = &Self::TABLES.ctx_ops;
            }
            Ok(0)
        })
    }

    /// # Safety
    ///
    /// `fc` is a context set up by `init_fs_context`.
    pub(super) unsafe fn opts<'a>(fc: *mut bindings::fs_context) -> &'a mut MountOptions {
        // SAFETY: `fs_private` is our `KBox<MountOptions>` (caller).
        unsafe { &mut *(*fc).fs_private.cast::<MountOptions>() }
    }

    /// `fs_context_operations::free`.
    ///
    /// # Safety
    ///
    /// `fc` is a context `init_fs_context` set up (its `fs_private` may be NULL
    /// if that failed), freed once.
    pub(super) unsafe extern "C" fn ctx_free(fc: *mut bindings::fs_context) {
        // SAFETY: Called once for our context; `fs_private` may be NULL if
        // `init_fs_context` failed.
        let p = unsafe { (*fc).fs_private };
        if !p.is_null() {
            // SAFETY: Came from `KBox::into_raw` in `init_fs_context`.
            drop(unsafe { KBox::from_raw(p.cast::<MountOptions>()) });
        }
    }

    /// `fs_context_operations::parse_param`: one mount option, by
    /// [`PARAMS`].
    ///
    /// # Safety
    ///
    /// `fc` is a context of ours being configured; `param` is a valid parameter
    /// with a NUL-terminated key.
    pub(super) unsafe extern "C" fn parse_param(
        fc: *mut bindings::fs_context,
        param: *mut bindings::fs_parameter,
    ) -> c_int {
        let mut result = MaybeUninit::<bindings::fs_parse_result>::zeroed();
        // SAFETY: The VFS passes our context and a valid parameter; `PARAMS`
        // is a terminated table; `result` is valid for writes. Unknown keys
        // give `-ENOPARAM`, which lets the VFS handle (or refuse) them; bad
        // values are logged with the file system's name.
        let opt = unsafe { bindings::fs_parse(fc, PARAMS.0.as_ptr(), param, result.as_mut_ptr()) };
        // SAFETY: Our context.
        let opts = unsafe { Self::opts(fc) };
        match opt {
            OPT_DAX => opts.dax = DaxMode::Always,
            OPT_DAX_TYPE => {
                // SAFETY: `fs_parse` succeeded on an enum parameter, which
                // sets `uint_32` to the value of the matching name.
                let v = unsafe { result.assume_init().__bindgen_anon_1.uint_32 };
                opts.dax = match v {
                    DAX_ALWAYS => DaxMode::Always,
                    DAX_NEVER => DaxMode::Never,
                    _ => DaxMode::Inode,
                };
            }
            OPT_ACL => {
                // SAFETY: `fs_parse` succeeded and set `negated`.
                opts.acl = !unsafe { result.assume_init().negated };
            }
            OPT_ERRORS => {
                // SAFETY: As for `OPT_DAX_TYPE`.
                let v = unsafe { result.assume_init().__bindgen_anon_1.uint_32 };
                opts.errors = Some(match v {
                    ERRORS_CONTINUE => ErrorsMode::Continue,
                    ERRORS_PANIC => ErrorsMode::Panic,
                    _ => ErrorsMode::RemountRo,
                });
            }
            // Errors (`-ENOPARAM` included) go back to the VFS.
            _ => return opt,
        }
        0
    }

    /// Remounts: switching to read-write marks the file system in use on
    /// disk (and may be refused), switching to read-only marks it clean
    /// (the VFS has synced it); then the file system takes the options it
    /// applies itself ([`FileSystem::reconfigure`]).
    ///
    /// # Safety
    ///
    /// `fc` is a reconfiguration context of a mounted superblock of ours, with
    /// `root` set.
    pub(super) unsafe extern "C" fn reconfigure(fc: *mut bindings::fs_context) -> c_int {
        from_result(|| {
            // SAFETY: The VFS passes a reconfiguration context of a mounted
            // superblock of ours, with `root` set.
            let (want_ro, sb) = unsafe {
                (
                    (*fc).sb_flags & bindings::SB_RDONLY != 0,
                    SuperBlock::<T>::from_raw((*(*fc).root).d_sb),
                )
            };
            if want_ro != sb.read_only() {
                // As ext4: after an error stopped writes, the mount stays
                // as it is until unmounted; but a forced read-only remount
                // (emergency remount, SysRq-u) must not fail, and has
                // nothing to write.
                if sb.is_emergency_ro() {
                    // SAFETY: As above.
                    let force = unsafe { (*fc).sb_flags } & SB_FORCE != 0;
                    return if want_ro && force { Ok(0) } else { Err(EROFS) };
                }
                if want_ro {
                    T::write_super(sb, true)?;
                } else {
                    if !Tables::<T>::READ_WRITE {
                        return Err(EROFS);
                    }
                    T::write_super(sb, false)?;
                }
            }
            // SAFETY: Our context.
            T::reconfigure(sb, unsafe { Self::opts(fc) }.errors)?;
            Ok(0)
        })
    }

    /// `fs_context_operations::get_tree`.
    ///
    /// # Safety
    ///
    /// `fc` is a context of ours, fully configured.
    pub(super) unsafe extern "C" fn get_tree(fc: *mut bindings::fs_context) -> c_int {
        // SAFETY: Our context; `fill_super` matches the expected signature.
        unsafe { bindings::get_tree_bdev(fc, Some(Self::fill_super)) }
    }

    /// The `fill_super` callback of `get_tree_bdev`.
    ///
    /// # Safety
    ///
    /// `sb` is a new superblock of this type being set up, and `fc` the context
    /// it is set up from.
    pub(super) unsafe extern "C" fn fill_super(
        sb: *mut bindings::super_block,
        fc: *mut bindings::fs_context,
    ) -> c_int {
        from_result(|| {
            // SAFETY: Our context.
            let mut opts = *unsafe { Self::opts(fc) };
            // SAFETY: The VFS passes the new superblock and our context.
            opts.read_only = unsafe { (*fc).sb_flags } & bindings::SB_RDONLY != 0;
            let mut dax = None;
            let mut part_off = 0u64;
            if opts.dax != DaxMode::Never {
                // SAFETY: `s_bdev` is the device being mounted.
                if let Some((d, off)) = unsafe { FsDax::get((*sb).s_bdev) } {
                    dax = Some(d);
                    part_off = off;
                } else if opts.dax == DaxMode::Always {
                    fs_err::<T>(format_args!("DAX unsupported by block device\n"));
                    return Err(EINVAL);
                }
            }
            if !opts.read_only && !Tables::<T>::READ_WRITE {
                fs_err::<T>(format_args!("read-only file system: mount with -o ro\n"));
                return Err(EROFS);
            }
            // INVARIANT: `sb` is being filled; `dax` is whether we hold a
            // DAX device for it.
            let new = NewSuperBlock::<T> {
                sb,
                dax: dax.is_some(),
                _p: PhantomData,
            };
            let data = T::fill_super(&new, &opts)?;
            // DAX maps device pages one to one with file pages.
            // SAFETY: The new superblock is ours to set up.
            let page_blocks = unsafe { (*sb).s_blocksize } == bindings::PAGE_SIZE;
            if dax.is_some() && !page_blocks {
                if opts.dax == DaxMode::Always {
                    fs_err::<T>(format_args!(
                        "DAX needs the block size to be the page size\n"
                    ));
                    return Err(EINVAL);
                }
                dax = None;
            }
            let info = KBox::new(
                SbInfo::<T> {
                    data,
                    dax,
                    part_off,
                    mode: opts.dax,
                    shutdown: core::sync::atomic::AtomicBool::new(false),
                    emergency_ro: core::sync::atomic::AtomicBool::new(false),
                },
                GFP_KERNEL,
            )?;
            // SAFETY: The new superblock is ours to set up; from here
            // `put_super`, or `kill_sb` if this fails, frees `s_fs_info`.
            unsafe {
                (*sb).s_fs_info = KBox::into_raw(info).cast();
                (*sb).s_op = &Self::TABLES.super_ops;
                if T::HAS_INODE_FOR_HANDLE {
                    (*sb).s_export_op = &Self::TABLES.export_ops;
                }
                (*sb).s_magic = T::MAGIC as usize;
            }
            // SAFETY: The data is set: a full superblock of `T` now.
            let sbr = unsafe { SuperBlock::<T>::from_raw(sb) };
            let root = T::root(sbr)?;
            if !opts.read_only {
                T::write_super(sbr, false)?;
            }
            let root = ARef::into_raw(root);
            // SAFETY: `d_make_root` consumes the inode reference, also on
            // failure.
            let dentry = unsafe { bindings::d_make_root(root.as_ptr().cast()) };
            if dentry.is_null() {
                return Err(ENOMEM);
            }
            // SAFETY: The new superblock is ours to set up.
            unsafe { (*sb).s_root = dentry };
            Ok(0)
        })
    }

    /// `file_system_type::kill_sb`.
    ///
    /// # Safety
    ///
    /// `sb` is a superblock of this type, killed once; `s_fs_info` is our
    /// `SbInfo` or NULL.
    pub(super) unsafe extern "C" fn kill_sb(sb: *mut bindings::super_block) {
        // SAFETY: The VFS passes one of our superblocks, once; this evicts
        // all inodes, then calls `put_super` if the mount had succeeded.
        // The superblock itself stays valid until the VFS drops it.
        let info = unsafe {
            bindings::kill_block_super(sb);
            (*sb).s_fs_info
        };
        if !info.is_null() {
            // SAFETY: `s_fs_info` came from `KBox::into_raw` in `fill_super`,
            // and `put_super` (which sets it to NULL) did not run: the mount
            // failed after `FileSystem::fill_super`. Dropping it drops the
            // file system's data and the DAX device.
            drop(unsafe { KBox::from_raw(info.cast::<SbInfo<T>>()) });
        }
    }
}
