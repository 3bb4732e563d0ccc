// SPDX-License-Identifier: GPL-2.0

//! libnvdimm: namespace drivers for persistent memory.
//!
//! libnvdimm describes persistent memory as regions (interleave sets of
//! NVDIMMs) carved into namespaces. A namespace driver (`nd_pmem` in C, or a
//! Rust driver through this module) binds a namespace device and exposes it,
//! usually as a block device with DAX.
//!
//! This abstraction binds raw namespaces (`ND_DEVICE_NAMESPACE_IO` and
//! `ND_DEVICE_NAMESPACE_PMEM`) and the fsdax (pfn) devices libnvdimm puts on
//! top of them ([`Device`]). The btt and dax personalities match namespace
//! drivers too; they are declined with `-ENXIO` and left to the C drivers.
//!
//! C headers: [`include/linux/nd.h`](srctree/include/linux/nd.h),
//! [`include/linux/libnvdimm.h`](srctree/include/linux/libnvdimm.h).

use crate::{
    bindings,
    block::badblocks::BadBlocks,
    device, driver,
    error::{from_result, to_result},
    io::resource::{self, Flags, Resource},
    memremap::PagemapSetup,
    prelude::*,
    str::CString,
    sync::aref::{ARef, AlwaysRefCounted},
    types::Opaque,
    ThisModule,
};
use core::{marker::PhantomData, mem::offset_of, ptr::NonNull};

/// An adapter for the registration of namespace drivers.
pub struct Adapter<T: Driver>(T);

// SAFETY:
// - `bindings::nd_device_driver` is a C type declared as `repr(C)`.
// - `T::Data` is the type of the driver's device private data.
// - `struct nd_device_driver` embeds a `struct device_driver` at `drv`.
unsafe impl<T: Driver> driver::DriverLayout for Adapter<T> {
    type DriverType = bindings::nd_device_driver;
    type DriverData<'bound> = T::Data<'bound>;
    const DEVICE_DRIVER_OFFSET: usize = offset_of!(bindings::nd_device_driver, drv);
}

// SAFETY: `unregister` is only called after a successful `register`.
unsafe impl<T: Driver + 'static> driver::RegistrationOps for Adapter<T> {
    unsafe fn register(
        ndrv: &Opaque<Self::DriverType>,
        name: &'static CStr,
        module: &'static ThisModule,
    ) -> Result {
        // SAFETY: The driver is not registered yet, so its fields are ours.
        unsafe {
            (*ndrv.get()).drv.name = name.as_char_ptr();
            (*ndrv.get()).type_ = T::TYPES.bits();
            (*ndrv.get()).probe = Some(Self::probe_callback);
            (*ndrv.get()).remove = Some(Self::remove_callback);
            (*ndrv.get()).shutdown = Some(Self::shutdown_callback);
            (*ndrv.get()).notify = Some(Self::notify_callback);
        }
        // SAFETY: `ndrv` is a valid, set up `struct nd_device_driver`.
        to_result(unsafe {
            bindings::__nd_driver_register(ndrv.get(), module.as_ptr(), name.as_char_ptr())
        })
    }

    unsafe fn unregister(ndrv: &Opaque<Self::DriverType>) {
        // SAFETY: The driver was registered by `register`.
        unsafe { bindings::driver_unregister(&raw mut (*ndrv.get()).drv) }
    }
}

impl<T: Driver + 'static> Adapter<T> {
    extern "C" fn probe_callback(dev: *mut bindings::device) -> c_int {
        // SAFETY: The nvdimm bus calls probe with a valid device; these
        // only compare `dev->type`. Sector (btt) and devdax personalities
        // are left to their C drivers.
        if unsafe { bindings::is_nd_btt(dev) || bindings::is_nd_dax(dev) } {
            return ENXIO.to_errno();
        }
        from_result(|| {
            // SAFETY: `dev` is a raw namespace or a pfn device. This checks
            // it (size; for a pfn device, that it is attached to a
            // namespace) and returns the namespace.
            let ndns = unsafe { bindings::nvdimm_namespace_common_probe(dev) };
            crate::error::from_err_ptr(ndns)?;
            // SAFETY: `dev` is a raw namespace, or a pfn device attached to
            // one (checked above), which stays attached while it is probed
            // (the device lock is held), valid for the callback.
            //
            // INVARIANT: See above.
            let nd = unsafe { Device::<device::CoreInternal<'_>>::from_raw(dev) };
            let data = T::probe(nd);
            nd.as_ref().set_drvdata(data)?;
            Ok(0)
        })
    }

    extern "C" fn remove_callback(dev: *mut bindings::device) {
        // SAFETY: `remove` only follows a successful `probe`, which only
        // accepts devices `Device` describes; a bound pfn device stays
        // attached (its `namespace` attribute refuses changes while bound).
        let nd = unsafe { Device::<device::CoreInternal<'_>>::from_raw(dev) };
        // SAFETY: A successful probe stored a `Pin<KBox<T::Data<'_>>>`.
        let data = unsafe { nd.as_ref().drvdata_borrow::<T::Data<'_>>() };
        T::unbind(nd, data);
    }

    /// `nd_device_driver::notify`: libnvdimm found new poison, or the
    /// region's read-only state changed (`nd_device_notify`, which holds
    /// the device lock and calls only the bound driver).
    extern "C" fn notify_callback(dev: *mut bindings::device, event: bindings::nvdimm_event) {
        let event = match event {
            bindings::nvdimm_event_NVDIMM_REVALIDATE_POISON => Event::RevalidatePoison,
            bindings::nvdimm_event_NVDIMM_REVALIDATE_REGION => Event::RevalidateRegion,
            // Events this abstraction does not know yet: nothing to do.
            _ => return,
        };
        // SAFETY: `nd_device_notify` calls only the driver bound to `dev`,
        // under the device lock: this driver, after a successful probe
        // (which only accepts devices `Device` describes) and before remove.
        let nd = unsafe { Device::<device::CoreInternal<'_>>::from_raw(dev) };
        // SAFETY: A successful probe stored a `Pin<KBox<T::Data<'_>>>`,
        // which remove has not taken yet (the device lock is held).
        let data = unsafe { nd.as_ref().drvdata_borrow::<T::Data<'_>>() };
        T::notify(nd, data, event);
    }

    extern "C" fn shutdown_callback(dev: *mut bindings::device) {
        // SAFETY: The bus only shuts down devices bound to this driver,
        // which `Device` describes (see `probe_callback`).
        let nd = unsafe { Device::<device::Normal>::from_raw(dev) };
        // Make writes that reached the platform's buffers durable, as nd_pmem.
        let _ = nd.region().flush();
    }
}

/// Declares a kernel module that exposes a single namespace driver.
#[macro_export]
macro_rules! module_nd_driver {
    ($($f:tt)*) => {
        $crate::module_driver!(<T>, $crate::nvdimm::Adapter<T>, { $($f)* });
    };
}

/// Namespace types a driver binds (`ND_DRIVER_NAMESPACE_*`).
///
/// The fsdax (pfn) devices of a region match the region's namespace type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NamespaceTypes(u64);

impl NamespaceTypes {
    /// Legacy persistent memory (e820, or label-less NFIT regions).
    pub const IO: Self = Self(1 << bindings::ND_DEVICE_NAMESPACE_IO);
    /// Label-described persistent memory namespaces.
    pub const PMEM: Self = Self(1 << bindings::ND_DEVICE_NAMESPACE_PMEM);

    const fn bits(self) -> usize {
        self.0 as usize
    }

    /// Both sets.
    pub const fn union(self, other: Self) -> Self {
        Self(self.0 | other.0)
    }
}

/// A namespace driver.
pub trait Driver: Send {
    /// The namespace types to bind.
    const TYPES: NamespaceTypes;

    /// The driver's per-device data.
    type Data<'bound>: Send + 'bound;

    /// Binds a raw namespace or an fsdax device.
    fn probe<'bound>(
        dev: &'bound Device<device::Core<'_>>,
    ) -> impl PinInit<Self::Data<'bound>, Error> + 'bound;

    /// Called before the data is dropped when the device is unbound.
    ///
    /// Only `probe` gets the `Core` context, whose methods set up what the
    /// binding needs (raw access, info blocks, the mapping).
    fn unbind<'bound>(dev: &'bound Device<device::Bound>, this: Pin<&Self::Data<'bound>>) {
        let _ = (dev, this);
    }

    /// Called while the device is bound when libnvdimm has news for it
    /// (`nd_device_driver::notify`), with the device lock held.
    fn notify<'bound>(
        dev: &'bound Device<device::Bound>,
        this: Pin<&Self::Data<'bound>>,
        event: Event,
    ) {
        let _ = (dev, this, event);
    }
}

/// What libnvdimm tells a bound namespace driver (`enum nvdimm_event`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// The bus learned of new poison (an address range scrub finished, or
    /// a machine check reported an uncorrectable error in the region): the
    /// driver reads its bad blocks again
    /// ([`Region::populate_badblocks`]).
    RevalidatePoison,
    /// The region's read-only state changed (its `read_only` attribute):
    /// the driver follows it ([`Region::is_read_only`]).
    RevalidateRegion,
}

/// A physical address range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PhysRange {
    /// First byte.
    pub start: u64,
    /// Length in bytes.
    pub len: u64,
}

/// The size of an fsdax info block (`struct nd_pfn_sb`).
pub const PFN_INFO_SIZE: usize = 4096;
/// Where an fsdax info block is in its namespace.
const PFN_INFO_OFFSET: u64 = 4096;

/// The bytes reserved for an info block at the start of a namespace
/// (`nd_info_block_reserve`): fsdax data never starts before them.
pub fn info_block_reserve() -> u64 {
    // SAFETY: Returns a constant.
    unsafe { bindings::nd_info_block_reserve() }.into()
}

/// Reads `buf.len()` bytes at `offset` of a namespace through its raw
/// access path (`rw_bytes`); returns 0 or a negative errno.
///
/// # Safety
///
/// `ndns` is a namespace whose raw access path is enabled for at least
/// `offset + buf.len()` bytes.
unsafe fn raw_read(ndns: *mut bindings::nd_namespace_common, offset: u64, buf: &mut [u8]) -> c_int {
    // SAFETY: Enabled (the caller), so `rw_bytes` is set and its mapping
    // covers the range; `buf` is valid for `buf.len()` bytes.
    unsafe {
        match (*ndns).rw_bytes {
            Some(rw) => rw(
                ndns,
                offset,
                buf.as_mut_ptr().cast(),
                buf.len(),
                bindings::READ as c_int,
                0,
            ),
            None => ENXIO.to_errno(),
        }
    }
}
const _: () = assert!(core::mem::size_of::<bindings::nd_pfn_sb>() == PFN_INFO_SIZE);

/// A device that a namespace driver binds: a raw namespace, or an fsdax
/// device (`struct nd_pfn`) that libnvdimm put on top of one, whose info
/// block says where the data starts and where its struct pages live
/// (`ndctl create-namespace -m fsdax --map=mem|dev`).
///
/// # Invariants
///
/// The wrapped device is on the nvdimm bus and is either a raw namespace
/// (embedded in a `struct nd_namespace_common`, an `nd_namespace_io` or an
/// `nd_namespace_pmem` that embeds one first) or a pfn device (embedded in
/// a `struct nd_pfn`) attached to such a namespace. A `Device` is only
/// reached while the device is probed or bound, and then the attachment
/// does not change (the pfn device's `namespace` attribute refuses changes
/// under the device lock once it has a driver, and the namespace's `size`
/// and `uuid` refuse them while it is claimed).
#[repr(transparent)]
pub struct Device<Ctx: device::DeviceContext = device::Normal>(
    Opaque<bindings::device>,
    PhantomData<Ctx>,
);

impl<Ctx: device::DeviceContext> Device<Ctx> {
    /// # Safety
    ///
    /// `dev` must be a device the type invariant describes, for `'a`.
    unsafe fn from_raw<'a>(dev: *mut bindings::device) -> &'a Self {
        // SAFETY: `Device` is a transparent wrapper of `struct device`.
        unsafe { &*dev.cast::<Self>() }
    }

    fn as_raw(&self) -> *mut bindings::device {
        self.0.get()
    }

    /// The pfn device, if this is one.
    fn pfn_raw(&self) -> Option<*mut bindings::nd_pfn> {
        // SAFETY: The device is valid; this compares `dev->type`.
        if unsafe { bindings::is_nd_pfn(self.as_raw()) } {
            // SAFETY: It is a pfn device.
            Some(unsafe { bindings::to_nd_pfn(self.as_raw()) })
        } else {
            None
        }
    }

    /// Whether this is an fsdax device rather than a raw namespace.
    pub fn is_fsdax(&self) -> bool {
        self.pfn_raw().is_some()
    }

    /// The namespace: this device, or the one the fsdax device is on.
    pub fn namespace(&self) -> &Namespace {
        let ndns = match self.pfn_raw() {
            // SAFETY: A pfn device is attached to a namespace, which it
            // keeps while `self` lives (type invariant).
            Some(pfn) => unsafe { (*pfn).ndns },
            // SAFETY: A raw namespace's device is embedded in its
            // `nd_namespace_common` (type invariant).
            None => unsafe {
                self.as_raw()
                    .byte_sub(offset_of!(bindings::nd_namespace_common, dev))
                    .cast()
            },
        };
        // SAFETY: `ndns` is a valid raw namespace for as long as `self`.
        unsafe { &*ndns.cast::<Namespace>() }
    }

    /// The region the device belongs to.
    pub fn region(&self) -> &Region {
        // SAFETY: Namespaces and pfn devices are children of their region,
        // which outlives them.
        unsafe { &*bindings::to_nd_region((*self.as_raw()).parent).cast::<Region>() }
    }

    /// The NUMA node of the device.
    pub fn numa_node(&self) -> i32 {
        // SAFETY: The device is valid.
        unsafe { bindings::dev_to_node(self.as_raw()) }
    }
}

impl Device<device::Core<'_>> {
    /// Runs `f` with the namespace's raw access path enabled for its first
    /// `size` bytes (`devm_namespace_enable`), then disables it. `f` must
    /// not enable it again. On error the probe must fail: a failed enable
    /// leaves its devres to the device's release.
    fn with_raw_access<R>(
        &self,
        size: u64,
        f: impl FnOnce(*mut bindings::nd_namespace_common) -> R,
    ) -> Result<R> {
        let ndns = self.namespace().as_raw();
        // SAFETY: The device and namespace are valid; the device is being
        // probed (`Core` is only given to `Driver::probe`), and the enable
        // is device-managed.
        to_result(unsafe { bindings::devm_namespace_enable(self.as_raw(), ndns, size) })?;
        let r = f(ndns);
        // SAFETY: Undoes the enable above.
        unsafe { bindings::devm_namespace_disable(self.as_raw(), ndns) };
        Ok(r)
    }

    /// Reads `buf.len()` bytes at `offset` of the namespace through its raw
    /// access path, temporarily enabling it (as nd_pmem does to look for
    /// info blocks before it attaches a disk).
    pub fn read_bytes(&self, offset: u64, buf: &mut [u8]) -> Result {
        // Only the first `size` bytes are claimed and mapped.
        let size = offset
            .checked_add(buf.len() as u64)
            .and_then(|end| end.checked_next_multiple_of(bindings::PAGE_SIZE as u64))
            .filter(|&size| size <= self.namespace().resource().len)
            .ok_or(EINVAL)?;
        // SAFETY: Enabled for the first `size` bytes, which hold `buf`.
        let rc = self.with_raw_access(size, |ndns| unsafe { raw_read(ndns, offset, buf) })?;
        to_result(rc)
    }

    /// Has libnvdimm check the fsdax info block of this raw namespace
    /// (`nd_pfn_probe`, which calls `nd_pfn_validate`) and, if it is valid,
    /// create the fsdax device for it, which the bus then probes: the
    /// namespace is to be served through that device, so a driver declines
    /// it after this succeeds. `ENODEV` if the block is not valid (or the
    /// namespace is forced raw); `EINVAL` on an fsdax device.
    pub fn create_fsdax(&self) -> Result {
        if self.is_fsdax() {
            return Err(EINVAL);
        }
        let rc = self.with_raw_access(self.info_block_reserve()?, |ndns| {
            // SAFETY: `self` is a raw namespace being probed, with its raw
            // access path enabled.
            unsafe { bindings::nd_pfn_probe(self.as_raw(), ndns) }
        })?;
        to_result(rc)
    }

    /// How to map the data with struct pages ([`DevPagemap::new`]).
    ///
    /// A raw namespace is mapped whole, with the struct pages in RAM. An
    /// fsdax device is set up by libnvdimm as its info block says
    /// (`nvdimm_setup_pfn`, as `pmem_attach_disk` does): the data starts at
    /// `dataoff`, and with `--map=dev` the struct pages live on the device
    /// before it. `check` first sees the 4 KiB at the block's place, as read
    /// from the media, and its error fails the setup. libnvdimm uses a
    /// block it validates; over one it rejects as no block (`-ENODEV`: a
    /// bad signature, checksum or parent, or another UUID than the device
    /// was given) it writes a new block from the settings `ndctl` gave the
    /// device, so what `check` refuses is never written over.
    ///
    /// On error the probe must fail: libnvdimm may leave the raw access
    /// path in a state only the device's devres release undoes.
    pub fn setup_pages(
        &self,
        check: impl FnOnce(&[u8; PFN_INFO_SIZE]) -> Result,
    ) -> Result<PagemapSetup> {
        let Some(pfn) = self.pfn_raw() else {
            let res = self.namespace().resource();
            return PagemapSetup::range(res.start, res.len);
        };
        let mut block = KBox::new([0u8; PFN_INFO_SIZE], GFP_KERNEL)?;
        self.read_bytes(PFN_INFO_OFFSET, &mut block[..])?;
        // Nothing is enabled while `check` runs, whatever it does.
        check(&block)?;
        drop(block);
        let ndns = self.namespace().as_raw();
        let reserve = self.info_block_reserve()?;
        // SAFETY: The device and its namespace are valid; the device is
        // being probed (`Core`), and the enable is device-managed.
        to_result(unsafe { bindings::devm_namespace_enable(self.as_raw(), ndns, reserve) })?;
        let mut failed = false;
        let fill = |pgmap: *mut bindings::dev_pagemap| -> Result<u64> {
            // SAFETY: `pfn` is a pfn device being probed, attached to a
            // namespace whose raw access path is enabled; `pgmap` is
            // zeroed and valid for writes, and this sets its range and,
            // for `--map=dev`, its altmap and `flags`.
            let rc = unsafe { bindings::nvdimm_setup_pfn(pfn, pgmap) };
            failed = rc != 0;
            to_result(rc)?;
            // SAFETY: After a successful setup `pfn_sb` is the info block
            // libnvdimm validated or wrote, allocated for as long as the
            // device is bound; `dataoff` is little endian.
            Ok(u64::from_le(unsafe { (*(*pfn).pfn_sb).dataoff }))
        };
        // SAFETY: `fill` writes only what `PagemapSetup::with` allows (the
        // setup writes the info block to the media too, and allocates on
        // the device, which does not concern the `dev_pagemap`).
        let setup = unsafe { PagemapSetup::with(fill) };
        if !failed {
            // SAFETY: Undoes the enable above. (A failed setup may have
            // disabled and failed to enable it again, in
            // `nd_pfn_clear_memmap_errors`: then the probe fails and
            // devres releases what is left, as in pmem.c.)
            unsafe { bindings::devm_namespace_disable(self.as_raw(), ndns) };
        }
        setup
    }

    /// [`info_block_reserve`], if the namespace is that large.
    fn info_block_reserve(&self) -> Result<u64> {
        let reserve = info_block_reserve();
        if reserve > self.namespace().resource().len {
            return Err(EINVAL);
        }
        Ok(reserve)
    }

    /// Claims the namespace's physical range for as long as the returned
    /// region is held, as nd_pmem's `devm_request_mem_region` does: it
    /// shows in `/proc/iomem` under the namespace's name, and any other
    /// claim of part of it fails. `EBUSY` if part of it is claimed already.
    pub fn request_mem_region(&self) -> Result<resource::Region> {
        let ns = self.namespace();
        let res = ns.resource();
        let name = CString::try_from(ns.name()).map_err(|_| ENOMEM)?;
        // SAFETY: `iomem_resource` is the root of the kernel's memory
        // resources, valid forever. Others use it too, but only under the
        // resource tree's lock, which `__request_region` (all that
        // `request_region` calls) takes; `Resource` wraps it in `Opaque`.
        let iomem = unsafe { Resource::from_raw(&raw mut bindings::iomem_resource) };
        iomem
            .request_region(res.start, res.len, name, Flags::IORESOURCE_MEM)
            .ok_or(EBUSY)
    }
}

// SAFETY: `Device` is a transparent wrapper of a type that does not
// depend on its generic argument.
crate::impl_device_context_deref!(unsafe { Device });

impl<Ctx: device::DeviceContext> AsRef<device::Device<Ctx>> for Device<Ctx> {
    fn as_ref(&self) -> &device::Device<Ctx> {
        // SAFETY: `as_raw` is a valid `struct device`.
        unsafe { device::Device::from_raw(self.as_raw()) }
    }
}

// SAFETY: `Device` wraps the `struct device` itself.
unsafe impl<Ctx: device::DeviceContext> device::AsBusDevice<Ctx> for Device<Ctx> {
    const OFFSET: usize = 0;
}

/// A raw namespace (`struct nd_namespace_common`).
///
/// # Invariants
///
/// The wrapped structure is a valid raw namespace (an `nd_namespace_io`, or an
/// `nd_namespace_pmem` that embeds one first).
#[repr(transparent)]
pub struct Namespace(Opaque<bindings::nd_namespace_common>);

impl Namespace {
    fn as_raw(&self) -> *mut bindings::nd_namespace_common {
        self.0.get()
    }

    fn dev_raw(&self) -> *mut bindings::device {
        // SAFETY: By the type invariant the namespace is valid.
        unsafe { &raw mut (*self.as_raw()).dev }
    }

    /// The namespace's name (`namespace0.0`, ...).
    pub fn name(&self) -> &CStr {
        // SAFETY: The device is valid; its name is set when it is
        // registered and does not change after.
        unsafe { CStr::from_char_ptr(bindings::dev_name(self.dev_raw())) }
    }

    /// The physical range of the namespace.
    pub fn resource(&self) -> PhysRange {
        // SAFETY: A raw namespace embeds its `nd_namespace_io` (type
        // invariant); `res` is fixed while the namespace is probed or bound
        // (or claimed by a bound fsdax device).
        let res = unsafe { &(*bindings::to_nd_namespace_io(self.dev_raw())).res };
        PhysRange {
            start: res.start,
            len: res.end.wrapping_sub(res.start).wrapping_add(1),
        }
    }

    /// The namespace's UUID: its label's, or all zeroes for a label-less
    /// one (`nd_dev_to_uuid`), which an fsdax info block records as its
    /// parent.
    pub fn uuid(&self) -> [u8; 16] {
        // SAFETY: The device is valid. A label-less namespace's UUID is a
        // static. A labelled one's is set (`nvdimm_namespace_common_probe`
        // refuses a namespace without one) and is replaced only by
        // `uuid_store`, under the namespace's device lock, which is held
        // while a raw namespace is probed, bound, notified or unbound,
        // and which refuses while a pfn device claims the namespace: the
        // two ways a `Namespace` is reached (through a `Device`). Copied at
        // once.
        let uuid = unsafe { bindings::nd_dev_to_uuid(self.dev_raw()) };
        if uuid.is_null() {
            return [0; 16];
        }
        // SAFETY: See above; `uuid` points to a valid `uuid_t`.
        unsafe { (*uuid).b }
    }

    /// Whether the namespace is forced raw (its `force_raw` attribute, as
    /// `ndctl` sets it to reach the info block): then it is bound as a raw
    /// namespace whatever info block it holds.
    pub fn force_raw(&self) -> bool {
        // SAFETY: The namespace is valid; `force_raw` is an int that sysfs
        // stores change, read once.
        unsafe { core::ptr::read_volatile(&raw const (*self.as_raw()).force_raw) != 0 }
    }

    /// The logical sector size (512 or 4096).
    pub fn sector_size(&self) -> u32 {
        // SAFETY: By the type invariant the namespace is valid.
        unsafe { bindings::pmem_sector_size(self.as_raw()) }
    }

    /// The name C's nd_pmem gives its disk (`pmem0`, `pmem0.1`, ...).
    pub fn disk_name(&self) -> Result<CString> {
        let mut buf = [0u8; bindings::BDEVNAME_SIZE as usize];
        // SAFETY: `buf` has room for `BDEVNAME_SIZE` bytes, as required.
        let p =
            unsafe { bindings::nvdimm_namespace_disk_name(self.as_raw(), buf.as_mut_ptr().cast()) };
        if p.is_null() {
            return Err(ENXIO);
        }
        let name = CStr::from_bytes_until_nul(&buf).map_err(|_| EINVAL)?;
        CString::try_from(name).map_err(|_| ENOMEM)
    }
}

/// Asks the platform to clear poison in `len` bytes of persistent memory at
/// physical address `phys`, for the nvdimm bus `dev` is on. Returns how many
/// bytes, from `phys`, were cleared.
pub fn clear_poison(dev: &device::Device, phys: u64, len: u32) -> Result<u64> {
    // SAFETY: `dev` is a valid device; a device that is not on an nvdimm
    // bus makes this fail with an error.
    let rc = unsafe { bindings::nvdimm_clear_poison(dev.as_raw(), phys, len) };
    u64::try_from(rc).map_err(|_| Error::from_errno(rc as i32))
}

/// A persistent memory region (`struct nd_region`).
///
/// # Invariants
///
/// The wrapped region is valid; instances are always reference counted
/// through the region's device.
#[repr(transparent)]
pub struct Region(Opaque<bindings::nd_region>);

// SAFETY: A region is reference counted through its `struct device`.
unsafe impl AlwaysRefCounted for Region {
    fn inc_ref(&self) {
        // SAFETY: A shared reference means the count is non-zero.
        unsafe { bindings::get_device(&raw mut (*self.0.get()).dev) };
    }

    unsafe fn dec_ref(obj: NonNull<Self>) {
        // SAFETY: The caller owns a reference.
        unsafe { bindings::put_device(&raw mut (*obj.as_ref().0.get()).dev) }
    }
}

// SAFETY: The region functions used here are thread safe.
unsafe impl Send for Region {}
// SAFETY: See `Send`.
unsafe impl Sync for Region {}

impl Region {
    fn as_raw(&self) -> *mut bindings::nd_region {
        self.0.get()
    }

    /// Makes writes that reached the platform's write-pending queues
    /// durable (`nvdimm_flush`).
    pub fn flush(&self) -> Result {
        // SAFETY: The region is valid; a NULL bio asks for a synchronous flush.
        to_result(unsafe { bindings::nvdimm_flush(self.as_raw(), core::ptr::null_mut()) })
    }

    /// Whether the region has flush hints, or `None` if unknown (then
    /// persistence of writes cannot be guaranteed).
    pub fn has_flush(&self) -> Option<bool> {
        // SAFETY: The region is valid.
        let rc = unsafe { bindings::nvdimm_has_flush(self.as_raw()) };
        (rc >= 0).then_some(rc > 0)
    }

    /// Whether CPU caches must be flushed for persistence.
    pub fn has_cache(&self) -> bool {
        // SAFETY: The region is valid.
        unsafe { bindings::nvdimm_has_cache(self.as_raw()) != 0 }
    }

    /// The region's name (`region0`, ...).
    pub fn name(&self) -> &CStr {
        // SAFETY: The region is valid; its device's name is set when it
        // is registered and does not change after.
        unsafe { CStr::from_char_ptr(bindings::dev_name(&raw mut (*self.as_raw()).dev)) }
    }

    /// Whether the region is read-only (its `read_only` attribute, or
    /// a platform that says so): what is bound to it refuses writes.
    pub fn is_read_only(&self) -> bool {
        // SAFETY: The region is valid; `ro` is an int that sysfs stores
        // change, read once (as `nvdimm_check_and_set_ro` does).
        unsafe { core::ptr::read_volatile(&raw const (*self.as_raw()).ro) != 0 }
    }

    /// Whether the region's writes become durable only through its own
    /// flush callback (`ND_REGION_ASYNC`: virtio-pmem, whose flush is a
    /// request to the host), which [`Region::flush`] calls.
    pub fn is_async(&self) -> bool {
        // SAFETY: The region is valid; its flags are set when it is
        // created and not changed after.
        let flags = unsafe { (*self.as_raw()).flags };
        flags & (1 << bindings::ND_REGION_ASYNC) != 0
    }

    /// Whether flushed CPU stores are durable without a further flush
    /// (the condition for `MAP_SYNC`).
    pub fn is_sync(&self) -> bool {
        // SAFETY: The region is valid.
        unsafe { bindings::is_nvdimm_sync(self.as_raw()) }
    }

    /// Fills `bb` with the known-bad sectors of `range`, relative to its start.
    pub fn populate_badblocks(&self, bb: &BadBlocks, range: PhysRange) {
        let r = bindings::range {
            start: range.start,
            end: range.start + range.len - 1,
        };
        // SAFETY: The region and list are valid; `r` is read only.
        unsafe { bindings::nvdimm_badblocks_populate(self.as_raw(), bb.as_raw(), &r) };
    }

    /// A counted reference to the region.
    pub fn to_owned(&self) -> ARef<Region> {
        ARef::from(self)
    }
}
