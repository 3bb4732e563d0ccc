// SPDX-License-Identifier: GPL-2.0

//! Runs the fuzz entry point (`rext2_host::fuzz::parse_all`, also used by
//! `fuzz/fuzz_targets/parse.rs`) over deterministic pseudo-random inputs and
//! mutations of valid structures, so the parsers' "never panic" property is
//! checked by plain `cargo test` too.

use rext2_host::bmap;
use rext2_host::dirent::{self, DirFormat};
use rext2_host::fuzz::parse_all;
use rext2_host::ondisk::{GroupDesc, Inode, Superblock, S_IFBLK, S_IFLNK};
use rext2_host::sample;

/// Scale of the runs: `REXT2_FUZZ_SCALE=50 cargo test --release --test fuzz`
/// runs 50 times as many inputs (default 1).
fn scale() -> usize {
    std::env::var("REXT2_FUZZ_SCALE")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1)
}

/// xorshift64: deterministic, no dependencies.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }

    fn bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| self.next() as u8).collect()
    }
}

const INTERESTING: [u32; 14] = [
    0,
    1,
    2,
    3,
    11,
    12,
    0x7f,
    0xff,
    0x100,
    4096,
    0xef53,
    0xffff,
    0x8000_0000,
    0xffff_ffff,
];

fn mutate(seed: &[u8], rng: &mut Rng) -> Vec<u8> {
    let mut v = seed.to_vec();
    for _ in 0..1 + rng.below(8) {
        let len = v.len();
        match rng.below(7) {
            0 if len > 0 => {
                let i = rng.below(len);
                v[i] ^= 1 << rng.below(8);
            }
            1 if len > 0 => {
                let i = rng.below(len);
                v[i] = rng.next() as u8;
            }
            2 if len >= 4 => {
                let i = rng.below(len - 3);
                let x = INTERESTING[rng.below(INTERESTING.len())];
                v[i..i + 4].copy_from_slice(&x.to_le_bytes());
            }
            3 if len >= 2 => {
                let i = rng.below(len - 1);
                let x = INTERESTING[rng.below(INTERESTING.len())] as u16;
                v[i..i + 2].copy_from_slice(&x.to_le_bytes());
            }
            4 => v.truncate(rng.below(len + 1)),
            5 => {
                let n = rng.below(64);
                let extra = rng.bytes(n);
                v.extend_from_slice(&extra);
            }
            _ if len > 8 => {
                let (a, b) = (rng.below(len), rng.below(len));
                let n = rng.below(len - a.max(b)).min(64);
                let chunk = v[a..a + n].to_vec();
                v[b..b + n].copy_from_slice(&chunk);
            }
            _ => {}
        }
    }
    v
}

fn seeds() -> Vec<(&'static str, Vec<u8>)> {
    let geo = sample::geometry();
    let sb = sample::superblock();
    let mut s = Vec::new();
    s.push(("superblock", sb.as_bytes().to_vec()));
    let mut image = vec![0u8; 2048];
    sb.write_to(&mut image[1024..]).unwrap();
    s.push(("image start", image));
    let mut gdt = vec![0u8; 128];
    for g in 0..3u32 {
        let first = geo.group_first_block(g).unwrap() + geo.super_and_gdt_blocks(g);
        let gd = GroupDesc {
            block_bitmap: first,
            inode_bitmap: first + 1,
            inode_table: first + 2,
            free_blocks_count: 100,
            free_inodes_count: 100,
            used_dirs_count: 1,
            flags: 0,
            reserved: [0; 12],
        };
        gd.write_to(&mut gdt[g as usize * 32..]).unwrap();
    }
    s.push(("gdt", gdt));
    let mut inodes = vec![0u8; 4 * 256];
    let file = sample::file_inode(70_000, &[300, 301, 302, 0, 304, 0, 0, 0, 0, 0, 0, 0, 310]);
    file.write_to(&mut inodes[0..256]).unwrap();
    sample::dir_inode(400)
        .write_to(&mut inodes[256..512])
        .unwrap();
    let mut link = Inode::zeroed();
    link.mode = S_IFLNK | 0o777;
    link.links_count = 1;
    link.set_fast_symlink_target(b"../some/where").unwrap();
    link.write_to(&mut inodes[512..768]).unwrap();
    let mut dev = Inode::zeroed();
    dev.mode = S_IFBLK | 0o600;
    dev.links_count = 1;
    dev.set_device_numbers(259, 70_000);
    dev.write_to(&mut inodes[768..]).unwrap();
    s.push(("inodes", inodes));
    s.push(("dir block", sample::dir_block(3).to_vec()));
    s.push(("full dir block", sample::dir_block(200).to_vec()));
    let old = DirFormat {
        inodes_count: geo.inodes_count,
        filetype: false,
    };
    let mut oldb = vec![0u8; 4096];
    dirent::make_empty_dir(&mut oldb, 2, 2, old).unwrap();
    let slot = dirent::find_slot(&oldb, b"old-style", old)
        .unwrap()
        .unwrap();
    dirent::insert(&mut oldb, slot, 12, 0, b"old-style", old).unwrap();
    s.push(("old dir block", oldb));
    let mut ind = vec![0u8; 4096];
    for i in 0..1024 {
        bmap::write_ptr(&mut ind, i, if i % 300 < 200 { 5000 + i as u32 } else { 0 });
    }
    s.push(("indirect block", ind));
    let mut bits = vec![0u8; 4096];
    for i in (0..4096).step_by(3) {
        bits[i] = 0xff;
    }
    bits[100..300].fill(0);
    s.push(("bitmap", bits));
    s
}

#[test]
fn random_inputs() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for i in 0..3000 * scale() {
        let len = match i % 4 {
            0 => rng.below(64),
            1 => rng.below(300),
            2 => 1024 + rng.below(64),
            _ => rng.below(5000),
        };
        parse_all(&rng.bytes(len));
    }
    parse_all(&[]);
    parse_all(&[0xff; 4096]);
    parse_all(&[0; 4096]);
}

#[test]
fn mutated_valid_inputs() {
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    let mut sb_ok = 0;
    let mut sb_err = 0;
    let mut dir_ok = 0;
    for (name, seed) in seeds() {
        parse_all(&seed);
        for _ in 0..1000 * scale() {
            let mut input = mutate(&seed, &mut rng);
            if name == "superblock" && input.len() >= 58 && rng.below(2) == 0 {
                input[56..58].copy_from_slice(&0xef53u16.to_le_bytes());
            }
            parse_all(&input);
            if name == "superblock" {
                match Superblock::parse(&input).map(|s| s.validate(sample::DEVICE_BYTES)) {
                    Ok(Ok(_)) => sb_ok += 1,
                    Ok(Err(_)) => sb_err += 1,
                    Err(_) => {}
                }
            }
            if name.contains("dir block") {
                let fmt = DirFormat {
                    inodes_count: 3 * 8192,
                    filetype: name != "old dir block",
                };
                if dirent::check_block(&input, fmt).is_ok() {
                    dir_ok += 1;
                }
            }
        }
    }
    eprintln!("superblocks valid {sb_ok} invalid {sb_err}; valid dir blocks {dir_ok}");
    // The mutations must reach both sides of the checks.
    assert!(sb_ok > 10 && sb_err > 10, "ok {sb_ok} err {sb_err}");
    assert!(dir_ok > 10, "valid dir blocks {dir_ok}");
}
