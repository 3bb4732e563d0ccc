# SPDX-License-Identifier: GPL-2.0
"""Guest side of tests/suites/rext2-rw.sh: POSIX semantics of a read-write
rext2 mount, checked through system calls.  Prints "ok - WHAT" or
"not ok - WHAT" per check (counted by tests/check) and exits non-zero if
any failed.  Usage: rext2_ops.py MOUNTPOINT"""

import ctypes
import errno
import mmap
import os
import stat
import sys

import tap
from tap import errno_of, ok
import threading
import time

M = sys.argv[1]
BS = 4096
MB = 1 << 20
libc = ctypes.CDLL(None, use_errno=True)
libc.fallocate.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_long, ctypes.c_long]
libc.renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p,
                           ctypes.c_uint]
AT_FDCWD = -100
RENAME_NOREPLACE, RENAME_EXCHANGE, RENAME_WHITEOUT = 1, 2, 4
FALLOC_FL_KEEP_SIZE, FALLOC_FL_PUNCH_HOLE, FALLOC_FL_ZERO_RANGE = 1, 2, 0x10


def fallocate(fd, mode, off, length):
    if libc.fallocate(fd, mode, off, length) != 0:
        return ctypes.get_errno()
    return 0


def renameat2(a, b, flags):
    if libc.renameat2(AT_FDCWD, a.encode(), AT_FDCWD, b.encode(), flags) != 0:
        return ctypes.get_errno()
    return 0


def p(*parts):
    return os.path.join(M, "ops", *parts)


def read(path, off=0, n=-1):
    with open(path, "rb") as f:
        f.seek(off)
        return f.read(n) if n >= 0 else f.read()


def free_blocks():
    return os.statvfs(M).f_bfree


os.mkdir(p())

# -- writing --------------------------------------------------------------
data = os.urandom(3 * MB + 777)
with open(p("f"), "wb") as f:
    f.write(data)
ok(read(p("f")) == data, "write() then read() of 3 MiB + 777 bytes matches")
st = os.stat(p("f"))
ok(st.st_size == len(data), "size after write is exact")
ok(st.st_blocks == (len(data) + BS - 1) // BS * 8 + 8,
   "st_blocks counts data blocks and the indirect block", st.st_blocks)

fd = os.open(p("f"), os.O_WRONLY | os.O_APPEND)
os.write(fd, b"tail")
os.close(fd)
ok(read(p("f"), len(data)) == b"tail", "O_APPEND writes at the end")

fd = os.open(p("v"), os.O_RDWR | os.O_CREAT, 0o644)
n = os.writev(fd, [b"abc", b"", b"defgh", b"i" * 5000])
ok(n == 5008 and read(p("v")) == b"abcdefgh" + b"i" * 5000, "writev gathers its buffers")
os.pwrite(fd, b"Z", 10 * MB)
ok(os.fstat(fd).st_size == 10 * MB + 1, "pwrite past the end extends the size")
ok(read(p("v"), 5 * MB, 4096) == bytes(4096), "the gap reads as zeros")
ok(os.fstat(fd).st_blocks < 64, "the gap is a hole (not allocated)", os.fstat(fd).st_blocks)
ok(os.lseek(fd, 0, os.SEEK_HOLE) == 8192, "SEEK_HOLE finds the hole after the data")
ok(os.lseek(fd, 8192, os.SEEK_DATA) == 10 * MB // BS * BS, "SEEK_DATA finds the last block")
os.close(fd)

PAGECACHE = os.environ.get("REXT2_PAGECACHE") == "1"

# O_DIRECT: with DAX, aligned and unaligned buffers alike; through the
# page cache (REXT2_PAGECACHE=1), iomap's direct I/O, which refuses
# buffers not aligned to the device's sectors.
fd = os.open(p("direct"), os.O_RDWR | os.O_CREAT | os.O_DIRECT, 0o644)
buf = mmap.mmap(-1, 8192)
payload = os.urandom(8192)
buf.write(payload)
ok(os.pwrite(fd, buf, 0) == 8192, "O_DIRECT write")
back = mmap.mmap(-1, 8192)
ok(os.preadv(fd, [back], 0) == 8192 and back[:] == payload, "O_DIRECT read back")
if PAGECACHE:
    try:
        os.pread(fd, 8192, 0)
        ok(False, "O_DIRECT refuses an unaligned buffer without DAX")
    except OSError as e:
        ok(e.errno == errno.EINVAL, "O_DIRECT refuses an unaligned buffer without DAX", e)
else:
    ok(os.pread(fd, 8192, 0) == payload, "O_DIRECT read back into an unaligned buffer")
os.close(fd)

# RWF_NOWAIT: where blocks exist a write needs no waiting; extending the
# file or filling a hole writes metadata synchronously, so it is refused
# with EAGAIN rather than done. (So is a write that would have to update
# the times: each attempt follows a plain write within the same second,
# with retries for when the second turns in between.)
fd = os.open(p("nowait"), os.O_RDWR | os.O_CREAT, 0o644)
os.write(fd, b"a" * (2 * BS))
os.ftruncate(fd, 4 * BS)


def nowait_write(data, off):
    err = 0
    for _ in range(5):
        os.pwrite(fd, b"a", BS)
        try:
            return os.pwritev(fd, [data], off, os.RWF_NOWAIT)
        except OSError as e:
            err = e.errno
    return -err


ok(nowait_write(b"b" * BS, 0) == BS, "RWF_NOWAIT: overwrite succeeds")
ok(nowait_write(b"c", 4 * BS) == -errno.EAGAIN,
   "RWF_NOWAIT: an extending write fails with EAGAIN")
ok(nowait_write(b"d", 3 * BS) == -errno.EAGAIN,
   "RWF_NOWAIT: a write into a hole fails with EAGAIN")
buf = bytearray(BS)
ok(os.preadv(fd, [buf], 0, os.RWF_NOWAIT) == BS and bytes(buf) == b"b" * BS,
   "RWF_NOWAIT: read")
ok(os.fstat(fd).st_size == 4 * BS and read(p("nowait"), 3 * BS, BS) == bytes(BS),
   "RWF_NOWAIT: refused writes changed nothing")
os.close(fd)

# -- truncate -------------------------------------------------------------
before = free_blocks()
os.truncate(p("f"), 5000)
ok(os.stat(p("f")).st_size == 5000 and read(p("f")) == data[:5000], "truncate down keeps the head")
ok(free_blocks() - before == (len(data) + 4 + BS - 1) // BS + 1 - 2,
   "truncate frees the data blocks and the indirect block", free_blocks() - before)
os.truncate(p("f"), 3 * BS)
ok(read(p("f"), 5000) == bytes(3 * BS - 5000), "truncate up: the old tail block past 5000 reads zeros")
os.truncate(p("f"), 0)
ok(os.stat(p("f")).st_blocks == 0, "truncate to 0 frees every block")

# A shared mapping may write past the end within the last page; growing
# the file must not reveal that.
fd = os.open(p("tailz"), os.O_RDWR | os.O_CREAT, 0o644)
os.ftruncate(fd, 100)
# (Python's mmap refuses a mapping past the end; the C library does not.)
libc.mmap.restype = ctypes.c_void_p
libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int,
                      ctypes.c_int, ctypes.c_long]
libc.munmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
addr = libc.mmap(None, 4096, mmap.PROT_READ | mmap.PROT_WRITE, mmap.MAP_SHARED, fd, 0)
ctypes.memset(addr, ord("x"), 4096)
libc.munmap(addr, 4096)
os.ftruncate(fd, 4096)
ok(os.pread(fd, 4096, 0) == b"x" * 100 + bytes(3996), "bytes written past EOF through mmap are zeroed on extend")
os.close(fd)

# -- fallocate --------------------------------------------------------------
fd = os.open(p("fa"), os.O_RDWR | os.O_CREAT, 0o644)
ok(fallocate(fd, 0, 0, 1 * MB) == 0 and os.fstat(fd).st_size == MB, "fallocate allocates and sets the size")
ok(os.fstat(fd).st_blocks >= MB // 512, "fallocate: blocks are allocated", os.fstat(fd).st_blocks)
ok(os.pread(fd, MB, 0) == bytes(MB), "fallocated blocks read as zeros")
ok(fallocate(fd, FALLOC_FL_KEEP_SIZE, 0, 4 * MB) == errno.EOPNOTSUPP,
   "fallocate KEEP_SIZE past the end is refused (ext2 cannot keep blocks past i_size)")
os.pwrite(fd, b"\xff" * MB, 0)
ok(fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 1000, 3 * BS) == 0, "punch hole")
got = os.pread(fd, 5 * BS, 0)
ok(got == b"\xff" * 1000 + bytes(3 * BS) + b"\xff" * (2 * BS - 1000), "punched range reads zeros, edges kept")
ok(os.fstat(fd).st_size == MB, "punch hole keeps the size")
b1 = os.fstat(fd).st_blocks
ok(fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 64 * BS, 64 * BS) == 0
   and b1 - os.fstat(fd).st_blocks == 64 * 8, "punching whole blocks frees them")
ok(fallocate(fd, FALLOC_FL_ZERO_RANGE, 200 * BS + 5, 2 * BS) == 0
   and os.pread(fd, 2 * BS, 200 * BS + 5) == bytes(2 * BS)
   and os.pread(fd, 5, 200 * BS) == b"\xff" * 5
   and os.pread(fd, 5, 202 * BS + 5) == b"\xff" * 5, "zero range zeroes exactly the range")
os.close(fd)

# -- namespace ------------------------------------------------------------
os.mkdir(p("d1"))
os.mkdir(p("d2"))
nl = os.stat(p()).st_nlink
ok(nl == 4, "a directory's link count is 2 + subdirectories", nl)
open(p("d1", "x"), "w").close()
ok(errno_of(lambda: os.rmdir(p("d1"))) == errno.ENOTEMPTY, "rmdir of a non-empty directory: ENOTEMPTY")
ok(errno_of(lambda: os.mkdir(p("d1"))) == errno.EEXIST, "mkdir of an existing name: EEXIST")

os.mkdir(p("d1", "sub"))
os.rename(p("d1", "sub"), p("d2", "sub"))
ok(os.stat(p("d2", "sub", "..")).st_ino == os.stat(p("d2")).st_ino, "a moved directory's .. is its new parent")
ok((os.stat(p("d1")).st_nlink, os.stat(p("d2")).st_nlink) == (2, 3), "parents' link counts follow the move")

open(p("d2", "y"), "w").write("yy")
yino = os.stat(p("d2", "y")).st_ino
os.rename(p("d1", "x"), p("d2", "y"))
ok(not os.path.exists(p("d1", "x")) and os.stat(p("d2", "y")).st_ino != yino
   and read(p("d2", "y")) == b"", "rename over an existing file replaces it")
open(p("d1", "a"), "w").write("a")
open(p("d1", "b"), "w").write("b")
ok(renameat2(p("d1", "a"), p("d1", "b"), RENAME_NOREPLACE) == errno.EEXIST, "RENAME_NOREPLACE: EEXIST")
ok(renameat2(p("d1", "a"), p("d1", "b"), RENAME_EXCHANGE) == 0
   and read(p("d1", "a")) == b"b" and read(p("d1", "b")) == b"a", "RENAME_EXCHANGE swaps two files")
ok(renameat2(p("d1", "a"), p("d2", "sub"), RENAME_EXCHANGE) == 0
   and os.path.isdir(p("d1", "a")) and read(p("d2", "sub")) == b"b"
   and os.stat(p("d1", "a", "..")).st_ino == os.stat(p("d1")).st_ino
   and (os.stat(p("d1")).st_nlink, os.stat(p("d2")).st_nlink) == (3, 2),
   "RENAME_EXCHANGE of a file and a directory across directories fixes .. and link counts")
os.mkdir(p("e1"))
os.mkdir(p("e2"))
open(p("e2", "z"), "w").close()
ok(errno_of(lambda: os.rename(p("e1"), p("e2"))) == errno.ENOTEMPTY, "rename over a non-empty directory: ENOTEMPTY")
os.remove(p("e2", "z"))
os.rename(p("e1"), p("e2"))
ok(not os.path.exists(p("e1")) and os.path.isdir(p("e2")), "rename over an empty directory")

# RENAME_WHITEOUT (overlayfs): the old name becomes a character device 0:0.
open(p("w1"), "w").write("w")
os.mkdir(p("wd"))
os.mkdir(p("wdir"))
ok(renameat2(p("w1"), p("wd", "w2"), RENAME_WHITEOUT) == 0 and read(p("wd", "w2")) == b"w"
   and stat.S_ISCHR(os.lstat(p("w1")).st_mode) and os.lstat(p("w1")).st_rdev == 0
   and os.lstat(p("w1")).st_nlink == 1, "RENAME_WHITEOUT leaves a whiteout (char device 0:0)")
ok(renameat2(p("wdir"), p("wd", "wdir"), RENAME_WHITEOUT) == 0 and os.path.isdir(p("wd", "wdir"))
   and stat.S_ISCHR(os.lstat(p("wdir")).st_mode) and os.stat(p("wd")).st_nlink == 3
   and os.stat(p("wd", "wdir", "..")).st_ino == os.stat(p("wd")).st_ino,
   "RENAME_WHITEOUT of a directory: .. and link counts follow, a whiteout stays")
ok(renameat2(p("wd", "w2"), p("wd", "wdir"), RENAME_WHITEOUT | RENAME_EXCHANGE) == errno.EINVAL,
   "RENAME_WHITEOUT with RENAME_EXCHANGE: EINVAL")
os.unlink(p("w1"))
os.unlink(p("wdir"))

os.link(p("d1", "b"), p("hard"))
ok(os.stat(p("hard")).st_nlink == 2, "link raises the link count")
os.unlink(p("d1", "b"))
ok(os.stat(p("hard")).st_nlink == 1 and read(p("hard")) == b"a", "unlink drops it, data stays")

os.symlink("short", p("fast"))
long_target = "t/" * 1000 + "end"
os.symlink(long_target, p("slow"))
ok(os.readlink(p("fast")) == "short" and os.lstat(p("fast")).st_blocks == 0, "fast symlink (in the inode)")
ok(os.readlink(p("slow")) == long_target and os.lstat(p("slow")).st_blocks == 8, "slow symlink (in a block)")
ok(errno_of(lambda: os.symlink("x" * 4096, p("toolong"))) == errno.ENAMETOOLONG, "symlink target of 4096 bytes: ENAMETOOLONG")
os.mkfifo(p("fifo"))
os.mknod(p("chr"), 0o600 | stat.S_IFCHR, os.makedev(1, 3))
st = os.lstat(p("chr"))
ok(stat.S_ISFIFO(os.lstat(p("fifo")).st_mode) and stat.S_ISCHR(st.st_mode)
   and (os.major(st.st_rdev), os.minor(st.st_rdev)) == (1, 3), "mknod: FIFO and character device")

# An unlinked open file lives until its last close; then its blocks return.
before = free_blocks()
fd = os.open(p("open-unlinked"), os.O_RDWR | os.O_CREAT, 0o644)
os.write(fd, b"u" * MB)
os.unlink(p("open-unlinked"))
ok(os.pread(fd, 10, MB - 10) == b"u" * 10, "an unlinked file is still readable while open")
os.close(fd)
ok(free_blocks() == before, "its blocks are free after the last close", (before, free_blocks()))

# O_TMPFILE, then a name through linkat.
fd = os.open(p(), os.O_TMPFILE | os.O_RDWR, 0o600)
os.write(fd, b"tmp")
libc.linkat.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
AT_SYMLINK_FOLLOW = 0x400
ok(libc.linkat(AT_FDCWD, b"/proc/self/fd/%d" % fd, AT_FDCWD, p("was-tmp").encode(),
               AT_SYMLINK_FOLLOW) == 0, "linkat gives an O_TMPFILE file a name", ctypes.get_errno())
os.close(fd)
ok(read(p("was-tmp")) == b"tmp" and os.stat(p("was-tmp")).st_nlink == 1, "O_TMPFILE file linked in with linkat")

# Attributes and times.
# (chown clears set-id bits, so it goes first.)
os.chown(p("hard"), 1234, 5678)
os.chmod(p("hard"), 0o4711)
os.utime(p("hard"), (1000000000, 1234567890))
st = os.stat(p("hard"))
ok((stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid, int(st.st_atime), int(st.st_mtime))
   == (0o4711, 1234, 5678, 1000000000, 1234567890), "chmod, chown, utimes")
# Ids over 16 bits (both halves on disk), a time before 1970 and the last
# second of 32-bit time; nanoseconds are dropped (ext2 keeps seconds).
# After the inode cache is dropped the inode is read back from disk.
os.chown(p("hard"), 100000, 200000)
os.utime(p("hard"), ns=(-10**15, (2**31 - 1) * 10**9 + 123456789))
want = (100000, 200000, -10**15, (2**31 - 1) * 10**9)
st = os.stat(p("hard"))
got = (st.st_uid, st.st_gid, st.st_atime_ns, st.st_mtime_ns)
ok(got == want, "32-bit ids, times before 1970 and in 2038, in whole seconds", got)
with open("/proc/sys/vm/drop_caches", "w") as f:
    f.write("2")
st = os.stat(p("hard"))
got = (st.st_uid, st.st_gid, st.st_atime_ns, st.st_mtime_ns)
ok(got == want, "... and so read back from disk", got)
os.chown(p("hard"), 1234, 5678)
os.chmod(p("hard"), 0o4711)
os.utime(p("hard"), (1000000000, 1234567890))
# A new file belongs to the creator's file system ids.
os.mkdir(p("owners"))
os.chmod(p("owners"), 0o777)
pid = os.fork()
if pid == 0:
    os.setegid(4000)
    os.seteuid(3000)
    open(p("owners", "mine"), "w").close()
    os._exit(0)
os.waitpid(pid, 0)
with open("/proc/sys/vm/drop_caches", "w") as f:
    f.write("2")
st = os.stat(p("owners", "mine"))
ok((st.st_uid, st.st_gid) == (3000, 4000), "a new file is its creator's", (st.st_uid, st.st_gid))
t0 = os.stat(p("d1")).st_mtime
time.sleep(1.1)
open(p("d1", "new"), "w").close()
st = os.stat(p("d1"))
ok(st.st_mtime > t0 and st.st_ctime > t0, "creating an entry updates the directory's mtime and ctime")
t0 = os.stat(p("hard")).st_ctime
time.sleep(1.1)
with open(p("hard"), "r+b") as f:
    f.write(b"q")
st = os.stat(p("hard"))
ok(st.st_mtime > t0 and st.st_ctime > t0, "write() updates mtime and ctime")

# Many entries: the directory grows by blocks and shrinks back to empty.
os.mkdir(p("many"))
names = ["entry-%05d-%s" % (i, "n" * (i % 50)) for i in range(600)]
for n in names:
    open(p("many", n), "w").close()
ok(sorted(os.listdir(p("many"))) == sorted(names), "600 entries listed back")
ok(os.stat(p("many")).st_size > BS, "the directory grew past one block", os.stat(p("many")).st_size)
for n in names[::2]:
    os.unlink(p("many", n))
ok(sorted(os.listdir(p("many"))) == sorted(names[1::2]), "half removed, the rest listed")
for n in names[1::2]:
    os.unlink(p("many", n))
os.rmdir(p("many"))
ok(not os.path.exists(p("many")), "emptied directory removed")

# -- mmap ----------------------------------------------------------------
fd = os.open(p("mm"), os.O_RDWR | os.O_CREAT, 0o644)
os.ftruncate(fd, 4 * MB)
m = mmap.mmap(fd, 4 * MB)
m[3 * MB:3 * MB + 5] = b"hello"
m[0:5] = b"world"
m.flush()
m.close()
ok(os.pread(fd, 5, 3 * MB) == b"hello" and os.pread(fd, 5, 0) == b"world", "shared mmap writes into holes allocate and persist")
ok(os.fstat(fd).st_blocks > 0, "write faults allocated blocks")
MAP_SHARED_VALIDATE, MAP_SYNC = 0x03, 0x80000
try:
    m = mmap.mmap(fd, MB, flags=MAP_SHARED_VALIDATE | MAP_SYNC)
    m[100:103] = b"syn"
    m.close()
    ok(os.pread(fd, 3, 100) == b"syn", "MAP_SYNC mapping is accepted and written")
except OSError as e:
    ok(False, "MAP_SYNC mapping is accepted and written", e)
os.close(fd)

# -- truncate and hole punch under pinned pages ------------------------------
class Iovec(ctypes.Structure):
    _fields_ = [("base", ctypes.c_void_p), ("len", ctypes.c_size_t)]


def pinned(op_name, op):
    """Pins a page of a mapped file in a pipe (vmsplice), runs op (which
    frees the page's block) in a thread, and checks that it waits for the
    pin (with DAX, where the page is the block) and that the pipe then
    returns the old data, not a reused block."""
    path = p("pin-" + op_name)
    payload = os.urandom(2 * MB)
    with open(path, "wb") as f:
        f.write(payload)
    fd = os.open(path, os.O_RDWR)
    m = mmap.mmap(fd, 2 * MB)
    cbuf = ctypes.c_char.from_buffer(m, MB)
    addr = ctypes.addressof(cbuf)
    r, w = os.pipe()
    iov = Iovec(addr, BS)
    n = libc.vmsplice(w, ctypes.byref(iov), 1, 0)
    ok(n == BS, op_name + ": vmsplice pinned a page of the mapping", ctypes.get_errno())
    done = threading.Event()
    t = threading.Thread(target=lambda: (op(fd), done.set()))
    t.start()
    time.sleep(1.0)
    if not PAGECACHE:
        ok(not done.is_set(), op_name + ": waits while the page is pinned")
    # New allocations may reuse freed blocks only after the wait ends.
    with open(p("pin-other-" + op_name), "wb") as f:
        f.write(b"\xee" * MB)
    got = os.read(r, BS)
    t.join(10)
    ok(done.is_set(), op_name + ": finishes once the pin is gone")
    ok(got == payload[MB:MB + BS], op_name + ": the pinned page kept its data")
    del iov, cbuf
    m.close()
    os.close(r)
    os.close(w)
    os.close(fd)


pinned("truncate", lambda fd: os.ftruncate(fd, 0))
pinned("punch", lambda fd: fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, 2 * MB))

sys.exit(tap.exit_status())
