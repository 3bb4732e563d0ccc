# SPDX-License-Identifier: GPL-2.0
# Guest side of tests/suites/rpmem.sh, fifth boot (qemu/run --nvdimms 0
# --virtio-pmem 1): rpmem on a virtio-pmem region, whose stores are
# durable only after the host has flushed its backing file
# (ND_REGION_ASYNC): fsync's flushes go through the region's flush
# callback, a request the host completes (rpmem counts those that did, in
# debugfs); MAP_SYNC is refused (a stored byte is not durable on its
# own); ext4-dax and rext2 work on it; 20 unbind/bind cycles leak
# nothing (kmemleak).
. "$RPMEM_TOP/tests/lib.sh"
check "insmod nd_virtio.ko and virtio_pmem.ko" sh -c \
	"insmod $KDIR/drivers/nvdimm/nd_virtio.ko && insmod $KDIR/drivers/nvdimm/virtio_pmem.ko"
check "insmod rpmem.ko" insmod "$(module drivers/nvdimm/rpmem.ko)"
check "insmod rext2.ko" insmod "$(module fs/rext2/rext2.ko)"
check "rpmem binds the virtio-pmem namespace (/dev/rpmem0)" wait_dev /dev/rpmem0
check "rpmem0 is on the virtio device" sh -c \
	'readlink -f /sys/block/rpmem0 | grep -q /virtio'
check_eq "rpmem0 has DAX" 1 "$(cat /sys/block/rpmem0/queue/dax)"
check "rpmem says the region flushes asynchronously" sh -c \
	'dmesg | grep -q "rpmem0: .*, asynchronous flush"'

# flushes: the flushes of the region that completed (for virtio-pmem,
# requests the host answered), as rpmem counts them.
flushes() { cat /sys/kernel/debug/rpmem0/flushes; }

# mapsync FILE: what mmap(MAP_SHARED_VALIDATE | MAP_SYNC) of FILE says.
mapsync() {
	python3 - "$1" <<'EOT'
import errno, mmap, os, sys
fd = os.open(sys.argv[1], os.O_RDWR)
try:
    mmap.mmap(fd, 4096, flags=0x03 | 0x80000)
    print("mapped")
except OSError as e:
    print("EOPNOTSUPP" if e.errno == errno.EOPNOTSUPP else errno.errorcode[e.errno])
EOT
}

mkdir -p /mnt/v
for fs in ext4 rext2; do
	case $fs in
	ext4) mkfs.ext4 -q -F /dev/rpmem0 && mount -t ext4 -o dax=always /dev/rpmem0 /mnt/v ;;
	rext2) mkext2 /dev/rpmem0 && mount -t rext2 -o dax /dev/rpmem0 /mnt/v ;;
	esac
	check "$fs: mounted with DAX on the virtio-pmem disk" findmnt /mnt/v
	head -c 1048576 /dev/urandom >/tmp/data
	before=$(flushes)
	check "$fs: write and fsync a file" xfs_io -f -c "pwrite -i /tmp/data 0 1m" -c fsync /mnt/v/f
	after=$(flushes)
	check "$fs: fsync flushed through the region ($before -> $after flushes)" \
		test "$after" -gt "$before"
	check "$fs: the file is DAX (STATX_ATTR_DAX)" dax_attr /mnt/v/f
	check_eq "$fs: MAP_SYNC is refused on an asynchronous region" EOPNOTSUPP "$(mapsync /mnt/v/f)"
	umount /mnt/v
	case $fs in
	ext4) mount -t ext4 -o dax=always /dev/rpmem0 /mnt/v ;;
	rext2) mount -t rext2 -o dax /dev/rpmem0 /mnt/v ;;
	esac
	check "$fs: the file reads back after a remount" cmp /tmp/data /mnt/v/f
	umount /mnt/v
done
check "e2fsck finds rext2's file system clean" e2fsck -fn /dev/rpmem0

# Unbind/bind while idle; kmemleak looks for leaks after.
check_eq "20 unbind/bind cycles on the virtio-pmem namespace" 20 \
	"$(rebind_cycles namespace0.0 /dev/rpmem0 20)"
check "rext2's file reads back after the cycles" sh -c \
	'mount -r -t rext2 -o dax /dev/rpmem0 /mnt/v && cmp /tmp/data /mnt/v/f && umount /mnt/v'
check_no_leaks "kmemleak finds no leak after the cycles"
check "rmmod rext2 rpmem" rmmod rext2 rpmem
finish
