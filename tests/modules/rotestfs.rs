// SPDX-License-Identifier: GPL-2.0

//! A read-only file system on the `blockfs` abstraction, for the tests.
//!
//! It implements only the read methods of [`blockfs::FileSystem`],
//! [`blockfs::dir::Operations`] and [`blockfs::file::Operations`], and no
//! attribute or extended attribute operations: the
//! abstraction must then install none of the C operations that write, as a
//! C read-only file system (isofs, cramfs) has none: this module does not
//! build if any is installed. Mounted, it shows a root directory with one file,
//! `device`, whose bytes are the block device's, read through DAX or the
//! page cache like any file.

use kernel::{
    fs::blockfs::{
        self, DirEmitter, DirEntryType, GetINode, INode, INodeParams, INodeType, Mapping,
        MountOptions, NewSuperBlock, Stat, SuperBlock, Tables, Timespec,
    },
    prelude::*,
    sync::aref::ARef,
};

kernel::module_blockfs! {
    type: RoTestFs,
    name: "rotestfs",
    authors: ["rpmem developers"],
    description: "A read-only test file system: no write operations installed",
    license: "GPL",
}

const BLOCK: u64 = 4096;
const ROOT_INO: u64 = 1;
const FILE_INO: u64 = 2;
const FILE_NAME: &[u8] = b"device";

struct RoTestFs;

/// The device's size, which is the file's.
struct Data {
    size: u64,
}

impl RoTestFs {
    fn inode<'a>(sb: &'a SuperBlock<Self>, ino: u64) -> Result<ARef<INode<'a, Self>>> {
        let new = match sb.iget(ino)? {
            GetINode::Cached(inode) => return Ok(inode),
            GetINode::New(new) => new,
        };
        let (typ, mode, size, nlink) = if ino == ROOT_INO {
            (INodeType::Dir, 0o555, 0, 2)
        } else {
            (INodeType::Reg, 0o444, sb.data().size, 1)
        };
        new.init(
            INodeParams {
                typ,
                mode,
                size,
                nlink,
                uid: sb.kuid(0),
                gid: sb.kgid(0),
                atime: Timespec::from_secs(0),
                mtime: Timespec::from_secs(0),
                ctime: Timespec::from_secs(0),
                blocks: size / 512,
                attr_flags: 0,
                generation: 0,
            },
            (),
        )
    }
}

#[vtable]
impl blockfs::FileSystem for RoTestFs {
    const NAME: &'static CStr = c"rotestfs";
    const MAGIC: u32 = 0x524f5446;

    type Data = Data;
    type INodeData = ();
    type DirOps = Self;
    type FileOps = Self;
    type INodeOps = Self;
    type XattrOps = Self;

    fn fill_super(sb: &NewSuperBlock<'_, Self>, _opts: &MountOptions) -> Result<Data> {
        sb.set_block_size(BLOCK as u32)?;
        Ok(Data {
            size: sb.device_size() & !(BLOCK - 1),
        })
    }

    fn root(sb: &SuperBlock<Self>) -> Result<ARef<INode<'_, Self>>> {
        Self::inode(sb, ROOT_INO)
    }

    fn statfs(sb: &SuperBlock<Self>) -> Result<Stat> {
        Ok(Stat {
            blocks: sb.data().size / BLOCK,
            files: 2,
            name_len: 255,
            ..Stat::default()
        })
    }
}

#[vtable]
impl blockfs::dir::Operations for RoTestFs {
    type FileSystem = Self;

    fn lookup<'a>(dir: &INode<'a, Self>, name: &[u8]) -> Result<Option<ARef<INode<'a, Self>>>> {
        if name != FILE_NAME {
            return Ok(None);
        }
        Ok(Some(Self::inode(dir.sb(), FILE_INO)?))
    }

    fn read_dir(_dir: &INode<'_, Self>, emitter: &mut DirEmitter<'_>) -> Result {
        let entries: [(&[u8], u64, DirEntryType); 3] = [
            (b".", ROOT_INO, DirEntryType::Dir),
            (b"..", ROOT_INO, DirEntryType::Dir),
            (FILE_NAME, FILE_INO, DirEntryType::Reg),
        ];
        while let Some(&(name, ino, typ)) = usize::try_from(emitter.pos())
            .ok()
            .and_then(|i| entries.get(i))
        {
            if !emitter.emit(name, ino, typ) {
                break;
            }
            emitter.set_pos(emitter.pos() + 1);
        }
        Ok(())
    }
}

#[vtable]
impl blockfs::file::Operations for RoTestFs {
    type FileSystem = Self;

    fn map(inode: &INode<'_, Self>, pos: u64, len: u64) -> Result<Mapping> {
        let offset = pos & !(BLOCK - 1);
        let end = inode.sb().data().size;
        if offset >= end {
            return Err(EINVAL);
        }
        let len = (pos.saturating_add(len) - offset).min(end - offset);
        // The file is the device: file offset N is device byte N.
        Ok(Mapping::Mapped {
            offset,
            addr: offset,
            len: len.next_multiple_of(BLOCK).min(end - offset),
            new: false,
        })
    }
}

// No flags, ACLs or extended attributes: every method is optional.
#[vtable]
impl blockfs::inode::Operations for RoTestFs {
    type FileSystem = Self;
}

#[vtable]
impl blockfs::xattr::Operations for RoTestFs {
    type FileSystem = Self;
}

// The point of this module: the abstraction installs no operation that
// writes for a file system without write methods, or this does not build.
const _: () = assert!(Tables::<RoTestFs>::write_ops() == 0);
