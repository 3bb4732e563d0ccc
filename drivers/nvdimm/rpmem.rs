// SPDX-License-Identifier: GPL-2.0

//! rpmem: persistent memory driver for raw libnvdimm namespaces.
//!
//! The Rust counterpart of `drivers/nvdimm/pmem.c` for raw namespaces. Each
//! namespace is mapped with struct pages (as `MEMORY_DEVICE_FS_DAX`), exposed
//! as the bio-based disk `rpmemN`, and registered as a DAX device, so that
//! file systems mounted with `-o dax` reach the memory with loads and stores.
//!
//! Block I/O copies with cache-bypassing stores (writes) and
//! machine-check-safe loads (reads); `REQ_PREFLUSH` and `REQ_FUA` end in
//! `nvdimm_flush`. Known bad sectors fail block I/O with `-EIO` and direct
//! access with `-EHWPOISON`. See `Documentation/driver-api/nvdimm/rpmem.rst`.

use kernel::{
    block::{
        badblocks::BadBlocks,
        bio::{self, Bio, Features, Op, QueueLimits},
    },
    dax::{self, AccessMode, DaxDevice, DirectAccess},
    device,
    iov::IovIterSource,
    memremap::DevPagemap,
    nvdimm::{self, Namespace, NamespaceTypes, Region},
    pmem::PmemRange,
    prelude::*,
    sync::{aref::ARef, Arc},
};

kernel::module_nd_driver! {
    type: Rpmem,
    name: "rpmem",
    authors: ["rpmem developers"],
    description: "Rust persistent memory driver for raw NVDIMM namespaces",
    license: "GPL",
}

const SECTOR_SHIFT: u32 = 9;
const PAGE_SIZE: u64 = kernel::page::PAGE_SIZE as u64;

/// Signatures of the info blocks that btt, pfn (fsdax) and dax (devdax)
/// personalities write 4 KiB into a namespace.
const INFO_BLOCK_OFFSET: u64 = 4096;
const INFO_SIGNATURES: [(&[u8], &str); 3] = [
    (b"BTT_ARENA_INFO\0", "sector (btt)"),
    (b"NVDIMM_PFN_INFO\0", "fsdax (pfn)"),
    (b"NVDIMM_DAX_INFO\0", "devdax"),
];

/// One bound namespace: its mapping, bad blocks, region and device.
#[pin_data]
struct Pmem {
    #[pin]
    map: DevPagemap,
    #[pin]
    bb: BadBlocks,
    region: ARef<Region>,
    dev: ARef<device::Device>,
}

impl Pmem {
    /// Asks the platform to clear poison in `len` bytes at device offset
    /// `off`; returns the bytes cleared from `off` (page granular).
    fn clear_media_poison(&self, off: u64, len: u64) -> Result<u64> {
        let len32 = u32::try_from(len).map_err(|_| EIO)?;
        let cleared = nvdimm::clear_poison(&self.dev, self.map.phys_start() + off, len32)?;
        if cleared > 0 {
            self.map.range(off, cleared as usize)?.invalidate_cache();
        }
        Ok(cleared)
    }

    /// Forgets the bad sectors of the first `cleared` bytes at `off`.
    fn clear_badblocks(&self, off: u64, cleared: u64) {
        if cleared >= 1 << SECTOR_SHIFT {
            self.bb.clear(off >> SECTOR_SHIFT, cleared >> SECTOR_SHIFT);
        }
    }

    /// Repairs `len` bad bytes at `off` before they are overwritten, as
    /// pmem.c does on writes: fails unless all of them were cleared.
    fn clear_poison(&self, off: u64, len: u64) -> Result {
        let cleared = self.clear_media_poison(off, len).map_err(|_| EIO)?;
        self.clear_badblocks(off, cleared);
        if cleared < len {
            return Err(EIO);
        }
        Ok(())
    }

    /// Device offset of `sector`, if the `len` bytes from there are mapped.
    fn offset(&self, sector: u64, len: u64) -> Result<u64> {
        let off = sector.checked_shl(SECTOR_SHIFT).ok_or(EIO)?;
        match off.checked_add(len) {
            Some(end) if end <= self.map.len() => Ok(off),
            _ => Err(EIO),
        }
    }
}

#[vtable]
impl bio::Operations for Pmem {
    fn submit_bio(this: &Self, bio: &Bio) -> Result {
        if bio.is_preflush() {
            this.region.flush()?;
        }
        if bio.has_data() {
            let write = match bio.op() {
                Op::Write => true,
                Op::Read => false,
                _ => return Err(EOPNOTSUPP),
            };
            for seg in bio.segments() {
                let len = seg.len() as u64;
                let off = this.offset(seg.sector(), len)?;
                if this.bb.check(seg.sector(), len >> SECTOR_SHIFT).is_some() {
                    // Reads of known-bad sectors fail; writes repair them
                    // first, or fail.
                    if !write {
                        return Err(EIO);
                    }
                    this.clear_poison(off, len)?;
                }
                let range = this.map.range(off, seg.len())?;
                if write {
                    range.write_segment(&seg)?;
                } else {
                    range.read_segment(&seg).map_err(|_| EIO)?;
                }
            }
        }
        if bio.is_fua() {
            this.region.flush()?;
        }
        Ok(())
    }

    fn badblocks(this: &Self) -> Option<&BadBlocks> {
        Some(&this.bb)
    }
}

#[vtable]
impl dax::Operations for Pmem {
    fn direct_access(
        this: &Self,
        pgoff: u64,
        nr_pages: u64,
        mode: AccessMode,
    ) -> Result<DirectAccess<'_>> {
        let off = pgoff.checked_mul(PAGE_SIZE).ok_or(ENXIO)?;
        let da = this.map.direct_access(off).map_err(|_| ENXIO)?;
        let sector = off >> SECTOR_SHIFT;
        let sectors = nr_pages.saturating_mul(PAGE_SIZE >> SECTOR_SHIFT);
        if let Some(bad) = this.bb.check(sector, sectors) {
            if mode != AccessMode::RecoveryWrite {
                return Err(kernel::error::code::EHWPOISON);
            }
            // Up to the first bad page, in page-sized recovery strides.
            // (A bad range may start before `sector`: then nothing is good.)
            let good = (bad.first.saturating_sub(sector) << SECTOR_SHIFT).div_ceil(PAGE_SIZE);
            return Ok(da.limit(good.max(1)));
        }
        if this.bb.count() > 0 {
            // Bad blocks elsewhere: vouch only for the range asked about.
            return Ok(da.limit(nr_pages));
        }
        Ok(da)
    }

    fn zero_page_range(this: &Self, pgoff: u64, nr_pages: u64) -> Result {
        let off = pgoff.checked_mul(PAGE_SIZE).ok_or(EIO)?;
        let len = nr_pages.checked_mul(PAGE_SIZE).ok_or(EIO)?;
        this.offset(off >> SECTOR_SHIFT, len)?;
        if this
            .bb
            .check(off >> SECTOR_SHIFT, len >> SECTOR_SHIFT)
            .is_some()
        {
            return Err(EIO);
        }
        this.map.range(off, usize::try_from(len)?)?.zero();
        Ok(())
    }

    fn recovery_write(
        this: &Self,
        pgoff: u64,
        dst: PmemRange<'_>,
        src: &mut IovIterSource<'_>,
    ) -> usize {
        let Some(off) = pgoff.checked_mul(PAGE_SIZE) else {
            return 0;
        };
        let in_page = dst.page_offset() as u64;
        let len = (in_page + dst.len() as u64).next_multiple_of(PAGE_SIZE);
        if this
            .bb
            .check(off >> SECTOR_SHIFT, len >> SECTOR_SHIFT)
            .is_none()
        {
            return dst.write_from_iter(src);
        }
        // Poison is cleared a page at a time: a partial page cannot be
        // recovered (the DAX core does not ask for one).
        if in_page != 0 || dst.len() as u64 % PAGE_SIZE != 0 {
            dev_dbg!(this.dev, "poison in a range that is not page aligned\n");
            return 0;
        }
        match this.clear_media_poison(off, len) {
            Ok(cleared) if cleared == len => {
                let written = dst.write_from_iter(src);
                // Only now may readers see the sectors as good again.
                this.clear_badblocks(off, cleared);
                written
            }
            Ok(cleared) => {
                dev_dbg!(
                    this.dev,
                    "poison cleared only {} of {} bytes\n",
                    cleared,
                    len
                );
                0
            }
            Err(e) => {
                dev_dbg!(this.dev, "poison clear failed: {:?}\n", e);
                0
            }
        }
    }
}

/// Refuses namespaces that carry a btt, pfn or dax info block: their data
/// does not start at offset 0, and binding them raw would expose (and let
/// a file system overwrite) the metadata.
fn check_info_block(ns: &Namespace<device::Core<'_>>) -> Result {
    let mut sig = [0u8; 16];
    ns.read_bytes(INFO_BLOCK_OFFSET, &mut sig)?;
    for (magic, what) in INFO_SIGNATURES {
        if sig.starts_with(magic) {
            dev_err!(
                ns.as_ref(),
                "namespace holds a {} info block: bind nd_pmem, or make it raw (ndctl create-namespace -f -e <ns> -m raw)\n",
                what
            );
            return Err(EBUSY);
        }
    }
    Ok(())
}

/// What a bound namespace owns: the disk, which owns the DAX device and
/// through both the mapping.
struct RpmemDevice {
    _disk: bio::Disk<Pmem, Pmem>,
}

struct Rpmem;

impl Rpmem {
    fn attach(ns: &Namespace<device::Core<'_>>) -> Result<RpmemDevice> {
        check_info_block(ns)?;

        let res = ns.resource();
        let nid = ns.numa_node();
        let region = ns.region();
        if res.start % PAGE_SIZE != 0 || res.len % PAGE_SIZE != 0 || res.len == 0 {
            dev_err!(
                ns.as_ref(),
                "namespace {:#x}+{:#x} is not page aligned\n",
                res.start,
                res.len
            );
            return Err(ENXIO);
        }

        let pmem = Arc::pin_init(
            try_pin_init!(Pmem {
                map <- DevPagemap::new_fsdax(res.start, res.len, nid),
                bb <- BadBlocks::new(),
                region: region.to_owned(),
                dev: ARef::from(&**ns.as_ref()),
            }),
            GFP_KERNEL,
        )?;
        region.populate_badblocks(&pmem.bb, res);

        let mut features = Features::WRITE_CACHE | Features::SYNCHRONOUS | Features::DAX;
        match region.has_flush() {
            Some(true) => features |= Features::FUA,
            Some(false) => {}
            None => dev_warn!(ns.as_ref(), "unable to guarantee persistence of writes\n"),
        }
        let limits = QueueLimits::new()
            .logical_block_size(ns.sector_size())?
            .physical_block_size(PAGE_SIZE as u32)?
            .max_hw_sectors(u32::MAX)
            .features(features);

        let dax = DaxDevice::new(pmem.clone())?;
        dax.set_nocache();
        dax.set_nomc();
        if region.is_sync() {
            dax.set_synchronous();
        }
        dax.set_write_cache(region.has_cache());
        // Memory failures in the mapping go to whoever mounts the disk.
        pmem.map.set_failure_notifier(dax.holder_notifier())?;

        let name = ns.disk_name()?;
        let disk = bio::Builder::new(limits, res.len >> SECTOR_SHIFT)
            .numa_node(nid)
            .build(
                format_args!("r{}", name.to_str()?),
                ns.as_ref(),
                pmem,
                Some(dax),
            )?;
        dev_info!(
            ns.as_ref(),
            "{}: {} MiB at {:#x}, DAX{}\n",
            disk.name().to_str()?,
            res.len >> 20,
            res.start,
            if region.is_sync() { ", MAP_SYNC" } else { "" }
        );
        Ok(RpmemDevice { _disk: disk })
    }
}

impl nvdimm::Driver for Rpmem {
    const TYPES: NamespaceTypes = NamespaceTypes::IO.union(NamespaceTypes::PMEM);
    type Data<'bound> = RpmemDevice;

    fn probe<'bound>(
        ns: &'bound Namespace<device::Core<'_>>,
    ) -> impl PinInit<RpmemDevice, Error> + 'bound {
        Self::attach(ns)
    }

    fn unbind<'bound>(ns: &'bound Namespace<device::Core<'_>>, _this: Pin<&RpmemDevice>) {
        // As nd_pmem: what reached the platform's queues becomes durable.
        let _ = ns.region().flush();
    }
}
