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
	if mount -t rext2 -o ro,dax "$2" $M 2>/dev/null; then
		not_ok "$1: the mount is refused"
		umount $M
		return
	fi
	ok "$1: the mount is refused"
	check "$1: the log says '$3'" sh -c "dmesg | tail -n +$((DMESG_MARK + 1)) | grep -q '$3'"
}
# sb_state DEV: s_state of the superblock on the device's media (read
# with O_DIRECT, past the page cache): 1 clean, 2 errors.
sb_state() {
	dd if="$1" bs=4096 count=1 iflag=direct status=none | od -An -tu2 -j 1082 -N 2 | tr -d ' '
}
# has_errors DEV: the superblock on the media has EXT2_ERROR_FS.
has_errors() {
	local s
	s=$(sb_state "$1") && [ -n "$s" ] && [ $((s & 2)) -ne 0 ]
}
# fails NAME DEV CMD...: mounts, then CMD fails with EUCLEAN or EIO (or
# ELOOP for a loop) and the log names the problem; the read-only mount
# leaves the error mark in memory and writes nothing.
fails() {
	local name=$1 dev=$2
	shift 2
	mark_dmesg
	if ! mount -t rext2 -o ro,dax "$dev" $M 2>/tmp/err; then
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
	check "$name: no error mark written on a read-only mount" eval "! has_errors $dev"
	umount $M
}

# rw_fails NAME DEV WHAT CMD...: mounts read-write; CMD fails with
# EUCLEAN and the log names the problem (WHAT); the file system is marked
# as having errors on the device at once, as ext2_error() does, and still
# after a clean unmount; the good file is intact. The images have mke2fs's
# s_errors, continue: the mount stays read-write, and says so.
rw_fails() {
	local name=$1 dev=$2 what=$3
	shift 3
	mark_dmesg
	if ! mount -t rext2 -o dax "$dev" $M 2>/tmp/err; then
		not_ok "$name: mounts read-write"
		return
	fi
	check "$name: /proc/mounts shows errors=continue" \
		grep -q "^$dev $M rext2 rw.*,errors=continue" /proc/mounts
	if "$@" >/dev/null 2>/tmp/err; then
		not_ok "$name: $* fails"
	else
		check "$name: $* fails with EUCLEAN" grep -q 'Structure needs cleaning' /tmp/err
	fi
	check "$name: the log says '$what'" sh -c "dmesg | tail -n +$((DMESG_MARK + 1)) | grep -q '$what'"
	check "$name: the superblock on the device has the error mark at once" has_errors $dev
	check "$name: the other file is intact" cmp -s $M/file "$SMALL/file"
	check "$name: the mount stays read-write (errors=continue)" touch $M/after
	check "$name: a remount sets errors=remount-ro" mount -o remount,errors=remount-ro $M
	check "$name: /proc/mounts then shows errors=remount-ro" \
		grep -q "^$dev $M rext2 rw.*,errors=remount-ro" /proc/mounts
	check "$name: umount" umount $M
	dumpe2fs -h $dev 2>/dev/null | grep '^Filesystem state:' >/tmp/state
	check "$name: the superblock says 'clean with errors' after umount" \
		grep -q 'clean with errors' /tmp/state
}
# remounts_ro NAME DEV WHAT OPTS SHOWN CMD...: as rw_fails, but mounted
# with -o OPTS, under which errors mean remount-ro (an option, or the
# superblock's s_errors), and /proc/mounts shows SHOWN ("" for nothing):
# after CMD fails every write is refused (EROFS), a new file as a write
# through a file opened before, /proc/mounts says emergency_ro, a remount
# read-only is refused, reads go on, nothing but the superblock changes on
# the device after the error (with APPEND=1, a file appended to before it,
# with blocks allocated ahead, is closed after it: no trim), and the
# superblock says "not clean with errors".
remounts_ro() {
	local name=$1 dev=$2 what=$3 opts=$4 shown=$5
	shift 5
	mark_dmesg
	if ! mount -t rext2 -o "$opts" "$dev" $M 2>/tmp/err; then
		not_ok "$name: mounts read-write with -o $opts"
		return
	fi
	grep "^$dev $M rext2 rw," /proc/mounts >/tmp/line
	check "$name: /proc/mounts has the mount, read-write" test -s /tmp/line
	check_eq "$name: /proc/mounts shows '$shown'" "$shown" \
		"$(grep -o ',errors=[a-z-]*' /tmp/line)"
	exec 3>>$M/file
	if [ "${APPEND:-0}" = 1 ]; then head -c 5000 /dev/urandom >&3; fi
	cat $M/file >/tmp/expect
	if "$@" >/dev/null 2>/tmp/err; then
		not_ok "$name: $* fails"
	else
		check "$name: $* fails with EUCLEAN" grep -q 'Structure needs cleaning' /tmp/err
	fi
	dmesg | tail -n +$((DMESG_MARK + 1)) >/tmp/log
	check "$name: the log says '$what'" grep -q "$what" /tmp/log
	check "$name: the log says 'remounting filesystem read-only'" \
		grep -q 'remounting filesystem read-only' /tmp/log
	check "$name: /proc/mounts shows emergency_ro, on a read-write mount" \
		grep -q "^$dev $M rext2 rw,.*,emergency_ro" /proc/mounts
	dd if=$dev bs=4096 skip=1 iflag=direct status=none | md5sum >/tmp/md5-error
	touch $M/after 2>/tmp/err
	check "$name: a new file is refused with EROFS" grep -q 'Read-only file system' /tmp/err
	(echo more >&3) 2>/tmp/err
	check "$name: a write through a file opened before is refused with EROFS" \
		grep -q 'Read-only file system' /tmp/err
	exec 3>&-
	# mount(8) would pass emergency_ro back from /proc/mounts, an
	# unknown option: remount(2) with read-only alone.
	check "$name: a remount read-only is refused with EROFS" python3 -c '
import ctypes, sys
libc = ctypes.CDLL(None, use_errno=True)
r = libc.mount(None, sys.argv[1].encode(), None, 32 | 1, None)  # MS_REMOUNT | MS_RDONLY
sys.exit(0 if r != 0 and ctypes.get_errno() == 30 else 1)  # EROFS' $M
	check "$name: the other file still reads, unchanged" cmp -s $M/file /tmp/expect
	check "$name: the superblock on the device has the error mark" has_errors $dev
	check "$name: umount" umount $M
	dd if=$dev bs=4096 skip=1 iflag=direct status=none | md5sum >/tmp/md5-umount
	check "$name: nothing but the superblock written after the error" \
		cmp -s /tmp/md5-error /tmp/md5-umount
	dumpe2fs -h $dev 2>/dev/null | grep '^Filesystem state:' >/tmp/state
	check "$name: the superblock says 'not clean with errors' after umount" \
		grep -q 'not clean with errors' /tmp/state
}
# map_read FILE: reads FILE's first page through a shared read mapping.
map_read() {
	python3 -c 'import mmap, sys
f = open(sys.argv[1], "rb")
m = mmap.mmap(f.fileno(), 4096, prot=mmap.PROT_READ)
sys.stdout.buffer.write(m[:16])' "$1"
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
	"dirent unaligned after the one unlinked (rw unlink)")
		# Refused whole, so the name found before the bad entry stays.
		rw_fails "${names[$k]}" $dev "unaligned directory entry" rm $M/dir/entry
		mount -t rext2 -o ro,dax $dev $M
		check "${names[$k]}: the name is still there after a remount" test -e $M/dir/entry
		umount $M
		;;
	"file block in the inode table") fails "${names[$k]}" $dev cat $M/file ;;
	"entry names a reserved inode") fails "${names[$k]}" $dev stat $M/dir/resize ;;
	"root inode is not a directory") refused "${names[$k]}" $dev "corrupt root inode" ;;
	"block bitmap on the descriptor table") refused "${names[$k]}" $dev "block bitmap not in its group" ;;
	"file block is a block bitmap (rw truncate)")
		rw_fails "${names[$k]}" $dev "into file system metadata" truncate -s 0 $M/dir/entry
		;;
	"inode bitmap frees a live inode (rw create)")
		APPEND=1 remounts_ro "${names[$k]}" $dev "marks an inode in use as free" \
			dax,errors=remount-ro ",errors=remount-ro" touch $M/new
		;;
	"block bitmap frees the inode table (rw write)")
		# remount-ro as the superblock's default: nothing to show.
		check "${names[$k]}: tune2fs -e remount-ro" tune2fs -e remount-ro $dev
		remounts_ro "${names[$k]}" $dev "marks a metadata block free" dax "" \
			dd if=/dev/urandom of=$M/new bs=4096 count=4 conv=fsync status=none
		;;
	"indirect tree reaching one block 2^30 times (rw unlink)")
		mark_dmesg
		check "${names[$k]}: mounts read-write" mount -t rext2 -o dax $dev $M
		start=$(date +%s)
		check "${names[$k]}: unlink and umount finish" timeout 120 sh -c "rm $M/dir/entry && umount $M"
		check "${names[$k]}: in less than 60 s" test $(($(date +%s) - start)) -lt 60
		check "${names[$k]}: the log says 'freed twice'" \
			sh -c "dmesg | tail -n +$((DMESG_MARK + 1)) | grep -q 'freed twice'"
		mountpoint -q $M && umount $M
		;;
	"two files share a block")
		mark_dmesg
		check "${names[$k]}: mounts" mount -t rext2 -o ro,dax $dev $M
		check_eq "${names[$k]}: the first file maps" "$(head -c 16 "$SMALL/file" | od -An -tx1)" \
			"$(map_read $M/file | od -An -tx1)"
		( map_read $M/dir/entry >/dev/null 2>&1 )
		check_eq "${names[$k]}: mapping the second fails (SIGBUS)" 135 "$?"
		check "${names[$k]}: the log says 'mapped by another file'" \
			sh -c "dmesg | tail -n +$((DMESG_MARK + 1)) | grep -q 'mapped by another file'"
		umount $M
		;;
	"good image after all that")
		mark_dmesg
		mount -t rext2 -o ro,dax,errors=bogus $dev $M >/tmp/err 2>&1
		check_eq "errors=bogus is refused" 32 "$?"
		dmesg | tail -n +$((DMESG_MARK + 1)) >>/tmp/err
		check "... as a bad value of errors=" grep -q "Bad value for 'errors'" /tmp/err
		check "the good image mounts after the bad ones" mount -t rext2 -o ro,dax $dev $M
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
