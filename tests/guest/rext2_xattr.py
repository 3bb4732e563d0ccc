# SPDX-License-Identifier: GPL-2.0
"""Guest side of tests/suites/rext2-rw.sh: extended attributes and POSIX
ACLs on a read-write rext2 mount.  Prints "ok - WHAT" or "not ok - WHAT"
per check and exits non-zero if any failed.

Usage: rext2_xattr.py check MOUNTPOINT   the semantic checks
       rext2_xattr.py write DIR TAG      a set of attributes and ACLs
       rext2_xattr.py dump DIR           every attribute under DIR, sorted,
                                         one line each (for comparisons
                                         between drivers)"""

import errno
import os
import stat
import struct
import sys

import tap
from tap import errno_of, ok

NOBODY = 65534


# The VFS's ACL xattr format: version 2, then (tag, perm, id) entries.
USER_OBJ, USER, GROUP_OBJ, GROUP, MASK, OTHER = 1, 2, 4, 8, 0x10, 0x20
UNDEFINED = 0xFFFFFFFF


def acl(*entries):
    out = struct.pack("<I", 2)
    for tag, perm, *rest in entries:
        out += struct.pack("<HHI", tag, perm, rest[0] if rest else UNDEFINED)
    return out


def acl_entries(value):
    return [struct.unpack_from("<HHI", value, 4 + 8 * i) for i in range((len(value) - 4) // 8)]


ACCESS = "system.posix_acl_access"
DEFAULT = "system.posix_acl_default"


def as_nobody(fn):
    """Runs fn() in a child with uid/gid nobody; returns its errno (0 if
    it succeeded)."""
    pid = os.fork()
    if pid == 0:
        try:
            os.setgroups([])
            os.setgid(NOBODY)
            os.setuid(NOBODY)
            fn()
            os._exit(0)
        except OSError as e:
            os._exit(e.errno)
        except BaseException:
            os._exit(255)
    return os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])


def check(m):
    d = os.path.join(m, "xattr")
    os.makedirs(d, exist_ok=True)
    f = os.path.join(d, "file")
    with open(f, "w") as fh:
        fh.write("data\n")
    blocks0 = os.stat(f).st_blocks

    # Set, get, list, replace, remove.
    ctime0 = os.stat(f).st_ctime
    os.setxattr(f, "user.colour", b"blue")
    ok(os.getxattr(f, "user.colour") == b"blue", "xattr: user.colour reads back")
    ok(os.stat(f).st_blocks == blocks0 + 8, "xattr: the attribute block counts in st_blocks",
       os.stat(f).st_blocks)
    os.setxattr(f, "user.empty", b"")
    ok(os.getxattr(f, "user.empty") == b"", "xattr: an empty value reads back empty")
    ok(sorted(os.listxattr(f)) == ["user.colour", "user.empty"], "xattr: listxattr",
       os.listxattr(f))
    ok(errno_of(lambda: os.setxattr(f, "user.colour", b"x", os.XATTR_CREATE)) == errno.EEXIST,
       "xattr: XATTR_CREATE of an existing attribute fails with EEXIST")
    ok(errno_of(lambda: os.setxattr(f, "user.none", b"x", os.XATTR_REPLACE)) == errno.ENODATA,
       "xattr: XATTR_REPLACE of a missing attribute fails with ENODATA")
    ok(errno_of(lambda: os.getxattr(f, "user.none")) == errno.ENODATA,
       "xattr: getxattr of a missing attribute fails with ENODATA")
    ok(errno_of(lambda: os.removexattr(f, "user.none")) == errno.ENODATA,
       "xattr: removexattr of a missing attribute fails with ENODATA")
    os.setxattr(f, "user.colour", b"a longer value, replaced", os.XATTR_REPLACE)
    ok(os.getxattr(f, "user.colour") == b"a longer value, replaced", "xattr: replace")
    ok(os.stat(f).st_ctime >= ctime0, "xattr: ctime is updated")
    os.setxattr(f, "trusted.t", b"\x00\x01binary\xff")
    os.setxattr(f, "security.s", b"sec")
    ok(os.getxattr(f, "trusted.t") == b"\x00\x01binary\xff" and
       os.getxattr(f, "security.s") == b"sec", "xattr: trusted. and security. name spaces")
    ok(as_nobody(lambda: os.getxattr(f, "trusted.t")) in (errno.ENODATA, errno.EPERM),
       "xattr: trusted. is hidden from unprivileged users")

    def list_as_nobody():
        if "trusted.t" in os.listxattr(f) or "user.colour" not in os.listxattr(f):
            raise OSError(errno.EPERM, "trusted. listed")
    ok(as_nobody(list_as_nobody) == 0, "xattr: listxattr hides trusted. from unprivileged users")
    os.removexattr(f, "user.empty")
    ok(sorted(os.listxattr(f)) == ["security.s", "trusted.t", "user.colour"],
       "xattr: removexattr", os.listxattr(f))
    for n in ("user.colour", "trusted.t", "security.s"):
        os.removexattr(f, n)
    ok(os.listxattr(f) == [] and os.stat(f).st_blocks == blocks0,
       "xattr: removing the last attribute frees the block", os.stat(f).st_blocks)
    ok(errno_of(lambda: os.setxattr(f, "user." + "n" * 256, b"x")) == errno.ERANGE,
       "xattr: a name longer than 255 bytes fails with ERANGE")

    # Filling the block: ENOSPC, and what was set stays.
    i, err = 0, 0
    while not err and i < 1000:
        err = errno_of(lambda: os.setxattr(f, "user.fill-%04d" % i, b"v" * 100))
        i += 1
    ok(err == errno.ENOSPC, "xattr: a full attribute block fails with ENOSPC", err)
    ok(all(os.getxattr(f, "user.fill-%04d" % j) == b"v" * 100 for j in range(i - 1)),
       "xattr: the attributes set before ENOSPC are intact (%d)" % (i - 1))
    ok(errno_of(lambda: os.setxattr(f, "user.big", b"v" * 5000)) in (errno.ERANGE, errno.ENOSPC),
       "xattr: a value larger than a block is refused")

    # Directories, symlinks, special files.
    os.setxattr(d, "user.dir", b"on a directory")
    ok(os.getxattr(d, "user.dir") == b"on a directory", "xattr: on a directory")
    ln = os.path.join(d, "link")
    os.symlink("file", ln)
    ok(errno_of(lambda: os.setxattr(ln, "user.x", b"1", follow_symlinks=False)) == errno.EPERM,
       "xattr: user. on a symlink fails with EPERM")
    os.setxattr(ln, "trusted.x", b"1", follow_symlinks=False)
    ok(os.getxattr(ln, "trusted.x", follow_symlinks=False) == b"1" and
       os.listxattr(ln, follow_symlinks=False) == ["trusted.x"], "xattr: trusted. on a symlink")
    fifo = os.path.join(d, "fifo")
    os.mkfifo(fifo)
    os.setxattr(fifo, "trusted.y", b"2")
    ok(os.listxattr(fifo) == ["trusted.y"], "xattr: trusted. on a FIFO")

    # Shared blocks are not shared by rext2 (each inode gets its own), but
    # deleting files with attributes frees their blocks.
    sv = os.statvfs(m)
    free0 = sv.f_bfree
    for j in range(50):
        g = os.path.join(d, "many-%d" % j)
        open(g, "w").close()
        os.setxattr(g, "user.n", str(j).encode())
    ok(all(os.getxattr(os.path.join(d, "many-%d" % j), "user.n") == str(j).encode()
           for j in range(50)), "xattr: 50 files with their own attributes")
    ok(os.statvfs(m).f_bfree == free0 - 50, "xattr: 50 attribute blocks allocated",
       free0 - os.statvfs(m).f_bfree)
    for j in range(50):
        os.unlink(os.path.join(d, "many-%d" % j))
    ok(os.statvfs(m).f_bfree == free0, "xattr: deleting the files frees the blocks",
       free0 - os.statvfs(m).f_bfree)

    # POSIX ACLs.
    a = os.path.join(d, "acl-file")
    with open(a, "w") as fh:
        fh.write("secret\n")
    os.chmod(a, 0o600)
    ok(as_nobody(lambda: open(a).read()) == errno.EACCES, "acl: mode 0600 keeps nobody out")
    os.setxattr(a, ACCESS, acl((USER_OBJ, 6), (USER, 4, NOBODY), (GROUP_OBJ, 0), (MASK, 4),
                               (OTHER, 0)))
    ok(as_nobody(lambda: open(a).read()) == 0, "acl: user:nobody:r lets nobody read")
    ok(as_nobody(lambda: open(a, "w")) == errno.EACCES, "acl: ... but not write")
    ok(stat.S_IMODE(os.stat(a).st_mode) == 0o640, "acl: the group bits show the mask",
       oct(os.stat(a).st_mode))
    got = acl_entries(os.getxattr(a, ACCESS))
    ok(got == [(USER_OBJ, 6, UNDEFINED), (USER, 4, NOBODY), (GROUP_OBJ, 0, UNDEFINED),
               (MASK, 4, UNDEFINED), (OTHER, 0, UNDEFINED)], "acl: reads back", got)
    ok(ACCESS in os.listxattr(a), "acl: listed by listxattr")
    os.chmod(a, 0o600)
    ok(as_nobody(lambda: open(a).read()) == errno.EACCES, "acl: chmod 0600 sets the mask to ---")
    ok((MASK, 0, UNDEFINED) in acl_entries(os.getxattr(a, ACCESS)), "acl: chmod updates the mask")
    # An ACL equal to the mode is stored as the mode only.
    os.setxattr(a, ACCESS, acl((USER_OBJ, 7), (GROUP_OBJ, 5), (OTHER, 1)))
    ok(stat.S_IMODE(os.stat(a).st_mode) == 0o751 and
       errno_of(lambda: os.getxattr(a, ACCESS)) == errno.ENODATA,
       "acl: a minimal ACL becomes the mode", oct(os.stat(a).st_mode))

    # Default ACLs are inherited, and replace the umask.
    dd = os.path.join(d, "inherit")
    os.mkdir(dd, 0o755)
    os.setxattr(dd, DEFAULT, acl((USER_OBJ, 7), (USER, 6, NOBODY), (GROUP_OBJ, 5), (MASK, 7),
                                 (OTHER, 0)))
    old = os.umask(0o077)
    try:
        fd = os.open(os.path.join(dd, "child"), os.O_CREAT | os.O_WRONLY, 0o666)
        os.close(fd)
        os.mkdir(os.path.join(dd, "subdir"), 0o777)
    finally:
        os.umask(old)
    child = os.path.join(dd, "child")
    ok(stat.S_IMODE(os.stat(child).st_mode) == 0o660,
       "acl: a new file's mode comes from the default ACL, not the umask",
       oct(os.stat(child).st_mode))
    ok((USER, 6, NOBODY) in acl_entries(os.getxattr(child, ACCESS)),
       "acl: a new file inherits the default ACL as its access ACL")
    ok(errno_of(lambda: os.getxattr(child, DEFAULT)) == errno.ENODATA,
       "acl: a new file has no default ACL")
    sub = os.path.join(dd, "subdir")
    ok((USER, 6, NOBODY) in acl_entries(os.getxattr(sub, DEFAULT)),
       "acl: a new directory inherits the default ACL")
    ok(as_nobody(lambda: open(child, "w").write("x")) == 0, "acl: the inherited ACL applies")
    ok(errno_of(lambda: os.setxattr(child, DEFAULT, acl((USER_OBJ, 7), (GROUP_OBJ, 5),
                                                          (OTHER, 0)))) == errno.EACCES,
       "acl: a default ACL on a file is refused")
    os.removexattr(dd, DEFAULT)
    old = os.umask(0o077)
    try:
        os.close(os.open(os.path.join(dd, "after"), os.O_CREAT | os.O_WRONLY, 0o666))
    finally:
        os.umask(old)
    ok(stat.S_IMODE(os.stat(os.path.join(dd, "after")).st_mode) == 0o600,
       "acl: without a default ACL the umask applies")
    ok(errno_of(lambda: os.setxattr(a, ACCESS, b"\x02\x00\x00\x00\x01\x00")) == errno.EINVAL,
       "acl: a malformed ACL is refused with EINVAL")


def write(top, tag):
    """Attributes and ACLs for the interchange test, on a few files."""
    d = os.path.join(top, "xattr-" + tag)
    os.makedirs(d)
    f = os.path.join(d, "f")
    with open(f, "w") as fh:
        fh.write(tag)
    os.setxattr(f, "user.tag", tag.encode())
    os.setxattr(f, "user.bin", bytes(range(256)))
    os.setxattr(f, "trusted.t", b"trusted " + tag.encode())
    os.setxattr(f, "security.s", b"security " + tag.encode())
    os.setxattr(f, ACCESS, acl((USER_OBJ, 6), (USER, 4, NOBODY), (GROUP_OBJ, 4), (GROUP, 2, 100),
                               (MASK, 6), (OTHER, 0)))
    os.setxattr(d, DEFAULT, acl((USER_OBJ, 7), (USER, 5, 1000), (GROUP_OBJ, 5), (MASK, 5),
                                (OTHER, 0)))
    os.close(os.open(os.path.join(d, "inherits"), os.O_CREAT | os.O_WRONLY, 0o644))
    for j in range(20):
        g = os.path.join(d, "n%d" % j)
        open(g, "w").close()
        os.setxattr(g, "user.j", b"%d" % j)


def dump(top):
    lines = []
    for root, dirs, files in os.walk(top):
        for name in sorted(dirs + files):
            p = os.path.join(root, name)
            for x in sorted(os.listxattr(p, follow_symlinks=False)):
                v = os.getxattr(p, x, follow_symlinks=False)
                lines.append("%s %s %s" % (os.path.relpath(p, top), x, v.hex()))
            lines.append("%s mode %o" % (os.path.relpath(p, top), os.lstat(p).st_mode))
    print("\n".join(sorted(lines)))


if __name__ == "__main__":
    if sys.argv[1] == "check":
        check(sys.argv[2])
    elif sys.argv[1] == "write":
        write(sys.argv[2], sys.argv[3])
    else:
        dump(sys.argv[2])
    sys.exit(tap.exit_status())
