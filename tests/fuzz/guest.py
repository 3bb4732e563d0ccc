# SPDX-License-Identifier: GPL-2.0
"""Guest side of the image fuzzer (tests/fuzz/fuzz-images): for each
index in FIRST..LAST, make the mutated image (tests/fuzz/mutate.py),
write it to the rpmem disk with O_DIRECT, mount it with rext2 (read-write,
else read-only, else count a refusal), walk, read, map and modify it in a
child process, unmount, and check that nothing is left mounted or busy.

STATE (a file on the shared directory) gets one line per event, written
before the step it names, so that when the VM dies the host knows which
image did it:
  START i seed=NAME          about to write and mount image i
  DONE i mount=rw|ro|refused child=... umount=... secs=...
  SPLAT i KIND: LINE         the kernel log of image i has a splat (the
                             boot stops there: the host starts a new one)
  HANG i                     image i did not finish in time (sysrq w/l
                             dumped the stacks)
  LEAK i WHAT                the disk stayed mounted or busy
  END                        all indices done
The console log gets "rext2-fuzz: image i start/end" and the operations
in between, through /dev/kmsg."""

import ctypes
import errno
import fcntl
import mmap
import os
import random
import select
import signal
import stat
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mutate  # noqa: E402

libc = ctypes.CDLL(None, use_errno=True)
libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong, ctypes.c_char_p]
libc.umount2.argtypes = [ctypes.c_char_p, ctypes.c_int]
MS_RDONLY, MS_REMOUNT = 1, 32
BLKFLSBUF, BLKGETSIZE64 = 0x1261, 0x80081272
BLKZEROOUT = 0x127F

# What makes an image a failure, as in qemu/run, plus failed allocations.
SPLAT = ["WARNING:", "BUG:", "Oops", "KASAN", "UBSAN", "general protection fault",
         "Kernel panic", "possible circular locking", "possible recursive locking",
         "inconsistent lock state", "blocked for more than", "rcu_preempt detected stalls",
         "soft lockup", "hard LOCKUP", "list_add corruption", "list_del corruption",
         "kmemleak:", "page allocation failure", "vmalloc error", "panicked at",
         "Unable to handle", "kernel BUG"]


def kmsg(msg):
    try:
        with open("/dev/kmsg", "w") as f:
            f.write("<6>rext2-fuzz: %s\n" % msg)
    except OSError:
        pass


class Kmsg:
    """New kernel log records since the last read."""

    def __init__(self):
        self.fd = os.open("/dev/kmsg", os.O_RDONLY | os.O_NONBLOCK)
        os.lseek(self.fd, 0, os.SEEK_END)

    def read(self):
        out = []
        while True:
            try:
                rec = os.read(self.fd, 8192)
            except BlockingIOError:
                break
            except OSError as e:
                if e.errno == errno.EPIPE:  # overwritten records
                    continue
                break
            line = rec.decode(errors="replace").split(";", 1)[-1].split("\n", 1)[0]
            out.append(line)
        return out


class State:
    def __init__(self, path):
        self.f = open(path, "a")

    def put(self, line):
        self.f.write(line + "\n")
        self.f.flush()
        os.fsync(self.f.fileno())


def do_mount(dev, mnt, flags):
    # errors=continue whatever s_errors the mutation left: a panic would
    # end the run, and remount-ro the child's writes, at the first error.
    if libc.mount(dev.encode(), mnt.encode(), b"rext2", flags, b"dax,errors=continue") == 0:
        return 0
    return ctypes.get_errno()


def do_umount(mnt):
    if libc.umount2(mnt.encode(), 0) == 0:
        return 0
    return ctypes.get_errno()


def mounted(mnt):
    with open("/proc/self/mountinfo") as f:
        return any(line.split()[4] == mnt for line in f)


# The exercise, in a child process ------------------------------------

class Exercise:
    LIMIT_ENTRIES = 3000
    READ_BUDGET = 24 << 20

    def __init__(self, mnt, rw, rnd, targets=()):
        self.m, self.rw, self.rnd = mnt, rw, rnd
        self.targets = [os.path.join(mnt, t.lstrip("/")) for t in targets][:8]
        self.files, self.dirs, self.links, self.other = [], [], [], []
        self.ops = self.errors = 0
        self.read_left = self.READ_BUDGET

    def op(self, name, fn, *args, **kw):
        """Runs one system call; errors from a corrupt image are expected."""
        self.ops += 1
        try:
            return fn(*args, **kw)
        except OSError:
            self.errors += 1
            return None
        except (ValueError, OverflowError, MemoryError):
            self.errors += 1
            return None

    def walk(self):
        kmsg("walk")
        todo = [(self.m, 0)]
        n = 0
        while todo and n < self.LIMIT_ENTRIES:
            d, depth = todo.pop()
            self.dirs.append(d)
            ents = self.op("scandir", lambda p: list(os.scandir(p)), d) or []
            # A lookup that misses scans every block of the directory.
            self.op("lstat", os.lstat, os.path.join(d, "fuzz-missing"))
            for e in ents:
                n += 1
                p = e.path
                st = self.op("lstat", os.lstat, p)
                self.op("listxattr", self.xattrs, p)
                if st is None:
                    continue
                if stat.S_ISDIR(st.st_mode):
                    if depth < 30:
                        todo.append((p, depth + 1))
                elif stat.S_ISREG(st.st_mode):
                    self.files.append((p, st.st_size))
                elif stat.S_ISLNK(st.st_mode):
                    self.links.append(p)
                    self.op("readlink", os.readlink, p)
                    self.op("stat", os.stat, p)
                else:
                    self.other.append(p)
        self.op("statvfs", os.statvfs, self.m)

    def xattrs(self, p):
        for name in os.listxattr(p, follow_symlinks=False):
            self.op("getxattr", os.getxattr, p, name, follow_symlinks=False)

    def read_file(self, p, size):
        fd = self.op("open", os.open, p, os.O_RDONLY)
        if fd is None:
            return
        try:
            off = 0
            limit = min(size, 1 << 40)
            chunks = 0
            while off < limit and self.read_left > 0 and chunks < 64:
                chunks += 1
                try:
                    off = os.lseek(fd, off, os.SEEK_DATA)
                except OSError:
                    break
                n = min(1 << 20, self.read_left)
                b = self.op("read", os.pread, fd, n, off)
                if not b:
                    off += 1 << 20
                    continue
                self.read_left -= len(b)
                off += len(b)
            # Around the end of the file, and far past it (but below
            # ext2's largest size: past it, reads fail with EUCLEAN, a bug
            # of its own that tests/fuzz/repro/read-past-max-size.sh keeps).
            for o in (max(0, size - 100), size, size + 4096, 1 << 40):
                self.op("read", os.pread, fd, 200, o)
        finally:
            os.close(fd)

    def read(self):
        kmsg("read")
        for p, size in self.files[:300]:
            self.read_file(p, size)

    def mapped(self):
        """mmap reads (and shared writes on a read-write mount) in a
        grandchild: SIGBUS on a corrupt file kills only it."""
        kmsg("mmap")
        picks = [f for f in self.files if f[1] > 0]
        self.rnd.shuffle(picks)
        for p, size in picks[:4]:
            pid = os.fork()
            if pid == 0:
                try:
                    self.map_one(p, size)
                finally:
                    os._exit(0)
            os.waitpid(pid, 0)
            self.ops += 1

    def map_one(self, p, size):
        ln = min(size, 8 << 20)
        try:
            fd = os.open(p, os.O_RDWR if self.rw else os.O_RDONLY)
        except OSError:
            return
        try:
            mm = mmap.mmap(fd, ln, mmap.MAP_SHARED, mmap.PROT_READ)
            for o in range(0, ln, 4096 * 7):
                mm[o]
            mm.close()
        except (OSError, ValueError):
            pass
        if not self.rw:
            return
        try:
            # MAP_SHARED_VALIDATE | MAP_SYNC, then a plain shared mapping.
            for flags in (0x03 | 0x80000, mmap.MAP_SHARED):
                try:
                    mm = mmap.mmap(fd, ln, flags, mmap.PROT_READ | mmap.PROT_WRITE)
                except OSError:
                    continue
                mm[0] = 0x55
                mm[ln - 1] = 0xAA
                mm[ln // 2] = 0x33
                mm.flush()
                mm.close()
        except (OSError, ValueError):
            pass
        os.close(fd)

    # Modifications ------------------------------------------------------

    def some(self, seq, n):
        seq = list(seq)
        self.rnd.shuffle(seq)
        return seq[:n]

    def write_file(self, p, size):
        fd = self.op("open", os.open, p, os.O_RDWR)
        if fd is None:
            return
        try:
            r = self.rnd
            self.op("pwrite", os.pwrite, fd, b"o" * 5000, 0)
            self.op("pwrite", os.pwrite, fd, b"e" * 3000, size)
            self.op("pwrite", os.pwrite, fd, b"h" * 4096, size // 2 + 4096)
            self.op("pwrite", os.pwrite, fd, b"f" * 100, r.choice([1 << 20, 12 << 12, (12 + 1024) << 12,
                                                                     (12 + 1024 + 1024 * 1024) << 12]))
            k = r.randrange(4)
            if k == 0:
                self.op("ftruncate", os.ftruncate, fd, size // 2)
            elif k == 1:
                self.op("ftruncate", os.ftruncate, fd, size + 10000)
            elif k == 2:
                self.op("fallocate", os.posix_fallocate, fd, 0, 65536)
            else:
                # FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE
                self.op("punch", self.fallocate, fd, 3, 4096, 3 * 4096)
            self.op("fsync", os.fsync, fd)
        finally:
            os.close(fd)

    def fallocate(self, fd, mode, off, ln):
        if libc.fallocate(fd, mode, ctypes.c_long(off), ctypes.c_long(ln)) != 0:
            raise OSError(ctypes.get_errno(), "fallocate")

    def exchange(self, a, b):
        # renameat2(AT_FDCWD, a, AT_FDCWD, b, RENAME_EXCHANGE)
        if libc.syscall(316, -100, a.encode(), -100, b.encode(), 2) != 0:
            raise OSError(ctypes.get_errno(), "renameat2")

    def remove_tree(self, d, budget=200):
        for root, dirs, files in os.walk(d, topdown=False):
            for f in files + dirs:
                budget -= 1
                if budget < 0:
                    return
                p = os.path.join(root, f)
                if os.path.isdir(p) and not os.path.islink(p):
                    self.op("rmdir", os.rmdir, p)
                else:
                    self.op("unlink", os.unlink, p)
        self.op("rmdir", os.rmdir, d)

    def modify(self):
        r, m = self.rnd, self.m
        dirs = self.dirs or [m]
        kmsg("modify: create")
        for d in self.some(dirs, 3) + [m]:
            p = os.path.join(d, "fuzz-new-%d" % r.randrange(1000))
            fd = self.op("create", os.open, p, os.O_RDWR | os.O_CREAT, 0o644)
            if fd is not None:
                self.op("write", os.write, fd, b"n" * 10000)
                self.op("pwrite", os.pwrite, fd, b"x" * 4096, (1 << 20) + 100)
                self.op("ftruncate", os.ftruncate, fd, 3000)
                self.op("pwrite", os.pwrite, fd, b"y" * 8192, 70000)
                os.close(fd)
            self.op("mkdir", os.mkdir, p + "-d")
            self.op("symlink", os.symlink, "t" * r.choice([10, 100, 3000]), p + "-l")
            self.op("mkfifo", os.mkfifo, p + "-f")
        kmsg("modify: write")
        for p, size in self.some(self.files, 8):
            self.write_file(p, size)
        kmsg("modify: xattr")
        for p in self.some([f[0] for f in self.files] + dirs, 5):
            self.op("setxattr", os.setxattr, p, "user.fuzz", b"v" * r.choice([1, 100, 2000]))
            for name in self.op("listxattr", os.listxattr, p) or []:
                if r.randrange(2):
                    self.op("removexattr", os.removexattr, p, name)
                else:
                    self.op("setxattr", os.setxattr, p, name, b"w" * r.choice([0, 10, 500]))
            self.op("setacl", os.setxattr, p, "system.posix_acl_access",
                    struct.pack("<IHHIHHIHHIHHIHHI", 2, 1, 6, 0xFFFFFFFF, 2, 4, 1000, 4, 4, 0xFFFFFFFF,
                                0x10, 4, 0xFFFFFFFF, 0x20, 0, 0xFFFFFFFF))
        kmsg("modify: chmod")
        for p in self.some([f[0] for f in self.files] + self.other, 4):
            self.op("chmod", os.chmod, p, 0o640)
            self.op("chown", os.chown, p, 1000, 1000)
            self.op("utime", os.utime, p, (1, 2))
        kmsg("modify: rename")
        names = [f[0] for f in self.files] + self.links + self.other + dirs[1:]
        for p in self.some(names, 5):
            self.op("rename", os.rename, p, os.path.join(r.choice(dirs), "fuzz-mv-%d" % r.randrange(1000)))
        if len(names) > 2:
            a, b = self.some(names, 2)
            self.op("rename", os.rename, a, b)
            self.op("exchange", self.exchange, *self.some(names, 2))
        kmsg("modify: link")
        for p in self.some([f[0] for f in self.files], 3):
            self.op("link", os.link, p, os.path.join(r.choice(dirs), "fuzz-ln-%d" % r.randrange(1000)))
        kmsg("modify: unlink")
        for p in self.some(names, 6):
            self.op("unlink", os.unlink, p)
            self.op("rmdir", os.rmdir, p)
        kmsg("modify: grow a directory")
        d = r.choice(dirs)
        for i in range(r.choice([5, 120])):
            self.op("create", lambda q: os.close(os.open(q, os.O_CREAT | os.O_WRONLY, 0o600)),
                    os.path.join(d, "fuzz-entry-%d-%s" % (i, "z" * 40)))
        for i in range(0, 120, 2):
            self.op("unlink", os.unlink, os.path.join(d, "fuzz-entry-%d-%s" % (i, "z" * 40)))
        kmsg("modify: remove a tree")
        if len(dirs) > 1:
            self.remove_tree(r.choice(dirs[1:]))
        if r.randrange(5) == 0:
            kmsg("modify: fill")
            p = os.path.join(m, "fuzz-fill")
            fd = self.op("create", os.open, p, os.O_RDWR | os.O_CREAT, 0o644)
            if fd is not None:
                buf = b"F" * (1 << 20)
                for _ in range(48):
                    if self.op("write", os.write, fd, buf) is None:
                        break
                os.close(fd)
                self.op("unlink", os.unlink, p)
        kmsg("modify: sync")
        self.op("sync", os.sync)

    def target(self, p):
        """Everything on one inode that a mutation touched."""
        r = self.rnd
        st = self.op("lstat", os.lstat, p)
        self.op("listxattr", self.xattrs, p)
        if st is None:
            return
        if stat.S_ISDIR(st.st_mode):
            self.op("listdir", os.listdir, p)
            self.op("lstat", os.lstat, os.path.join(p, "fuzz-missing"))
            if not self.rw:
                return
            q = os.path.join(p, "fuzz-target-new")
            self.op("create", lambda x: os.close(os.open(x, os.O_CREAT | os.O_WRONLY, 0o600)), q)
            self.op("mkdir", os.mkdir, q + "-d")
            self.op("rename", os.rename, q, q + "-d/moved")
            self.op("unlink", os.unlink, q + "-d/moved")
            self.op("rmdir", os.rmdir, q + "-d")
            if p != self.m:
                self.op("rename", os.rename, p, os.path.join(self.m, "fuzz-target-dir"))
                self.op("rmdir", os.rmdir, os.path.join(self.m, "fuzz-target-dir"))
            return
        if stat.S_ISLNK(st.st_mode):
            self.op("readlink", os.readlink, p)
        elif stat.S_ISREG(st.st_mode):
            self.read_file(p, st.st_size)
            pid = os.fork()
            if pid == 0:
                try:
                    self.map_one(p, st.st_size)
                finally:
                    os._exit(0)
            os.waitpid(pid, 0)
            if self.rw:
                self.write_file(p, st.st_size)
                self.op("truncate", os.truncate, p, r.choice([0, st.st_size // 3, st.st_size + 1]))
        if self.rw:
            self.op("setxattr", os.setxattr, p, "user.fuzz-target", b"t" * 64, follow_symlinks=False)
            if r.randrange(2):
                self.op("link", os.link, p, p + "-fuzz-link")
                self.op("unlink", os.unlink, p + "-fuzz-link")
            self.op("unlink", os.unlink, p)

    def run(self):
        self.walk()
        self.read()
        self.mapped()
        if self.targets:
            kmsg("targets")
            for p in self.targets:
                self.target(p)
        if self.rw:
            self.modify()
            # Walk what is left (entries the modifications made or broke).
            self.files, self.dirs, self.links, self.other = [], [], [], []
            self.walk()


# The loop ------------------------------------------------------------

def write_image(dev, img, zero_to):
    """Writes img (an ext2img.Sparse) at the start of dev: its stored
    blocks with O_DIRECT, zeros (BLKZEROOUT) everywhere else up to
    zero_to, which covers whatever earlier images left there."""
    fd = os.open(dev, os.O_WRONLY | os.O_DIRECT)
    try:
        pos = 0

        def zero(a, b):
            if b > a:
                fcntl.ioctl(fd, BLKZEROOUT, struct.pack("QQ", a, b - a))

        for n, data in img.runs():
            off = n * mutate.BS
            if off >= zero_to and off >= len(img):
                break
            zero(pos, off)
            buf = mmap.mmap(-1, len(data))
            buf[:] = data
            os.pwrite(fd, buf, off)
            buf.close()
            pos = off + len(data)
        zero(pos, zero_to)
        os.fsync(fd)
        fcntl.ioctl(fd, BLKFLSBUF, 0)
    finally:
        os.close(fd)


def dev_size(dev):
    fd = os.open(dev, os.O_RDONLY)
    try:
        return struct.unpack("Q", fcntl.ioctl(fd, BLKGETSIZE64, b"\0" * 8))[0]
    finally:
        os.close(fd)


def children(pid):
    try:
        with open("/proc/%d/task/%d/children" % (pid, pid)) as f:
            return [int(x) for x in f.read().split()]
    except OSError:
        return []


def splats(lines):
    for line in lines:
        for s in SPLAT:
            if s in line:
                return line
    return None


def main():
    import argparse
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", required=True)
    ap.add_argument("--seed", required=True)
    ap.add_argument("--first", type=int, required=True)
    ap.add_argument("--last", type=int, required=True)
    ap.add_argument("--state", required=True)
    ap.add_argument("--dev", default="/dev/rpmem0")
    ap.add_argument("--mnt", default="/mnt/fuzz")
    ap.add_argument("--timeout", type=float, default=60)
    a = ap.parse_args()

    state = State(a.state)
    seeds = mutate.load_seeds(a.seeds)
    os.makedirs(a.mnt, exist_ok=True)
    size = dev_size(a.dev)
    dirty = 0  # the disk is zeros at boot (a new sparse backing file)
    log = Kmsg()
    state.put("BOOT first=%d last=%d dev_size=%d" % (a.first, a.last, size))

    for i in range(a.first, a.last + 1):
        name, img, story, fs_bytes, targets = mutate.make_targets(seeds, a.seed, i)
        state.put("START %d seed=%s" % (i, name))
        kmsg("image %d start (seed %s)" % (i, name))
        for line in story:
            kmsg("  mutation: " + line[:300])
        t0 = time.time()
        reach = min(size, max(len(img), fs_bytes))
        write_image(a.dev, img, max(reach, dirty))
        dirty = reach
        how = "rw"
        err = do_mount(a.dev, a.mnt, 0)
        if err:
            how = "ro"
            err = do_mount(a.dev, a.mnt, MS_RDONLY)
        if err:
            how = "refused:" + errno.errorcode.get(err, str(err))
        child = "-"
        ops = "-"
        if not how.startswith("refused"):
            r, w = os.pipe()
            pid = os.fork()
            if pid == 0:
                os.close(r)
                ex = Exercise(a.mnt, how == "rw", random.Random("ops:%s:%d" % (a.seed, i)), targets)
                code = 0
                try:
                    ex.run()
                except BaseException:
                    import traceback
                    traceback.print_exc()
                    code = 1
                os.write(w, ("%d/%d" % (ex.ops, ex.errors)).encode())
                os._exit(code)
            os.close(w)
            deadline = t0 + a.timeout
            st = None
            while st is None:
                done, status = os.waitpid(pid, os.WNOHANG)
                if done:
                    st = status
                    break
                if time.time() > deadline:
                    break
                select.select([], [], [], 0.05)
            if st is None:
                kmsg("image %d: no progress for %ds, dumping stacks" % (i, a.timeout))
                # The child's kernel stack (a busy loop is often not on a
                # CPU when sysrq-l looks), then blocked tasks and CPUs.
                for p in [pid] + children(pid):
                    try:
                        with open("/proc/%d/stack" % p) as f:
                            kmsg("stack of %d:" % p)
                            for line in f.read().splitlines():
                                kmsg("  stack: " + line)
                    except OSError:
                        pass
                for c in "wl":
                    try:
                        with open("/proc/sysrq-trigger", "w") as f:
                            f.write(c)
                    except OSError:
                        pass
                time.sleep(3)
                state.put("HANG %d" % i)
                s = splats(log.read())
                if s:
                    state.put("SPLAT %d %s" % (i, s))
                os._exit(3)
            ops = os.read(r, 100).decode() or "-"
            os.close(r)
            if os.WIFSIGNALED(st):
                child = "signal:%d" % os.WTERMSIG(st)
            else:
                child = "exit:%d" % os.WEXITSTATUS(st)
            if how == "rw" and i % 4 == 0:
                e = do_mount(a.dev, a.mnt, MS_REMOUNT | MS_RDONLY)
                if e:
                    child += ",remount-ro:" + errno.errorcode.get(e, str(e))
            um = do_umount(a.mnt)
            if um == errno.EBUSY:
                time.sleep(1)
                um = do_umount(a.mnt)
            umount = "ok" if um == 0 else errno.errorcode.get(um, str(um))
        else:
            umount = "-"
        leak = []
        if mounted(a.mnt):
            leak.append("still mounted")
        try:
            os.close(os.open(a.dev, os.O_RDONLY | os.O_EXCL))
        except OSError as e:
            leak.append("device busy (%s)" % errno.errorcode.get(e.errno, e.errno))
        kmsg("image %d end" % i)
        state.put("DONE %d seed=%s mount=%s child=%s ops=%s umount=%s secs=%.1f"
                  % (i, name, how, child, ops, umount, time.time() - t0))
        s = splats(log.read())
        if s:
            state.put("SPLAT %d %s" % (i, s))
            time.sleep(1)
            return 2
        if leak:
            state.put("LEAK %d %s" % (i, "; ".join(leak)))
            return 2
    state.put("END")
    return 0


if __name__ == "__main__":
    sys.exit(main())
