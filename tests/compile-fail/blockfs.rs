// SPDX-License-Identifier: GPL-2.0

//! Uses of `kernel::fs::blockfs` that must not compile: each was possible,
//! and unsound, before the abstraction's types ruled it out. The lint suite
//! builds this module once per case (`--cfg case="NAME"`, see
//! `tests/compile-fail/check`) and expects the compiler's message named in
//! the case's `expect:` line; with no case it must build, which proves the
//! cases fail for their own reason.

use kernel::{
    fs::blockfs::TmpFile,
    fs::blockfs::{self, DirEmitter, INode, Mapping, MountOptions, NewSuperBlock, Stat},
    fs::blockfs::{BareINode, Dentry, INodeType, Idmap, Instantiated, NewDentry, SuperBlock},
    fs::blockfs::{LockedINode, Write, Written},
    new_mutex,
    prelude::*,
    sync::{aref::ARef, Mutex},
};

kernel::module_blockfs! {
    type: Probe,
    name: "compile_fail_blockfs",
    authors: ["rpmem developers"],
    description: "must not compile (tests/compile-fail)",
    license: "GPL",
}

struct Probe;

struct Data {
    /// Somewhere 'static to stash things, as file systems keep state.
    #[allow(dead_code)]
    stash: Pin<KBox<Mutex<Option<Stashed>>>>,
}

#[cfg(case = "inode_in_sb_data")]
type Stashed = ARef<INode<'static, Probe>>;
#[cfg(case = "buffer_in_sb_data")]
type Stashed = blockfs::Buffer<'static>;
#[cfg(case = "invalidate_lock_kept")]
type Stashed = blockfs::Invalidating<'static, 'static, Probe>;
#[cfg(not(any(
    case = "inode_in_sb_data",
    case = "buffer_in_sb_data",
    case = "invalidate_lock_kept"
)))]
type Stashed = ();

#[vtable]
impl blockfs::FileSystem for Probe {
    const NAME: &'static CStr = c"compile_fail_blockfs";
    const MAGIC: u32 = 0;
    type Data = Data;
    type INodeData = ();
    type DirOps = Self;
    type FileOps = Self;
    type INodeOps = Self;
    type XattrOps = Self;

    fn fill_super(sb: &NewSuperBlock<'_, Self>, _opts: &MountOptions) -> Result<Data> {
        // expect: case="buffer_in_sb_data" lifetime may not live long enough
        // A buffer kept in the superblock's data would outlive the device.
        #[cfg(case = "buffer_in_sb_data")]
        let stashed = Some(sb.bread(0)?);
        #[cfg(not(case = "buffer_in_sb_data"))]
        let stashed = None;
        let _ = sb;
        Ok(Data {
            stash: KBox::pin_init(new_mutex!(stashed), GFP_KERNEL)?,
        })
    }

    fn root(_sb: &SuperBlock<Self>) -> Result<ARef<INode<'_, Self>>> {
        Err(ENOENT)
    }

    fn statfs(_sb: &SuperBlock<Self>) -> Result<Stat> {
        Ok(Stat::default())
    }

    fn write_inode(inode: &BareINode<Self>) -> Result {
        // expect: case="ref_in_write_inode" error[E0277]
        // Write-back may run with no reference held: taking one could
        // revive an inode being evicted.
        #[cfg(case = "ref_in_write_inode")]
        let _held: ARef<_> = ARef::from(inode);
        let _ = inode;
        Ok(())
    }

    // The other write methods: a writable file system has them all.

    // expect: case="partial_write_set" a writable FileSystem implements every write method
    // One that could create files but not delete them would leak them.
    #[cfg(not(case = "partial_write_set"))]
    fn delete_inode(_inode: &BareINode<Self>) -> Result {
        Err(EROFS)
    }

    fn write_super(_sb: &SuperBlock<Self>, _clean: bool) -> Result {
        Err(EROFS)
    }
}

#[vtable]
impl blockfs::dir::Operations for Probe {
    type FileSystem = Self;

    fn lookup<'a>(dir: &INode<'a, Self>, _name: &[u8]) -> Result<Option<ARef<INode<'a, Self>>>> {
        // expect: case="inode_in_sb_data" error[E0521]: borrowed data escapes
        // An inode kept in the superblock's data is released after
        // put_super, when evicting it finds the data gone.
        #[cfg(case = "inode_in_sb_data")]
        {
            *dir.sb().data().stash.lock() = Some(ARef::from(dir));
        }
        let _ = dir;
        Ok(None)
    }

    fn read_dir(_dir: &INode<'_, Self>, _emitter: &mut DirEmitter<'_>) -> Result {
        Ok(())
    }

    fn create<'a>(
        _idmap: &Idmap<'_>,
        dir: &INode<'a, Self>,
        dentry: NewDentry<'a, Self>,
        _mode: u16,
    ) -> Result<Instantiated> {
        // expect: case="instantiate_twice" use of moved value: `dentry`
        // A dentry gets one inode: `d_instantiate` on a positive dentry
        // corrupts the dcache.
        #[cfg(case = "instantiate_twice")]
        {
            dentry.instantiate(ARef::from(dir))?;
            dentry.instantiate(ARef::from(dir))?;
        }
        // expect: case="forge_instantiated" private fields
        // Success says the dentry has its inode: only instantiating it
        // gives the proof, so an operation cannot succeed without.
        #[cfg(case = "forge_instantiated")]
        return Ok(blockfs::Instantiated(()));
        let _ = (dir, dentry);
        Err(EROFS)
    }

    fn mknod<'a>(
        _idmap: &Idmap<'_>,
        _dir: &INode<'a, Self>,
        _dentry: NewDentry<'a, Self>,
        _mode: u16,
        _typ: INodeType,
    ) -> Result<Instantiated> {
        Err(EROFS)
    }

    fn symlink<'a>(
        _idmap: &Idmap<'_>,
        _dir: &INode<'a, Self>,
        _dentry: NewDentry<'a, Self>,
        _target: &[u8],
    ) -> Result<Instantiated> {
        Err(EROFS)
    }

    fn mkdir<'a>(
        _idmap: &Idmap<'_>,
        _dir: &INode<'a, Self>,
        _dentry: NewDentry<'a, Self>,
        _mode: u16,
    ) -> Result<Instantiated> {
        Err(EROFS)
    }

    fn tmpfile<'a>(
        _idmap: &Idmap<'_>,
        _dir: &INode<'a, Self>,
        _file: TmpFile<'a, Self>,
        _mode: u16,
    ) -> Result<Instantiated> {
        Err(EROFS)
    }

    fn link<'a>(
        _inode: &INode<'a, Self>,
        _dir: &INode<'a, Self>,
        _dentry: NewDentry<'a, Self>,
    ) -> Result<Instantiated> {
        Err(EROFS)
    }

    fn unlink<'a>(_dir: &INode<'a, Self>, _dentry: &Dentry<'a, Self>) -> Result {
        Err(EROFS)
    }

    fn rmdir<'a>(_dir: &INode<'a, Self>, _dentry: &Dentry<'a, Self>) -> Result {
        Err(EROFS)
    }

    fn rename<'a>(
        _idmap: &Idmap<'_>,
        _old_dir: &INode<'a, Self>,
        _old: &Dentry<'a, Self>,
        _new_dir: &INode<'a, Self>,
        _new: &Dentry<'a, Self>,
        _flags: u32,
    ) -> Result {
        Err(EROFS)
    }
}

#[vtable]
impl blockfs::file::Operations for Probe {
    type FileSystem = Self;

    fn map(_inode: &INode<'_, Self>, _pos: u64, _len: u64) -> Result<Mapping> {
        Err(EIO)
    }

    fn map_write(_inode: &INode<'_, Self>, _pos: u64, _len: u64) -> Result<Mapping> {
        Err(EROFS)
    }

    fn write<'a>(inode: &mut LockedINode<'_, Self>, write: Write<'a, Self>) -> Result<Written<'a>> {
        // expect: case="forge_written" of struct `Written` are private
        // Only `perform` says how many bytes a write moved: the VFS trusts
        // the count (splice walks that many bytes of its pipe).
        #[cfg(case = "forge_written")]
        return Ok(Written {
            bytes: 1 << 20,
            _invariant: core::marker::PhantomData,
        });
        // expect: case="perform_under_invalidate" cannot borrow `*inode` as mutable more than once
        // A write's copy from user memory may fault on a mapping of this
        // file, and faults take the invalidate lock.
        #[cfg(case = "perform_under_invalidate")]
        {
            let held = inode.lock_invalidate();
            let r = write.perform(inode);
            drop(held);
            return r;
        }
        write.perform(inode)
    }

    fn resize(inode: &mut LockedINode<'_, Self>, _size: u64) -> Result {
        // expect: case="invalidate_twice" cannot borrow `*inode` as mutable more than once
        // The invalidate lock is not recursive: a second one would wait for
        // the first forever.
        #[cfg(case = "invalidate_twice")]
        {
            let first = inode.lock_invalidate();
            let second = inode.lock_invalidate();
            drop((first, second));
        }
        // expect: case="invalidate_lock_kept" borrowed data escapes
        // The invalidate lock is taken under the inode lock and released
        // before it: a guard kept past the call would outlive the lock
        // order it was taken in.
        #[cfg(case = "invalidate_lock_kept")]
        {
            *inode.super_block().data().stash.lock() = Some(inode.lock_invalidate());
        }
        let _ = inode;
        Err(EROFS)
    }
}

// No flags, ACLs or extended attributes: every method is optional.
#[vtable]
impl blockfs::inode::Operations for Probe {
    type FileSystem = Self;
}

#[vtable]
impl blockfs::xattr::Operations for Probe {
    type FileSystem = Self;

    fn get_xattr(
        inode: &INode<'_, Self>,
        _ns: blockfs::XattrNs,
        _name: &[u8],
        _buf: &mut [u8],
    ) -> Result<usize> {
        // expect: case="bytes_outlive_lock" lifetime may not live long enough
        // A buffer's bytes are reachable only under its lock.
        #[cfg(case = "bytes_outlive_lock")]
        {
            let buf = inode.super_block().bread(0)?;
            let bytes: &[u8] = buf.read(|b| b);
            buf.modify(|b| b[0] = bytes[0]);
        }
        let _ = inode;
        Err(ENODATA)
    }
}
