#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# rext2, read-write: in the guest, rext2 writes a tree and the C ext2
# driver reads it (and the reverse); POSIX semantics (tests/guest/
# rext2_ops.py); 2 MiB write faults; fsx; concurrent namespace changes;
# remount; a full device.  On the host, e2fsck -fn accepts both images
# afterwards.  Then reclaim evicting rext2 inodes in a small guest.

. "$(dirname "$0")/../lib.sh"
RUN=$RPMEM_TOP/qemu/run
WORK=$(mktemp -d "${TMPDIR:-/tmp}/rext2-rw.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
cd "$WORK" || exit 1
MB=1048576

# The source tree: every file kind, owners, modes, times, holes, links.
T=$WORK/tree
make_tree "$T"
mkdir -p "$T/many"
for i in $(seq 300); do printf "%s" "$i" >"$T/many/entry-$i"; done
# The same listing the guest makes (tests/guest/rext2-rw.sh).
tree_listing "$T" >"$WORK/tree.list"

# The extending-write checks run in the guest, built here.
check "build tests/guest/rext2_extend.c" \
	gcc -Wall -O2 -pthread -o "$WORK/rext2_extend" "$RPMEM_TOP/tests/guest/rext2_extend.c"

mkdir -p "$WORK/img"
truncate -s 1G "$WORK/img/nvdimm0.img" "$WORK/img/nvdimm1.img"
check "mke2fs: a 1 GiB ext2 image" mkext2 -L big "$WORK/img/nvdimm0.img"
# 64 MiB of the second device, and few inodes, to fill both up quickly.
check "mke2fs: a 64 MiB ext2 image with 256 inodes" \
	mkext2 -N 256 -L small "$WORK/img/nvdimm1.img" 16384

"$RUN" --nvdimms 2 --cpus 2 --keep-images "$WORK/img" --timeout $((3000 + ${FSX_OPS:-20000} / 40)) -- \
	env TREE="$T" OUT="$WORK" EXTEND="$WORK/rext2_extend" FSX_OPS="${FSX_OPS:-}" bash "$RPMEM_TOP/tests/guest/rext2-rw.sh"
check_eq "guest checks ran, no kernel splat" 0 "$?"
check "e2fsck -fn accepts the big image" e2fsck -fn "$WORK/img/nvdimm0.img"
check "e2fsck -fn accepts the small image" e2fsck -fn "$WORK/img/nvdimm1.img"

# Reclaim evicting rext2 inodes while rext2 allocates, in a small guest:
# no lockdep report (tests/guest/rext2-reclaim.sh).
"$RUN" --nvdimms 1 --nvdimm-size 1G --memory 768M --timeout 900 -- \
	bash "$RPMEM_TOP/tests/guest/rext2-reclaim.sh"
check_eq "reclaim boot: guest checks ran, no kernel splat" 0 "$?"
finish
