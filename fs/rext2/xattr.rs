// SPDX-License-Identifier: GPL-2.0

//! ext2 extended attribute blocks and the ext2 encoding of POSIX ACLs.
//!
//! An inode's attributes live in one block (`i_file_acl`), which inodes
//! with identical attributes may share (`h_refcount`). The block is a
//! 32-byte header, a table of entries sorted by name index, name length
//! and name, ended by four zero bytes, and the values, packed from the end
//! of the block down, each padded to four bytes with zeros:
//!
//! ```text
//! header: h_magic h_refcount h_blocks h_hash h_reserved[4]   (le32 each)
//! entry:  e_name_len:u8 e_name_index:u8 e_value_offs:le16
//!         e_value_block:le32 e_value_size:le32 e_hash:le32 e_name[]
//! ```
//!
//! `e_hash` covers the name and the padded value, `h_hash` the entries'
//! hashes; `e2fsck` checks the entry hashes.
//!
//! Everything here works on byte slices and reports bad input as [`Bad`],
//! never by panicking.

/// `h_magic`.
pub const MAGIC: u32 = 0xEA02_0000;
/// Size of the block header.
pub const HEADER_SIZE: usize = 32;
/// Size of an entry without its name.
pub const ENTRY_SIZE: usize = 16;
/// The longest attribute name (without its name space prefix). ACLs are
/// stored with an empty name.
pub const NAME_MAX: usize = 255;

/// Name index of `user.` attributes.
pub const INDEX_USER: u8 = 1;
/// Name index of `system.posix_acl_access`.
pub const INDEX_ACL_ACCESS: u8 = 2;
/// Name index of `system.posix_acl_default`.
pub const INDEX_ACL_DEFAULT: u8 = 3;
/// Name index of `trusted.` attributes.
pub const INDEX_TRUSTED: u8 = 4;
/// Name index of `security.` attributes.
pub const INDEX_SECURITY: u8 = 6;

/// What is wrong with an attribute block or an ACL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bad {
    /// The block is not an attribute block (magic or `h_blocks`).
    Magic,
    /// An entry or its name runs past the block or into the values.
    Entry,
    /// A value lies outside the block, over the entries, or in another
    /// block (`e_value_block`).
    Value,
    /// An entry's hash does not match its name and value.
    Hash,
    /// The ACL's version, size or an entry's tag is wrong.
    Acl,
    /// The attributes do not fit in one block.
    NoSpace,
}

impl Bad {
    /// A message for the kernel log.
    pub fn describe(self) -> &'static str {
        match self {
            Bad::Magic => "not an extended attribute block",
            Bad::Entry => "extended attribute entry out of bounds",
            Bad::Value => "extended attribute value out of bounds",
            Bad::Hash => "extended attribute entry hash mismatch",
            Bad::Acl => "malformed ACL",
            Bad::NoSpace => "extended attributes do not fit in a block",
        }
    }
}

fn le16(b: &[u8], off: usize) -> Option<u16> {
    Some(u16::from_le_bytes(b.get(off..off + 2)?.try_into().ok()?))
}

fn le32(b: &[u8], off: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(off..off + 4)?.try_into().ok()?))
}

fn put16(b: &mut [u8], off: usize, v: u16) {
    if let Some(d) = b.get_mut(off..off + 2) {
        d.copy_from_slice(&v.to_le_bytes());
    }
}

fn put32(b: &mut [u8], off: usize, v: u32) {
    if let Some(d) = b.get_mut(off..off + 4) {
        d.copy_from_slice(&v.to_le_bytes());
    }
}

/// `n` rounded up to four bytes.
const fn pad(n: usize) -> usize {
    (n + 3) & !3
}

/// One attribute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Attr<'a> {
    /// Name index (name space).
    pub index: u8,
    /// Name without the name space prefix.
    pub name: &'a [u8],
    /// Value.
    pub value: &'a [u8],
}

impl Attr<'_> {
    /// Space the attribute takes in a block: entry and padded value.
    pub fn footprint(&self) -> usize {
        pad(ENTRY_SIZE + self.name.len()) + pad(self.value.len())
    }

    /// ext2's sort order: name index, name length, name.
    fn key(&self) -> (u8, usize, &[u8]) {
        (self.index, self.name.len(), self.name)
    }
}

/// The hash of an entry: its name, then its value as little-endian 32-bit
/// words (zero padded), as `ext2_xattr_hash_entry` computes it.
pub fn entry_hash(name: &[u8], value: &[u8]) -> u32 {
    let mut h = 0u32;
    for &c in name {
        h = (h << 5) ^ (h >> 27) ^ u32::from(c);
    }
    for chunk in value.chunks(4) {
        let mut w = [0u8; 4];
        w[..chunk.len()].copy_from_slice(chunk);
        h = (h << 16) ^ (h >> 16) ^ u32::from_le_bytes(w);
    }
    h
}

/// `h_refcount` of a valid block.
pub fn refcount(block: &[u8]) -> u32 {
    le32(block, 4).unwrap_or(0)
}

/// Sets `h_refcount`.
pub fn set_refcount(block: &mut [u8], n: u32) {
    put32(block, 4, n);
}

/// Checks an attribute block: header, entries in bounds, values in bounds
/// and not over the entry table, and entry hashes (when not zero: ext2
/// leaves them zero in blocks it could not hash).
pub fn validate(block: &[u8]) -> Result<(), Bad> {
    if le32(block, 0) != Some(MAGIC) || le32(block, 8) != Some(1) {
        return Err(Bad::Magic);
    }
    let mut off = HEADER_SIZE;
    let mut lowest_value = block.len();
    loop {
        let first = le32(block, off).ok_or(Bad::Entry)?;
        if first == 0 {
            break;
        }
        let name_len = usize::from(block[off]);
        let next = off + pad(ENTRY_SIZE + name_len);
        if next + 4 > block.len() {
            return Err(Bad::Entry);
        }
        let value_offs = usize::from(le16(block, off + 2).ok_or(Bad::Entry)?);
        let value_block = le32(block, off + 4).ok_or(Bad::Entry)?;
        let value_size = le32(block, off + 8).ok_or(Bad::Entry)? as usize;
        let hash = le32(block, off + 12).ok_or(Bad::Entry)?;
        if value_block != 0 || value_size > block.len() {
            return Err(Bad::Value);
        }
        if value_size > 0 {
            let end = value_offs + pad(value_size);
            if end > block.len() || value_offs < HEADER_SIZE {
                return Err(Bad::Value);
            }
            lowest_value = lowest_value.min(value_offs);
            let name = &block[off + ENTRY_SIZE..off + ENTRY_SIZE + name_len];
            let value = &block[value_offs..value_offs + value_size];
            if hash != 0 && hash != entry_hash(name, value) {
                return Err(Bad::Hash);
            }
        }
        off = next;
    }
    if off + 4 > lowest_value {
        return Err(Bad::Value);
    }
    Ok(())
}

/// The attributes of a block that passed [`validate`], in block order.
pub fn entries(block: &[u8]) -> Entries<'_> {
    Entries {
        block,
        off: HEADER_SIZE,
    }
}

/// Iterator over a validated block's attributes.
#[derive(Clone)]
pub struct Entries<'a> {
    block: &'a [u8],
    off: usize,
}

impl<'a> Iterator for Entries<'a> {
    type Item = Attr<'a>;

    fn next(&mut self) -> Option<Attr<'a>> {
        let b = self.block;
        let off = self.off;
        if le32(b, off)? == 0 {
            return None;
        }
        let name_len = usize::from(b[off]);
        let index = *b.get(off + 1)?;
        let name = b.get(off + ENTRY_SIZE..off + ENTRY_SIZE + name_len)?;
        let size = le32(b, off + 8)? as usize;
        let value = if size == 0 {
            &[][..]
        } else {
            let voff = usize::from(le16(b, off + 2)?);
            b.get(voff..voff + size)?
        };
        self.off = off + pad(ENTRY_SIZE + name_len);
        Some(Attr { index, name, value })
    }
}

/// The value of attribute `index`/`name` in a validated block.
pub fn find<'a>(block: &'a [u8], index: u8, name: &[u8]) -> Option<&'a [u8]> {
    entries(block)
        .find(|a| a.index == index && a.name == name)
        .map(|a| a.value)
}

/// Writes a block holding the attributes of `old` (a validated block, or
/// none) with `index`/`name` set to `value`, or removed if `value` is
/// `None`, into `out` (zeroed first), with a reference count of one.
/// Returns how many attributes the new block holds: with none, the inode
/// needs no block.
pub fn rebuild(
    old: Option<&[u8]>,
    index: u8,
    name: &[u8],
    value: Option<&[u8]>,
    out: &mut [u8],
) -> Result<usize, Bad> {
    // ACLs have empty names.
    if name.len() > NAME_MAX {
        return Err(Bad::Entry);
    }
    let new = value.map(|value| Attr { index, name, value });
    let kept = old
        .into_iter()
        .flat_map(entries)
        .filter(|a| !(a.index == index && a.name == name));

    // The space check comes first, so `out` is only written when it fits.
    let mut need = HEADER_SIZE + 4;
    let mut count = 0usize;
    for a in kept.clone().chain(new) {
        need += a.footprint();
        count += 1;
    }
    if need > out.len() || out.len() > usize::from(u16::MAX) + 1 {
        return Err(Bad::NoSpace);
    }
    out.fill(0);
    put32(out, 0, MAGIC);
    put32(out, 4, 1);
    put32(out, 8, 1);

    // Merge the new attribute into the sorted old ones.
    let mut placed = new.is_none();
    let mut off = HEADER_SIZE;
    let mut value_end = out.len();
    let mut block_hash = 0u32;
    let mut emit = |a: Attr<'_>, out: &mut [u8]| {
        let voff = value_end - pad(a.value.len());
        let hash = entry_hash(a.name, a.value);
        out[off] = a.name.len() as u8;
        out[off + 1] = a.index;
        put16(
            out,
            off + 2,
            if a.value.is_empty() { 0 } else { voff as u16 },
        );
        put32(out, off + 8, a.value.len() as u32);
        put32(out, off + 12, hash);
        out[off + ENTRY_SIZE..off + ENTRY_SIZE + a.name.len()].copy_from_slice(a.name);
        out[voff..voff + a.value.len()].copy_from_slice(a.value);
        value_end = voff;
        off += pad(ENTRY_SIZE + a.name.len());
        block_hash = (block_hash << 16) ^ (block_hash >> 16) ^ hash;
    };
    for a in kept {
        if let Some(n) = new {
            if !placed && n.key() < a.key() {
                emit(n, out);
                placed = true;
            }
        }
        emit(a, out);
    }
    if let (Some(n), false) = (new, placed) {
        emit(n, out);
    }
    put32(out, 12, block_hash);
    Ok(count)
}

/// ACL entry tags.
pub mod tag {
    /// The owner.
    pub const USER_OBJ: u16 = 0x01;
    /// A named user.
    pub const USER: u16 = 0x02;
    /// The owning group.
    pub const GROUP_OBJ: u16 = 0x04;
    /// A named group.
    pub const GROUP: u16 = 0x08;
    /// The mask.
    pub const MASK: u16 = 0x10;
    /// Everyone else.
    pub const OTHER: u16 = 0x20;
}

/// `a_version` of ext2 ACLs.
const ACL_VERSION: u32 = 1;

/// Decodes an ACL in ext2's on-disk format, calling `f` with each entry's
/// tag, permissions and id (zero for entries without one). Returns the
/// number of entries.
pub fn acl_decode(value: &[u8], mut f: impl FnMut(u16, u16, u32)) -> Result<usize, Bad> {
    if le32(value, 0) != Some(ACL_VERSION) {
        return Err(Bad::Acl);
    }
    let mut off = 4;
    let mut n = 0;
    while off < value.len() {
        let t = le16(value, off).ok_or(Bad::Acl)?;
        let perm = le16(value, off + 2).ok_or(Bad::Acl)?;
        match t {
            tag::USER_OBJ | tag::GROUP_OBJ | tag::MASK | tag::OTHER => {
                f(t, perm, 0);
                off += 4;
            }
            tag::USER | tag::GROUP => {
                f(t, perm, le32(value, off + 4).ok_or(Bad::Acl)?);
                off += 8;
            }
            _ => return Err(Bad::Acl),
        }
        n += 1;
    }
    Ok(n)
}

/// Size of the ext2 encoding of an ACL with these tags.
pub fn acl_size(tags: impl Iterator<Item = u16>) -> usize {
    4 + tags
        .map(|t| {
            if t == tag::USER || t == tag::GROUP {
                8
            } else {
                4
            }
        })
        .sum::<usize>()
}

/// Encodes ACL entries (tag, permissions, id) in ext2's format into `out`,
/// which must be [`acl_size`] bytes long. Unknown tags are refused.
pub fn acl_encode(
    entries: impl Iterator<Item = (u16, u16, u32)>,
    out: &mut [u8],
) -> Result<(), Bad> {
    put32(out, 0, ACL_VERSION);
    let mut off = 4;
    for (t, perm, id) in entries {
        let long = match t {
            tag::USER_OBJ | tag::GROUP_OBJ | tag::MASK | tag::OTHER => false,
            tag::USER | tag::GROUP => true,
            _ => return Err(Bad::Acl),
        };
        let len = if long { 8 } else { 4 };
        if off + len > out.len() {
            return Err(Bad::Acl);
        }
        put16(out, off, t);
        put16(out, off + 2, perm);
        if long {
            put32(out, off + 4, id);
        }
        off += len;
    }
    if off != out.len() {
        return Err(Bad::Acl);
    }
    Ok(())
}
