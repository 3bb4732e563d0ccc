// SPDX-License-Identifier: GPL-2.0

//! Tests of `fs/rext2/bitmap.rs`.

use rext2_host::bitmap::*;

#[test]
fn bits() {
    let mut b = [0u8; 4];
    assert_eq!(set_bit(&mut b, 0), Some(false));
    assert_eq!(set_bit(&mut b, 0), Some(true));
    assert_eq!(set_bit(&mut b, 9), Some(false));
    assert_eq!(b, [0x01, 0x02, 0, 0]);
    assert_eq!(test_bit(&b, 9), Some(true));
    assert_eq!(test_bit(&b, 10), Some(false));
    assert_eq!(set_bit(&mut b, 31), Some(false));
    assert_eq!(b[3], 0x80);
    assert_eq!(clear_bit(&mut b, 31), Some(true));
    assert_eq!(clear_bit(&mut b, 31), Some(false));
    assert_eq!(test_bit(&b, 32), None);
    assert_eq!(set_bit(&mut b, 32), None);
    assert_eq!(clear_bit(&mut b, usize::MAX), None);
    assert_eq!(b, [0x01, 0x02, 0, 0]);
}

#[test]
fn find_zero() {
    let mut b = [0xffu8; 8];
    assert_eq!(find_next_zero(&b, 64, 0), None);
    clear_bit(&mut b, 5);
    clear_bit(&mut b, 40);
    assert_eq!(find_next_zero(&b, 64, 0), Some(5));
    assert_eq!(find_next_zero(&b, 64, 5), Some(5));
    assert_eq!(find_next_zero(&b, 64, 6), Some(40));
    // Wraps around from the goal.
    assert_eq!(find_next_zero(&b, 64, 41), Some(5));
    assert_eq!(find_next_zero(&b, 40, 6), Some(5));
    // Goal past the end searches from 0; nbits is clamped to the slice.
    assert_eq!(find_next_zero(&b, 64, 1000), Some(5));
    assert_eq!(find_next_zero(&b, 1 << 40, 41), Some(5));
    assert_eq!(find_next_zero(&b, 0, 0), None);
    assert_eq!(find_next_zero(&[], 100, 3), None);
    assert_eq!(find_next_zero_in(&b, 6, 40), None);
    assert_eq!(find_next_zero_in(&b, 6, 41), Some(40));
    assert_eq!(find_next_zero_in(&b, 41, 5), None);
    assert_eq!(find_next_set_in(&[0, 0, 0x10], 0, 24), Some(20));
    assert_eq!(find_next_set_in(&[0, 0, 0x10], 0, 20), None);
    assert_eq!(find_next_set_in(&[0, 0, 0x10], 21, usize::MAX), None);
    // ext2's convention: the bits past the last group's end are set.
    let mut last = [0u8; 4096];
    for nr in 14_464..32_768 {
        set_bit(&mut last, nr);
    }
    assert_eq!(find_next_zero(&last, 32_768, 14_000), Some(14_000));
    for nr in 0..14_464 {
        set_bit(&mut last, nr);
    }
    assert_eq!(find_next_zero(&last, 32_768, 100), None);
}

#[test]
fn counts() {
    let b = [0b1010_1010u8, 0xff, 0x0f];
    assert_eq!(count_ones(&b, 24), 4 + 8 + 4);
    assert_eq!(count_zeros(&b, 24), 8);
    assert_eq!(count_ones(&b, 3), 1);
    assert_eq!(count_zeros(&b, 3), 2);
    assert_eq!(count_ones(&b, 20), 4 + 8 + 4);
    assert_eq!(count_zeros(&b, 20), 4);
    assert_eq!(count_zeros(&b, 1000), 8);
    assert_eq!(count_zeros(&[], 1000), 0);
    assert_eq!(count_zeros(&[0u8; 4096], 32_768), 32_768);
}

#[test]
fn zero_runs() {
    let mut b = vec![0u8; 4096];
    // Used: 0..10 and 1000..1100.
    assert_eq!(set_range(&mut b, 0, 10), Some(0));
    assert_eq!(set_range(&mut b, 1000, 100), Some(0));
    assert_eq!(find_zero_run(&b, 32_768, 0, 5, 1), Some(10));
    assert_eq!(find_zero_run(&b, 32_768, 0, 512, 512), Some(1536));
    assert_eq!(find_zero_run(&b, 32_768, 0, 600, 1), Some(10));
    assert_eq!(find_zero_run(&b, 32_768, 0, 991, 1), Some(1100));
    assert_eq!(find_zero_run(&b, 32_768, 2000, 512, 512), Some(2048));
    // Wrap: nothing after the goal fits, so search from 0.
    assert_eq!(find_zero_run(&b, 32_768, 32_700, 512, 512), Some(1536));
    assert_eq!(find_zero_run(&b, 4096, 4000, 96, 1), Some(4000));
    assert_eq!(find_zero_run(&b, 4096, 4000, 97, 1), Some(10));
    assert_eq!(find_zero_run(&b, 32_768, 0, 0, 1), None);
    assert_eq!(find_zero_run(&b, 32_768, 0, 32_769, 1), None);
    assert_eq!(find_zero_run(&b, 32_768, 0, 100, 0), Some(10));
    assert_eq!(find_zero_run(&b, 32_768, 0, 32_768 - 1100, 1), Some(1100));
    assert_eq!(find_zero_run(&b, 32_768, 0, 32_768 - 1099, 1), None);
    // An alignment too large to fit anything.
    assert_eq!(find_zero_run(&b, 32_768, 5, 1, usize::MAX), None);
    // Full bitmap.
    let full = vec![0xffu8; 4096];
    assert_eq!(find_zero_run(&full, 32_768, 0, 1, 1), None);
    // A 2 MiB-aligned run in a fragmented bitmap.
    let mut frag = vec![0u8; 4096];
    for nr in (0..32_768).step_by(700) {
        set_bit(&mut frag, nr);
    }
    let s = find_zero_run(&frag, 32_768, 0, 512, 512).unwrap();
    assert_eq!(s % 512, 0);
    assert_eq!(find_next_set_in(&frag, s, s + 512), None);
}

#[test]
fn ranges() {
    let mut b = [0u8; 4];
    assert_eq!(set_range(&mut b, 4, 8), Some(0));
    assert_eq!(b, [0xf0, 0x0f, 0, 0]);
    assert_eq!(set_range(&mut b, 0, 6), Some(2));
    assert_eq!(b, [0xff, 0x0f, 0, 0]);
    assert_eq!(clear_range(&mut b, 2, 4), Some(0));
    assert_eq!(b, [0xc3, 0x0f, 0, 0]);
    assert_eq!(clear_range(&mut b, 0, 4), Some(2));
    assert_eq!(set_range(&mut b, 30, 3), None);
    assert_eq!(clear_range(&mut b, usize::MAX, 2), None);
    assert_eq!(b, [0xc0, 0x0f, 0, 0]);
    assert_eq!(set_range(&mut b, 32, 0), Some(0));
}
