// SPDX-License-Identifier: GPL-2.0

//! A file's recently used extents, kept in memory so that mapping a block
//! does not walk the indirect tree again.
//!
//! ext2's block map is a tree of indirect blocks: each `read()`, `write()`
//! or fault of a large file reads one to three of them through the buffer
//! cache to find one extent. ext4 keeps the extents it found in its extent
//! status tree; this is the small version of that for rext2: a handful of
//! extents per file, each a run of logical blocks mapped to physically
//! contiguous blocks, found by a walk and merged with the extents it
//! continues. Holes are not kept.
//!
//! The cache holds only what the tree says: its owner empties it (under
//! the lock that serialises changes to the file's block map) before any
//! pointer of the tree changes, so a hit is what a walk would find. Nothing
//! about it is on disk.
//!
//! This module is the pure part: the slots, lookup, insertion with merging,
//! and replacement of one slot in turn when all are in use.

/// Extents a cache holds: large files written in 2 MiB-aligned runs have
/// a few per 128 MiB group; a more fragmented file cycles through them.
pub const SLOTS: usize = 16;

/// Logical blocks `lblk..lblk + len` mapped to the physical blocks
/// `pblk..pblk + len`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Extent {
    /// The first logical block.
    pub lblk: u64,
    /// The physical block of `lblk`.
    pub pblk: u64,
    /// Number of blocks; extents in a cache are never empty.
    pub len: u64,
}

impl Extent {
    fn end(&self) -> u64 {
        self.lblk.saturating_add(self.len)
    }

    /// Whether `self` and `other` map their common logical blocks to the
    /// same physical ones (`pblk - lblk` is the same).
    fn same_diagonal(&self, other: &Extent) -> bool {
        self.pblk.wrapping_sub(self.lblk) == other.pblk.wrapping_sub(other.lblk)
    }

    /// Whether the logical ranges overlap or touch.
    fn touches(&self, other: &Extent) -> bool {
        self.lblk <= other.end() && other.lblk <= self.end()
    }

    /// Whether the logical ranges share a block.
    fn overlaps(&self, other: &Extent) -> bool {
        self.lblk < other.end() && other.lblk < self.end()
    }
}

/// Up to [`SLOTS`] extents of one file.
///
/// # Invariants
///
/// `slots[..used]` are the cached extents, none empty, no two of them
/// overlapping; `next < SLOTS`.
#[derive(Debug, Clone)]
pub struct ExtentCache {
    slots: [Extent; SLOTS],
    used: usize,
    /// The slot the next insertion replaces when all are in use.
    next: usize,
}

impl Default for ExtentCache {
    fn default() -> Self {
        Self::new()
    }
}

impl ExtentCache {
    /// An empty cache.
    pub const fn new() -> Self {
        Self {
            slots: [Extent {
                lblk: 0,
                pblk: 0,
                len: 0,
            }; SLOTS],
            used: 0,
            next: 0,
        }
    }

    /// How many extents the cache holds.
    pub fn len(&self) -> usize {
        self.used
    }

    /// Whether the cache holds no extent.
    pub fn is_empty(&self) -> bool {
        self.used == 0
    }

    /// The cached extents.
    pub fn extents(&self) -> &[Extent] {
        self.slots.get(..self.used).unwrap_or(&[])
    }

    /// Forgets every extent: the block map is about to change.
    pub fn clear(&mut self) {
        self.used = 0;
        self.next = 0;
    }

    /// The physical block of logical block `lblk` and how many blocks from
    /// it on are mapped contiguously (at least 1), if a cached extent
    /// holds it.
    pub fn lookup(&self, lblk: u64) -> Option<(u64, u64)> {
        self.extents()
            .iter()
            .find(|e| e.lblk <= lblk && lblk < e.end())
            .map(|e| (e.pblk + (lblk - e.lblk), e.end() - lblk))
    }

    fn remove(&mut self, i: usize) {
        if i < self.used {
            self.used -= 1;
            self.slots.swap(i, self.used);
        }
    }

    /// Adds `e`, merged with the cached extents it continues (touching, on
    /// the same diagonal), replacing those it overlaps otherwise (which a
    /// cache kept as the module says never holds), and, when every slot is
    /// in use, one slot in turn. An empty `e` is ignored.
    pub fn insert(&mut self, mut e: Extent) {
        if e.len == 0 || e.lblk.checked_add(e.len).is_none() || e.pblk.checked_add(e.len).is_none()
        {
            return;
        }
        let mut i = 0;
        while i < self.used {
            let s = self.slots[i];
            if s.same_diagonal(&e) && s.touches(&e) {
                let lblk = s.lblk.min(e.lblk);
                let end = s.end().max(e.end());
                e = Extent {
                    lblk,
                    pblk: if s.lblk < e.lblk { s.pblk } else { e.pblk },
                    len: end - lblk,
                };
                self.remove(i);
                // The merged extent may now touch one already passed.
                i = 0;
            } else if s.overlaps(&e) {
                self.remove(i);
            } else {
                i += 1;
            }
        }
        if self.used < SLOTS {
            self.slots[self.used] = e;
            self.used += 1;
        } else {
            self.slots[self.next] = e;
            self.next = (self.next + 1) % SLOTS;
        }
    }
}
