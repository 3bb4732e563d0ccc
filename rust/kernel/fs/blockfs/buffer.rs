// SPDX-License-Identifier: GPL-2.0

//! Metadata blocks in the buffer cache: [`Head`] and [`Buffer`].

use super::*;
use crate::sync::{
    atomic::{Atomic, Full, Relaxed},
    Completion,
};

/// A block of a block device in the buffer cache (`struct buffer_head`).
///
/// Its bytes are reached only under the buffer lock (`lock_buffer`), by
/// [`Head::read`] and [`Head::modify`]: two users of one block (a lookup
/// reading an inode-table block while another inode in it is written)
/// never see each other's half-made changes, and write-out never sees
/// one. The closures must not sleep on other buffers or do I/O: they run
/// with the lock held.
///
/// # Invariants
///
/// A `Head` is only reached through a reference-counted buffer head of an
/// open block device whose data is `b_size` bytes long and, when the
/// `Head` was handed out, was up to date or held the bytes of a write
/// that failed. A failed write clears the buffer's up-to-date bit and sets
/// its write-error bit; the bytes stay the newest, the buffer lock's guard
/// sets the up-to-date bit again before they are reached, and the next
/// sync of the block (a failed write took the dirty bit, so write-back
/// does not) writes them again and clears the write-error bit. Only while
/// the block's page stays in memory, though: reclaim may drop a buffer
/// that is not dirty, and with it the bytes of a failed write.
#[repr(transparent)]
pub struct Head(Opaque<bindings::buffer_head>);

// SAFETY: Buffer heads are reference counted with `get_bh`/`put_bh`
// (`brelse`), which may be called from any thread.
unsafe impl AlwaysRefCounted for Head {
    fn inc_ref(&self) {
        // SAFETY: A shared reference means the count is non-zero.
        unsafe { bindings::get_bh(self.0.get()) };
    }

    unsafe fn dec_ref(obj: NonNull<Self>) {
        // SAFETY: The caller owns a reference.
        unsafe { bindings::brelse(obj.cast().as_ptr()) };
    }
}

// SAFETY: The bytes are only reached under the buffer lock; the rest of
// the buffer head is the buffer cache's, which is thread safe.
unsafe impl Send for Head {}

// SAFETY: See `Send`.
unsafe impl Sync for Head {}

/// A [`Head`]'s buffer lock, held: the block's bytes are reached through it.
///
/// # Invariants
///
/// The guard holds the buffer lock of `head`, released once: on drop, or
/// by the completion of the write [`Locked::start_write`] starts.
struct Locked<'a> {
    head: &'a Head,
    _not_send: crate::types::NotThreadSafe,
}

impl<'a> Locked<'a> {
    fn new(head: &'a Head) -> Self {
        let bh = head.raw();
        // SAFETY: The buffer is referenced (type invariant of `Head`); the
        // lock may sleep, and nothing here holds it yet.
        unsafe { bindings::lock_buffer(bh) };
        // A write of the block failed (`end_write` cleared the up-to-date
        // bit): the bytes in memory are still the newest, as
        // `ext4_buffer_uptodate` has it. Mark them so again, which keeps
        // `Head`'s invariant, and a later change from warning in
        // `mark_buffer_dirty` (the next write fails or succeeds on its own).
        // SAFETY: The buffer is referenced and locked.
        unsafe {
            if bindings::buffer_uptodate(bh) == 0 && bindings::buffer_write_io_error(bh) != 0 {
                bindings::set_buffer_uptodate(bh);
            }
        }
        // INVARIANT: Taken just above.
        Self {
            head,
            _not_send: crate::types::NotThreadSafe,
        }
    }

    fn bytes(&self) -> &[u8] {
        let bh = self.head.raw();
        // SAFETY: By `Head`'s invariant `b_data` is valid for `b_size`
        // bytes; the lock keeps every writer away while `self` is borrowed.
        unsafe { core::slice::from_raw_parts((*bh).b_data.cast::<u8>(), (*bh).b_size) }
    }

    fn bytes_mut(&mut self) -> &mut [u8] {
        let bh = self.head.raw();
        // SAFETY: As in `bytes`; the lock excludes every other access to the
        // bytes (readers, writers, write-out), so the slice is unique while
        // `self` is borrowed mutably.
        unsafe { core::slice::from_raw_parts_mut((*bh).b_data.cast::<u8>(), (*bh).b_size) }
    }

    fn mark_dirty(&mut self) {
        // SAFETY: The buffer is referenced and locked.
        unsafe { bindings::mark_buffer_dirty(self.head.raw()) };
    }

    /// Takes the dirty bit; `true` if it was set.
    fn test_clear_dirty(&mut self) -> bool {
        // SAFETY: The buffer is referenced and locked.
        unsafe { bindings::test_clear_buffer_dirty(self.head.raw()) != 0 }
    }

    /// Forgets the block's unwritten changes, as `bforget` does: takes the
    /// dirty bit, and the bit of a failed write that would have a sync
    /// write them again.
    fn forget_write(&mut self) {
        self.test_clear_dirty();
        // SAFETY: The buffer is referenced and locked.
        unsafe { bindings::clear_buffer_write_io_error(self.head.raw()) };
    }

    /// Whether the block's last write failed, so that its bytes are not on
    /// the device; `bh_submit` clears the bit when it writes them again.
    fn write_failed(&self) -> bool {
        // SAFETY: The buffer is referenced and locked.
        unsafe { bindings::buffer_write_io_error(self.head.raw()) != 0 }
    }

    /// Takes the dirty bit: whether the block must be written, because it
    /// is dirty or because its last write failed. A write that another
    /// task started and that failed took the dirty bit with it, and the
    /// changes of this task that it carried are not on the device either.
    fn take_write(&mut self) -> bool {
        let dirty = self.test_clear_dirty();
        dirty || self.write_failed()
    }

    /// Starts writing the block with `op`, one of `writes`: the lock goes
    /// to the write, whose completion ([`end_write`]) releases it and
    /// reports to `writes`.
    fn start_write(self, op: bindings::blk_opf_t, writes: &Writes) {
        let bh = self.head.raw();
        core::mem::forget(self);
        // INVARIANT: One more write points to `writes`; `Writes::run` waits
        // for it before `writes` goes.
        writes.left.fetch_add(1, Relaxed);
        // SAFETY: The buffer is referenced and was locked by the guard: its
        // `b_private`, "reserved for b_end_io", is ours until `end_write`
        // runs and releases the lock.
        unsafe {
            (*bh).b_private = core::ptr::from_ref(writes).cast_mut().cast();
            bindings::bh_submit(bh, op, Some(end_write));
        }
    }
}

/// Writes of blocks that one task started and waits for. Each reports the
/// status of its own bio here, so that the task learns whether its writes
/// reached the device even if another write of the same block (another
/// task's sync, write-back) changes the buffer's shared bits meanwhile.
///
/// # Invariants
///
/// `left` counts the writes in flight whose buffer's `b_private` points
/// to `self`, plus one until [`Writes::run`] waits; `self` is pinned and
/// outlives them all.
#[pin_data]
struct Writes {
    #[pin]
    done: Completion,
    left: Atomic<i32>,
    failed: Atomic<bool>,
}

impl Writes {
    /// Runs `start`, which starts writes with [`Locked::start_write`], and
    /// waits for all of them; `EIO` if one failed.
    fn run(start: impl FnOnce(&Writes)) -> Result {
        pin_init::stack_pin_init!(let w = pin_init!(Writes {
            done <- Completion::new(),
            left: Atomic::new(1),
            failed: Atomic::new(false),
        }));
        start(&w);
        w.put(true);
        // INVARIANT: No write points to `w` once this returns: `left` went
        // to zero.
        w.done.wait_for_completion();
        if w.failed.load(Relaxed) {
            Err(EIO)
        } else {
            Ok(())
        }
    }

    /// One write is done, successful if `ok`, or the waiter's own count.
    /// `self` must not be touched after this by a write's completion: the
    /// last `put` lets [`Writes::run`] return.
    fn put(&self, ok: bool) {
        if !ok {
            self.failed.store(true, Relaxed);
        }
        // Full ordering: the failure is seen by whoever reaches zero, and
        // the completion orders it before the waiter's read.
        if self.left.fetch_sub(1, Full) == 1 {
            // The waiter may return, and free `self`, once this completes;
            // `self` is not used after it. The reference itself outlives
            // its last use, as `Arc::drop`'s does: `complete_all` is the
            // last access, and the waiter takes the completion's lock
            // after it (the on-stack completion pattern of C).
            self.done.complete_all();
        }
    }
}

/// Completion of a write that [`Locked::start_write`] started: as
/// `bh_end_write`, and reports the bio's own status to the [`Writes`] that
/// waits for it.
///
/// # Safety
///
/// `bio` is a completing write submitted by `bh_submit` from
/// [`Locked::start_write`].
unsafe extern "C" fn end_write(bio: *mut bindings::bio) {
    let mut bh = core::ptr::null_mut();
    // SAFETY: `bio` was submitted by `bh_submit` (caller); this takes its
    // buffer and releases it.
    let ok = unsafe { bindings::bio_endio_bh(bio, &mut bh) };
    // SAFETY: `bh` is the buffer written, referenced and locked since
    // `start_write`, which pointed `b_private` to a `Writes` that waits for
    // this write (type invariant of `Writes`).
    let writes = unsafe { &*(*bh).b_private.cast::<Writes>() };
    // SAFETY: As above: the buffer is ours until unlocked. As
    // `bh_end_write`, which logs through `buffer_io_error`.
    unsafe {
        (*bh).b_private = core::ptr::null_mut();
        if ok {
            bindings::set_buffer_uptodate(bh);
        } else {
            bindings::buffer_io_error(bh);
            bindings::mark_buffer_write_io_error(bh);
            bindings::clear_buffer_uptodate(bh);
        }
        bindings::unlock_buffer(bh);
    }
    writes.put(ok);
}

impl Drop for Locked<'_> {
    fn drop(&mut self) {
        // SAFETY: By the type invariant we hold the lock.
        unsafe { bindings::unlock_buffer(self.head.raw()) };
    }
}

impl Head {
    pub(super) fn raw(&self) -> *mut bindings::buffer_head {
        self.0.get()
    }

    /// Runs `f` on the block's bytes under the buffer lock, for reading.
    pub fn read<R>(&self, f: impl FnOnce(&[u8]) -> R) -> R {
        f(Locked::new(self).bytes())
    }

    /// Changes the block's bytes with `f`, under the buffer lock, and marks
    /// the buffer dirty. Use [`Head::sync`] to write it.
    pub fn modify<R>(&self, f: impl FnOnce(&mut [u8]) -> R) -> R {
        let mut locked = Locked::new(self);
        let r = f(locked.bytes_mut());
        locked.mark_dirty();
        r
    }

    /// As [`Head::modify`], but marks the buffer dirty only if `f` says it
    /// changed something (`Ok(true)`); its answer is returned, or
    /// `Ok(true)` if the block's last write failed: then the bytes `f`
    /// found already there are not on the device, and need a sync as much
    /// as a change does.
    pub fn modify_if<E>(&self, f: impl FnOnce(&mut [u8]) -> Result<bool, E>) -> Result<bool, E> {
        let mut locked = Locked::new(self);
        let r = f(locked.bytes_mut());
        match r {
            Ok(true) => locked.mark_dirty(),
            Ok(false) if locked.write_failed() => return Ok(true),
            _ => {}
        }
        r
    }

    /// Drops the block's changes that are not written yet, for a block
    /// being freed, as `bforget` does: write-back must not write them over
    /// the block's next use, and a sync must not write them again after a
    /// failed write. The bytes in memory stay as they are.
    pub fn discard(&self) {
        Locked::new(self).forget_write();
    }

    /// Makes the block's contents durable, and everything written to the
    /// device before: an ordering point. A dirty buffer, or one whose last
    /// write failed, is written with `REQ_FUA` (a pmem driver copies, then
    /// fences with `nvdimm_flush`); one already written by write-back,
    /// which sets no such flag, gets an explicit cache flush
    /// (`REQ_PREFLUSH`) instead. Either way the flush
    /// happens on the device's own flush path, so asynchronous regions
    /// (virtio-pmem) are covered too.
    pub fn sync(&self) -> Result {
        // As `__sync_dirty_buffer`: with the buffer locked, write-back cannot
        // be writing it.
        let mut locked = Locked::new(self);
        if locked.take_write() {
            let op = bindings::req_op_REQ_OP_WRITE | bindings::REQ_SYNC | bindings::REQ_FUA;
            return Writes::run(|w| locked.start_write(op, w));
        }
        drop(locked);
        // SAFETY: The buffer is of an open block device (type invariant).
        to_result(unsafe { bindings::blkdev_issue_flush((*self.raw()).b_bdev) })
    }

    /// Makes the blocks of `heads` durable together, and everything
    /// written to the device before: one ordering point for blocks whose
    /// writes need no order among themselves (a bitmap and its group
    /// descriptor). See [`Head::sync_all_iter`].
    pub fn sync_all(heads: &[&Head]) -> Result {
        Self::sync_all_iter(heads.iter().copied())
    }

    /// As [`Head::sync_all`], for the blocks `heads` yields (it is walked
    /// more than once, so it costs no allocation to build a list).
    ///
    /// A block listed more than once is written once. Every block but the
    /// last listed that is dirty, or whose last write failed, is written
    /// (`REQ_SYNC`) and waited for; then the last goes with
    /// `REQ_PREFLUSH | REQ_FUA`, as a journal's commit block does: the
    /// cache flush before it makes the others durable, the FUA the last
    /// itself, on the device's own flush path as for [`Head::sync`]. If the
    /// last is clean, an empty flush takes its place.
    ///
    /// Until it returns, a crash may keep any subset of the writes, so the
    /// last is written even if another write failed (`EIO` is returned if
    /// any did): no listed block is left dirty, for write-back to write
    /// after its caller, seeing the error, has freed the block.
    ///
    /// A clean block needs no wait of its own: a write of it in flight
    /// (write-back's, another task's) holds the buffer lock, which this
    /// takes, and the flush before the last covers it once done; a write
    /// that failed left the write-error bit, and the block is written
    /// again.
    pub fn sync_all_iter<'a>(heads: impl Iterator<Item = &'a Head> + Clone) -> Result {
        let Some(last) = heads.clone().last() else {
            return Ok(());
        };
        // Whether `h`, the `i`-th, is the last or was listed before it.
        let repeated = |i: usize, h: &Head| {
            core::ptr::eq(h, last) || heads.clone().take(i).any(|o| core::ptr::eq(o, h))
        };
        let others = || {
            heads
                .clone()
                .enumerate()
                .filter(|&(i, h)| !repeated(i, h))
                .map(|(_, h)| h)
        };
        let r = Writes::run(|w| {
            for h in others() {
                let mut locked = Locked::new(h);
                if locked.take_write() {
                    let op = bindings::req_op_REQ_OP_WRITE | bindings::REQ_SYNC;
                    locked.start_write(op, w);
                }
            }
        });
        let mut locked = Locked::new(last);
        let last_r = if locked.take_write() {
            let op = bindings::req_op_REQ_OP_WRITE
                | bindings::REQ_SYNC
                | bindings::REQ_PREFLUSH
                | bindings::REQ_FUA;
            Writes::run(|w| locked.start_write(op, w))
        } else {
            drop(locked);
            // SAFETY: The buffer is of an open block device (type invariant).
            to_result(unsafe { bindings::blkdev_issue_flush((*last.raw()).b_bdev) })
        };
        r.and(last_r)
    }
}

/// A referenced block of the device of a superblock, from
/// [`SuperBlock::bread`] or [`SuperBlock::new_buffer`]; see [`Head`].
///
/// It lives no longer than the borrow of the superblock it came from, so a
/// file system cannot keep one past `put_super` (in its superblock data).
pub struct Buffer<'a> {
    pub(super) head: ARef<Head>,
    pub(super) _sb: PhantomData<&'a ()>,
}

impl core::ops::Deref for Buffer<'_> {
    type Target = Head;

    fn deref(&self) -> &Head {
        &self.head
    }
}

impl Buffer<'_> {
    /// Reads block `block` of the superblock's block size.
    ///
    /// As `sb_bread`, but a buffer whose last write failed is not read
    /// again, as `ext4_buffer_uptodate` has it: its bytes are the newest,
    /// and reading the device would bring back older ones.
    ///
    /// # Safety
    ///
    /// `sb` must be a valid block-device superblock, for the buffer's
    /// lifetime.
    pub(super) unsafe fn read_block(sb: *mut bindings::super_block, block: u64) -> Result<Self> {
        // `sb_getblk` allocates with `__GFP_NOFAIL`: it fails only for a
        // block past the device's end, which `sb_bread` reports as a
        // failed read.
        // SAFETY: `sb` is valid (caller).
        let bh = NonNull::new(unsafe { bindings::sb_getblk(sb, block) }).ok_or(EIO)?;
        // SAFETY: `sb_getblk` returns a referenced buffer: ours, released
        // when `head` goes.
        let head: ARef<Head> = unsafe { ARef::from_raw(bh.cast()) };
        let b = head.raw();
        // SAFETY: `b` is a referenced buffer of the device.
        if unsafe { bindings::buffer_uptodate(b) } != 0 {
            // INVARIANT: Up to date.
            return Ok(Self {
                head,
                _sb: PhantomData,
            });
        }
        // As in `__bread_slow`: the lock keeps others from reading or
        // writing the block meanwhile.
        // SAFETY: As above; nothing here holds the lock yet.
        unsafe { bindings::lock_buffer(b) };
        // SAFETY: `b` is referenced and locked.
        let usable =
            unsafe { bindings::buffer_uptodate(b) != 0 || bindings::buffer_write_io_error(b) != 0 };
        if usable {
            // SAFETY: Locked just above.
            unsafe { bindings::unlock_buffer(b) };
        } else {
            // SAFETY: `b` is referenced and locked; `bh_end_read` releases
            // the lock when the read completes.
            unsafe {
                bindings::bh_submit(b, bindings::req_op_REQ_OP_READ, Some(bindings::bh_end_read))
            };
            // SAFETY: Waiting needs only the reference.
            unsafe { bindings::wait_on_buffer(b) };
            // SAFETY: As above.
            if unsafe { bindings::buffer_uptodate(b) } == 0 {
                return Err(EIO);
            }
        }
        // INVARIANT: Up to date, or holding the bytes of a failed write.
        Ok(Self {
            head,
            _sb: PhantomData,
        })
    }

    /// Gets block `block` if the buffer cache has it up to date, or holding
    /// the bytes of a write that failed (as [`Buffer::read_block`] takes
    /// them), without reading it.
    ///
    /// # Safety
    ///
    /// As for `read_block`.
    pub(super) unsafe fn cached(sb: *mut bindings::super_block, block: u64) -> Option<Self> {
        // SAFETY: `sb` is a valid block-device superblock (caller), so
        // `s_bdev` and `s_blocksize` are set.
        let bh = NonNull::new(unsafe {
            bindings::__find_get_block_nonatomic((*sb).s_bdev, block, (*sb).s_blocksize as u32)
        })?;
        // SAFETY: `__find_get_block_nonatomic` returns a referenced buffer:
        // ours, released when `head` goes.
        let head: ARef<Head> = unsafe { ARef::from_raw(bh.cast()) };
        // SAFETY: `head` is a valid, referenced buffer.
        let usable = unsafe {
            bindings::buffer_uptodate(head.raw()) != 0
                || bindings::buffer_write_io_error(head.raw()) != 0
        };
        if !usable {
            return None;
        }
        Some(Self {
            head,
            _sb: PhantomData,
        })
    }

    /// Gets block `block` without reading it, filled with zeros.
    ///
    /// # Safety
    ///
    /// As for `read_block`.
    pub(super) unsafe fn new_zeroed(sb: *mut bindings::super_block, block: u64) -> Result<Self> {
        // SAFETY: `sb` is valid (caller). As in `read_block`, only a block
        // past the device's end fails.
        let bh = NonNull::new(unsafe { bindings::sb_getblk(sb, block) }).ok_or(EIO)?;
        // SAFETY: `bh` is a referenced buffer; under its lock no I/O runs on
        // it and no `read` or `modify` sees the bytes being zeroed. A failed
        // write of the block's last use is forgotten with its bytes.
        unsafe {
            let b = bh.as_ptr();
            bindings::lock_buffer(b);
            core::ptr::write_bytes((*b).b_data.cast::<u8>(), 0, (*b).b_size);
            bindings::clear_buffer_write_io_error(b);
            bindings::set_buffer_uptodate(b);
            bindings::unlock_buffer(b);
        }
        // SAFETY: Referenced and now up to date: ours.
        let head = unsafe { ARef::from_raw(bh.cast()) };
        Ok(Self {
            head,
            _sb: PhantomData,
        })
    }
}
