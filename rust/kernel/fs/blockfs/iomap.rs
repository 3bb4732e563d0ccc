// SPDX-License-Identifier: GPL-2.0

//! File data: `iomap_ops`; DAX faults and mappings, layout breaking; the
//! page cache's mappings and write-back; zeroing.

use super::*;

impl<T: FileSystem> Tables<T> {
    /// `file_operations::mmap_prepare`.
    ///
    /// # Safety
    ///
    /// `desc` describes a new mapping of an open regular file of ours.
    pub(super) unsafe extern "C" fn mmap_prepare(desc: *mut bindings::vm_area_desc) -> c_int {
        // SAFETY: The VFS passes a valid descriptor of an open file.
        let file = unsafe { (*desc).file };
        // SAFETY: An open file has an inode.
        let inode = unsafe { bindings::file_inode(file) };
        // SAFETY: The inode of an open file of ours is valid.
        let i = unsafe { INode::<T>::from_raw(inode) };
        let sb = i.super_block();
        if let Err(e) = sb.live() {
            return e.to_errno();
        }
        if !i.is_dax() {
            // The page cache; writes to shared mappings allocate in
            // `page_mkwrite`.
            // SAFETY: The file is open and the descriptor ours to fill.
            unsafe {
                bindings::file_accessed(file);
                (*desc).vm_ops = &Self::TABLES.vm_ops;
            }
            return 0;
        }
        // SAFETY: The descriptor is valid, `inode` is a DAX inode of ours
        // and `dax_ptr()` the file system's DAX device.
        if !unsafe { bindings::daxdev_mapping_supported(desc, inode, sb.info().dax_ptr()) } {
            return EOPNOTSUPP.to_errno();
        }
        // Read-only mounts: no shared writable mapping of the image.
        let flag = |bit: u32| {
            // SAFETY: The descriptor is valid.
            unsafe { bindings::vma_desc_test(desc, bit as bindings::vma_flag_t) }
        };
        if flag(bindings::VMA_SHARED_BIT) && flag(bindings::VMA_MAYWRITE_BIT) && sb.read_only() {
            return EINVAL.to_errno();
        }
        // SAFETY: The file is open.
        unsafe { bindings::file_accessed(file) };
        // SAFETY: The descriptor is ours to fill; the table is static.
        unsafe { (*desc).vm_ops = &Self::TABLES.dax_vm_ops };
        // SAFETY: As above.
        let flags = unsafe { &raw mut (*desc).vma_flags };
        // SAFETY: `flags` points into the valid descriptor.
        unsafe {
            bindings::vma_flags_set_flag(flags, bindings::VMA_HUGEPAGE_BIT as bindings::vma_flag_t)
        };
        0
    }

    /// `address_space_operations::read_folio` (page cache, without DAX).
    ///
    /// # Safety
    ///
    /// `folio` is a locked folio of a regular file of ours, to be read and
    /// unlocked.
    pub(super) unsafe extern "C" fn read_folio(
        _file: *mut bindings::file,
        folio: *mut bindings::folio,
    ) -> c_int {
        // SAFETY: The page cache passes a locked folio of one of our
        // non-DAX files; the iomap code reads it through our `iomap_ops`
        // and unlocks it.
        unsafe { bindings::iomap_bio_read_folio(folio, &Self::TABLES.iomap_ops) };
        0
    }

    /// `vm_operations_struct::page_mkwrite` of files without DAX: a shared
    /// mapping's folio becomes writable, with blocks allocated for it, as
    /// `zonefs_filemap_page_mkwrite`.
    ///
    /// # Safety
    ///
    /// `vmf` is a write fault on a shared mapping of a regular file of ours
    /// without DAX, with the mmap lock held.
    pub(super) unsafe extern "C" fn page_mkwrite(
        vmf: *mut bindings::vm_fault,
    ) -> bindings::vm_fault_t {
        // SAFETY: The fault handler passes a valid write fault on a mapping
        // of one of our files, which holds the file open.
        let file = unsafe { (*(*vmf).__bindgen_anon_1.vma).vm_file };
        // SAFETY: The file is open.
        let inode = unsafe { bindings::file_inode(file) };
        // SAFETY: An open file's inode is valid, and so is its superblock.
        let (sb, mapping) = unsafe { ((*inode).i_sb, (*inode).i_mapping) };
        // As in `huge_fault`: freeze protection, then the invalidate lock
        // keeps truncation and hole punching out while `iomap_page_mkwrite`
        // allocates (it checks the folio against the size under the folio
        // lock). The guards are dropped in the reverse order.
        // SAFETY: A mounted superblock (it has an open file); a fault holds
        // no freeze protection yet.
        let _freeze = unsafe { PageFault::start(sb) };
        // SAFETY: The file is open.
        unsafe { bindings::file_update_time(file) };
        // SAFETY: The open file's mapping is valid.
        let _invalidate = unsafe { InvalidateLock::lock(mapping, Mode::Shared) };
        // SAFETY: A write fault on a mapping of ours, under the locks above.
        unsafe { bindings::iomap_page_mkwrite(vmf, &Self::TABLES.iomap_ops, core::ptr::null_mut()) }
    }

    /// `address_space_operations::writepages` of files without DAX.
    ///
    /// # Safety
    ///
    /// `mapping` is the mapping of a regular file of ours without DAX, and
    /// `wbc` a valid write-back control.
    pub(super) unsafe extern "C" fn writepages(
        mapping: *mut bindings::address_space,
        wbc: *mut bindings::writeback_control,
    ) -> c_int {
        let mut wpc = bindings::iomap_writepage_ctx {
            // SAFETY: Write-back passes a mapping with its host inode.
            inode: unsafe { (*mapping).host },
            wbc,
            ops: &Self::TABLES.writeback_ops,
            ..pin_init::zeroed()
        };
        // SAFETY: `wpc` is set up as `iomap_writepages` expects; it lives
        // until the call returns, having submitted its I/O.
        unsafe { bindings::iomap_writepages(&mut wpc) }
    }

    /// `iomap_writeback_ops::writeback_range`: adds `len` dirty bytes of
    /// `folio`, at file offset `pos`, to the write-back I/O. The blocks
    /// exist: writes and `page_mkwrite` allocate before they dirty a folio.
    /// The range is mapped afresh each time, under the folio lock, never
    /// from an earlier call's mapping: truncation or a hole punch may have
    /// freed those blocks since (and a later write allocated others).
    ///
    /// # Safety
    ///
    /// `wpc` is the context of [`Self::writepages`] and `folio` one of its
    /// inode's folios, locked, with `pos..pos + len` dirty.
    pub(super) unsafe extern "C" fn writeback_range(
        wpc: *mut bindings::iomap_writepage_ctx,
        folio: *mut bindings::folio,
        pos: u64,
        len: c_uint,
        end_pos: u64,
    ) -> isize {
        // SAFETY: As the caller guarantees: the inode is alive while it has
        // folios under write-back.
        let inode = unsafe { (*wpc).inode };
        // Once an error stopped writes, dirty folios go nowhere: iomap ends
        // their write-back with the error, which fsync then reports (as
        // `ext4_writepages` in ext4's emergency state).
        // SAFETY: As above: an inode of ours, on a mounted superblock.
        if unsafe { SuperBlock::<T>::from_raw((*inode).i_sb) }.is_emergency_ro() {
            return EROFS.to_errno() as isize;
        }
        // SAFETY: As above, and `wpc.iomap` is ours to fill.
        let iomap = unsafe { &raw mut (*wpc).iomap };
        // SAFETY: As above; no source map for a plain mapping.
        let r = unsafe {
            Self::iomap_begin(
                inode,
                pos as i64,
                i64::from(len),
                0,
                iomap,
                core::ptr::null_mut(),
            )
        };
        if r != 0 {
            return r as isize;
        }
        // SAFETY: Filled just above.
        if unsafe { Map::from_raw(iomap) }.addr().is_none() {
            // SAFETY: As above.
            let i = unsafe { INode::<T>::from_raw(inode) };
            fs_err::<T>(format_args!(
                "{}: inode {}: dirty data at offset {} has no block\n",
                i.super_block().id().to_str().unwrap_or("?"),
                i.ino(),
                pos
            ));
            return EIO.to_errno() as isize;
        }
        // SAFETY: As the caller guarantees; the map covers `pos`.
        unsafe { bindings::iomap_add_to_ioend(wpc, folio, pos as i64, end_pos as i64, len) }
    }

    /// `inode_operations::fiemap` of regular files (`FS_IOC_FIEMAP`): the
    /// file's extents and holes, up to its size, from [`file::Operations::map`].
    ///
    /// # Safety
    ///
    /// `inode` is a regular file of ours and `fieinfo` a valid request.
    pub(super) unsafe extern "C" fn fiemap(
        inode: *mut bindings::inode,
        fieinfo: *mut bindings::fiemap_extent_info,
        start: u64,
        len: u64,
    ) -> c_int {
        // SAFETY: The VFS passes a regular file of ours; the guard keeps
        // writes and truncation out while the extents are listed.
        let _guard = unsafe { InodeLock::lock(inode, Mode::Shared) };
        // SAFETY: As above; the inode lock is held.
        let size = unsafe { INode::<T>::from_raw(inode) }.size();
        // Past the size the block map says nothing: the range is trimmed
        // to the size's length, never to 0, which `iomap_fiemap` refuses
        // (as `ext2_fiemap`).
        let len = len.min(size.max(1));
        // The attribute block instead of the data (`xfs_io -c 'fiemap -a'`),
        // as ext4 reports it.
        let mut ops = &Self::TABLES.iomap_ops;
        // SAFETY: `fieinfo` is the caller's valid request.
        unsafe {
            if T::FileOps::HAS_XATTR_EXTENT
                && (*fieinfo).fi_flags & bindings::FIEMAP_FLAG_XATTR != 0
            {
                (*fieinfo).fi_flags &= !bindings::FIEMAP_FLAG_XATTR;
                ops = &Self::TABLES.xattr_iomap_ops;
            }
        }
        // SAFETY: As above; `fieinfo` is the caller's valid request.
        unsafe { bindings::iomap_fiemap(inode, fieinfo, start, len, ops) }
    }

    /// `iomap_ops::iomap_begin` of `FIEMAP_FLAG_XATTR`: one extent at
    /// offset 0, the block holding the inode's attributes; `ENOENT` (no
    /// extent) past it or without one.
    ///
    /// # Safety
    ///
    /// As for [`Self::iomap_begin`].
    pub(super) unsafe extern "C" fn xattr_iomap_begin(
        inode: *mut bindings::inode,
        pos: i64,
        _length: i64,
        _flags: c_uint,
        iomap: *mut bindings::iomap,
        _srcmap: *mut bindings::iomap,
    ) -> c_int {
        from_result(|| {
            // SAFETY: `iomap_fiemap` passes the inode `fiemap` got, an
            // initialised inode of ours, whose lock it holds.
            let i = unsafe { INode::<T>::from_raw(inode) };
            let (addr, len) = T::FileOps::xattr_extent(i)?.ok_or(ENOENT)?;
            if u64::try_from(pos).map_err(|_| EINVAL)? >= len {
                return Err(ENOENT);
            }
            // SAFETY: `iomap` is valid for writes (caller) and ours alone
            // until we return.
            let mut map = unsafe { Map::from_raw(iomap) };
            // SAFETY: `i_sb` is our mounted superblock.
            map.set_devices(unsafe { (*(*inode).i_sb).s_bdev }, core::ptr::null_mut());
            map.set_mapped(0, addr, len, false)?;
            Ok(0)
        })
    }

    /// `address_space_operations::bmap` of regular files (`FIBMAP`): the
    /// device block of file block `block`, 0 for a hole.
    ///
    /// # Safety
    ///
    /// `mapping` is the mapping of a regular file of ours.
    pub(super) unsafe extern "C" fn bmap(
        mapping: *mut bindings::address_space,
        block: bindings::sector_t,
    ) -> bindings::sector_t {
        // SAFETY: The VFS passes the mapping of one of our regular files,
        // whose host is alive while `FIBMAP` holds the file open.
        unsafe { bindings::iomap_bmap(mapping, block, &Self::TABLES.iomap_ops) }
    }

    /// `address_space_operations::swap_activate` of regular files
    /// (`swapon`): the file's extents, from [`file::Operations::map`], become the
    /// swap area's, written and read by the swap code through the block
    /// device. iomap refuses files with holes; the VFS then keeps the file
    /// from being written or truncated (`S_SWAPFILE`) until `swapoff`.
    ///
    /// # Safety
    ///
    /// `file` is an open regular file of ours being activated as swap area
    /// `sis`, and `span` valid for writes.
    pub(super) unsafe extern "C" fn swap_activate(
        sis: *mut bindings::swap_info_struct,
        file: *mut bindings::file,
        span: *mut bindings::sector_t,
    ) -> c_int {
        // SAFETY: `swapon` passes an open file of ours, with its inode.
        let sb = unsafe { (*bindings::file_inode(file)).i_sb };
        // Swap writes go straight to the device: not once writes stopped.
        // SAFETY: A mounted superblock of ours (it has an open file).
        if let Err(e) = unsafe { SuperBlock::<T>::writable_raw(sb) } {
            return e.to_errno();
        }
        // SAFETY: As the caller guarantees; `swapon` holds the inode lock,
        // which keeps the block map still while it is walked.
        unsafe { bindings::iomap_swapfile_activate(sis, file, span, &Self::TABLES.iomap_ops) }
    }

    /// `address_space_operations::readahead` (page cache, without DAX).
    ///
    /// # Safety
    ///
    /// `rac` is a readahead request on a regular file of ours.
    pub(super) unsafe extern "C" fn readahead(rac: *mut bindings::readahead_control) {
        // SAFETY: As for `read_folio`, for a readahead batch.
        unsafe { bindings::iomap_bio_readahead(rac, &Self::TABLES.iomap_ops) };
    }

    /// `vm_operations_struct::huge_fault`.
    ///
    /// # Safety
    ///
    /// `vmf` is a fault of order `order` on a DAX mapping of a regular file of
    /// ours, with the mmap lock held.
    pub(super) unsafe extern "C" fn huge_fault(
        vmf: *mut bindings::vm_fault,
        order: c_uint,
    ) -> bindings::vm_fault_t {
        // As ext4: write faults on shared mappings (which only read-write
        // mounts allow) allocate blocks under freeze protection; write
        // faults on private ones copy into anonymous memory inside
        // `dax_iomap_fault` and change nothing. Our block allocations are
        // durable when `iomap_begin` returns, so `IOMAP_F_DIRTY` is never
        // set and `MAP_SYNC` faults need no `dax_finish_sync_fault`; it is
        // kept for the general contract.
        // SAFETY: The fault handler passes a valid fault on a mapping of an
        // open file of ours, which keeps its inode and superblock.
        let (vma, flags) = unsafe { ((*vmf).__bindgen_anon_1.vma, (*vmf).flags) };
        // SAFETY: As above.
        let (file, vm_flags) = unsafe { ((*vma).vm_file, (*vma).__bindgen_anon_2.vm_flags) };
        // SAFETY: As above.
        let (mapping, sb) = unsafe { ((*file).f_mapping, (*bindings::file_inode(file)).i_sb) };
        let write = flags & bindings::fault_flag_FAULT_FLAG_WRITE != 0
            && vm_flags & bindings::VM_SHARED != 0;
        let _freeze = if write {
            // SAFETY: Our mounted superblock; a fault holds no freeze
            // protection yet. Dropped after the invalidate lock below.
            let freeze = unsafe { PageFault::start(sb) };
            // SAFETY: The file is open.
            unsafe { bindings::file_update_time(file) };
            Some(freeze)
        } else {
            None
        };
        // SAFETY: The file's mapping is valid; the guard releases the lock.
        let invalidate = unsafe { InvalidateLock::lock(mapping, Mode::Shared) };
        let mut pfn = 0;
        let ops = &Self::TABLES.iomap_ops;
        // SAFETY: As above, under the invalidate lock; no error code wanted.
        let mut r =
            unsafe { bindings::dax_iomap_fault(vmf, order, &mut pfn, core::ptr::null_mut(), ops) };
        if write && r & bindings::vm_fault_reason_VM_FAULT_NEEDDSYNC != 0 {
            // SAFETY: The fault `dax_iomap_fault` asked to finish.
            r = unsafe { bindings::dax_finish_sync_fault(vmf, order, pfn) };
        }
        drop(invalidate);
        r
    }

    /// `vm_operations_struct::fault`, `page_mkwrite` and `pfn_mkwrite`.
    ///
    /// # Safety
    ///
    /// As for [`Self::huge_fault`], with order 0.
    pub(super) unsafe extern "C" fn fault(vmf: *mut bindings::vm_fault) -> bindings::vm_fault_t {
        // SAFETY: As for `huge_fault`.
        unsafe { Self::huge_fault(vmf, 0) }
    }

    /// `iomap_ops::iomap_begin`: maps `length` bytes of `inode` from `pos`.
    ///
    /// # Safety
    ///
    /// `inode` is an initialised, referenced inode of ours, `iomap` and
    /// `srcmap` are valid for writes, and the caller holds the locks `flags`
    /// imply (the inode lock for reads and writes, the invalidate lock for
    /// faults).
    pub(super) unsafe extern "C" fn iomap_begin(
        inode: *mut bindings::inode,
        pos: i64,
        length: i64,
        flags: c_uint,
        iomap: *mut bindings::iomap,
        _srcmap: *mut bindings::iomap,
    ) -> c_int {
        from_result(|| {
            // SAFETY: The DAX code passes an initialised inode of ours.
            let i = unsafe { INode::<T>::from_raw(inode) };
            i.super_block().live()?;
            let pos = u64::try_from(pos).map_err(|_| EINVAL)?;
            let len = u64::try_from(length).map_err(|_| EINVAL)?;
            // Writes (and write faults) allocate; zeroing skips holes.
            let write = flags & bindings::IOMAP_WRITE != 0 && flags & bindings::IOMAP_ZERO == 0;
            if flags & bindings::IOMAP_WRITE != 0 {
                // Also through files and mappings opened before an error
                // stopped writes.
                i.super_block().writable()?;
            }
            let m = if write && flags & bindings::IOMAP_NOWAIT != 0 {
                // Allocating writes metadata synchronously: RWF_NOWAIT
                // writes only go where blocks exist.
                match T::FileOps::map(i, pos, len)? {
                    m @ Mapping::Mapped { .. } => m,
                    Mapping::Hole { .. } => return Err(EAGAIN),
                }
            } else if write {
                match T::FileOps::map_write(i, pos, len)? {
                    m @ Mapping::Mapped { .. } => m,
                    Mapping::Hole { .. } => return Err(EIO),
                }
            } else {
                T::FileOps::map(i, pos, len)?
            };
            let sbi = i.super_block().info();
            // SAFETY: `iomap` is valid for writes (caller) and ours alone
            // until we return.
            let mut map = unsafe { Map::from_raw(iomap) };
            // SAFETY: `i_sb` is our mounted superblock.
            map.set_devices(unsafe { (*(*inode).i_sb).s_bdev }, sbi.dax_ptr());
            let dax = flags & bindings::IOMAP_DAX != 0;
            match m {
                Mapping::Mapped {
                    offset,
                    addr,
                    len,
                    new,
                } => {
                    // DAX addresses are the DAX device's, which starts
                    // `part_off` before a partition; others (reads through
                    // the page cache, FIEMAP, FIBMAP) the block device's.
                    let part_off = if dax { sbi.part_off } else { 0 };
                    let addr = addr.checked_add(part_off).ok_or(EIO)?;
                    // New blocks replace a hole that a read fault may have
                    // mapped to the zero page: DAX unmaps it.
                    map.set_mapped(offset, addr, len, new)?;
                }
                Mapping::Hole { offset, len } => map.set_hole(offset, len)?,
            }
            // The extent must contain `pos`.
            let (start, ext_len) = map.extent();
            let end = start.checked_add(ext_len).ok_or(EIO)?;
            if start > pos || end <= pos {
                return Err(EIO);
            }
            let fault = flags & bindings::IOMAP_FAULT != 0;
            match map.addr() {
                Some(addr) if dax && fault => {
                    let n = len.min(end - pos);
                    Self::check_dax_owner(i, sbi.dax_ptr(), pos, addr + (pos - start), n)?;
                }
                _ => {}
            }
            Ok(0)
        })
    }

    /// Refuses to map, for a fault at file offset `pos`, the `len` bytes
    /// of DAX memory at device byte `dev` if any of their pages already
    /// belongs to another file's mapping, or to another offset of this one:
    /// a corrupt image that gives one block to two files (or twice to one).
    /// The DAX core keeps one owner per page and warns otherwise
    /// (`dax_associate_entry`). Two faults racing on such a block in two
    /// files can still both pass; sequential ones cannot.
    pub(super) fn check_dax_owner(
        i: &INode<'_, T>,
        dax: *mut bindings::dax_device,
        pos: u64,
        dev: u64,
        len: u64,
    ) -> Result {
        let shift = bindings::PAGE_SHIFT;
        let pages = len.div_ceil(1 << shift).max(1);
        let mut pfn: c_ulong = 0;
        // The read lock keeps the DAX device alive.
        let dax_lock = DaxReadLock::lock();
        // SAFETY: `dax` is the DAX device of our mounted superblock, alive
        // under the read lock; `kaddr` may be NULL.
        let got = unsafe {
            bindings::dax_direct_access(
                dax,
                (dev >> shift) as c_ulong,
                pages as c_long,
                bindings::dax_access_mode_DAX_ACCESS,
                core::ptr::null_mut(),
                &mut pfn,
            )
        };
        // SAFETY: Only reads; `i` is ours.
        let ours = unsafe { (*i.raw()).i_mapping };
        // Errors (poison) are the DAX core's to report.
        let n = u64::try_from(got).unwrap_or(0).min(pages);
        let r = (0..n).try_for_each(|k| {
            let p = pfn + k as c_ulong;
            // SAFETY: `p` is a page of the device's `memremap_pages()`
            // mapping, with a struct page, while the read lock is held.
            // `mapping` and `index` change under the DAX entry lock of
            // their owner, which we do not hold: read once each.
            let (mapping, index, head) = unsafe {
                let folio = bindings::pfn_folio(p);
                let f = &raw const (*folio).__bindgen_anon_1.__bindgen_anon_1;
                (
                    core::ptr::read_volatile(&raw const (*f).mapping),
                    core::ptr::read_volatile(&raw const (*f).__bindgen_anon_2.index),
                    bindings::folio_pfn(folio),
                )
            };
            // The page's file index, from its folio's (a PMD entry's folio
            // starts at its head page), must be this fault's.
            let page_index = (index as u64).checked_add(p.saturating_sub(head) as u64);
            if mapping.is_null() || (mapping == ours && page_index == Some((pos >> shift) + k)) {
                Ok(())
            } else {
                Err(EUCLEAN)
            }
        });
        drop(dax_lock);
        if r.is_err() {
            let sb = i.super_block();
            fs_err::<T>(format_args!(
                "{}: inode {}: block at device byte {:#x} is mapped by another file \
                 too (blocks shared between files): run e2fsck\n",
                sb.id().to_str().unwrap_or("?"),
                i.ino(),
                dev
            ));
        }
        r
    }

    /// `address_space_operations::writepages` of DAX files: flushes CPU
    /// caches of pages written through shared mappings.
    ///
    /// # Safety
    ///
    /// `mapping` is the mapping of a DAX regular file of ours, and `wbc` a
    /// valid write-back control.
    pub(super) unsafe extern "C" fn dax_writepages(
        mapping: *mut bindings::address_space,
        wbc: *mut bindings::writeback_control,
    ) -> c_int {
        // SAFETY: Writeback passes the mapping of one of our DAX files; the
        // DAX device is held until `kill_sb`. This flushes CPU caches for
        // pages written through shared mappings.
        unsafe {
            let sbi = &*(*(*(*mapping).host).i_sb).s_fs_info.cast::<SbInfo<T>>();
            bindings::dax_writeback_mapping_range(mapping, sbi.dax_ptr(), wbc)
        }
    }

    /// Called back by `dax_break_layout` while a DAX page of the file is
    /// still in use (pinned): waits without the invalidate lock, as
    /// `ext4_wait_dax_page`.
    ///
    /// # Safety
    ///
    /// `inode` is ours and the caller holds its invalidate lock exclusively
    /// (released and taken back here).
    pub(super) unsafe extern "C" fn wait_dax_page(inode: *mut bindings::inode) {
        // SAFETY: `dax_break_layout` passes the inode whose invalidate lock
        // our caller holds exclusively; it is taken back before returning.
        unsafe {
            bindings::filemap_invalidate_unlock((*inode).i_mapping);
            bindings::schedule();
            bindings::filemap_invalidate_lock((*inode).i_mapping);
        }
    }

    /// Unmaps the DAX pages of `start..end` (bytes, `end` inclusive) and
    /// waits until no pinned reference to them is left.
    ///
    /// # Safety
    ///
    /// `inode` is ours and its invalidate lock is held exclusively.
    pub(super) unsafe fn break_layouts(
        inode: *mut bindings::inode,
        start: i64,
        end: i64,
    ) -> Result {
        // SAFETY: As the caller guarantees.
        to_result(unsafe {
            bindings::dax_break_layout(inode, start, end, Some(Self::wait_dax_page))
        })
    }

    /// Zeroes bytes `pos..pos + len` of a file (holes stay holes): in place
    /// with DAX, in the page cache otherwise.
    ///
    /// # Safety
    ///
    /// `inode` is one of our regular files, and its lock is held
    /// exclusively.
    pub(super) unsafe fn zero_range(inode: *mut bindings::inode, pos: u64, len: u64) -> Result {
        if len == 0 {
            return Ok(());
        }
        let (pos, len) = (pos as i64, len as i64);
        let ops = &Self::TABLES.iomap_ops;
        let did_zero = core::ptr::null_mut();
        // SAFETY: As the caller guarantees; `did_zero`, the write
        // operations and the private data are optional.
        to_result(unsafe {
            if (*inode).i_flags & bindings::S_DAX != 0 {
                bindings::dax_zero_range(inode, pos, len, did_zero, ops)
            } else {
                let none = core::ptr::null_mut();
                bindings::iomap_zero_range(inode, pos, len, did_zero, ops, core::ptr::null(), none)
            }
        })
    }
}

/// The mapping `iomap_begin` fills in (`struct iomap`), typed: an extent
/// of a file is either mapped to device bytes or a hole.
///
/// # Invariants
///
/// `self.0` is a `struct iomap` that nothing else reads or writes while the
/// `Map` exists.
pub(super) struct Map<'a>(&'a mut bindings::iomap);

impl Map<'_> {
    /// # Safety
    ///
    /// `iomap` is valid for reads and writes for the `Map`'s lifetime, and
    /// nothing else accesses it meanwhile.
    pub(super) unsafe fn from_raw<'a>(iomap: *mut bindings::iomap) -> Map<'a> {
        // SAFETY: As the caller guarantees.
        Map(unsafe { &mut *iomap })
    }

    /// Sets the devices the extent's addresses are on.
    pub(super) fn set_devices(
        &mut self,
        bdev: *mut bindings::block_device,
        dax: *mut bindings::dax_device,
    ) {
        self.0.bdev = bdev;
        self.0.dax_dev = dax;
    }

    /// `len` bytes from file offset `offset` are at device byte `addr`;
    /// `new` says that the blocks were just allocated (`IOMAP_F_NEW`).
    pub(super) fn set_mapped(&mut self, offset: u64, addr: u64, len: u64, new: bool) -> Result {
        self.0.type_ = bindings::IOMAP_MAPPED as u16;
        self.0.flags = if new { bindings::IOMAP_F_NEW as u16 } else { 0 };
        self.0.offset = i64::try_from(offset).map_err(|_| EIO)?;
        self.0.addr = addr;
        self.0.length = len;
        Ok(())
    }

    /// `len` bytes from file offset `offset` are a hole.
    pub(super) fn set_hole(&mut self, offset: u64, len: u64) -> Result {
        self.0.type_ = bindings::IOMAP_HOLE as u16;
        self.0.flags = 0;
        self.0.offset = i64::try_from(offset).map_err(|_| EIO)?;
        // `IOMAP_NULL_ADDR`.
        self.0.addr = u64::MAX;
        self.0.length = len;
        Ok(())
    }

    /// The extent's file offset and length.
    pub(super) fn extent(&self) -> (u64, u64) {
        (self.0.offset as u64, self.0.length)
    }

    /// The device address of a mapped extent; `None` for a hole (or
    /// anything else).
    pub(super) fn addr(&self) -> Option<u64> {
        (self.0.type_ == bindings::IOMAP_MAPPED as u16).then_some(self.0.addr)
    }
}
