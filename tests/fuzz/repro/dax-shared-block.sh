# SPDX-License-Identifier: GPL-2.0
# Two logical blocks of one file mapped to the same device block (as when
# an indirect block's slots all hold one block number, or two files share
# a block).  Mapping both pages of the file hands dax_insert_entry() a
# folio that already belongs to a mapping, and it warns:
#   WARNING: fs/dax.c:498 at dax_insert_entry+0x1cc/0x2ea
# (dax_associate_entry(): WARN_ON_ONCE(folio->mapping)).
# Fuzzer: image 0:33 ("indirect block 566: first 1024 slots all = 569"
# on /dense, then an mmap read every 7 pages).

make_image() {
	mkext2 "$1" 4096
	head -c 8192 /dev/zero | tr '\0' d >/tmp/repro-two-blocks
	debugfs -w -f - "$1" <<EOT
write /tmp/repro-two-blocks file
EOT
	b0=$(debugfs -R "bmap /file 0" "$1")
	debugfs -w -R "sif /file block[1] $b0" "$1"
}

# Fixed by refusing to map a block another offset (or file) has mapped:
# the first page maps, the second faults (SIGBUS) with a message, and
# read() still works.
guest() {
	python3 -c '
import mmap, os, sys
fd = os.open(sys.argv[1], os.O_RDONLY)
m = mmap.mmap(fd, 8192, mmap.MAP_SHARED, mmap.PROT_READ)
print(m[0], m[4096])
' "$1/file"
	[ $? = 135 ] && dmesg | grep -q "mapped by another file too" &&
		[ "$(head -c 8192 "$1/file" | tr -d d | wc -c)" = 0 ]
}
