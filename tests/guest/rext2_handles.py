# SPDX-License-Identifier: GPL-2.0
"""File handles (NFS export): name_to_handle_at() and open_by_handle_at()
on a rext2 mount, after the caches are dropped (the inode is read again
from the handle alone), and stale handles of files removed since.

  rext2_handles.py MOUNTPOINT"""

import ctypes
import errno
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tap import ok, errno_of, exit_status  # noqa: E402

libc = ctypes.CDLL(None, use_errno=True)
AT_FDCWD = -100


class Handle(ctypes.Structure):
    _fields_ = [("handle_bytes", ctypes.c_uint), ("handle_type", ctypes.c_int),
                ("f_handle", ctypes.c_ubyte * 128)]


def handle(path):
    h = Handle()
    h.handle_bytes = 128
    mount_id = ctypes.c_int()
    if libc.name_to_handle_at(AT_FDCWD, path.encode(), ctypes.byref(h), ctypes.byref(mount_id), 0):
        raise OSError(ctypes.get_errno(), "name_to_handle_at " + path)
    return h


def open_handle(mfd, h, flags=os.O_RDONLY):
    fd = libc.open_by_handle_at(mfd, ctypes.byref(h), flags)
    if fd < 0:
        raise OSError(ctypes.get_errno(), "open_by_handle_at")
    return fd


def drop_caches():
    os.sync()
    with open("/proc/sys/vm/drop_caches", "w") as f:
        f.write("3\n")


def main(m):
    d = os.path.join(m, "handles")
    os.makedirs(os.path.join(d, "sub"))
    f = os.path.join(d, "sub", "file")
    with open(f, "w") as w:
        w.write("by handle\n")
    gone = os.path.join(d, "gone")
    open(gone, "w").close()
    hf, hd, hg = handle(f), handle(os.path.join(d, "sub")), handle(gone)
    ok(hf.handle_type == 1 and hf.handle_bytes == 8,
       "handles are FILEID_INO32_GEN (inode number and generation)",
       (hf.handle_type, hf.handle_bytes))
    os.unlink(gone)
    mfd = os.open(m, os.O_RDONLY | os.O_DIRECTORY)
    drop_caches()
    fd = open_handle(mfd, hf)
    ok(os.read(fd, 100) == b"by handle\n", "a file opens by its handle after the caches are dropped")
    ok(os.fstat(fd).st_ino == os.stat(f).st_ino, "... and is the same inode")
    os.close(fd)
    drop_caches()
    fd = open_handle(mfd, hd)
    ok(sorted(os.listdir(fd)) == ["file"], "a directory opens by its handle (its parent found through ..)")
    os.close(fd)
    ok(errno_of(lambda: open_handle(mfd, hg)) == errno.ESTALE,
       "the handle of a removed file is stale (ESTALE)")
    # A handle whose generation does not match the inode's is stale too.
    bad = Handle.from_buffer_copy(hf)
    bad.f_handle[4] ^= 0xff
    ok(errno_of(lambda: open_handle(mfd, bad)) == errno.ESTALE,
       "a handle with another generation is stale")
    # Out of range, and a reserved inode: stale, not corrupt.
    for ino in (0xfffffff0, 7):
        h = Handle.from_buffer_copy(hf)
        h.f_handle[0:4] = (ctypes.c_ubyte * 4).from_buffer_copy(ino.to_bytes(4, "little"))
        ok(errno_of(lambda: open_handle(mfd, h)) == errno.ESTALE,
           "a handle to inode %#x is stale" % ino)
    # An unlinked file still open is still in use: its handle opens it
    # (as in ext2; generic/467).
    u = os.path.join(d, "open-unlinked")
    ufd = os.open(u, os.O_CREAT | os.O_RDWR, 0o644)
    os.write(ufd, b"still here\n")
    hu = handle(u)
    os.unlink(u)
    drop_caches()
    fd = open_handle(mfd, hu)
    ok(os.pread(fd, 100, 0) == b"still here\n", "an unlinked file still open opens by its handle")
    os.close(fd)
    os.close(ufd)
    os.close(mfd)
    os.unlink(f)
    os.rmdir(os.path.join(d, "sub"))
    os.rmdir(d)


if __name__ == "__main__":
    main(sys.argv[1])
    sys.exit(exit_status())
