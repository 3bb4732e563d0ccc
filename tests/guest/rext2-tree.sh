# SPDX-License-Identifier: GPL-2.0
# Guest side of tests/suites/rext2.sh: compare the rext2 mount with $TREE,
# and with the listings the host made of it in $OUT.
. "$RPMEM_TOP/tests/lib.sh"
M=/mnt/r
MB=1048576
load_rext2
mkdir -p $M
check "mount -t rext2 -o ro,dax" mount -t rext2 -o ro,dax /dev/rpmem0 $M
check "/proc/mounts shows dax=always" grep -q "rpmem0 $M rext2 ro.*dax=always" /proc/mounts
check "a read-only mount refuses writes" sh -c "! touch $M/new-file 2>/dev/null && grep -q 'rpmem0 $M rext2 ro' /proc/mounts"

# Every path: type, mode, owner, link count, size, mtime, device numbers
# (the host listed the source tree the same way, into $OUT/meta.src).
stat_listing $M ./lost+found ./big-dir >/tmp/meta.dst
if cmp -s "$OUT/meta.src" /tmp/meta.dst; then
	ok "metadata of all $(wc -l </tmp/meta.dst) paths matches"
else
	not_ok "metadata of all paths matches"
	diff "$OUT/meta.src" /tmp/meta.dst | head -20 >&2
fi
check_eq "directory link counts are 2 + subdirectories" "3 3" \
	"$(stat -c %h $M/a/b) $(stat -c %h $M/a/b/c/d/..)"
check_eq "symlink targets (fast and slow) match" "$(cat "$OUT/links.src")" \
	"$(cd $M && find . -type l -printf '%p -> %l\n' | sort)"

# Data through read(): every regular file but the 5 GiB sparse one in
# full (checksums of the source made on the host, into $OUT/sums.src);
# that one at its data blocks, in a hole, and at its end.
(cd $M && find . \( -path ./lost+found -o -path ./big-dir \) -prune -o -type f ! -name sparse-5g -print0 |
	sort -z | xargs -0 sha256sum) >/tmp/sums.dst
if cmp -s "$OUT/sums.src" /tmp/sums.dst; then
	ok "read() of all $(wc -l </tmp/sums.dst) regular files matches"
else
	not_ok "read() of every regular file matches"
	diff "$OUT/sums.src" /tmp/sums.dst | head -10 >&2
fi
part() { dd if="$1" bs=4096 skip="$2" count="$3" status=none | sha256sum; }
for at in "20 1" "$((4608 * 256)) 1" "$((4608 * 256 - 1)) 3" "5000 4" "$((5 * 256 * 1024 - 1)) 1"; do
	set -- $at
	check_eq "sparse-5g: blocks $1..+$2 match" "$(part "$TREE/sparse-5g" $1 $2)" "$(part $M/sparse-5g $1 $2)"
done
check_eq "read past the end returns nothing" 0 "$(dd if=$M/one-byte bs=1 skip=1 count=10 status=none | wc -c)"
check_eq "zero-length read" 0 "$(head -c 0 $M/three-mb | wc -c)"

# Data through mmap.
mm() {
	python3 -c 'import mmap, sys, hashlib
f = open(sys.argv[1], "rb")
m = mmap.mmap(f.fileno(), 0, prot=mmap.PROT_READ)
print(hashlib.sha256(m[:]).hexdigest())' "$1"
}
for f in four-mb three-mb holes a/b/c/d/deep-file; do
	check_eq "mmap read of $f matches" "$(sha256sum <"$TREE/$f" | cut -d' ' -f1)" "$(mm $M/$f)"
done
check "files show STATX_ATTR_DAX" dax_attr $M/four-mb

# Block maps, as the image has them (listed on the host with debugfs).
BM=$RPMEM_TOP/tests/guest/blockmap.py
python3 "$BM" fiemap $M $BLOCKMAP_FILES >/tmp/bmap.fiemap
python3 "$BM" fibmap $M $BLOCKMAP_FILES >/tmp/bmap.fibmap
check "the image's block maps are listed" test -s "$OUT/bmap.src"
check "FIEMAP reports every data block where the image has it" cmp "$OUT/bmap.src" /tmp/bmap.fiemap
check "FIBMAP agrees (the first 4096 blocks of each file, holes 0)" \
	cmp <(awk '$2 < 4096' "$OUT/bmap.src") /tmp/bmap.fibmap
# Leases (fcntl F_SETLEASE): file systems opt in with generic_setlease
# (directories too, for the kernel's own users: fcntl refuses them).
lease() {
	python3 -c 'import fcntl, os, sys
fd = os.open(sys.argv[1], os.O_RDONLY)
fcntl.fcntl(fd, fcntl.F_SETLEASE, fcntl.F_RDLCK)
assert fcntl.fcntl(fd, fcntl.F_GETLEASE) == fcntl.F_RDLCK
fcntl.fcntl(fd, fcntl.F_SETLEASE, fcntl.F_UNLCK)' "$1"
}
check "a read lease on a file" lease $M/four-mb
check "FIEMAP of an empty file and past the size reports nothing" sh -c \
	"filefrag -v -b4096 $M/big-dir/entry-1 $M/one-byte >/tmp/ff &&
	! grep -Eq '^ +[1-9][0-9]*:' /tmp/ff && grep -q '0 extents found' /tmp/ff"

# Directories.
check_eq "10000 entries in big-dir" 10000 "$(ls $M/big-dir | wc -l)"
for e in 1 2 5000 9999 10000; do
	check "big-dir/entry-$e: lookup and metadata" sh -c \
		"[ \"\$(stat -c '%F %s %h' $M/big-dir/entry-$e)\" = 'regular empty file 0 1' ]"
done
check_eq "big-dir lists every name once" "$(seq 1 10000 | sed 's/^/entry-/' | sort)" "$(ls $M/big-dir | sort)"
check "lookup of a 255-byte name" test -f "$M/$(printf 'L%.0s' $(seq 255))"
if [ -e $M/nonexistent ]; then not_ok "missing names are not found"; else ok "missing names are not found"; fi

st=$(stat -f -c '%t %S %b %f %c %d %l' $M)
check_eq "statfs: ext2 magic and 4 KiB blocks" "ef53 4096" "$(echo "$st" | cut -d' ' -f1-2)"
check "unmount" umount $M

# Without DAX: the same data through the page cache.
check "mount -o ro,dax=never" mount -t rext2 -o ro,dax=never /dev/rpmem0 $M
check "/proc/mounts shows dax=never" grep -q "rpmem0 $M rext2 ro.*dax=never" /proc/mounts
(cd $M && find . \( -path ./lost+found -o -path ./big-dir \) -prune -o -type f ! -name sparse-5g -print0 |
	sort -z | xargs -0 sha256sum) >/tmp/sums.pc
check "dax=never: read() of every regular file matches" cmp -s "$OUT/sums.src" /tmp/sums.pc
check_eq "dax=never: sparse-5g past 4 GiB matches" "$(part "$TREE/sparse-5g" $((4608 * 256)) 1)" \
	"$(part $M/sparse-5g $((4608 * 256)) 1)"
check_eq "dax=never: mmap read of four-mb matches" "$(sha256sum <"$TREE/four-mb" | cut -d' ' -f1)" "$(mm $M/four-mb)"
if dax_attr $M/four-mb; then not_ok "dax=never: no STATX_ATTR_DAX"; else ok "dax=never: no STATX_ATTR_DAX"; fi
# fsync() on a read-only mount of a writable file system: its operation
# is there, and succeeds (nothing to write).
fsync_errno() {
	python3 -c 'import os, sys
fd = os.open(sys.argv[1], os.O_RDONLY)
try:
    os.fsync(fd)
    print(0)
except OSError as e:
    print(e.errno)' "$1"
}
check_eq "rext2, read-only mount: fsync() succeeds" 0 "$(fsync_errno $M/four-mb)"
check "unmount" umount $M
check "rmmod rext2" rmmod rext2

# A read-only file system on the same abstraction (tests/modules/rotestfs)
# gets no write operation: it does not build otherwise, and here the
# missing ones show as in a C file system without them.
mark_dmesg
check "insmod rotestfs.ko" insmod "$(module tests/modules/rotestfs.ko)"
if mount -w -t rotestfs /dev/rpmem0 $M 2>/dev/null; then
	not_ok "rotestfs: a read-write mount is refused"
	umount $M
else
	ok "rotestfs: a read-write mount is refused"
fi
if dmesg_since | grep -q "rotestfs: read-only file system: mount with -o ro"; then
	ok "rotestfs: the refusal says why"
else
	not_ok "rotestfs: the refusal says why"
fi
check "rotestfs: mount -o ro,dax" mount -t rotestfs -o ro,dax /dev/rpmem0 $M
check_eq "rotestfs: the root lists one file" "device" "$(ls $M)"
check_eq "rotestfs: its size is the device's" "$(blockdev --getsize64 /dev/rpmem0)" "$(stat -c %s $M/device)"
check_eq "rotestfs: read() gives the device's first 16 MiB" "$(head -c 16M /dev/rpmem0 | sha256sum)" \
	"$(head -c 16M $M/device | sha256sum)"
check_eq "rotestfs: mmap through DAX gives them too" "$(head -c 16M /dev/rpmem0 | sha256sum | cut -d' ' -f1)" \
	"$(python3 -c 'import mmap, sys, hashlib
f = open(sys.argv[1], "rb")
m = mmap.mmap(f.fileno(), 16 << 20, prot=mmap.PROT_READ)
print(hashlib.sha256(m[:]).hexdigest())' $M/device)"
check "rotestfs: STATX_ATTR_DAX" dax_attr $M/device
check_eq "rotestfs: fsync() fails with EINVAL: no fsync operation" 22 "$(fsync_errno $M/device)"
check "unmount" umount $M
check "rmmod rotestfs" rmmod rotestfs
check "rmmod rpmem" rmmod rpmem
finish
