# SPDX-License-Identifier: GPL-2.0
# Guest side of tests/suites/rpmem.sh, fourth boot: what libnvdimm tells a
# bound namespace at run time (nd_device_driver.notify), and the claim of
# its range, as nd_pmem does them:
# - rpmem claims the namespace's range in /proc/iomem while bound;
# - the region's read_only attribute makes rpmem0 read-only (writes and
#   read-write mounts refused) and writable again, at bind time and while
#   bound (NVDIMM_REVALIDATE_REGION);
# - poison that a machine check reports at run time (an uncorrectable
#   memory error injected by software through mce-inject, which nfit
#   turns into a bad range and NVDIMM_REVALIDATE_POISON) shows in
#   rpmem0's badblocks without a rebind, and reads of it fail.
. "$RPMEM_TOP/tests/lib.sh"
MB=1048576
NS=/sys/bus/nd/devices/namespace0.0
RO=/sys/block/rpmem0/ro
check "insmod rpmem.ko" insmod "$(module drivers/nvdimm/rpmem.ko)"
check "insmod rext2.ko" insmod "$(module fs/rext2/rext2.ko)"
wait_dev /dev/rpmem0
REGION=/sys/bus/nd/devices/$(basename "$(readlink -f "$NS/..")")
START=$(cat "$NS/resource")
SIZE=$(cat "$NS/size")

# 1. The claim.
claim=$(awk '$NF == "namespace0.0" { print $1 }' /proc/iomem)
check_eq "rpmem claims namespace0.0's range in /proc/iomem" \
	"$(printf '%x-%x' "$START" $((START + SIZE - 1)))" "$(echo "$claim" | sed 's/^0*//; s/-0*/-/')"

# 2. Read-only regions.
mkext2 /dev/rpmem0
mkdir -p /mnt/r
mount -t rext2 -o dax /dev/rpmem0 /mnt/r && echo kept >/mnt/r/f && umount /mnt/r
check_eq "rpmem0 starts writable" 0 "$(cat $RO)"
echo 1 >"$REGION/read_only"
check_eq "region read_only=1: rpmem0 becomes read-only while bound" 1 "$(cat $RO)"
# (At the last block, which the file system does not use, so that a
# write that wrongly succeeds does not make the mounts below fail.)
check "a write to the read-only disk fails" \
	sh -c "! dd if=/dev/zero of=/dev/rpmem0 bs=4096 seek=$((SIZE / 4096 - 1)) count=1 oflag=direct status=none"
check "a read-write rext2 mount of the read-only disk fails" \
	sh -c '! mount -w -t rext2 -o dax /dev/rpmem0 /mnt/r'
check "a read-write ext4 mount of the read-only disk fails" \
	sh -c '! mount -w -t ext4 -o dax /dev/rpmem0 /mnt/r'
check "a read-only rext2 mount works and reads the file" \
	sh -c 'mount -r -t rext2 -o dax /dev/rpmem0 /mnt/r && grep -qx kept /mnt/r/f && umount /mnt/r'
echo namespace0.0 >/sys/bus/nd/drivers/rpmem/unbind
echo namespace0.0 >/sys/bus/nd/drivers/rpmem/bind
wait_dev /dev/rpmem0
check_eq "bound again to a read-only region: rpmem0 is read-only from the start" 1 "$(cat $RO)"
echo 0 >"$REGION/read_only"
check_eq "region read_only=0: rpmem0 is writable again" 0 "$(cat $RO)"
check "a read-write rext2 mount works again" \
	sh -c 'mount -w -t rext2 -o dax /dev/rpmem0 /mnt/r && echo more >>/mnt/r/f && umount /mnt/r'
check "e2fsck finds the file system clean" e2fsck -fn /dev/rpmem0

# 3. Poison reported at run time. The block at 1 MiB + 12 KiB holds
# known bytes; an uncorrectable memory error (AMD layout, as QEMU's TCG
# CPU is: bank 4, extended error code 8, address valid; the address is
# page granular, misc's LSB is 12) at its physical address goes through
# mce_log to nfit_handle_mce.
OFF=$((MB + 12288))
head -c 8192 /dev/urandom >/tmp/blk
dd if=/tmp/blk of=/dev/rpmem0 bs=4096 seek=$((OFF / 4096)) oflag=direct status=none
check_eq "rpmem0 has no bad blocks before" "" "$(cat /sys/block/rpmem0/badblocks)"
check "insmod mce-inject" insmod "$KDIR/arch/x86/kernel/cpu/mce/mce-inject.ko"
mark_dmesg
mce_poison $((START + OFF))
want="$((OFF / 512)) 8"
wait_badblocks rpmem0 "$want"
check_eq "the poisoned page shows in rpmem0's badblocks without a rebind" \
	"$want" "$(cat /sys/block/rpmem0/badblocks)"
check "a read of the poisoned page fails" sh -c \
	"! dd if=/dev/rpmem0 of=/dev/null bs=4096 skip=$((OFF / 4096)) count=1 iflag=direct status=none"
check "the page after it still reads back" bash -c \
	"cmp <(dd if=/dev/rpmem0 bs=4096 skip=$((OFF / 4096 + 1)) count=1 iflag=direct status=none) <(tail -c 4096 /tmp/blk)"
dmesg_since | grep -i -E "nfit|nvdimm|rpmem|machine check|hardware error" | head -8 >&2
check "rmmod rext2 rpmem" rmmod rext2 rpmem
check "the claim is gone with the binding" sh -c '! grep -q namespace0.0 /proc/iomem'
finish
