#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# rext2, read-only: a tree made on the host goes into an ext2 image
# (mke2fs -d) written straight into the NVDIMM's backing file, and the
# guest mounts it with rext2 over rpmem and compares every file's bytes
# (read() and mmap) and metadata with the source tree.  Then 2 MiB DAX
# faults on a file the host laid out for them.  Then corrupted images:
# each is refused at mount or fails with EUCLEAN/EIO on access, with a
# message, and never a splat.

. "$(dirname "$0")/../lib.sh"
RUN=$RPMEM_TOP/qemu/run
WORK=$(mktemp -d "${TMPDIR:-/tmp}/rext2.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
cd "$WORK" || exit 1
MB=1048576

# 1. The source tree.
T=$WORK/tree
make_tree "$T"
mkdir -p "$T/big-dir"
# Past 4 GiB, with a block that needs triple-indirect pointers (logical
# block > 12 + 1024 + 1024^2): 4 KiB at 4.5 GiB, and the size past it.
head -c 4096 /dev/urandom | dd of="$T/sparse-5g" bs=4096 seek=$((4608 * 256)) conv=notrunc status=none
head -c 4096 /dev/urandom | dd of="$T/sparse-5g" bs=4096 seek=20 conv=notrunc status=none
truncate -s $((5 * 1024 * MB)) "$T/sparse-5g"
# A 4 MiB file for mmap (and PMD faults where its blocks allow).
head -c $((4 * MB)) /dev/urandom >"$T/four-mb"
for i in $(seq 1 10000); do : >"$T/big-dir/entry-$i"; done
mknod "$T/loop-dev" b 7 0

mkdir -p "$WORK/img"
IMG=$WORK/img/nvdimm0.img
# Files whose block maps FIEMAP and FIBMAP are checked against: direct,
# indirect and double-indirect blocks, holes, a triple-indirect block.
BLOCKMAP_FILES="four-mb three-mb holes a/b/c/d/deep-file sparse-5g"
if mkext2 -d "$T" "$IMG" 1G; then
	ok "mke2fs -t ext2 -b 4096 -d builds the image"
else
	not_ok "mke2fs -t ext2 -b 4096 -d builds the image"
fi
check "e2fsck -fn accepts the image" e2fsck -fn "$IMG"
# mke2fs -d gives the root directory the time of its own last change (the
# last entry it links there), not the source's: the listing takes it from
# the image, as rext2 must report it. Copying the source's time made the
# check fail whenever mke2fs started in the next second.
root_mtime=$(debugfs -R "stat /" "$IMG" 2>/dev/null | sed -n 's/^ *mtime: 0x\([0-9a-f]*\).*/\1/p')
check "debugfs gives the root directory's time in the image" test -n "$root_mtime"
touch -m -d "@$((16#${root_mtime:-0}))" "$T"

# What the guest compares against, listed here (9p makes it slow there).
# big-dir is left to its own checks: looking up each of its 10,000
# entries is quadratic in a linear directory (as with C ext2), which TCG
# turns into minutes.
stat_listing "$T" ./big-dir >"$WORK/meta.src"
(cd "$T" && find . -path ./big-dir -prune -o -type f ! -name sparse-5g -print0 | sort -z |
	xargs -0 sha256sum) >"$WORK/sums.src"
(cd "$T" && find . -type l -printf '%p -> %l\n' | sort) >"$WORK/links.src"
# The block maps FIEMAP and FIBMAP must report: the image's own.
python3 "$RPMEM_TOP/tests/guest/blockmap.py" debugfs "$IMG" $BLOCKMAP_FILES >"$WORK/bmap.src"

"$RUN" --nvdimms 1 --keep-images "$WORK/img" --timeout 1500 -- \
	env TREE="$T" OUT="$WORK" BLOCKMAP_FILES="$BLOCKMAP_FILES" bash "$RPMEM_TOP/tests/guest/rext2-tree.sh"
check_eq "tree boot: guest checks ran, no kernel splat" 0 "$?"
check "e2fsck -fn still accepts the image after the read-only mount" e2fsck -fn "$IMG"

# 2. PMD faults. A 4 MiB file's blocks 512..1023 come from one indirect
# block and are contiguous; grow a leading pad file until they start on a
# 2 MiB boundary on the device.
P=$WORK/pmd
mkdir -p "$P/tree" "$P/img"
head -c $((4 * MB)) /dev/urandom >"$P/tree/pmd-file"
sha256sum <"$P/tree/pmd-file" >"$WORK/pmd.sha256"
pad=0
aligned=no
for _ in 1 2 3 4 5 6; do
	rm -f "$P/tree/0-pad"
	[ "$pad" -gt 0 ] && head -c $((pad * 4096)) /dev/zero | tr '\0' p >"$P/tree/0-pad"
	mkext2 -d "$P/tree" "$P/img/nvdimm0.img" 128M
	first=$(debugfs -R "bmap /pmd-file 512" "$P/img/nvdimm0.img" 2>/dev/null)
	last=$(debugfs -R "bmap /pmd-file 1023" "$P/img/nvdimm0.img" 2>/dev/null)
	if [ $((first % 512)) = 0 ] && [ $((last - first)) = 511 ]; then
		aligned=yes
		break
	fi
	pad=$((pad + (512 - first % 512) % 512))
done
check_eq "the host placed pmd-file's second 2 MiB on a 2 MiB boundary" yes "$aligned"
"$RUN" --nvdimms 1 --nvdimm-size 128M --keep-images "$P/img" --timeout 600 -- \
	env OUT="$WORK" bash "$RPMEM_TOP/tests/guest/rext2-pmd.sh"
check_eq "PMD boot: guest checks ran, no kernel splat" 0 "$?"

# 3. Corrupted images, one per NVDIMM, each made from a good one.
C=$WORK/corrupt
mkdir -p "$C" "$WORK/small/dir" "$WORK/small/a/b"
head -c 20000 /dev/urandom >"$WORK/small/file"
: >"$WORK/small/dir/entry"
good() { mkext2 -d "$WORK/small" "$1" 128M; }
blk() { debugfs -R "bmap $2 0" "$1" 2>/dev/null; }
poke() { printf "$3" | dd of="$1" bs=1 seek="$2" conv=notrunc status=none; }
i=0
case_img() { # NAME: the next image
	echo "$1" >"$C/name$i"
	IMGC=$C/nvdimm$i.img
	i=$((i + 1))
}
case_img "bad magic"; good "$IMGC"; poke "$IMGC" $((1024 + 56)) '\x00\x00'
case_img "block size 1024"; mke2fs -q -F -t ext2 -b 1024 -d "$WORK/small" "$IMGC" 128M
case_img "blocks count past the device"; good "$IMGC"
debugfs -w -R "ssv blocks_count 40000" "$IMGC" 2>/dev/null
case_img "unknown incompat feature"; good "$IMGC"
debugfs -w -R "ssv feature_incompat 0x1002" "$IMGC" 2>/dev/null
case_img "inode block pointer out of range"; good "$IMGC"
debugfs -w -R "sif /file block[0] 999999" "$IMGC" 2>/dev/null
case_img "dirent rec_len 0"; good "$IMGC"
b=$(blk "$IMGC" /dir); poke "$IMGC" $((b * 4096 + 4)) '\x00\x00'
case_img "dirent rec_len not a multiple of 4"; good "$IMGC"
b=$(blk "$IMGC" /dir); poke "$IMGC" $((b * 4096 + 4)) '\x0d\x00'
case_img "dirent name_len past rec_len"; good "$IMGC"
b=$(blk "$IMGC" /dir); poke "$IMGC" $((b * 4096 + 6)) '\xc8'
case_img "dirent unaligned after the one unlinked (rw unlink)"; good "$IMGC"
# A second name after /dir/entry, whose rec_len is then made unaligned.
debugfs -w -R "ln /file /dir/later" "$IMGC" 2>/dev/null
b=$(blk "$IMGC" /dir)
off=$(python3 - "$IMGC" "$b" <<'PY'
import struct, sys
with open(sys.argv[1], "rb") as f:
    f.seek(int(sys.argv[2]) * 4096)
    block = f.read(4096)
off = 0
while off < 4096:
    rec_len, name_len = struct.unpack_from("<HB", block, off + 4)
    if block[off + 8:off + 8 + name_len] == b"later":
        print(off)
    off += rec_len
PY
)
poke "$IMGC" $((b * 4096 + off + 4)) '\x0d\x00'
case_img "directory loop"; good "$IMGC"
debugfs -w -R "ln /a /a/b/loop" "$IMGC" 2>/dev/null
# Pointers into metadata, blocks shared, reserved and reused inodes, and a
# block tree that reaches one block a billion times.
stat_field() { debugfs -R "stats" "$1" 2>/dev/null | awk -v k="$2" '$0 ~ k { print $NF; exit }'; }
gd_field() { dumpe2fs "$1" 2>/dev/null | awk -v k="$2" '$0 ~ k { sub(/.*'"$2"' (at )?/, ""); sub(/[^0-9].*/, ""); print; exit }'; }
case_img "file block in the inode table"; good "$IMGC"
debugfs -w -R "sif /file block[0] $(($(gd_field "$IMGC" "Inode table at") + 1))" "$IMGC" 2>/dev/null
case_img "file block is a block bitmap (rw truncate)"; good "$IMGC"
BITMAP_IMG=$IMGC BITMAP=$(gd_field "$IMGC" "Block bitmap at")
debugfs -w -R "sif /dir/entry block[0] $BITMAP" "$IMGC" 2>/dev/null
debugfs -w -R "sif /dir/entry size 4096" "$IMGC" 2>/dev/null
case_img "two files share a block"; good "$IMGC"
debugfs -w -R "sif /dir/entry block[0] $(blk "$IMGC" /file)" "$IMGC" 2>/dev/null
debugfs -w -R "sif /dir/entry size 4096" "$IMGC" 2>/dev/null
case_img "entry names a reserved inode"; good "$IMGC"
debugfs -w -R "ln <7> /dir/resize" "$IMGC" 2>/dev/null
case_img "root inode is not a directory"; good "$IMGC"
debugfs -w -R "sif <2> mode 0100644" "$IMGC" 2>/dev/null
case_img "inode bitmap frees a live inode (rw create)"; good "$IMGC"
debugfs -w -R "freei /file" "$IMGC" 2>/dev/null
case_img "block bitmap frees the inode table (rw write)"; good "$IMGC"
debugfs -w -R "freeb $(gd_field "$IMGC" "Inode table at") 8" "$IMGC" 2>/dev/null
case_img "indirect tree reaching one block 2^30 times (rw unlink)"; good "$IMGC"
# Three free blocks become a triple-indirect chain T -> D -> I whose 1024
# entries each point at the next level, and at /dir/entry's own block last.
tdi=$(debugfs -R "ffb 3 20000" "$IMGC" 2>/dev/null | sed 's/.*: //')
debugfs -w -R "sif /dir/entry size 0x7fffffffff" "$IMGC" 2>/dev/null
debugfs -w -R "sif /dir/entry block[0] $(blk "$IMGC" /file)" "$IMGC" 2>/dev/null
python3 - "$IMGC" $tdi "$(blk "$IMGC" /file)" <<'PY'
import struct, sys
img, t, d, i, data = sys.argv[1], *map(int, sys.argv[2:])
with open(img, "r+b") as f:
    for blk, child in ((t, d), (d, i), (i, data)):
        f.seek(blk * 4096)
        f.write(struct.pack("<1024I", *[child] * 1024))
PY
for b in $tdi; do debugfs -w -R "setb $b" "$IMGC" 2>/dev/null; done
debugfs -w -R "sif /dir/entry block[TIND] ${tdi%% *}" "$IMGC" 2>/dev/null
case_img "block bitmap on the descriptor table"; good "$IMGC"
debugfs -w -R "set_bg 0 block_bitmap 1" "$IMGC" 2>/dev/null
case_img "good image after all that"; good "$IMGC"
N=$i
for ((k = 0; k < N; k++)); do printf '%s\n' "$(cat "$C/name$k")"; done >"$C/names"

"$RUN" --nvdimms $N --nvdimm-size 128M --keep-images "$C" --timeout 900 -- \
	env NAMES="$C/names" SMALL="$WORK/small" bash "$RPMEM_TOP/tests/guest/rext2-corrupt.sh"
check_eq "corrupt-image boot: guest checks ran, no kernel splat" 0 "$?"
check "the block bitmap that a file pointed at still marks itself in use" \
	sh -c "debugfs -R 'testb $BITMAP' '$BITMAP_IMG' 2>/dev/null | grep -q 'marked in use'"

# 4. errors=panic: the first access that finds corruption panics the
# kernel, after the error mark is on the device.
PN=$WORK/panic
mkdir -p "$PN"
good "$PN/nvdimm0.img"
debugfs -w -R "sif /file block[0] 999999" "$PN/nvdimm0.img" 2>/dev/null
"$RUN" --nvdimms 1 --nvdimm-size 128M --keep-images "$PN" --timeout 300 -- \
	bash -c '. "$RPMEM_TOP/tests/lib.sh"; insmod_rext2 && mkdir -p /mnt/p &&
		mount -t rext2 -o dax,errors=panic /dev/rpmem0 /mnt/p &&
		grep " /mnt/p " /proc/mounts && cat /mnt/p/file >/dev/null
		echo "after the access"' \
	>"$PN/out" 2>&1
check_eq "errors=panic: the guest never reports a status (it panicked)" 126 "$?"
check "errors=panic: /proc/mounts showed errors=panic" grep -q ',errors=panic' "$PN/out"
check "errors=panic: the access did not return" sh -c "! grep -q 'after the access' '$PN/out'"
log=$(sed -n 's/^qemu\/run: guest console log: //p' "$PN/out")
check "errors=panic: the console says 'panic forced after error'" \
	grep -q 'Kernel panic - not syncing: rext2 (device rpmem0): panic forced after error' "$log"
dumpe2fs -h "$PN/nvdimm0.img" 2>/dev/null | grep '^Filesystem state:' >"$PN/state"
check "errors=panic: the superblock has the error mark" grep -q 'not clean with errors' "$PN/state"
finish
