#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# rext2 without DAX: the page cache, read-write (-o dax=never), and the
# per-inode DAX flag of the default -o dax=inode (tests/guest/
# rext2-pagecache.sh).  On the host, e2fsck -fn accepts the image
# afterwards.

. "$(dirname "$0")/../lib.sh"
RUN=$RPMEM_TOP/qemu/run
WORK=$(mktemp -d "${TMPDIR:-/tmp}/rext2-pagecache.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
cd "$WORK" || exit 1

T=$WORK/tree
make_tree "$T"
# The same listing the guest makes.
tree_listing "$T" >"$WORK/tree.list"

check "build tests/guest/rext2_extend.c" \
	gcc -Wall -O2 -pthread -o "$WORK/rext2_extend" "$RPMEM_TOP/tests/guest/rext2_extend.c"

mkdir -p "$WORK/img"
truncate -s 256M "$WORK/img/nvdimm0.img"
check "mke2fs: 256 MiB" mkext2 "$WORK/img/nvdimm0.img"

"$RUN" --nvdimms 1 --nvdimm-size 256M --cpus 2 --keep-images "$WORK/img" --timeout $((2400 + ${FSX_OPS:-20000} / 40)) -- \
	env TREE="$T" OUT="$WORK" EXTEND="$WORK/rext2_extend" FSX_OPS="${FSX_OPS:-}" \
	bash "$RPMEM_TOP/tests/guest/rext2-pagecache.sh"
check_eq "guest checks ran, no kernel splat" 0 "$?"
check "e2fsck -fn accepts the image" e2fsck -fn "$WORK/img/nvdimm0.img"
finish
