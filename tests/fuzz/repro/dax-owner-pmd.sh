# SPDX-License-Identifier: GPL-2.0
# A file block that lies inside another file's 2 MiB DAX mapping (a PMD
# entry, whose folio starts 2 MiB earlier).  The check that refuses to map
# a block another file has mapped computed the page's file index by
# subtracting its offset in that large folio from the faulting file's
# index, which underflowed for a block near the start of a file:
#   rust_kernel: panicked at rust/kernel/fs/blockfs/iomap.rs:261:24:
#   attempt to subtract with overflow  @ check_dax_owner < iomap_begin
# Fixed: the index is computed by addition; the mapping fails with SIGBUS.
# Fuzzer: image 1:745 on main (two block pointers of /many changed).

make_image() {
	mkext2 "$1" 32768
	: >/tmp/repro-empty
	debugfs -w -f - "$1" <<EOT
write /tmp/repro-empty small
EOT
}

guest() {
	# /big: 4 MiB written through a shared mapping, so that rext2 gives
	# its second 2 MiB a 2 MiB-aligned run (mapped with a PMD).
	map_write_4m "$1/big" || return 1
	b=$(debugfs -R "bmap /big 600" /dev/rpmem0 2>/dev/null)
	umount "$1" || return 1
	debugfs -w -f - /dev/rpmem0 >/dev/null 2>&1 <<EOT
sif /small block[0] $b
sif /small size 4096
EOT
	mount -t rext2 -o dax /dev/rpmem0 "$1" || return 1
	# Map /big's second 2 MiB (a PMD read fault), then /small, whose block
	# is inside it: refused (SIGBUS), with a message, no panic.
	python3 -c 'import mmap, os, sys
fd = os.open(sys.argv[1], os.O_RDONLY)
m = mmap.mmap(fd, 4 << 20, prot=mmap.PROT_READ)
m[2 << 20]' "$1/big" || return 1
	python3 -c 'import mmap, os, sys
fd = os.open(sys.argv[1], os.O_RDONLY)
m = mmap.mmap(fd, 4096, prot=mmap.PROT_READ)
m[0]' "$1/small"
	[ $? = 135 ] && dmesg | grep -q "mapped by another file too"
}
