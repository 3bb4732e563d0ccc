// SPDX-License-Identifier: GPL-2.0

//! Tests of `fs/rext2/bmap.rs`.

use rext2_host::bmap::*;
use rext2_host::ondisk::Corrupt;

fn p(b: u64) -> (usize, Vec<u32>, u32) {
    let p = path(b).unwrap();
    (p.depth(), p.offsets().to_vec(), p.remaining_in_block())
}

#[test]
fn paths() {
    assert_eq!(p(0), (0, vec![0], 11));
    assert_eq!(p(11), (0, vec![11], 0));
    assert_eq!(p(12), (1, vec![12, 0], 1023));
    assert_eq!(p(12 + 1023), (1, vec![12, 1023], 0));
    assert_eq!(p(1036), (2, vec![13, 0, 0], 1023));
    assert_eq!(p(1036 + 1024 + 5), (2, vec![13, 1, 5], 1018));
    assert_eq!(p(1036 + (1 << 20) - 1), (2, vec![13, 1023, 1023], 0));
    let t = 1036 + (1 << 20);
    assert_eq!(p(t), (3, vec![14, 0, 0, 0], 1023));
    assert_eq!(
        p(t + (3 << 20) + (4 << 10) + 5),
        (3, vec![14, 3, 4, 5], 1018)
    );
    assert_eq!(p(MAX_FILE_BLOCKS - 1), (3, vec![14, 1023, 1023, 1023], 0));
    assert_eq!(
        path(MAX_FILE_BLOCKS),
        Err(Corrupt::FileBlockTooBig {
            block: MAX_FILE_BLOCKS
        })
    );
    assert_eq!(
        path(u64::MAX),
        Err(Corrupt::FileBlockTooBig { block: u64::MAX })
    );
    assert_eq!(
        MAX_FILE_BLOCKS,
        12 + 1024 + 1024 * 1024 + 1024 * 1024 * 1024
    );
    assert_eq!((IND_BLOCK, DIND_BLOCK, TIND_BLOCK), (12, 13, 14));
}

#[test]
fn max_sizes() {
    // ext2_max_size(12): limited by i_blocks, about 2 TiB.
    assert_eq!(max_file_size(4096), Some(2_196_873_666_560));
    assert_eq!(max_file_size(4096), Some(0x1ff_7fdf_e000));
    // ext2_max_size(10): limited by the tree.
    assert_eq!(max_file_size(1024), Some(17_247_252_480));
    assert_eq!(max_file_size(2048), Some(275_415_851_008));
    assert_eq!(max_file_size(65536), Some(2_198_888_906_752));
    for bad in [0, 512, 4095, 131_072, u32::MAX] {
        assert_eq!(max_file_size(bad), None);
    }
    // The limit is what keeps a dense file's i_blocks within 32 bits.
    let max = max_file_size(4096).unwrap();
    let sectors = blocks_for_size(max).unwrap() * SECTORS_PER_BLOCK;
    assert!(sectors <= u64::from(u32::MAX), "{sectors}");
}

#[test]
fn block_counts() {
    assert_eq!(indirect_blocks_for(0), Some(0));
    assert_eq!(indirect_blocks_for(12), Some(0));
    assert_eq!(indirect_blocks_for(13), Some(1));
    assert_eq!(indirect_blocks_for(1036), Some(1));
    assert_eq!(indirect_blocks_for(1037), Some(3));
    assert_eq!(indirect_blocks_for(1036 + 1024), Some(3));
    assert_eq!(indirect_blocks_for(1036 + 1025), Some(4));
    assert_eq!(indirect_blocks_for(1036 + (1 << 20)), Some(1 + 1 + 1024));
    assert_eq!(indirect_blocks_for(1036 + (1 << 20) + 1), Some(1026 + 3));
    assert_eq!(
        indirect_blocks_for(MAX_FILE_BLOCKS),
        Some(1 + (1 + 1024) + (1 + 1024 + (1 << 20)))
    );
    assert_eq!(indirect_blocks_for(MAX_FILE_BLOCKS + 1), None);

    assert_eq!(blocks_for_size(0), Some(0));
    assert_eq!(blocks_for_size(1), Some(1));
    assert_eq!(blocks_for_size(4096), Some(1));
    assert_eq!(blocks_for_size(12 * 4096), Some(12));
    assert_eq!(blocks_for_size(12 * 4096 + 1), Some(14));
    assert_eq!(blocks_for_size(100 * 1024), Some(26));
    assert_eq!(blocks_for_size(u64::MAX), None);
    assert_eq!(blocks_for_size(MAX_FILE_BLOCKS * 4096 + 1), None);
}

#[test]
fn runs() {
    let ptrs = [100, 101, 102, 0, 0, 7, 8, 10, u32::MAX - 1, u32::MAX, 0];
    assert_eq!(
        contiguous_run(&ptrs, 0, 100),
        Run::Mapped {
            start: 100,
            count: 3
        }
    );
    assert_eq!(
        contiguous_run(&ptrs, 1, 100),
        Run::Mapped {
            start: 101,
            count: 2
        }
    );
    assert_eq!(
        contiguous_run(&ptrs, 0, 2),
        Run::Mapped {
            start: 100,
            count: 2
        }
    );
    assert_eq!(contiguous_run(&ptrs, 3, 100), Run::Hole { count: 2 });
    assert_eq!(
        contiguous_run(&ptrs, 5, 100),
        Run::Mapped { start: 7, count: 2 }
    );
    assert_eq!(
        contiguous_run(&ptrs, 7, 100),
        Run::Mapped {
            start: 10,
            count: 1
        }
    );
    // No wrap past u32::MAX.
    assert_eq!(
        contiguous_run(&ptrs, 8, 100),
        Run::Mapped {
            start: u32::MAX - 1,
            count: 2
        }
    );
    assert_eq!(contiguous_run(&ptrs, 10, 100), Run::Hole { count: 1 });
    assert_eq!(contiguous_run(&ptrs, 11, 100), Run::Hole { count: 0 });
    assert_eq!(contiguous_run(&ptrs, 0, 0), Run::Hole { count: 0 });
    assert_eq!(contiguous_run(&[], usize::MAX, 5), Run::Hole { count: 0 });

    let mut block = vec![0u8; 4096];
    for i in 0..1024 {
        assert!(write_ptr(
            &mut block,
            i,
            if i < 600 { 5000 + i as u32 } else { 0 }
        ));
    }
    assert!(!write_ptr(&mut block, 1024, 1));
    assert!(!write_ptr(&mut block, usize::MAX, 1));
    assert_eq!(read_ptr(&block, 599), Some(5599));
    assert_eq!(read_ptr(&block, 1024), None);
    assert_eq!(read_ptr(&block, usize::MAX), None);
    assert_eq!(
        contiguous_run_le(&block, 0, 1024),
        Run::Mapped {
            start: 5000,
            count: 600
        }
    );
    assert_eq!(
        contiguous_run_le(&block, 600, 1024),
        Run::Hole { count: 424 }
    );
    assert_eq!(
        contiguous_run_le(&block, 1023, 1024),
        Run::Hole { count: 1 }
    );
    assert_eq!(
        contiguous_run_le(&block[..7], 0, 10),
        Run::Mapped {
            start: 5000,
            count: 1
        }
    );
}

#[test]
fn pmd() {
    assert!(pmd_mappable(0, 512, 512));
    assert!(pmd_mappable(1024, 4096, 600));
    assert!(!pmd_mappable(1, 512, 512));
    assert!(!pmd_mappable(0, 513, 512));
    assert!(!pmd_mappable(0, 512, 511));
    assert_eq!(PMD_BLOCKS * 4096, 2 << 20);
}

#[test]
fn runs_around() {
    let ptrs = [100, 101, 102, 0, 0, 7, 8, 10, u32::MAX - 1, u32::MAX, 0];
    let n = ptrs.len();
    // From any pointer of a run, the whole run, both ways.
    for i in 0..3 {
        assert_eq!(run_around(&ptrs, i, n), Some((0, 100, 3)), "index {i}");
    }
    assert_eq!(run_around(&ptrs, 3, n), None);
    assert_eq!(run_around(&ptrs, 4, n), None);
    assert_eq!(run_around(&ptrs, 6, n), Some((5, 7, 2)));
    assert_eq!(run_around(&ptrs, 7, n), Some((7, 10, 1)));
    // No wrap past u32::MAX either way.
    assert_eq!(run_around(&ptrs, 9, n), Some((8, u32::MAX - 1, 2)));
    assert_eq!(run_around(&ptrs, 10, n), None);
    // Only within `len`.
    assert_eq!(run_around(&ptrs, 1, 2), Some((0, 100, 2)));
    assert_eq!(run_around(&ptrs, 2, 2), None);
    assert_eq!(run_around(&ptrs, 11, 100), None);
    assert_eq!(run_around(&[], 0, 5), None);
    // A run that would continue back past block 0 does not.
    assert_eq!(run_around(&[0, 1, 2], 2, 3), Some((1, 1, 2)));

    let mut block = vec![0u8; 4096];
    for (i, v) in [(1020usize, 50u32), (1021, 51), (1022, 52), (1023, 53)] {
        assert!(write_ptr(&mut block, i, v));
    }
    assert_eq!(run_around_le(&block, 1021, 1024), Some((1020, 50, 4)));
    assert_eq!(run_around_le(&block, 1019, 1024), None);
    // `len` past the block: the block's end bounds the run.
    assert_eq!(run_around_le(&block, 1023, 5000), Some((1020, 50, 4)));
    assert_eq!(run_around_le(&block, 1024, 5000), None);
}
