// SPDX-License-Identifier: GPL-2.0

//! A directory's index in memory: where each entry is, by a hash of its
//! name, and how much room each block has for a new one.
//!
//! ext2 directories are linear: finding a name, or room for a new one,
//! means reading every block. Like the persistent-memory file systems
//! NOVA and SquirrelFS (and unlike ext4's on-disk htree), rext2 keeps the
//! index in DRAM, built on a directory's first use by one pass over its
//! blocks and kept up to date by every change, so that lookups, creations
//! and removals read one block whatever the directory's size. Nothing
//! about it is on disk: the format stays ext2's, C ext2 and e2fsck see
//! plain linear directories, and a crash loses nothing but the index.
//!
//! This module is the pure part: an open-addressing hash table over a
//! caller's slice (linear probing, tombstones, capacity a power of two),
//! the packing of an entry's place into a table word, and the search for a
//! block with room. The caller owns the memory and grows the table.

/// One slot of the table: the hash of a name and where its entry is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Slot {
    /// [`name_hash`] of the entry's name.
    pub hash: u32,
    /// [`pack`]ed place of the entry, or [`EMPTY`] or [`TOMBSTONE`].
    pub loc: u32,
}

/// `loc` of a slot never used.
pub const EMPTY: u32 = u32::MAX;
/// `loc` of a slot whose entry was removed: probing goes on past it.
pub const TOMBSTONE: u32 = u32::MAX - 1;

impl Slot {
    /// A slot never used.
    pub const FREE: Slot = Slot {
        hash: 0,
        loc: EMPTY,
    };

    fn live(&self) -> bool {
        self.loc < TOMBSTONE
    }
}

/// Bits of a packed place that hold the offset in the block divided by 4
/// (entries are 4-byte aligned in blocks of up to 4096 bytes).
const OFFSET_BITS: u32 = 10;

/// The most blocks an indexed directory may have: 2^22 blocks of 4 KiB,
/// 16 GiB of entries. A bigger one is scanned as before.
pub const MAX_BLOCKS: u64 = 1 << (32 - OFFSET_BITS);

/// Packs the place of an entry, logical block `lblk` and byte `offset`
/// in it, into a table word; `None` if it does not fit (a block past
/// [`MAX_BLOCKS`], an unaligned or too large offset).
pub fn pack(lblk: u64, offset: usize) -> Option<u32> {
    if lblk >= MAX_BLOCKS || offset % 4 != 0 || offset >= 4 << OFFSET_BITS {
        return None;
    }
    let loc = ((lblk as u32) << OFFSET_BITS) | (offset / 4) as u32;
    // The two highest values mark empty and removed slots; they would be
    // the last entries of the last block, which `MAX_BLOCKS` keeps out.
    (loc < TOMBSTONE).then_some(loc)
}

/// The logical block and byte offset of a packed place.
pub fn unpack(loc: u32) -> (u64, usize) {
    (
        u64::from(loc >> OFFSET_BITS),
        ((loc & ((1 << OFFSET_BITS) - 1)) * 4) as usize,
    )
}

/// The hash of `name` with the table's `seed` (a directory's own, so that
/// names that collide in one directory do not in another).
pub fn name_hash(seed: u64, name: &[u8]) -> u32 {
    const K1: u64 = 0x9e37_79b9_7f4a_7c15;
    const K2: u64 = 0xbf58_476d_1ce4_e5b9;
    let mut h = seed ^ (name.len() as u64).wrapping_mul(K1);
    for chunk in name.chunks(8) {
        // The chunk as a little-endian word, zero-padded: a fixed-size
        // load for whole chunks, without a call to `memcpy` for each.
        let w = chunk
            .iter()
            .rev()
            .fold(0u64, |w, &b| (w << 8) | u64::from(b));
        h = (h ^ w).wrapping_mul(K2);
        h ^= h >> 31;
    }
    h = h.wrapping_mul(K1);
    (h ^ (h >> 32)) as u32
}

/// The table size for `entries` names: a power of two, at least twice
/// as many slots (so that probes stay short), at least 64.
pub fn capacity_for(entries: usize) -> Option<usize> {
    entries.checked_mul(2)?.max(64).checked_next_power_of_two()
}

/// Whether a table of `capacity` slots, `used` of them live or removed,
/// must grow before `more` names go in: it stays at most three quarters
/// full.
pub fn must_grow(capacity: usize, used: usize, more: usize) -> bool {
    used.saturating_add(more).saturating_mul(4) > capacity.saturating_mul(3)
}

fn start(slots: &[Slot], hash: u32) -> usize {
    // Fibonacci hashing spreads consecutive hashes over the table.
    let h = u64::from(hash).wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 32;
    (h as usize) & (slots.len().wrapping_sub(1))
}

/// Adds the entry of hash `hash` at `loc` to `slots` (whose length is a
/// power of two) and says whether it took a slot that was [`EMPTY`]
/// (`Some(true)`, one more used slot) or a [`TOMBSTONE`] (`Some(false)`);
/// `None` if the table is full or `loc` is not a place.
pub fn insert(slots: &mut [Slot], hash: u32, loc: u32) -> Option<bool> {
    if loc >= TOMBSTONE || !slots.len().is_power_of_two() {
        return None;
    }
    let mask = slots.len() - 1;
    let mut i = start(slots, hash);
    for _ in 0..slots.len() {
        let s = &mut slots[i];
        if !s.live() {
            let was_empty = s.loc == EMPTY;
            *s = Slot { hash, loc };
            return Some(was_empty);
        }
        i = (i + 1) & mask;
    }
    None
}

/// Removes the entry of hash `hash` at `loc`; whether it was there.
pub fn remove(slots: &mut [Slot], hash: u32, loc: u32) -> bool {
    if !slots.len().is_power_of_two() {
        return false;
    }
    let mask = slots.len() - 1;
    let mut i = start(slots, hash);
    for _ in 0..slots.len() {
        let s = &mut slots[i];
        if s.loc == EMPTY {
            return false;
        }
        if s.live() && s.hash == hash && s.loc == loc {
            s.loc = TOMBSTONE;
            return true;
        }
        i = (i + 1) & mask;
    }
    false
}

/// The places of the entries whose names have hash `hash`: the caller
/// compares each name (different names may share a hash).
pub fn probe(slots: &[Slot], hash: u32) -> Probe<'_> {
    Probe {
        slots,
        hash,
        i: start(slots, hash),
        left: if slots.len().is_power_of_two() {
            slots.len()
        } else {
            0
        },
    }
}

/// Iterator of [`probe`].
pub struct Probe<'a> {
    slots: &'a [Slot],
    hash: u32,
    i: usize,
    left: usize,
}

impl Iterator for Probe<'_> {
    type Item = u32;

    fn next(&mut self) -> Option<u32> {
        while self.left > 0 {
            let s = self.slots.get(self.i)?;
            self.left -= 1;
            self.i = (self.i + 1) & (self.slots.len() - 1);
            if s.loc == EMPTY {
                self.left = 0;
                return None;
            }
            if s.live() && s.hash == self.hash {
                return Some(s.loc);
            }
        }
        None
    }
}

/// Moves the live entries of `old` into `new` (empty, its length a power
/// of two and big enough); returns how many moved, or `None` if `new` ran
/// out of room.
pub fn rehash(old: &[Slot], new: &mut [Slot]) -> Option<usize> {
    let mut n = 0;
    for s in old.iter().filter(|s| s.live()) {
        insert(new, s.hash, s.loc)?;
        n += 1;
    }
    Some(n)
}

/// The first block whose room (the longest record a new entry could
/// take there, see `dirent::room`) is at least `need` bytes.
pub fn block_with_room(rooms: &[u16], need: usize) -> Option<u64> {
    rooms
        .iter()
        .position(|&r| usize::from(r) >= need)
        .map(|i| i as u64)
}
