# SPDX-License-Identifier: GPL-2.0
"""Workloads for rext2's crash tests.

  crash_workload.py meta MOUNT SEED [STEPS] [MARKFILE]
      The metadata workload of tests/suites/rext2-crash.sh: create, write,
      rename across directories, link, truncate, mkdir, move, attributes
      and ACLs, fallocate, in a bounded tree; forever unless STEPS.
  crash_workload.py setup MOUNT
  crash_workload.py ops MOUNT [MARKFILE]
      Every namespace and data operation alone (tests/suites/
      rext2-crashstates.sh): setup builds what they work on, ops runs each
      once, in order.

With MARKFILE (rpmem's debugfs "mark" file while it records), each
operation is announced first with "op NAME", so that a crash state can be
blamed on the operation in progress; "fsync PATH SIZE SHA256" says that
PATH (relative to MOUNT) was fsync'ed, and its parent directory too, with
that content: any crash state recorded after the mark must have it.
"""

import hashlib
import os
import random
import struct
import sys

markfd = None


def mark(text):
    if markfd is not None:
        os.write(markfd, text.encode())


ACL = struct.pack("<IHHIHHIHHIHHIHHI", 2, 1, 6, ~0 & 0xffffffff,
                  2, 4, 65534, 4, 4, ~0 & 0xffffffff,
                  0x10, 4, ~0 & 0xffffffff, 0x20, 0, ~0 & 0xffffffff)

META_OPS = ["rename", "link", "truncate", "mkdir", "move", "xattr", "fallocate", "exchange"]
RENAME_EXCHANGE = 2


def rename2(a, b, flags):
    import ctypes
    libc = ctypes.CDLL(None, use_errno=True)
    AT_FDCWD = -100
    if libc.renameat2(AT_FDCWD, a.encode(), AT_FDCWD, b.encode(), flags) != 0:
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e), a)


def meta(m, seed, steps):
    rnd = random.Random(seed)
    dirs = [os.path.join(m, "w%d" % i) for i in range(4)]

    def remove(v):
        if os.path.isdir(v) and not os.path.islink(v):
            for e in os.listdir(v):
                os.unlink(os.path.join(v, e))
            os.rmdir(v)
        else:
            os.unlink(v)

    def step(i):
        d, n = rnd.choice(dirs), rnd.choice(dirs)
        mark("op meta:create+write")
        os.makedirs(d, exist_ok=True)
        os.makedirs(n, exist_ok=True)
        f = os.path.join(d, "f%d-%d" % (seed, i))
        with open(f, "wb") as fh:
            fh.write(os.urandom(rnd.randrange(0, 100000)))
        op = rnd.randrange(len(META_OPS))
        mark("op meta:" + META_OPS[op])
        if op == 0:
            os.rename(f, os.path.join(n, "r%d-%d" % (seed, i)))
        elif op == 1:
            os.link(f, os.path.join(n, "h%d-%d" % (seed, i)))
        elif op == 2:
            os.truncate(f, rnd.randrange(0, 150000))
        elif op == 3:
            s = os.path.join(d, "s%d-%d" % (seed, i))
            os.mkdir(s)
            with open(os.path.join(s, "x"), "w") as fh:
                fh.write("x")
        elif op == 4:
            v = rnd.choice(os.listdir(d))
            os.rename(os.path.join(d, v), os.path.join(n, "m%d-%d" % (seed, i)))
        elif op == 5:
            # Attribute blocks are replaced, never changed in place.
            v = rnd.choice(os.listdir(d))
            p = os.path.join(d, v)
            for k in range(rnd.randrange(1, 4)):
                os.setxattr(p, "user.a%d" % rnd.randrange(4), os.urandom(rnd.randrange(0, 600)))
            if rnd.randrange(2):
                os.setxattr(p, "system.posix_acl_access", ACL)
            if rnd.randrange(3) == 0:
                for x in os.listxattr(p):
                    os.removexattr(p, x)
        elif op == 6:
            fd = os.open(f, os.O_RDWR)
            os.posix_fallocate(fd, 0, 65536)
            os.close(fd)
        else:
            # Swap the new file with an entry of the other directory (a
            # file, or a directory op 3 made), across directories when d
            # and n differ.
            v = rnd.choice(os.listdir(n))
            rename2(f, os.path.join(n, v), RENAME_EXCHANGE)
        # Keep the tree bounded: at most 30 names per directory.
        mark("op meta:remove")
        for x in (d, n):
            names = os.listdir(x)
            while len(names) > 30:
                v = names.pop(rnd.randrange(len(names)))
                remove(os.path.join(x, v))

    i = 0
    print("OPS", i, flush=True)
    while steps is None or i < steps:
        try:
            step(i)
        except (OSError, IndexError) as e:
            print("step", i, e, file=sys.stderr, flush=True)
        i += 1
        if i % 10 == 0:
            print("OPS", i, flush=True)


# Directory entries with 255-byte names take 264 bytes: 15 fill a block.
LONG = 255
PER_BLOCK = 15


def long_name(prefix, i):
    s = "%s%04d" % (prefix, i)
    return s + "x" * (LONG - len(s))


def write_file(p, size, seed=0):
    data = random.Random(seed).randbytes(size)
    with open(p, "wb") as fh:
        fh.write(data)
    return data


def setup(m):
    """What the operations work on; made before recording starts."""
    def p(*a):
        return os.path.join(m, *a)

    for d in ("a", "b", "fsync", "grow", "grow13"):
        os.mkdir(p(d))
    for name, size in (("f-unlink", 10000), ("f-rename", 100), ("f-across", 5000),
                       ("f-link", 10), ("f-hl", 300), ("f-replace-src", 700),
                       ("x1", 1000), ("f-nr", 10), ("f-trunc-down", 100000),
                       ("f-trunc-up", 100), ("f-punch", 65536), ("f-falloc", 0),
                       ("f-xattr", 1), ("f-xattr-rm", 1), ("f-acl", 1), ("f-attr", 1),
                       ("f-open-unlink", 20000)):
        write_file(p("a", name), size, len(name))
    for name, size in (("f-replace-dst", 9000), ("x2", 2000), ("fx", 3000)):
        write_file(p("b", name), size, len(name))
    os.link(p("a", "f-hl"), p("b", "f-hl2"))
    os.mkdir(p("a", "d-rmdir"))
    os.mkdir(p("a", "d-across"))
    write_file(p("a", "d-across", "inside"), 10)
    os.mkdir(p("a", "d-replace-src"))
    os.mkdir(p("b", "d-replace-dst"))
    os.mkdir(p("a", "dx"))
    os.setxattr(p("a", "f-xattr"), "user.old", b"o" * 50)
    os.setxattr(p("a", "f-xattr-rm"), "user.rm", b"r" * 50)
    # /grow: one full block; /grow13: twelve full blocks (all the direct
    # pointers), so that the next entry needs a new block, or the first
    # indirect one.
    for d, blocks in (("grow", 1), ("grow13", 12)):
        for i in range(PER_BLOCK * blocks):
            open(p(d, long_name("e", i)), "w").close()
        st = os.stat(p(d))
        if st.st_size != blocks * 4096:
            print("setup: /%s has %d bytes, not %d" % (d, st.st_size, blocks * 4096),
                  file=sys.stderr)
    os.sync()


def ops(m):
    def p(*a):
        return os.path.join(m, *a)

    nwit = [0]

    def witness():
        # Data written, fsync'ed with its directory: must survive.
        nwit[0] += 1
        rel = "fsync/w%d" % nwit[0]
        mark("op write+fsync")
        data = random.Random(nwit[0]).randbytes(5000 * nwit[0] + 123)
        fd = os.open(p(rel), os.O_CREAT | os.O_WRONLY, 0o644)
        os.write(fd, data)
        os.fsync(fd)
        os.close(fd)
        dfd = os.open(p("fsync"), os.O_RDONLY | os.O_DIRECTORY)
        os.fsync(dfd)
        os.close(dfd)
        mark("fsync /%s %d %s" % (rel, len(data), hashlib.sha256(data).hexdigest()))

    def tmpfile_link():
        import ctypes
        libc = ctypes.CDLL(None, use_errno=True)
        AT_FDCWD, AT_SYMLINK_FOLLOW = -100, 0x400
        fd = os.open(p("a"), os.O_TMPFILE | os.O_WRONLY, 0o644)
        os.write(fd, b"t" * 3000)
        r = libc.linkat(AT_FDCWD, b"/proc/self/fd/%d" % fd, AT_FDCWD,
                        p("a", "tmp-linked").encode(), AT_SYMLINK_FOLLOW)
        err = ctypes.get_errno()
        os.close(fd)
        if r != 0:
            raise OSError(err, os.strerror(err), "linkat")

    def open_unlink():
        fd = os.open(p("a", "f-open-unlink"), os.O_RDONLY)
        os.unlink(p("a", "f-open-unlink"))
        os.close(fd)

    def punch():
        import ctypes
        libc = ctypes.CDLL(None, use_errno=True)
        fd = os.open(p("a", "f-punch"), os.O_RDWR)
        FALLOC_FL_KEEP_SIZE, FALLOC_FL_PUNCH_HOLE = 1, 2
        r = libc.fallocate(fd, FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE,
                           ctypes.c_long(4096), ctypes.c_long(40960))
        os.close(fd)
        if r != 0:
            raise OSError(ctypes.get_errno(), "punch hole")

    def falloc():
        fd = os.open(p("a", "f-falloc"), os.O_RDWR)
        os.posix_fallocate(fd, 0, 65536)
        os.close(fd)

    def write_new():
        with open(p("a", "new"), "r+b") as fh:
            fh.write(b"n" * 10000)

    def write_indirect():
        fd = os.open(p("a", "new"), os.O_WRONLY)
        os.pwrite(fd, b"i" * 100, 13 * 4096)
        os.close(fd)

    def setattr_():
        os.chmod(p("a", "f-attr"), 0o600)
        os.chown(p("a", "f-attr"), 1234, 5678)
        os.utime(p("a", "f-attr"), (1000000000, 1000000000))

    RENAME_NOREPLACE, RENAME_EXCHANGE = 1, 2
    steps = [
        ("create", lambda: open(p("a", "new"), "w").close()),
        ("write", write_new),
        ("write-indirect", write_indirect),
        ("write+fsync", witness),
        ("mkdir", lambda: os.mkdir(p("a", "sub"))),
        ("mknod", lambda: os.mkfifo(p("a", "fifo"))),
        ("symlink-fast", lambda: os.symlink("new", p("a", "sl"))),
        ("symlink-slow", lambda: os.symlink("t/" * 50 + "end", p("a", "sl2"))),
        ("link", lambda: os.link(p("a", "f-link"), p("b", "f-link2"))),
        ("unlink", lambda: os.unlink(p("a", "f-unlink"))),
        ("unlink-hardlink", lambda: os.unlink(p("a", "f-hl"))),
        ("unlink-open", open_unlink),
        ("rmdir", lambda: os.rmdir(p("a", "d-rmdir"))),
        ("rename", lambda: os.rename(p("a", "f-rename"), p("a", "f-renamed"))),
        ("rename-across", lambda: os.rename(p("a", "f-across"), p("b", "f-across"))),
        ("rename-dir-across", lambda: os.rename(p("a", "d-across"), p("b", "d-across"))),
        ("rename-replace", lambda: os.rename(p("a", "f-replace-src"), p("b", "f-replace-dst"))),
        ("rename-replace-dir", lambda: os.rename(p("a", "d-replace-src"), p("b", "d-replace-dst"))),
        ("rename-noreplace", lambda: rename2(p("a", "f-nr"), p("b", "f-nr"), RENAME_NOREPLACE)),
        ("rename-exchange", lambda: rename2(p("a", "x1"), p("b", "x2"), RENAME_EXCHANGE)),
        ("rename-exchange-dir", lambda: rename2(p("a", "dx"), p("b", "fx"), RENAME_EXCHANGE)),
        ("write+fsync", witness),
        ("truncate-down", lambda: os.truncate(p("a", "f-trunc-down"), 5000)),
        ("truncate-up", lambda: os.truncate(p("a", "f-trunc-up"), 200000)),
        ("punch-hole", punch),
        ("fallocate", falloc),
        ("xattr-set", lambda: os.setxattr(p("a", "f-xattr"), "user.new", b"n" * 100)),
        ("xattr-replace", lambda: os.setxattr(p("a", "f-xattr"), "user.old", b"O" * 80)),
        ("xattr-remove", lambda: os.removexattr(p("a", "f-xattr-rm"), "user.rm")),
        ("acl-set", lambda: os.setxattr(p("a", "f-acl"), "system.posix_acl_access", ACL)),
        ("setattr", setattr_),
        ("tmpfile-link", tmpfile_link),
        ("dir-grow", lambda: open(p("grow", long_name("n", 0)), "w").close()),
        ("dir-grow-indirect", lambda: open(p("grow13", long_name("n", 0)), "w").close()),
        ("write+fsync", witness),
    ]
    failed = 0
    for name, fn in steps:
        if name != "write+fsync":
            mark("op " + name)
        try:
            fn()
        except OSError as e:
            failed += 1
            print("op %s: %s" % (name, e), file=sys.stderr, flush=True)
    for d, blocks in (("grow", 2), ("grow13", 13)):
        st = os.stat(p(d))
        if st.st_size != blocks * 4096:
            failed += 1
            print("ops: /%s has %d bytes, not %d" % (d, st.st_size, blocks * 4096),
                  file=sys.stderr)
    print("OPS", len(steps), "failed", failed, flush=True)
    return failed


def pagecache(m):
    """Appends through the page cache (a dax=never mount), which take their
    blocks a window ahead and give back what no write reached (rule 5):
    at the last close, and at fsync, after which the file must have
    exactly its size and data."""
    def appends(rel, n, seed):
        data = random.Random(seed).randbytes(4096 * n)
        fd = os.open(os.path.join(m, rel), os.O_CREAT | os.O_WRONLY, 0o644)
        for i in range(n):
            os.pwrite(fd, data[i * 4096:(i + 1) * 4096], i * 4096)
        return fd, data

    failed = 0
    try:
        mark("op pagecache-append")
        fd, _ = appends("a/pc-append", 20, 1)
        os.close(fd)
        mark("op write+fsync")
        fd, data = appends("fsync/pc-w", 20, 2)
        os.fsync(fd)
        os.close(fd)
        dfd = os.open(os.path.join(m, "fsync"), os.O_RDONLY | os.O_DIRECTORY)
        os.fsync(dfd)
        os.close(dfd)
        mark("fsync /fsync/pc-w %d %s" % (len(data), hashlib.sha256(data).hexdigest()))
    except OSError as e:
        failed += 1
        print("pagecache: %s" % e, file=sys.stderr, flush=True)
    print("PAGECACHE failed", failed, flush=True)
    return failed


def main():
    global markfd
    what, m = sys.argv[1], sys.argv[2]
    if what == "meta":
        steps = int(sys.argv[4]) if len(sys.argv) > 4 else None
        if len(sys.argv) > 5:
            markfd = os.open(sys.argv[5], os.O_WRONLY)
        meta(m, int(sys.argv[3]), steps)
    elif what == "setup":
        setup(m)
    elif what == "ops":
        if len(sys.argv) > 3:
            markfd = os.open(sys.argv[3], os.O_WRONLY)
        sys.exit(1 if ops(m) else 0)
    elif what == "pagecache":
        if len(sys.argv) > 3:
            markfd = os.open(sys.argv[3], os.O_WRONLY)
        sys.exit(1 if pagecache(m) else 0)
    else:
        sys.exit("usage: crash_workload.py meta|setup|ops|pagecache MOUNT ...")


if __name__ == "__main__":
    main()
