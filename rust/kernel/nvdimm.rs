// SPDX-License-Identifier: GPL-2.0

//! libnvdimm: namespace drivers for persistent memory.
//!
//! libnvdimm describes persistent memory as regions (interleave sets of
//! NVDIMMs) carved into namespaces. A namespace driver (`nd_pmem` in C, or a
//! Rust driver through this module) binds a namespace device and exposes it,
//! usually as a block device with DAX.
//!
//! This abstraction binds *raw* namespaces only (`ND_DEVICE_NAMESPACE_IO`
//! and `ND_DEVICE_NAMESPACE_PMEM`). The btt, pfn and dax personalities that
//! libnvdimm layers on a namespace match namespace drivers too; they are
//! declined with `-ENXIO` and left to the C drivers.
//!
//! C headers: [`include/linux/nd.h`](srctree/include/linux/nd.h),
//! [`include/linux/libnvdimm.h`](srctree/include/linux/libnvdimm.h).

use crate::{
    bindings,
    block::badblocks::BadBlocks,
    device, driver,
    error::{from_result, to_result},
    io::resource::{self, Flags, Resource},
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
    /// Whether `dev` is a btt, pfn or dax personality rather than a
    /// namespace proper.
    ///
    /// # Safety
    ///
    /// `dev` must be a valid device on the nvdimm bus.
    unsafe fn is_personality(dev: *mut bindings::device) -> bool {
        // SAFETY: `dev` is valid (caller); these only compare `dev->type`.
        unsafe { bindings::is_nd_btt(dev) || bindings::is_nd_pfn(dev) || bindings::is_nd_dax(dev) }
    }

    extern "C" fn probe_callback(dev: *mut bindings::device) -> c_int {
        // SAFETY: The nvdimm bus calls probe with a valid device.
        if unsafe { Self::is_personality(dev) } {
            return ENXIO.to_errno();
        }
        from_result(|| {
            // SAFETY: `dev` is a valid namespace device. This validates it
            // (size, claims) and returns it as a namespace.
            let ndns = unsafe { bindings::nvdimm_namespace_common_probe(dev) };
            crate::error::from_err_ptr(ndns)?;
            // SAFETY: `dev` is a namespace device (not a personality, checked
            // above), so it is embedded in a `struct nd_namespace_common`,
            // valid for the duration of the callback.
            //
            // INVARIANT: See above.
            let ns = unsafe { &*Namespace::<device::CoreInternal<'_>>::from_dev(dev) };
            let data = T::probe(ns);
            ns.as_ref().set_drvdata(data)?;
            Ok(0)
        })
    }

    extern "C" fn remove_callback(dev: *mut bindings::device) {
        // SAFETY: `remove` only follows a successful `probe`, which only
        // accepts namespace devices.
        let ns = unsafe { &*Namespace::<device::CoreInternal<'_>>::from_dev(dev) };
        // SAFETY: A successful probe stored a `Pin<KBox<T::Data<'_>>>`.
        let data = unsafe { ns.as_ref().drvdata_borrow::<T::Data<'_>>() };
        T::unbind(ns, data);
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
        // under the device lock: this driver, which binds only namespace
        // devices (see `probe_callback`), after a successful probe and
        // before remove.
        let ns = unsafe { &*Namespace::<device::CoreInternal<'_>>::from_dev(dev) };
        // SAFETY: A successful probe stored a `Pin<KBox<T::Data<'_>>>`,
        // which remove has not taken yet (the device lock is held).
        let data = unsafe { ns.as_ref().drvdata_borrow::<T::Data<'_>>() };
        T::notify(ns, data, event);
    }

    extern "C" fn shutdown_callback(dev: *mut bindings::device) {
        // SAFETY: The bus only shuts down devices bound to this driver,
        // which are namespaces (see `probe_callback`).
        let ns = unsafe { &*Namespace::<device::Normal>::from_dev(dev) };
        // Make writes that reached the platform's buffers durable, as nd_pmem.
        let _ = ns.region().flush();
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

    /// The driver's per-namespace data.
    type Data<'bound>: Send + 'bound;

    /// Binds a raw namespace.
    fn probe<'bound>(
        ns: &'bound Namespace<device::Core<'_>>,
    ) -> impl PinInit<Self::Data<'bound>, Error> + 'bound;

    /// Called before the data is dropped when the namespace is unbound.
    fn unbind<'bound>(ns: &'bound Namespace<device::Core<'_>>, this: Pin<&Self::Data<'bound>>) {
        let _ = (ns, this);
    }

    /// Called while the namespace is bound when libnvdimm has news for it
    /// (`nd_device_driver::notify`), with the device lock held.
    fn notify<'bound>(
        ns: &'bound Namespace<device::Core<'_>>,
        this: Pin<&Self::Data<'bound>>,
        event: Event,
    ) {
        let _ = (ns, this, event);
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

/// A namespace device (`struct nd_namespace_common`).
///
/// # Invariants
///
/// The wrapped structure is a valid raw namespace (an `nd_namespace_io`, or an
/// `nd_namespace_pmem` that embeds one first).
#[repr(transparent)]
pub struct Namespace<Ctx: device::DeviceContext = device::Normal>(
    Opaque<bindings::nd_namespace_common>,
    PhantomData<Ctx>,
);

impl<Ctx: device::DeviceContext> Namespace<Ctx> {
    /// # Safety
    ///
    /// `dev` must be the device of a valid raw namespace.
    unsafe fn from_dev(dev: *mut bindings::device) -> *const Self {
        // SAFETY: `dev` is embedded in a `struct nd_namespace_common`.
        unsafe { dev.byte_sub(offset_of!(bindings::nd_namespace_common, dev)) }.cast()
    }

    fn as_raw(&self) -> *mut bindings::nd_namespace_common {
        self.0.get()
    }

    fn dev_raw(&self) -> *mut bindings::device {
        // SAFETY: By the type invariant the namespace is valid.
        unsafe { &raw mut (*self.as_raw()).dev }
    }

    /// The physical range of the namespace.
    pub fn resource(&self) -> PhysRange {
        // SAFETY: A raw namespace embeds its `nd_namespace_io` (type
        // invariant); `res` is fixed while the namespace is probed or bound.
        let res = unsafe { &(*bindings::to_nd_namespace_io(self.dev_raw())).res };
        PhysRange {
            start: res.start,
            len: res.end.wrapping_sub(res.start).wrapping_add(1),
        }
    }

    /// The logical sector size (512 or 4096).
    pub fn sector_size(&self) -> u32 {
        // SAFETY: By the type invariant the namespace is valid.
        unsafe { bindings::pmem_sector_size(self.as_raw()) }
    }

    /// The NUMA node of the namespace.
    pub fn numa_node(&self) -> i32 {
        // SAFETY: The device is valid.
        unsafe { bindings::dev_to_node(self.dev_raw()) }
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

    /// The region the namespace belongs to.
    pub fn region(&self) -> &Region {
        // SAFETY: A namespace's parent is its region, which outlives it.
        unsafe { &*bindings::to_nd_region((*self.dev_raw()).parent).cast::<Region>() }
    }
}

impl Namespace<device::Core<'_>> {
    /// Reads `buf.len()` bytes at `offset` through the namespace's raw
    /// access path, temporarily enabling it (as nd_pmem does to look for
    /// info blocks before it attaches a disk).
    ///
    /// Only while probing: the enable is device-managed.
    pub fn read_bytes(&self, offset: u64, buf: &mut [u8]) -> Result {
        let dev = self.dev_raw();
        // Only the first `size` bytes are claimed and mapped.
        let size = offset
            .checked_add(buf.len() as u64)
            .and_then(|end| end.checked_next_multiple_of(bindings::PAGE_SIZE as u64))
            .filter(|&size| size <= self.resource().len)
            .ok_or(EINVAL)?;
        // SAFETY: The device and namespace are valid.
        to_result(unsafe { bindings::devm_namespace_enable(dev, self.as_raw(), size) })?;
        // SAFETY: Enabled above, so `rw_bytes` is set and the mapping valid;
        // `buf` is valid for `buf.len()` bytes.
        let rc = unsafe {
            match (*self.as_raw()).rw_bytes {
                Some(rw) => rw(
                    self.as_raw(),
                    offset,
                    buf.as_mut_ptr().cast(),
                    buf.len(),
                    bindings::READ as c_int,
                    0,
                ),
                None => ENXIO.to_errno(),
            }
        };
        // SAFETY: Undoes the enable above.
        unsafe { bindings::devm_namespace_disable(dev, self.as_raw()) };
        to_result(rc)
    }

    /// Claims the namespace's physical range for as long as the returned
    /// region is held, as nd_pmem's `devm_request_mem_region` does: it
    /// shows in `/proc/iomem` under the namespace's name, and any other
    /// claim of part of it fails. `EBUSY` if part of it is claimed already.
    pub fn request_mem_region(&self) -> Result<resource::Region> {
        let res = self.resource();
        let dev: &device::Device = self.as_ref();
        let name = CString::try_from(dev.name()).map_err(|_| ENOMEM)?;
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

// SAFETY: `Namespace` is a transparent wrapper of a type that does not
// depend on its generic argument.
crate::impl_device_context_deref!(unsafe { Namespace });

impl<Ctx: device::DeviceContext> AsRef<device::Device<Ctx>> for Namespace<Ctx> {
    fn as_ref(&self) -> &device::Device<Ctx> {
        // SAFETY: `dev_raw` is a valid `struct device`.
        unsafe { device::Device::from_raw(self.dev_raw()) }
    }
}

// SAFETY: `Namespace` wraps `struct nd_namespace_common` whose device is at
// `OFFSET`.
unsafe impl<Ctx: device::DeviceContext> device::AsBusDevice<Ctx> for Namespace<Ctx> {
    const OFFSET: usize = offset_of!(bindings::nd_namespace_common, dev);
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
