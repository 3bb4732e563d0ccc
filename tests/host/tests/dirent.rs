// SPDX-License-Identifier: GPL-2.0

//! Tests of `fs/rext2/dirent.rs`.

use rext2_host::dirent::*;
use rext2_host::ondisk::{Corrupt, S_IFDIR, S_IFLNK, S_IFREG};
use rext2_host::sample;

const FMT: DirFormat = DirFormat {
    inodes_count: 1000,
    filetype: true,
};
const OLD: DirFormat = DirFormat {
    inodes_count: 1000,
    filetype: false,
};

/// Writes a raw entry (filetype layout).
fn put(block: &mut [u8], off: usize, inode: u32, rec_len: u16, name_len: u8, ft: u8) {
    block[off..off + 4].copy_from_slice(&inode.to_le_bytes());
    block[off + 4..off + 6].copy_from_slice(&rec_len.to_le_bytes());
    block[off + 6] = name_len;
    block[off + 7] = ft;
}

fn names(block: &[u8], fmt: DirFormat) -> Vec<(usize, u32, u8, String)> {
    entries(block, fmt)
        .map(|e| {
            let e = e.unwrap();
            (
                e.offset,
                e.inode,
                e.file_type,
                String::from_utf8(e.name.to_vec()).unwrap(),
            )
        })
        .collect()
}

#[test]
fn rec_lens() {
    assert_eq!(rec_len_for(1), 12);
    assert_eq!(rec_len_for(2), 12);
    assert_eq!(rec_len_for(4), 12);
    assert_eq!(rec_len_for(5), 16);
    assert_eq!(rec_len_for(255), 264);
    assert_eq!(rec_len_for(usize::MAX) % 4, 0);
    assert_eq!(ft_from_mode(S_IFREG | 0o644), FT_REG_FILE);
    assert_eq!(ft_from_mode(S_IFDIR), FT_DIR);
    assert_eq!(ft_from_mode(S_IFLNK), FT_SYMLINK);
    assert_eq!(ft_from_mode(0), FT_UNKNOWN);
    assert_eq!([FT_CHRDEV, FT_BLKDEV, FT_FIFO, FT_SOCK], [3, 4, 5, 6]);
    let geo = sample::geometry();
    assert_eq!(
        DirFormat::from_geometry(&geo),
        DirFormat {
            inodes_count: 3 * 8192,
            filetype: true
        }
    );
}

#[test]
fn iterate() {
    let mut b = vec![0u8; 4096];
    put(&mut b, 0, 2, 12, 1, FT_DIR);
    b[8] = b'.';
    put(&mut b, 12, 2, 12, 2, FT_DIR);
    b[20..22].copy_from_slice(b"..");
    put(&mut b, 24, 0, 20, 3, FT_REG_FILE); // free, stale name
    b[32..35].copy_from_slice(b"old");
    put(&mut b, 44, 11, 4096 - 44, 10, FT_DIR);
    b[52..62].copy_from_slice(b"lost+found");
    assert_eq!(
        names(&b, FMT),
        vec![
            (0, 2, 2, ".".into()),
            (12, 2, 2, "..".into()),
            (44, 11, 2, "lost+found".into())
        ]
    );
    let all: Vec<_> = all_entries(&b, FMT).map(|e| e.unwrap()).collect();
    assert_eq!(all.len(), 4);
    assert_eq!(
        (all[2].inode, all[2].name, all[2].rec_len),
        (0, &b"old"[..], 20)
    );
    assert_eq!(check_block(&b, FMT), Ok(()));
    let e = find_entry(&b, b"lost+found", FMT).unwrap().unwrap();
    assert_eq!((e.offset, e.inode, e.rec_len), (44, 11, 4052));
    assert_eq!(find_entry(&b, b"old", FMT), Ok(None));
    assert_eq!(find_entry(&b, b"lost+foun", FMT), Ok(None));
    assert_eq!(is_empty_dir_block(&b, 2, FMT), Ok(false));
    // An empty slice is an empty (valid) block.
    assert_eq!(check_block(&[], FMT), Ok(()));
    assert_eq!(entries(&[], FMT).count(), 0);
}

#[test]
fn old_format_without_filetype() {
    let mut b = vec![0u8; 4096];
    make_empty_dir(&mut b, 5, 2, OLD).unwrap();
    // name_len is 16 bits, no type byte.
    assert_eq!(&b[6..8], &[1, 0]);
    assert_eq!(&b[18..20], &[2, 0]);
    let slot = find_slot(&b, b"file", OLD).unwrap().unwrap();
    let at = insert(&mut b, slot, 7, FT_REG_FILE, b"file", OLD).unwrap();
    assert_eq!(&b[at + 6..at + 8], &[4, 0]);
    assert_eq!(
        names(&b, OLD),
        vec![
            (0, 5, 0, ".".into()),
            (12, 2, 0, "..".into()),
            (24, 7, 0, "file".into())
        ]
    );
    // A 16-bit name length beyond 255 is corrupt even if rec_len allows it.
    let mut c = vec![0u8; 4096];
    c[4..6].copy_from_slice(&4096u16.to_le_bytes());
    c[6..8].copy_from_slice(&300u16.to_le_bytes());
    c[0] = 1;
    assert_eq!(
        check_block(&c, OLD),
        Err(Corrupt::DirNameLenTooBig {
            offset: 0,
            name_len: 300
        })
    );
    // The same bytes read with filetype: name_len 44, type 1: fine.
    assert_eq!(check_block(&c, FMT), Ok(()));
}

/// A block holding ".", ".." and "x" at 24 with the rest of the block.
fn simple() -> Vec<u8> {
    let mut b = vec![0u8; 4096];
    make_empty_dir(&mut b, 2, 2, FMT).unwrap();
    let s = find_slot(&b, b"x", FMT).unwrap().unwrap();
    assert_eq!(s, 12);
    assert_eq!(insert(&mut b, s, 20, FT_REG_FILE, b"x", FMT), Ok(24));
    b
}

#[test]
fn corrupt_entries() {
    let first_err = |b: &[u8]| check_block(b, FMT).unwrap_err();
    let mut b = simple();
    b[28..30].copy_from_slice(&0u16.to_le_bytes());
    assert_eq!(
        first_err(&b),
        Corrupt::DirRecLenTooSmall {
            offset: 24,
            rec_len: 0
        }
    );
    b[28..30].copy_from_slice(&8u16.to_le_bytes());
    assert_eq!(
        first_err(&b),
        Corrupt::DirRecLenTooSmall {
            offset: 24,
            rec_len: 8
        }
    );
    b[28..30].copy_from_slice(&14u16.to_le_bytes());
    assert_eq!(
        first_err(&b),
        Corrupt::DirRecLenUnaligned {
            offset: 24,
            rec_len: 14
        }
    );
    b[28..30].copy_from_slice(&4076u16.to_le_bytes());
    assert_eq!(
        first_err(&b),
        Corrupt::DirEntrySpansBlock {
            offset: 24,
            rec_len: 4076
        }
    );
    b[28..30].copy_from_slice(&4072u16.to_le_bytes());
    assert_eq!(check_block(&b, FMT), Ok(()));
    // name_len larger than rec_len allows: ".." (rec_len 12) with 5 bytes.
    b[18] = 5;
    assert_eq!(
        first_err(&b),
        Corrupt::DirNameLenTooBig {
            offset: 12,
            name_len: 5
        }
    );
    b[18] = 2;
    b[30] = 255;
    assert_eq!(check_block(&b, FMT), Ok(()));
    // rec_len exactly what name_len needs is fine, one less is not.
    b[28..30].copy_from_slice(&(rec_len_for(200) as u16).to_le_bytes());
    b[30] = 200;
    put(
        &mut b,
        24 + rec_len_for(200),
        0,
        (4072 - rec_len_for(200)) as u16,
        0,
        0,
    );
    assert_eq!(check_block(&b, FMT), Ok(()));
    b[30] = 201;
    assert_eq!(
        first_err(&b),
        Corrupt::DirNameLenTooBig {
            offset: 24,
            name_len: 201
        }
    );
    let mut b = simple();
    b[24..28].copy_from_slice(&1001u32.to_le_bytes());
    assert_eq!(
        first_err(&b),
        Corrupt::DirInodeOutOfRange {
            offset: 24,
            inode: 1001
        }
    );
    // Free entries are validated too.
    let mut b = simple();
    b[24..28].copy_from_slice(&0u32.to_le_bytes());
    b[28..30].copy_from_slice(&13u16.to_le_bytes());
    assert!(matches!(
        entries(&b, FMT).last(),
        Some(Err(Corrupt::DirRecLenUnaligned { offset: 24, .. }))
    ));
    // Entries that stop short of the block end.
    let mut b = simple();
    b[28..30].copy_from_slice(&4064u16.to_le_bytes());
    assert_eq!(first_err(&b), Corrupt::DirBadTail { offset: 4088 });
    // A block whose size is not a multiple of 4.
    let b = simple();
    let mut odd = b.clone();
    odd.push(0);
    assert_eq!(first_err(&odd), Corrupt::DirBadTail { offset: 4096 });
    // A block too short for a header.
    assert_eq!(first_err(&b[..11]), Corrupt::DirBadTail { offset: 0 });
    // The iterator stops after the first error.
    let mut b = simple();
    b[16..18].copy_from_slice(&0u16.to_le_bytes());
    let v: Vec<_> = all_entries(&b, FMT).collect();
    assert_eq!(v.len(), 2);
    assert!(v[1].is_err());
}

#[test]
fn insert_and_remove() {
    let mut b = simple();
    // Slot in the slack of "x" (the last entry).
    let s = find_slot(&b, b"hello", FMT).unwrap().unwrap();
    assert_eq!(s, 24);
    let at = insert(&mut b, s, 21, FT_SYMLINK, b"hello", FMT).unwrap();
    assert_eq!(at, 36);
    assert_eq!(
        names(&b, FMT),
        vec![
            (0, 2, 2, ".".into()),
            (12, 2, 2, "..".into()),
            (24, 20, 1, "x".into()),
            (36, 21, 7, "hello".into())
        ]
    );
    let e = find_entry(&b, b"x", FMT).unwrap().unwrap();
    assert_eq!(e.rec_len, 12);
    assert_eq!(
        find_slot(&b, b"hello", FMT),
        Err(DirError::Exists { offset: 36 })
    );
    assert_eq!(
        insert(&mut b, 36, 30, 1, b"x", FMT),
        Err(DirError::Exists { offset: 24 })
    );
    // Remove "x": merged into "..".
    remove(&mut b, 24, FMT).unwrap();
    assert_eq!(all_entries(&b, FMT).count(), 3);
    assert_eq!(find_entry(&b, b"..", FMT).unwrap().unwrap().rec_len, 24);
    assert_eq!(find_entry(&b, b"x", FMT), Ok(None));
    // Its space is found again (in the slack of "..").
    assert_eq!(find_slot(&b, b"y", FMT), Ok(Some(12)));
    assert_eq!(insert(&mut b, 12, 22, 1, b"y", FMT), Ok(24));
    // Remove the first entry: it becomes free, not merged.
    remove(&mut b, 0, FMT).unwrap();
    let first = all_entries(&b, FMT).next().unwrap().unwrap();
    assert_eq!((first.offset, first.inode, first.rec_len), (0, 0, 12));
    // A free entry is reused whole.
    assert_eq!(find_slot(&b, b"z", FMT), Ok(Some(0)));
    assert_eq!(insert(&mut b, 0, 23, 1, b"z", FMT), Ok(0));
    assert_eq!(find_entry(&b, b"z", FMT).unwrap().unwrap().rec_len, 12);
    assert_eq!(check_block(&b, FMT), Ok(()));

    // set_inode (rename over).
    set_inode(&mut b, 0, 99, FT_DIR, FMT).unwrap();
    let z = find_entry(&b, b"z", FMT).unwrap().unwrap();
    assert_eq!((z.inode, z.file_type), (99, FT_DIR));

    // Errors.
    assert_eq!(
        remove(&mut b, 4, FMT),
        Err(DirError::NotAnEntry { offset: 4 })
    );
    assert_eq!(
        remove(&mut b, 9999, FMT),
        Err(DirError::NotAnEntry { offset: 9999 })
    );
    assert_eq!(
        insert(&mut b, 5, 3, 1, b"q", FMT),
        Err(DirError::NotAnEntry { offset: 5 })
    );
    assert_eq!(
        set_inode(&mut b, 5, 3, 1, FMT),
        Err(DirError::NotAnEntry { offset: 5 })
    );
    assert_eq!(insert(&mut b, 0, 3, 1, b"q", FMT), Err(DirError::NoSpace));
    assert_eq!(insert(&mut b, 0, 0, 1, b"q", FMT), Err(DirError::BadInode));
    assert_eq!(
        insert(&mut b, 0, 1001, 1, b"q", FMT),
        Err(DirError::BadInode)
    );
    assert_eq!(set_inode(&mut b, 0, 0, 1, FMT), Err(DirError::BadInode));
    assert_eq!(insert(&mut b, 0, 3, 1, b"", FMT), Err(DirError::BadName));
    assert_eq!(find_slot(&b, &[b'a'; 256], FMT), Err(DirError::BadName));
    assert!(find_slot(&b, &[b'a'; 255], FMT).unwrap().is_some());
    // Removing a free entry is refused.
    let mut c = simple();
    remove(&mut c, 0, FMT).unwrap();
    assert_eq!(
        remove(&mut c, 0, FMT),
        Err(DirError::NotAnEntry { offset: 0 })
    );
    assert_eq!(
        set_inode(&mut c, 0, 5, 1, FMT),
        Err(DirError::NotAnEntry { offset: 0 })
    );
    // Corrupt blocks are refused by every editor.
    let mut bad = simple();
    bad[28] = 3;
    let corrupt = Err(DirError::Corrupt(Corrupt::DirRecLenUnaligned {
        offset: 24,
        rec_len: 0x0f03,
    }));
    assert_eq!(find_slot(&bad, b"n", FMT).map(|_| ()), corrupt);
    assert_eq!(insert(&mut bad, 24, 3, 1, b"n", FMT).map(|_| ()), corrupt);
    assert_eq!(remove(&mut bad, 24, FMT).map(|_| ()), corrupt);
    assert_eq!(set_inode(&mut bad, 24, 3, 1, FMT), corrupt);
    // Also when the corruption lies after the entry to change: once
    // written, a change must not be followed by an error from its block.
    let before = bad.clone();
    assert_eq!(remove(&mut bad, 12, FMT).map(|_| ()), corrupt);
    assert_eq!(set_inode(&mut bad, 12, 3, 1, FMT), corrupt);
    assert_eq!(set_inode_steps(&bad, 12, 3, 1, FMT).map(|_| ()), corrupt);
    assert_eq!(bad, before);
    for e in [
        DirError::Corrupt(Corrupt::BadRootInode),
        DirError::Exists { offset: 0 },
        DirError::NoSpace,
        DirError::BadName,
        DirError::BadInode,
        DirError::BadBlockSize,
        DirError::NotAnEntry { offset: 0 },
    ] {
        assert!(!e.describe().is_empty());
    }
}

/// A failed write's change is taken back in memory: `insert_undo` and
/// `restore` give back the block as it was before the change, byte for
/// byte, for both kinds of insertion and removal.
#[test]
fn undo_insert_and_remove() {
    let mut b = simple();
    // A split of an in-use entry, then a reuse of a free one.
    let slot = find_slot(&b, b"new", FMT).unwrap().unwrap();
    let p = insert_prepare(&mut b, slot, 40, 1, b"new", FMT).unwrap();
    let prepared = b.clone();
    insert_commit(&mut b, &p);
    assert!(find_entry(&b, b"new", FMT).unwrap().is_some());
    insert_undo(&mut b, &p);
    assert_eq!(b, prepared);
    assert_eq!(find_entry(&b, b"new", FMT), Ok(None));
    assert_eq!(check_block(&b, FMT), Ok(()));
    let mut c = simple();
    remove(&mut c, 0, FMT).unwrap();
    let p = insert_prepare(&mut c, 0, 41, 1, b"n", FMT).unwrap();
    let prepared = c.clone();
    insert_commit(&mut c, &p);
    insert_undo(&mut c, &p);
    assert_eq!(c, prepared);
    assert_eq!(find_entry(&c, b"n", FMT), Ok(None));

    // Removals merged into the entry before, and of the first entry.
    for off in [24, 0] {
        let mut d = simple();
        let before = d.clone();
        let r = remove(&mut d, off, FMT).unwrap();
        assert_ne!(d, before);
        restore(&mut d, &r);
        assert_eq!(d, before, "entry at {off}");
    }
}

#[test]
fn split_entry_with_empty_name() {
    // A live entry with name_len 0 is accepted by ext2_check_folio; when
    // split it must keep a valid rec_len (12, not EXT2_DIR_REC_LEN(0) = 8).
    let mut b = vec![0u8; 4096];
    put(&mut b, 0, 5, 4096, 0, FT_REG_FILE);
    assert_eq!(check_block(&b, FMT), Ok(()));
    assert_eq!(find_slot(&b, b"n", FMT), Ok(Some(0)));
    assert_eq!(insert(&mut b, 0, 6, 1, b"n", FMT), Ok(12));
    assert_eq!(check_block(&b, FMT), Ok(()));
    assert_eq!(all_entries(&b, FMT).next().unwrap().unwrap().rec_len, 12);
}

#[test]
fn fill_a_block() {
    let mut b = vec![0u8; 4096];
    make_empty_dir(&mut b, 2, 2, FMT).unwrap();
    let mut n = 0;
    loop {
        let name = format!("entry-with-a-longish-name-{n:04}");
        match find_slot(&b, name.as_bytes(), FMT).unwrap() {
            Some(s) => {
                insert(&mut b, s, 11 + n % 900, FT_REG_FILE, name.as_bytes(), FMT).unwrap();
                n += 1;
            }
            None => break,
        }
    }
    // 24 bytes of dots, then 40-byte entries.
    assert_eq!(n, (4096 - 24) / 40);
    assert_eq!(check_block(&b, FMT), Ok(()));
    for i in 0..n {
        let name = format!("entry-with-a-longish-name-{i:04}");
        assert!(find_entry(&b, name.as_bytes(), FMT).unwrap().is_some());
    }
    // Remove every other entry, then refill: the freed space is reused.
    let offs: Vec<usize> = entries(&b, FMT)
        .map(|e| e.unwrap().offset)
        .skip(2)
        .step_by(2)
        .collect();
    for o in offs.iter().rev() {
        remove(&mut b, *o, FMT).unwrap();
    }
    assert_eq!(check_block(&b, FMT), Ok(()));
    let mut m = 0;
    while let Some(s) = find_slot(&b, format!("again-{m:024}").as_bytes(), FMT).unwrap() {
        insert(&mut b, s, 5, 1, format!("again-{m:024}").as_bytes(), FMT).unwrap();
        m += 1;
    }
    assert_eq!(m, offs.len());
    assert_eq!(check_block(&b, FMT), Ok(()));
    // The sample helper builds valid blocks too.
    assert_eq!(
        check_block(&sample::dir_block(50), sample::dir_format()),
        Ok(())
    );
}

#[test]
fn empty_blocks() {
    let mut b = vec![0xffu8; 4096];
    init_empty(&mut b).unwrap();
    assert_eq!(check_block(&b, FMT), Ok(()));
    assert_eq!(entries(&b, FMT).count(), 0);
    let all: Vec<_> = all_entries(&b, FMT).map(|e| e.unwrap()).collect();
    assert_eq!((all.len(), all[0].rec_len), (1, 4096));
    assert_eq!(find_slot(&b, &[b'n'; 255], FMT), Ok(Some(0)));
    assert_eq!(init_empty(&mut [0u8; 10]), Err(DirError::BadBlockSize));
    assert_eq!(init_empty(&mut [0u8; 14]), Err(DirError::BadBlockSize));
    assert_eq!(
        init_empty(&mut vec![0u8; 65536]),
        Err(DirError::BadBlockSize)
    );

    let mut d = vec![0xffu8; 4096];
    make_empty_dir(&mut d, 12, 2, FMT).unwrap();
    assert_eq!(
        names(&d, FMT),
        vec![(0, 12, 2, ".".into()), (12, 2, 2, "..".into())]
    );
    assert_eq!(is_empty_dir_block(&d, 12, FMT), Ok(true));
    assert_eq!(is_empty_dir_block(&d, 13, FMT), Ok(false));
    assert_eq!(
        make_empty_dir(&mut [0u8; 20], 12, 2, FMT),
        Err(DirError::BadBlockSize)
    );
    assert_eq!(make_empty_dir(&mut d, 0, 2, FMT), Err(DirError::BadInode));
    assert_eq!(
        make_empty_dir(&mut d, 12, 1001, FMT),
        Err(DirError::BadInode)
    );
    let s = find_slot(&d, b".x", FMT).unwrap().unwrap();
    let at = insert(&mut d, s, 40, 1, b".x", FMT).unwrap();
    assert_eq!(is_empty_dir_block(&d, 12, FMT), Ok(false));
    remove(&mut d, at, FMT).unwrap();
    assert_eq!(is_empty_dir_block(&d, 12, FMT), Ok(true));
    // A later block of a directory: only free entries is empty.
    assert_eq!(is_empty_dir_block(&b, 12, FMT), Ok(true));
    d[4] = 1;
    assert!(is_empty_dir_block(&d, 12, FMT).is_err());
}

/// The 8-byte words (persistent memory's unit of atomic writes) in which
/// `b` differs from `a`.
fn changed_words(a: &[u8], b: &[u8]) -> Vec<usize> {
    (0..a.len() / 8)
        .filter(|w| a[w * 8..w * 8 + 8] != b[w * 8..w * 8 + 8])
        .collect()
}

/// `a` with the words `ws` taken from `b`: what a torn write of `b` over
/// `a` may leave.
fn tear(a: &[u8], b: &[u8], ws: &[usize]) -> Vec<u8> {
    let mut t = a.to_vec();
    for w in ws {
        t[w * 8..w * 8 + 8].copy_from_slice(&b[w * 8..w * 8 + 8]);
    }
    t
}

/// Every subset of `ws` (up to 2^10 of them; beyond, singletons and their
/// complements).
fn subsets(ws: &[usize]) -> Vec<Vec<usize>> {
    if ws.len() <= 10 {
        (0..1u32 << ws.len())
            .map(|m| {
                ws.iter()
                    .enumerate()
                    .filter(|(i, _)| m >> i & 1 == 1)
                    .map(|(_, w)| *w)
                    .collect()
            })
            .collect()
    } else {
        let mut v = Vec::new();
        for i in 0..ws.len() {
            v.push(vec![ws[i]]);
            v.push(
                ws.iter()
                    .enumerate()
                    .filter(|(j, _)| *j != i)
                    .map(|(_, w)| *w)
                    .collect(),
            );
        }
        v
    }
}

/// Insertion in two steps survives any torn write: after a torn or lost
/// first step the block is valid and does not show the name; the second
/// step changes one word; removal torn any way is valid too.
#[test]
fn insert_and_remove_are_tear_safe() {
    let mut b = vec![0u8; 4096];
    init_empty(&mut b).unwrap();
    let mut n = 0u32;
    // Fill the block with entries of varied lengths, removing some, so
    // that both free entries and slack get reused.
    for round in 0..200u32 {
        let name = format!("n{}-{}", round, "x".repeat((round as usize * 7) % 40));
        let Some(slot) = find_slot(&b, name.as_bytes(), FMT).unwrap() else {
            break;
        };
        let before = b.clone();
        let mut prepared = b.clone();
        let p = insert_prepare(
            &mut prepared,
            slot,
            11 + round,
            FT_REG_FILE,
            name.as_bytes(),
            FMT,
        )
        .unwrap();
        // The prepared block reads as before.
        assert_eq!(names(&prepared, FMT), names(&before, FMT));
        for ws in subsets(&changed_words(&before, &prepared)) {
            let t = tear(&before, &prepared, &ws);
            check_block(&t, FMT).unwrap();
            assert!(find_entry(&t, name.as_bytes(), FMT).unwrap().is_none());
        }
        let mut committed = prepared.clone();
        insert_commit(&mut committed, &p);
        assert_eq!(
            changed_words(&prepared, &committed).len(),
            1,
            "round {round}"
        );
        check_block(&committed, FMT).unwrap();
        assert_eq!(p.room(), room(&committed, FMT).unwrap(), "round {round}");
        let e = find_entry(&committed, name.as_bytes(), FMT)
            .unwrap()
            .unwrap();
        assert_eq!((e.offset, e.inode), (p.offset(), 11 + round));
        b = committed;
        n += 1;
        if round % 3 == 1 {
            // Remove an earlier entry (every tear of the removal is valid
            // and never shows a half entry).
            let victim = entries(&b, FMT)
                .nth((round as usize / 3) % 4)
                .unwrap()
                .unwrap();
            let (off, vname) = (victim.offset, victim.name.to_vec());
            let mut removed = b.clone();
            remove(&mut removed, off, FMT).unwrap();
            for ws in subsets(&changed_words(&b, &removed)) {
                let t = tear(&b, &removed, &ws);
                check_block(&t, FMT).unwrap();
                let left: Vec<_> = names(&t, FMT).into_iter().map(|x| x.3).collect();
                let full: Vec<_> = names(&b, FMT).into_iter().map(|x| x.3).collect();
                assert!(left.len() + 1 >= full.len());
                assert!(left.iter().all(|l| full.contains(l)));
            }
            assert!(find_entry(&removed, &vname, FMT).unwrap().is_none());
            b = removed;
        }
    }
    assert!(n > 50, "only {n} insertions");
}

/// What a crash may leave of an entry whose inode number changes from
/// `old.0` (type `old.1`) to `new.0` (type `new.1`): its type must be
/// unknown or the one of the inode it names.
fn consistent(t: &[u8], off: usize, old: (u32, u8), new: (u32, u8)) -> bool {
    let e = entries(t, FMT)
        .map(|e| e.unwrap())
        .find(|e| e.offset == off)
        .unwrap();
    let want = if e.inode == old.0 {
        old.1
    } else if e.inode == new.0 {
        new.1
    } else {
        return false;
    };
    e.file_type == FT_UNKNOWN || e.file_type == want
}

/// Pointing an entry at another inode (rename over a name, exchange) never
/// leaves it, torn any way, naming one inode with another's type, also
/// where its inode number and type byte lie in different 8-byte words, in
/// which case one write would.
#[test]
fn set_inode_is_tear_safe() {
    let types = [FT_REG_FILE, FT_DIR, FT_SYMLINK, FT_UNKNOWN];
    let mut straddling = 0;
    for off in [0usize, 12] {
        for &old_ft in &types {
            for &new_ft in &types {
                let mut b = vec![0u8; 4096];
                put(&mut b, 0, 20, 12, 1, old_ft);
                b[8] = b'a';
                put(&mut b, 12, 20, 4096 - 12, 2, old_ft);
                b[20..22].copy_from_slice(b"bb");
                check_block(&b, FMT).unwrap();
                let (old, new) = ((20, old_ft), (30, new_ft));
                let (steps, n) = set_inode_steps(&b, off, 30, new_ft, FMT).unwrap();
                if off % 8 == 0 || old_ft == new_ft {
                    assert_eq!(n, 1);
                } else {
                    // One write would be torn into a lie.
                    let mut direct = b.clone();
                    set_inode(&mut direct, off, 30, new_ft, FMT).unwrap();
                    let bad = subsets(&changed_words(&b, &direct))
                        .iter()
                        .any(|ws| !consistent(&tear(&b, &direct, ws), off, old, new));
                    assert!(bad, "{old_ft} -> {new_ft}: one write is already safe");
                    straddling += 1;
                }
                for &(ino, ft) in &steps[..n] {
                    let mut next = b.clone();
                    set_inode(&mut next, off, ino, ft, FMT).unwrap();
                    for ws in subsets(&changed_words(&b, &next)) {
                        let t = tear(&b, &next, &ws);
                        check_block(&t, FMT).unwrap();
                        assert!(
                            consistent(&t, off, old, new),
                            "offset {off}: {old_ft} -> {new_ft}, step ({ino}, {ft}) torn"
                        );
                    }
                    b = next;
                }
                let e = entries(&b, FMT)
                    .map(|e| e.unwrap())
                    .find(|e| e.offset == off)
                    .unwrap();
                assert_eq!((e.inode, e.file_type), (30, new_ft));
            }
        }
    }
    assert_eq!(straddling, 12);
}

/// `set_link`'s undo, for each step its write may fail at: the steps from
/// the state reached back to the old inode end at the block it started
/// from, byte for byte; every state on the way, forward and back, names
/// an inode with its own type or an unknown one; and where the inode
/// number and the type lie in different words, no step changes both (a
/// torn write could mix them).
#[test]
fn set_link_undo_at_each_step() {
    // The offset 12 entry ("..") has its inode number and type in two
    // 8-byte words, the offset 24 one ("x") in one.
    for (off, new_ft) in [
        (12, FT_REG_FILE),
        (12, FT_DIR),
        (12, FT_UNKNOWN),
        (24, FT_DIR),
        (24, FT_REG_FILE),
    ] {
        let before = simple();
        let old = find_entry(&before, if off == 12 { b".." } else { b"x" }, FMT)
            .unwrap()
            .unwrap();
        let (old_ino, old_ft) = (old.inode, old.file_type);
        let right = |b: &[u8], prev: &mut (u32, u8)| {
            let e = entry_at(b, off, FMT).unwrap().unwrap();
            assert_eq!(check_block(b, FMT), Ok(()));
            assert!(
                off % 8 == 0 || e.inode == prev.0 || e.file_type == prev.1,
                "entry at {off}: one step changes both words"
            );
            *prev = (e.inode, e.file_type);
            assert!(
                e.file_type == FT_UNKNOWN
                    || (e.inode, e.file_type) == (old_ino, old_ft)
                    || (e.inode, e.file_type) == (77, new_ft),
                "entry at {off}: inode {} with type {}",
                e.inode,
                e.file_type
            );
        };
        let (steps, n) = set_inode_steps(&before, off, 77, new_ft, FMT).unwrap();
        for failed in 0..n {
            let mut b = before.clone();
            let mut prev = (old_ino, old_ft);
            for &(ino, ft) in &steps[..=failed] {
                set_inode(&mut b, off, ino, ft, FMT).unwrap();
                right(&b, &mut prev);
            }
            let (back, m) = set_inode_steps(&b, off, old_ino, old_ft, FMT).unwrap();
            for &(ino, ft) in &back[..m] {
                set_inode(&mut b, off, ino, ft, FMT).unwrap();
                right(&b, &mut prev);
            }
            assert_eq!(b, before, "entry at {off}, failed at step {failed}");
        }
    }
}

/// `find_slot_for` and `insert_prepare_in` (one walk of the block) write
/// the same bytes and return the same `Pending` as `find_slot` and
/// `insert_prepare` (which walks it again), on a block filled and thinned
/// out with names of many lengths; a slot whose entry changed since, or
/// found for a name of another length, is refused, the block untouched.
/// Each removal counts the block's room as `room` does after it.
#[test]
fn one_walk_insert_matches_two() {
    let mut b = vec![0u8; 4096];
    init_empty(&mut b).unwrap();
    let mut seed = 7u32;
    let mut next = || {
        seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12345);
        seed >> 8
    };
    let mut live: Vec<String> = Vec::new();
    for round in 0..2000u32 {
        if !live.is_empty() && next() % 3 == 0 {
            let name = live.swap_remove(next() as usize % live.len());
            let off = find_entry(&b, name.as_bytes(), FMT)
                .unwrap()
                .unwrap()
                .offset;
            let gone = remove(&mut b, off, FMT).unwrap();
            assert_eq!(gone.room(), room(&b, FMT).unwrap(), "round {round}");
            continue;
        }
        let name = format!("{round}-{}", "y".repeat(next() as usize % 60));
        let (old, new) = (
            find_slot(&b, name.as_bytes(), FMT),
            find_slot_for(&b, name.as_bytes(), FMT),
        );
        assert_eq!(old, new.map(|s| s.map(|s| s.offset())), "round {round}");
        let Some(slot) = new.unwrap() else {
            continue;
        };
        let ino = 11 + round % 900;
        let (mut one, mut two) = (b.clone(), b.clone());
        let p1 = insert_prepare_in(&mut one, &slot, ino, FT_REG_FILE, name.as_bytes(), FMT);
        let p2 = insert_prepare(
            &mut two,
            slot.offset(),
            ino,
            FT_REG_FILE,
            name.as_bytes(),
            FMT,
        );
        assert_eq!(p1, p2, "round {round}");
        assert_eq!(one, two, "round {round}");
        // A name of another length, or the same slot once the block has
        // changed under it, is refused.
        let mut c = b.clone();
        let longer = format!("{name}-longer");
        assert_eq!(
            insert_prepare_in(&mut c, &slot, ino, FT_REG_FILE, longer.as_bytes(), FMT),
            Err(DirError::BadName)
        );
        assert_eq!(c, b);
        let p = p1.unwrap();
        insert_commit(&mut one, &p);
        assert_eq!(p.room(), room(&one, FMT).unwrap(), "round {round}");
        // The entry of the slot changed: shorter once split, in use once
        // a free one is reused.
        let mut again = one.clone();
        assert_eq!(
            insert_prepare_in(&mut again, &slot, ino, FT_REG_FILE, name.as_bytes(), FMT),
            Err(DirError::NotAnEntry {
                offset: slot.offset()
            })
        );
        assert_eq!(again, one);
        b = one;
        live.push(name);
    }
    assert!(live.len() > 20, "the block filled up: {}", live.len());
}

/// `find_slot_for` checks the whole block: a name found before a corrupt
/// entry is not reported as existing, the block is refused.
#[test]
fn find_slot_for_checks_the_whole_block() {
    let mut bad = simple();
    let first = names(&bad, FMT)[0].3.clone();
    bad[28] = 3;
    assert_eq!(
        find_slot_for(&bad, first.as_bytes(), FMT),
        Err(DirError::Corrupt(Corrupt::DirRecLenUnaligned {
            offset: 24,
            rec_len: 0x0f03,
        }))
    );
    assert_eq!(
        find_slot(&simple(), first.as_bytes(), FMT),
        Err(DirError::Exists { offset: 0 })
    );
}
