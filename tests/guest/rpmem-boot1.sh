# SPDX-License-Identifier: GPL-2.0
# Guest side of tests/suites/rpmem.sh, first boot.  $OUT is shared with
# the host.
. "$RPMEM_TOP/tests/lib.sh"
RPMEM=$(module drivers/nvdimm/rpmem.ko)
ND_PMEM=$KDIR/drivers/nvdimm/nd_pmem.ko
MB=1048576

ns_size() { cat "/sys/bus/nd/devices/namespace$1.0/size"; }

mark_dmesg
check "insmod rpmem.ko" insmod "$RPMEM"
check_module_build rpmem
for i in 0 1; do
	check "/dev/rpmem$i appears" wait_dev /dev/rpmem$i
	check_eq "rpmem$i has the namespace's size" "$(ns_size $i)" "$(blockdev --getsize64 /dev/rpmem$i 2>&1)"
	check_eq "rpmem$i queue/dax is 1" 1 "$(cat /sys/block/rpmem$i/queue/dax 2>&1)"
done
check "rpmem logged its namespaces" sh -c 'dmesg | grep -q "rpmem0: .* MiB at .*, DAX"'

# O_DIRECT round trip; the host checks the backing file after power-off.
head -c $((4 * MB)) /dev/urandom >/tmp/rand
check "O_DIRECT write of 4 MiB at 8 MiB" \
	dd if=/tmp/rand of=/dev/rpmem0 bs=1M seek=8 count=4 oflag=direct,dsync status=none
check "O_DIRECT read back is identical" sh -c \
	'dd if=/dev/rpmem0 bs=1M skip=8 count=4 iflag=direct status=none | cmp - /tmp/rand'

# Bad input: past the end.
size=$(blockdev --getsize64 /dev/rpmem0)
if dd if=/dev/zero of=/dev/rpmem0 bs=4096 seek=$((size / 4096)) count=1 oflag=direct status=none 2>/tmp/err; then
	not_ok "O_DIRECT write past the end fails"
else
	ok "O_DIRECT write past the end fails ($(tail -n1 /tmp/err | sed 's/.*: //'))"
fi
check_eq "read at the end returns nothing" 0 \
	"$(dd if=/dev/rpmem0 bs=4096 skip=$((size / 4096)) count=1 iflag=direct status=none | wc -c)"

# ext4 and XFS with DAX on rpmem0.
fs_round() {
	local fs=$1 dir=/mnt/$1
	mkdir -p "$dir"
	case $fs in
	ext4) check "mkfs.ext4 on rpmem0" mkfs.ext4 -q -F -b 4096 /dev/rpmem0 ;;
	xfs) check "mkfs.xfs on rpmem0" mkfs.xfs -q -f /dev/rpmem0 ;;
	esac
	check "$fs mounts on rpmem0 with -o dax=always" mount -t "$fs" -o dax=always /dev/rpmem0 "$dir"
	check "/proc/mounts shows dax=always for $fs" grep -q "rpmem0 $dir $fs .*dax=always" /proc/mounts
	head -c $((64 * MB)) /dev/urandom >/tmp/data64
	check "$fs: 64 MiB through write()" cp /tmp/data64 "$dir/written"
	check "$fs: file shows STATX_ATTR_DAX" dax_attr "$dir/written"
	check "$fs: 64 MiB through mmap" xfs_io -f -c "truncate $((64 * MB))" \
		-c "mmap -rw 0 $((64 * MB))" -c "mwrite -S 0x5a 0 $((64 * MB))" \
		-c "msync -s 0 $((64 * MB))" "$dir/mapped"
	head -c $((64 * MB)) /dev/zero | tr '\0' '\132' >/tmp/pat64
	check_eq "$fs: write() file checksums right" "$(sha256sum </tmp/data64)" "$(sha256sum <"$dir/written")"
	check_eq "$fs: mmap file checksums right" "$(sha256sum </tmp/pat64)" "$(sha256sum <"$dir/mapped")"
	if rmmod rpmem 2>/dev/null; then
		not_ok "rmmod rpmem is refused while $fs is mounted"
		insmod "$RPMEM"
	else
		ok "rmmod rpmem is refused while $fs is mounted"
	fi
	check "$fs: unmount" umount "$dir"
	check "$fs: remount" mount -t "$fs" -o dax=always /dev/rpmem0 "$dir"
	check_eq "$fs: write() file intact after remount" "$(sha256sum </tmp/data64)" "$(sha256sum <"$dir/written")"
	check_eq "$fs: mmap file intact after remount" "$(sha256sum </tmp/pat64)" "$(sha256sum <"$dir/mapped")"
	check "$fs: file still DAX after remount" dax_attr "$dir/mapped"
	sha256sum </tmp/data64 >"$OUT/$fs.written.sha256"
	sha256sum </tmp/pat64 >"$OUT/$fs.mapped.sha256"
	check "$fs: unmount" umount "$dir"
}
fs_round ext4
# Keep an XFS image for the reboot check: rpmem1 gets XFS, rpmem0 keeps ext4.
fs_round xfs
# Bad blocks, injected through the disk's badblocks attribute: block I/O
# and DAX access to them fail cleanly; a write either repairs the media
# (and the entry goes) or fails (and the entry stays).  QEMU's NFIT has
# no clear-error command, so here writes are expected to fail.
BAD=$((20 * 2048))	# sector of 20 MiB on rpmem1
echo "$BAD 8" >/sys/block/rpmem1/badblocks
check "badblocks lists the injected range" grep -q "^$BAD 8" /sys/block/rpmem1/badblocks
if dd if=/dev/rpmem1 of=/dev/null bs=4096 skip=$((BAD / 8)) count=1 iflag=direct status=none 2>/dev/null; then
	not_ok "O_DIRECT read of a bad sector fails"
else
	ok "O_DIRECT read of a bad sector fails"
fi
check "O_DIRECT read next to it works" \
	dd if=/dev/rpmem1 of=/dev/null bs=4096 skip=$((BAD / 8 + 1)) count=1 iflag=direct status=none
if dd if=/dev/zero of=/dev/rpmem1 bs=4096 seek=$((BAD / 8)) count=1 oflag=direct status=none 2>/dev/null; then
	check "a write that succeeded repaired the bad sectors" sh -c "! grep -q '^$BAD ' /sys/block/rpmem1/badblocks"
else
	check "a write that failed left the bad sectors listed" grep -q "^$BAD 8" /sys/block/rpmem1/badblocks
fi
check "rmmod/insmod rpmem forgets injected bad blocks" sh -c "rmmod rpmem && insmod $RPMEM"
wait_dev /dev/rpmem1
check_eq "badblocks is empty again" "" "$(cat /sys/block/rpmem1/badblocks)"

# Through DAX: a file whose block is bad.
mkfs.ext4 -q -F -b 4096 /dev/rpmem1
mount -t ext4 -o dax=always /dev/rpmem1 /mnt/ext4
head -c 65536 /dev/urandom >/mnt/ext4/victim
sync
blk=$(filefrag -v /mnt/ext4/victim | awk '$1 == "0:" { sub(/\.\..*/, "", $4); print $4 }')
if [ -n "$blk" ]; then
	echo "$((blk * 8)) 8" >/sys/block/rpmem1/badblocks
	if dd if=/mnt/ext4/victim of=/dev/null bs=4096 count=1 status=none 2>/dev/null; then
		not_ok "DAX read() of a bad block fails"
	else
		ok "DAX read() of a bad block fails"
	fi
	check "DAX read() of the next block works" dd if=/mnt/ext4/victim of=/dev/null bs=4096 skip=1 count=1 status=none
	# A read fault on the bad page is SIGBUS (status 135), not a crash.
	xfs_io -c "mmap -r 0 4096" -c "mread 0 4096" /mnt/ext4/victim >/dev/null 2>&1
	check_eq "mmap read of a bad block gets SIGBUS" 135 "$?"
	# pwrite over it takes the DAX recovery-write path.
	if xfs_io -c "pwrite -q 0 4096" /mnt/ext4/victim 2>/tmp/err && ! grep -q error /tmp/err; then
		check "a recovery write that succeeded repaired the block" sh -c "! grep -q '^$((blk * 8)) ' /sys/block/rpmem1/badblocks"
	else
		check "a recovery write that failed left the block listed" grep -q "^$((blk * 8)) 8" /sys/block/rpmem1/badblocks
	fi
else
	not_ok "filefrag found the victim file's first block"
fi
umount /mnt/ext4
check "rmmod/insmod rpmem after the DAX bad-block checks" sh -c "rmmod rpmem && insmod $RPMEM"
wait_dev /dev/rpmem1

check "mkfs.ext4 on rpmem0 for the reboot check" mkfs.ext4 -q -F -b 4096 /dev/rpmem0
mount -t ext4 -o dax=always /dev/rpmem0 /mnt/ext4 &&
	cp /tmp/data64 /mnt/ext4/written && umount /mnt/ext4
mkfs.xfs -q -f /dev/rpmem1 && mount -t xfs -o dax=always /dev/rpmem1 /mnt/xfs &&
	cp /tmp/data64 /mnt/xfs/written && umount /mnt/xfs
sha256sum </tmp/data64 >"$OUT/reboot.sha256"

# Unbind/bind and rmmod/insmod while idle; kmemleak looks for leaks after.
check_eq "20 unbind/bind cycles" 20 "$(rebind_cycles namespace0.0 /dev/rpmem0 20)"
ok_cycles=0
for i in $(seq 20); do
	rmmod rpmem || break
	insmod "$RPMEM" || break
	wait_dev /dev/rpmem1 || break
	ok_cycles=$i
done
check_eq "20 rmmod/insmod cycles" 20 "$ok_cycles"
intact() {
	mount -t "$1" -o ro,dax=always "$2" "$3" || return 1
	cmp /tmp/data64 "$3/written"
	local rc=$?
	umount "$3"
	return $rc
}
check "ext4 data on rpmem0 intact after the cycles" intact ext4 /dev/rpmem0 /mnt/ext4
check "xfs data on rpmem1 intact after the cycles" intact xfs /dev/rpmem1 /mnt/xfs
check "rmmod rpmem" rmmod rpmem
check_no_leaks "kmemleak finds no leak after the cycles"

finish
