#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# rpmem: block device and DAX device over raw NVDIMM namespaces.
#
# Boot 1: sizes and queue flags, O_DIRECT round trip, bad input, ext4 and
#         XFS with -o dax=always (64 MiB through mmap and write()),
#         rmmod while mounted, unbind/bind and rmmod/insmod cycles with
#         kmemleak; leaves an ext4 on rpmem0 and an XFS on rpmem1.
# Boot 2: same images: the files written in boot 1 read back; then an
#         O_DIRECT write, and one block workload through the C nd_pmem on
#         namespace0.0 and through rpmem on namespace1.0.
# Boot 3: a memory failure (MADV_HWPOISON) in a DAX-mapped XFS file goes
#         through rpmem's pagemap hook to XFS, which kills the mapper.
# Boot 4: what libnvdimm tells a bound namespace (notify): the region's
#         read_only attribute, and poison a machine check reports at run
#         time; the claim of the namespace's range in /proc/iomem.
# Boot 5: a virtio-pmem region (asynchronous flush): ext4-dax and rext2
#         on rpmem, fsync flushes through the host, MAP_SYNC refused;
#         20 unbind/bind cycles leak nothing (kmemleak).
# Boot 6: three namespaces made with ndctl, bound by rpmem without
#         nd_pmem: fsdax --map=dev, fsdax --map=mem and raw, each with
#         ext4-dax, XFS-dax and rext2; nd_pmem and rpmem read each other's
#         bytes; ndctl disable/enable-namespace; an info block corrupted
#         in each field is refused, naming it; 20 unbind/bind cycles of
#         each kind leak nothing (kmemleak).
# Boot 7: same images: rpmem finds the fsdax info blocks again and the
#         file systems read back.
# Host:   the O_DIRECT bytes are in the backing file; both images are
#         identical where the workload wrote.

. "$(dirname "$0")/../lib.sh"
RUN=$RPMEM_TOP/qemu/run
WORK=$(mktemp -d "${TMPDIR:-/tmp}/rpmem.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
cd "$WORK" || exit 1

"$RUN" --keep-images "$WORK/img" --append kmemleak=on --timeout 1500 -- \
	env OUT="$WORK" bash "$RPMEM_TOP/tests/guest/rpmem-boot1.sh"
check_eq "boot 1: guest checks ran, no kernel splat" 0 "$?"

"$RUN" --keep-images "$WORK/img" --timeout 1200 -- \
	env OUT="$WORK" bash "$RPMEM_TOP/tests/guest/rpmem-boot2.sh"
check_eq "boot 2: guest checks ran, no kernel splat" 0 "$?"

"$RUN" --nvdimms 1 --timeout 600 -- bash "$RPMEM_TOP/tests/guest/rpmem-hwpoison.sh"
check_eq "boot 3 (memory failure): guest checks ran, no kernel splat" 0 "$?"

"$RUN" --nvdimms 1 --timeout 600 -- bash "$RPMEM_TOP/tests/guest/rpmem-region.sh"
check_eq "boot 4 (read-only region, run-time poison, claim): guest checks ran, no kernel splat" 0 "$?"

"$RUN" --nvdimms 0 --virtio-pmem 1 --append kmemleak=on --timeout 600 -- bash "$RPMEM_TOP/tests/guest/rpmem-virtio.sh"
check_eq "boot 5 (virtio-pmem): guest checks ran, no kernel splat" 0 "$?"

"$RUN" --nvdimms 3 --keep-images "$WORK/fsdax" --append kmemleak=on --timeout 1500 -- \
	env OUT="$WORK" bash "$RPMEM_TOP/tests/guest/rpmem-fsdax.sh"
check_eq "boot 6 (fsdax namespaces made by ndctl): guest checks ran, no kernel splat" 0 "$?"

"$RUN" --nvdimms 3 --keep-images "$WORK/fsdax" --timeout 900 -- \
	env OUT="$WORK" bash "$RPMEM_TOP/tests/guest/rpmem-fsdax-reboot.sh"
check_eq "boot 7 (fsdax namespaces after a reboot): guest checks ran, no kernel splat" 0 "$?"

if [ -s "$WORK/odirect.sha256" ]; then
	got=$(dd if="$WORK/img/nvdimm0.img" bs=1M skip=8 count=4 status=none | sha256sum | cut -d' ' -f1)
	check_eq "O_DIRECT bytes are in nvdimm0's backing file at their offset" \
		"$(cat "$WORK/odirect.sha256")" "$got"
else
	not_ok "O_DIRECT bytes are in nvdimm0's backing file (no checksum came back)"
fi

# The same block workload ran through nd_pmem on namespace0.0 and rpmem on
# namespace1.0 (boot 2): the images must match over the
# area it wrote.
if [ -e "$WORK/workload.done" ]; then
	a=$(dd if="$WORK/img/nvdimm0.img" bs=1M skip=256 count=64 status=none | sha256sum)
	b=$(dd if="$WORK/img/nvdimm1.img" bs=1M skip=256 count=64 status=none | sha256sum)
	check_eq "the same workload through nd_pmem and rpmem leaves identical bytes" "$a" "$b"
else
	not_ok "the same workload through nd_pmem and rpmem (it did not finish)"
fi

finish
