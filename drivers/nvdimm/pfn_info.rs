// SPDX-License-Identifier: GPL-2.0

//! The fsdax (pfn) info block: what `ndctl create-namespace -m fsdax`
//! leaves 4 KiB into a namespace (`struct nd_pfn_sb`,
//! `drivers/nvdimm/pfn.h`).
//!
//! libnvdimm's `nd_pfn_validate` decides whether a block is valid, and
//! rpmem calls it. It fails silently (`-ENODEV`) for a bad checksum or a
//! foreign parent; then nd_pmem binds the namespace raw, exposing the page
//! map to whatever mounts the disk, and a configured fsdax device writes a
//! new block over it. rpmem checks the block here first, so that it can
//! refuse such a namespace with a message that names the field, and it
//! refuses some blocks libnvdimm's checks let through and its setup or
//! `memremap_pages` then fail on (a data offset inside the info block
//! reserve, or leaving less room than the struct pages of the data take),
//! a major version other than 1, and the deprecated `start_pad` (the DAX
//! path is broken on those, as `pfn.h` says; nd_pmem still serves them for
//! block I/O).
//!
//! Nothing here depends on the kernel: the code uses `core` only, never
//! indexes past the block and never overflows on its values, so `tests/host`
//! unit-tests it.

use core::fmt;

/// Byte offset of the info block in the namespace.
pub const OFFSET: u64 = 4096;
/// Size of the info block.
pub const SIZE: usize = 4096;
/// `signature` of an fsdax info block (`PFN_SIG`).
pub const SIGNATURE: &[u8; 16] = b"NVDIMM_PFN_INFO\0";
/// `signature` of a devdax info block (`DAX_SIG`).
pub const DAX_SIGNATURE: &[u8; 16] = b"NVDIMM_DAX_INFO\0";
/// `signature` of a sector-mode (btt) arena (`BTT_SIG`).
pub const BTT_SIGNATURE: &[u8; 16] = b"BTT_ARENA_INFO\0\0";
/// The largest `struct page` an fsdax page map makes room for
/// (`MAX_STRUCT_PAGE_SIZE`).
pub const MAX_STRUCT_PAGE_SIZE: u64 = 64;

const CHECKSUM_OFFSET: usize = SIZE - 8;

/// Where the struct pages of the namespace live (`enum nd_pfn_mode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// `--map=mem`: in RAM (`PFN_MODE_RAM`).
    Ram,
    /// `--map=dev`: on the device, between the info block and the data
    /// (`PFN_MODE_PMEM`).
    Pmem,
}

/// The namespace an info block is checked against.
#[derive(Debug, Clone, Copy)]
pub struct Geometry {
    /// Physical address of the namespace.
    pub start: u64,
    /// Its size in bytes.
    pub size: u64,
    /// Its UUID (all zeroes for a label-less namespace).
    pub uuid: [u8; 16],
    /// `PAGE_SIZE`.
    pub page_size: u64,
    /// Bytes reserved for the info block from the start of the namespace
    /// (`nd_info_block_reserve`, 8 KiB rounded up to a page): data never
    /// starts before this.
    pub reserve: u64,
    /// `sizeof(struct page)`.
    pub struct_page_size: u64,
    /// The alignment `memremap_pages` needs of the ends of the mapped
    /// range (`memremap_compat_align`).
    pub compat_align: u64,
}

/// A valid fsdax info block, with the defaults of older minor versions
/// filled in as libnvdimm does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Info {
    /// Where the struct pages live.
    pub mode: Mode,
    /// Offset of the data from the start of the namespace.
    pub dataoff: u64,
    /// Bytes cut from the end of the namespace for alignment.
    pub end_trunc: u64,
    /// Length of the data: from `dataoff` to the end of the namespace
    /// less `end_trunc`.
    pub data_len: u64,
    /// The alignment of the mapping (derived from `dataoff` in blocks
    /// older than minor version 2, which do not record it).
    pub align: u64,
    /// The minor version.
    pub version_minor: u16,
}

/// Why an info block is refused. Each names the field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Invalid {
    /// `signature` is not `NVDIMM_PFN_INFO`.
    Signature,
    /// `checksum` does not match the block.
    Checksum {
        /// Stored.
        stored: u64,
        /// Computed over the block.
        computed: u64,
    },
    /// `version_major` is not 1.
    Version(u16),
    /// `parent_uuid` is not the namespace's UUID: the block was written
    /// for another namespace.
    ParentUuid,
    /// `mode` is neither RAM (1) nor PMEM (2).
    Mode(u32),
    /// `page_size` is larger than this kernel's pages (with the page map
    /// on the device).
    PageSize(u32),
    /// `page_struct_size` is smaller than this kernel's `struct page`
    /// (with the page map on the device).
    PageStructSize(u16),
    /// `start_pad` is not 0 (deprecated: DAX is broken on such blocks).
    StartPad(u32),
    /// `end_trunc` is larger than the namespace or leaves its end
    /// misaligned for `memremap_pages`.
    EndTrunc(u32),
    /// `align` is larger than the namespace, or not a power of two.
    Align(u32),
    /// The namespace's start is misaligned for `memremap_pages`.
    NamespaceStart(u64),
    /// `dataoff` is not page aligned or not aligned to `align`.
    DataOffsetAlign(u64),
    /// `dataoff` is inside the info block's reserve.
    DataOffsetReserve(u64),
    /// `dataoff` is past the end of the namespace (less `end_trunc`).
    DataOffsetSize(u64),
    /// `dataoff` leaves less room after the reserve than the struct pages
    /// of the data take (`--map=dev`). (The page map needs at least that:
    /// passing this check does not promise that `memremap_pages` finds
    /// room for all of it.)
    DataOffsetPageMap {
        /// `dataoff`.
        dataoff: u64,
        /// The bytes the struct pages of the data take.
        needed: u64,
    },
}

impl fmt::Display for Invalid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::Signature => write!(f, "signature is not NVDIMM_PFN_INFO"),
            Self::Checksum { stored, computed } => write!(
                f,
                "checksum {stored:#018x} does not match the block ({computed:#018x})"
            ),
            Self::Version(v) => write!(f, "version_major {v} is unknown (1 is)"),
            Self::ParentUuid => write!(f, "parent_uuid is not the namespace's uuid"),
            Self::Mode(m) => write!(f, "mode {m} is unknown (1: RAM, 2: PMEM)"),
            Self::PageSize(s) => write!(f, "page_size {s} is larger than the kernel's pages"),
            Self::PageStructSize(s) => {
                write!(
                    f,
                    "page_struct_size {s} is smaller than the kernel's struct page"
                )
            }
            Self::StartPad(p) => write!(f, "start_pad {p:#x} is deprecated (DAX is broken on it)"),
            Self::EndTrunc(t) => write!(f, "end_trunc {t:#x} is too large or misaligned"),
            Self::Align(a) => write!(f, "align {a:#x} is not a power of two within the namespace"),
            Self::NamespaceStart(s) => write!(f, "namespace start {s:#x} is misaligned"),
            Self::DataOffsetAlign(o) => write!(f, "dataoff {o:#x} is misaligned"),
            Self::DataOffsetReserve(o) => write!(f, "dataoff {o:#x} is inside the info block"),
            Self::DataOffsetSize(o) => write!(f, "dataoff {o:#x} is past the end of the namespace"),
            Self::DataOffsetPageMap { dataoff, needed } => write!(
                f,
                "dataoff {dataoff:#x} leaves no room for the page map (at least {needed:#x} bytes)"
            ),
        }
    }
}

fn le16(b: &[u8; SIZE], off: usize) -> u16 {
    u16::from_le_bytes([b[off], b[off + 1]])
}

fn le32(b: &[u8; SIZE], off: usize) -> u32 {
    u32::from_le_bytes([b[off], b[off + 1], b[off + 2], b[off + 3]])
}

fn le64(b: &[u8; SIZE], off: usize) -> u64 {
    let mut v = [0u8; 8];
    v.copy_from_slice(&b[off..off + 8]);
    u64::from_le_bytes(v)
}

/// The checksum of an info block (`nd_sb_checksum`): Fletcher-64 over
/// little-endian 32-bit words, with the checksum field counted as zero.
pub fn checksum(b: &[u8; SIZE]) -> u64 {
    let (mut lo, mut hi) = (0u32, 0u64);
    for (i, w) in b.chunks_exact(4).enumerate() {
        let word = if i * 4 >= CHECKSUM_OFFSET {
            0
        } else {
            u32::from_le_bytes([w[0], w[1], w[2], w[3]])
        };
        lo = lo.wrapping_add(word);
        hi = hi.wrapping_add(u64::from(lo));
    }
    (hi << 32) | u64::from(lo)
}

/// Stores the right checksum in `b` (for tests that build blocks).
pub fn seal(b: &mut [u8; SIZE]) {
    let sum = checksum(b);
    b[CHECKSUM_OFFSET..].copy_from_slice(&sum.to_le_bytes());
}

fn aligned(v: u64, align: u64) -> bool {
    align == 0 || v % align == 0
}

/// Checks the info block `b` of the namespace `g`, as `nd_pfn_validate`
/// does and stricter (see the module documentation).
pub fn parse(b: &[u8; SIZE], g: &Geometry) -> Result<Info, Invalid> {
    if &b[..16] != SIGNATURE {
        return Err(Invalid::Signature);
    }
    let stored = le64(b, CHECKSUM_OFFSET);
    let computed = checksum(b);
    if stored != computed {
        return Err(Invalid::Checksum { stored, computed });
    }
    let major = le16(b, 52);
    if major != 1 {
        return Err(Invalid::Version(major));
    }
    if b[32..48] != g.uuid {
        return Err(Invalid::ParentUuid);
    }
    let minor = le16(b, 54);
    let dataoff = le64(b, 56);
    let mode = match le32(b, 72) {
        1 => Mode::Ram,
        2 => Mode::Pmem,
        m => return Err(Invalid::Mode(m)),
    };
    let (mut start_pad, mut end_trunc, mut align) = (le32(b, 76), le32(b, 80), le32(b, 84));
    let (mut page_size, mut page_struct_size) = (le32(b, 88), le16(b, 92));
    if minor < 1 {
        (start_pad, end_trunc) = (0, 0);
    }
    if minor < 2 {
        align = 0;
    }
    if minor < 4 {
        (page_size, page_struct_size) = (4096, 64);
    }
    if mode == Mode::Pmem {
        if u64::from(page_size) > g.page_size {
            return Err(Invalid::PageSize(page_size));
        }
        if u64::from(page_struct_size) < g.struct_page_size {
            return Err(Invalid::PageStructSize(page_struct_size));
        }
    }
    if start_pad != 0 {
        return Err(Invalid::StartPad(start_pad));
    }
    if u64::from(align) > g.size || (align != 0 && !align.is_power_of_two()) {
        return Err(Invalid::Align(align));
    }
    if !aligned(g.start, g.compat_align) {
        return Err(Invalid::NamespaceStart(g.start));
    }
    let end_trunc = u64::from(end_trunc);
    let end = match g.size.checked_sub(end_trunc) {
        Some(len) if aligned(g.start.wrapping_add(len), g.compat_align) => len,
        _ => return Err(Invalid::EndTrunc(end_trunc as u32)),
    };
    // The mapping is aligned to `align`, or to the largest power of two
    // in `dataoff` in blocks that do not record it.
    let align = match align {
        0 if dataoff != 0 => 1 << dataoff.ilog2(),
        a => u64::from(a),
    };
    if !aligned(dataoff, g.page_size) || !aligned(g.start.wrapping_add(dataoff), align) {
        return Err(Invalid::DataOffsetAlign(dataoff));
    }
    if dataoff < g.reserve {
        return Err(Invalid::DataOffsetReserve(dataoff));
    }
    if dataoff >= end {
        return Err(Invalid::DataOffsetSize(dataoff));
    }
    if mode == Mode::Pmem && g.page_size != 0 {
        // The page map between the reserve and the data describes every
        // data page (`__nvdimm_setup_pfn`'s altmap).
        let needed = ((end - dataoff) / g.page_size).saturating_mul(g.struct_page_size);
        if dataoff - g.reserve < needed {
            return Err(Invalid::DataOffsetPageMap { dataoff, needed });
        }
    }
    Ok(Info {
        mode,
        dataoff,
        end_trunc,
        data_len: end - dataoff,
        align,
        version_minor: minor,
    })
}

/// What the 16 bytes at [`OFFSET`] say the namespace holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Personality {
    /// No info block: a raw namespace.
    Raw,
    /// An fsdax info block.
    Fsdax,
    /// A devdax info block.
    Devdax,
    /// A btt arena: sector mode.
    Sector,
}

/// The personality whose signature `sig` is.
pub fn personality(sig: &[u8; 16]) -> Personality {
    match sig {
        s if s == SIGNATURE => Personality::Fsdax,
        s if s == DAX_SIGNATURE => Personality::Devdax,
        s if s == BTT_SIGNATURE => Personality::Sector,
        _ => Personality::Raw,
    }
}
