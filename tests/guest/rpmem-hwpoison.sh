# SPDX-License-Identifier: GPL-2.0
# Guest side of tests/suites/rpmem.sh, third boot: a memory failure in a
# DAX-mapped page reaches rpmem's dev_pagemap hook, which tells the file
# system (XFS with rmapbt), which kills the process mapping the page.
. "$RPMEM_TOP/tests/lib.sh"
MB=1048576
check "insmod rpmem.ko" insmod "$(module drivers/nvdimm/rpmem.ko)"
wait_dev /dev/rpmem0
check "mkfs.xfs with rmapbt on rpmem0" mkfs.xfs -q -f -m rmapbt=1 /dev/rpmem0
mkdir -p /mnt/xfs
check "mount XFS with -o dax=always" mount -t xfs -o dax=always /dev/rpmem0 /mnt/xfs
head -c $((2 * MB)) /dev/urandom >/tmp/f
cp /tmp/f /mnt/xfs/f && sync

mark_dmesg
# MADV_HWPOISON (100) on the second page of a shared DAX mapping.
python3 - /mnt/xfs/f <<'EOT'
import mmap, os, sys
fd = os.open(sys.argv[1], os.O_RDWR)
m = mmap.mmap(fd, 2 << 20, mmap.MAP_SHARED)
m[4096]  # fault the page in
m.madvise(100, 4096, 4096)
print("survived the poisoned page")
EOT
rc=$?
check_eq "the process mapping the poisoned page gets SIGBUS" 135 "$rc"
check "rpmem's pagemap hook told the DAX holder" sh -c \
	'dmesg | grep -q "memory failure in device memory at .*: telling the DAX holder"'
check "the kernel handled the memory failure" sh -c 'dmesg | grep -q "Memory failure: "'
check "XFS handled the notification (no rmapbt complaint)" sh -c \
	'! dmesg | grep -q "notify_failure() needs rmapbt"'
check "the rest of the file still reads" bash -c \
	'cmp <(dd if=/mnt/xfs/f bs=4096 skip=16 count=16 status=none) <(dd if=/tmp/f bs=4096 skip=16 count=16 status=none)'
dmesg_since | grep -i -E "memory failure|dax|xfs" | head -10 >&2
check "unmount" umount /mnt/xfs
check "rmmod rpmem" rmmod rpmem
finish
