// SPDX-License-Identifier: GPL-2.0

//! Tests of `fs/rext2/ondisk.rs`: superblock, group descriptors, inodes.

use rext2_host::ondisk::*;
use rext2_host::sample;

fn sb() -> Superblock {
    sample::superblock()
}

fn validate(sb: &Superblock) -> Result<Geometry, Corrupt> {
    sb.validate(sample::DEVICE_BYTES)
}

#[test]
fn sample_geometry() {
    let g = sample::geometry();
    assert_eq!(g.block_size, 4096);
    assert_eq!(g.block_size_bits, 12);
    assert_eq!(g.groups, 3);
    assert_eq!(g.inodes_per_block, 16);
    assert_eq!(g.inode_table_blocks, 512);
    assert_eq!(g.desc_per_block, 128);
    assert_eq!(g.gdt_block, 1);
    assert_eq!(g.gdt_blocks, 1);
    assert_eq!(g.reserved_gdt_blocks, 19);
    assert_eq!(g.addr_per_block, 1024);
    assert_eq!(g.first_ino, 11);
    assert_eq!(g.max_file_size, 2_196_873_666_560);
    assert!(g.sparse_super && g.large_file && g.filetype);
    assert_eq!(g.unknown_ro_compat, 0);
    // Without resize_inode the reserved GDT blocks do not count.
    let mut s = sb();
    s.set_feature_compat(COMPAT_EXT_ATTR);
    assert_eq!(validate(&s).unwrap().reserved_gdt_blocks, 0);
}

#[test]
fn geometry_groups() {
    let g = sample::geometry();
    assert_eq!(g.group_first_block(0), Some(0));
    assert_eq!(g.group_first_block(2), Some(65536));
    assert_eq!(g.group_first_block(3), None);
    assert_eq!(g.group_last_block(0), Some(32767));
    assert_eq!(g.group_last_block(2), Some(79_999));
    assert_eq!(g.group_last_block(3), None);
    assert_eq!(g.group_blocks(1), Some(32768));
    assert_eq!(g.group_blocks(2), Some(80_000 - 65536));
    assert_eq!(g.group_blocks(3), None);
    assert_eq!(g.group_of_block(0), Some(0));
    assert_eq!(g.group_of_block(32768), Some(1));
    assert_eq!(g.group_of_block(79_999), Some(2));
    assert_eq!(g.group_of_block(80_000), None);
    assert_eq!(g.super_and_gdt_blocks(0), 21);
    assert_eq!(g.super_and_gdt_blocks(1), 21);
    assert_eq!(g.super_and_gdt_blocks(2), 0);
    assert!(g.group_has_super(1) && !g.group_has_super(2));
    let mut broken = g;
    broken.blocks_per_group = 0;
    assert_eq!(broken.group_of_block(5), None);
}

/// A superblock field setter.
type Setter<T> = fn(&mut Superblock, T);

#[test]
fn superblock_round_trip_and_offsets() {
    // Arbitrary bytes everywhere, including fields rext2 does not know.
    let mut raw = [0u8; 1024];
    let mut x: u32 = 12345;
    for b in raw.iter_mut() {
        x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
        *b = (x >> 16) as u8;
    }
    raw[56] = 0x53;
    raw[57] = 0xef;
    let s = Superblock::parse(&raw).unwrap();
    let mut out = [0u8; 1024];
    s.write_to(&mut out).unwrap();
    assert_eq!(out, raw);
    assert_eq!(s.as_bytes(), &raw);
    // A longer buffer: only the first 1024 bytes are used and written.
    let mut long = vec![0xaa; 2048];
    long[..1024].copy_from_slice(&raw);
    let s2 = Superblock::parse(&long).unwrap();
    assert_eq!(s, s2);
    let mut out2 = vec![0x55u8; 1100];
    s2.write_to(&mut out2).unwrap();
    assert_eq!(&out2[..1024], &raw[..]);
    assert_eq!(&out2[1024..], &[0x55; 76][..]);
    assert_eq!(
        s.write_to(&mut [0u8; 1023]),
        Err(Corrupt::BufferTooShort { need: 1024 })
    );

    // Field offsets of struct ext2_super_block.
    let mut s = sb();
    let u32s: &[(Setter<u32>, usize)] = &[
        (Superblock::set_inodes_count, 0),
        (Superblock::set_blocks_count, 4),
        (Superblock::set_r_blocks_count, 8),
        (Superblock::set_free_blocks_count, 12),
        (Superblock::set_free_inodes_count, 16),
        (Superblock::set_first_data_block, 20),
        (Superblock::set_log_block_size, 24),
        (Superblock::set_log_frag_size, 28),
        (Superblock::set_blocks_per_group, 32),
        (Superblock::set_frags_per_group, 36),
        (Superblock::set_inodes_per_group, 40),
        (Superblock::set_mtime, 44),
        (Superblock::set_wtime, 48),
        (Superblock::set_lastcheck, 64),
        (Superblock::set_checkinterval, 68),
        (Superblock::set_creator_os, 72),
        (Superblock::set_rev_level, 76),
        (Superblock::set_first_ino, 84),
        (Superblock::set_feature_compat, 92),
        (Superblock::set_feature_incompat, 96),
        (Superblock::set_feature_ro_compat, 100),
        (Superblock::set_algorithm_usage_bitmap, 200),
        (Superblock::set_journal_inum, 224),
        (Superblock::set_journal_dev, 228),
        (Superblock::set_last_orphan, 232),
        (Superblock::set_default_mount_opts, 256),
        (Superblock::set_first_meta_bg, 260),
        (Superblock::set_mkfs_time, 264),
    ];
    for (i, (set, off)) in u32s.iter().enumerate() {
        let v = 0x0102_0304u32.wrapping_mul(i as u32 + 1);
        set(&mut s, v);
        assert_eq!(
            &s.as_bytes()[*off..off + 4],
            &v.to_le_bytes(),
            "offset {off}"
        );
    }
    let u16s: &[(Setter<u16>, usize)] = &[
        (Superblock::set_mnt_count, 52),
        (Superblock::set_max_mnt_count, 54),
        (Superblock::set_magic, 56),
        (Superblock::set_state, 58),
        (Superblock::set_errors, 60),
        (Superblock::set_minor_rev_level, 62),
        (Superblock::set_def_resuid, 80),
        (Superblock::set_def_resgid, 82),
        (Superblock::set_inode_size, 88),
        (Superblock::set_block_group_nr, 90),
        (Superblock::set_reserved_gdt_blocks, 206),
    ];
    for (i, (set, off)) in u16s.iter().enumerate() {
        let v = 0xa1b2u16.wrapping_add(i as u16);
        set(&mut s, v);
        assert_eq!(
            &s.as_bytes()[*off..off + 2],
            &v.to_le_bytes(),
            "offset {off}"
        );
    }
    s.set_prealloc_blocks(7);
    s.set_prealloc_dir_blocks(9);
    s.set_def_hash_version(2);
    assert_eq!(s.as_bytes()[204..206], [7, 9]);
    assert_eq!(s.as_bytes()[252], 2);
    s.set_uuid([1; 16]);
    s.set_volume_name([2; 16]);
    s.set_last_mounted([3; 64]);
    s.set_journal_uuid([4; 16]);
    s.set_hash_seed([0x11, 0x22, 0x33, 0x44]);
    assert_eq!(s.as_bytes()[104..120], [1; 16]);
    assert_eq!(s.as_bytes()[120..136], [2; 16]);
    assert_eq!(s.as_bytes()[136..200], [3; 64]);
    assert_eq!(s.as_bytes()[208..224], [4; 16]);
    assert_eq!(s.as_bytes()[236..240], 0x11u32.to_le_bytes());
    assert_eq!(s.as_bytes()[248..252], 0x44u32.to_le_bytes());
    assert_eq!(s.hash_seed(), [0x11, 0x22, 0x33, 0x44]);
    assert_eq!(
        (
            s.uuid(),
            s.volume_name(),
            s.last_mounted(),
            s.journal_uuid()
        ),
        ([1; 16], [2; 16], [3; 64], [4; 16])
    );
    assert_eq!(
        (
            s.prealloc_blocks(),
            s.prealloc_dir_blocks(),
            s.def_hash_version()
        ),
        (7, 9, 2)
    );
    assert!(format!("{s:?}").contains("Superblock"));
}

#[test]
fn superblock_parse_errors() {
    assert_eq!(
        Superblock::parse(&[0u8; 100]).unwrap_err(),
        Corrupt::BufferTooShort { need: 1024 }
    );
    assert_eq!(
        Superblock::parse(&[0u8; 1024]).unwrap_err(),
        Corrupt::BadMagic { magic: 0 }
    );
    let mut s = sb();
    s.set_magic(0x1234);
    assert_eq!(validate(&s), Err(Corrupt::BadMagic { magic: 0x1234 }));
}

/// Applies `f` to the sample superblock and returns the validation result.
fn with(f: impl FnOnce(&mut Superblock)) -> Result<Geometry, Corrupt> {
    let mut s = sb();
    f(&mut s);
    validate(&s)
}

#[test]
fn superblock_validation_errors() {
    assert_eq!(
        with(|s| s.set_rev_level(0)),
        Err(Corrupt::UnsupportedRevision { rev: 0 })
    );
    assert_eq!(
        with(|s| s.set_rev_level(2)),
        Err(Corrupt::UnsupportedRevision { rev: 2 })
    );
    assert_eq!(
        with(|s| s.set_log_block_size(0)),
        Err(Corrupt::BlockSizeNot4096 { log: 0 })
    );
    assert_eq!(
        with(|s| s.set_log_block_size(0xffff_ffff)),
        Err(Corrupt::BlockSizeNot4096 { log: 0xffff_ffff })
    );
    assert_eq!(
        with(|s| s.set_log_frag_size(0)),
        Err(Corrupt::FragSizeMismatch { log: 0 })
    );
    assert_eq!(
        with(|s| s.set_feature_incompat(INCOMPAT_FILETYPE | INCOMPAT_META_BG)),
        Err(Corrupt::UnknownIncompat(INCOMPAT_META_BG))
    );
    assert_eq!(
        with(|s| s.set_first_data_block(1)),
        Err(Corrupt::BadFirstDataBlock { block: 1 })
    );
    for size in [0u16, 64, 100, 192, 8192, 0xffff] {
        assert_eq!(
            with(|s| s.set_inode_size(size)),
            Err(Corrupt::BadInodeSize { size })
        );
    }
    for size in [128u16, 512, 1024, 4096] {
        let r = with(|s| {
            s.set_inode_size(size);
            s.set_inodes_per_group(4096);
            s.set_inodes_count(3 * 4096);
            s.set_free_inodes_count(0);
        });
        assert_eq!(r.unwrap().inode_size, u32::from(size));
    }
    assert_eq!(
        with(|s| s.set_first_ino(10)),
        Err(Corrupt::BadFirstIno { ino: 10 })
    );
    assert_eq!(
        with(|s| s.set_first_ino(3 * 8192 + 1)),
        Err(Corrupt::BadFirstIno { ino: 3 * 8192 + 1 })
    );
    for count in [0u32, 16384, 32769] {
        assert_eq!(
            with(|s| s.set_blocks_per_group(count)),
            Err(Corrupt::BadBlocksPerGroup { count })
        );
    }
    for count in [0u32, 8191, 32784] {
        assert_eq!(
            with(|s| s.set_inodes_per_group(count)),
            Err(Corrupt::BadInodesPerGroup { count })
        );
    }
    assert_eq!(
        with(|s| {
            s.set_inode_size(4096);
            s.set_inodes_per_group(32768);
        }),
        Err(Corrupt::InodeTableTooBig { blocks: 32768 })
    );
    assert_eq!(
        with(|s| s.set_blocks_count(0)),
        Err(Corrupt::BlocksCountTooSmall { blocks: 0 })
    );
    assert_eq!(
        with(|s| s.set_blocks_count(80_001)),
        Err(Corrupt::BlocksPastDevice {
            blocks: 80_001,
            device_blocks: 80_000
        })
    );
    // Partial trailing block of the device does not count.
    assert_eq!(
        sb().validate(sample::DEVICE_BYTES - 1),
        Err(Corrupt::BlocksPastDevice {
            blocks: 80_000,
            device_blocks: 79_999
        })
    );
    assert!(sb().validate(u64::MAX).is_ok());
    assert_eq!(
        with(|s| s.set_inodes_count(8192)),
        Err(Corrupt::InodesCountMismatch {
            inodes: 8192,
            expected: 3 * 8192
        })
    );
    // One more block past 3 groups makes a fourth (tiny) group: the inode
    // count no longer matches.
    assert_eq!(
        sb_with_blocks(98_305),
        Err(Corrupt::InodesCountMismatch {
            inodes: 3 * 8192,
            expected: 4 * 8192
        })
    );
    assert_eq!(
        with(|s| s.set_free_blocks_count(80_001)),
        Err(Corrupt::FreeBlocksTooBig { free: 80_001 })
    );
    assert_eq!(
        with(|s| s.set_free_inodes_count(3 * 8192 + 1)),
        Err(Corrupt::FreeInodesTooBig { free: 3 * 8192 + 1 })
    );
    assert_eq!(
        with(|s| s.set_r_blocks_count(80_001)),
        Err(Corrupt::ReservedBlocksTooBig { reserved: 80_001 })
    );
    assert_eq!(
        with(|s| s.set_reserved_gdt_blocks(40_000)),
        Err(Corrupt::GdtPastEnd { end: 40_002 })
    );
}

fn sb_with_blocks(blocks: u32) -> Result<Geometry, Corrupt> {
    let mut s = sb();
    s.set_blocks_count(blocks);
    s.set_free_blocks_count(0);
    s.validate(u64::from(blocks) * 4096)
}

#[test]
fn tiny_and_large_file_systems() {
    // The smallest: one group whose blocks hold the metadata.
    let mut s = sb();
    s.set_blocks_count(600);
    s.set_free_blocks_count(0);
    s.set_r_blocks_count(0);
    s.set_inodes_per_group(1024);
    s.set_inodes_count(1024);
    s.set_free_inodes_count(0);
    let g = s.validate(600 * 4096).unwrap();
    assert_eq!((g.groups, g.gdt_blocks), (1, 1));
    assert_eq!(g.group_last_block(0), Some(599));
    // Descriptor table bigger than a block: 2^32 - 1 blocks, 131072 groups.
    let mut s = sb();
    s.set_blocks_count(u32::MAX);
    s.set_free_blocks_count(0);
    s.set_r_blocks_count(0);
    s.set_inodes_per_group(16);
    s.set_inodes_count(131_072 * 16);
    s.set_free_inodes_count(0);
    let g = s.validate(u64::MAX).unwrap();
    assert_eq!(g.groups, 131_072);
    assert_eq!(g.gdt_blocks, 1024);
    assert_eq!(g.group_last_block(131_071), Some(u32::MAX - 1));
    assert_eq!(group_desc_location(&g, 130), Ok((2, 64)));
    assert_eq!(group_desc_location(&g, 131_071), Ok((1024, 127 * 32)));
    // 2^32 inodes cannot be counted: the check must not overflow.
    s.set_inodes_per_group(32768);
    assert!(matches!(
        s.validate(u64::MAX),
        Err(Corrupt::InodesCountMismatch { .. })
    ));
}

#[test]
fn features() {
    let mut s = sb();
    assert_eq!(s.check_features(), FeatureVerdict::Ok);
    // Compat features are ignored, known or not.
    s.set_feature_compat(0xffff_ffff);
    assert_eq!(s.check_features(), FeatureVerdict::Ok);
    s.set_feature_compat(COMPAT_EXT_ATTR | COMPAT_RESIZE_INODE | COMPAT_DIR_INDEX);
    s.set_feature_ro_compat(RO_COMPAT_SPARSE_SUPER | RO_COMPAT_LARGE_FILE | RO_COMPAT_HUGE_FILE);
    assert_eq!(
        s.check_features(),
        FeatureVerdict::ReadOnly {
            unknown_ro_compat: RO_COMPAT_HUGE_FILE
        }
    );
    assert_eq!(validate(&s).unwrap().unknown_ro_compat, RO_COMPAT_HUGE_FILE);
    s.set_feature_incompat(INCOMPAT_FILETYPE | INCOMPAT_EXTENTS | INCOMPAT_FLEX_BG);
    assert_eq!(
        s.check_features(),
        FeatureVerdict::Refuse {
            unknown_incompat: INCOMPAT_EXTENTS | INCOMPAT_FLEX_BG
        }
    );
    for bit in [
        INCOMPAT_COMPRESSION,
        INCOMPAT_RECOVER,
        INCOMPAT_JOURNAL_DEV,
        INCOMPAT_META_BG,
        INCOMPAT_64BIT,
        INCOMPAT_INLINE_DATA,
    ] {
        s.set_feature_incompat(bit);
        assert_eq!(validate(&s), Err(Corrupt::UnknownIncompat(bit)));
    }
    // No filetype: fine, directory entries have 16-bit name lengths.
    s.set_feature_incompat(0);
    s.set_feature_ro_compat(0);
    let g = validate(&s).unwrap();
    assert!(!g.filetype && !g.sparse_super && !g.large_file);
    assert!((0..100).all(|grp| g.group_has_super(grp)));
    for ro in [
        RO_COMPAT_BTREE_DIR,
        RO_COMPAT_GDT_CSUM,
        RO_COMPAT_DIR_NLINK,
        RO_COMPAT_EXTRA_ISIZE,
        RO_COMPAT_METADATA_CSUM,
    ] {
        s.set_feature_ro_compat(ro);
        assert_eq!(
            s.check_features(),
            FeatureVerdict::ReadOnly {
                unknown_ro_compat: ro
            }
        );
    }
    assert_eq!(COMPAT_SPARSE_SUPER2 | COMPAT_HAS_JOURNAL, 0x204);
    assert_eq!(COMPAT_DIR_PREALLOC | COMPAT_IMAGIC_INODES, 3);
}

#[test]
fn sparse_super_groups() {
    let expect = [
        0u32, 1, 3, 5, 7, 9, 25, 27, 49, 81, 125, 243, 343, 625, 729, 2187, 2401,
    ];
    for g in 0..3000 {
        assert_eq!(group_has_super(g, true), expect.contains(&g), "group {g}");
        assert!(group_has_super(g, false));
    }
    assert!(group_has_super(3u32.pow(20), true));
    assert!(group_has_super(7u32.pow(11), true));
    assert!(!group_has_super(u32::MAX, true));
    assert!(!group_has_super(u32::MAX - 1, true));
}

#[test]
fn locations() {
    let g = sample::geometry();
    assert_eq!(group_desc_location(&g, 0), Ok((1, 0)));
    assert_eq!(group_desc_location(&g, 2), Ok((1, 64)));
    assert_eq!(
        group_desc_location(&g, 3),
        Err(Corrupt::GroupOutOfRange { group: 3 })
    );
    let loc = |ino| inode_location(&g, ino);
    let l = loc(1).unwrap();
    assert_eq!((l.group, l.index, l.block_in_table, l.offset), (0, 0, 0, 0));
    let l = loc(ROOT_INO).unwrap();
    assert_eq!(
        (l.group, l.index, l.block_in_table, l.offset),
        (0, 1, 0, 256)
    );
    let l = loc(17).unwrap();
    assert_eq!(
        (l.group, l.index, l.block_in_table, l.offset),
        (0, 16, 1, 0)
    );
    let l = loc(8192).unwrap();
    assert_eq!(
        (l.group, l.index, l.block_in_table, l.offset),
        (0, 8191, 511, 3840)
    );
    let l = loc(8193).unwrap();
    assert_eq!((l.group, l.index, l.block_in_table, l.offset), (1, 0, 0, 0));
    assert_eq!(l.block(1000), Some(1000));
    assert_eq!(loc(24_576).unwrap().group, 2);
    assert_eq!(loc(0), Err(Corrupt::BadInodeNumber { ino: 0 }));
    assert_eq!(loc(24_577), Err(Corrupt::BadInodeNumber { ino: 24_577 }));
    assert_eq!(
        loc(u32::MAX),
        Err(Corrupt::BadInodeNumber { ino: u32::MAX })
    );
    let l = loc(40).unwrap();
    assert_eq!(l.block(u32::MAX), None);

    assert_eq!(check_block_ptr(0, &g), Ok(None));
    assert_eq!(check_block_ptr(1, &g), Ok(Some(1)));
    assert_eq!(check_block_ptr(79_999, &g), Ok(Some(79_999)));
    assert_eq!(
        check_block_ptr(80_000, &g),
        Err(Corrupt::BlockPtrOutOfRange { ptr: 80_000 })
    );
    assert_eq!(
        check_block_ptr(u32::MAX, &g),
        Err(Corrupt::BlockPtrOutOfRange { ptr: u32::MAX })
    );
}

fn good_gd(group: u32) -> GroupDesc {
    let g = sample::geometry();
    let first = g.group_first_block(group).unwrap() + g.super_and_gdt_blocks(group);
    GroupDesc {
        block_bitmap: first,
        inode_bitmap: first + 1,
        inode_table: first + 2,
        free_blocks_count: 1000,
        free_inodes_count: 8000,
        used_dirs_count: 2,
        flags: 0,
        reserved: [0; 12],
    }
}

#[test]
fn group_desc_round_trip_and_validate() {
    let raw: Vec<u8> = (0..32u8).map(|i| i.wrapping_mul(37) ^ 0x5a).collect();
    let gd = GroupDesc::parse(&raw).unwrap();
    assert_eq!(
        gd.block_bitmap,
        u32::from_le_bytes(raw[0..4].try_into().unwrap())
    );
    assert_eq!(
        gd.inode_table,
        u32::from_le_bytes(raw[8..12].try_into().unwrap())
    );
    assert_eq!(gd.used_dirs_count, u16::from_le_bytes([raw[16], raw[17]]));
    assert_eq!(gd.flags, u16::from_le_bytes([raw[18], raw[19]]));
    let mut out = [0u8; 40];
    gd.write_to(&mut out).unwrap();
    assert_eq!(&out[..32], &raw[..]);
    assert_eq!(&out[32..], &[0; 8]);
    assert_eq!(
        GroupDesc::parse(&raw[..31]),
        Err(Corrupt::BufferTooShort { need: 32 })
    );
    assert_eq!(
        gd.write_to(&mut [0u8; 31]),
        Err(Corrupt::BufferTooShort { need: 32 })
    );

    let g = sample::geometry();
    for group in 0..3 {
        assert_eq!(good_gd(group).validate(&g, group), Ok(()));
    }
    let bad = |f: fn(&mut GroupDesc), group: u32| {
        let mut gd = good_gd(group);
        f(&mut gd);
        gd.validate(&g, group)
    };
    assert_eq!(
        bad(|d| d.block_bitmap = 32768, 0),
        Err(Corrupt::BlockBitmapOutsideGroup {
            group: 0,
            block: 32768
        })
    );
    assert_eq!(
        bad(|d| d.block_bitmap = 32767, 1),
        Err(Corrupt::BlockBitmapOutsideGroup {
            group: 1,
            block: 32767
        })
    );
    assert_eq!(
        bad(|d| d.inode_bitmap = 80_000, 2),
        Err(Corrupt::InodeBitmapOutsideGroup {
            group: 2,
            block: 80_000
        })
    );
    // The table (512 blocks) must end inside the group.
    assert_eq!(bad(|d| d.inode_table = 79_999 - 511, 2), Ok(()));
    assert_eq!(
        bad(|d| d.inode_table = 79_999 - 510, 2),
        Err(Corrupt::InodeTableOutsideGroup {
            group: 2,
            block: 79_489
        })
    );
    assert_eq!(
        bad(|d| d.inode_table = u32::MAX, 2),
        Err(Corrupt::InodeTableOutsideGroup {
            group: 2,
            block: u32::MAX
        })
    );
    // None of them on the superblock and descriptor copy or on another
    // (group 0 starts with the superblock, 1 descriptor block and 19
    // reserved ones).
    for f in [
        |d: &mut GroupDesc| d.block_bitmap = 1,
        |d: &mut GroupDesc| d.block_bitmap = 20,
    ] {
        assert!(matches!(
            bad(f, 0),
            Err(Corrupt::BlockBitmapOutsideGroup { group: 0, .. })
        ));
    }
    assert!(matches!(
        bad(|d| d.block_bitmap = d.inode_bitmap, 0),
        Err(Corrupt::InodeBitmapOutsideGroup { group: 0, .. })
    ));
    assert!(matches!(
        bad(|d| d.inode_bitmap = d.inode_table + 3, 0),
        Err(Corrupt::InodeTableOutsideGroup { group: 0, .. })
    ));
    assert!(matches!(
        bad(|d| d.inode_table = d.block_bitmap - 5, 0),
        Err(Corrupt::InodeTableOutsideGroup { group: 0, .. })
    ));
    // Group 2 has no superblock copy: its bitmap may be its first block.
    assert_eq!(bad(|d| d.block_bitmap = 65_536, 2), Ok(()));
    assert_eq!(bad(|d| d.free_blocks_count = 14_464, 2), Ok(()));
    assert_eq!(
        bad(|d| d.free_blocks_count = 14_465, 2),
        Err(Corrupt::GroupFreeBlocksTooBig {
            group: 2,
            free: 14_465
        })
    );
    assert_eq!(
        bad(|d| d.free_inodes_count = 8193, 0),
        Err(Corrupt::GroupFreeInodesTooBig {
            group: 0,
            free: 8193
        })
    );
    assert_eq!(
        bad(|d| d.used_dirs_count = 8193, 0),
        Err(Corrupt::GroupUsedDirsTooBig {
            group: 0,
            dirs: 8193
        })
    );
    assert_eq!(
        good_gd(0).validate(&g, 3),
        Err(Corrupt::GroupOutOfRange { group: 3 })
    );
}

fn raw_inode(len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(7))
        .collect()
}

#[test]
fn inode_round_trip_and_offsets() {
    for len in [128usize, 256] {
        let raw = raw_inode(len);
        let ino = Inode::parse(&raw).unwrap();
        assert_eq!(ino.extra_len, len - 128);
        let mut out = vec![0u8; len];
        ino.write_to(&mut out).unwrap();
        assert_eq!(out, raw);
    }
    // 512-byte inodes: bytes past 256 are not kept and not overwritten.
    let raw = raw_inode(512);
    let ino = Inode::parse(&raw).unwrap();
    assert_eq!(ino.extra_len, 128);
    let mut out = vec![0xeeu8; 512];
    ino.write_to(&mut out).unwrap();
    assert_eq!(out[..256], raw[..256]);
    assert!(out[256..].iter().all(|b| *b == 0xee));
    // A 256-byte read written into a 128-byte slot writes 128 bytes.
    let mut small = [0u8; 128];
    ino.write_to(&mut small).unwrap();
    assert_eq!(small[..], raw[..128]);
    assert_eq!(
        Inode::parse(&raw[..127]),
        Err(Corrupt::BufferTooShort { need: 128 })
    );
    assert_eq!(
        ino.write_to(&mut [0u8; 100]),
        Err(Corrupt::BufferTooShort { need: 128 })
    );

    // Field offsets of struct ext2_inode.
    let mut ino = Inode::zeroed();
    ino.mode = 0x0102;
    ino.uid_low = 0x0304;
    ino.size_low = 0x0506_0708;
    ino.atime = 0x1111_1111;
    ino.ctime = 0x2222_2222;
    ino.mtime = 0x3333_3333;
    ino.dtime = 0x4444_4444;
    ino.gid_low = 0x0910;
    ino.links_count = 0x1112;
    ino.blocks = 0x5555_5555;
    ino.flags = 0x6666_6666;
    ino.osd1 = 0x7777_7777;
    for (i, b) in ino.block.iter_mut().enumerate() {
        *b = 0x8000_0000 + i as u32;
    }
    ino.generation = 0x9999_9999;
    ino.file_acl = 0xaaaa_aaaa;
    ino.size_high = 0xbbbb_bbbb;
    ino.faddr = 0xcccc_cccc;
    ino.frag = 0xd1;
    ino.fsize = 0xd2;
    ino.pad1 = 0xd3d4;
    ino.uid_high = 0xe1e2;
    ino.gid_high = 0xe3e4;
    ino.reserved2 = 0xf0f1_f2f3;
    let mut b = [0u8; 128];
    ino.write_to(&mut b).unwrap();
    let le32 = |o: usize| u32::from_le_bytes(b[o..o + 4].try_into().unwrap());
    let le16 = |o: usize| u16::from_le_bytes(b[o..o + 2].try_into().unwrap());
    assert_eq!((le16(0), le16(2), le32(4)), (0x0102, 0x0304, 0x0506_0708));
    assert_eq!(
        (le32(8), le32(12), le32(16), le32(20)),
        (0x1111_1111, 0x2222_2222, 0x3333_3333, 0x4444_4444)
    );
    assert_eq!(
        (le16(24), le16(26), le32(28), le32(32), le32(36)),
        (0x0910, 0x1112, 0x5555_5555, 0x6666_6666, 0x7777_7777)
    );
    assert_eq!((le32(40), le32(96)), (0x8000_0000, 0x8000_000e));
    assert_eq!(
        (le32(100), le32(104), le32(108), le32(112)),
        (0x9999_9999, 0xaaaa_aaaa, 0xbbbb_bbbb, 0xcccc_cccc)
    );
    assert_eq!(
        (b[116], b[117], le16(118), le16(120), le16(122), le32(124)),
        (0xd1, 0xd2, 0xd3d4, 0xe1e2, 0xe3e4, 0xf0f1_f2f3)
    );
    assert_eq!(Inode::parse(&b).unwrap(), ino);
}

#[test]
fn inode_write_changes() {
    for len in [128usize, 256, 512] {
        let raw = raw_inode(len);
        let mut ino = Inode::parse(&raw).unwrap();
        // Written over itself: nothing changes.
        let mut out = raw.clone();
        assert_eq!(ino.write_changes(&mut out), Ok(false));
        assert_eq!(out, raw);
        // A change in the classic bytes, and one in the extra bytes.
        ino.mtime ^= 1;
        assert_eq!(ino.write_changes(&mut out), Ok(true));
        assert_eq!(ino.write_changes(&mut out), Ok(false));
        assert_eq!(Inode::parse(&out).unwrap().mtime, ino.mtime);
        if len > 128 {
            ino.extra[0] ^= 0xff;
            assert_eq!(ino.write_changes(&mut out), Ok(true));
            assert_eq!(out[128], ino.extra[0]);
        }
        // Bytes past those kept are not looked at, and stay.
        if len == 512 {
            out[300] ^= 1;
            assert_eq!(ino.write_changes(&mut out), Ok(false));
        }
    }
    assert_eq!(
        Inode::zeroed().write_changes(&mut [0u8; 100]),
        Err(Corrupt::BufferTooShort { need: 128 })
    );
}

#[test]
fn inode_fields() {
    let mut ino = sample::file_inode(0x1_2345_6789, &[]);
    assert_eq!(ino.size(), 0x1_2345_6789);
    assert_eq!((ino.size_low, ino.size_high), (0x2345_6789, 1));
    assert_eq!(ino.uid(), 100_000);
    assert_eq!(ino.gid(), 70_000);
    assert_eq!((ino.uid_low, ino.uid_high), (100_000u32 as u16, 1));
    assert_eq!(ino.extra_isize(), Some(32));
    assert_eq!(Inode::zeroed().extra_isize(), None);
    // For directories i_size_high is i_dir_acl: ignored and kept.
    ino.mode = S_IFDIR | 0o755;
    assert_eq!(ino.size(), 0x2345_6789);
    assert_eq!(
        ino.set_size(1 << 32),
        Err(Corrupt::SizeTooBig { size: 1 << 32 })
    );
    ino.set_size(8192).unwrap();
    assert_eq!((ino.size(), ino.size_high), (8192, 1));

    let types = [
        (S_IFREG, FileType::Regular, 1),
        (S_IFDIR, FileType::Directory, 2),
        (S_IFCHR, FileType::CharDevice, 3),
        (S_IFBLK, FileType::BlockDevice, 4),
        (S_IFIFO, FileType::Fifo, 5),
        (S_IFSOCK, FileType::Socket, 6),
        (S_IFLNK, FileType::Symlink, 7),
    ];
    for (bits, ft, code) in types {
        ino.mode = bits | 0o644;
        assert_eq!(ino.file_type(), Ok(ft));
        assert_eq!(ft.mode_bits(), bits);
        assert_eq!(ft.dirent_code(), code);
    }
    for bad in [0u16, 0o030000, 0o050000, 0o070000, 0o110000, 0o170000] {
        ino.mode = bad | 0o644;
        assert_eq!(
            ino.file_type(),
            Err(Corrupt::BadFileType { mode: bad | 0o644 })
        );
    }
}

#[test]
fn symlinks() {
    let mut ino = Inode::zeroed();
    ino.mode = S_IFLNK | 0o777;
    ino.links_count = 1;
    ino.set_fast_symlink_target(b"a/b/c/target").unwrap();
    assert_eq!(ino.size(), 12);
    assert!(ino.is_fast_symlink(4096));
    assert_eq!(
        ino.fast_symlink_target().unwrap().as_bytes(),
        b"a/b/c/target"
    );
    assert_eq!(&ino.block_bytes()[..12], b"a/b/c/target");
    assert_eq!(ino.block[0], u32::from_le_bytes(*b"a/b/"));
    // An EA block does not make it slow.
    ino.file_acl = 500;
    ino.blocks = 8;
    assert!(ino.is_fast_symlink(4096));
    ino.file_acl = 0;
    assert!(!ino.is_fast_symlink(4096));
    ino.blocks = 0;
    let t59 = [b'x'; 59];
    ino.set_fast_symlink_target(&t59).unwrap();
    assert_eq!(ino.fast_symlink_target().unwrap().as_bytes(), &t59[..]);
    assert_eq!(
        ino.set_fast_symlink_target(&[b'y'; 60]),
        Err(Corrupt::BadSymlinkSize { size: 60 })
    );
    assert_eq!(
        ino.set_fast_symlink_target(b""),
        Err(Corrupt::BadSymlinkSize { size: 0 })
    );
    ino.size_low = 60;
    assert_eq!(
        ino.fast_symlink_target(),
        Err(Corrupt::BadSymlinkSize { size: 60 })
    );
    ino.mode = S_IFREG;
    assert!(!ino.is_fast_symlink(4096));
}

#[test]
fn device_numbers() {
    let mut ino = Inode::zeroed();
    ino.mode = S_IFCHR | 0o600;
    for (major, minor) in [(1, 3), (8, 1), (255, 255), (0, 5)] {
        ino.set_device_numbers(major, minor);
        if major != 0 || minor != 0 {
            assert_eq!(ino.block[0], (major << 8) | minor);
        }
        assert_eq!(ino.device_numbers(), Some((major, minor)));
    }
    ino.mode = S_IFBLK | 0o600;
    for (major, minor) in [(259, 0), (259, 300_000), (4095, 0xfffff), (1, 256)] {
        ino.set_device_numbers(major, minor);
        assert_eq!(ino.block[0], 0);
        assert_eq!(ino.device_numbers(), Some((major, minor)));
    }
    // Linux new_encode_dev(MKDEV(259, 300000)).
    ino.set_device_numbers(259, 300_000);
    assert_eq!(
        ino.block[1],
        (300_000 & 0xff) | (259 << 8) | ((300_000 & !0xff) << 12)
    );
    // Old encoding takes precedence; only its low 16 bits count.
    ino.block = [0; 15];
    ino.block[0] = 0xdead_0801;
    ino.block[1] = 0x1234;
    assert_eq!(ino.device_numbers(), Some((8, 1)));
    ino.mode = S_IFREG;
    assert_eq!(ino.device_numbers(), None);
}

#[test]
fn inode_validation() {
    let g = sample::geometry();
    let ok = sample::file_inode(3 * 4096, &[100, 0, 102]);
    assert_eq!(ok.validate(&g), Ok(FileType::Regular));
    let check = |f: fn(&mut Inode)| {
        let mut i = ok;
        f(&mut i);
        i.validate(&g)
    };
    assert_eq!(
        check(|i| {
            i.links_count = 0;
            i.dtime = 5;
        }),
        Err(Corrupt::InodeDeleted)
    );
    assert_eq!(check(|i| *i = Inode::zeroed()), Err(Corrupt::InodeDeleted));
    assert_eq!(check(|i| i.links_count = 0), Err(Corrupt::ZeroLinksNoDtime));
    assert_eq!(
        check(|i| i.mode = 0o644),
        Err(Corrupt::BadFileType { mode: 0o644 })
    );
    assert_eq!(
        check(|i| i.set_size(2_196_873_666_560).unwrap()),
        Ok(FileType::Regular)
    );
    assert_eq!(
        check(|i| i.set_size(2_196_873_666_561).unwrap()),
        Err(Corrupt::SizeTooBig {
            size: 2_196_873_666_561
        })
    );
    assert_eq!(
        check(|i| i.size_high = 0x8000_0000),
        Err(Corrupt::SizeTooBig {
            size: (0x8000_0000u64 << 32) | (3 * 4096)
        })
    );
    assert_eq!(
        check(|i| i.block[14] = 80_000),
        Err(Corrupt::BlockPtrOutOfRange { ptr: 80_000 })
    );
    assert_eq!(
        check(|i| i.block[12] = 0xffff_ffff),
        Err(Corrupt::BlockPtrOutOfRange { ptr: 0xffff_ffff })
    );
    assert_eq!(
        check(|i| i.file_acl = 80_000),
        Err(Corrupt::BadFileAcl { block: 80_000 })
    );
    assert_eq!(check(|i| i.file_acl = 79_000), Ok(FileType::Regular));

    let dir = sample::dir_inode(300);
    assert_eq!(dir.validate(&g), Ok(FileType::Directory));
    assert_eq!(dir.check_root(), Ok(()));
    let mut d = dir;
    d.size_high = 77; // i_dir_acl: ignored
    assert_eq!(d.validate(&g), Ok(FileType::Directory));
    d.size_low = 4097;
    assert_eq!(
        d.validate(&g),
        Err(Corrupt::DirSizeNotBlockMultiple { size: 4097 })
    );
    d.size_low = 0;
    assert_eq!(d.check_root(), Err(Corrupt::BadRootInode));
    let mut d = dir;
    d.blocks = 0;
    assert_eq!(d.check_root(), Err(Corrupt::BadRootInode));
    assert_eq!(ok.check_root(), Err(Corrupt::BadRootInode));

    // Symlinks: the i_block area of a fast one is text, not pointers.
    let mut l = Inode::zeroed();
    l.mode = S_IFLNK | 0o777;
    l.links_count = 1;
    l.set_fast_symlink_target(&[0xff; 40]).unwrap();
    assert_eq!(l.validate(&g), Ok(FileType::Symlink));
    l.size_low = 0;
    assert_eq!(l.validate(&g), Err(Corrupt::BadSymlinkSize { size: 0 }));
    let mut slow = Inode::zeroed();
    slow.mode = S_IFLNK | 0o777;
    slow.links_count = 1;
    slow.size_low = 100;
    slow.blocks = 8;
    slow.block[0] = 400;
    assert_eq!(slow.validate(&g), Ok(FileType::Symlink));
    slow.size_low = 4096;
    assert_eq!(
        slow.validate(&g),
        Err(Corrupt::BadSymlinkSize { size: 4096 })
    );
    slow.size_low = 100;
    slow.block[0] = 90_000;
    assert_eq!(
        slow.validate(&g),
        Err(Corrupt::BlockPtrOutOfRange { ptr: 90_000 })
    );

    // Devices, FIFOs and sockets keep anything in i_block.
    for t in [S_IFCHR, S_IFBLK, S_IFIFO, S_IFSOCK] {
        let mut dev = Inode::zeroed();
        dev.mode = t | 0o600;
        dev.links_count = 1;
        dev.block = [u32::MAX; 15];
        assert!(dev.validate(&g).is_ok());
    }
}

#[test]
fn describe_names_every_problem() {
    let all = [
        Corrupt::BufferTooShort { need: 1 },
        Corrupt::BadMagic { magic: 0 },
        Corrupt::UnsupportedRevision { rev: 0 },
        Corrupt::BlockSizeNot4096 { log: 0 },
        Corrupt::FragSizeMismatch { log: 0 },
        Corrupt::UnknownIncompat(1),
        Corrupt::BadFirstDataBlock { block: 1 },
        Corrupt::BadInodeSize { size: 1 },
        Corrupt::BadFirstIno { ino: 1 },
        Corrupt::BadBlocksPerGroup { count: 1 },
        Corrupt::BadInodesPerGroup { count: 1 },
        Corrupt::InodeTableTooBig { blocks: 1 },
        Corrupt::BlocksCountTooSmall { blocks: 0 },
        Corrupt::BlocksPastDevice {
            blocks: 1,
            device_blocks: 0,
        },
        Corrupt::InodesCountMismatch {
            inodes: 1,
            expected: 2,
        },
        Corrupt::FreeBlocksTooBig { free: 1 },
        Corrupt::FreeInodesTooBig { free: 1 },
        Corrupt::ReservedBlocksTooBig { reserved: 1 },
        Corrupt::GdtPastEnd { end: 1 },
        Corrupt::GroupOutOfRange { group: 1 },
        Corrupt::BlockBitmapOutsideGroup { group: 1, block: 1 },
        Corrupt::InodeBitmapOutsideGroup { group: 1, block: 1 },
        Corrupt::InodeTableOutsideGroup { group: 1, block: 1 },
        Corrupt::GroupFreeBlocksTooBig { group: 1, free: 1 },
        Corrupt::GroupFreeInodesTooBig { group: 1, free: 1 },
        Corrupt::GroupUsedDirsTooBig { group: 1, dirs: 1 },
        Corrupt::BadInodeNumber { ino: 0 },
        Corrupt::InodeDeleted,
        Corrupt::ZeroLinksNoDtime,
        Corrupt::BadFileType { mode: 0 },
        Corrupt::SizeTooBig { size: 0 },
        Corrupt::DirSizeNotBlockMultiple { size: 0 },
        Corrupt::BadSymlinkSize { size: 0 },
        Corrupt::BlockPtrOutOfRange { ptr: 0 },
        Corrupt::BadFileAcl { block: 0 },
        Corrupt::BadRootInode,
        Corrupt::FileBlockTooBig { block: 0 },
        Corrupt::DirRecLenTooSmall {
            offset: 0,
            rec_len: 0,
        },
        Corrupt::DirRecLenUnaligned {
            offset: 0,
            rec_len: 0,
        },
        Corrupt::DirNameLenTooBig {
            offset: 0,
            name_len: 0,
        },
        Corrupt::DirEntrySpansBlock {
            offset: 0,
            rec_len: 0,
        },
        Corrupt::DirInodeOutOfRange {
            offset: 0,
            inode: 0,
        },
        Corrupt::DirBadTail { offset: 0 },
    ];
    let mut seen = std::collections::HashSet::new();
    for c in all {
        let d = c.describe();
        assert!(d.len() > 8, "{c:?}");
        assert!(seen.insert(d), "duplicate message {d}");
    }
}

/// `chattr` flags as C ext2 keeps them: the modifiable ones change, the
/// others stay; the DAX flag as ext4 keeps it; new inodes inherit as
/// `ext2_mask_flags()` and `ext4_mask_flags()` do.
#[test]
fn attribute_flags() {
    use rext2_host::ondisk::*;
    // ext2's FS_FL_USER_VISIBLE and what it may change.
    assert_eq!(FL_USER_VISIBLE, 0x0003_DFFF | 0x0200_0000);
    assert_eq!(FL_USER_MODIFIABLE, 0x0003_80FF | 0x0200_0000);
    assert_eq!(DAX_FL, 0x0200_0000);
    for f in [
        SYNC_FL,
        IMMUTABLE_FL,
        APPEND_FL,
        NODUMP_FL,
        NOATIME_FL,
        DIRSYNC_FL,
        DAX_FL,
    ] {
        assert_eq!(FL_USER_VISIBLE & f, f);
        assert_eq!(chattr_flags(0, f), f);
        assert_eq!(chattr_flags(f, 0), 0);
    }
    // Secure deletion, undeletion and compression are kept, as in C ext2
    // (and reported by statx: generic/424).
    for f in [0x1, 0x2, 0x4] {
        assert_eq!(chattr_flags(0, f), f);
    }
    // An htree flag stays whatever chattr asks; unknown bits are ignored.
    assert_eq!(chattr_flags(INDEX_FL, 0), INDEX_FL);
    assert_eq!(chattr_flags(0, INDEX_FL | 0x0100_0000), 0);
    // Compression is inherited by files and directories, as ext2 does.
    assert_eq!(inherited_flags(0x4, FileType::Regular), 0x4);
    assert_eq!(
        inherited_flags(0x4 | IMMUTABLE_FL, FileType::Directory),
        0x4
    );
    assert_eq!(inherited_flags(0x4, FileType::Symlink), 0);
    let dir = SYNC_FL | NODUMP_FL | NOATIME_FL | DIRSYNC_FL | IMMUTABLE_FL | APPEND_FL | DAX_FL;
    assert_eq!(
        inherited_flags(dir, FileType::Directory),
        SYNC_FL | NODUMP_FL | NOATIME_FL | DIRSYNC_FL | DAX_FL
    );
    assert_eq!(
        inherited_flags(dir, FileType::Regular),
        SYNC_FL | NODUMP_FL | NOATIME_FL | DAX_FL
    );
    assert_eq!(
        inherited_flags(dir, FileType::Symlink),
        NODUMP_FL | NOATIME_FL
    );
}
