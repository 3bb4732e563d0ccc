// SPDX-License-Identifier: GPL-2.0

//! Block map arithmetic: where the pointer to a logical file block lives in
//! the tree of direct, single, double and triple indirect blocks anchored in
//! `i_block`, for 4096-byte blocks (1024 pointers per indirect block), how
//! many blocks a file of a given size uses, and runs of contiguous pointers.

use super::ondisk::{read_u32, write_u32, Corrupt, BLOCK_SIZE, NDIR_BLOCKS};

/// Block pointers per indirect block.
pub const ADDR_PER_BLOCK: u32 = 1024;
/// log2 of [`ADDR_PER_BLOCK`].
pub const ADDR_PER_BLOCK_BITS: u32 = 10;
/// Index in `i_block` of the single indirect pointer.
pub const IND_BLOCK: u32 = 12;
/// Index in `i_block` of the double indirect pointer.
pub const DIND_BLOCK: u32 = 13;
/// Index in `i_block` of the triple indirect pointer.
pub const TIND_BLOCK: u32 = 14;
/// Logical blocks mapped directly by `i_block`.
pub const DIRECT_BLOCKS: u64 = NDIR_BLOCKS as u64;
/// Logical blocks mapped through the single indirect block.
pub const IND_BLOCKS: u64 = 1 << ADDR_PER_BLOCK_BITS;
/// Logical blocks mapped through the double indirect block.
pub const DIND_BLOCKS: u64 = 1 << (2 * ADDR_PER_BLOCK_BITS);
/// Logical blocks mapped through the triple indirect block.
pub const TIND_BLOCKS: u64 = 1 << (3 * ADDR_PER_BLOCK_BITS);
/// Logical blocks the tree can map.
pub const MAX_FILE_BLOCKS: u64 = DIRECT_BLOCKS + IND_BLOCKS + DIND_BLOCKS + TIND_BLOCKS;
/// 512-byte sectors (`i_blocks` units) per block.
pub const SECTORS_PER_BLOCK: u64 = 8;
/// Blocks in a 2 MiB (PMD) mapping.
pub const PMD_BLOCKS: u64 = 512;

/// Where the pointer to a logical block is, as computed by [`path`] (like
/// `ext2_block_to_path()`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Path {
    depth: usize,
    offsets: [u32; 4],
    remaining: u32,
}

impl Path {
    /// Indirection levels: 0 direct, 1 single, 2 double, 3 triple.
    pub fn depth(&self) -> usize {
        self.depth
    }

    /// `depth + 1` indices: the first into `i_block` (0..=14), then one
    /// into each indirect block on the way down (0..1024).
    pub fn offsets(&self) -> &[u32] {
        self.offsets.get(..=self.depth).unwrap_or(&[])
    }

    /// How many pointers follow this one in the same last-level array
    /// (`boundary` in the kernel): the logical blocks after this one that are
    /// mapped by the same block (or by `i_block` for direct blocks).
    pub fn remaining_in_block(&self) -> u32 {
        self.remaining
    }
}

/// Computes the path to logical block `file_block`, or
/// [`Corrupt::FileBlockTooBig`] beyond the triple indirect tree.
pub fn path(file_block: u64) -> Result<Path, Corrupt> {
    const MASK: u64 = IND_BLOCKS - 1;
    const BITS: u32 = ADDR_PER_BLOCK_BITS;
    let last = ADDR_PER_BLOCK - 1;
    let mut b = file_block;
    if b < DIRECT_BLOCKS {
        return Ok(Path {
            depth: 0,
            offsets: [b as u32, 0, 0, 0],
            remaining: NDIR_BLOCKS as u32 - 1 - b as u32,
        });
    }
    b -= DIRECT_BLOCKS;
    if b < IND_BLOCKS {
        return Ok(Path {
            depth: 1,
            offsets: [IND_BLOCK, b as u32, 0, 0],
            remaining: last - b as u32,
        });
    }
    b -= IND_BLOCKS;
    if b < DIND_BLOCKS {
        return Ok(Path {
            depth: 2,
            offsets: [DIND_BLOCK, (b >> BITS) as u32, (b & MASK) as u32, 0],
            remaining: last - (b & MASK) as u32,
        });
    }
    b -= DIND_BLOCKS;
    if b < TIND_BLOCKS {
        return Ok(Path {
            depth: 3,
            offsets: [
                TIND_BLOCK,
                (b >> (2 * BITS)) as u32,
                ((b >> BITS) & MASK) as u32,
                (b & MASK) as u32,
            ],
            remaining: last - (b & MASK) as u32,
        });
    }
    Err(Corrupt::FileBlockTooBig { block: file_block })
}

/// Largest file size ext2 allows for blocks of `block_size` bytes, computed
/// like `ext2_max_size()` in `fs/ext2/super.c` (bounded by the indirect tree
/// and by `i_blocks` counting 512-byte sectors in 32 bits), or `None` if the
/// block size is not a power of two in `1024..=65536`.
pub fn max_file_size(block_size: u32) -> Option<u64> {
    if !block_size.is_power_of_two() || !(1024..=65536).contains(&block_size) {
        return None;
    }
    let bits = block_size.trailing_zeros();
    let ppb: u64 = 1 << (bits - 2);
    // i_blocks limit: 2^32 - 1 sectors, in file system blocks.
    let mut upper_limit: u64 = u64::from(u32::MAX) >> (bits - 9);
    let mut res: u64 = DIRECT_BLOCKS + ppb + ppb * ppb + ppb * ppb * ppb;
    let mut meta_blocks: u64 = 1 + (1 + ppb) + (1 + ppb + ppb * ppb);
    if res + meta_blocks > upper_limit {
        res = upper_limit;
        upper_limit -= DIRECT_BLOCKS;
        meta_blocks = 1;
        upper_limit -= ppb;
        if upper_limit < ppb * ppb {
            meta_blocks += 1 + upper_limit.div_ceil(ppb);
        } else {
            meta_blocks += 1 + ppb;
            upper_limit -= ppb * ppb;
            meta_blocks += 1 + upper_limit.div_ceil(ppb) + upper_limit.div_ceil(ppb * ppb);
        }
        res -= meta_blocks;
    }
    // MAX_LFS_FILESIZE on 64-bit is i64::MAX; `res << bits` stays below it.
    Some((res << bits).min(i64::MAX as u64))
}

/// Indirect blocks needed to map logical blocks `0..data_blocks` densely,
/// or `None` beyond [`MAX_FILE_BLOCKS`].
pub fn indirect_blocks_for(data_blocks: u64) -> Option<u64> {
    if data_blocks > MAX_FILE_BLOCKS {
        return None;
    }
    let mut n = data_blocks.saturating_sub(DIRECT_BLOCKS);
    let mut meta = 0;
    if n == 0 {
        return Some(meta);
    }
    meta += 1;
    n = n.saturating_sub(IND_BLOCKS);
    if n == 0 {
        return Some(meta);
    }
    let d = n.min(DIND_BLOCKS);
    meta += 1 + d.div_ceil(IND_BLOCKS);
    n -= d;
    if n == 0 {
        return Some(meta);
    }
    meta += 1 + n.div_ceil(DIND_BLOCKS) + n.div_ceil(IND_BLOCKS);
    Some(meta)
}

/// Blocks (data plus indirect) a dense file of `size` bytes uses, or `None`
/// if the tree cannot map it; `i_blocks` is this times
/// [`SECTORS_PER_BLOCK`] (plus an extended attribute block, if any).
pub fn blocks_for_size(size: u64) -> Option<u64> {
    let data = size.div_ceil(u64::from(BLOCK_SIZE));
    data.checked_add(indirect_blocks_for(data)?)
}

/// Reads pointer `index` of an indirect block, or `None` past its end.
pub fn read_ptr(block: &[u8], index: usize) -> Option<u32> {
    read_u32(block, index.checked_mul(4)?)
}

/// Writes pointer `index` of an indirect block; `false` past its end.
pub fn write_ptr(block: &mut [u8], index: usize, ptr: u32) -> bool {
    match index.checked_mul(4) {
        Some(off) => write_u32(block, off, ptr),
        None => false,
    }
}

/// A run of pointers found by [`contiguous_run`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Run {
    /// `count` zero pointers (holes); `count` is 0 if the start index is
    /// outside the array or `max` is 0.
    Hole {
        /// Number of holes.
        count: u32,
    },
    /// `count` pointers `start, start + 1, ...`.
    Mapped {
        /// The first physical block.
        start: u32,
        /// Number of blocks.
        count: u32,
    },
}

fn run_by(get: impl Fn(usize) -> Option<u32>, index: usize, max: u32) -> Run {
    let first = match get(index) {
        Some(p) if max > 0 => p,
        _ => return Run::Hole { count: 0 },
    };
    let mut count: u32 = 1;
    while count < max {
        let Some(next) = index.checked_add(count as usize).and_then(&get) else {
            break;
        };
        let expect = if first == 0 {
            Some(0)
        } else {
            first.checked_add(count)
        };
        if Some(next) != expect {
            break;
        }
        count += 1;
    }
    if first == 0 {
        Run::Hole { count }
    } else {
        Run::Mapped {
            start: first,
            count,
        }
    }
}

/// Starting at `ptrs[index]`, how many following pointers (at most `max`)
/// are all holes or physically contiguous. The caller checks the first and
/// last block of a mapped run against the file system size.
pub fn contiguous_run(ptrs: &[u32], index: usize, max: u32) -> Run {
    run_by(|i| ptrs.get(i).copied(), index, max)
}

/// Like [`contiguous_run`] over the little-endian pointers of an indirect
/// block.
pub fn contiguous_run_le(block: &[u8], index: usize, max: u32) -> Run {
    run_by(|i| read_ptr(block, i), index, max)
}

/// Whether a mapped run of `count` blocks from logical block `logical` to
/// physical block `physical` can start a 2 MiB mapping: both aligned to
/// [`PMD_BLOCKS`] and at least that long.
pub fn pmd_mappable(logical: u64, physical: u32, count: u64) -> bool {
    logical % PMD_BLOCKS == 0 && u64::from(physical) % PMD_BLOCKS == 0 && count >= PMD_BLOCKS
}

fn run_around_by(
    get: impl Fn(usize) -> Option<u32>,
    index: usize,
    len: usize,
) -> Option<(usize, u32, u32)> {
    if index >= len {
        return None;
    }
    let p = get(index).filter(|&p| p != 0)?;
    let mut first = index;
    while first > 0 {
        let back = u32::try_from(index - first + 1).ok()?;
        match get(first - 1) {
            Some(q) if q != 0 && q.checked_add(back) == Some(p) => first -= 1,
            _ => break,
        }
    }
    let max = u32::try_from(len - first).unwrap_or(u32::MAX);
    match run_by(&get, first, max) {
        Run::Mapped { start, count } => Some((first, start, count)),
        Run::Hole { .. } => None,
    }
}

/// The whole run of physically contiguous pointers among `ptrs[..len]`
/// that `ptrs[index]` belongs to, looking both ways: its first index, its
/// first block and its length; `None` if that pointer is a hole or outside
/// `ptrs[..len]`. The caller checks the run's blocks, as for
/// [`contiguous_run`].
pub fn run_around(ptrs: &[u32], index: usize, len: usize) -> Option<(usize, u32, u32)> {
    run_around_by(|i| ptrs.get(i).copied(), index, len)
}

/// Like [`run_around`] over the little-endian pointers of an indirect
/// block.
pub fn run_around_le(block: &[u8], index: usize, len: usize) -> Option<(usize, u32, u32)> {
    run_around_by(|i| read_ptr(block, i), index, len)
}
