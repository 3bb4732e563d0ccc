# SPDX-License-Identifier: GPL-2.0
"""Guest half of the crash-state tests: mounts crash images with rext2.

    crash_check.py MANIFEST

Each NVDIMM holds the crash image the manifest (written by
tests/crash/crashstates.py --export) describes, in order; a fingerprint
of the first 8 KiB checks that the disk is the right one.  For each one: mount it
with rext2, walk it (lstat, read every file, readlink, list and read the
attributes), check that the files fsync'ed before the crash point have
their size and content, modify it (a directory with files written,
renamed and removed, one old file removed and one old name renamed),
unmount it, and look for kernel splats in dmesg since the image's turn.

States e2fsck found clean or leak-only must mount, walk and be modified
without an error; states e2fsck found worse may fail, but never with a
splat.  One "ok"/"not ok" line per check.
"""

import hashlib
import json
import os
import re
import stat
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tap  # noqa: E402

SPLAT = re.compile(r"WARNING:|BUG:|Oops|KASAN|UBSAN|general protection fault|Kernel panic"
                   r"|possible circular locking|possible recursive locking|inconsistent lock state"
                   r"|INFO: task .* blocked|rcu_preempt detected stalls|soft lockup|hard LOCKUP"
                   r"|list_add corruption|list_del corruption|kmemleak: .* new suspected")


def dmesg():
    return subprocess.run(["dmesg"], stdout=subprocess.PIPE).stdout.decode(errors="replace").splitlines()


def walk(m, errs):
    """Walks the tree under m by what lstat says of each entry, not by the
    type byte of its directory entry (d_type): a torn rename or exchange may
    leave that byte naming the old inode's type, which the crash rules allow
    and e2fsck fixes ("incorrect filetype"); such entries are counted."""
    n = 0
    files = []
    stale = 0
    todo = [m]
    while todo:
        d = todo.pop()
        try:
            entries = sorted(os.scandir(d), key=lambda e: e.name)
        except OSError as e:
            errs.append("walk: %s" % e)
            continue
        for ent in entries:
            p = ent.path
            n += 1
            try:
                st = os.lstat(p)
                if stat.S_ISDIR(st.st_mode) != ent.is_dir(follow_symlinks=False):
                    stale += 1
                if stat.S_ISLNK(st.st_mode):
                    os.readlink(p)
                elif stat.S_ISREG(st.st_mode):
                    with open(p, "rb") as fh:
                        while fh.read(1 << 20):
                            pass
                    files.append(p)
                elif stat.S_ISDIR(st.st_mode):
                    todo.append(p)
                for x in os.listxattr(p, follow_symlinks=False):
                    os.getxattr(p, x, follow_symlinks=False)
            except OSError as e:
                errs.append("%s: %s" % (p, e))
    if stale:
        print("    %d entries with a stale type byte (allowed; e2fsck fixes them)" % stale)
    return n, files


def modify(m, files, errs):
    d = os.path.join(m, "crash-check")
    try:
        os.mkdir(d)
        for i in range(20):
            with open(os.path.join(d, "f%d" % i), "wb") as fh:
                fh.write(os.urandom(1000 * i))
        os.rename(os.path.join(d, "f1"), os.path.join(d, "g1"))
        os.link(os.path.join(d, "f2"), os.path.join(d, "h2"))
        for i in range(0, 20, 2):
            os.unlink(os.path.join(d, "f%d" % i))
        os.truncate(os.path.join(d, "f3"), 100000)
        os.setxattr(os.path.join(d, "f5"), "user.x", b"y" * 100)
        os.mkdir(os.path.join(d, "sub"))
        os.rmdir(os.path.join(d, "sub"))
        old = [f for f in files if not f.startswith(d)]
        if old:
            os.unlink(old[0])
        if len(old) > 1:
            # The new name must fit in 255 bytes too.
            name = os.path.basename(old[1])
            os.rename(old[1], os.path.join(os.path.dirname(old[1]), name[:247] + ".renamed"))
        fd = os.open(d, os.O_RDONLY | os.O_DIRECTORY)
        os.fsync(fd)
        os.close(fd)
    except OSError as e:
        errs.append("modify: %s" % e)


def disks(n):
    """The rpmem disks in NVDIMM order: disk numbers follow region probe
    order, so sort them by their namespace's physical address, which QEMU
    assigns in device order."""
    for _ in range(100):
        if os.path.exists("/dev/rpmem%d" % (n - 1)):
            break
        time.sleep(0.1)
    devs = []
    for b in os.listdir("/sys/block"):
        if b.startswith("rpmem"):
            with open("/sys/block/%s/device/resource" % b) as fh:
                devs.append((int(fh.read(), 0), "/dev/" + b))
    return [d for _, d in sorted(devs)]


def fingerprint(dev):
    with open(dev, "rb") as fh:
        return hashlib.sha256(fh.read(8192)).hexdigest()


def check(e, i, dev):
    sid = e["id"]
    what = "state %d (%s, %s, e2fsck: %s)" % (sid, e["label"], e["kind"], e["verdict"])
    good = e["verdict"] in ("clean", "leak")
    m = "/mnt/c%d" % i
    os.makedirs(m, exist_ok=True)
    print("checking %s on %s" % (what, dev), file=sys.stderr, flush=True)
    tap.ok(fingerprint(dev) == e["fp"], "%s: %s holds its image" % (what, dev))
    with open("/dev/kmsg", "w") as k:
        k.write("crash_check: %s\n" % what)
    before = len(dmesg())
    errs = []
    r = subprocess.run(["mount", "-t", "rext2", "-o", "dax", dev, m], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT)
    mounted = r.returncode == 0
    if not mounted:
        errs.append("mount: " + r.stdout.decode(errors="replace").strip())
    else:
        n, files = walk(m, errs)
        bad_wit = []
        for w in e["witnesses"]:
            p = m + w["path"]
            try:
                with open(p, "rb") as fh:
                    data = fh.read()
                if len(data) != w["size"] or hashlib.sha256(data).hexdigest() != w["sha256"]:
                    bad_wit.append("%s: %d bytes, sha256 %s" % (w["path"], len(data),
                                                                hashlib.sha256(data).hexdigest()[:12]))
            except OSError as x:
                bad_wit.append("%s: %s" % (w["path"], x))
        if e["witnesses"]:
            tap.ok(not bad_wit or not good,
                   "%s: the %d files fsync'ed before the crash have their data" % (what, len(e["witnesses"])),
                   "; ".join(bad_wit))
        modify(m, files, errs)
        u = subprocess.run(["umount", m], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        if u.returncode != 0:
            errs.append("umount: " + u.stdout.decode(errors="replace").strip())
    new = dmesg()[before:]
    splats = [ln for ln in new if SPLAT.search(ln)]
    tap.ok(not splats, "%s: no kernel splat" % what, "\n    ".join(splats[:5]))
    if good:
        tap.ok(not errs, "%s: mounted, walked, modified and unmounted without an error" % what,
               "\n    ".join(errs[:8]))
    else:
        print("    %s: %s" % (what, "; ".join(errs[:3]) if errs else "mounted, walked, modified, unmounted"),
              file=sys.stderr, flush=True)


def main():
    with open(sys.argv[1]) as fh:
        manifest = json.load(fh)
    devs = disks(len(manifest))
    tap.ok(len(devs) == len(manifest), "one rpmem disk per crash image (%d)" % len(manifest))
    for i, (e, dev) in enumerate(zip(manifest, devs)):
        check(e, i, dev)
    sys.exit(tap.exit_status())


if __name__ == "__main__":
    main()
