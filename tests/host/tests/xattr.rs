// SPDX-License-Identifier: GPL-2.0

//! Tests of `fs/rext2/xattr.rs`.

use rext2_host::xattr::*;

fn block_with(attrs: &[(u8, &[u8], &[u8])]) -> Vec<u8> {
    let mut b = vec![0u8; 4096];
    let mut cur: Option<Vec<u8>> = None;
    for &(i, n, v) in attrs {
        let mut out = vec![0u8; 4096];
        rebuild(cur.as_deref(), i, n, Some(v), &mut out).unwrap();
        cur = Some(out);
    }
    if let Some(c) = cur {
        b.copy_from_slice(&c);
    }
    b
}

#[test]
fn hash_matches_ext2() {
    // By hand from ext2_xattr_hash_entry: name "a" (0x61), value "xyz"
    // as one little-endian word 0x007a7978.
    let h = 0x61u32;
    let h = (h << 16) ^ (h >> 16) ^ 0x007a_7978;
    assert_eq!(entry_hash(b"a", b"xyz"), h);
    assert_eq!(entry_hash(b"", b""), 0);
}

#[test]
fn build_find_remove() {
    let b = block_with(&[
        (INDEX_USER, b"zz", b"1"),
        (INDEX_TRUSTED, b"t", b"trusted value"),
        (INDEX_USER, b"a", b""),
        (INDEX_USER, b"bb", b"two"),
    ]);
    validate(&b).unwrap();
    assert_eq!(refcount(&b), 1);
    // Sorted by index, name length, name.
    let names: Vec<(u8, &[u8])> = entries(&b).map(|a| (a.index, a.name)).collect();
    assert_eq!(
        names,
        vec![
            (INDEX_USER, &b"a"[..]),
            (INDEX_USER, &b"bb"[..]),
            (INDEX_USER, &b"zz"[..]),
            (INDEX_TRUSTED, &b"t"[..])
        ]
    );
    assert_eq!(find(&b, INDEX_USER, b"bb"), Some(&b"two"[..]));
    assert_eq!(find(&b, INDEX_USER, b"a"), Some(&b""[..]));
    assert_eq!(find(&b, INDEX_TRUSTED, b"bb"), None);

    // Replace and remove.
    let mut out = vec![0u8; 4096];
    assert_eq!(
        rebuild(Some(&b), INDEX_USER, b"bb", Some(b"three"), &mut out),
        Ok(4)
    );
    validate(&out).unwrap();
    assert_eq!(find(&out, INDEX_USER, b"bb"), Some(&b"three"[..]));
    assert_eq!(find(&out, INDEX_TRUSTED, b"t"), Some(&b"trusted value"[..]));
    let mut out2 = vec![0u8; 4096];
    assert_eq!(
        rebuild(Some(&out), INDEX_USER, b"bb", None, &mut out2),
        Ok(3)
    );
    validate(&out2).unwrap();
    assert_eq!(find(&out2, INDEX_USER, b"bb"), None);
    // Removing the last attribute leaves nothing to store.
    let one = block_with(&[(INDEX_USER, b"x", b"y")]);
    assert_eq!(rebuild(Some(&one), INDEX_USER, b"x", None, &mut out), Ok(0));
}

#[test]
fn space() {
    let big = vec![7u8; 4000];
    let b = block_with(&[(INDEX_USER, b"big", &big)]);
    validate(&b).unwrap();
    let mut out = vec![0u8; 4096];
    let more = vec![1u8; 100];
    assert_eq!(
        rebuild(Some(&b), INDEX_USER, b"more", Some(&more), &mut out),
        Err(Bad::NoSpace)
    );
    // Replacing the big value with a small one fits.
    assert_eq!(
        rebuild(Some(&b), INDEX_USER, b"big", Some(&more), &mut out),
        Ok(1)
    );
    let too_big = vec![0u8; 4096];
    assert_eq!(
        rebuild(None, INDEX_USER, b"x", Some(&too_big), &mut out),
        Err(Bad::NoSpace)
    );
    assert_eq!(
        rebuild(None, INDEX_USER, &[b'n'; 256], Some(b""), &mut out),
        Err(Bad::Entry)
    );
    // ACLs have empty names.
    assert_eq!(
        rebuild(None, INDEX_ACL_ACCESS, b"", Some(b"\x01\0\0\0"), &mut out),
        Ok(1)
    );
    validate(&out).unwrap();
    assert_eq!(find(&out, INDEX_ACL_ACCESS, b""), Some(&b"\x01\0\0\0"[..]));
}

#[test]
fn corrupt_blocks() {
    let good = block_with(&[(INDEX_USER, b"name", b"value")]);
    let mut b = good.clone();
    b[3] = 0;
    assert_eq!(validate(&b), Err(Bad::Magic));
    let mut b = good.clone();
    b[8] = 2; // h_blocks
    assert_eq!(validate(&b), Err(Bad::Magic));
    let mut b = good.clone();
    b[HEADER_SIZE + 2..HEADER_SIZE + 4].copy_from_slice(&4095u16.to_le_bytes());
    assert_eq!(validate(&b), Err(Bad::Value));
    let mut b = good.clone();
    // A value over the entry table (its hash no longer matches either).
    b[HEADER_SIZE + 2..HEADER_SIZE + 4].copy_from_slice(&36u16.to_le_bytes());
    b[HEADER_SIZE + 12..HEADER_SIZE + 16].copy_from_slice(&[0; 4]);
    assert_eq!(validate(&b), Err(Bad::Value));
    let mut b = good.clone();
    b[HEADER_SIZE + 4] = 1; // e_value_block
    assert_eq!(validate(&b), Err(Bad::Value));
    let mut b = good.clone();
    *b.last_mut().unwrap() ^= 1; // value padding changes nothing
    let voff = u16::from_le_bytes([b[HEADER_SIZE + 2], b[HEADER_SIZE + 3]]) as usize;
    b[voff] ^= 1;
    assert_eq!(validate(&b), Err(Bad::Hash));
    let mut b = good.clone();
    b[HEADER_SIZE] = 255; // name past the values
    assert!(validate(&b).is_err());
    let short = &good[..40];
    assert!(validate(short).is_err());
    // No terminator before the end of the block.
    let mut b = vec![0xaau8; 4096];
    b[..12].copy_from_slice(&good[..12]);
    assert!(validate(&b).is_err());
}

#[test]
fn acl_round_trip() {
    let acl = [
        (tag::USER_OBJ, 6, 0),
        (tag::USER, 4, 1000),
        (tag::GROUP_OBJ, 4, 0),
        (tag::GROUP, 2, 50),
        (tag::MASK, 6, 0),
        (tag::OTHER, 0, 0),
    ];
    let size = acl_size(acl.iter().map(|e| e.0));
    assert_eq!(size, 4 + 4 + 8 + 4 + 8 + 4 + 4);
    let mut out = vec![0u8; size];
    acl_encode(acl.iter().copied(), &mut out).unwrap();
    assert_eq!(&out[..8], &[1, 0, 0, 0, 1, 0, 6, 0]);
    let mut back = Vec::new();
    assert_eq!(acl_decode(&out, |t, p, i| back.push((t, p, i))), Ok(6));
    assert_eq!(back, acl);

    assert_eq!(
        acl_decode(&out[..out.len() - 1], |_, _, _| ()),
        Err(Bad::Acl)
    );
    let mut bad = out.clone();
    bad[0] = 2;
    assert_eq!(acl_decode(&bad, |_, _, _| ()), Err(Bad::Acl));
    let mut bad = out.clone();
    bad[4] = 0x40;
    assert_eq!(acl_decode(&bad, |_, _, _| ()), Err(Bad::Acl));
    assert_eq!(
        acl_encode([(0x40, 0, 0)].into_iter(), &mut [0u8; 8]),
        Err(Bad::Acl)
    );
    assert_eq!(acl_decode(&[1, 0, 0, 0], |_, _, _| ()), Ok(0));
}
