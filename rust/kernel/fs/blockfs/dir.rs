// SPDX-License-Identifier: GPL-2.0

//! Directories: their [`Operations`]; listing through [`DirEmitter`].

use super::*;

/// A file system's directories: looking names up, listing them, and the
/// namespace operations (`inode_operations` and `file_operations` of
/// directories).
///
/// [`Operations::lookup`] and [`Operations::read_dir`] are required; the
/// others change directories, and a file system implements all of them or
/// none (see [`FileSystem`]). They are the C operations of the same names,
/// called with the VFS's locks held and its checks done (permissions,
/// `s_max_links`, a dentry negative or positive as the operation needs);
/// the file system keeps link counts and times as POSIX wants and writes
/// its entries and inodes durably, in an order a crash cannot break. Those
/// that give a name an inode succeed only with the [`Instantiated`] that
/// [`NewDentry::instantiate`] or [`TmpFile::open`] returns.
#[vtable]
pub trait Operations {
    /// The file system these directories belong to.
    type FileSystem: FileSystem;

    /// Looks `name` up in directory `dir`.
    fn lookup<'a>(
        dir: &INode<'a, Self::FileSystem>,
        name: &[u8],
    ) -> Result<Option<ARef<INode<'a, Self::FileSystem>>>>;

    /// Emits the entries of `dir` from the emitter's position on.
    fn read_dir(dir: &INode<'_, Self::FileSystem>, emitter: &mut DirEmitter<'_>) -> Result;

    /// `create`: a new regular file with permissions `mode`, entered as
    /// `dentry` in `dir`.
    fn create<'a>(
        _idmap: &Idmap<'_>,
        _dir: &INode<'a, Self::FileSystem>,
        _dentry: NewDentry<'a, Self::FileSystem>,
        _mode: u16,
    ) -> Result<Instantiated> {
        Err(EROFS)
    }

    /// `mknod`: a new inode of type `typ` (a regular file, device, FIFO or
    /// socket) with permissions `mode`, entered as `dentry` in `dir`.
    fn mknod<'a>(
        _idmap: &Idmap<'_>,
        _dir: &INode<'a, Self::FileSystem>,
        _dentry: NewDentry<'a, Self::FileSystem>,
        _mode: u16,
        _typ: INodeType,
    ) -> Result<Instantiated> {
        Err(EROFS)
    }

    /// `symlink`: a new symbolic link to `target`, entered as `dentry` in
    /// `dir`.
    fn symlink<'a>(
        _idmap: &Idmap<'_>,
        _dir: &INode<'a, Self::FileSystem>,
        _dentry: NewDentry<'a, Self::FileSystem>,
        _target: &[u8],
    ) -> Result<Instantiated> {
        Err(EROFS)
    }

    /// `mkdir`: a new directory with permissions `mode`, entered as
    /// `dentry` in `dir`.
    fn mkdir<'a>(
        _idmap: &Idmap<'_>,
        _dir: &INode<'a, Self::FileSystem>,
        _dentry: NewDentry<'a, Self::FileSystem>,
        _mode: u16,
    ) -> Result<Instantiated> {
        Err(EROFS)
    }

    /// `tmpfile`: a new regular file with permissions `mode` and no name,
    /// opened as `file` (`O_TMPFILE`).
    fn tmpfile<'a>(
        _idmap: &Idmap<'_>,
        _dir: &INode<'a, Self::FileSystem>,
        _file: TmpFile<'a, Self::FileSystem>,
        _mode: u16,
    ) -> Result<Instantiated> {
        Err(EROFS)
    }

    /// `link`: enters `inode` (locked) as `dentry` in `dir` too.
    fn link<'a>(
        _inode: &INode<'a, Self::FileSystem>,
        _dir: &INode<'a, Self::FileSystem>,
        _dentry: NewDentry<'a, Self::FileSystem>,
    ) -> Result<Instantiated> {
        Err(EROFS)
    }

    /// `unlink`: removes `dentry`, positive, its inode locked, from `dir`.
    fn unlink<'a>(
        _dir: &INode<'a, Self::FileSystem>,
        _dentry: &Dentry<'a, Self::FileSystem>,
    ) -> Result {
        Err(EROFS)
    }

    /// `rmdir`: removes `dentry`, a directory, its inode locked, from `dir`
    /// if it is empty (`ENOTEMPTY` otherwise).
    fn rmdir<'a>(
        _dir: &INode<'a, Self::FileSystem>,
        _dentry: &Dentry<'a, Self::FileSystem>,
    ) -> Result {
        Err(EROFS)
    }

    /// `rename`: moves `old` in `old_dir` to `new` in `new_dir` (which may
    /// be the same directory), replacing `new`'s inode if it is positive; or
    /// with [`RENAME_EXCHANGE`] in `flags`, swaps the two. The VFS has
    /// checked what it can ([`RENAME_NOREPLACE`] against a positive `new`,
    /// a directory not moved into itself, types that may replace each
    /// other); flags the file system does not know are its to refuse.
    fn rename<'a>(
        _idmap: &Idmap<'_>,
        _old_dir: &INode<'a, Self::FileSystem>,
        _old: &Dentry<'a, Self::FileSystem>,
        _new_dir: &INode<'a, Self::FileSystem>,
        _new: &Dentry<'a, Self::FileSystem>,
        _flags: u32,
    ) -> Result {
        Err(EROFS)
    }
}

/// `rename` flag: fail with `EEXIST` if the new name exists.
pub const RENAME_NOREPLACE: u32 = bindings::RENAME_NOREPLACE;
/// `rename` flag: swap the two names, which both exist.
pub const RENAME_EXCHANGE: u32 = bindings::RENAME_EXCHANGE;
/// `rename` flag: leave a whiteout (a character device 0:0, for
/// overlayfs) at the old name. The VFS has checked `CAP_MKNOD`.
pub const RENAME_WHITEOUT: u32 = bindings::RENAME_WHITEOUT;

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
