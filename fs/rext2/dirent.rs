// SPDX-License-Identifier: GPL-2.0

//! Directory entries (`ext2_dir_entry_2`) in a directory block.
//!
//! An entry is a 32-bit inode number, a 16-bit record length, the name
//! length and, with the `filetype` feature, a file type byte, followed by the
//! name. Without `filetype` the name length is a 16-bit field
//! (`ext2_dir_entry`). Entries with inode 0 are free space.
//!
//! Blocks are validated exactly like `ext2_check_folio()` in
//! `fs/ext2/dir.c`; the editing functions ([`insert`], [`remove`], ...)
//! validate the whole block first, so they never write outside it.

use super::ondisk::{
    read_u16, read_u32, sat_u32, write_u16, write_u32, Corrupt, FileType, Geometry,
};

/// File type code: unknown.
pub const FT_UNKNOWN: u8 = 0;
/// File type code: regular file.
pub const FT_REG_FILE: u8 = 1;
/// File type code: directory.
pub const FT_DIR: u8 = 2;
/// File type code: character device.
pub const FT_CHRDEV: u8 = 3;
/// File type code: block device.
pub const FT_BLKDEV: u8 = 4;
/// File type code: FIFO.
pub const FT_FIFO: u8 = 5;
/// File type code: socket.
pub const FT_SOCK: u8 = 6;
/// File type code: symbolic link.
pub const FT_SYMLINK: u8 = 7;

/// Size of the fixed part of an entry.
pub const DIRENT_HEADER: usize = 8;
/// Smallest valid `rec_len` (`EXT2_DIR_REC_LEN(1)`).
pub const MIN_REC_LEN: usize = 12;
/// Longest name.
pub const NAME_MAX: usize = 255;

/// Record length an entry with a name of `name_len` bytes needs:
/// `(8 + name_len + 3) & !3` (`EXT2_DIR_REC_LEN`).
pub fn rec_len_for(name_len: usize) -> usize {
    name_len.saturating_add(DIRENT_HEADER + 3) & !3
}

/// The directory entry file type code for an inode mode (0 if unknown).
pub fn ft_from_mode(mode: u16) -> u8 {
    FileType::from_mode(mode).map_or(FT_UNKNOWN, FileType::dirent_code)
}

/// How directory blocks of a file system are laid out and checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DirFormat {
    /// `s_inodes_count`: entries may not name a larger inode.
    pub inodes_count: u32,
    /// The `filetype` feature: entries have an 8-bit name length and a file
    /// type byte (else a 16-bit name length and no type).
    pub filetype: bool,
}

impl DirFormat {
    /// The format of the file system described by `geo`.
    pub fn from_geometry(geo: &Geometry) -> Self {
        DirFormat {
            inodes_count: geo.inodes_count,
            filetype: geo.filetype,
        }
    }
}

/// One directory entry, borrowed from its block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DirEntry<'a> {
    /// Byte offset of the entry in the block.
    pub offset: usize,
    /// Inode number (0 for a free entry).
    pub inode: u32,
    /// Record length.
    pub rec_len: usize,
    /// File type code (`FT_*`; always 0 without the `filetype` feature).
    pub file_type: u8,
    /// The name.
    pub name: &'a [u8],
}

/// Iterator over the entries of a directory block; see [`entries`] and
/// [`all_entries`]. It yields `Err` once on the first invalid entry, then
/// stops.
#[derive(Debug, Clone)]
pub struct DirIter<'a> {
    block: &'a [u8],
    fmt: DirFormat,
    offset: usize,
    include_free: bool,
    done: bool,
}

/// Iterates over the in-use entries of `block` (free entries are validated
/// but skipped).
pub fn entries(block: &[u8], fmt: DirFormat) -> DirIter<'_> {
    DirIter {
        block,
        fmt,
        offset: 0,
        include_free: false,
        done: false,
    }
}

/// Iterates over all entries of `block`, free ones (inode 0) included.
pub fn all_entries(block: &[u8], fmt: DirFormat) -> DirIter<'_> {
    DirIter {
        include_free: true,
        ..entries(block, fmt)
    }
}

/// Decodes and checks the entry at `offs`, like one round of the loop in
/// `ext2_check_folio()`.
fn parse_entry(block: &[u8], offs: usize, fmt: DirFormat) -> Result<DirEntry<'_>, Corrupt> {
    let offset = sat_u32(offs);
    let short = Corrupt::DirBadTail { offset };
    let inode = read_u32(block, offs).ok_or(short)?;
    let rec_len = usize::from(read_u16(block, offs + 4).ok_or(short)?);
    let (name_len, file_type) = if fmt.filetype {
        let nl = block.get(offs + 6).copied().ok_or(short)?;
        let ft = block.get(offs + 7).copied().ok_or(short)?;
        (usize::from(nl), ft)
    } else {
        (usize::from(read_u16(block, offs + 6).ok_or(short)?), 0)
    };
    let rl = sat_u32(rec_len);
    if rec_len < MIN_REC_LEN {
        return Err(Corrupt::DirRecLenTooSmall {
            offset,
            rec_len: rl,
        });
    }
    if rec_len % 4 != 0 {
        return Err(Corrupt::DirRecLenUnaligned {
            offset,
            rec_len: rl,
        });
    }
    if rec_len < rec_len_for(name_len) || name_len > NAME_MAX {
        return Err(Corrupt::DirNameLenTooBig {
            offset,
            name_len: sat_u32(name_len),
        });
    }
    if offs
        .checked_add(rec_len)
        .is_none_or(|end| end > block.len())
    {
        return Err(Corrupt::DirEntrySpansBlock {
            offset,
            rec_len: rl,
        });
    }
    if inode > fmt.inodes_count {
        return Err(Corrupt::DirInodeOutOfRange { offset, inode });
    }
    let start = offs + DIRENT_HEADER;
    let name = block
        .get(start..start + name_len)
        .ok_or(Corrupt::DirNameLenTooBig {
            offset,
            name_len: sat_u32(name_len),
        })?;
    Ok(DirEntry {
        offset: offs,
        inode,
        rec_len,
        file_type,
        name,
    })
}

impl<'a> Iterator for DirIter<'a> {
    type Item = Result<DirEntry<'a>, Corrupt>;

    fn next(&mut self) -> Option<Self::Item> {
        while !self.done {
            let offs = self.offset;
            if offs.saturating_add(MIN_REC_LEN) > self.block.len() {
                self.done = true;
                if offs != self.block.len() {
                    return Some(Err(Corrupt::DirBadTail {
                        offset: sat_u32(offs),
                    }));
                }
                return None;
            }
            match parse_entry(self.block, offs, self.fmt) {
                Err(e) => {
                    self.done = true;
                    return Some(Err(e));
                }
                Ok(e) => {
                    self.offset = offs + e.rec_len;
                    if e.inode != 0 || self.include_free {
                        return Some(Ok(e));
                    }
                }
            }
        }
        None
    }
}

/// Checks every entry of `block` like `ext2_check_folio()`.
pub fn check_block(block: &[u8], fmt: DirFormat) -> Result<(), Corrupt> {
    for e in all_entries(block, fmt) {
        e?;
    }
    Ok(())
}

/// Finds the in-use entry called `name` in `block`.
pub fn find_entry<'a>(
    block: &'a [u8],
    name: &[u8],
    fmt: DirFormat,
) -> Result<Option<DirEntry<'a>>, Corrupt> {
    for e in entries(block, fmt) {
        let e = e?;
        if e.name == name {
            return Ok(Some(e));
        }
    }
    Ok(None)
}

/// The entry that starts at `offset` of `block`, free or in use, the
/// entries before it checked on the way; `None` if no entry starts there.
pub fn entry_at(
    block: &[u8],
    offset: usize,
    fmt: DirFormat,
) -> Result<Option<DirEntry<'_>>, Corrupt> {
    for e in all_entries(block, fmt) {
        let e = e?;
        if e.offset >= offset {
            return Ok((e.offset == offset).then_some(e));
        }
    }
    Ok(None)
}

/// The entry that starts at `offset` of `block`, free or in use, checked
/// on its own as the walk checks each entry (its header, its inode
/// number's range, its record and name inside the block) without walking
/// the entries before it: for an offset that the directory index took
/// from a block it checked whole, and that every change of the block
/// since kept an entry start. Only the offset is trusted: a block changed
/// by other means (a write to the device, a block that a corrupt image
/// shares with another file, a failed write whose buffer was reclaimed)
/// may yield an entry that the walk would not reach, or an error.
pub fn entry_at_indexed(
    block: &[u8],
    offset: usize,
    fmt: DirFormat,
) -> Result<DirEntry<'_>, Corrupt> {
    parse_entry(block, offset, fmt)
}

/// The longest record a new entry could take in `block`: what
/// [`find_slot`] would find room for (a new entry of `rec_len_for(n)`
/// bytes fits if this is at least that). The whole block is checked.
pub fn room(block: &[u8], fmt: DirFormat) -> Result<usize, Corrupt> {
    // A closure that never stops the scan: never `Ok(None)`.
    scan(block, fmt, |_| true).map(|r| r.unwrap_or(0))
}

/// Checks every entry of `block`, calls `f` on each in-use one, and
/// returns the block's [`room`]: one pass where `entries` and `room`
/// would take two. As soon as `f` returns `false`, returns `Ok(None)`,
/// the rest of the block unchecked.
pub fn scan(
    block: &[u8],
    fmt: DirFormat,
    mut f: impl FnMut(&DirEntry<'_>) -> bool,
) -> Result<Option<usize>, Corrupt> {
    let mut best = 0;
    for e in all_entries(block, fmt) {
        let e = e?;
        if e.inode != 0 && !f(&e) {
            return Ok(None);
        }
        best = best.max(entry_room(&e));
    }
    Ok(Some(best))
}

/// Why a directory block could not be changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DirError {
    /// The block is corrupt.
    Corrupt(Corrupt),
    /// An entry with the name already exists.
    Exists {
        /// Its offset.
        offset: usize,
    },
    /// The entry at the offset has no room for the name.
    NoSpace,
    /// The name is empty or longer than 255 bytes.
    BadName,
    /// The inode number is 0 or above `s_inodes_count`.
    BadInode,
    /// The block size cannot hold the requested layout.
    BadBlockSize,
    /// No (in-use, where required) entry starts at the offset.
    NotAnEntry {
        /// The offset.
        offset: usize,
    },
}

impl DirError {
    /// A message naming the problem.
    pub fn describe(&self) -> &'static str {
        match self {
            DirError::Corrupt(c) => c.describe(),
            DirError::Exists { .. } => "directory entry already exists",
            DirError::NoSpace => "no room for the directory entry",
            DirError::BadName => "invalid name length",
            DirError::BadInode => "invalid inode number for a directory entry",
            DirError::BadBlockSize => "invalid directory block size",
            DirError::NotAnEntry { .. } => "no directory entry at this offset",
        }
    }
}

impl From<Corrupt> for DirError {
    fn from(c: Corrupt) -> Self {
        DirError::Corrupt(c)
    }
}

fn check_name(name: &[u8]) -> Result<(), DirError> {
    if name.is_empty() || name.len() > NAME_MAX {
        return Err(DirError::BadName);
    }
    Ok(())
}

/// Finds room for an entry called `name` the way `ext2_add_link()` does:
/// the first free entry long enough, or the first in-use entry whose slack
/// (`rec_len` minus what its own name needs) is long enough. Returns the
/// offset of that entry (to pass to [`insert`]), `None` if the block is
/// full, or [`DirError::Exists`] if the name is already there.
pub fn find_slot(block: &[u8], name: &[u8], fmt: DirFormat) -> Result<Option<usize>, DirError> {
    Ok(find_slot_for(block, name, fmt)?.map(|s| s.offset))
}

/// Where [`find_slot_for`] found room for a name, with what
/// [`insert_prepare_in`] needs to know of the block, so that an insertion
/// walks the block once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Slot {
    /// Offset of the entry the new one goes into.
    offset: usize,
    /// That entry's inode number and record length, as found.
    inode: u32,
    rec_len: usize,
    /// The record length of the name it was found for.
    need: usize,
    /// The block's [`room`] without that entry.
    room_others: usize,
}

impl Slot {
    /// Offset of the entry the new one goes into.
    pub fn offset(&self) -> usize {
        self.offset
    }
}

/// [`find_slot`], keeping what [`insert_prepare_in`] needs: one walk of
/// the block, which checks all of it (a block with a corrupt entry is
/// refused even when the name is found before it, so that no editor
/// changes a corrupt block).
pub fn find_slot_for(block: &[u8], name: &[u8], fmt: DirFormat) -> Result<Option<Slot>, DirError> {
    check_name(name)?;
    let need = rec_len_for(name.len());
    let mut slot: Option<Slot> = None;
    let mut exists = None;
    let mut room = 0;
    for e in all_entries(block, fmt) {
        let e = e?;
        if e.inode != 0 && e.name == name && exists.is_none() {
            exists = Some(e.offset);
        }
        if slot.is_none() && fits(&e, need) {
            slot = Some(Slot {
                offset: e.offset,
                inode: e.inode,
                rec_len: e.rec_len,
                need,
                room_others: 0,
            });
            continue;
        }
        room = room.max(entry_room(&e));
    }
    if let Some(offset) = exists {
        return Err(DirError::Exists { offset });
    }
    Ok(slot.map(|s| Slot {
        room_others: room,
        ..s
    }))
}

/// What a new entry could take of `e`: all of a free entry, the slack of
/// an in-use one (as [`room`] counts it).
fn entry_room(e: &DirEntry<'_>) -> usize {
    if e.inode == 0 {
        e.rec_len
    } else {
        e.rec_len.saturating_sub(used_len(e))
    }
}

/// Checks the name and inode number of a new entry; returns the record
/// length it needs.
fn check_new_entry(name: &[u8], inode: u32, fmt: DirFormat) -> Result<usize, DirError> {
    check_name(name)?;
    if inode == 0 || inode > fmt.inodes_count {
        return Err(DirError::BadInode);
    }
    Ok(rec_len_for(name.len()))
}

/// Bytes an in-use entry keeps when it is split: what its name needs, but
/// never less than [`MIN_REC_LEN`] (an entry with an empty name would
/// otherwise be left with an invalid `rec_len` of 8).
fn used_len(e: &DirEntry<'_>) -> usize {
    rec_len_for(e.name.len()).max(MIN_REC_LEN)
}

/// Whether an entry of `need` bytes can go in `e` (reusing or splitting it).
fn fits(e: &DirEntry<'_>, need: usize) -> bool {
    if e.inode == 0 {
        e.rec_len >= need
    } else {
        e.rec_len >= used_len(e).saturating_add(need)
    }
}

/// Writes the header and name of an entry at `offs` (the caller has checked
/// that `rec_len_for(name.len())` bytes fit there), keeping its `rec_len`.
fn write_entry(block: &mut [u8], offs: usize, inode: u32, ftype: u8, name: &[u8], fmt: DirFormat) {
    write_u32(block, offs, inode);
    if fmt.filetype {
        if let Some(b) = block.get_mut(offs + 6..offs + 8) {
            b.copy_from_slice(&[name.len() as u8, ftype]);
        }
    } else {
        write_u16(block, offs + 6, name.len() as u16);
    }
    let start = offs + DIRENT_HEADER;
    let end = offs + rec_len_for(name.len());
    if let Some(area) = block.get_mut(start..end) {
        let (dst, pad) = area.split_at_mut(name.len().min(area.len()));
        dst.copy_from_slice(name.get(..dst.len()).unwrap_or(&[]));
        pad.fill(0);
    }
}

/// An entry found by [`locate`].
struct Located {
    /// Offset and record length of the entry before it, if any.
    prev: Option<(usize, usize)>,
    /// What of the entry before it its own name keeps (0 if it is free).
    prev_used: usize,
    /// Its record length.
    rec_len: usize,
    /// Its inode.
    inode: u32,
    /// The block's [`room`] without it and the entry before it.
    room_others: usize,
}

/// The entry starting exactly at `offset`, and the one before it. The
/// whole block is checked, the entries after it too: no editor changes a
/// corrupt block, so that a change, once written, is never followed by an
/// error from the same block.
fn locate(block: &[u8], offset: usize, fmt: DirFormat) -> Result<Located, DirError> {
    let mut prev: Option<(usize, usize, usize, usize)> = None;
    let mut found = None;
    let mut room = 0;
    for e in all_entries(block, fmt) {
        let e = e?;
        if found.is_some() || e.offset > offset {
            room = room.max(entry_room(&e));
            continue;
        }
        if e.offset == offset {
            found = Some((e.rec_len, e.inode));
        } else {
            // The entry before becomes one of the others.
            if let Some((.., r)) = prev {
                room = room.max(r);
            }
            let used = if e.inode == 0 { 0 } else { used_len(&e) };
            prev = Some((e.offset, e.rec_len, used, entry_room(&e)));
        }
    }
    let (rec_len, inode) = found.ok_or(DirError::NotAnEntry { offset })?;
    Ok(Located {
        prev: prev.map(|(o, l, ..)| (o, l)),
        prev_used: prev.map_or(0, |(_, _, u, _)| u),
        rec_len,
        inode,
        room_others: room,
    })
}

/// An entry written by [`insert_prepare`] but not yet part of the block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pending {
    /// Offset of the entry it goes into (from [`find_slot`]).
    at: usize,
    /// Offset of the new entry.
    new: usize,
    /// The inode number, set by [`insert_commit`] for a reused free entry.
    inode: u32,
    /// For a split entry: the `rec_len` it keeps (else 0: a reused one).
    keep: usize,
    /// For a split entry: its `rec_len` before the split.
    whole: usize,
    /// The block's [`room`] once the entry is committed.
    room: usize,
}

impl Pending {
    /// Offset of the new entry in the block.
    pub fn offset(&self) -> usize {
        self.new
    }

    /// The block's [`room`] once [`insert_commit`] has run: computed by
    /// the scan that prepared the entry, so that no third scan is needed.
    pub fn room(&self) -> usize {
        self.room
    }
}

/// First half of adding an entry for `inode` called `name` with type
/// `ftype` (ignored without `filetype`) in the entry at `offset` (from
/// [`find_slot`]): writes the new entry where nothing in the block sees
/// it yet. In a free entry that is everything but its inode number (0
/// keeps it free); in an in-use entry it goes into the slack after the
/// entry's own name, which keeps its `rec_len`. The block is valid and
/// unchanged to readers after this step and after [`insert_commit`], and
/// the commit changes one aligned 16- or 32-bit field, which persistent
/// memory writes atomically: a crash with either step torn or lost never
/// leaves a block that fails [`check_block`].
pub fn insert_prepare(
    block: &mut [u8],
    offset: usize,
    inode: u32,
    ftype: u8,
    name: &[u8],
    fmt: DirFormat,
) -> Result<Pending, DirError> {
    let need = check_new_entry(name, inode, fmt)?;
    let mut target = None;
    // The room of every other entry, as `room` counts it.
    let mut room = 0;
    for e in all_entries(block, fmt) {
        let e = e?;
        if e.inode != 0 && e.name == name {
            return Err(DirError::Exists { offset: e.offset });
        }
        if e.offset == offset {
            target = Some((e.inode, e.rec_len));
        } else {
            room = room.max(entry_room(&e));
        }
    }
    let (old_inode, rec_len) = target.ok_or(DirError::NotAnEntry { offset })?;
    let slot = Slot {
        offset,
        inode: old_inode,
        rec_len,
        need,
        room_others: room,
    };
    insert_prepare_in(block, &slot, inode, ftype, name, fmt)
}

/// [`insert_prepare`] in the entry of `slot`, which [`find_slot_for`]
/// found for `name` in this block as it is. The block is not walked
/// again: the entry's inode number and record length are checked to be
/// those found ([`DirError::NotAnEntry`] if not), and the name's length
/// to be that of the name it was found for ([`DirError::BadName`]).
pub fn insert_prepare_in(
    block: &mut [u8],
    slot: &Slot,
    inode: u32,
    ftype: u8,
    name: &[u8],
    fmt: DirFormat,
) -> Result<Pending, DirError> {
    let need = check_new_entry(name, inode, fmt)?;
    let offset = slot.offset;
    if need != slot.need {
        return Err(DirError::BadName);
    }
    let e = parse_entry(block, offset, fmt)?;
    if e.inode != slot.inode || e.rec_len != slot.rec_len {
        return Err(DirError::NotAnEntry { offset });
    }
    if !fits(&e, need) {
        return Err(DirError::NoSpace);
    }
    let (old_inode, rec_len, used) = (e.inode, e.rec_len, used_len(&e));
    let room = slot.room_others;
    let ftype = if fmt.filetype { ftype } else { 0 };
    // The new entry is in use, with `need.max(MIN_REC_LEN)` bytes of its
    // record its own; a split entry keeps none to spare.
    let own = need.max(MIN_REC_LEN);
    if old_inode == 0 {
        write_entry(block, offset, 0, ftype, name, fmt);
        return Ok(Pending {
            at: offset,
            new: offset,
            inode,
            keep: 0,
            whole: rec_len,
            room: room.max(rec_len.saturating_sub(own)),
        });
    }
    let new = offset + used;
    write_u16(block, new + 4, (rec_len - used) as u16);
    write_entry(block, new, inode, ftype, name, fmt);
    Ok(Pending {
        at: offset,
        new,
        inode,
        keep: used,
        whole: rec_len,
        room: room.max((rec_len - used).saturating_sub(own)),
    })
}

/// Second half of an insertion: makes the entry written by
/// [`insert_prepare`] part of the block, by setting the inode number of
/// a reused free entry, or by shrinking the split entry's `rec_len` to
/// end where the new entry starts.
pub fn insert_commit(block: &mut [u8], p: &Pending) {
    if p.keep == 0 {
        write_u32(block, p.new, p.inode);
    } else {
        write_u16(block, p.at + 4, p.keep as u16);
    }
}

/// Takes back an [`insert_commit`] whose write failed: the block is again
/// as [`insert_prepare`] left it, without the new entry. The same one
/// field changes, so the rewrite is as safe as the commit.
pub fn insert_undo(block: &mut [u8], p: &Pending) {
    if p.keep == 0 {
        write_u32(block, p.new, 0);
    } else {
        write_u16(block, p.at + 4, p.whole as u16);
    }
}

/// Adds an entry for `inode` called `name` with type `ftype` (ignored
/// without `filetype`) in the entry at `offset` (from [`find_slot`]): a free
/// entry is reused whole, an in-use one is split after its own name like
/// `ext2_add_link()`. Returns the offset of the new entry. Both halves at
/// once ([`insert_prepare`], [`insert_commit`]), for blocks no one can
/// see yet.
pub fn insert(
    block: &mut [u8],
    offset: usize,
    inode: u32,
    ftype: u8,
    name: &[u8],
    fmt: DirFormat,
) -> Result<usize, DirError> {
    let p = insert_prepare(block, offset, inode, ftype, name, fmt)?;
    insert_commit(block, &p);
    Ok(p.offset())
}

/// Removes the in-use entry at `offset` like `ext2_delete_entry()`: it is
/// merged into the previous entry, or marked free (inode 0) if it is the
/// first of the block. Each change is one aligned field, and either one
/// alone leaves a valid block without the entry (hidden in the previous
/// one's `rec_len`, or free), so a torn write of the block is harmless.
/// Returns what [`restore`] needs to take the removal back.
pub fn remove(block: &mut [u8], offset: usize, fmt: DirFormat) -> Result<Removed, DirError> {
    let found = locate(block, offset, fmt)?;
    if found.inode == 0 {
        return Err(DirError::NotAnEntry { offset });
    }
    let mut prev = None;
    // What a new entry could take of the record that takes the entry in.
    let mut freed = found.rec_len;
    if let Some((poffs, old)) = found.prev {
        let merged =
            u16::try_from(offset + found.rec_len - poffs).map_err(|_| DirError::BadBlockSize)?;
        // `old` was read from the block's 16-bit field.
        prev = Some((poffs, old as u16));
        write_u16(block, poffs + 4, merged);
        freed = usize::from(merged).saturating_sub(found.prev_used);
    }
    write_u32(block, offset, 0);
    Ok(Removed {
        offset,
        inode: found.inode,
        prev,
        room: found.room_others.max(freed),
    })
}

/// An entry taken out of its block by [`remove`], whose bytes are still
/// there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Removed {
    /// Its offset.
    offset: usize,
    /// Its inode number.
    inode: u32,
    /// The entry before it, which took in its record: offset and old
    /// `rec_len`.
    prev: Option<(usize, u16)>,
    /// The block's [`room`] without the entry.
    room: usize,
}

impl Removed {
    /// The block's [`room`] once the entry is removed: counted by the
    /// walk that found it, so that the block needs no second walk.
    pub fn room(&self) -> usize {
        self.room
    }
}

/// Takes back a [`remove`] whose write failed, on the block it changed,
/// with nothing changed in between: the entry is in use again, where it
/// was.
pub fn restore(block: &mut [u8], r: &Removed) {
    write_u32(block, r.offset, r.inode);
    if let Some((poffs, rec_len)) = r.prev {
        write_u16(block, poffs + 4, rec_len);
    }
}

/// Points the in-use entry at `offset` to `inode` with type `ftype`, like
/// `ext2_set_link()` (used by rename).
pub fn set_inode(
    block: &mut [u8],
    offset: usize,
    inode: u32,
    ftype: u8,
    fmt: DirFormat,
) -> Result<(), DirError> {
    if inode == 0 || inode > fmt.inodes_count {
        return Err(DirError::BadInode);
    }
    if locate(block, offset, fmt)?.inode == 0 {
        return Err(DirError::NotAnEntry { offset });
    }
    write_u32(block, offset, inode);
    if fmt.filetype {
        if let Some(b) = block.get_mut(offset + 7) {
            *b = ftype;
        }
    }
    Ok(())
}

/// The type byte of the entry at `offset`, `FT_UNKNOWN` without
/// `filetype`.
pub fn type_at(block: &[u8], offset: usize, fmt: DirFormat) -> u8 {
    if fmt.filetype {
        block.get(offset + 7).copied().unwrap_or(FT_UNKNOWN)
    } else {
        FT_UNKNOWN
    }
}

/// The writes, each its own ordering point, that point the in-use entry
/// at `offset` to `inode` of type `ftype` (rename over a name, exchange),
/// as `(inode, type)` pairs for [`set_inode`] with the number of them.
///
/// Persistent memory persists a write 8 bytes at a time, and entries
/// start on 4-byte boundaries: at an offset of 4 modulo 8 an entry's inode
/// number and its type byte lie in different words, so one write that
/// changes both may persist one and not the other, leaving the entry
/// naming one inode with another's type (a tree walker trusting `d_type`
/// then opens a file as a directory, or skips a directory). Then, when the
/// type changes, the type goes to `FT_UNKNOWN` first, the inode number
/// next, the new type last: every crash leaves the entry's type right or
/// unknown. Otherwise one write does.
pub fn set_inode_steps(
    block: &[u8],
    offset: usize,
    inode: u32,
    ftype: u8,
    fmt: DirFormat,
) -> Result<([(u32, u8); 3], usize), DirError> {
    let old = locate(block, offset, fmt)?;
    if old.inode == 0 {
        return Err(DirError::NotAnEntry { offset });
    }
    let ftype = if fmt.filetype { ftype } else { FT_UNKNOWN };
    let old_ft = type_at(block, offset, fmt);
    let mut steps = [(inode, ftype); 3];
    if offset % 8 == 0 || old_ft == ftype {
        return Ok((steps, 1));
    }
    let mut n = 0;
    if old_ft != FT_UNKNOWN {
        steps[n] = (old.inode, FT_UNKNOWN);
        n += 1;
    }
    steps[n] = (inode, FT_UNKNOWN);
    n += 1;
    if ftype != FT_UNKNOWN {
        steps[n] = (inode, ftype);
        n += 1;
    }
    Ok((steps, n))
}

/// Checks that `len` can be a directory block holding entries of at least
/// `min` bytes.
fn check_block_len(len: usize, min: usize) -> Result<u16, DirError> {
    if len < min || len % 4 != 0 {
        return Err(DirError::BadBlockSize);
    }
    u16::try_from(len).map_err(|_| DirError::BadBlockSize)
}

/// Makes `block` an empty directory block: one free entry spanning it.
pub fn init_empty(block: &mut [u8]) -> Result<(), DirError> {
    let len = check_block_len(block.len(), MIN_REC_LEN)?;
    block.fill(0);
    write_u16(block, 4, len);
    Ok(())
}

/// Makes `block` the first block of a new directory: "." (`self_ino`,
/// `rec_len` 12) and ".." (`parent_ino`, the rest), like `ext2_make_empty()`.
pub fn make_empty_dir(
    block: &mut [u8],
    self_ino: u32,
    parent_ino: u32,
    fmt: DirFormat,
) -> Result<(), DirError> {
    let len = check_block_len(block.len(), 2 * MIN_REC_LEN)?;
    for ino in [self_ino, parent_ino] {
        if ino == 0 || ino > fmt.inodes_count {
            return Err(DirError::BadInode);
        }
    }
    block.fill(0);
    write_u16(block, 4, MIN_REC_LEN as u16);
    write_entry(block, 0, self_ino, FT_DIR, b".", fmt);
    write_u16(block, MIN_REC_LEN + 4, len - MIN_REC_LEN as u16);
    write_entry(block, MIN_REC_LEN, parent_ino, FT_DIR, b"..", fmt);
    Ok(())
}

/// Whether `block` holds no in-use entries but "." and "..", checked like
/// `ext2_empty_dir()` (a "." naming another inode counts as not empty).
pub fn is_empty_dir_block(block: &[u8], self_ino: u32, fmt: DirFormat) -> Result<bool, Corrupt> {
    for e in entries(block, fmt) {
        let e = e?;
        let empty = match e.name {
            b"." => e.inode == self_ino,
            b".." => true,
            _ => false,
        };
        if !empty {
            return Ok(false);
        }
    }
    Ok(true)
}
