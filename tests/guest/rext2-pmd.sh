# SPDX-License-Identifier: GPL-2.0
# Guest side of tests/suites/rext2.sh: 2 MiB (PMD) DAX faults.  In the
# 4 MiB file pmd-file the second 2 MiB are physically contiguous and 2 MiB
# aligned (the host arranged it); the first 2 MiB are not (ext2 puts the
# single-indirect block after block 11), so a fault there must fall back
# to 4 KiB pages.  The fs_dax tracepoints tell which happened.
. "$RPMEM_TOP/tests/lib.sh"
load_rext2
M=/mnt/p
mkdir -p $M
check "mount -t rext2 -o ro" mount -t rext2 -o ro,dax /dev/rpmem0 $M
TR=/sys/kernel/tracing
check "fs_dax tracepoints are available" test -d $TR/events/fs_dax/dax_pmd_fault_done
echo 1 >$TR/events/fs_dax/dax_pmd_fault_done/enable
echo >$TR/trace
sum=$(python3 -c 'import mmap, sys, hashlib
f = open(sys.argv[1], "rb")
m = mmap.mmap(f.fileno(), 0, prot=mmap.PROT_READ)
m[2 << 20]  # the aligned half first
m[0]
print(hashlib.sha256(m[:]).hexdigest())' $M/pmd-file)
echo 0 >$TR/events/fs_dax/dax_pmd_fault_done/enable
grep dax_pmd_fault_done $TR/trace | sed 's/^.*dax_pmd_fault_done: //' >&2
check_eq "data read through the mapping matches" "$(cut -d' ' -f1 "$OUT/pmd.sha256")" "$sum"
check "the aligned 2 MiB took a PMD fault (NOPAGE)" \
	grep -q "dax_pmd_fault_done:.* pgoff 0x200 .*NOPAGE" $TR/trace
check "the misaligned 2 MiB fell back to PTE faults (FALLBACK)" \
	grep -q "dax_pmd_fault_done:.* pgoff 0x0 .*FALLBACK" $TR/trace
check "unmount" umount $M
check "rmmod rext2" rmmod rext2
check "rmmod rpmem" rmmod rpmem
finish
