// SPDX-License-Identifier: GPL-2.0

//! Tests of `drivers/nvdimm/pfn_info.rs`: rpmem's checks of fsdax info
//! blocks, each field refused with its own reason.

use rext2_host::pfn_info::*;

const GIB: u64 = 1 << 30;
const MIB: u64 = 1 << 20;

fn geometry() -> Geometry {
    Geometry {
        start: 4 * GIB,
        size: GIB,
        uuid: [0; 16],
        page_size: 4096,
        reserve: 8192,
        struct_page_size: 64,
        compat_align: 2 * MIB,
    }
}

fn put(b: &mut [u8; SIZE], off: usize, v: &[u8]) {
    b[off..off + v.len()].copy_from_slice(v);
}

/// The block `ndctl create-namespace -m fsdax --map=dev` made on a 1 GiB
/// label-less namespace in the rpmem suite: data at 18 MiB, aligned to
/// 2 MiB, minor version 4.
fn block_dev() -> [u8; SIZE] {
    let mut b = [0u8; SIZE];
    put(&mut b, 0, SIGNATURE);
    put(&mut b, 16, &[0x26; 16]);
    put(&mut b, 52, &1u16.to_le_bytes());
    put(&mut b, 54, &4u16.to_le_bytes());
    put(&mut b, 56, &(18 * MIB).to_le_bytes());
    put(&mut b, 64, &((GIB - 18 * MIB) / 4096).to_le_bytes());
    put(&mut b, 72, &2u32.to_le_bytes());
    put(&mut b, 84, &(2 * MIB as u32).to_le_bytes());
    put(&mut b, 88, &4096u32.to_le_bytes());
    put(&mut b, 92, &64u16.to_le_bytes());
    seal(&mut b);
    b
}

/// `block_dev` with a field changed and the checksum made good again.
fn with(off: usize, v: &[u8]) -> [u8; SIZE] {
    let mut b = block_dev();
    put(&mut b, off, v);
    seal(&mut b);
    b
}

#[test]
fn valid_blocks() {
    let g = geometry();
    let info = parse(&block_dev(), &g).unwrap();
    assert_eq!(info.mode, Mode::Pmem);
    assert_eq!(info.dataoff, 18 * MIB);
    assert_eq!(info.data_len, GIB - 18 * MIB);
    assert_eq!(info.align, 2 * MIB);
    // --map=mem: the data right after the reserve, aligned.
    let mut b = with(72, &1u32.to_le_bytes());
    put(&mut b, 56, &(2 * MIB).to_le_bytes());
    seal(&mut b);
    let info = parse(&b, &g).unwrap();
    assert_eq!((info.mode, info.dataoff), (Mode::Ram, 2 * MIB));
}

#[test]
fn checksum_is_fletcher64_of_le_words() {
    // Words 1 and 2, then 1,022 zero words: lo = 3; hi sums lo after
    // each word, 1 + 3 + 1,022 * 3.
    let mut b = [0u8; SIZE];
    b[0] = 1;
    b[4] = 2;
    assert_eq!(checksum(&b), (3070 << 32) | 3);
    // The stored checksum counts as zero.
    b[SIZE - 8..].copy_from_slice(&[0xff; 8]);
    assert_eq!(checksum(&b), (3070 << 32) | 3);
}

/// A block and whether an error is the one it must get.
type Case = ([u8; SIZE], fn(&Invalid) -> bool);

#[test]
fn each_field_refused() {
    let g = geometry();
    let mut bad_sum = block_dev();
    bad_sum[100] ^= 1;
    let cases: [Case; 16] = [
        (with(0, b"NVDIMM_DAX_INFO\0"), |e| *e == Invalid::Signature),
        (bad_sum, |e| matches!(e, Invalid::Checksum { .. })),
        (with(52, &2u16.to_le_bytes()), |e| *e == Invalid::Version(2)),
        (with(32, &[1]), |e| *e == Invalid::ParentUuid),
        (with(72, &7u32.to_le_bytes()), |e| *e == Invalid::Mode(7)),
        (with(88, &65536u32.to_le_bytes()), |e| {
            *e == Invalid::PageSize(65536)
        }),
        (with(92, &32u16.to_le_bytes()), |e| {
            *e == Invalid::PageStructSize(32)
        }),
        (with(76, &0x20_0000u32.to_le_bytes()), |e| {
            *e == Invalid::StartPad(0x20_0000)
        }),
        (with(80, &0x1000u32.to_le_bytes()), |e| {
            *e == Invalid::EndTrunc(0x1000)
        }),
        (with(80, &u32::MAX.to_le_bytes()), |e| {
            matches!(e, Invalid::EndTrunc(_))
        }),
        (with(84, &0x8000_0000u32.to_le_bytes()), |e| {
            *e == Invalid::Align(0x8000_0000)
        }),
        (with(84, &0x30_0000u32.to_le_bytes()), |e| {
            *e == Invalid::Align(0x30_0000)
        }),
        (with(56, &(18 * MIB + 4096).to_le_bytes()), |e| {
            matches!(e, Invalid::DataOffsetAlign(_))
        }),
        (with(56, &(2 * GIB).to_le_bytes()), |e| {
            *e == Invalid::DataOffsetSize(2 * GIB)
        }),
        (with(56, &(2 * MIB).to_le_bytes()), |e| {
            matches!(e, Invalid::DataOffsetPageMap { .. })
        }),
        (with(56, &0u64.to_le_bytes()), |e| {
            *e == Invalid::DataOffsetReserve(0)
        }),
    ];
    for (i, (b, want)) in cases.iter().enumerate() {
        let got = parse(b, &g).unwrap_err();
        assert!(want(&got), "case {i}: {got:?}");
        // Each message names its field.
        assert!(!format!("{got}").is_empty());
    }
}

#[test]
fn namespace_start_misaligned() {
    let g = Geometry {
        start: 4 * GIB + 4096,
        ..geometry()
    };
    assert_eq!(
        parse(&block_dev(), &g),
        Err(Invalid::NamespaceStart(4 * GIB + 4096))
    );
}

#[test]
fn older_minor_versions_get_defaults() {
    // Minor version 0: start_pad, end_trunc and align are ignored; the
    // alignment is the largest power of two in dataoff (16 MiB).
    let mut b = with(54, &0u16.to_le_bytes());
    put(&mut b, 56, &(16 * MIB).to_le_bytes());
    put(&mut b, 76, &0x1000u32.to_le_bytes());
    put(&mut b, 84, &0x8000_0000u32.to_le_bytes());
    seal(&mut b);
    let info = parse(&b, &geometry()).unwrap();
    assert_eq!(
        (info.version_minor, info.align, info.end_trunc),
        (0, 16 * MIB, 0)
    );
    // 18 MiB: aligned to 2 MiB only, so misaligned for its derived 16 MiB.
    put(&mut b, 56, &(18 * MIB).to_le_bytes());
    seal(&mut b);
    assert_eq!(
        parse(&b, &geometry()),
        Err(Invalid::DataOffsetAlign(18 * MIB))
    );
}

#[test]
fn minor_3_without_page_sizes() {
    // Blocks from before minor version 4 do not record the page sizes
    // (zero): they are 4 KiB and 64 bytes.
    let mut b = with(54, &3u16.to_le_bytes());
    put(&mut b, 88, &[0; 6]);
    seal(&mut b);
    let info = parse(&b, &geometry()).unwrap();
    assert_eq!(
        (info.mode, info.dataoff, info.version_minor),
        (Mode::Pmem, 18 * MIB, 3)
    );
}

#[test]
fn personalities() {
    assert_eq!(personality(SIGNATURE), Personality::Fsdax);
    assert_eq!(personality(DAX_SIGNATURE), Personality::Devdax);
    assert_eq!(personality(BTT_SIGNATURE), Personality::Sector);
    assert_eq!(personality(&[0; 16]), Personality::Raw);
}

#[test]
fn arbitrary_blocks_never_panic() {
    // Every field at extreme values, sealed: parse returns, whatever it says.
    let g = geometry();
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    for _ in 0..5_000 {
        let mut b = block_dev();
        for off in (48..96).step_by(4) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let v = match x % 4 {
                0 => 0,
                1 => u32::MAX,
                2 => x as u32 & 0xfff_f000,
                _ => x as u32,
            };
            put(&mut b, off, &v.to_le_bytes());
        }
        seal(&mut b);
        let _ = parse(&b, &g);
    }
}
