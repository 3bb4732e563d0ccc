// SPDX-License-Identifier: GPL-2.0

//! Tests of `fs/rext2/dirindex.rs`, and of the index kept the way
//! `fs/rext2/namei.rs` keeps it, against a model of the directory.

use rext2_host::dirent::{self, DirFormat};
use rext2_host::dirindex::*;
use rext2_host::rng::Rng;
use std::collections::HashMap;

const FMT: DirFormat = DirFormat {
    inodes_count: 1 << 20,
    filetype: true,
};
const BS: usize = 4096;

#[test]
fn pack_round_trips_and_refuses_what_does_not_fit() {
    for (lblk, off) in [
        (0, 0),
        (0, 4092),
        (1, 12),
        (MAX_BLOCKS - 1, 4084),
        (12345, 2048),
    ] {
        let loc = pack(lblk, off).unwrap();
        assert!(loc < TOMBSTONE);
        assert_eq!(unpack(loc), (lblk, off));
    }
    assert_eq!(pack(MAX_BLOCKS, 0), None);
    assert_eq!(pack(0, 2), None);
    assert_eq!(pack(0, 4096), None);
    // The last two places of the last block would be the markers.
    assert_eq!(pack(MAX_BLOCKS - 1, 4092), None);
    assert_eq!(pack(MAX_BLOCKS - 1, 4088), None);
}

#[test]
fn table_inserts_probes_removes() {
    let mut t = vec![Slot::FREE; 64];
    assert_eq!(insert(&mut t, 7, 100), Some(true));
    assert_eq!(insert(&mut t, 7, 200), Some(true));
    assert_eq!(insert(&mut t, 9, 300), Some(true));
    let mut c: Vec<u32> = probe(&t, 7).collect();
    c.sort();
    assert_eq!(c, [100, 200]);
    assert_eq!(probe(&t, 8).count(), 0);
    assert!(remove(&mut t, 7, 100));
    assert!(!remove(&mut t, 7, 100));
    assert!(!remove(&mut t, 9, 301));
    assert_eq!(probe(&t, 7).collect::<Vec<_>>(), [200]);
    // A tombstone is reused, and probing goes past it.
    assert_eq!(insert(&mut t, 7, 400), Some(false));
    let mut c: Vec<u32> = probe(&t, 7).collect();
    c.sort();
    assert_eq!(c, [200, 400]);
    // Markers are not places; a table whose size is not a power of two is
    // refused, not probed out of bounds.
    assert_eq!(insert(&mut t, 1, EMPTY), None);
    assert_eq!(insert(&mut t, 1, TOMBSTONE), None);
    let mut odd = vec![Slot::FREE; 3];
    assert_eq!(insert(&mut odd, 1, 1), None);
    assert_eq!(probe(&odd, 1).count(), 0);
    assert!(!remove(&mut odd, 1, 1));
}

#[test]
fn full_table_is_refused_and_rehash_keeps_live_entries() {
    let mut t = vec![Slot::FREE; 4];
    for i in 0..4 {
        assert_eq!(insert(&mut t, i, i), Some(true));
    }
    assert_eq!(insert(&mut t, 9, 9), None);
    // Every probe ends (no EMPTY slot left to stop it).
    assert_eq!(probe(&t, 12345).count(), 0);
    assert!(remove(&mut t, 2, 2));
    let mut big = vec![Slot::FREE; 16];
    assert_eq!(rehash(&t, &mut big), Some(3));
    for i in [0, 1, 3] {
        assert_eq!(probe(&big, i).collect::<Vec<_>>(), [i]);
    }
    assert_eq!(probe(&big, 2).count(), 0);
    assert_eq!(rehash(&big, &mut [Slot::FREE; 2]), None);
}

#[test]
fn sizing() {
    assert_eq!(capacity_for(0), Some(64));
    assert_eq!(capacity_for(100), Some(256));
    assert_eq!(capacity_for(usize::MAX), None);
    assert!(!must_grow(64, 0, 48));
    assert!(must_grow(64, 0, 49));
    assert!(must_grow(64, 40, 9));
    assert!(!must_grow(64, 40, 8));
    assert_eq!(block_with_room(&[0, 11, 12, 400], 12), Some(2));
    assert_eq!(block_with_room(&[0, 11], 12), None);
}

#[test]
fn hash_depends_on_seed_and_every_byte() {
    let a = name_hash(1, b"file-00000001");
    assert_ne!(a, name_hash(2, b"file-00000001"));
    assert_ne!(a, name_hash(1, b"file-00000002"));
    assert_ne!(a, name_hash(1, b"file-00000001\0"));
    assert_ne!(name_hash(1, b""), name_hash(1, b"\0"));
    // Spread: 100,000 sequential names, few collisions in 32 bits.
    let mut seen = std::collections::HashSet::new();
    let dups = (0..100_000)
        .filter(|i| !seen.insert(name_hash(7, format!("f{i}").as_bytes())))
        .count();
    assert!(dups < 10, "{dups} collisions");
}

/// The hash as first written (zero-padded chunks copied into a word):
/// the faster form must give the same values.
fn name_hash_reference(seed: u64, name: &[u8]) -> u32 {
    const K1: u64 = 0x9e37_79b9_7f4a_7c15;
    const K2: u64 = 0xbf58_476d_1ce4_e5b9;
    let mut h = seed ^ (name.len() as u64).wrapping_mul(K1);
    for chunk in name.chunks(8) {
        let mut w = [0u8; 8];
        w[..chunk.len()].copy_from_slice(chunk);
        h = (h ^ u64::from_le_bytes(w)).wrapping_mul(K2);
        h ^= h >> 31;
    }
    h = h.wrapping_mul(K1);
    (h ^ (h >> 32)) as u32
}

#[test]
fn hash_matches_reference() {
    let mut rng = Rng(0x4e41_4d45);
    for _ in 0..20_000 {
        let len = rng.below(256) as usize;
        let name: Vec<u8> = (0..len).map(|_| rng.next_u64() as u8).collect();
        let seed = rng.next_u64();
        assert_eq!(
            name_hash(seed, &name),
            name_hash_reference(seed, &name),
            "{name:?}"
        );
    }
}

/// A directory of blocks with its index, changed as `namei.rs` does.
struct Dir {
    blocks: Vec<Vec<u8>>,
    slots: Vec<Slot>,
    used: usize,
    live: usize,
    rooms: Vec<u16>,
    seed: u64,
}

impl Dir {
    fn new() -> Self {
        let mut b = vec![0u8; BS];
        dirent::make_empty_dir(&mut b, 2, 2, FMT).unwrap();
        let mut d = Dir {
            blocks: vec![b],
            slots: vec![Slot::FREE; capacity_for(0).unwrap()],
            used: 0,
            live: 0,
            rooms: vec![],
            seed: 99,
        };
        d.rooms
            .push(dirent::room(&d.blocks[0], FMT).unwrap() as u16);
        d
    }

    fn reserve(&mut self, more: usize) {
        if must_grow(self.slots.len(), self.used, more) {
            let mut s = vec![Slot::FREE; capacity_for(self.live + more).unwrap()];
            self.live = rehash(&self.slots, &mut s).unwrap();
            self.used = self.live;
            self.slots = s;
        }
    }

    fn index_add(&mut self, name: &[u8], lblk: u64, off: usize) {
        self.reserve(1);
        let h = name_hash(self.seed, name);
        let was_empty = insert(&mut self.slots, h, pack(lblk, off).unwrap()).unwrap();
        self.used += usize::from(was_empty);
        self.live += 1;
    }

    fn find(&self, name: &[u8]) -> Option<(u64, usize, u32)> {
        for loc in probe(&self.slots, name_hash(self.seed, name)) {
            let (lblk, off) = unpack(loc);
            // As rext2's `find`: the entry alone, checked at its offset,
            // and the same as the walk to it finds.
            let b = &self.blocks[lblk as usize];
            let e = dirent::entry_at_indexed(b, off, FMT).unwrap();
            assert_eq!(Some(e), dirent::entry_at(b, off, FMT).unwrap());
            if e.inode != 0 && e.name == name {
                return Some((lblk, off, e.inode));
            }
        }
        None
    }

    fn add(&mut self, name: &[u8], ino: u32) {
        let need = dirent::rec_len_for(name.len());
        match block_with_room(&self.rooms, need) {
            Some(lblk) => {
                let b = &mut self.blocks[lblk as usize];
                let off = dirent::find_slot(b, name, FMT)
                    .unwrap()
                    .expect("index said room");
                let p = dirent::insert_prepare(b, off, ino, 1, name, FMT).unwrap();
                dirent::insert_commit(b, &p);
                self.rooms[lblk as usize] = dirent::room(b, FMT).unwrap() as u16;
                self.index_add(name, lblk, p.offset());
            }
            None => {
                // No block has room: check that by scanning, as the kernel
                // would without an index.
                for b in &self.blocks {
                    assert_eq!(dirent::find_slot(b, name, FMT).unwrap(), None);
                }
                let mut b = vec![0u8; BS];
                dirent::init_empty(&mut b).unwrap();
                dirent::insert(&mut b, 0, ino, 1, name, FMT).unwrap();
                self.rooms.push(dirent::room(&b, FMT).unwrap() as u16);
                self.blocks.push(b);
                let lblk = self.blocks.len() as u64 - 1;
                self.index_add(name, lblk, 0);
            }
        }
    }

    fn remove(&mut self, name: &[u8]) {
        let (lblk, off, _) = self.find(name).unwrap();
        let b = &mut self.blocks[lblk as usize];
        dirent::remove(b, off, FMT).unwrap();
        self.rooms[lblk as usize] = dirent::room(b, FMT).unwrap() as u16;
        let h = name_hash(self.seed, name);
        assert!(remove(&mut self.slots, h, pack(lblk, off).unwrap()));
        self.live -= 1;
    }

    /// The index built from the blocks, as `build_index` does.
    fn rebuilt(&self) -> (Vec<(u32, u32)>, Vec<u16>) {
        let mut locs = vec![];
        let mut rooms = vec![];
        for (lblk, b) in self.blocks.iter().enumerate() {
            for e in dirent::entries(b, FMT) {
                let e = e.unwrap();
                if e.name != b"." && e.name != b".." {
                    locs.push((
                        name_hash(self.seed, e.name),
                        pack(lblk as u64, e.offset).unwrap(),
                    ));
                }
            }
            rooms.push(dirent::room(b, FMT).unwrap() as u16);
        }
        locs.sort();
        (locs, rooms)
    }

    fn live_slots(&self) -> Vec<(u32, u32)> {
        let mut v: Vec<_> = self
            .slots
            .iter()
            .filter(|s| s.loc < TOMBSTONE)
            .map(|s| (s.hash, s.loc))
            .collect();
        v.sort();
        v
    }
}

#[test]
fn index_follows_a_directory_through_random_changes() {
    let mut rng = Rng(0x5eed);
    let mut d = Dir::new();
    let mut model: HashMap<Vec<u8>, u32> = HashMap::new();
    let mut next_ino = 11u32;
    for step in 0..30_000 {
        let r = rng.below(10);
        if r < 6 || model.is_empty() {
            // Names of 1 to 60 bytes, some reused after removal.
            let len = 1 + rng.below(60) as usize;
            let key = rng.below(20_000);
            let mut name = format!("{key:x}-").into_bytes();
            name.resize(len.max(name.len()), b'a' + (key % 26) as u8);
            if model.contains_key(&name) {
                continue;
            }
            d.add(&name, next_ino);
            model.insert(name, next_ino);
            next_ino += 1;
        } else if r < 9 {
            let i = rng.below(model.len() as u64) as usize;
            let name = model.keys().nth(i).unwrap().clone();
            d.remove(&name);
            model.remove(&name);
        } else {
            let name = format!("{:x}-absent", rng.below(20_000)).into_bytes();
            assert_eq!(d.find(&name), None);
        }
        if step % 1000 == 0 {
            let (locs, rooms) = d.rebuilt();
            assert_eq!(d.live_slots(), locs, "step {step}: index != blocks");
            assert_eq!(d.rooms, rooms, "step {step}: rooms != blocks");
            for b in &d.blocks {
                dirent::check_block(b, FMT).unwrap();
            }
        }
    }
    for (name, ino) in &model {
        assert_eq!(d.find(name).map(|(_, _, i)| i), Some(*ino));
    }
    assert_eq!(d.live, model.len());
    assert!(d.blocks.len() > 10, "the test should span many blocks");
}

#[test]
fn room_agrees_with_find_slot() {
    let mut rng = Rng(42);
    let mut d = Dir::new();
    for i in 0..3000u32 {
        let name = format!("n{}{}", i, "x".repeat(rng.below(40) as usize)).into_bytes();
        d.add(&name, i + 11);
        if rng.below(3) == 0 {
            d.remove(&name);
        }
    }
    for b in &d.blocks {
        let room = dirent::room(b, FMT).unwrap();
        for len in [1usize, 4, 5, 20, 60, 100, 255] {
            let name = vec![b'z'; len];
            let fits = dirent::find_slot(b, &name, FMT).unwrap().is_some();
            assert_eq!(
                fits,
                room >= dirent::rec_len_for(len),
                "len {len} room {room}"
            );
        }
    }
}

#[test]
fn entry_at_finds_only_entry_starts() {
    let mut b = vec![0u8; BS];
    dirent::make_empty_dir(&mut b, 2, 2, FMT).unwrap();
    let off = dirent::find_slot(&b, b"hello", FMT).unwrap().unwrap();
    let at = dirent::insert(&mut b, off, 33, 1, b"hello", FMT).unwrap();
    let e = dirent::entry_at(&b, at, FMT).unwrap().unwrap();
    assert_eq!((e.inode, e.name), (33, &b"hello"[..]));
    assert_eq!(dirent::entry_at(&b, at + 4, FMT).unwrap(), None);
    assert_eq!(dirent::entry_at(&b, 0, FMT).unwrap().unwrap().name, b".");
    // A corrupt record on the way is reported.
    b[4] = 3;
    assert!(dirent::entry_at(&b, at, FMT).is_err());
}

/// The entry at an offset an index has, checked alone: what the walk to
/// it finds; at any other offset an error or an entry that is whole
/// inside the block (never a panic); and each check the walk makes on an
/// entry is made on it.
#[test]
fn entry_at_indexed_checks_the_entry() {
    let mut b = vec![0u8; BS];
    dirent::make_empty_dir(&mut b, 2, 2, FMT).unwrap();
    let mut at = Vec::new();
    for i in 0..40u32 {
        let name = format!("name-{i}-{}", "z".repeat(i as usize % 23));
        let off = dirent::find_slot(&b, name.as_bytes(), FMT)
            .unwrap()
            .unwrap();
        at.push(dirent::insert(&mut b, off, 33 + i, 1, name.as_bytes(), FMT).unwrap());
    }
    for e in dirent::all_entries(&b, FMT) {
        let e = e.unwrap();
        assert_eq!(dirent::entry_at_indexed(&b, e.offset, FMT), Ok(e));
    }
    for off in 0..BS + 8 {
        if let Ok(e) = dirent::entry_at_indexed(&b, off, FMT) {
            assert_eq!(e.offset, off);
            assert!(off + e.rec_len <= BS && e.name.len() + 8 <= e.rec_len);
            assert!(e.inode <= FMT.inodes_count);
        }
    }
    assert!(dirent::entry_at_indexed(&b, BS - 4, FMT).is_err());
    assert!(dirent::entry_at_indexed(&b, BS, FMT).is_err());
    let (e3, last) = (at[3], *at.last().unwrap());
    // An inode number out of range.
    let mut c = b.clone();
    c[e3..e3 + 4].copy_from_slice(&(FMT.inodes_count + 1).to_le_bytes());
    assert!(dirent::entry_at_indexed(&c, e3, FMT).is_err());
    // A name longer than its record.
    let mut c = b.clone();
    let rec_len = usize::from(u16::from_le_bytes([c[e3 + 4], c[e3 + 5]]));
    c[e3 + 6] = (rec_len - 8 + 1) as u8;
    assert!(dirent::entry_at_indexed(&c, e3, FMT).is_err());
    // A record that runs past the block.
    let mut c = b.clone();
    c[last + 4..last + 6].copy_from_slice(&4096u16.to_le_bytes());
    assert!(dirent::entry_at_indexed(&c, last, FMT).is_err());
}
