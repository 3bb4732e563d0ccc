// SPDX-License-Identifier: GPL-2.0

//! rpmem: persistent memory driver for libnvdimm namespaces.
//!
//! The Rust counterpart of `drivers/nvdimm/pmem.c` for raw and fsdax
//! namespaces. Each is mapped with struct pages (as `MEMORY_DEVICE_FS_DAX`;
//! for fsdax, where its info block says, in RAM or on the device), exposed
//! as the bio-based disk `rpmemN`, and registered as a DAX device, so that
//! file systems mounted with `-o dax` reach the memory with loads and stores.
//!
//! Block I/O copies with cache-bypassing stores (writes) and
//! machine-check-safe loads (reads); `REQ_PREFLUSH` and `REQ_FUA` end in
//! `nvdimm_flush`. Known bad sectors fail block I/O with `-EIO` and direct
//! access with `-EHWPOISON`. See `Documentation/driver-api/nvdimm/rpmem.rst`.
//!
//! For crash-consistency testing, every write that reaches the media
//! through the driver and every fence can be appended to a log in memory,
//! read from debugfs (`record`, `log`, `mark` under `/sys/kernel/debug/rpmemN/`).
//! Off by default, where it costs one relaxed atomic load per bio.

use kernel::{
    block::{
        badblocks::BadBlocks,
        bio::{self, Bio, Features, Op, QueueLimits},
    },
    dax::{self, AccessMode, DaxDevice, DirectAccess},
    debugfs, device,
    io::resource,
    iov::IovIterSource,
    memremap::{self, DevPagemap},
    nvdimm::{self, NamespaceTypes, PhysRange, Region},
    pmem::PmemRange,
    prelude::*,
    sync::{aref::ARef, Arc},
};

kernel::module_nd_driver! {
    type: Rpmem,
    name: "rpmem",
    authors: ["rpmem developers"],
    description: "Rust persistent memory driver for raw and fsdax NVDIMM namespaces",
    license: "GPL",
}

const SECTOR_SHIFT: u32 = 9;
const PAGE_SIZE: u64 = kernel::page::PAGE_SIZE as u64;

#[allow(dead_code, unreachable_pub)]
mod pfn_info;

impl kernel::fmt::Display for pfn_info::Invalid {
    fn fmt(&self, f: &mut kernel::fmt::Formatter<'_>) -> kernel::fmt::Result {
        core::fmt::Display::fmt(self, f)
    }
}

/// One bound namespace: its mapping, bad blocks, region and device.
#[pin_data]
struct Pmem {
    #[pin]
    map: DevPagemap,
    #[pin]
    bb: BadBlocks,
    region: ARef<Region>,
    dev: ARef<device::Device>,
    rec: Arc<record::Recorder>,
}

impl Pmem {
    /// Makes what reached the platform durable (`nvdimm_flush`): on an
    /// asynchronous region (virtio-pmem), a request the host completes.
    /// Counted in debugfs (`flushes`).
    fn flush(&self) -> Result {
        self.region.flush()?;
        self.rec.count_flush();
        Ok(())
    }

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
        // While recording, the log stays locked for the whole bio, so that
        // its records are in the order the media saw them.
        let mut log = this.rec.active();
        if bio.is_preflush() {
            this.flush()?;
            record::fence(&mut log, record::FENCE_PREFLUSH, bio.has_data());
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
                    record::write(&mut log, off, &range, 0);
                } else {
                    range.read_segment(&seg).map_err(|_| EIO)?;
                }
            }
        }
        if bio.is_fua() {
            this.flush()?;
            record::fence(&mut log, record::FENCE_FUA, true);
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
        let mut log = this.rec.active();
        this.map.range(off, usize::try_from(len)?)?.zero();
        if let Some(log) = &mut log {
            log.zero(off, len);
        }
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
        let mut log = this.rec.active();
        if this
            .bb
            .check(off >> SECTOR_SHIFT, len >> SECTOR_SHIFT)
            .is_none()
        {
            let written = dst.write_from_iter(src);
            record::write(&mut log, off + in_page, &dst, record::WRITE_RECOVERY);
            return written;
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
                record::write(&mut log, off, &dst, record::WRITE_RECOVERY);
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

/// The namespace an fsdax info block is checked against.
fn geometry(dev: &nvdimm::Device<device::Core<'_>>) -> pfn_info::Geometry {
    let ns = dev.namespace();
    let res = ns.resource();
    pfn_info::Geometry {
        start: res.start,
        size: res.len,
        uuid: ns.uuid(),
        page_size: PAGE_SIZE,
        reserve: nvdimm::info_block_reserve(),
        struct_page_size: memremap::STRUCT_PAGE_SIZE as u64,
        compat_align: memremap::compat_align(),
    }
}

/// Checks an fsdax info block, and says why it is refused.
fn check_pfn_info(
    dev: &nvdimm::Device<device::Core<'_>>,
    block: &[u8; pfn_info::SIZE],
) -> Result<pfn_info::Info> {
    pfn_info::parse(block, &geometry(dev)).map_err(|e| {
        let name = dev.namespace().name();
        dev_err!(
            dev.as_ref(),
            "fsdax info block of {} refused: {}\n",
            name,
            e
        );
        dev_info!(
            dev.as_ref(),
            "ndctl create-namespace -f -e {} makes it anew, without its data\n",
            name
        );
        EINVAL
    })
}

/// What the 4 KiB at the info block's place say: nothing (`false`), a
/// valid fsdax info block (`true`), or something that must not be bound,
/// because its data does not start at offset 0 and a file system would
/// overwrite the metadata, or libnvdimm a new fsdax block: an fsdax block
/// that fails the checks, a btt or a devdax one.
fn check_block(
    dev: &nvdimm::Device<device::Core<'_>>,
    block: &[u8; pfn_info::SIZE],
) -> Result<bool> {
    let mut sig = [0u8; 16];
    sig.copy_from_slice(&block[..16]);
    let what = match pfn_info::personality(&sig) {
        pfn_info::Personality::Raw => return Ok(false),
        pfn_info::Personality::Fsdax => return check_pfn_info(dev, block).map(|_| true),
        pfn_info::Personality::Devdax => "devdax",
        pfn_info::Personality::Sector => "sector (btt)",
    };
    let name = dev.namespace().name();
    dev_err!(
        dev.as_ref(),
        "{} holds a {} info block: not binding it\n",
        name,
        what
    );
    dev_info!(
        dev.as_ref(),
        "bind its C driver, or make it raw: ndctl create-namespace -f -e {} -m raw\n",
        name
    );
    Err(EBUSY)
}

/// Looks at what a raw namespace holds 4 KiB in, as nd_pmem does before
/// it attaches a disk ([`check_block`]): for a valid fsdax info block,
/// libnvdimm makes the fsdax device that serves the namespace, which is
/// itself declined with `ENXIO`. A namespace forced raw (`force_raw`, as
/// ndctl sets it to reach the info block) is bound raw.
fn check_info_block(dev: &nvdimm::Device<device::Core<'_>>) -> Result {
    let ns = dev.namespace();
    if ns.force_raw() {
        return Ok(());
    }
    let mut block = KBox::new([0u8; pfn_info::SIZE], GFP_KERNEL)?;
    dev.read_bytes(pfn_info::OFFSET, &mut block[..])?;
    if !check_block(dev, &block)? {
        return Ok(());
    }
    match dev.create_fsdax() {
        // The fsdax device serves the namespace from now on.
        Ok(()) => Err(ENXIO),
        Err(e) => {
            dev_err!(
                dev.as_ref(),
                "libnvdimm refused the fsdax info block of {} ({:?}); not binding it\n",
                ns.name(),
                e
            );
            Err(e)
        }
    }
}

/// What a bound namespace owns: the disk, which owns the DAX device and
/// through both the mapping.
struct RpmemDevice {
    disk: bio::Disk<Pmem, Pmem>,
    pmem: Arc<Pmem>,
    /// The physical range of the data, which `pmem.bb` describes.
    range: PhysRange,
    rec: Arc<record::Recorder>,
    _debugfs: Pin<KBox<debugfs::Scope<Arc<record::Recorder>>>>,
    /// The claim of `range` in `/proc/iomem`; released last, once
    /// nothing above uses the memory.
    _claim: resource::Region,
}

impl RpmemDevice {
    /// Makes the disk read-only if the region is, writable if it is not,
    /// as `nvdimm_check_and_set_ro`.
    fn follow_region_ro(&self, dev: &nvdimm::Device<device::Bound>) {
        let region = dev.region();
        let ro = region.is_read_only();
        if self.disk.read_only() == ro {
            return;
        }
        let what = if ro { "only" } else { "write" };
        dev_info!(
            dev.as_ref(),
            "{} read-{}, marking {} read-{}\n",
            region.name(),
            what,
            self.disk.name(),
            what
        );
        self.disk.set_read_only(ro);
    }
}

struct Rpmem;

impl Rpmem {
    fn attach(dev: &nvdimm::Device<device::Core<'_>>) -> Result<RpmemDevice> {
        let fsdax = dev.is_fsdax();
        if !fsdax {
            check_info_block(dev)?;
        }
        let ns = dev.namespace();
        let res = ns.resource();
        let nid = dev.numa_node();
        let region = dev.region();
        if res.start % PAGE_SIZE != 0 || res.len % PAGE_SIZE != 0 || res.len == 0 {
            dev_err!(
                dev.as_ref(),
                "namespace {:#x}+{:#x} is not page aligned\n",
                res.start,
                res.len
            );
            return Err(ENXIO);
        }

        // What the media hold at the info block's place is checked before
        // libnvdimm uses it (or writes a new block over it).
        let setup = dev.setup_pages(|block| check_block(dev, block).map(|_| ()))?;
        let pages_on_device = setup.pages_on_device();
        let claim = dev.request_mem_region().inspect_err(|_| {
            dev_warn!(
                dev.as_ref(),
                "could not reserve region {:#x}+{:#x}\n",
                res.start,
                res.len
            )
        })?;

        let rec = Arc::pin_init(record::Recorder::new(), GFP_KERNEL)?;
        let pmem_rec = rec.clone();
        let pmem = Arc::pin_init(
            try_pin_init!(Pmem {
                map <- DevPagemap::new(setup, nid),
                bb <- BadBlocks::new(),
                region: region.to_owned(),
                dev: ARef::from(&**dev.as_ref()),
                rec: pmem_rec,
            }),
            GFP_KERNEL,
        )?;
        // Bad blocks are sectors of the data, as the disk numbers them.
        let data = PhysRange {
            start: pmem.map.phys_start(),
            len: pmem.map.len(),
        };
        region.populate_badblocks(&pmem.bb, data);
        rec.set_dev_len(data.len);

        let mut features = Features::WRITE_CACHE | Features::SYNCHRONOUS | Features::DAX;
        match region.has_flush() {
            Some(true) => features |= Features::FUA,
            Some(false) => {}
            None => dev_warn!(dev.as_ref(), "unable to guarantee persistence of writes\n"),
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
        let disk = bio::Builder::new(limits, data.len >> SECTOR_SHIFT)
            .numa_node(nid)
            .build(
                format_args!("r{}", name.to_str()?),
                dev.as_ref(),
                pmem.clone(),
                Some(dax),
            )?;
        dev_info!(
            dev.as_ref(),
            "{}: {} MiB at {:#x}{}, DAX{}\n",
            disk.name().to_str()?,
            data.len >> 20,
            data.start,
            match (fsdax, pages_on_device) {
                (false, _) => "",
                (true, false) => ", fsdax (page map in RAM)",
                (true, true) => ", fsdax (page map on the device)",
            },
            if region.is_sync() {
                ", MAP_SYNC"
            } else if region.is_async() {
                ", asynchronous flush"
            } else {
                ""
            }
        );
        let debugfs = KBox::pin_init(record::debugfs(rec.clone(), disk.name()), GFP_KERNEL)?;
        let this = RpmemDevice {
            disk,
            pmem,
            range: data,
            rec,
            _debugfs: debugfs,
            _claim: claim,
        };
        this.follow_region_ro(dev);
        Ok(this)
    }
}

impl nvdimm::Driver for Rpmem {
    const TYPES: NamespaceTypes = NamespaceTypes::IO.union(NamespaceTypes::PMEM);
    type Data<'bound> = RpmemDevice;

    fn probe<'bound>(
        dev: &'bound nvdimm::Device<device::Core<'_>>,
    ) -> impl PinInit<RpmemDevice, Error> + 'bound {
        Self::attach(dev)
    }

    fn notify<'bound>(
        dev: &'bound nvdimm::Device<device::Bound>,
        this: Pin<&RpmemDevice>,
        event: nvdimm::Event,
    ) {
        match event {
            // New poison on the bus: the bad blocks that block I/O and
            // direct access refuse, and sysfs, follow without a rebind.
            nvdimm::Event::RevalidatePoison => {
                dev.region().populate_badblocks(&this.pmem.bb, this.range);
                this.disk.notify_badblocks();
            }
            nvdimm::Event::RevalidateRegion => this.follow_region_ro(dev),
        }
    }

    fn unbind<'bound>(dev: &'bound nvdimm::Device<device::Bound>, this: Pin<&RpmemDevice>) {
        // As nd_pmem: what reached the platform's queues becomes durable.
        let mut log = this.rec.active();
        if dev.region().flush().is_ok() {
            record::fence(&mut log, record::FENCE_UNBIND, false);
        }
    }
}

/// Recording of media writes and fences, for crash-state testing.
///
/// The log is a header and then records, little endian, in the order the
/// media saw them (`Documentation/driver-api/nvdimm/rpmem.rst` describes
/// the format; `tests/crash/rpmemlog.py` reads it). A write is recorded
/// with the bytes read back from the media after the copy, so what the
/// log replays is what the driver stored.
mod record {
    use kernel::{
        debugfs::{BinaryWriter, Scope},
        fmt,
        fs::file,
        new_mutex,
        pmem::PmemRange,
        prelude::*,
        sync::{
            atomic::{Atomic, AtomicFlag, Relaxed},
            Arc, Mutex, MutexGuard,
        },
        uaccess::{UserSliceReader, UserSliceWriter},
    };

    const MAGIC: &[u8; 8] = b"RPMEMLOG";
    const VERSION: u32 = 1;
    const HEADER_LEN: usize = 32;
    const RECORD_LEN: usize = 32;

    const WRITE: u16 = 1;
    const ZERO: u16 = 2;
    const FENCE: u16 = 3;
    const MARK: u16 = 4;
    const END: u16 = 5;

    /// A write done by `recovery_write` (DAX data repairing poison).
    pub(crate) const WRITE_RECOVERY: u16 = 1;
    /// The media could not be read back: the payload is not what was written.
    const WRITE_POISONED: u16 = 2;

    /// `REQ_PREFLUSH`: everything recorded before is durable.
    pub(crate) const FENCE_PREFLUSH: u16 = 1;
    /// `REQ_FUA`: the bio's data, and everything before, is durable.
    pub(crate) const FENCE_FUA: u16 = 2;
    /// The flush of a bio without data (`blkdev_issue_flush`).
    const FENCE_EMPTY: u16 = 4;
    /// The flush when the namespace is unbound.
    pub(crate) const FENCE_UNBIND: u16 = 8;

    /// Records past the log's capacity were dropped: it cannot be replayed.
    const END_OVERFLOW: u16 = 1;

    /// The longest mark.
    const MARK_MAX: usize = 256;
    /// The default capacity, in MiB.
    const DEFAULT_MIB: usize = 64;

    pub(crate) struct Log {
        on: bool,
        buf: KVVec<u8>,
        seq: u64,
        epoch: u64,
        dropped: u64,
    }

    impl Log {
        /// Whether a record with `payload` bytes fits; counts it as dropped
        /// if not. After the first drop nothing more is recorded.
        fn room(&mut self, payload: usize) -> bool {
            let need = RECORD_LEN + payload.next_multiple_of(8);
            if self.dropped > 0 || self.buf.len() + need > self.buf.capacity() {
                self.dropped += 1;
                return false;
            }
            true
        }

        /// Appends a record header and `payload` bytes of zeroes for the
        /// caller to fill; returns where the payload starts.
        fn push(&mut self, ty: u16, flags: u16, len: u32, off: u64, payload: usize) -> usize {
            let mut h = [0u8; RECORD_LEN];
            h[0..2].copy_from_slice(&ty.to_le_bytes());
            h[2..4].copy_from_slice(&flags.to_le_bytes());
            h[4..8].copy_from_slice(&len.to_le_bytes());
            h[8..16].copy_from_slice(&self.seq.to_le_bytes());
            h[16..24].copy_from_slice(&self.epoch.to_le_bytes());
            h[24..32].copy_from_slice(&off.to_le_bytes());
            self.seq += 1;
            // `room` checked the capacity: neither call allocates.
            let _ = self.buf.extend_from_slice(&h, GFP_NOWAIT);
            let start = self.buf.len();
            let _ = self
                .buf
                .resize(start + payload.next_multiple_of(8), 0, GFP_NOWAIT);
            start
        }

        fn write(&mut self, off: u64, range: &PmemRange<'_>, mut flags: u16) {
            let len = range.len();
            let Ok(len32) = u32::try_from(len) else {
                self.dropped += 1;
                return;
            };
            if !self.room(len) {
                return;
            }
            let start = self.push(WRITE, flags, len32, off, len);
            if range.read(&mut self.buf[start..start + len]).is_err() {
                flags |= WRITE_POISONED;
                self.buf[start - RECORD_LEN + 2..start - RECORD_LEN + 4]
                    .copy_from_slice(&flags.to_le_bytes());
            }
        }

        pub(crate) fn zero(&mut self, off: u64, len: u64) {
            let Ok(len32) = u32::try_from(len) else {
                self.dropped += 1;
                return;
            };
            if self.room(0) {
                self.push(ZERO, 0, len32, off, 0);
            }
        }

        fn fence(&mut self, flags: u16) {
            if self.room(0) {
                self.push(FENCE, flags, 0, 0, 0);
                self.epoch += 1;
            }
        }

        fn mark(&mut self, text: &[u8]) {
            if self.room(text.len()) {
                let start = self.push(MARK, 0, text.len() as u32, 0, text.len());
                self.buf[start..start + text.len()].copy_from_slice(text);
            }
        }

        /// Starts a new log in `buf`, which holds the header already.
        fn start(&mut self, buf: KVVec<u8>) {
            self.buf = buf;
            self.seq = 0;
            self.epoch = 0;
            self.dropped = 0;
            self.on = true;
        }

        /// Ends the log and hands it over.
        fn stop(&mut self) -> KVVec<u8> {
            if self.on {
                // `room` always leaves space for this one.
                let flags = if self.dropped > 0 { END_OVERFLOW } else { 0 };
                let dropped = self.dropped;
                self.push(END, flags, 0, dropped, 0);
                self.on = false;
            }
            core::mem::take(&mut self.buf)
        }
    }

    /// The recorder of one namespace.
    ///
    /// The I/O path takes `log`, under whatever locks its callers hold (a
    /// page fault's `mmap_lock`, memory reclaim): so neither an allocation
    /// nor a copy to user space happens under `log`. A stopped log moves
    /// to `done`, which only the debugfs files take.
    #[pin_data]
    pub(crate) struct Recorder {
        on: AtomicFlag,
        /// Flushes of the region that completed, recording or not.
        flushes: Atomic<u64>,
        /// The disk's length, once the data is mapped.
        dev_len: Atomic<u64>,
        #[pin]
        log: Mutex<Log>,
        #[pin]
        done: Mutex<KVVec<u8>>,
    }

    impl Recorder {
        pub(crate) fn new() -> impl PinInit<Self> {
            pin_init!(Self {
                on: AtomicFlag::new(false),
                flushes: Atomic::new(0),
                dev_len: Atomic::new(0),
                log <- new_mutex!(Log {
                    on: false,
                    buf: KVVec::new(),
                    seq: 0,
                    epoch: 0,
                    dropped: 0,
                }),
                done <- new_mutex!(KVVec::new()),
            })
        }

        /// Sets the disk's length, which logs record in their header.
        pub(crate) fn set_dev_len(&self, len: u64) {
            self.dev_len.store(len, Relaxed);
        }

        /// Counts a flush of the region that completed.
        pub(crate) fn count_flush(&self) {
            self.flushes.add(1u64, Relaxed);
        }

        /// The log, locked, while recording; `None` (after one atomic load)
        /// otherwise.
        pub(crate) fn active(&self) -> Option<MutexGuard<'_, Log>> {
            if !self.on.load(Relaxed) {
                return None;
            }
            let log = self.log.lock();
            log.on.then_some(log)
        }
    }

    /// Records a write of `range`, at device offset `off`, just copied.
    pub(crate) fn write(
        log: &mut Option<MutexGuard<'_, Log>>,
        off: u64,
        range: &PmemRange<'_>,
        flags: u16,
    ) {
        if let Some(log) = log {
            log.write(off, range, flags);
        }
    }

    /// Records a fence (`FENCE_*`); `data` tells whether its bio had data.
    pub(crate) fn fence(log: &mut Option<MutexGuard<'_, Log>>, mut flags: u16, data: bool) {
        if let Some(log) = log {
            if !data {
                flags |= FENCE_EMPTY;
            }
            log.fence(flags);
        }
    }

    impl BinaryWriter for Recorder {
        fn write_to_slice(
            &self,
            writer: &mut UserSliceWriter,
            offset: &mut file::Offset,
        ) -> Result<usize> {
            if self.on.load(Relaxed) {
                return Err(EBUSY);
            }
            writer.write_slice_file(&self.done.lock(), offset)
        }
    }

    /// `flushes`: how many flushes of the region completed since binding.
    fn flushes(rec: &Arc<Recorder>, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{}", rec.flushes.load(Relaxed))
    }

    fn show(rec: &Arc<Recorder>, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (on, seq, epoch, dropped, len, cap) = {
            let log = rec.log.lock();
            let (seq, epoch, dropped) = (log.seq, log.epoch, log.dropped);
            (
                log.on,
                seq,
                epoch,
                dropped,
                log.buf.len(),
                log.buf.capacity(),
            )
        };
        let (len, cap) = if on {
            (len, cap)
        } else {
            let done = rec.done.lock();
            (done.len(), done.capacity())
        };
        writeln!(
            f,
            "{} records {} bytes {} capacity {} epochs {} dropped {}",
            if on { "on" } else { "off" },
            seq,
            len,
            cap,
            epoch,
            dropped
        )
    }

    fn read_text<'a>(reader: &mut UserSliceReader, buf: &'a mut [u8]) -> Result<&'a [u8]> {
        let n = reader.len();
        if n > buf.len() {
            return Err(EINVAL);
        }
        reader.read_slice(&mut buf[..n])?;
        Ok(buf[..n].trim_ascii())
    }

    /// Ends the log, if one is on, and keeps it for reading (`keep`) or
    /// frees it.
    fn stop(rec: &Recorder, keep: bool) {
        let buf = rec.log.lock().stop();
        rec.on.store(false, Relaxed);
        let old = core::mem::replace(&mut *rec.done.lock(), if keep { buf } else { KVVec::new() });
        drop(old);
    }

    /// `on [MiB]` starts a new log, `off` ends it, `clear` frees it.
    fn control(rec: &Arc<Recorder>, reader: &mut UserSliceReader) -> Result {
        let mut buf = [0u8; 32];
        let text = core::str::from_utf8(read_text(reader, &mut buf)?).map_err(|_| EINVAL)?;
        let mut words = text.split_ascii_whitespace();
        match (words.next(), words.next(), words.next()) {
            (Some("on"), mib, None) => {
                let mib: usize = match mib {
                    Some(m) => m.parse().map_err(|_| EINVAL)?,
                    None => DEFAULT_MIB,
                };
                let cap = mib.checked_mul(1 << 20).ok_or(EINVAL)?;
                if cap < HEADER_LEN + 2 * RECORD_LEN {
                    return Err(EINVAL);
                }
                stop(rec, false);
                let mut new = KVVec::with_capacity(cap, GFP_KERNEL)?;
                let mut h = [0u8; HEADER_LEN];
                h[0..8].copy_from_slice(MAGIC);
                h[8..12].copy_from_slice(&VERSION.to_le_bytes());
                h[12..16].copy_from_slice(&(HEADER_LEN as u32).to_le_bytes());
                h[16..24].copy_from_slice(&rec.dev_len.load(Relaxed).to_le_bytes());
                h[24..28].copy_from_slice(&(RECORD_LEN as u32).to_le_bytes());
                new.extend_from_slice(&h, GFP_KERNEL)?;
                rec.log.lock().start(new);
                rec.on.store(true, Relaxed);
            }
            (Some("off"), None, None) => stop(rec, true),
            (Some("clear"), None, None) => stop(rec, false),
            _ => return Err(EINVAL),
        }
        Ok(())
    }

    /// Appends the text written (up to 256 bytes) as a mark, while recording.
    fn mark(rec: &Arc<Recorder>, reader: &mut UserSliceReader) -> Result {
        let mut buf = [0u8; MARK_MAX];
        let text = read_text(reader, &mut buf)?;
        let mut log = rec.log.lock();
        if !log.on {
            return Err(EINVAL);
        }
        log.mark(text);
        Ok(())
    }

    /// The debugfs directory `/sys/kernel/debug/<disk>/`: `record`
    /// (control and state), `log` (the log, once stopped) and `mark`.
    pub(crate) fn debugfs(
        rec: Arc<Recorder>,
        disk: &CStr,
    ) -> impl PinInit<Scope<Arc<Recorder>>> + '_ {
        Scope::dir(rec, disk, |rec, dir| {
            dir.read_write_callback_file(c"record", rec, &show, &control);
            dir.read_binary_file(c"log", rec);
            dir.write_only_callback_file(c"mark", rec, &mark);
            dir.read_callback_file(c"flushes", rec, &flushes);
        })
    }
}
