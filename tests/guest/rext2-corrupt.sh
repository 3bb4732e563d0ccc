# SPDX-License-Identifier: GPL-2.0
# Guest side of tests/suites/rext2.sh: corrupted images, one per NVDIMM, in
# the order of $NAMES.  Each is refused at mount, or fails on access, with
# a message in the log; the last one is good and must still work.
. "$RPMEM_TOP/tests/lib.sh"
check "insmod rpmem.ko" insmod "$(module drivers/nvdimm/rpmem.ko)"
check "insmod rext2.ko" insmod "$(module fs/rext2/rext2.ko)"
mapfile -t names <"$NAMES"
n=${#names[@]}
for _ in $(seq 100); do [ -b /dev/rpmem$((n - 1)) ] && break; sleep 0.1; done
# Disk numbers follow region probe order, not the NVDIMMs' order: sort the
# disks by their namespace's physical address, which QEMU assigns in
# device order.
mapfile -t devs < <(for b in /sys/block/rpmem*; do
	echo "$(($(cat "$b/device/resource"))) /dev/$(basename "$b")"
done | sort -n | cut -d' ' -f2)
check_eq "one rpmem disk per image" "$n" "${#devs[@]}"
M=/mnt/c
mkdir -p $M

# refused NAME DEV MESSAGE: the mount fails and the log says MESSAGE.
refused() {
	mark_dmesg
	if mount -t rext2 -o ro "$2" $M 2>/dev/null; then
		not_ok "$1: the mount is refused"
		umount $M
		return
	fi
	ok "$1: the mount is refused"
	check "$1: the log says '$3'" sh -c "dmesg | tail -n +$((DMESG_MARK + 1)) | grep -q '$3'"
}
# fails NAME DEV CMD...: mounts, then CMD fails with EUCLEAN or EIO (or
# ELOOP for a loop) and the log names the problem.
fails() {
	local name=$1 dev=$2
	shift 2
	mark_dmesg
	if ! mount -t rext2 -o ro "$dev" $M 2>/tmp/err; then
		ok "$name: refused at mount ($(dmesg | tail -n1 | sed 's/.*rext2: //'))"
		return
	fi
	if "$@" >/dev/null 2>/tmp/err; then
		not_ok "$name: access fails"
	else
		ok "$name: access fails ($(tail -n1 /tmp/err | sed 's/.*: //'))"
		check "$name: the error is EUCLEAN, EIO or ELOOP" \
			grep -q -E 'Structure needs cleaning|Input/output error|Too many levels of symbolic links' /tmp/err
		check "$name: the log names the problem" sh -c \
			"dmesg | tail -n +$((DMESG_MARK + 1)) | grep -q -E 'rext2|loop'"
	fi
	umount $M
}

for ((k = 0; k < n; k++)); do
	dev=${devs[$k]}
	case "${names[$k]}" in
	"bad magic") refused "${names[$k]}" $dev "bad magic" ;;
	"block size 1024") refused "${names[$k]}" $dev "block size" ;;
	"blocks count past the device") refused "${names[$k]}" $dev "device" ;;
	"unknown incompat feature") refused "${names[$k]}" $dev "incompat" ;;
	"inode block pointer out of range") fails "${names[$k]}" $dev cat $M/file ;;
	"dirent rec_len"*|"dirent name_len"*) fails "${names[$k]}" $dev ls $M/dir ;;
	"directory loop") fails "${names[$k]}" $dev ls $M/a/b/loop/b ;;
	"good image after all that")
		check "the good image mounts after the bad ones" mount -t rext2 -o ro $dev $M
		check "and reads" cmp -s $M/file "$SMALL/file"
		check "its directory lists" test -e $M/dir/entry
		umount $M
		;;
	esac
done
dmesg | grep rext2 | tail -20 >&2
check "rmmod rext2" rmmod rext2
check "rmmod rpmem" rmmod rpmem
finish
