#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make-seeds.sh DIR: the seed images that tests/fuzz/mutate.py mutates,
# made on the host with mke2fs -d and debugfs, as DIR/NAME.img plus
# DIR/seeds.txt (name, size, sha256).  Contents, times, UUIDs and hash
# seeds are fixed, so the images are the same bytes on every run and a
# (seed, index) pair names one mutated image for good.
#
#   tree     32 MiB: make_tree (every file kind) plus a multi-block
#            directory, files reaching single, double and triple
#            indirect blocks, a long slow symlink, a block device, a
#            socket, user and trusted attributes, big attribute values,
#            access and default ACLs, several hard links
#   small    16 MiB, 64 inodes of 128 bytes, no resize_inode: inode
#            tables and bitmaps small enough that mutations hit live ones
#   groups   132 MiB, two block groups, directories in both
#   crash    (with CRASH_SEED=1 and a built kernel) the image a killed
#            run of tests/guest/rext2-crash.sh leaves: not reproducible
#            byte for byte, so it is only made on request

set -euo pipefail
. "$(dirname "$0")/../lib.sh"
OUT=$1
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
W=$(mktemp -d "${TMPDIR:-/tmp}/fuzz-seeds.XXXXXX")
trap 'rm -rf "$W"' EXIT
export E2FSPROGS_FAKE_TIME=1000000000
MKFS=(mkext2 -U 5eed5eed-0000-4000-8000-000000000001
      -E hash_seed=5eed5eed-0000-4000-8000-000000000002,root_owner=0:0)
B=4096

# Deterministic bytes: fill FILE's data ranges (holes stay holes).
fill() {
	python3 - "$@" <<'PY'
import os, random, sys
for path in sys.argv[1:]:
    rnd = random.Random(path.rsplit("/", 1)[-1])
    fd = os.open(path, os.O_RDWR)
    end = os.fstat(fd).st_size
    off = 0
    while off < end:
        try:
            off = os.lseek(fd, off, os.SEEK_DATA)
        except OSError:
            break
        hole = os.lseek(fd, off, os.SEEK_HOLE)
        os.pwrite(fd, rnd.randbytes(hole - off), off)
        off = hole
    os.close(fd)
PY
}

# Pins every time in the tree (mke2fs -d copies them).
pin_times() { find "$1" -depth -exec touch -h -d @1000000000 {} +; }

# extras TREE: what make_tree lacks.
extras() {
	local t=$1 i
	mkdir -p "$t/big-dir" "$t/acl-dir/sub"
	for i in $(seq 1 400); do : >"$t/big-dir/entry-with-a-longer-name-$i"; done
	printf x >"$t/big-dir/last"
	# Single (block 20), double (block 2000) and triple (block 1100000:
	# past 12 + 1024 + 1024^2) indirect blocks.
	head -c $B /dev/zero | dd of="$t/ind" bs=$B seek=20 conv=notrunc status=none
	head -c $B /dev/zero | dd of="$t/dind" bs=$B seek=2000 conv=notrunc status=none
	head -c $B /dev/zero | dd of="$t/tind" bs=$B seek=1100000 conv=notrunc status=none
	head -c $B /dev/zero | dd of="$t/tind" bs=$B seek=3 conv=notrunc status=none
	head -c $((40 * B)) /dev/zero >"$t/dense"
	ln -s "$(printf 'x%.0s' $(seq 1000))" "$t/long-link"
	ln -s a/b/c/d "$t/dir-link"
	mknod "$t/blk-dev" b 7 0
	python3 -c 'import socket, sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])' "$t/socket"
	ln "$t/dense" "$t/a/dense-link"
	ln "$t/dense" "$t/acl-dir/dense-link2"
	printf acl >"$t/acl-dir/file"
}

# attrs IMG: attributes and ACLs, written by debugfs.
attrs() {
	local img=$1
	python3 - "$W" <<'PY'
import struct, sys
w = sys.argv[1]
def acl(*e):
    return struct.pack("<I", 2) + b"".join(struct.pack("<HHI", *x) for x in e)
U = 0xFFFFFFFF
open(w + "/acl", "wb").write(acl((1, 6, U), (2, 4, 65534), (4, 4, U), (0x10, 6, U), (0x20, 4, U)))
open(w + "/dacl", "wb").write(acl((1, 7, U), (2, 7, 1000), (4, 5, U), (8, 5, 100), (0x10, 7, U), (0x20, 5, U)))
open(w + "/big", "wb").write(bytes(range(256)) * 12)
open(w + "/mid", "wb").write(b"v" * 700)
PY
	debugfs -w -f - "$img" >/dev/null 2>&1 <<EOT
ea_set /one-byte user.small hello
ea_set /one-byte trusted.t t-value
ea_set -f $W/mid /one-byte user.mid
ea_set -f $W/big /three-mb user.big
ea_set /empty-dir user.dir dir-value
ea_set -f $W/acl /acl-dir/file system.posix_acl_access
ea_set -f $W/acl /acl-dir system.posix_acl_access
ea_set -f $W/dacl /acl-dir system.posix_acl_default
ea_set /dense user.shared same
ea_set /a/b/c/d user.deep d
ea_set /slow-link trusted.link l
EOT
}

seed() { # NAME IMG
	python3 "$RPMEM_TOP/tests/fuzz/mutate.py" pin "$2"
	echo "$1 $(stat -c %s "$2") $(sha256sum <"$2" | cut -d' ' -f1)" >>"$OUT/seeds.txt.new"
}
: >"$OUT/seeds.txt.new"

# tree
T=$W/tree
make_tree "$T"
extras "$T"
fill $(find "$T" -type f -size +1c)
pin_times "$T"
"${MKFS[@]}" -d "$T" "$OUT/tree.img" 32M
attrs "$OUT/tree.img"
seed tree "$OUT/tree.img"

# small
S=$W/small
mkdir -p "$S/d1/d2" "$S/many"
for i in $(seq 1 30); do printf "%s" "$i" >"$S/many/file-number-$i-with-a-name-that-fills-the-directory-block-faster-$(printf 'n%.0s' $(seq 60))"; done
head -c 70000 /dev/zero >"$S/d1/file"
head -c $B /dev/zero | dd of="$S/d1/d2/sparse" bs=$B seek=1100000 conv=notrunc status=none
head -c $B /dev/zero | dd of="$S/d1/d2/sparse" bs=$B seek=1500 conv=notrunc status=none
ln -s d1/file "$S/link"
ln -s "$(printf 'y%.0s' $(seq 200))" "$S/slow"
mkfifo "$S/fifo"
mknod "$S/chr" c 1 5
ln "$S/d1/file" "$S/d1/d2/hard"
fill $(find "$S" -type f -size +1c)
pin_times "$S"
"${MKFS[@]}" -N 64 -I 128 -O ^resize_inode -d "$S" "$OUT/small.img" 16M
debugfs -w -f - "$OUT/small.img" >/dev/null 2>&1 <<EOT
ea_set /d1/file user.x $(printf 'z%.0s' $(seq 100))
ea_set /d1 user.y y
EOT
seed small "$OUT/small.img"

# groups: 33792 blocks, two groups; directories spread over both.
G=$W/groups
mkdir -p "$G"
for i in $(seq 1 12); do
	mkdir -p "$G/dir$i/sub"
	head -c $((i * 3000)) /dev/zero >"$G/dir$i/file"
	ln -s ../dir$i/file "$G/dir$i/sub/link"
done
head -c $B /dev/zero | dd of="$G/dir3/sparse" bs=$B seek=5000 conv=notrunc status=none
fill $(find "$G" -type f -size +1c)
pin_times "$G"
"${MKFS[@]}" -N 512 -d "$G" "$OUT/groups.img" 132M
seed groups "$OUT/groups.img"

if [ "${CRASH_SEED:-0}" = 1 ]; then
	# The crash workload on a 32 MiB file system, killed after ~40 s
	# (boot and mount take ~15 of them).
	C=$W/crash
	mkdir -p "$C"
	truncate -s 256M "$C/nvdimm0.img"
	mkext2 "$C/nvdimm0.img" 8192
	(cd "$C" && "$RPMEM_TOP/qemu/run" --nvdimms 1 --nvdimm-size 256M --keep-images "$C" \
		--timeout 40 --cpus 1 -- env SEED=7 bash "$RPMEM_TOP/tests/guest/rext2-crash.sh" \
		>"$C/run.out" 2>&1) || true
	if grep -q '^OPS [1-9]' "$C/run.out"; then
		head -c 32M "$C/nvdimm0.img" >"$OUT/crash.img"
		seed crash "$OUT/crash.img"
	else
		echo "make-seeds: the crash workload did not run; no crash seed" >&2
	fi
fi
mv "$OUT/seeds.txt.new" "$OUT/seeds.txt"
python3 "$RPMEM_TOP/tests/fuzz/mutate.py" pack "$OUT"
cat "$OUT/seeds.txt"
