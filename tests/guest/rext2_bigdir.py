# SPDX-License-Identifier: GPL-2.0
"""Big directories, where rext2 keeps an index in memory (fs/rext2/dirindex.rs).

  rext2_bigdir.py churn DIR LIST SEED   creates, removes, renames and links
      names in DIR (starting from what it holds), checks every lookup and
      the listing against a model, and writes the model to LIST
  rext2_bigdir.py check DIR LIST        checks DIR against LIST (after a
      remount, or through the C ext2 driver)

Lookups are made after dropping the dentry and inode caches, so that they
reach the file system rather than the dcache; names that were removed are
looked up too (negative lookups)."""

import os
import random
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tap import ok, exit_status  # noqa: E402


def drop_caches():
    with open("/proc/sys/vm/drop_caches", "w") as f:
        f.write("2\n")


def name_for(rng, i):
    """Names of 1 to 255 bytes, mostly short, unique by their prefix."""
    n = rng.choice([1, 3, 8, 12, 20, 40, 100, 255])
    base = "%x." % i
    return (base + "n" * n)[:max(n, len(base))]


def verify(d, model, absent, what):
    drop_caches()
    listed = sorted(os.listdir(d))
    ok(listed == sorted(model), what + ": the listing is the model's",
       "%d listed, %d expected" % (len(listed), len(model)))
    bad = [n for n, ino in model.items() if os.lstat(os.path.join(d, n)).st_ino != ino]
    ok(not bad, what + ": every name looks up to its inode (%d names)" % len(model), bad[:5])
    found = [n for n in absent if os.path.lexists(os.path.join(d, n))]
    ok(not found, what + ": removed names are gone (%d looked up)" % len(absent), found[:5])


def churn(d, listfile, seed):
    rng = random.Random(seed)
    os.makedirs(d, exist_ok=True)
    side = d + ".side"
    os.makedirs(side, exist_ok=True)
    model = {n: os.lstat(os.path.join(d, n)).st_ino for n in os.listdir(d)}
    start = len(model)
    absent = []
    i = rng.randrange(1 << 30)
    errors = []

    def new_name():
        nonlocal i
        i += 1
        return name_for(rng, i)

    # Enough names for dozens of blocks, so that the index is built and
    # blocks fill, empty and refill.
    for _ in range(2500):
        n = new_name()
        p = os.path.join(d, n)
        if rng.random() < 0.1:
            os.mkdir(p)
        else:
            os.close(os.open(p, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644))
        model[n] = os.lstat(p).st_ino
    for _ in range(2500):
        r = rng.random()
        names = list(model)
        victim = rng.choice(names)
        vp = os.path.join(d, victim)
        try:
            if r < 0.3:
                # Remove: a file or an (empty) directory.
                if os.path.isdir(vp) and not os.path.islink(vp):
                    os.rmdir(vp)
                else:
                    os.unlink(vp)
                del model[victim]
                absent.append(victim)
            elif r < 0.5:
                # Rename within the directory, to a new name.
                n = new_name()
                os.rename(vp, os.path.join(d, n))
                model[n] = model.pop(victim)
                absent.append(victim)
            elif r < 0.6:
                # Rename over another entry (a regular file): the entry is
                # pointed at another inode where it is.
                other = rng.choice(names)
                op = os.path.join(d, other)
                if other == victim or os.path.isdir(vp) or os.path.isdir(op):
                    continue
                os.rename(vp, op)
                model[other] = model.pop(victim)
                absent.append(victim)
            elif r < 0.7:
                # Out to another directory and back under a new name.
                os.rename(vp, os.path.join(side, "x"))
                n = new_name()
                os.rename(os.path.join(side, "x"), os.path.join(d, n))
                model[n] = model.pop(victim)
                absent.append(victim)
            elif r < 0.8 and not os.path.isdir(vp):
                # A hard link: a second name for the inode.
                n = new_name()
                os.link(vp, os.path.join(d, n))
                model[n] = model[victim]
            else:
                n = new_name()
                os.symlink(victim, os.path.join(d, n))
                model[n] = os.lstat(os.path.join(d, n)).st_ino
        except OSError as e:
            errors.append("%s: %s" % (victim, e))
    ok(not errors, "%d creations and 2500 changes in a directory of %d names" %
       (2500, start), errors[:5])
    absent = [n for n in absent if n not in model]
    verify(d, model, rng.sample(absent, min(len(absent), 500)), "after the churn")
    with open(listfile, "w") as f:
        for n in sorted(model):
            f.write("%d %s\n" % (model[n], n))


def check(d, listfile):
    model = {}
    with open(listfile) as f:
        for line in f:
            ino, n = line.rstrip("\n").split(" ", 1)
            model[n] = int(ino)
    verify(d, model, [], "as left")


if __name__ == "__main__":
    if sys.argv[1] == "churn":
        churn(sys.argv[2], sys.argv[3], int(sys.argv[4]))
    else:
        check(sys.argv[2], sys.argv[3])
    sys.exit(exit_status())
