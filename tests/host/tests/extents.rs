// SPDX-License-Identifier: GPL-2.0

//! Tests of `fs/rext2/extents.rs`.

use rext2_host::extents::*;
use rext2_host::rng::Rng;

fn ext(lblk: u64, pblk: u64, len: u64) -> Extent {
    Extent { lblk, pblk, len }
}

fn check_invariants(c: &ExtentCache) {
    let v = c.extents();
    assert!(v.len() <= SLOTS);
    for (i, a) in v.iter().enumerate() {
        assert!(a.len > 0, "empty extent {a:?}");
        for b in &v[i + 1..] {
            assert!(
                a.lblk + a.len <= b.lblk || b.lblk + b.len <= a.lblk,
                "overlap {a:?} {b:?}"
            );
        }
    }
}

#[test]
fn lookup_and_merge() {
    let mut c = ExtentCache::new();
    assert!(c.is_empty());
    assert_eq!(c.lookup(0), None);
    c.insert(ext(100, 5000, 10));
    assert_eq!(c.lookup(99), None);
    assert_eq!(c.lookup(100), Some((5000, 10)));
    assert_eq!(c.lookup(109), Some((5009, 1)));
    assert_eq!(c.lookup(110), None);
    // Continues it logically and physically: one extent.
    c.insert(ext(110, 5010, 5));
    assert_eq!(c.len(), 1);
    assert_eq!(c.lookup(100), Some((5000, 15)));
    // Before it, touching: merged too.
    c.insert(ext(90, 4990, 10));
    assert_eq!(c.len(), 1);
    assert_eq!(c.extents(), &[ext(90, 4990, 25)]);
    // Logically next but physically elsewhere: a second extent.
    c.insert(ext(115, 9000, 3));
    assert_eq!(c.len(), 2);
    assert_eq!(c.lookup(114), Some((5014, 1)));
    assert_eq!(c.lookup(115), Some((9000, 3)));
    // Overlapping on the same diagonal: one extent.
    c.insert(ext(95, 4995, 3));
    assert_eq!(c.len(), 2);
    // An extent that fills the gap between two on its diagonal joins them.
    let mut d = ExtentCache::new();
    d.insert(ext(0, 1000, 4));
    d.insert(ext(8, 1008, 4));
    assert_eq!(d.len(), 2);
    d.insert(ext(4, 1004, 4));
    assert_eq!(d.extents(), &[ext(0, 1000, 12)]);
    // Empty and overflowing extents are ignored.
    d.insert(ext(50, 50, 0));
    d.insert(ext(u64::MAX - 1, 7, 5));
    d.insert(ext(7, u64::MAX - 1, 5));
    assert_eq!(d.len(), 1);
    d.clear();
    assert!(d.is_empty());
    assert_eq!(d.lookup(0), None);
    check_invariants(&c);
}

#[test]
fn conflicting_extent_replaces_what_it_overlaps() {
    let mut c = ExtentCache::new();
    c.insert(ext(0, 100, 10));
    c.insert(ext(20, 300, 10));
    // Not what the cache says for blocks 5..25: the newer one wins.
    c.insert(ext(5, 700, 20));
    check_invariants(&c);
    assert_eq!(c.lookup(0), None);
    assert_eq!(c.lookup(5), Some((700, 20)));
    assert_eq!(c.lookup(25), None);
}

#[test]
fn full_cache_replaces_in_turn() {
    let mut c = ExtentCache::new();
    for i in 0..SLOTS as u64 {
        c.insert(ext(i * 10, i * 100, 1));
    }
    assert_eq!(c.len(), SLOTS);
    c.insert(ext(1000, 50_000, 1));
    assert_eq!(c.len(), SLOTS);
    assert_eq!(c.lookup(1000), Some((50_000, 1)));
    // One of the others went; the rest stay.
    let kept = (0..SLOTS as u64)
        .filter(|i| c.lookup(i * 10) == Some((i * 100, 1)))
        .count();
    assert_eq!(kept, SLOTS - 1);
    check_invariants(&c);
}

/// A file's block map (0: a hole) and the runs a walk would find: the
/// maximal contiguous run around a block, within its 1024-block window
/// (an indirect block).
struct Model {
    map: Vec<u64>,
}

const WINDOW: u64 = 1024;

impl Model {
    fn run_around(&self, lblk: u64) -> Option<Extent> {
        let at = |i: u64| self.map[i as usize];
        let p = at(lblk);
        if p == 0 {
            return None;
        }
        let lo = lblk - lblk % WINDOW;
        let hi = (lo + WINDOW).min(self.map.len() as u64);
        let mut first = lblk;
        while first > lo && at(first - 1) != 0 && at(first - 1) + (lblk - first + 1) == p {
            first -= 1;
        }
        let mut end = lblk + 1;
        while end < hi && at(end) == p + (end - lblk) {
            end += 1;
        }
        Some(ext(first, at(first), end - first))
    }

    /// Checks a cache hit against the map.
    fn agrees(&self, lblk: u64, hit: Option<(u64, u64)>) {
        if let Some((p, n)) = hit {
            assert!(n >= 1);
            for k in 0..n {
                assert_eq!(self.map[(lblk + k) as usize], p + k, "block {}", lblk + k);
            }
        }
    }
}

/// Random maps, walks and changes (the cache emptied at each, as rext2
/// does): every hit is what the map says, and a file of a few extents
/// is served from the cache once each was walked.
#[test]
fn random_against_model() {
    let mut rng = Rng(0x5eed_e47e_0001);
    for round in 0..200 {
        let blocks = 1 + rng.below(8 * WINDOW);
        let mut model = Model {
            map: vec![0; blocks as usize],
        };
        let mut next_phys = 1 + rng.below(1 << 20);
        let mut l = 0;
        // Runs of random length, some holes, some physically joined.
        let max_run = if round % 2 == 0 { 4 } else { 3000 };
        while l < blocks {
            let n = (1 + rng.below(max_run)).min(blocks - l);
            if rng.below(5) > 0 {
                for k in 0..n {
                    model.map[(l + k) as usize] = next_phys + k;
                }
            }
            next_phys += n + rng.below(3) * rng.below(100);
            l += n;
        }
        let mut c = ExtentCache::new();
        for _ in 0..2000 {
            let lblk = rng.below(blocks);
            match rng.below(50) {
                0 => {
                    // A pointer changes: emptied first.
                    c.clear();
                    model.map[lblk as usize] = if rng.below(2) == 0 {
                        0
                    } else {
                        (1 << 30) + rng.below(1 << 20)
                    };
                }
                _ => {
                    let hit = c.lookup(lblk);
                    model.agrees(lblk, hit);
                    if hit.is_none() {
                        if let Some(e) = model.run_around(lblk) {
                            c.insert(e);
                            assert!(c.lookup(lblk).is_some());
                        }
                    }
                }
            }
            check_invariants(&c);
        }
    }

    // Three extents, each across several windows: after a pass over the
    // file every block hits.
    let mut model = Model {
        map: vec![0; (3 * 3000) as usize],
    };
    for (i, base) in [(0u64, 10_000u64), (1, 50_000), (2, 90_000)] {
        for k in 0..3000 {
            model.map[(i * 3000 + k) as usize] = base + k;
        }
    }
    let mut c = ExtentCache::new();
    for lblk in (0..9000).step_by(500) {
        if c.lookup(lblk).is_none() {
            c.insert(model.run_around(lblk).unwrap());
        }
    }
    for lblk in 0..9000 {
        let hit = c.lookup(lblk);
        assert!(hit.is_some(), "block {lblk} missed");
        model.agrees(lblk, hit);
    }
    assert_eq!(c.len(), 3);
}
