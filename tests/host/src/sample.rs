// SPDX-License-Identifier: GPL-2.0

//! Valid on-disk structures to start tests and fuzz inputs from.

use crate::dirent::{self, DirFormat};
use crate::ondisk::{
    Geometry, Inode, Superblock, COMPAT_DIR_INDEX, COMPAT_EXT_ATTR, COMPAT_RESIZE_INODE,
    EXT2_MAGIC, INCOMPAT_FILETYPE, RO_COMPAT_LARGE_FILE, RO_COMPAT_SPARSE_SUPER, SUPERBLOCK_SIZE,
    S_IFDIR, S_IFREG,
};

/// Blocks of the sample file system (3 groups, the last one short).
pub const BLOCKS: u32 = 80_000;
/// Inodes per group of the sample file system.
pub const INODES_PER_GROUP: u32 = 8192;
/// Size in bytes of the device holding the sample file system.
pub const DEVICE_BYTES: u64 = BLOCKS as u64 * 4096;

/// A valid superblock like `mke2fs -t ext2 -b 4096` writes: 3 groups,
/// 256-byte inodes, the default ext2 features.
pub fn superblock() -> Superblock {
    let mut raw = [0u8; SUPERBLOCK_SIZE];
    raw[56..58].copy_from_slice(&EXT2_MAGIC.to_le_bytes());
    let mut sb = Superblock::parse(&raw).expect("magic set");
    sb.set_blocks_count(BLOCKS);
    sb.set_inodes_per_group(INODES_PER_GROUP);
    sb.set_inodes_count(3 * INODES_PER_GROUP);
    sb.set_r_blocks_count(BLOCKS / 20);
    sb.set_free_blocks_count(BLOCKS - 1000);
    sb.set_free_inodes_count(3 * INODES_PER_GROUP - 11);
    sb.set_first_data_block(0);
    sb.set_log_block_size(2);
    sb.set_log_frag_size(2);
    sb.set_blocks_per_group(32768);
    sb.set_frags_per_group(32768);
    sb.set_max_mnt_count(0xffff);
    sb.set_state(1);
    sb.set_errors(1);
    sb.set_rev_level(1);
    sb.set_first_ino(11);
    sb.set_inode_size(256);
    sb.set_feature_compat(COMPAT_EXT_ATTR | COMPAT_RESIZE_INODE | COMPAT_DIR_INDEX);
    sb.set_feature_incompat(INCOMPAT_FILETYPE);
    sb.set_feature_ro_compat(RO_COMPAT_SPARSE_SUPER | RO_COMPAT_LARGE_FILE);
    sb.set_reserved_gdt_blocks(19);
    sb.set_uuid(*b"0123456789abcdef");
    sb.set_volume_name(*b"sample\0\0\0\0\0\0\0\0\0\0");
    sb.set_hash_seed([1, 2, 3, 4]);
    sb.set_def_hash_version(1);
    sb.set_mkfs_time(1_700_000_000);
    sb
}

/// The geometry of [`superblock`].
pub fn geometry() -> Geometry {
    superblock()
        .validate(DEVICE_BYTES)
        .expect("sample superblock is valid")
}

/// A regular file inode of `size` bytes with the given direct pointers.
pub fn file_inode(size: u64, ptrs: &[u32]) -> Inode {
    let mut ino = Inode::zeroed();
    ino.mode = S_IFREG | 0o644;
    ino.links_count = 1;
    ino.set_size(size).expect("regular file");
    for (slot, p) in ino.block.iter_mut().zip(ptrs) {
        *slot = *p;
    }
    ino.blocks = 8 * ptrs.iter().filter(|p| **p != 0).count() as u32;
    ino.set_uid(100_000);
    ino.set_gid(70_000);
    ino.atime = 1;
    ino.ctime = 2;
    ino.mtime = 3;
    ino.generation = 42;
    ino.extra_len = 128;
    ino.extra[0] = 32;
    ino
}

/// A directory inode of one block.
pub fn dir_inode(block: u32) -> Inode {
    let mut ino = Inode::zeroed();
    ino.mode = S_IFDIR | 0o755;
    ino.links_count = 2;
    ino.set_size(4096).expect("fits");
    ino.block[0] = block;
    ino.blocks = 8;
    ino
}

/// The directory format of the sample file system.
pub fn dir_format() -> DirFormat {
    DirFormat::from_geometry(&geometry())
}

/// A valid directory block: ".", ".." and `n` entries "name-<i>".
pub fn dir_block(n: usize) -> [u8; 4096] {
    let fmt = dir_format();
    let mut block = [0u8; 4096];
    dirent::make_empty_dir(&mut block, 2, 2, fmt).expect("empty dir");
    for i in 0..n {
        let name = format!("name-{i}");
        let slot = dirent::find_slot(&block, name.as_bytes(), fmt)
            .expect("valid")
            .expect("room");
        dirent::insert(&mut block, slot, 12 + i as u32, 1, name.as_bytes(), fmt).expect("insert");
    }
    block
}
