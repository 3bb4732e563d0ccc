# SPDX-License-Identifier: GPL-2.0
# Guest side of tests/suites/rext2-pagecache.sh.  One NVDIMM with an ext2
# image.  $TREE is the host's source tree, $OUT has its listing.
. "$RPMEM_TOP/tests/lib.sh"
M=/mnt/p
MB=1048576
load_rext2
P4=/dev/rpmem0
mkdir -p $M

not_dax() { ! dax_attr "$1"; }
has_xflag() { lsattr -d "$1" | awk '{ print $1 }' | grep -q x; }

# 1. -o dax=never: every file through the page cache, read-write.
check "mount -o dax=never" mount -t rext2 -o dax=never $P4 $M
check "/proc/mounts: rw, dax=never" grep -q "$P4 $M rext2 rw.*dax=never" /proc/mounts
check "cp -a a tree into the page cache" cp -a "$TREE" $M/tree
check "files are not DAX" not_dax $M/tree/three-mb
same_tree "the tree reads back identically (page cache)" $M/tree

# 2. POSIX semantics and extending writes, through the page cache: a
# shared mapping of a hole sees pwrite()'s data, stores past the end
# read as zeros once the file grows, a write that copies nothing changes
# nothing, a short write racing with faults leaves nothing past the end.
REXT2_PAGECACHE=1 python3 "$RPMEM_TOP/tests/guest/rext2_ops.py" $M || FAILED=$((FAILED + 1))
for t in hole-map eof-tail efault; do
	"$EXTEND" $t $M || FAILED=$((FAILED + 1))
done
"$EXTEND" short-race $M 16 || FAILED=$((FAILED + 1))

# 3. Shared mappings write through page_mkwrite into holes; the data
# reaches the blocks at write-back (checked by C ext2 below).
check "a 4 MiB file written through a shared mapping" map_write_4m $M/mapped
sha=$(sha256sum <$M/mapped)
check "fsync, then the same bytes" sh -c "python3 -c 'import os, sys
fd = os.open(sys.argv[1], os.O_RDWR); os.fsync(fd)' $M/mapped && [ \"\$(sha256sum <$M/mapped)\" = '$sha' ]"

# 4. fsx (fsx_seeds, tests/lib.sh): reads, writes, mapped reads and
# writes, truncation, fallocate, hole punching.
fsx_seeds $M/fsx "${FSX_OPS:-20000}" 1 2 3

# 4b. Appends take blocks a window ahead, given back at fsync, truncation
# and the last close (rext2_window.py; rule 5 in rext2.rst).
python3 "$RPMEM_TOP/tests/guest/rext2_window.py" $M ${P4#/dev/} || FAILED=$((FAILED + 1))
# The same on a loop device (no DAX: the page cache), where each ordering
# point is a flush that the block layer counts, as when rext2 holds a file
# system image (generic/361).
truncate -s 64M /tmp/window.img
L=$(losetup -f --show /tmp/window.img)
mkdir -p /mnt/loop
if mkfs.ext2 -q -F -b 4096 "$L" && mount -t rext2 "$L" /mnt/loop; then
	python3 "$RPMEM_TOP/tests/guest/rext2_window.py" /mnt/loop ${L#/dev/} loop ||
		FAILED=$((FAILED + 1))
	check "umount the loop device" umount /mnt/loop
	check "e2fsck -fn on the loop device" e2fsck -fn "$L"
else
	not_ok "rext2 on a loop device"
fi
losetup -d "$L"
rm -f /tmp/window.img

check "umount (write-back of everything)" umount $M

# 5. The C ext2 driver reads what the page cache wrote back.
check "mount -t ext2 (the C driver)" mount -t ext2 -o ro $P4 $M
same_tree "C ext2 reads the tree rext2 wrote back" $M/tree
check_eq "C ext2 reads the bytes stored through the shared mapping" "$sha" "$(sha256sum <$M/mapped)"
check_eq "C ext2 reads the size of a file appended a block at a time" 2097152 \
	"$(stat -c %s $M/window/stream)"
check "umount C ext2" umount $M

# 6. The default, -o dax=inode: the DAX flag (chattr +x, FS_XFLAG_DAX)
# chooses, as in ext4; it is inherited from the directory and takes
# effect when the inode is next read from disk.
check "mount -t rext2 without options" mount -t rext2 $P4 $M
check "/proc/mounts: no dax option" sh -c "grep '$P4 $M rext2' /proc/mounts | grep -vq dax"
echo plain >$M/plain
check "a new file without the flag is not DAX" not_dax $M/plain
mkdir $M/daxdir
check "chattr +x on a directory" chattr +x $M/daxdir
echo data >$M/daxdir/file && mkdir $M/daxdir/sub && echo deep >$M/daxdir/sub/file
inherited() { has_xflag $M/daxdir/file && has_xflag $M/daxdir/sub && has_xflag $M/daxdir/sub/file; }
check "new files and directories in it inherit the flag" inherited
check "files with the flag are DAX" dax_attr $M/daxdir/file
check "... in subdirectories too" dax_attr $M/daxdir/sub/file
check "a directory's flag does not make the directory DAX" not_dax $M/daxdir
echo "Buffered data" >$M/buffered
exec 3<$M/buffered
check "chattr +x on a file in use" chattr +x $M/buffered
check "... keeps it out of DAX while it is open" not_dax $M/buffered
exec 3<&-
echo 2 >/proc/sys/vm/drop_caches
check "... and once closed it is DAX" dax_attr $M/buffered
check "the buffered data survived the switch" grep -qx "Buffered data" $M/buffered
check "chattr -x" chattr -x $M/daxdir/file
echo 2 >/proc/sys/vm/drop_caches
check "... and the file keeps its data" grep -qx data $M/daxdir/file
check "... in the page cache again" not_dax $M/daxdir/file
check "umount" umount $M

# 7. -o dax=always: every file, flag or not.
check "mount -o dax=always" mount -t rext2 -o dax=always $P4 $M
check "a file without the flag is DAX" dax_attr $M/plain
python3 "$RPMEM_TOP/tests/guest/rext2_window.py" $M ${P4#/dev/} dax || FAILED=$((FAILED + 1))
check "umount (dax=always)" umount $M

# 7b. The options go through an fs_parameter_spec table, as ext4's: bad
# values and unknown keys are refused with the file system's name.
check "mount -o dax=inode" mount -t rext2 -o dax=inode $P4 $M
check "/proc/mounts: dax=inode" grep -q "$P4 $M rext2 rw.*dax=inode" /proc/mounts
check "umount (dax=inode)" umount $M
for opt in dax=sometimes dax= frobnicate; do
	mark_dmesg
	if mount -t rext2 -o $opt $P4 $M 2>/dev/null; then
		not_ok "-o $opt is refused"
		umount $M
	else
		ok "-o $opt is refused"
	fi
	case $opt in
	dax*) msg="rext2: Bad value for 'dax'" ;;
	*) msg="rext2: Unknown parameter '$opt'" ;;
	esac
	if dmesg_since | grep -qF "$msg"; then ok "... saying \"$msg\""; else not_ok "... saying \"$msg\""; fi
done

# 8. Swap files, through the page cache (swapon reads the header with
# read_folio, which DAX files do not have, on ext4 as here).
check "mount -o dax=never for swap files" mount -t rext2 -o dax=never $P4 $M
dd if=/dev/zero of=$M/swap bs=1M count=16 status=none && chmod 600 $M/swap && mkswap $M/swap >/dev/null
check "swapon a swap file" swapon $M/swap
check "/proc/swaps lists it" grep -q "^$M/swap " /proc/swaps
check "an active swap file cannot be written" sh -c "! echo x >>$M/swap 2>/dev/null"
check "swapoff" swapoff $M/swap
truncate -s 16M $M/sparse && chmod 600 $M/sparse && mkswap $M/sparse >/dev/null 2>&1
check "a swap file with holes is refused" sh -c "! swapon $M/sparse 2>/dev/null"
check "umount after the swap files" umount $M

# 9. Shutdown (FS_IOC_SHUTDOWN): with DAX after a freeze (the default
# flags), then in the page cache at once (xfs_io's plain shutdown), with
# data not yet written back: afterwards every access fails with EIO,
# nothing more is written, and after a remount the files are there, the
# unwritten data reads as zeros, never as other bytes.
shutdown_default() { python3 -c 'import fcntl, os, struct, sys
fd = os.open(sys.argv[1], os.O_RDONLY)
fcntl.ioctl(fd, 0x8004587d, struct.pack("I", 0))' "$1"; }
check "mount -o dax for the shutdown" mount -t rext2 -o dax $P4 $M
echo durable >$M/durable && sync
check "FS_IOC_SHUTDOWN (default flags: freeze first)" shutdown_default $M
check "reads fail with EIO after the shutdown" sh -c "cat $M/durable 2>&1 | grep -q 'Input/output error'"
check "creates fail after the shutdown" sh -c "! touch $M/after 2>/dev/null"
check "the log says it was shut down" sh -c "dmesg | grep -q 'rext2: rpmem0: shut down'"
check "umount after the shutdown" umount $M
check "mount -o dax=never after the shutdown" mount -t rext2 -o dax=never $P4 $M
check "the data written before it is there" grep -qx durable $M/durable
head -c 1048576 /dev/urandom >/tmp/cached.ref && cp /tmp/cached.ref $M/cached
check "xfs_io shutdown (at once) with data in the page cache" xfs_io -x -c shutdown $M
check "writes fail with EIO after it" sh -c "! echo x >>$M/durable 2>/dev/null"
check "umount after the second shutdown" umount $M
check "mount again" mount -t rext2 -o dax=never $P4 $M
zeros_or_data() { python3 -c 'import os, sys
ref = open(sys.argv[2], "rb").read()
if os.path.exists(sys.argv[1]):
    got = open(sys.argv[1], "rb").read()
    assert len(got) <= len(ref), len(got)
    for o in range(0, len(got), 4096):
        b = got[o:o + 4096]
        assert b == ref[o:o + len(b)] or b == bytes(len(b)), o' "$@"; }
check "each block not written back reads as zeros, never as other bytes" zeros_or_data $M/cached /tmp/cached.ref
check "umount after the shutdowns" umount $M
finish
