# SPDX-License-Identifier: GPL-2.0
# Guest side of tests/suites/rpmem.sh, sixth boot (qemu/run --nvdimms 3
# --keep-images, kmemleak=on): the namespaces users make with ndctl.
# rpmem, loaded without nd_pmem, serves namespace0.0 as fsdax with the
# page map on the device (--map=dev), namespace1.0 as fsdax with it in RAM
# (--map=mem) and namespace2.0 raw. Each carries ext4-dax, XFS-dax and
# rext2 with STATX_ATTR_DAX; nd_pmem reads the same bytes from the fsdax
# namespaces and rpmem reads what nd_pmem wrote; ndctl disable/enable
# keeps the data; info blocks corrupted in each field are refused with a
# message that names it and nothing lost, also by a configured fsdax
# device (which libnvdimm alone would write a new block on); a block of
# minor version 3 binds; 20 unbind/bind cycles of each kind leak nothing. Leaves a file system on each, with $OUT/fsdax.data,
# for the seventh boot.
. "$RPMEM_TOP/tests/lib.sh"
NS=/sys/bus/nd/devices
DRV=/sys/bus/nd/drivers

check "insmod rpmem.ko (nd_pmem not loaded)" insmod "$(module drivers/nvdimm/rpmem.ko)"
check "insmod rext2.ko" insmod "$(module fs/rext2/rext2.ko)"
for i in 0 1 2; do
	check "rpmem binds namespace$i.0 raw (/dev/rpmem$i)" wait_dev /dev/rpmem$i
done

# ndctl_field NS FIELD: a field of `ndctl list -n NS`.
ndctl_field() {
	ndctl list -n "$1" | python3 -c 'import json, sys
j = json.load(sys.stdin)
print((j[0] if isinstance(j, list) else j).get(sys.argv[1], ""))' "$2"
}
# The nd device (pfnX.Y or namespaceX.Y) that disk $1 hangs from.
nd_dev() { basename "$(readlink -f "/sys/block/$1/device")"; }
sectors() { cat "/sys/block/$1/size"; }

mark_dmesg
check "ndctl create-namespace -m fsdax --map=dev namespace0.0" \
	ndctl create-namespace -f -e namespace0.0 -m fsdax --map=dev
check "ndctl create-namespace -m fsdax --map=mem namespace1.0" \
	ndctl create-namespace -f -e namespace1.0 -m fsdax --map=mem
for i in 0 1; do
	map=$([ $i = 0 ] && echo dev || echo mem)
	check_eq "ndctl list: namespace$i.0 is fsdax" fsdax "$(ndctl_field namespace$i.0 mode)"
	check_eq "ndctl list: namespace$i.0 maps $map" $map "$(ndctl_field namespace$i.0 map)"
	check_eq "ndctl list: namespace$i.0's disk is rpmem$i" rpmem$i "$(ndctl_field namespace$i.0 blockdev)"
	check_eq "rpmem$i hangs from a pfn device of region$i" pfn$i "$(nd_dev rpmem$i | cut -d. -f1)"
	check_eq "rpmem$i's size is ndctl's" "$(ndctl_field namespace$i.0 size)" $(($(sectors rpmem$i) * 512))
	check_eq "rpmem$i has DAX" 1 "$(cat /sys/block/rpmem$i/queue/dax)"
done
FSDAX0=$(sectors rpmem0)
check "rpmem says where the page maps are" sh -c \
	"dmesg | grep -q 'rpmem0: .*fsdax (page map on the device)' && dmesg | grep -q 'rpmem1: .*fsdax (page map in RAM)'"
# claim_line NS: the line of /proc/iomem that claims all of namespace NS.
claim_line() {
	local start size
	start=$(cat "$NS/$1/resource") size=$(cat "$NS/$1/size")
	printf '%x-%x : %s' $((start)) $((start + size - 1)) "$1"
}
for i in 0 1; do
	check "namespace$i.0 stays claimed whole in /proc/iomem" \
		grep -q "^ *$(claim_line namespace$i.0)\$" /proc/iomem
done

head -c 4194304 /dev/urandom >"$OUT/fsdax.data"
mkdir -p /mnt/f
mkfs_mount() { # FS DEV
	case $1 in
	ext4) mkfs.ext4 -q -F "$2" && mount -t ext4 -o dax=always "$2" /mnt/f ;;
	xfs) mkfs.xfs -q -f "$2" && mount -t xfs -o dax=always "$2" /mnt/f ;;
	rext2) mkext2 "$2" && mount -t rext2 -o dax "$2" /mnt/f ;;
	esac
}
remount() { # FS DEV
	case $1 in
	rext2) mount -t rext2 -o dax "$2" /mnt/f ;;
	*) mount -t "$1" -o dax=always "$2" /mnt/f ;;
	esac
}
# Every file system on every kind; the last one on each namespace stays
# for the seventh boot (rext2 on 0, ext4 on 1, XFS on 2).
FSES=('' ext4 xfs rext2 ext4 xfs)
for i in 0 1 2; do
	for k in 1 2 3; do
		fs=${FSES[$((i + k))]}
		what="rpmem$i ($([ $i = 2 ] && echo raw || echo fsdax)), $fs"
		if ! mkfs_mount $fs /dev/rpmem$i; then
			not_ok "$what: mkfs and mount with DAX"
			continue
		fi
		check "$what: write a file, fsync" xfs_io -f -c "pwrite -i $OUT/fsdax.data 0 4m" -c fsync /mnt/f/data
		check "$what: the file is DAX (STATX_ATTR_DAX)" dax_attr /mnt/f/data
		check "$what: mmap writes read back" bash -c 'xfs_io -f -c "truncate 2m" -c "mmap -w 0 2m" -c "mwrite -S 0x5a 0 2m" -c msync /mnt/f/map >/dev/null &&
			cmp /mnt/f/map <(head -c 2097152 /dev/zero | tr "\0" "\132")'
		umount /mnt/f
		check "$what: remount" remount $fs /dev/rpmem$i
		check "$what: the file reads back after a remount" cmp "$OUT/fsdax.data" /mnt/f/data
		umount /mnt/f
	done
done
check "e2fsck -fn: rext2 on rpmem0" e2fsck -fn /dev/rpmem0

# The same bytes through nd_pmem: rpmem's data offset is nd_pmem's.
for i in 0 1; do
	sum[$i]=$(dd if=/dev/rpmem$i bs=1M iflag=direct status=none | sha256sum)
	pfn[$i]=$(nd_dev rpmem$i)
	echo "${pfn[$i]}" >"$DRV/rpmem/unbind"
done
check "insmod nd_pmem.ko: it binds the fsdax devices" sh -c \
	"insmod $KDIR/drivers/nvdimm/nd_pmem.ko && for i in \$(seq 50); do [ -b /dev/pmem0 ] && [ -b /dev/pmem1 ] && exit 0; sleep 0.1; done; exit 1"
for i in 0 1; do
	check_eq "nd_pmem reads the bytes rpmem$i had" "${sum[$i]}" \
		"$(dd if=/dev/pmem$i bs=1M iflag=direct status=none | sha256sum)"
done
fs=(rext2 ext4)
for i in 0 1; do
	remount ${fs[$i]} /dev/pmem$i &&
		check "nd_pmem: ${fs[$i]} on pmem$i: write a second file" \
			xfs_io -f -c "pwrite -S 0xc3 0 1m" -c fsync /mnt/f/from-nd_pmem &&
		umount /mnt/f
done
check "rmmod nd_pmem" rmmod nd_pmem
for i in 0 1; do
	echo "${pfn[$i]}" >"$DRV/rpmem/bind"
	check "rpmem binds ${pfn[$i]} again" wait_dev /dev/rpmem$i
	remount ${fs[$i]} /dev/rpmem$i
	check "rpmem$i: reads what nd_pmem wrote" cmp /mnt/f/from-nd_pmem <(head -c 1048576 /dev/zero | tr '\0' '\303')
	check "rpmem$i: and what it wrote itself" cmp "$OUT/fsdax.data" /mnt/f/data
	umount /mnt/f
done

# ndctl disable-namespace / enable-namespace keep the data.
for i in 0 1; do
	check "ndctl disable-namespace namespace$i.0" ndctl disable-namespace namespace$i.0
	check "rpmem$i is gone" test ! -e /dev/rpmem$i
	check "ndctl enable-namespace namespace$i.0" ndctl enable-namespace namespace$i.0
	check "rpmem$i is back" wait_dev /dev/rpmem$i
	remount ${fs[$i]} /dev/rpmem$i
	check "rpmem$i: the file reads back after disable/enable" cmp "$OUT/fsdax.data" /mnt/f/data
	umount /mnt/f
done

# Corrupt info blocks. namespace0.0 is taken from its fsdax device and
# bound raw (force_raw, as ndctl does to reach the block); the block is
# changed in one field, resealed with a good checksum except for the
# checksum case, and the namespace bound without force_raw: rpmem must
# refuse it, naming the field, where nd_pmem would bind it raw or take it.
P0=$(nd_dev rpmem0)
raw0() { # bind namespace0.0 raw, whatever it holds
	echo 1 >"$NS/namespace0.0/force_raw" &&
		echo namespace0.0 >"$DRV/rpmem/bind" && wait_dev /dev/rpmem0
}
unbind0() {
	echo namespace0.0 >"$DRV/rpmem/unbind" && echo 0 >"$NS/namespace0.0/force_raw"
}
check "take namespace0.0 from $P0" sh -c \
	"echo $P0 >$DRV/rpmem/unbind && echo '' >$NS/$P0/namespace"
check "bind namespace0.0 raw (force_raw)" raw0
check_eq "the raw disk is the whole namespace" 1073741824 $(($(sectors rpmem0) * 512))
dd if=/dev/rpmem0 of=/tmp/good bs=4096 skip=1 count=1 iflag=direct status=none
check "the raw disk shows the fsdax info block 4 KiB in" sh -c 'head -c 16 /tmp/good | grep -q NVDIMM_PFN_INFO'

# corrupt OFFSET FORMAT VALUE [OFFSET FORMAT VALUE...] [noseal]: /tmp/bad,
# the good block with little-endian fields replaced (FORMAT "byte": a
# byte XORed with VALUE), sealed again unless noseal.
corrupt() {
	python3 - "$@" <<'EOT'
import struct, sys
b = bytearray(open("/tmp/good", "rb").read())
args = sys.argv[1:]
seal = args[-1:] != ["noseal"]
if not seal:
    args = args[:-1]
for off, fmt, val in zip(args[0::3], args[1::3], args[2::3]):
    off, val = int(off), int(val, 0)
    if fmt == "byte":
        b[off] ^= val
    else:
        struct.pack_into("<" + fmt, b, off, val)
if seal:
    b[4088:] = bytes(8)
    words = struct.unpack("<1024I", b)
    lo = hi = 0
    for w in words:
        lo = (lo + w) & 0xffffffff
        hi = (hi + lo) & 0xffffffffffffffff
    struct.pack_into("<Q", b, 4088, ((hi << 32) | lo) & 0xffffffffffffffff)
open("/tmp/bad", "wb").write(b)
EOT
}
# The resealed good block must be the good block: the checksum code is
# nd_sb_checksum's.
corrupt 52 H 1
check "the test's checksum is libnvdimm's" cmp /tmp/good /tmp/bad
dataoff=$(python3 -c 'import struct; print(struct.unpack_from("<Q", open("/tmp/good", "rb").read(), 56)[0])')
while read -r name off fmt val seal; do
	corrupt "$off" "$fmt" "$val" $seal
	dd if=/tmp/bad of=/dev/rpmem0 bs=4096 seek=1 oflag=direct conv=notrunc status=none
	unbind0
	mark_dmesg
	echo namespace0.0 >"$DRV/rpmem/bind" 2>/dev/null
	check "$name: the namespace is refused, no fsdax device made" sh -c \
		"test ! -e $NS/namespace0.0/driver && test ! -e /dev/rpmem0 && ! grep -lxq namespace0.0 $NS/pfn0.*/namespace"
	check "$name: the message names it" sh -c \
		"dmesg | tail -n +$((DMESG_MARK + 1)) | grep 'rpmem namespace0.0: fsdax info block of namespace0.0 refused: .*$name'"
	raw0 || not_ok "$name: bind namespace0.0 raw again"
done <<EOF
checksum 100 byte 1 noseal
version_major.2 52 H 2
parent_uuid 32 byte 1
mode.7 72 I 7
start_pad.0x200000 76 I 0x200000
end_trunc.0x1000 80 I 0x1000
align.0x80000000 84 I 0x80000000
page_size.65536 88 I 65536
page_struct_size.32 92 H 32
dataoff.0x[0-9a-f]*.is.misaligned 56 Q $((dataoff + 4096))
dataoff.0x80000000.is.past.the.end 56 Q 0x80000000
dataoff.0x200000.leaves.no.room.for.the.page.map 56 Q 0x200000
EOF
dmesg | grep -o "fsdax info block of .*" | sort -u | sed "s/^/    /" >&2
# A configured fsdax device (the region's seed, as ndctl sets one up) on a
# namespace whose block is corrupt: libnvdimm would write a new block over
# it (nd_pfn_init takes a block that fails validation for none); rpmem
# refuses it first and the block stays as it was.
corrupt 100 byte 1 noseal
dd if=/tmp/bad of=/dev/rpmem0 bs=4096 seek=1 oflag=direct conv=notrunc status=none
unbind0
SEED=$(cat "$NS/region0/pfn_seed")
mark_dmesg
check "configure $SEED on namespace0.0" sh -c \
	"cat /proc/sys/kernel/random/uuid >$NS/$SEED/uuid && echo pmem >$NS/$SEED/mode &&
	 echo 2097152 >$NS/$SEED/align && echo namespace0.0 >$NS/$SEED/namespace"
echo "$SEED" >"$DRV/rpmem/bind" 2>/dev/null
check "$SEED with a corrupt block is refused" test ! -e "$NS/$SEED/driver"
check "... by rpmem's check, naming it" sh -c \
	"dmesg | tail -n +$((DMESG_MARK + 1)) | grep -q 'rpmem $SEED: fsdax info block of namespace0.0 refused: checksum'"
check "take namespace0.0 from $SEED" sh -c "echo '' >$NS/$SEED/namespace"
check "bind namespace0.0 raw again" raw0
check "the corrupt block was not written over" cmp /tmp/bad \
	<(dd if=/dev/rpmem0 bs=4096 skip=1 count=1 iflag=direct status=none)
# The same with a devdax info block, which libnvdimm would write over
# too (another signature is no block to it).
python3 - <<'EOT'
b = bytearray(open("/tmp/good", "rb").read())
b[:16] = b"NVDIMM_DAX_INFO\0"
open("/tmp/bad", "wb").write(b)
EOT
dd if=/tmp/bad of=/dev/rpmem0 bs=4096 seek=1 oflag=direct conv=notrunc status=none
unbind0
mark_dmesg
echo namespace0.0 >"$NS/$SEED/namespace"
echo "$SEED" >"$DRV/rpmem/bind" 2>/dev/null
check "$SEED on a devdax info block is refused" sh -c \
	"test ! -e $NS/$SEED/driver && dmesg | tail -n +$((DMESG_MARK + 1)) | grep -q 'rpmem $SEED: namespace0.0 holds a devdax info block'"
check "take namespace0.0 from $SEED again" sh -c "echo '' >$NS/$SEED/namespace"
check "bind namespace0.0 raw once more" raw0
check "the devdax block was not written over" cmp /tmp/bad \
	<(dd if=/dev/rpmem0 bs=4096 skip=1 count=1 iflag=direct status=none)

# Blocks from before minor version 4 record no page sizes, and
# libnvdimm fills them in in memory only: rpmem checks the block on the
# media, so such a namespace binds (and goes on binding, below).
corrupt 54 H 3 88 I 0 92 H 0
check "write the same block as minor version 3" \
	dd if=/tmp/bad of=/dev/rpmem0 bs=4096 seek=1 oflag=direct conv=notrunc status=none
unbind0
echo namespace0.0 >"$DRV/rpmem/bind" 2>/dev/null
check "with a minor version 3 block, namespace0.0 is fsdax again" wait_dev /dev/rpmem0
check "rpmem0 hangs from a pfn device again" sh -c "readlink -f /sys/block/rpmem0/device | grep -q '/pfn0\.'"
check_eq "rpmem0 has its fsdax size again" "$FSDAX0" "$(sectors rpmem0)"
remount rext2 /dev/rpmem0
check "rpmem0: nothing was lost" cmp "$OUT/fsdax.data" /mnt/f/data
umount /mnt/f
check "e2fsck -fn: rext2 on rpmem0" e2fsck -fn /dev/rpmem0

# 20 unbind/bind cycles of each kind leak nothing.
for i in 0 1 2; do
	d=$(nd_dev rpmem$i)
	check_eq "20 unbind/bind cycles of $d" 20 "$(rebind_cycles "$d" /dev/rpmem$i 20)"
done
check_no_leaks "kmemleak: nothing leaked over the bind cycles"
for i in 0 1 2; do
	echo "$(nd_dev rpmem$i) $(sectors rpmem$i)" >>"$OUT/fsdax.devices"
done
finish
