# SPDX-License-Identifier: GPL-2.0
# Guest side of the reclaim stage of tests/suites/rext2-rw.sh, in a
# small guest: rext2 allocates under inodes' state locks (here, growing
# a directory of 60,000 entries) while memory runs out, so that reclaim
# evicts rext2 inodes, and evicting one takes its state lock. The host
# side fails on any kernel splat: lockdep reported a circular dependency
# (fs_reclaim and the state lock) until rext2 kept its allocations under
# that lock out of file-system reclaim.
. "$RPMEM_TOP/tests/lib.sh"
M=/mnt/r
load_rext2
check "mke2fs on the 1 GiB device" mke2fs -q -F -t ext2 -b 4096 /dev/rpmem0
mkdir -p $M
check "mount -t rext2 -o dax" mount -t rext2 -o dax /dev/rpmem0 $M
check "60,000 files created in one directory" python3 -c 'import os, sys
os.mkdir(sys.argv[1])
for i in range(60000):
    os.close(os.open("%s/f%06d" % (sys.argv[1], i), os.O_CREAT | os.O_WRONLY))' $M/d
# Anonymous memory, 4 MiB at a time, until reclaim has evicted a third
# of the inodes (or too little memory is left): kswapd and direct
# reclaim shrink the dentry and inode caches. Lockdep needs one eviction
# in reclaim to close the cycle (the allocations under the state lock
# were recorded during the creates); how many more come before memory
# runs short depends on the host's load, so the check asks for 2,000.
check "reclaim evicted rext2 inodes" python3 -c 'import re, time
def avail():
    return int(re.search(r"MemAvailable:\s+(\d+)", open("/proc/meminfo").read()).group(1))
def inodes():
    return int(open("/proc/sys/fs/inode-nr").read().split()[0])
before = inodes()
hog = []
while inodes() > before - 20000 and avail() > 6000 and len(hog) < 1000:
    hog.append(bytearray(4 << 20))
    if avail() < 40000:
        time.sleep(0.05)
print(before, "inodes in the cache before,", inodes(), "after;", avail() // 1024, "MiB left")
assert inodes() <= before - 2000'
check "every file is still there" python3 -c 'import os, sys
assert len(os.listdir(sys.argv[1])) == 60000' $M/d
check "umount" umount $M
check "e2fsck -fn after reclaim" e2fsck -fn /dev/rpmem0
finish
