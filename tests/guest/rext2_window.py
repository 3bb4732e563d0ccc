# SPDX-License-Identifier: GPL-2.0
"""Guest side of tests/suites/rext2-pagecache.sh: blocks allocated ahead of
appending page-cache writes (rext2.rst, rule 5).  Appends through the page
cache take their blocks a window at a time, with the ordering points of
one allocation per window (counted as flushes on the device); the blocks
no write reached are given back at fsync, at truncation and at the last
close, so that a file's blocks are then exactly those of its size.  DAX
files take no blocks ahead.  Usage: rext2_window.py MOUNTPOINT DEVICE
[dax|loop]: with loop, the device's flushes are counted too (a loop
device's go through the block layer; rpmem's fences do not)."""

import os
import sys

import tap
from tap import ok

M, DEV = sys.argv[1], sys.argv[2]
DAX = sys.argv[3:] == ["dax"]
LOOP = sys.argv[3:] == ["loop"]
BS = 4096
D = os.path.join(M, "window")
os.makedirs(D, exist_ok=True)


def flushes():
    """Flush requests the device completed (/sys/block/DEV/stat, field 16)."""
    with open("/sys/block/%s/stat" % DEV) as f:
        return int(f.read().split()[15])


def pattern(i):
    return bytes([(i * 7 + 1) & 0xFF]) * BS


def reference(name, nblocks):
    """Sectors of a file of nblocks written at once (no blocks ahead)."""
    path = os.path.join(D, name)
    fd = os.open(path, os.O_CREAT | os.O_TRUNC | os.O_WRONLY, 0o644)
    os.write(fd, b"".join(pattern(i) for i in range(nblocks)))
    os.close(fd)
    return os.stat(path).st_blocks


def appends(fd, first, count):
    for i in range(first, first + count):
        os.pwrite(fd, pattern(i), i * BS)


def reads_back(path, nblocks):
    with open(path, "rb") as f:
        return all(f.read(BS) == pattern(i) for i in range(nblocks))


tag = " (DAX)" if DAX else " (loop device)" if LOOP else ""

# 1. 2 MiB appended 4 KiB at a time in one open.
ref512 = reference("ref512", 512)
path = os.path.join(D, "stream")
fd = os.open(path, os.O_CREAT | os.O_TRUNC | os.O_WRONLY, 0o644)
before = flushes()
appends(fd, 0, 512)
n = flushes() - before
held = os.fstat(fd).st_blocks
if DAX:
    ok(held == ref512, "DAX appends take no blocks ahead" + tag, (held, ref512))
else:
    if LOOP:
        # One allocation per block made two flushes each (1,024 here); a
        # window doubling up to 64 blocks makes 14 allocations.
        ok(n <= 64, "512 appends of 4 KiB flush at most 64 times" + tag, n)
    ok(held > ref512, "while the file is open it holds blocks ahead" + tag, (held, ref512))
os.close(fd)
ok(os.stat(path).st_blocks == ref512,
   "after the last close it holds the blocks of its size" + tag,
   (os.stat(path).st_blocks, ref512))
ok(os.stat(path).st_size == 512 * BS, "its size is what was written" + tag)
ok(reads_back(path, 512), "its data reads back" + tag)

# 2. fsync gives the blocks ahead back, with the file still open; later
# appends of a file synced between its writes take no blocks ahead.
ref100 = reference("ref100", 100)
ref101 = reference("ref101", 101)
path = os.path.join(D, "synced")
fd = os.open(path, os.O_CREAT | os.O_TRUNC | os.O_WRONLY, 0o644)
appends(fd, 0, 100)
os.fsync(fd)
ok(os.fstat(fd).st_blocks == ref100, "fsync gives the blocks ahead back" + tag,
   (os.fstat(fd).st_blocks, ref100))
appends(fd, 100, 1)
ok(os.fstat(fd).st_blocks == ref101, "... and the next append takes only its block" + tag,
   (os.fstat(fd).st_blocks, ref101))
os.close(fd)
ok(reads_back(path, 101), "the synced file's data reads back" + tag)

# 3. Truncation inside the file drops the blocks ahead with the rest.
ref4 = reference("ref4", 4)
path = os.path.join(D, "truncated")
fd = os.open(path, os.O_CREAT | os.O_TRUNC | os.O_RDWR, 0o644)
appends(fd, 0, 20)
os.ftruncate(fd, 3 * BS + 100)
ok(os.fstat(fd).st_blocks == ref4, "truncation frees the blocks ahead too" + tag,
   (os.fstat(fd).st_blocks, ref4))
appends(fd, 20, 1)
data = os.pread(fd, 21 * BS, 0)
ok(data[:3 * BS + 100] == b"".join(pattern(i) for i in range(4))[:3 * BS + 100]
   and data[3 * BS + 100:20 * BS] == bytes(17 * BS - 100) and data[20 * BS:] == pattern(20),
   "after it, the gap reads as zeros and the data as written" + tag)
os.close(fd)

sys.exit(tap.exit_status())
