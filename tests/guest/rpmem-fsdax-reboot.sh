# SPDX-License-Identifier: GPL-2.0
# Guest side of tests/suites/rpmem.sh, seventh boot: the images the
# sixth boot left. rpmem, loaded alone, finds the fsdax info blocks on
# namespace0.0 and namespace1.0 (libnvdimm makes their fsdax devices, which
# rpmem binds) and binds namespace2.0 raw; the file systems on them
# (rext2, ext4, XFS) mount with DAX and hold the sixth boot's file.
# Then poison a machine check reports at run time lands in the fsdax
# disk's badblocks at its offset in the data, past the info block and
# page map (the same injection as the fourth boot). Last, ndctl
# destroy-namespace turns an fsdax namespace back into a raw one.
. "$RPMEM_TOP/tests/lib.sh"
check "insmod rpmem.ko (nd_pmem not loaded)" insmod "$(module drivers/nvdimm/rpmem.ko)"
check "insmod rext2.ko" insmod "$(module fs/rext2/rext2.ko)"
nd_dev() { basename "$(readlink -f "/sys/block/$1/device")"; }
i=0
while read -r dev sectors; do
	check "rpmem$i is back" wait_dev /dev/rpmem$i
	check_eq "rpmem$i hangs from the same kind of device" "${dev%%[0-9]*}" "$(nd_dev rpmem$i | sed 's/[0-9].*//')"
	check_eq "rpmem$i has the same size" "$sectors" "$(cat /sys/block/rpmem$i/size)"
	i=$((i + 1))
done <"$OUT/fsdax.devices"
check_eq "three namespaces came back" 3 "$i"
check_eq "ndctl list: the modes are kept" "fsdax/dev fsdax/mem raw/" "$(ndctl list -N | python3 -c 'import json, sys
print(" ".join(n["mode"] + "/" + n.get("map", "") for n in sorted(json.load(sys.stdin), key=lambda n: n["dev"])))')"
mkdir -p /mnt/f
fs=(rext2 ext4 xfs)
for i in 0 1 2; do
	case ${fs[$i]} in
	rext2) mount -t rext2 -o dax /dev/rpmem$i /mnt/f ;;
	*) mount -t "${fs[$i]}" -o dax=always /dev/rpmem$i /mnt/f ;;
	esac
	check "rpmem$i: ${fs[$i]} mounts with DAX after a reboot" findmnt /mnt/f
	check "rpmem$i: the file is DAX (STATX_ATTR_DAX)" dax_attr /mnt/f/data
	check "rpmem$i: the file reads back after a reboot" cmp "$OUT/fsdax.data" /mnt/f/data
	umount /mnt/f
done
check "e2fsck -fn: rext2 on rpmem0" e2fsck -fn /dev/rpmem0

# The fsdax device's resource is where its data starts.
DATA=$(cat "/sys/bus/nd/devices/$(nd_dev rpmem0)/resource")
OFF=$((1048576 + 12288))
check_eq "rpmem0 has no bad blocks before" "" "$(cat /sys/block/rpmem0/badblocks)"
check "insmod mce-inject" insmod "$KDIR/arch/x86/kernel/cpu/mce/mce-inject.ko"
mce_poison $((DATA + OFF))
want="$((OFF / 512)) 8"
wait_badblocks rpmem0 "$want"
check_eq "fsdax: the poisoned page shows in rpmem0's badblocks at its data offset" \
	"$want" "$(cat /sys/block/rpmem0/badblocks)"
check "fsdax: a read of the poisoned page fails" sh -c \
	"! dd if=/dev/rpmem0 of=/dev/null bs=4096 skip=$((OFF / 4096)) count=1 iflag=direct status=none"
check "fsdax: the page before it still reads" \
	dd if=/dev/rpmem0 of=/dev/null bs=4096 skip=$((OFF / 4096 - 1)) count=1 iflag=direct status=none

check "ndctl destroy-namespace -f namespace1.0" ndctl destroy-namespace -f namespace1.0
check "rpmem1 is gone" test ! -e /dev/rpmem1
check_eq "ndctl list: namespace1.0 is raw and disabled" "raw disabled" "$(ndctl list -N -i -n namespace1.0 | python3 -c 'import json, sys
j = json.load(sys.stdin)
n = j[0] if isinstance(j, list) else j
print(n["mode"], n.get("state", "enabled"))')"
check "ndctl enable-namespace namespace1.0" ndctl enable-namespace namespace1.0
check "rpmem binds it raw (/dev/rpmem1)" wait_dev /dev/rpmem1
check_eq "rpmem1 is the whole namespace" 2097152 "$(cat /sys/block/rpmem1/size)"
finish
