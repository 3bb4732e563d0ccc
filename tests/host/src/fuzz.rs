// SPDX-License-Identifier: GPL-2.0

//! The fuzz entry point: feeds arbitrary bytes to every parser and editor
//! and checks a few invariants. It must never panic except on a broken
//! invariant; `fuzz/fuzz_targets/parse.rs` and `tests/fuzz.rs` call it.

use crate::bitmap;
use crate::bmap::{self, Run};
use crate::dirent::{self, DirFormat};
use crate::ondisk::{
    check_block_ptr, group_desc_location, inode_location, Geometry, GroupDesc, Inode, Superblock,
    GROUP_DESC_SIZE, SUPERBLOCK_OFFSET, SUPERBLOCK_SIZE,
};
use crate::pfn_info;
use crate::sample;
use crate::xattr;

/// Reads numbers from the input, cycling, for the parameters of the calls.
struct Knobs<'a> {
    data: &'a [u8],
    pos: usize,
}

impl Knobs<'_> {
    fn u8(&mut self) -> u8 {
        if self.data.is_empty() {
            return 0;
        }
        let b = self.data[self.pos % self.data.len()];
        self.pos = self.pos.wrapping_add(7);
        b
    }

    fn u32(&mut self) -> u32 {
        u32::from_le_bytes([self.u8(), self.u8(), self.u8(), self.u8()])
    }

    fn u64(&mut self) -> u64 {
        (u64::from(self.u32()) << 32) | u64::from(self.u32())
    }
}

/// Runs every parser of the shared modules on `data`.
pub fn parse_all(data: &[u8]) {
    let mut k = Knobs { data, pos: 3 };
    // A superblock at the start of the input, and where an image has it.
    check_superblock(data, &mut k);
    if let Some(at) = data.get(SUPERBLOCK_OFFSET as usize..) {
        check_superblock(at, &mut k);
    }
    // Everything else against the sample geometry too.
    exercise(&sample::geometry(), data, &mut k);
    exercise_xattr(data, &mut k);
    exercise_pfn_info(data, &mut k);
}

/// An fsdax info block from the input, sealed so that the checks past the
/// checksum run: one rpmem accepts must leave a non-empty, page-aligned
/// data area inside the namespace, with room for the page map.
fn exercise_pfn_info(data: &[u8], k: &mut Knobs<'_>) {
    let mut b = [0u8; pfn_info::SIZE];
    let n = data.len().min(pfn_info::SIZE);
    b[..n].copy_from_slice(&data[..n]);
    b[..16].copy_from_slice(pfn_info::SIGNATURE);
    if k.u8() & 1 == 0 {
        b[52..54].copy_from_slice(&1u16.to_le_bytes());
    }
    pfn_info::seal(&mut b);
    let g = pfn_info::Geometry {
        start: (k.u64() >> 20) << 21,
        size: (u64::from(k.u32()) + 1) << 21,
        uuid: [0; 16],
        page_size: 4096,
        reserve: 8192,
        struct_page_size: 64,
        compat_align: 2 << 20,
    };
    if let Ok(info) = pfn_info::parse(&b, &g) {
        assert!(info.dataoff >= g.reserve);
        assert_eq!(info.dataoff % 4096, 0);
        assert!(info.data_len > 0 && info.dataoff + info.data_len <= g.size);
        if info.mode == pfn_info::Mode::Pmem {
            assert!(info.dataoff - g.reserve >= info.data_len / 4096 * 64);
        }
    }
}

/// An attribute block from the input: a valid one must list, find and
/// rebuild into a valid block; an ACL must decode and encode back.
fn exercise_xattr(data: &[u8], k: &mut Knobs<'_>) {
    let _ = xattr::acl_decode(data, |_, _, _| ());
    let block = &data[..data.len().min(4096)];
    if xattr::validate(block).is_err() {
        return;
    }
    let n = xattr::entries(block).count();
    let mut out = vec![0u8; 4096];
    let name = [b'a' + k.u8() % 26; 3];
    let value = vec![k.u8(); usize::from(k.u8())];
    for change in [Some(&value[..]), None] {
        if let Ok(count) = xattr::rebuild(Some(block), 1, &name, change, &mut out) {
            assert!(count <= n + 1);
            xattr::validate(&out).expect("a rebuilt block is valid");
            assert_eq!(xattr::find(&out, 1, &name), change);
        }
    }
}

fn check_superblock(data: &[u8], k: &mut Knobs<'_>) {
    let Ok(sb) = Superblock::parse(data) else {
        return;
    };
    let mut out = [0u8; SUPERBLOCK_SIZE];
    sb.write_to(&mut out).expect("1024 bytes");
    assert_eq!(&out[..], &data[..SUPERBLOCK_SIZE], "superblock round trip");
    let _ = sb.check_features();
    let _ = sb.hash_seed();
    let _ = format!("{sb:?}");
    for dev in [
        data.len() as u64,
        0,
        u64::MAX,
        k.u64(),
        u64::from(sb.blocks_count()) << 12,
    ] {
        match sb.validate(dev) {
            Ok(geo) => {
                assert!(geo.groups >= 1 && geo.inodes_count >= geo.first_ino);
                exercise(&geo, data, k);
            }
            Err(e) => assert!(!e.describe().is_empty()),
        }
    }
}

fn exercise(geo: &Geometry, data: &[u8], k: &mut Knobs<'_>) {
    // Group descriptors.
    for (i, chunk) in data.chunks(GROUP_DESC_SIZE).take(8).enumerate() {
        let group = if i < 4 { i as u32 } else { k.u32() };
        let _ = group_desc_location(geo, group);
        let _ = geo.group_first_block(group);
        let _ = geo.group_last_block(group);
        let _ = geo.group_blocks(group);
        let _ = geo.super_and_gdt_blocks(group);
        if let Ok(gd) = GroupDesc::parse(chunk) {
            let mut out = [0u8; GROUP_DESC_SIZE];
            gd.write_to(&mut out).expect("32 bytes");
            assert_eq!(&out[..], chunk, "group descriptor round trip");
            if let Err(e) = gd.validate(geo, group) {
                assert!(!e.describe().is_empty());
            }
        }
    }
    let _ = geo.group_of_block(k.u32());

    // Inodes, at every inode-size slot of the input (a few).
    let isz = (geo.inode_size as usize).max(128);
    for slot in data.chunks(isz).take(8) {
        let Ok(ino) = Inode::parse(slot) else {
            continue;
        };
        let mut out = vec![0u8; slot.len()];
        ino.write_to(&mut out).expect("long enough");
        let kept = slot.len().min(256);
        assert_eq!(&out[..kept], &slot[..kept], "inode round trip");
        assert_eq!(Inode::parse(&out).expect("reparse"), ino);
        let _ = ino.file_type();
        let _ = ino.size();
        let _ = (ino.uid(), ino.gid(), ino.extra_isize());
        let _ = ino.device_numbers();
        let _ = ino.check_root();
        if ino.is_fast_symlink(geo.block_size) {
            if let Ok(t) = ino.fast_symlink_target() {
                assert!(!t.as_bytes().is_empty() && t.as_bytes().len() < 60);
            }
        }
        match ino.validate(geo) {
            Ok(_) => {
                if let Ok(ft) = ino.file_type() {
                    assert!(matches!(ino.validate(geo), Ok(t) if t == ft));
                }
            }
            Err(e) => assert!(!e.describe().is_empty()),
        }
        let mut m = ino;
        let _ = m.set_size(k.u64());
        m.set_device_numbers(k.u32(), k.u32());
        let _ = m.set_fast_symlink_target(slot.get(..usize::from(k.u8() % 64)).unwrap_or(&[]));
    }
    let _ = inode_location(geo, k.u32());
    for ino in [0, 1, 2, geo.inodes_count, geo.inodes_count.wrapping_add(1)] {
        if let Ok(loc) = inode_location(geo, ino) {
            assert!(loc.offset + geo.inode_size as usize <= geo.block_size as usize);
            let _ = loc.block(k.u32());
        }
    }
    let _ = check_block_ptr(k.u32(), geo);

    exercise_dirents(geo, data, k);
    exercise_bmap(data, k);
    exercise_bitmap(data, k);
}

/// `dirent::scan` sees the entries `entries` lists, fails as it does,
/// returns the room that each entry's own leaves, and stops when told.
fn check_scan(data: &[u8], fmt: DirFormat, stop: usize) {
    let mut seen = Vec::new();
    let scanned = dirent::scan(data, fmt, |e| {
        seen.push((e.offset, e.inode));
        true
    });
    let listed: Result<Vec<_>, _> = dirent::entries(data, fmt)
        .map(|e| e.map(|e| (e.offset, e.inode)))
        .collect();
    let room = dirent::all_entries(data, fmt).try_fold(0, |best, e| {
        e.map(|e| {
            let used = dirent::rec_len_for(e.name.len()).max(dirent::MIN_REC_LEN);
            let r = if e.inode == 0 {
                e.rec_len
            } else {
                e.rec_len.saturating_sub(used)
            };
            best.max(r)
        })
    });
    match (&scanned, &listed, &room) {
        (Ok(Some(got)), Ok(list), Ok(want)) => {
            assert_eq!(&seen, list);
            assert_eq!(got, want);
            assert_eq!(dirent::room(data, fmt), Ok(*want));
        }
        (Err(a), Err(b), Err(c)) => assert!(a == b && b == c),
        other => panic!("scan and entries disagree: {other:?}"),
    }
    // Told to stop after `stop` entries: stops there, without a room.
    let mut calls = 0;
    let r = dirent::scan(data, fmt, |_| {
        calls += 1;
        calls <= stop
    });
    if let Ok(list) = &listed {
        if list.len() > stop {
            assert_eq!((r, calls), (Ok(None), stop + 1));
        } else {
            assert_eq!(r, scanned);
        }
    }
}

fn exercise_dirents(geo: &Geometry, data: &[u8], k: &mut Knobs<'_>) {
    for filetype in [true, false] {
        let fmt = DirFormat {
            inodes_count: geo.inodes_count,
            filetype,
        };
        let mut n = 0;
        for e in dirent::all_entries(data, fmt) {
            match e {
                Ok(e) => {
                    assert!(e.offset + e.rec_len <= data.len());
                    assert!(e.name.len() + 8 <= e.rec_len);
                    n += 1;
                }
                Err(c) => assert!(!c.describe().is_empty()),
            }
        }
        assert!(n <= data.len() / dirent::MIN_REC_LEN);
        let valid = dirent::check_block(data, fmt).is_ok();
        // `stop` from the data, not a knob: the knobs after this one keep
        // their meaning for the corpus.
        check_scan(data, fmt, data.len() % 61);
        let _ = dirent::find_entry(data, b"name-3", fmt);
        // At an offset the data picks: an error, or an entry inside it.
        let off = usize::from(data.first().copied().unwrap_or(0)) * 4 % data.len().max(1);
        if let Ok(e) = dirent::entry_at_indexed(data, off, fmt) {
            assert!(off + e.rec_len <= data.len() && e.name.len() + 8 <= e.rec_len);
        }
        let _ = dirent::is_empty_dir_block(data, 2, fmt);

        // Edits on a copy: a valid block must stay valid.
        let mut block = data.to_vec();
        let name_len = 1 + usize::from(k.u8()) % 40;
        let name: Vec<u8> = (0..name_len).map(|i| b'a' + (i % 26) as u8).collect();
        let ino = 1 + k.u32() % geo.inodes_count.max(1);
        match dirent::find_slot_for(&block, &name, fmt) {
            Ok(Some(slot)) => {
                assert!(valid);
                // The one-walk prepare (rext2's) writes what the one that
                // walks again does.
                let mut twice = block.clone();
                let p2 = dirent::insert_prepare(&mut twice, slot.offset(), ino, 1, &name, fmt);
                let p = dirent::insert_prepare_in(&mut block, &slot, ino, 1, &name, fmt)
                    .expect("slot fits");
                assert_eq!((Ok(p), &block), (p2, &twice), "insert_prepare_in");
                // A commit taken back leaves the prepared block.
                let prepared = block.clone();
                dirent::insert_commit(&mut block, &p);
                dirent::insert_undo(&mut block, &p);
                assert_eq!(block, prepared, "insert_undo");
                dirent::insert_commit(&mut block, &p);
                let at = p.offset();
                dirent::check_block(&block, fmt).expect("valid after insert");
                // The room the prepare's scan computed is the block's.
                assert_eq!(dirent::room(&block, fmt), Ok(p.room()));
                let e = dirent::find_entry(&block, &name, fmt)
                    .expect("valid")
                    .expect("inserted");
                assert_eq!((e.offset, e.inode), (at, ino));
                dirent::set_inode(&mut block, at, ino, 2, fmt).expect("in use");
                // A removal taken back leaves the block as it was.
                let before = block.clone();
                let r = dirent::remove(&mut block, at, fmt).expect("remove");
                dirent::restore(&mut block, &r);
                assert_eq!(block, before, "restore");
                let r = dirent::remove(&mut block, at, fmt).expect("remove");
                dirent::check_block(&block, fmt).expect("valid after remove");
                // The room the removal's walk counted is the block's.
                assert_eq!(dirent::room(&block, fmt), Ok(r.room()));
                assert!(dirent::find_entry(&block, &name, fmt)
                    .expect("valid")
                    .is_none());
            }
            Ok(None) => assert!(valid),
            Err(e) => assert!(!e.describe().is_empty()),
        }
        // Arbitrary offsets: errors, never panics, never invalid results.
        let off = k.u32() as usize % (data.len() + 8);
        let was_valid = dirent::check_block(&block, fmt).is_ok();
        let _ = dirent::insert(&mut block, off, ino, 7, &name, fmt);
        let _ = dirent::remove(&mut block, k.u32() as usize % (data.len() + 8), fmt);
        let _ = dirent::set_inode(&mut block, off, ino, 3, fmt);
        if was_valid {
            dirent::check_block(&block, fmt).expect("edits keep a block valid");
        }
    }
    let mut scratch = data.to_vec();
    let _ = dirent::init_empty(&mut scratch);
    let mut scratch = data.to_vec();
    let fmt = DirFormat::from_geometry(geo);
    if dirent::make_empty_dir(&mut scratch, 2, 2, fmt).is_ok() {
        assert_eq!(dirent::is_empty_dir_block(&scratch, 2, fmt), Ok(true));
    }
}

fn exercise_bmap(data: &[u8], k: &mut Knobs<'_>) {
    for lblk in [
        k.u64(),
        k.u64() % bmap::MAX_FILE_BLOCKS,
        u64::from(k.u32() % 2_000_000),
    ] {
        match bmap::path(lblk) {
            Ok(p) => {
                let o = p.offsets();
                assert_eq!(o.len(), p.depth() + 1);
                let tail = o[1..]
                    .iter()
                    .fold(0u64, |acc, x| acc * 1024 + u64::from(*x));
                let back = match p.depth() {
                    0 => u64::from(o[0]),
                    1 => 12 + tail,
                    2 => 12 + 1024 + tail,
                    _ => 12 + 1024 + (1 << 20) + tail,
                };
                assert_eq!(back, lblk);
            }
            Err(_) => assert!(lblk >= bmap::MAX_FILE_BLOCKS),
        }
    }
    let _ = bmap::blocks_for_size(k.u64());
    let _ = bmap::max_file_size(k.u32());
    let idx = k.u32() as usize % 1100;
    let max = k.u32() % 2048;
    for run in [
        bmap::contiguous_run_le(data, idx, max),
        bmap::contiguous_run(&[k.u32(), k.u32(), k.u32()], idx % 4, max),
    ] {
        match run {
            Run::Hole { count } | Run::Mapped { count, .. } => assert!(count <= max),
        }
    }
    // The run around a pointer holds it, and is contiguous.
    let len = k.u32() as usize % 1100;
    if let Some((first, start, count)) = bmap::run_around_le(data, idx, len) {
        assert!(first <= idx && idx < first + count as usize && first + count as usize <= len);
        for i in 0..count as usize {
            assert_eq!(bmap::read_ptr(data, first + i), Some(start + i as u32));
        }
    }
    let _ = bmap::pmd_mappable(k.u64(), k.u32(), k.u64());
    let mut copy = data.to_vec();
    let _ = bmap::write_ptr(&mut copy, idx, 7);
    let _ = bmap::read_ptr(&copy, idx);
}

fn exercise_bitmap(data: &[u8], k: &mut Knobs<'_>) {
    let nbits = k.u32() as usize % (data.len() * 8 + 64);
    let start = k.u32() as usize % (nbits + 16);
    if let Some(z) = bitmap::find_next_zero(data, nbits, start) {
        assert!(z < nbits);
        assert_eq!(bitmap::test_bit(data, z), Some(false));
    }
    let zeros = bitmap::count_zeros(data, nbits);
    assert_eq!(
        zeros + bitmap::count_ones(data, nbits),
        nbits.min(data.len() * 8)
    );
    let len = 1 + k.u32() as usize % 600;
    let align = [1, 8, 64, 512][usize::from(k.u8() % 4)];
    if let Some(s) = bitmap::find_zero_run(data, nbits, start, len, align) {
        assert_eq!(s % align, 0);
        assert!(s + len <= nbits);
        assert_eq!(bitmap::find_next_set_in(data, s, s + len), None);
    }
    let mut copy = data.to_vec();
    let nr = k.u32() as usize % (data.len() * 8 + 8);
    let _ = bitmap::set_bit(&mut copy, nr);
    let _ = bitmap::clear_bit(&mut copy, nr);
    let _ = bitmap::set_range(&mut copy, start, len);
    let _ = bitmap::clear_range(&mut copy, nr, len);
}
