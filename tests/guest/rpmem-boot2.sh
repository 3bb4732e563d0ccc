# SPDX-License-Identifier: GPL-2.0
# Guest side of tests/suites/rpmem.sh, second boot on the same images.
. "$RPMEM_TOP/tests/lib.sh"
check "insmod rpmem.ko" insmod "$(module drivers/nvdimm/rpmem.ko)"
wait_dev /dev/rpmem1
mkdir -p /mnt/ext4 /mnt/xfs
check "ext4 on rpmem0 mounts after the reboot" mount -t ext4 -o dax=always /dev/rpmem0 /mnt/ext4
check "xfs on rpmem1 mounts after the reboot" mount -t xfs -o dax=always /dev/rpmem1 /mnt/xfs
want=$(cat "$OUT/reboot.sha256")
check_eq "ext4 file intact after the reboot" "$want" "$(sha256sum </mnt/ext4/written)"
check_eq "xfs file intact after the reboot" "$want" "$(sha256sum </mnt/xfs/written)"
check "unmount both" umount /mnt/ext4 /mnt/xfs

# The backing file must hold what O_DIRECT wrote (the host compares).
MB=1048576
head -c $((4 * MB)) /dev/urandom >/tmp/rand
check "O_DIRECT write of 4 MiB at 8 MiB" \
	dd if=/tmp/rand of=/dev/rpmem0 bs=1M seek=8 count=4 oflag=direct,dsync status=none
sha256sum </tmp/rand | cut -d' ' -f1 >"$OUT/odirect.sha256"
check "rmmod rpmem" rmmod rpmem

RPMEM=$(module drivers/nvdimm/rpmem.ko)
ND_PMEM=$KDIR/drivers/nvdimm/nd_pmem.ko
# The same block workload through nd_pmem (namespace0.0) and rpmem
# (namespace1.0), over 64 MiB at 256 MiB: writes of many sizes and
# alignments, O_DIRECT and buffered, some with FUA.
check "insmod nd_pmem" insmod "$ND_PMEM"
check "nd_pmem binds namespace0.0 (/dev/pmem0)" wait_dev /dev/pmem0
check "insmod rpmem" insmod "$RPMEM"
if [ -e /sys/bus/nd/drivers/nd_pmem/namespace1.0 ]; then
	echo namespace1.0 >/sys/bus/nd/drivers/nd_pmem/unbind
	echo namespace1.0 >/sys/bus/nd/drivers/rpmem/bind
fi
check "rpmem binds namespace1.0 (/dev/rpmem1)" wait_dev /dev/rpmem1
workload() {
	local dev=$1 i
	head -c $((64 * MB)) /dev/zero | dd of="$dev" bs=1M seek=256 oflag=direct status=none
	for i in $(seq 0 39); do
		# Deterministic pseudo-random data: the same on both devices.
		openssl enc -aes-128-ctr -nosalt -pass pass:"w$i" -pbkdf2 </dev/zero 2>/dev/null |
			head -c $(((i % 7 + 1) * 65536)) >/tmp/chunk.$i
		case $((i % 3)) in
		0) dd if=/tmp/chunk.$i of="$dev" bs=4096 seek=$((65536 + i * 401)) oflag=direct status=none ;;
		1) dd if=/tmp/chunk.$i of="$dev" bs=512 seek=$((524288 + i * 3001)) oflag=direct,dsync status=none ;;
		2) dd if=/tmp/chunk.$i of="$dev" bs=65536 seek=$((4096 + i * 5)) conv=fsync status=none ;;
		esac
	done
}
check "workload through the C nd_pmem" workload /dev/pmem0
check "workload through rpmem" workload /dev/rpmem1
check "rmmod rpmem" rmmod rpmem
check "rmmod nd_pmem" rmmod nd_pmem
: >"$OUT/workload.done"
finish
