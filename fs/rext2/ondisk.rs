// SPDX-License-Identifier: GPL-2.0

//! On-disk structures of ext2 revision 1 with 4096-byte blocks.
//!
//! Decoding and encoding of the superblock, the group descriptors and the
//! inodes from and to little-endian byte slices, and the checks that decide
//! whether a file system can be mounted. Nothing here depends on the kernel:
//! the code uses `core` only, never indexes untrusted data without a bounds
//! check and never overflows on untrusted values, so every function returns
//! on every input.
//!
//! Only revision 1 (`EXT2_DYNAMIC_REV`) with 4096-byte blocks is accepted;
//! revision 0 file systems are refused with [`Corrupt::UnsupportedRevision`].

use super::bmap::max_file_size;

/// Byte offset of the primary superblock on the device.
pub const SUPERBLOCK_OFFSET: u64 = 1024;
/// Size in bytes of the on-disk superblock.
pub const SUPERBLOCK_SIZE: usize = 1024;
/// Value of `s_magic`.
pub const EXT2_MAGIC: u16 = 0xEF53;
/// `s_rev_level` of the original format (fixed 128-byte inodes).
pub const GOOD_OLD_REV: u32 = 0;
/// `s_rev_level` of the dynamic format, the only one rext2 accepts.
pub const DYNAMIC_REV: u32 = 1;
/// The only block size rext2 supports.
pub const BLOCK_SIZE: u32 = 4096;
/// log2 of [`BLOCK_SIZE`].
pub const BLOCK_SIZE_BITS: u32 = 12;
/// `s_log_block_size` for 4096-byte blocks (block size is `1024 << log`).
pub const LOG_BLOCK_SIZE: u32 = 2;
/// Size in bytes of one group descriptor.
pub const GROUP_DESC_SIZE: usize = 32;
/// Size in bytes of the classic part of an inode.
pub const GOOD_OLD_INODE_SIZE: usize = 128;
/// First non-reserved inode of a revision 0 file system.
pub const GOOD_OLD_FIRST_INO: u32 = 11;
/// Inode number of the root directory.
pub const ROOT_INO: u32 = 2;
/// Number of block pointers in an inode.
pub const N_BLOCKS: usize = 15;
/// Number of direct block pointers in an inode.
pub const NDIR_BLOCKS: usize = 12;
/// Size in bytes of the `i_block` area (where fast symlinks keep their target).
pub const I_BLOCK_BYTES: usize = N_BLOCKS * 4;
/// How many bytes past the classic 128 of an inode [`Inode`] keeps.
pub const INODE_EXTRA_KEPT: usize = 128;
/// Largest link count ext2 allows (`EXT2_LINK_MAX`).
pub const LINK_MAX: u16 = 32000;

/// `i_flags`: synchronous updates (`EXT2_SYNC_FL`, `chattr +S`).
pub const SYNC_FL: u32 = 0x0000_0008;
/// `i_flags`: immutable (`chattr +i`).
pub const IMMUTABLE_FL: u32 = 0x0000_0010;
/// `i_flags`: append only (`chattr +a`).
pub const APPEND_FL: u32 = 0x0000_0020;
/// `i_flags`: not to be dumped (`chattr +d`).
pub const NODUMP_FL: u32 = 0x0000_0040;
/// `i_flags`: no access time updates (`chattr +A`).
pub const NOATIME_FL: u32 = 0x0000_0080;
/// `i_flags`: an htree-indexed directory (`EXT2_INDEX_FL`).
pub const INDEX_FL: u32 = 0x0000_1000;
/// `i_flags`: synchronous directory updates (`chattr +D`).
pub const DIRSYNC_FL: u32 = 0x0001_0000;
/// `i_flags`: ext4's per-inode DAX flag (`EXT4_DAX_FL`, `chattr +x`).
pub const DAX_FL: u32 = 0x0200_0000;
/// `i_flags` that `lsattr` sees: ext2's `EXT2_FL_USER_VISIBLE` and, as
/// ext4, the DAX flag.
pub const FL_USER_VISIBLE: u32 = 0x0003_DFFF | DAX_FL;
/// `i_flags` that `chattr` may change: ext2's `EXT2_FL_USER_MODIFIABLE`
/// and, as ext4's `EXT4_FL_USER_MODIFIABLE`, the DAX flag. Secure
/// deletion, undeletion, compression (`chattr +s`, `+u`, `+c`) and
/// `notail` are kept and reported (`statx` shows compression) but change
/// nothing, as in C ext2 and ext4.
pub const FL_USER_MODIFIABLE: u32 = 0x0003_80FF | DAX_FL;
/// The `i_flags` new inodes inherit: ext2's `EXT2_FL_INHERITED` and the
/// DAX flag.
const FL_INHERITED: u32 = 0x0001_C6CF | DAX_FL;

/// The `i_flags` a new inode inherits from its directory, as
/// `ext2_mask_flags()` (of `EXT2_FL_INHERITED`) and, for
/// the DAX flag, `ext4_mask_flags()`: the directory flags only for
/// directories, the DAX flag for directories and regular files, `NODUMP`
/// and `NOATIME` for every type.
pub fn inherited_flags(dir_flags: u32, ft: FileType) -> u32 {
    let flags = dir_flags & FL_INHERITED;
    match ft {
        FileType::Directory => flags,
        FileType::Regular => flags & !DIRSYNC_FL,
        _ => flags & (NODUMP_FL | NOATIME_FL),
    }
}

/// The `i_flags` of an inode whose flags were `old` after `chattr` asked
/// for `requested`, as `ext2_fileattr_set()`: only the modifiable ones
/// change.
pub fn chattr_flags(old: u32, requested: u32) -> u32 {
    (old & !FL_USER_MODIFIABLE) | (requested & FL_USER_MODIFIABLE)
}

/// `s_state`: unmounted cleanly.
pub const STATE_VALID: u16 = 0x0001;
/// `s_state`: errors detected.
pub const STATE_ERROR: u16 = 0x0002;

/// `s_errors`: go on after an error. (2 is remount read-only, which any
/// other value means too.)
pub const ERRORS_CONTINUE: u16 = 1;
/// `s_errors`: panic after an error.
pub const ERRORS_PANIC: u16 = 3;

/// Compat feature: directory preallocation.
pub const COMPAT_DIR_PREALLOC: u32 = 0x0001;
/// Compat feature: AFS server inodes.
pub const COMPAT_IMAGIC_INODES: u32 = 0x0002;
/// Compat feature: has an ext3 journal.
pub const COMPAT_HAS_JOURNAL: u32 = 0x0004;
/// Compat feature: extended attributes.
pub const COMPAT_EXT_ATTR: u32 = 0x0008;
/// Compat feature: reserved GDT blocks for online resize.
pub const COMPAT_RESIZE_INODE: u32 = 0x0010;
/// Compat feature: hashed b-tree directories (still readable linearly).
pub const COMPAT_DIR_INDEX: u32 = 0x0020;
/// Compat feature: at most two backup superblocks.
pub const COMPAT_SPARSE_SUPER2: u32 = 0x0200;

/// Read-only compat feature: backups only in groups 0, 1 and powers of 3, 5, 7.
pub const RO_COMPAT_SPARSE_SUPER: u32 = 0x0001;
/// Read-only compat feature: files larger than 2 GiB.
pub const RO_COMPAT_LARGE_FILE: u32 = 0x0002;
/// Read-only compat feature: b-tree directories (never used).
pub const RO_COMPAT_BTREE_DIR: u32 = 0x0004;
/// Read-only compat feature: `i_blocks` in file system blocks.
pub const RO_COMPAT_HUGE_FILE: u32 = 0x0008;
/// Read-only compat feature: group descriptor checksums.
pub const RO_COMPAT_GDT_CSUM: u32 = 0x0010;
/// Read-only compat feature: more than 65000 subdirectories.
pub const RO_COMPAT_DIR_NLINK: u32 = 0x0020;
/// Read-only compat feature: large inodes carry `i_extra_isize`.
pub const RO_COMPAT_EXTRA_ISIZE: u32 = 0x0040;
/// Read-only compat feature: metadata checksums.
pub const RO_COMPAT_METADATA_CSUM: u32 = 0x0400;

/// Incompat feature: compression.
pub const INCOMPAT_COMPRESSION: u32 = 0x0001;
/// Incompat feature: directory entries record the file type.
pub const INCOMPAT_FILETYPE: u32 = 0x0002;
/// Incompat feature: the journal needs recovery.
pub const INCOMPAT_RECOVER: u32 = 0x0004;
/// Incompat feature: this is an external journal device.
pub const INCOMPAT_JOURNAL_DEV: u32 = 0x0008;
/// Incompat feature: meta block groups.
pub const INCOMPAT_META_BG: u32 = 0x0010;
/// Incompat feature: extent-mapped files.
pub const INCOMPAT_EXTENTS: u32 = 0x0040;
/// Incompat feature: 64-bit block numbers.
pub const INCOMPAT_64BIT: u32 = 0x0080;
/// Incompat feature: flexible block groups.
pub const INCOMPAT_FLEX_BG: u32 = 0x0200;
/// Incompat feature: data inside the inode.
pub const INCOMPAT_INLINE_DATA: u32 = 0x8000;

/// Incompat features rext2 implements.
pub const INCOMPAT_SUPP: u32 = INCOMPAT_FILETYPE;
/// Read-only compat features rext2 can write.
pub const RO_COMPAT_SUPP: u32 = RO_COMPAT_SPARSE_SUPER | RO_COMPAT_LARGE_FILE;

/// Inode mode: mask of the file type bits.
pub const S_IFMT: u16 = 0o170000;
/// Inode mode: socket.
pub const S_IFSOCK: u16 = 0o140000;
/// Inode mode: symbolic link.
pub const S_IFLNK: u16 = 0o120000;
/// Inode mode: regular file.
pub const S_IFREG: u16 = 0o100000;
/// Inode mode: block device.
pub const S_IFBLK: u16 = 0o060000;
/// Inode mode: directory.
pub const S_IFDIR: u16 = 0o040000;
/// Inode mode: character device.
pub const S_IFCHR: u16 = 0o020000;
/// Inode mode: FIFO.
pub const S_IFIFO: u16 = 0o010000;

/// A problem found in on-disk metadata (or a buffer too short to hold it).
///
/// The kernel side maps these to `EINVAL` (at mount) or `EUCLEAN` (later),
/// and logs [`Corrupt::describe`] together with the `Debug` form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Corrupt {
    /// The buffer is shorter than the structure it should hold.
    BufferTooShort {
        /// Bytes needed.
        need: u32,
    },
    /// `s_magic` is not 0xEF53.
    BadMagic {
        /// The value found.
        magic: u16,
    },
    /// `s_rev_level` is not 1 (revision 0 is not supported).
    UnsupportedRevision {
        /// The value found.
        rev: u32,
    },
    /// The block size is not 4096 bytes.
    BlockSizeNot4096 {
        /// `s_log_block_size` (block size is `1024 << log`).
        log: u32,
    },
    /// `s_log_frag_size` differs from `s_log_block_size`.
    FragSizeMismatch {
        /// `s_log_frag_size`.
        log: u32,
    },
    /// An incompat feature rext2 does not implement is set.
    UnknownIncompat(u32),
    /// `s_first_data_block` is not 0 (required for 4096-byte blocks).
    BadFirstDataBlock {
        /// The value found.
        block: u32,
    },
    /// `s_inode_size` is not a power of two in `128..=4096`.
    BadInodeSize {
        /// The value found.
        size: u16,
    },
    /// `s_first_ino` is below 11 or above `s_inodes_count`.
    BadFirstIno {
        /// The value found.
        ino: u32,
    },
    /// `s_blocks_per_group` is not 32768.
    BadBlocksPerGroup {
        /// The value found.
        count: u32,
    },
    /// `s_inodes_per_group` is 0, above 32768 or not a multiple of the
    /// number of inodes per block.
    BadInodesPerGroup {
        /// The value found.
        count: u32,
    },
    /// The inode table and bitmaps do not fit in a block group.
    InodeTableTooBig {
        /// Inode table blocks per group.
        blocks: u32,
    },
    /// `s_blocks_count` is too small to hold any data block.
    BlocksCountTooSmall {
        /// The value found.
        blocks: u32,
    },
    /// `s_blocks_count` exceeds the size of the device.
    BlocksPastDevice {
        /// `s_blocks_count`.
        blocks: u32,
        /// Size of the device in blocks.
        device_blocks: u64,
    },
    /// `s_inodes_count` differs from groups * `s_inodes_per_group`.
    InodesCountMismatch {
        /// `s_inodes_count`.
        inodes: u32,
        /// groups * `s_inodes_per_group`.
        expected: u64,
    },
    /// `s_free_blocks_count` exceeds `s_blocks_count`.
    FreeBlocksTooBig {
        /// The value found.
        free: u32,
    },
    /// `s_free_inodes_count` exceeds `s_inodes_count`.
    FreeInodesTooBig {
        /// The value found.
        free: u32,
    },
    /// `s_r_blocks_count` exceeds `s_blocks_count`.
    ReservedBlocksTooBig {
        /// The value found.
        reserved: u32,
    },
    /// The group descriptor table does not fit in the first group.
    GdtPastEnd {
        /// First block after the table (and its reserved blocks).
        end: u64,
    },
    /// A group number is not below the number of groups.
    GroupOutOfRange {
        /// The group.
        group: u32,
    },
    /// A block bitmap lies outside its group.
    BlockBitmapOutsideGroup {
        /// The group.
        group: u32,
        /// `bg_block_bitmap`.
        block: u32,
    },
    /// An inode bitmap lies outside its group.
    InodeBitmapOutsideGroup {
        /// The group.
        group: u32,
        /// `bg_inode_bitmap`.
        block: u32,
    },
    /// An inode table does not lie entirely inside its group.
    InodeTableOutsideGroup {
        /// The group.
        group: u32,
        /// `bg_inode_table`.
        block: u32,
    },
    /// `bg_free_blocks_count` exceeds the blocks of the group.
    GroupFreeBlocksTooBig {
        /// The group.
        group: u32,
        /// The value found.
        free: u16,
    },
    /// `bg_free_inodes_count` exceeds `s_inodes_per_group`.
    GroupFreeInodesTooBig {
        /// The group.
        group: u32,
        /// The value found.
        free: u16,
    },
    /// `bg_used_dirs_count` exceeds `s_inodes_per_group`.
    GroupUsedDirsTooBig {
        /// The group.
        group: u32,
        /// The value found.
        dirs: u16,
    },
    /// An inode number is 0 or above `s_inodes_count`.
    BadInodeNumber {
        /// The inode number.
        ino: u32,
    },
    /// The inode is free: no links and either no mode or a deletion time.
    InodeDeleted,
    /// The inode has no links but is neither free nor deleted.
    ZeroLinksNoDtime,
    /// The file type bits of `i_mode` name no known type.
    BadFileType {
        /// `i_mode`.
        mode: u16,
    },
    /// The file size exceeds the largest size ext2 allows.
    SizeTooBig {
        /// The size.
        size: u64,
    },
    /// A directory size is not a multiple of the block size.
    DirSizeNotBlockMultiple {
        /// The size.
        size: u64,
    },
    /// A symlink size is 0 or too big for its kind (fast or slow).
    BadSymlinkSize {
        /// The size.
        size: u64,
    },
    /// A block pointer is neither 0 nor inside the file system.
    BlockPtrOutOfRange {
        /// The pointer.
        ptr: u32,
    },
    /// A pointer of a file reaches metadata: a superblock or descriptor
    /// table copy (with its reserved blocks), a bitmap or an inode table.
    BlockPtrIntoMetadata {
        /// The block.
        block: u32,
    },
    /// A block to be freed is already free: the file shares it with
    /// another file or itself, or the bitmap is wrong.
    BlockAlreadyFree {
        /// The block.
        block: u32,
    },
    /// A block bitmap marks one of its group's metadata blocks free.
    BitmapFreesMetadata {
        /// The block.
        block: u32,
    },
    /// A directory entry names a reserved inode (1, or 3 to
    /// `s_first_ino - 1`).
    DirEntryReservedInode {
        /// The inode.
        inode: u32,
    },
    /// An inode the bitmap calls free is in use (links, no deletion time).
    FreeInodeInUse {
        /// The inode.
        ino: u32,
    },
    /// `i_file_acl` is neither 0 nor inside the file system.
    BadFileAcl {
        /// The value found.
        block: u32,
    },
    /// The root inode is not a directory or has no blocks or no size.
    BadRootInode,
    /// A logical file block is beyond the triple-indirect tree.
    FileBlockTooBig {
        /// The logical block.
        block: u64,
    },
    /// A directory entry's `rec_len` is below 12.
    DirRecLenTooSmall {
        /// Offset of the entry in its block.
        offset: u32,
        /// The `rec_len`.
        rec_len: u32,
    },
    /// A directory entry's `rec_len` is not a multiple of 4.
    DirRecLenUnaligned {
        /// Offset of the entry in its block.
        offset: u32,
        /// The `rec_len`.
        rec_len: u32,
    },
    /// A directory entry's `rec_len` is too small for its `name_len`
    /// (or, without the filetype feature, `name_len` exceeds 255).
    DirNameLenTooBig {
        /// Offset of the entry in its block.
        offset: u32,
        /// The `name_len`.
        name_len: u32,
    },
    /// A directory entry extends past the end of its block.
    DirEntrySpansBlock {
        /// Offset of the entry in its block.
        offset: u32,
        /// The `rec_len`.
        rec_len: u32,
    },
    /// A directory entry names an inode above `s_inodes_count`.
    DirInodeOutOfRange {
        /// Offset of the entry in its block.
        offset: u32,
        /// The inode number.
        inode: u32,
    },
    /// The last directory entry does not end at the end of the block.
    DirBadTail {
        /// Offset where the entries stop.
        offset: u32,
    },
}

impl Corrupt {
    /// A message naming the problem, for the kernel log.
    pub fn describe(&self) -> &'static str {
        match self {
            Corrupt::BufferTooShort { .. } => "buffer too short for the on-disk structure",
            Corrupt::BadMagic { .. } => "bad magic number in superblock (not ext2)",
            Corrupt::UnsupportedRevision { .. } => {
                "unsupported revision level (only revision 1 is supported)"
            }
            Corrupt::BlockSizeNot4096 { .. } => "unsupported block size (only 4096 is supported)",
            Corrupt::FragSizeMismatch { .. } => "fragment size differs from block size",
            Corrupt::UnknownIncompat(_) => "unsupported incompatible features",
            Corrupt::BadFirstDataBlock { .. } => "first data block is not 0",
            Corrupt::BadInodeSize { .. } => "unsupported inode size",
            Corrupt::BadFirstIno { .. } => "invalid first non-reserved inode",
            Corrupt::BadBlocksPerGroup { .. } => "blocks per group is not 32768",
            Corrupt::BadInodesPerGroup { .. } => "invalid number of inodes per group",
            Corrupt::InodeTableTooBig { .. } => "inode table does not fit in a block group",
            Corrupt::BlocksCountTooSmall { .. } => "block count too small",
            Corrupt::BlocksPastDevice { .. } => "block count exceeds size of device",
            Corrupt::InodesCountMismatch { .. } => {
                "inode count differs from groups times inodes per group"
            }
            Corrupt::FreeBlocksTooBig { .. } => "free block count exceeds block count",
            Corrupt::FreeInodesTooBig { .. } => "free inode count exceeds inode count",
            Corrupt::ReservedBlocksTooBig { .. } => "reserved block count exceeds block count",
            Corrupt::GdtPastEnd { .. } => "group descriptor table does not fit in group 0",
            Corrupt::GroupOutOfRange { .. } => "block group number out of range",
            Corrupt::BlockBitmapOutsideGroup { .. } => {
                "block bitmap not in its group, or on other metadata"
            }
            Corrupt::InodeBitmapOutsideGroup { .. } => {
                "inode bitmap not in its group, or on other metadata"
            }
            Corrupt::InodeTableOutsideGroup { .. } => {
                "inode table not in its group, or on other metadata"
            }
            Corrupt::GroupFreeBlocksTooBig { .. } => "group free block count too big",
            Corrupt::GroupFreeInodesTooBig { .. } => "group free inode count too big",
            Corrupt::GroupUsedDirsTooBig { .. } => "group directory count too big",
            Corrupt::BadInodeNumber { .. } => "inode number out of range",
            Corrupt::InodeDeleted => "inode is deleted",
            Corrupt::ZeroLinksNoDtime => "inode has zero links but no deletion time",
            Corrupt::BadFileType { .. } => "unknown file type in inode mode",
            Corrupt::SizeTooBig { .. } => "file size too big",
            Corrupt::DirSizeNotBlockMultiple { .. } => {
                "directory size is not a multiple of the block size"
            }
            Corrupt::BadSymlinkSize { .. } => "invalid symlink size",
            Corrupt::BlockPtrOutOfRange { .. } => "block pointer outside the file system",
            Corrupt::BlockPtrIntoMetadata { .. } => {
                "block pointer into file system metadata (bitmaps, inode table, descriptors)"
            }
            Corrupt::BlockAlreadyFree { .. } => {
                "block freed twice: shared between files, or free in the bitmap"
            }
            Corrupt::BitmapFreesMetadata { .. } => "block bitmap marks a metadata block free",
            Corrupt::DirEntryReservedInode { .. } => "directory entry names a reserved inode",
            Corrupt::FreeInodeInUse { .. } => "inode bitmap marks an inode in use as free",
            Corrupt::BadFileAcl { .. } => "bad extended attribute block",
            Corrupt::BadRootInode => "corrupt root inode",
            Corrupt::FileBlockTooBig { .. } => "file block beyond the triple indirect tree",
            Corrupt::DirRecLenTooSmall { .. } => "directory entry rec_len is smaller than minimal",
            Corrupt::DirRecLenUnaligned { .. } => "unaligned directory entry",
            Corrupt::DirNameLenTooBig { .. } => "directory entry rec_len is too small for name_len",
            Corrupt::DirEntrySpansBlock { .. } => "directory entry across blocks",
            Corrupt::DirInodeOutOfRange { .. } => "directory entry inode out of bounds",
            Corrupt::DirBadTail { .. } => "directory entries do not end at the block end",
        }
    }
}

/// Reads `N` bytes at `off`, or zeroes if the range is outside `buf`.
#[inline]
fn read_arr<const N: usize>(buf: &[u8], off: usize) -> [u8; N] {
    // `try_into` of an `N`-byte slice is a load; `copy_from_slice` may
    // be a call to `memcpy` for each field.
    off.checked_add(N)
        .and_then(|end| buf.get(off..end))
        .and_then(|src| src.try_into().ok())
        .unwrap_or([0u8; N])
}

/// Copies `src` to `buf` at `off`; returns `false` (writing nothing) if the
/// range is outside `buf`.
#[inline]
fn write_bytes(buf: &mut [u8], off: usize, src: &[u8]) -> bool {
    match off
        .checked_add(src.len())
        .and_then(|end| buf.get_mut(off..end))
    {
        Some(dst) => {
            dst.copy_from_slice(src);
            true
        }
        None => false,
    }
}

/// Reads a little-endian `u16` at `off`, or `None` if out of range.
#[inline]
pub fn read_u16(buf: &[u8], off: usize) -> Option<u16> {
    let end = off.checked_add(2)?;
    let b = buf.get(off..end)?;
    Some(u16::from_le_bytes(read_arr(b, 0)))
}

/// Reads a little-endian `u32` at `off`, or `None` if out of range.
#[inline]
pub fn read_u32(buf: &[u8], off: usize) -> Option<u32> {
    let end = off.checked_add(4)?;
    let b = buf.get(off..end)?;
    Some(u32::from_le_bytes(read_arr(b, 0)))
}

/// Writes a little-endian `u16` at `off`; returns `false` if out of range.
#[inline]
pub fn write_u16(buf: &mut [u8], off: usize, v: u16) -> bool {
    write_bytes(buf, off, &v.to_le_bytes())
}

/// Writes a little-endian `u32` at `off`; returns `false` if out of range.
#[inline]
pub fn write_u32(buf: &mut [u8], off: usize, v: u32) -> bool {
    write_bytes(buf, off, &v.to_le_bytes())
}

/// Converts an offset or length to `u32` for error payloads, saturating.
pub fn sat_u32(v: usize) -> u32 {
    u32::try_from(v).unwrap_or(u32::MAX)
}

/// Whether a superblock and group descriptor table (primary or backup) is
/// stored in `group`: always without `sparse_super`, otherwise only in
/// groups 0, 1 and the powers of 3, 5 and 7.
pub fn group_has_super(group: u32, sparse_super: bool) -> bool {
    if !sparse_super || group <= 1 {
        return true;
    }
    if group % 2 == 0 {
        return false;
    }
    is_power_of(group, 3) || is_power_of(group, 5) || is_power_of(group, 7)
}

/// Whether `a` is a positive power of `b` (`b` >= 2).
fn is_power_of(a: u32, b: u32) -> bool {
    let (a, b) = (u64::from(a), u64::from(b));
    let mut num = b;
    while a > num {
        num = num.saturating_mul(b);
    }
    num == a
}

/// Whether the features of a file system allow rext2 to mount it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FeatureVerdict {
    /// Mountable read-write.
    Ok,
    /// Mountable read-only only: unknown read-only compat features are set.
    ReadOnly {
        /// The read-only compat bits rext2 does not implement.
        unknown_ro_compat: u32,
    },
    /// Not mountable: unknown incompat features are set.
    Refuse {
        /// The incompat bits rext2 does not implement.
        unknown_incompat: u32,
    },
}

/// The geometry of a validated file system, as returned by
/// [`Superblock::validate`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Geometry {
    /// Block size in bytes (4096).
    pub block_size: u32,
    /// log2 of the block size (12).
    pub block_size_bits: u32,
    /// `s_blocks_count`.
    pub blocks_count: u32,
    /// `s_first_data_block` (0).
    pub first_data_block: u32,
    /// `s_blocks_per_group` (32768).
    pub blocks_per_group: u32,
    /// Number of block groups.
    pub groups: u32,
    /// `s_inodes_count`.
    pub inodes_count: u32,
    /// `s_inodes_per_group`.
    pub inodes_per_group: u32,
    /// `s_inode_size`.
    pub inode_size: u32,
    /// Inodes per block.
    pub inodes_per_block: u32,
    /// Blocks of the inode table of each group.
    pub inode_table_blocks: u32,
    /// `s_first_ino`, the first non-reserved inode.
    pub first_ino: u32,
    /// Group descriptors per block (128).
    pub desc_per_block: u32,
    /// First block of the group descriptor table (1).
    pub gdt_block: u32,
    /// Blocks of the group descriptor table.
    pub gdt_blocks: u32,
    /// Blocks reserved after the table for online resize (0 without
    /// `resize_inode`).
    pub reserved_gdt_blocks: u32,
    /// Block pointers per indirect block (1024).
    pub addr_per_block: u32,
    /// Largest file size, see [`max_file_size`].
    pub max_file_size: u64,
    /// The `sparse_super` feature is set.
    pub sparse_super: bool,
    /// The `large_file` feature is set.
    pub large_file: bool,
    /// The `filetype` feature is set (directory entries carry file types).
    pub filetype: bool,
    /// Read-only compat features rext2 does not implement; non-zero means
    /// the file system may only be mounted read-only.
    pub unknown_ro_compat: u32,
}

impl Geometry {
    /// First block of `group`, or `None` if the group does not exist.
    pub fn group_first_block(&self, group: u32) -> Option<u32> {
        if group >= self.groups {
            return None;
        }
        let first =
            u64::from(group) * u64::from(self.blocks_per_group) + u64::from(self.first_data_block);
        u32::try_from(first).ok()
    }

    /// Last block of `group` (the last group may be short), or `None` if the
    /// group does not exist.
    pub fn group_last_block(&self, group: u32) -> Option<u32> {
        let first = self.group_first_block(group)?;
        if group.checked_add(1) == Some(self.groups) {
            self.blocks_count.checked_sub(1)
        } else {
            first.checked_add(self.blocks_per_group.checked_sub(1)?)
        }
    }

    /// Number of blocks in `group`, or `None` if the group does not exist.
    pub fn group_blocks(&self, group: u32) -> Option<u32> {
        let first = self.group_first_block(group)?;
        let last = self.group_last_block(group)?;
        last.checked_sub(first)?.checked_add(1)
    }

    /// The group holding `block`, or `None` if the block is outside the
    /// file system.
    pub fn group_of_block(&self, block: u32) -> Option<u32> {
        if block < self.first_data_block || block >= self.blocks_count {
            return None;
        }
        (block - self.first_data_block).checked_div(self.blocks_per_group)
    }

    /// Whether `group` holds a superblock and group descriptor table copy.
    pub fn group_has_super(&self, group: u32) -> bool {
        group_has_super(group, self.sparse_super)
    }

    /// Blocks at the start of `group` used by the superblock copy, the
    /// descriptor table and its reserved blocks (0 if the group has none).
    pub fn super_and_gdt_blocks(&self, group: u32) -> u32 {
        if self.group_has_super(group) {
            1 + self.gdt_blocks + self.reserved_gdt_blocks
        } else {
            0
        }
    }
}

/// Location of the descriptor of `group`: (block, byte offset in block).
pub fn group_desc_location(geo: &Geometry, group: u32) -> Result<(u32, usize), Corrupt> {
    if group >= geo.groups || geo.desc_per_block == 0 {
        return Err(Corrupt::GroupOutOfRange { group });
    }
    let block = geo
        .gdt_block
        .checked_add(group / geo.desc_per_block)
        .ok_or(Corrupt::GroupOutOfRange { group })?;
    let offset = (group % geo.desc_per_block) as usize * GROUP_DESC_SIZE;
    Ok((block, offset))
}

/// Where an inode lives, as returned by [`inode_location`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InodeLocation {
    /// Block group of the inode.
    pub group: u32,
    /// Index of the inode in its group.
    pub index: u32,
    /// Block of the group's inode table holding the inode (0-based).
    pub block_in_table: u32,
    /// Byte offset of the inode in that block.
    pub offset: usize,
}

impl InodeLocation {
    /// Absolute block number of the inode, given the group's
    /// `bg_inode_table`, or `None` on overflow.
    pub fn block(&self, inode_table: u32) -> Option<u32> {
        inode_table.checked_add(self.block_in_table)
    }
}

/// Locates inode `ino` (1-based); 0 and numbers above `s_inodes_count` are
/// errors.
pub fn inode_location(geo: &Geometry, ino: u32) -> Result<InodeLocation, Corrupt> {
    if ino == 0 || ino > geo.inodes_count || geo.inodes_per_group == 0 || geo.block_size == 0 {
        return Err(Corrupt::BadInodeNumber { ino });
    }
    let group = (ino - 1) / geo.inodes_per_group;
    let index = (ino - 1) % geo.inodes_per_group;
    let byte = u64::from(index) * u64::from(geo.inode_size);
    let block_in_table = u32::try_from(byte / u64::from(geo.block_size))
        .map_err(|_| Corrupt::BadInodeNumber { ino })?;
    let offset = (byte % u64::from(geo.block_size)) as usize;
    Ok(InodeLocation {
        group,
        index,
        block_in_table,
        offset,
    })
}

/// Checks a block pointer: 0 is a hole (`Ok(None)`), a block inside the file
/// system is `Ok(Some(ptr))`, anything else is an error.
pub fn check_block_ptr(ptr: u32, geo: &Geometry) -> Result<Option<u32>, Corrupt> {
    if ptr == 0 {
        Ok(None)
    } else if ptr <= geo.first_data_block || ptr >= geo.blocks_count {
        Err(Corrupt::BlockPtrOutOfRange { ptr })
    } else {
        Ok(Some(ptr))
    }
}

/// Where a group's own metadata lives (from its descriptor), for
/// [`Geometry::metadata_in`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GroupMeta {
    /// `bg_block_bitmap`.
    pub block_bitmap: u32,
    /// `bg_inode_bitmap`.
    pub inode_bitmap: u32,
    /// `bg_inode_table`.
    pub inode_table: u32,
}

impl From<&GroupDesc> for GroupMeta {
    fn from(gd: &GroupDesc) -> Self {
        GroupMeta {
            block_bitmap: gd.block_bitmap,
            inode_bitmap: gd.inode_bitmap,
            inode_table: gd.inode_table,
        }
    }
}

impl Geometry {
    /// The first metadata block in `start..start + count` (the "system
    /// zone" of `ext4_inode_block_valid()`): a superblock or descriptor
    /// table copy with its reserved blocks, a bitmap or an inode table of
    /// a group the run touches. `meta` gives each group's descriptor
    /// fields (`None`: the group does not exist). Such a block is never a
    /// file's data, indirect, directory or attribute block, nor free.
    pub fn metadata_in(
        &self,
        start: u32,
        count: u32,
        meta: impl Fn(u32) -> Option<GroupMeta>,
    ) -> Option<u32> {
        let end = u64::from(start) + u64::from(count);
        let mut g = self.group_of_block(start)?;
        loop {
            let first = self.group_first_block(g)?;
            if u64::from(first) >= end {
                return None;
            }
            let m = meta(g)?;
            let itb = self.inode_table_blocks;
            // Zones of the group, in no particular order.
            let zones = [
                (first, self.super_and_gdt_blocks(g)),
                (m.block_bitmap, 1),
                (m.inode_bitmap, 1),
                (m.inode_table, itb),
            ];
            let hit = zones
                .iter()
                .filter_map(|&(zs, zn)| {
                    let (zs, ze) = (u64::from(zs), u64::from(zs) + u64::from(zn));
                    let lo = zs.max(u64::from(start));
                    (zn > 0 && lo < ze.min(end)).then_some(lo)
                })
                .min();
            if let Some(b) = hit {
                return u32::try_from(b).ok();
            }
            g = g.checked_add(1).filter(|&n| n < self.groups)?;
        }
    }
}

/// The ext2 superblock, kept as its raw 1024 bytes so that
/// [`Superblock::write_to`] reproduces every byte, with typed accessors for
/// the revision 1 fields.
#[derive(Clone, PartialEq, Eq)]
pub struct Superblock {
    raw: [u8; SUPERBLOCK_SIZE],
}

impl core::fmt::Debug for Superblock {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Superblock")
            .field("inodes_count", &self.inodes_count())
            .field("blocks_count", &self.blocks_count())
            .field("log_block_size", &self.log_block_size())
            .field("magic", &self.magic())
            .field("rev_level", &self.rev_level())
            .field("feature_compat", &self.feature_compat())
            .field("feature_incompat", &self.feature_incompat())
            .field("feature_ro_compat", &self.feature_ro_compat())
            .finish()
    }
}

/// A superblock field stored little-endian at a fixed offset.
trait LeField: Sized {
    fn get(buf: &[u8], off: usize) -> Self;
    fn put(self, buf: &mut [u8], off: usize);
}

macro_rules! le_int_field {
    ($($ty:ty),*) => {
        $(
            impl LeField for $ty {
                fn get(buf: &[u8], off: usize) -> Self {
                    <$ty>::from_le_bytes(read_arr(buf, off))
                }

                fn put(self, buf: &mut [u8], off: usize) {
                    write_bytes(buf, off, &self.to_le_bytes());
                }
            }
        )*
    };
}

le_int_field!(u8, u16, u32);

impl<const N: usize> LeField for [u8; N] {
    fn get(buf: &[u8], off: usize) -> Self {
        read_arr(buf, off)
    }

    fn put(self, buf: &mut [u8], off: usize) {
        write_bytes(buf, off, &self);
    }
}

macro_rules! sb_fields {
    ($($(#[doc = $doc:literal])* $get:ident, $set:ident: $ty:ty = $off:literal;)*) => {
        impl Superblock {
            $(
                $(#[doc = $doc])*
                pub fn $get(&self) -> $ty {
                    <$ty as LeField>::get(&self.raw, $off)
                }

                #[doc = concat!(
                    "Sets the value returned by [`Superblock::",
                    stringify!($get),
                    "`]."
                )]
                pub fn $set(&mut self, v: $ty) {
                    v.put(&mut self.raw, $off);
                }
            )*
        }
    };
}

sb_fields! {
    /// `s_inodes_count`: total inodes.
    inodes_count, set_inodes_count: u32 = 0;
    /// `s_blocks_count`: total blocks.
    blocks_count, set_blocks_count: u32 = 4;
    /// `s_r_blocks_count`: blocks reserved for the super user.
    r_blocks_count, set_r_blocks_count: u32 = 8;
    /// `s_free_blocks_count`.
    free_blocks_count, set_free_blocks_count: u32 = 12;
    /// `s_free_inodes_count`.
    free_inodes_count, set_free_inodes_count: u32 = 16;
    /// `s_first_data_block`: block of the superblock (0 for 4 KiB blocks).
    first_data_block, set_first_data_block: u32 = 20;
    /// `s_log_block_size`: block size is `1024 << log`.
    log_block_size, set_log_block_size: u32 = 24;
    /// `s_log_frag_size`: fragment size is `1024 << log`.
    log_frag_size, set_log_frag_size: u32 = 28;
    /// `s_blocks_per_group`.
    blocks_per_group, set_blocks_per_group: u32 = 32;
    /// `s_frags_per_group`.
    frags_per_group, set_frags_per_group: u32 = 36;
    /// `s_inodes_per_group`.
    inodes_per_group, set_inodes_per_group: u32 = 40;
    /// `s_mtime`: last mount time.
    mtime, set_mtime: u32 = 44;
    /// `s_wtime`: last write time.
    wtime, set_wtime: u32 = 48;
    /// `s_mnt_count`: mounts since the last check.
    mnt_count, set_mnt_count: u16 = 52;
    /// `s_max_mnt_count`: mounts allowed between checks.
    max_mnt_count, set_max_mnt_count: u16 = 54;
    /// `s_magic`: 0xEF53.
    magic, set_magic: u16 = 56;
    /// `s_state`: [`STATE_VALID`], [`STATE_ERROR`].
    state, set_state: u16 = 58;
    /// `s_errors`: behaviour on errors.
    errors, set_errors: u16 = 60;
    /// `s_minor_rev_level`.
    minor_rev_level, set_minor_rev_level: u16 = 62;
    /// `s_lastcheck`: time of the last check.
    lastcheck, set_lastcheck: u32 = 64;
    /// `s_checkinterval`: time allowed between checks.
    checkinterval, set_checkinterval: u32 = 68;
    /// `s_creator_os`.
    creator_os, set_creator_os: u32 = 72;
    /// `s_rev_level`: revision level.
    rev_level, set_rev_level: u32 = 76;
    /// `s_def_resuid`: default uid for reserved blocks.
    def_resuid, set_def_resuid: u16 = 80;
    /// `s_def_resgid`: default gid for reserved blocks.
    def_resgid, set_def_resgid: u16 = 82;
    /// `s_first_ino`: first non-reserved inode.
    first_ino, set_first_ino: u32 = 84;
    /// `s_inode_size`: size of an on-disk inode.
    inode_size, set_inode_size: u16 = 88;
    /// `s_block_group_nr`: group holding this superblock copy.
    block_group_nr, set_block_group_nr: u16 = 90;
    /// `s_feature_compat`.
    feature_compat, set_feature_compat: u32 = 92;
    /// `s_feature_incompat`.
    feature_incompat, set_feature_incompat: u32 = 96;
    /// `s_feature_ro_compat`.
    feature_ro_compat, set_feature_ro_compat: u32 = 100;
    /// `s_uuid`: volume UUID.
    uuid, set_uuid: [u8; 16] = 104;
    /// `s_volume_name`: volume label, NUL padded.
    volume_name, set_volume_name: [u8; 16] = 120;
    /// `s_last_mounted`: directory where last mounted, NUL padded.
    last_mounted, set_last_mounted: [u8; 64] = 136;
    /// `s_algorithm_usage_bitmap`: compression algorithms.
    algorithm_usage_bitmap, set_algorithm_usage_bitmap: u32 = 200;
    /// `s_prealloc_blocks`: blocks to preallocate for files.
    prealloc_blocks, set_prealloc_blocks: u8 = 204;
    /// `s_prealloc_dir_blocks`: blocks to preallocate for directories.
    prealloc_dir_blocks, set_prealloc_dir_blocks: u8 = 205;
    /// `s_reserved_gdt_blocks` (`s_padding1` in ext2.h): descriptor table
    /// blocks reserved for online resize with `resize_inode`.
    reserved_gdt_blocks, set_reserved_gdt_blocks: u16 = 206;
    /// `s_journal_uuid`.
    journal_uuid, set_journal_uuid: [u8; 16] = 208;
    /// `s_journal_inum`.
    journal_inum, set_journal_inum: u32 = 224;
    /// `s_journal_dev`.
    journal_dev, set_journal_dev: u32 = 228;
    /// `s_last_orphan`.
    last_orphan, set_last_orphan: u32 = 232;
    /// `s_def_hash_version`: default directory hash.
    def_hash_version, set_def_hash_version: u8 = 252;
    /// `s_default_mount_opts`.
    default_mount_opts, set_default_mount_opts: u32 = 256;
    /// `s_first_meta_bg`.
    first_meta_bg, set_first_meta_bg: u32 = 260;
    /// `s_mkfs_time`: creation time.
    mkfs_time, set_mkfs_time: u32 = 264;
}

impl Superblock {
    /// Decodes a superblock from the first 1024 bytes of `buf` (the bytes at
    /// device offset 1024); only the length and the magic are checked here,
    /// see [`Superblock::validate`].
    pub fn parse(buf: &[u8]) -> Result<Self, Corrupt> {
        let src = buf.get(..SUPERBLOCK_SIZE).ok_or(Corrupt::BufferTooShort {
            need: SUPERBLOCK_SIZE as u32,
        })?;
        let sb = Superblock {
            raw: read_arr(src, 0),
        };
        if sb.magic() != EXT2_MAGIC {
            return Err(Corrupt::BadMagic { magic: sb.magic() });
        }
        Ok(sb)
    }

    /// Encodes the superblock into the first 1024 bytes of `out`.
    pub fn write_to(&self, out: &mut [u8]) -> Result<(), Corrupt> {
        if write_bytes(out, 0, &self.raw) {
            Ok(())
        } else {
            Err(Corrupt::BufferTooShort {
                need: SUPERBLOCK_SIZE as u32,
            })
        }
    }

    /// The raw 1024 bytes.
    pub fn as_bytes(&self) -> &[u8; SUPERBLOCK_SIZE] {
        &self.raw
    }

    /// `s_hash_seed`: the directory hash seed.
    pub fn hash_seed(&self) -> [u32; 4] {
        let mut seed = [0u32; 4];
        for (i, s) in seed.iter_mut().enumerate() {
            *s = u32::from_le_bytes(read_arr(&self.raw, 236 + 4 * i));
        }
        seed
    }

    /// Sets `s_hash_seed`.
    pub fn set_hash_seed(&mut self, seed: [u32; 4]) {
        for (i, s) in seed.iter().enumerate() {
            write_bytes(&mut self.raw, 236 + 4 * i, &s.to_le_bytes());
        }
    }

    /// Decides whether rext2 may mount the file system: any incompat feature
    /// but `filetype` refuses it, any read-only compat feature but
    /// `sparse_super` and `large_file` restricts it to read-only, compat
    /// features are ignored (`ext_attr`, `resize_inode` and `dir_index` are
    /// fine: hashed directories remain readable linearly).
    pub fn check_features(&self) -> FeatureVerdict {
        let unknown_incompat = self.feature_incompat() & !INCOMPAT_SUPP;
        if unknown_incompat != 0 {
            return FeatureVerdict::Refuse { unknown_incompat };
        }
        let unknown_ro_compat = self.feature_ro_compat() & !RO_COMPAT_SUPP;
        if unknown_ro_compat != 0 {
            return FeatureVerdict::ReadOnly { unknown_ro_compat };
        }
        FeatureVerdict::Ok
    }

    /// Checks the superblock against a device of `device_bytes` bytes and
    /// returns the file system geometry.
    ///
    /// Fails on unknown incompat features ([`Corrupt::UnknownIncompat`]);
    /// unknown read-only compat features are reported in
    /// [`Geometry::unknown_ro_compat`].
    pub fn validate(&self, device_bytes: u64) -> Result<Geometry, Corrupt> {
        if self.magic() != EXT2_MAGIC {
            return Err(Corrupt::BadMagic {
                magic: self.magic(),
            });
        }
        if self.rev_level() != DYNAMIC_REV {
            return Err(Corrupt::UnsupportedRevision {
                rev: self.rev_level(),
            });
        }
        let log = self.log_block_size();
        if log != LOG_BLOCK_SIZE {
            return Err(Corrupt::BlockSizeNot4096 { log });
        }
        if self.log_frag_size() != log {
            return Err(Corrupt::FragSizeMismatch {
                log: self.log_frag_size(),
            });
        }
        let unknown_ro_compat = match self.check_features() {
            FeatureVerdict::Refuse { unknown_incompat } => {
                return Err(Corrupt::UnknownIncompat(unknown_incompat))
            }
            FeatureVerdict::ReadOnly { unknown_ro_compat } => unknown_ro_compat,
            FeatureVerdict::Ok => 0,
        };
        let block_size = BLOCK_SIZE;
        let first_data_block = self.first_data_block();
        if first_data_block != 0 {
            return Err(Corrupt::BadFirstDataBlock {
                block: first_data_block,
            });
        }
        let isize = self.inode_size();
        if !isize.is_power_of_two()
            || usize::from(isize) < GOOD_OLD_INODE_SIZE
            || u32::from(isize) > block_size
        {
            return Err(Corrupt::BadInodeSize { size: isize });
        }
        let inode_size = u32::from(isize);
        let first_ino = self.first_ino();
        if first_ino < GOOD_OLD_FIRST_INO {
            return Err(Corrupt::BadFirstIno { ino: first_ino });
        }
        let bpg = self.blocks_per_group();
        if bpg != 8 * block_size {
            return Err(Corrupt::BadBlocksPerGroup { count: bpg });
        }
        let inodes_per_block = block_size / inode_size;
        let ipg = self.inodes_per_group();
        if ipg == 0 || ipg > 8 * block_size || ipg % inodes_per_block != 0 {
            return Err(Corrupt::BadInodesPerGroup { count: ipg });
        }
        let inode_table_blocks = ipg / inodes_per_block;
        // Like the kernel: inode table, two bitmaps and the superblock must
        // fit in one group.
        if bpg <= inode_table_blocks + 3 {
            return Err(Corrupt::InodeTableTooBig {
                blocks: inode_table_blocks,
            });
        }
        let blocks = self.blocks_count();
        if blocks <= first_data_block {
            return Err(Corrupt::BlocksCountTooSmall { blocks });
        }
        let device_blocks = device_bytes >> BLOCK_SIZE_BITS;
        if u64::from(blocks) > device_blocks {
            return Err(Corrupt::BlocksPastDevice {
                blocks,
                device_blocks,
            });
        }
        let groups = (blocks - first_data_block - 1) / bpg + 1;
        let expected = u64::from(groups) * u64::from(ipg);
        let inodes = self.inodes_count();
        if u64::from(inodes) != expected {
            return Err(Corrupt::InodesCountMismatch { inodes, expected });
        }
        if first_ino > inodes {
            return Err(Corrupt::BadFirstIno { ino: first_ino });
        }
        if self.free_blocks_count() > blocks {
            return Err(Corrupt::FreeBlocksTooBig {
                free: self.free_blocks_count(),
            });
        }
        if self.free_inodes_count() > inodes {
            return Err(Corrupt::FreeInodesTooBig {
                free: self.free_inodes_count(),
            });
        }
        if self.r_blocks_count() > blocks {
            return Err(Corrupt::ReservedBlocksTooBig {
                reserved: self.r_blocks_count(),
            });
        }
        let desc_per_block = block_size / GROUP_DESC_SIZE as u32;
        let gdt_blocks = groups.div_ceil(desc_per_block);
        let gdt_block = first_data_block + 1;
        let reserved_gdt_blocks = if self.feature_compat() & COMPAT_RESIZE_INODE != 0 {
            u32::from(self.reserved_gdt_blocks())
        } else {
            0
        };
        let gdt_end = u64::from(gdt_block) + u64::from(gdt_blocks) + u64::from(reserved_gdt_blocks);
        if gdt_end > u64::from(blocks.min(bpg)) {
            return Err(Corrupt::GdtPastEnd { end: gdt_end });
        }
        let ro = self.feature_ro_compat();
        Ok(Geometry {
            block_size,
            block_size_bits: BLOCK_SIZE_BITS,
            blocks_count: blocks,
            first_data_block,
            blocks_per_group: bpg,
            groups,
            inodes_count: inodes,
            inodes_per_group: ipg,
            inode_size,
            inodes_per_block,
            inode_table_blocks,
            first_ino,
            desc_per_block,
            gdt_block,
            gdt_blocks,
            reserved_gdt_blocks,
            addr_per_block: block_size / 4,
            max_file_size: max_file_size(block_size).unwrap_or(0),
            sparse_super: ro & RO_COMPAT_SPARSE_SUPER != 0,
            large_file: ro & RO_COMPAT_LARGE_FILE != 0,
            filetype: self.feature_incompat() & INCOMPAT_FILETYPE != 0,
            unknown_ro_compat,
        })
    }
}

/// A block group descriptor (32 bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GroupDesc {
    /// `bg_block_bitmap`: block of the block bitmap.
    pub block_bitmap: u32,
    /// `bg_inode_bitmap`: block of the inode bitmap.
    pub inode_bitmap: u32,
    /// `bg_inode_table`: first block of the inode table.
    pub inode_table: u32,
    /// `bg_free_blocks_count`.
    pub free_blocks_count: u16,
    /// `bg_free_inodes_count`.
    pub free_inodes_count: u16,
    /// `bg_used_dirs_count`.
    pub used_dirs_count: u16,
    /// `bg_flags` (`bg_pad` in ext2.h).
    pub flags: u16,
    /// `bg_reserved`, kept for an exact round trip.
    pub reserved: [u8; 12],
}

impl GroupDesc {
    /// Decodes a descriptor from the first 32 bytes of `buf`.
    pub fn parse(buf: &[u8]) -> Result<Self, Corrupt> {
        let b = buf.get(..GROUP_DESC_SIZE).ok_or(Corrupt::BufferTooShort {
            need: GROUP_DESC_SIZE as u32,
        })?;
        Ok(GroupDesc {
            block_bitmap: u32::from_le_bytes(read_arr(b, 0)),
            inode_bitmap: u32::from_le_bytes(read_arr(b, 4)),
            inode_table: u32::from_le_bytes(read_arr(b, 8)),
            free_blocks_count: u16::from_le_bytes(read_arr(b, 12)),
            free_inodes_count: u16::from_le_bytes(read_arr(b, 14)),
            used_dirs_count: u16::from_le_bytes(read_arr(b, 16)),
            flags: u16::from_le_bytes(read_arr(b, 18)),
            reserved: read_arr(b, 20),
        })
    }

    /// Encodes the descriptor into the first 32 bytes of `out`.
    pub fn write_to(&self, out: &mut [u8]) -> Result<(), Corrupt> {
        let b = out
            .get_mut(..GROUP_DESC_SIZE)
            .ok_or(Corrupt::BufferTooShort {
                need: GROUP_DESC_SIZE as u32,
            })?;
        write_bytes(b, 0, &self.block_bitmap.to_le_bytes());
        write_bytes(b, 4, &self.inode_bitmap.to_le_bytes());
        write_bytes(b, 8, &self.inode_table.to_le_bytes());
        write_bytes(b, 12, &self.free_blocks_count.to_le_bytes());
        write_bytes(b, 14, &self.free_inodes_count.to_le_bytes());
        write_bytes(b, 16, &self.used_dirs_count.to_le_bytes());
        write_bytes(b, 18, &self.flags.to_le_bytes());
        write_bytes(b, 20, &self.reserved);
        Ok(())
    }

    /// Checks the descriptor of `group` like `ext2_check_descriptors()`:
    /// both bitmaps and the whole inode table inside the group, free counts
    /// within the group's size; and, as ext4's `ext4_check_descriptors()`,
    /// none of the three on the group's superblock and descriptor copy or
    /// on each other (a bitmap that is the descriptor table would hand out
    /// blocks in use).
    pub fn validate(&self, geo: &Geometry, group: u32) -> Result<(), Corrupt> {
        let range = geo
            .group_first_block(group)
            .zip(geo.group_last_block(group));
        let Some((first, last)) = range else {
            return Err(Corrupt::GroupOutOfRange { group });
        };
        let inside = |b: u32| b >= first && b <= last;
        if !inside(self.block_bitmap) {
            return Err(Corrupt::BlockBitmapOutsideGroup {
                group,
                block: self.block_bitmap,
            });
        }
        if !inside(self.inode_bitmap) {
            return Err(Corrupt::InodeBitmapOutsideGroup {
                group,
                block: self.inode_bitmap,
            });
        }
        let table_end = u64::from(self.inode_table) + u64::from(geo.inode_table_blocks);
        if !inside(self.inode_table)
            || geo.inode_table_blocks == 0
            || table_end > u64::from(last) + 1
        {
            return Err(Corrupt::InodeTableOutsideGroup {
                group,
                block: self.inode_table,
            });
        }
        // The group's own superblock and descriptor copy, then each zone
        // against those before it.
        let sb_end = u64::from(first) + u64::from(geo.super_and_gdt_blocks(group));
        let zones = [
            (u64::from(self.block_bitmap), 1u64),
            (u64::from(self.inode_bitmap), 1),
            (
                u64::from(self.inode_table),
                u64::from(geo.inode_table_blocks),
            ),
        ];
        for (k, &(start, len)) in zones.iter().enumerate() {
            let overlaps = |(s, l): (u64, u64)| start < s + l && s < start + len;
            if overlaps((u64::from(first), sb_end - u64::from(first)))
                || zones[..k].iter().any(|&z| overlaps(z))
            {
                let block = start as u32;
                return Err(match k {
                    0 => Corrupt::BlockBitmapOutsideGroup { group, block },
                    1 => Corrupt::InodeBitmapOutsideGroup { group, block },
                    _ => Corrupt::InodeTableOutsideGroup { group, block },
                });
            }
        }
        if u32::from(self.free_blocks_count) > last - first + 1 {
            return Err(Corrupt::GroupFreeBlocksTooBig {
                group,
                free: self.free_blocks_count,
            });
        }
        if u32::from(self.free_inodes_count) > geo.inodes_per_group {
            return Err(Corrupt::GroupFreeInodesTooBig {
                group,
                free: self.free_inodes_count,
            });
        }
        if u32::from(self.used_dirs_count) > geo.inodes_per_group {
            return Err(Corrupt::GroupUsedDirsTooBig {
                group,
                dirs: self.used_dirs_count,
            });
        }
        Ok(())
    }
}

/// The type of a file, from the top bits of `i_mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileType {
    /// Regular file.
    Regular,
    /// Directory.
    Directory,
    /// Symbolic link.
    Symlink,
    /// Character device.
    CharDevice,
    /// Block device.
    BlockDevice,
    /// FIFO.
    Fifo,
    /// Socket.
    Socket,
}

impl FileType {
    /// The type encoded in `mode`, or `None` for an unknown type.
    pub fn from_mode(mode: u16) -> Option<Self> {
        match mode & S_IFMT {
            S_IFREG => Some(FileType::Regular),
            S_IFDIR => Some(FileType::Directory),
            S_IFLNK => Some(FileType::Symlink),
            S_IFCHR => Some(FileType::CharDevice),
            S_IFBLK => Some(FileType::BlockDevice),
            S_IFIFO => Some(FileType::Fifo),
            S_IFSOCK => Some(FileType::Socket),
            _ => None,
        }
    }

    /// The `S_IF*` bits of this type.
    pub fn mode_bits(self) -> u16 {
        match self {
            FileType::Regular => S_IFREG,
            FileType::Directory => S_IFDIR,
            FileType::Symlink => S_IFLNK,
            FileType::CharDevice => S_IFCHR,
            FileType::BlockDevice => S_IFBLK,
            FileType::Fifo => S_IFIFO,
            FileType::Socket => S_IFSOCK,
        }
    }

    /// The directory entry file type code (1 regular .. 7 symlink).
    pub fn dirent_code(self) -> u8 {
        match self {
            FileType::Regular => 1,
            FileType::Directory => 2,
            FileType::CharDevice => 3,
            FileType::BlockDevice => 4,
            FileType::Fifo => 5,
            FileType::Socket => 6,
            FileType::Symlink => 7,
        }
    }
}

/// The target of a fast symlink, copied out of the `i_block` area.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SymlinkTarget {
    buf: [u8; I_BLOCK_BYTES],
    len: usize,
}

impl SymlinkTarget {
    /// The target bytes (no terminating NUL).
    pub fn as_bytes(&self) -> &[u8] {
        self.buf.get(..self.len).unwrap_or(&[])
    }
}

/// An inode: the classic 128 bytes as typed fields plus up to
/// [`INODE_EXTRA_KEPT`] raw bytes that follow them in larger inodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Inode {
    /// `i_mode`: file type and permissions.
    pub mode: u16,
    /// `i_uid`: low 16 bits of the owner.
    pub uid_low: u16,
    /// `i_size`: low 32 bits of the size.
    pub size_low: u32,
    /// `i_atime`.
    pub atime: u32,
    /// `i_ctime`.
    pub ctime: u32,
    /// `i_mtime`.
    pub mtime: u32,
    /// `i_dtime`: deletion time.
    pub dtime: u32,
    /// `i_gid`: low 16 bits of the group.
    pub gid_low: u16,
    /// `i_links_count`.
    pub links_count: u16,
    /// `i_blocks`: 512-byte sectors used, including indirect and EA blocks.
    pub blocks: u32,
    /// `i_flags`.
    pub flags: u32,
    /// `osd1` (`l_i_reserved1` on Linux).
    pub osd1: u32,
    /// `i_block`: 12 direct, single, double and triple indirect pointers
    /// (or device numbers, or a fast symlink target).
    pub block: [u32; N_BLOCKS],
    /// `i_generation`.
    pub generation: u32,
    /// `i_file_acl`: extended attribute block.
    pub file_acl: u32,
    /// `i_size_high` for regular files, `i_dir_acl` for others.
    pub size_high: u32,
    /// `i_faddr`.
    pub faddr: u32,
    /// `l_i_frag`.
    pub frag: u8,
    /// `l_i_fsize`.
    pub fsize: u8,
    /// `i_pad1` (`l_i_blocks_high` in ext4).
    pub pad1: u16,
    /// `l_i_uid_high`.
    pub uid_high: u16,
    /// `l_i_gid_high`.
    pub gid_high: u16,
    /// `l_i_reserved2`.
    pub reserved2: u32,
    /// Bytes 128.. of the on-disk inode (`i_extra_isize` and on), raw.
    pub extra: [u8; INODE_EXTRA_KEPT],
    /// How many bytes of `extra` were read (0 for 128-byte inodes).
    pub extra_len: usize,
}

impl Inode {
    /// An all-zero inode.
    pub const fn zeroed() -> Self {
        Inode {
            mode: 0,
            uid_low: 0,
            size_low: 0,
            atime: 0,
            ctime: 0,
            mtime: 0,
            dtime: 0,
            gid_low: 0,
            links_count: 0,
            blocks: 0,
            flags: 0,
            osd1: 0,
            block: [0; N_BLOCKS],
            generation: 0,
            file_acl: 0,
            size_high: 0,
            faddr: 0,
            frag: 0,
            fsize: 0,
            pad1: 0,
            uid_high: 0,
            gid_high: 0,
            reserved2: 0,
            extra: [0; INODE_EXTRA_KEPT],
            extra_len: 0,
        }
    }

    /// Decodes an inode from `buf` (at least 128 bytes; the bytes after the
    /// first 128, up to [`INODE_EXTRA_KEPT`] of them, are kept raw).
    pub fn parse(buf: &[u8]) -> Result<Self, Corrupt> {
        let b = buf
            .get(..GOOD_OLD_INODE_SIZE)
            .ok_or(Corrupt::BufferTooShort {
                need: GOOD_OLD_INODE_SIZE as u32,
            })?;
        let u16_at = |off| u16::from_le_bytes(read_arr(b, off));
        let u32_at = |off| u32::from_le_bytes(read_arr(b, off));
        let mut block = [0u32; N_BLOCKS];
        for (i, p) in block.iter_mut().enumerate() {
            *p = u32_at(40 + 4 * i);
        }
        let rest = buf.get(GOOD_OLD_INODE_SIZE..).unwrap_or(&[]);
        let extra_len = rest.len().min(INODE_EXTRA_KEPT);
        let mut extra = [0u8; INODE_EXTRA_KEPT];
        if let (Some(dst), Some(src)) = (extra.get_mut(..extra_len), rest.get(..extra_len)) {
            dst.copy_from_slice(src);
        }
        Ok(Inode {
            mode: u16_at(0),
            uid_low: u16_at(2),
            size_low: u32_at(4),
            atime: u32_at(8),
            ctime: u32_at(12),
            mtime: u32_at(16),
            dtime: u32_at(20),
            gid_low: u16_at(24),
            links_count: u16_at(26),
            blocks: u32_at(28),
            flags: u32_at(32),
            osd1: u32_at(36),
            block,
            generation: u32_at(100),
            file_acl: u32_at(104),
            size_high: u32_at(108),
            faddr: u32_at(112),
            frag: u8::from_le_bytes(read_arr(b, 116)),
            fsize: u8::from_le_bytes(read_arr(b, 117)),
            pad1: u16_at(118),
            uid_high: u16_at(120),
            gid_high: u16_at(122),
            reserved2: u32_at(124),
            extra,
            extra_len,
        })
    }

    /// Encodes the inode into `out` (at least 128 bytes): the classic 128
    /// bytes, then as many of the kept extra bytes as were read and fit.
    /// Bytes of `out` past those are left alone, so writing into the inode's
    /// slot of the inode table preserves fields rext2 does not know.
    pub fn write_to(&self, out: &mut [u8]) -> Result<(), Corrupt> {
        let b = out
            .get_mut(..GOOD_OLD_INODE_SIZE)
            .ok_or(Corrupt::BufferTooShort {
                need: GOOD_OLD_INODE_SIZE as u32,
            })?;
        write_u16(b, 0, self.mode);
        write_u16(b, 2, self.uid_low);
        write_u32(b, 4, self.size_low);
        write_u32(b, 8, self.atime);
        write_u32(b, 12, self.ctime);
        write_u32(b, 16, self.mtime);
        write_u32(b, 20, self.dtime);
        write_u16(b, 24, self.gid_low);
        write_u16(b, 26, self.links_count);
        write_u32(b, 28, self.blocks);
        write_u32(b, 32, self.flags);
        write_u32(b, 36, self.osd1);
        for (i, p) in self.block.iter().enumerate() {
            write_u32(b, 40 + 4 * i, *p);
        }
        write_u32(b, 100, self.generation);
        write_u32(b, 104, self.file_acl);
        write_u32(b, 108, self.size_high);
        write_u32(b, 112, self.faddr);
        write_bytes(b, 116, &[self.frag, self.fsize]);
        write_u16(b, 118, self.pad1);
        write_u16(b, 120, self.uid_high);
        write_u16(b, 122, self.gid_high);
        write_u32(b, 124, self.reserved2);
        let rest = out.get_mut(GOOD_OLD_INODE_SIZE..).unwrap_or(&mut []);
        let n = rest.len().min(self.extra_len).min(INODE_EXTRA_KEPT);
        if let (Some(dst), Some(src)) = (rest.get_mut(..n), self.extra.get(..n)) {
            dst.copy_from_slice(src);
        }
        Ok(())
    }

    /// As [`Inode::write_to`], and tells whether that changed any byte of
    /// `out`: an inode written again as it was needs no write to the
    /// device.
    pub fn write_changes(&self, out: &mut [u8]) -> Result<bool, Corrupt> {
        const N: usize = GOOD_OLD_INODE_SIZE + INODE_EXTRA_KEPT;
        let n = out.len().min(N);
        let mut old = [0u8; N];
        old[..n].copy_from_slice(&out[..n]);
        self.write_to(out)?;
        Ok(out[..n] != old[..n])
    }

    /// The file type, or [`Corrupt::BadFileType`].
    pub fn file_type(&self) -> Result<FileType, Corrupt> {
        FileType::from_mode(self.mode).ok_or(Corrupt::BadFileType { mode: self.mode })
    }

    /// The size in bytes: `i_size_high` counts only for regular files (for
    /// other types that field is `i_dir_acl` and is ignored, like the
    /// kernel's ext2).
    pub fn size(&self) -> u64 {
        if self.mode & S_IFMT == S_IFREG {
            (u64::from(self.size_high) << 32) | u64::from(self.size_low)
        } else {
            u64::from(self.size_low)
        }
    }

    /// Sets the size; only regular files may exceed 32 bits
    /// ([`Corrupt::SizeTooBig`] otherwise). `i_dir_acl` of other types is
    /// left alone.
    pub fn set_size(&mut self, size: u64) -> Result<(), Corrupt> {
        if self.mode & S_IFMT == S_IFREG {
            self.size_low = size as u32;
            self.size_high = (size >> 32) as u32;
            Ok(())
        } else {
            self.size_low = u32::try_from(size).map_err(|_| Corrupt::SizeTooBig { size })?;
            Ok(())
        }
    }

    /// The owner, from the low and high halves.
    pub fn uid(&self) -> u32 {
        u32::from(self.uid_low) | (u32::from(self.uid_high) << 16)
    }

    /// Sets the owner (both halves).
    pub fn set_uid(&mut self, uid: u32) {
        self.uid_low = uid as u16;
        self.uid_high = (uid >> 16) as u16;
    }

    /// The group, from the low and high halves.
    pub fn gid(&self) -> u32 {
        u32::from(self.gid_low) | (u32::from(self.gid_high) << 16)
    }

    /// Sets the group (both halves).
    pub fn set_gid(&mut self, gid: u32) {
        self.gid_low = gid as u16;
        self.gid_high = (gid >> 16) as u16;
    }

    /// `i_extra_isize`, if the inode was read with more than 128 bytes.
    pub fn extra_isize(&self) -> Option<u16> {
        if self.extra_len >= 2 {
            Some(u16::from_le_bytes(read_arr(&self.extra, 0)))
        } else {
            None
        }
    }

    /// Whether this is a symlink whose target is stored in `i_block`: it
    /// uses no blocks besides an extended attribute block (ext2's rule).
    pub fn is_fast_symlink(&self, block_size: u32) -> bool {
        let ea_blocks = if self.file_acl != 0 {
            block_size >> 9
        } else {
            0
        };
        self.mode & S_IFMT == S_IFLNK && self.blocks == ea_blocks
    }

    /// The `i_block` area as the 60 bytes it holds on disk.
    pub fn block_bytes(&self) -> [u8; I_BLOCK_BYTES] {
        let mut out = [0u8; I_BLOCK_BYTES];
        for (i, p) in self.block.iter().enumerate() {
            write_u32(&mut out, 4 * i, *p);
        }
        out
    }

    /// Stores `target` as a fast symlink target in `i_block` (zero padded)
    /// and sets the size; the target must be 1 to 59 bytes.
    pub fn set_fast_symlink_target(&mut self, target: &[u8]) -> Result<(), Corrupt> {
        let size = target.len() as u64;
        if target.is_empty() || target.len() >= I_BLOCK_BYTES {
            return Err(Corrupt::BadSymlinkSize { size });
        }
        let mut area = [0u8; I_BLOCK_BYTES];
        write_bytes(&mut area, 0, target);
        for (i, p) in self.block.iter_mut().enumerate() {
            *p = u32::from_le_bytes(read_arr(&area, 4 * i));
        }
        self.set_size(size)
    }

    /// The target of a fast symlink: the first `size` bytes of `i_block`;
    /// the size must be 1 to 59 ([`Corrupt::BadSymlinkSize`] otherwise).
    pub fn fast_symlink_target(&self) -> Result<SymlinkTarget, Corrupt> {
        let size = self.size();
        let len = usize::try_from(size).unwrap_or(usize::MAX);
        if len == 0 || len >= I_BLOCK_BYTES {
            return Err(Corrupt::BadSymlinkSize { size });
        }
        Ok(SymlinkTarget {
            buf: self.block_bytes(),
            len,
        })
    }

    /// (major, minor) of a character or block device: the old 16-bit
    /// encoding in `i_block[0]` if non-zero, else the new one in
    /// `i_block[1]`. `None` for other file types.
    pub fn device_numbers(&self) -> Option<(u32, u32)> {
        let t = self.mode & S_IFMT;
        if t != S_IFCHR && t != S_IFBLK {
            return None;
        }
        let [old, new] = [self.block[0], self.block[1]];
        if old != 0 {
            let v = old & 0xffff;
            Some(((v >> 8) & 0xff, v & 0xff))
        } else {
            Some(((new & 0xfff00) >> 8, (new & 0xff) | ((new >> 12) & 0xfff00)))
        }
    }

    /// Stores device numbers like `ext2_write_inode()`: the old encoding if
    /// both fit in 8 bits, else the new one (major < 4096, minor < 2^20).
    pub fn set_device_numbers(&mut self, major: u32, minor: u32) {
        if major < 256 && minor < 256 {
            self.block[0] = (major << 8) | minor;
            self.block[1] = 0;
        } else {
            let (major, minor) = (major & 0xfff, minor & 0xfffff);
            self.block[0] = 0;
            self.block[1] = (minor & 0xff) | (major << 8) | ((minor & !0xff) << 12);
            self.block[2] = 0;
        }
    }

    /// Checks that the inode is in use and consistent with `geo`, and
    /// returns its file type:
    /// - no links: [`Corrupt::InodeDeleted`] (free or deleted inode) or
    ///   [`Corrupt::ZeroLinksNoDtime`];
    /// - the file type must be known;
    /// - regular files: size at most [`Geometry::max_file_size`];
    ///   directories: size a multiple of the block size;
    ///   symlinks: 1..=59 bytes if fast, below the block size if not;
    /// - `i_file_acl` and, for files, directories and slow symlinks, every
    ///   block pointer must be 0 or inside the file system.
    pub fn validate(&self, geo: &Geometry) -> Result<FileType, Corrupt> {
        if self.links_count == 0 {
            return Err(if self.mode == 0 || self.dtime != 0 {
                Corrupt::InodeDeleted
            } else {
                Corrupt::ZeroLinksNoDtime
            });
        }
        let ft = self.file_type()?;
        let size = self.size();
        let mut check_ptrs = true;
        match ft {
            FileType::Regular => {
                if size > geo.max_file_size {
                    return Err(Corrupt::SizeTooBig { size });
                }
            }
            FileType::Directory => {
                if geo.block_size == 0 || size % u64::from(geo.block_size) != 0 {
                    return Err(Corrupt::DirSizeNotBlockMultiple { size });
                }
            }
            FileType::Symlink => {
                if self.is_fast_symlink(geo.block_size) {
                    self.fast_symlink_target()?;
                    check_ptrs = false;
                } else if size == 0 || size >= u64::from(geo.block_size) {
                    return Err(Corrupt::BadSymlinkSize { size });
                }
            }
            _ => check_ptrs = false,
        }
        if self.file_acl != 0 && check_block_ptr(self.file_acl, geo).is_err() {
            return Err(Corrupt::BadFileAcl {
                block: self.file_acl,
            });
        }
        if check_ptrs {
            for p in self.block {
                check_block_ptr(p, geo)?;
            }
        }
        Ok(ft)
    }

    /// The checks the kernel makes on the root inode at mount: a directory
    /// with blocks and a non-zero size.
    pub fn check_root(&self) -> Result<(), Corrupt> {
        if self.mode & S_IFMT != S_IFDIR || self.blocks == 0 || self.size() == 0 {
            return Err(Corrupt::BadRootInode);
        }
        Ok(())
    }
}
