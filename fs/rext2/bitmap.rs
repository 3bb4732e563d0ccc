// SPDX-License-Identifier: GPL-2.0

//! Block and inode bitmap helpers over byte slices.
//!
//! Bit order is ext2's little-endian one: bit `i` is bit `i % 8` of byte
//! `i / 8`. A bit count `nbits` larger than the slice is clamped to the
//! slice, and indices outside it are reported as `None`, never a panic.

/// Clamps `nbits` to the bits `bits` holds.
fn clamp(bits: &[u8], nbits: usize) -> usize {
    nbits.min(bits.len().saturating_mul(8))
}

/// The value of bit `nr`, or `None` past the end of `bits`.
pub fn test_bit(bits: &[u8], nr: usize) -> Option<bool> {
    let byte = bits.get(nr / 8)?;
    Some(byte & (1 << (nr % 8)) != 0)
}

/// Sets bit `nr` and returns its old value, or `None` past the end.
pub fn set_bit(bits: &mut [u8], nr: usize) -> Option<bool> {
    let byte = bits.get_mut(nr / 8)?;
    let mask = 1u8 << (nr % 8);
    let old = *byte & mask != 0;
    *byte |= mask;
    Some(old)
}

/// Clears bit `nr` and returns its old value, or `None` past the end.
pub fn clear_bit(bits: &mut [u8], nr: usize) -> Option<bool> {
    let byte = bits.get_mut(nr / 8)?;
    let mask = 1u8 << (nr % 8);
    let old = *byte & mask != 0;
    *byte &= !mask;
    Some(old)
}

/// First bit in `start..end` whose value is `set`.
fn find_in(bits: &[u8], start: usize, end: usize, set: bool) -> Option<usize> {
    let end = clamp(bits, end);
    let mut i = start;
    while i < end {
        let idx = i / 8;
        let byte = *bits.get(idx)?;
        let matching = if set { byte } else { !byte };
        let masked = matching & (0xffu8 << (i % 8));
        if masked != 0 {
            let bit = idx * 8 + masked.trailing_zeros() as usize;
            return if bit < end { Some(bit) } else { None };
        }
        i = (idx + 1) * 8;
    }
    None
}

/// First clear bit in `start..end` (no wrap), like `find_next_zero_bit_le`.
pub fn find_next_zero_in(bits: &[u8], start: usize, end: usize) -> Option<usize> {
    find_in(bits, start, end, false)
}

/// First set bit in `start..end` (no wrap).
pub fn find_next_set_in(bits: &[u8], start: usize, end: usize) -> Option<usize> {
    find_in(bits, start, end, true)
}

/// First clear bit among the first `nbits`, searching from `start` to the
/// end and then wrapping around to 0 (a goal-directed search; a `start` at
/// or past `nbits` searches from 0).
pub fn find_next_zero(bits: &[u8], nbits: usize, start: usize) -> Option<usize> {
    let n = clamp(bits, nbits);
    let start = if start >= n { 0 } else { start };
    find_next_zero_in(bits, start, n).or_else(|| find_next_zero_in(bits, 0, start))
}

/// Number of set bits among the first `nbits`.
pub fn count_ones(bits: &[u8], nbits: usize) -> usize {
    let n = clamp(bits, nbits);
    let full = bits.get(..n / 8).unwrap_or(&[]);
    let mut count: usize = full.iter().map(|b| b.count_ones() as usize).sum();
    if n % 8 != 0 {
        if let Some(last) = bits.get(n / 8) {
            count += (last & ((1u8 << (n % 8)) - 1)).count_ones() as usize;
        }
    }
    count
}

/// Number of clear bits among the first `nbits`.
pub fn count_zeros(bits: &[u8], nbits: usize) -> usize {
    clamp(bits, nbits) - count_ones(bits, nbits)
}

/// Candidates `s` (multiples of `align`) with `from <= s < limit`: the first
/// one where bits `s..s + len` are all clear and end within `n`.
fn zero_run_from(
    bits: &[u8],
    n: usize,
    from: usize,
    limit: usize,
    len: usize,
    align: usize,
) -> Option<usize> {
    let mut s = from.checked_next_multiple_of(align)?;
    while s < limit {
        let end = s.checked_add(len)?;
        if end > n {
            return None;
        }
        match find_next_set_in(bits, s, end) {
            None => return Some(s),
            Some(p) => s = p.checked_add(1)?.checked_next_multiple_of(align)?,
        }
    }
    None
}

/// Finds `len` consecutive clear bits among the first `nbits`, starting at
/// a multiple of `align` (0 counts as 1), searching from `goal` to the end
/// and then from 0. Returns the first bit of the run; `None` if there is no
/// such run or `len` is 0.
pub fn find_zero_run(
    bits: &[u8],
    nbits: usize,
    goal: usize,
    len: usize,
    align: usize,
) -> Option<usize> {
    let n = clamp(bits, nbits);
    if len == 0 || len > n {
        return None;
    }
    let align = align.max(1);
    let goal = if goal >= n { 0 } else { goal };
    zero_run_from(bits, n, goal, n, len, align)
        .or_else(|| zero_run_from(bits, n, 0, goal, len, align))
}

/// Checks that `start..start + len` is inside `bits`.
fn range_ok(bits: &[u8], start: usize, len: usize) -> bool {
    start
        .checked_add(len)
        .is_some_and(|end| end <= bits.len().saturating_mul(8))
}

/// Sets bits `start..start + len`; returns how many were already set, or
/// `None` (changing nothing) if the range is outside `bits`.
pub fn set_range(bits: &mut [u8], start: usize, len: usize) -> Option<usize> {
    if !range_ok(bits, start, len) {
        return None;
    }
    let mut already = 0;
    for nr in start..start + len {
        if set_bit(bits, nr)? {
            already += 1;
        }
    }
    Some(already)
}

/// Clears bits `start..start + len`; returns how many were already clear,
/// or `None` (changing nothing) if the range is outside `bits`.
pub fn clear_range(bits: &mut [u8], start: usize, len: usize) -> Option<usize> {
    if !range_ok(bits, start, len) {
        return None;
    }
    let mut already = 0;
    for nr in start..start + len {
        if !clear_bit(bits, nr)? {
            already += 1;
        }
    }
    Some(already)
}
