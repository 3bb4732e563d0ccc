# SPDX-License-Identifier: GPL-2.0
# Guest side of tests/suites/rext2-crash.sh: mounts the image left by the
# previous kill (printing MOUNTED so that the host knows the mount after a
# crash worked), checks that the tree can be walked, then runs a
# metadata-heavy workload until the host kills the VM.  With FINAL=1 it
# empties the file system and unmounts instead.
. "$RPMEM_TOP/tests/lib.sh"
M=/mnt/c
insmod "$(module drivers/nvdimm/rpmem.ko)" || exit 1
insmod "$(module fs/rext2/rext2.ko)" || exit 1
wait_dev /dev/rpmem0 || exit 1
mkdir -p $M
mount -t rext2 /dev/rpmem0 $M || exit 1
echo MOUNTED
find $M -xdev >/dev/null 2>&1 && echo WALKED
if [ "${FINAL:-0}" = 1 ]; then
	rm -rf $M/w* && echo EMPTIED
	umount $M && echo UNMOUNTED
	exit 0
fi
# Create, write, rename across directories, link, truncate, unlink,
# mkdir/rmdir, extended attributes and ACLs, forever, in one process so that the kill lands between
# many more operations than a shell loop would do.
exec python3 - "$M" "${SEED:-1}" <<'PY'
import os, random, struct, sys
m, seed = sys.argv[1], int(sys.argv[2])
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
    os.makedirs(d, exist_ok=True)
    os.makedirs(n, exist_ok=True)
    f = os.path.join(d, "f%d-%d" % (seed, i))
    with open(f, "wb") as fh:
        fh.write(os.urandom(rnd.randrange(0, 100000)))
    op = rnd.randrange(7)
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
            os.setxattr(p, "system.posix_acl_access",
                        struct.pack("<IHHIHHIHHIHHIHHI", 2, 1, 6, ~0 & 0xffffffff,
                                    2, 4, 65534, 4, 4, ~0 & 0xffffffff,
                                    0x10, 4, ~0 & 0xffffffff, 0x20, 0, ~0 & 0xffffffff))
        if rnd.randrange(3) == 0:
            for x in os.listxattr(p):
                os.removexattr(p, x)
    else:
        fd = os.open(f, os.O_RDWR)
        os.posix_fallocate(fd, 0, 65536)
        os.close(fd)
    # Keep the tree bounded: at most 30 names per directory.
    for x in (d, n):
        names = os.listdir(x)
        while len(names) > 30:
            v = names.pop(rnd.randrange(len(names)))
            remove(os.path.join(x, v))


i = 0
print("OPS", i, flush=True)
while True:
    try:
        step(i)
    except (OSError, IndexError) as e:
        print("step", i, e, file=sys.stderr, flush=True)
    i += 1
    if i % 10 == 0:
        print("OPS", i, flush=True)
PY
