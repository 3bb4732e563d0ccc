# SPDX-License-Identifier: GPL-2.0
# A file whose triple indirect pointer names a block whose 1024 slots all
# point back at that block.  Reads stay within the file's (small) size,
# but unlinking it makes free_blocks_of() walk the whole tree:
# Free::subtree() recurses into the same block 1024 times per level and
# pushes 1024^3 block numbers into `freed`, growing a KVVec by vrealloc
# until the runner gives up (no progress in 60 s; NMI backtrace:
# Free::push < Free::subtree < Rext2::free_blocks_of < delete_inode <
# evict < vfs_rmdir/unlinkat).  A double indirect loop costs 1024^2.
# Fuzzer: image 2:17 ("/lost+found i_block[14] -> block 33, all of whose
# slots point to itself", then rmdir).

make_image() {
	mkext2 "$1" 4096
	printf 'small file\n' >/tmp/repro-small
	debugfs -w -R "write /tmp/repro-small file" "$1"
	# A free block, filled with its own number, marked in use.
	b=$(debugfs -R "ffb 1 3000" "$1" 2>/dev/null | awk '{print $NF}')
	python3 -c 'import struct, sys; sys.stdout.buffer.write(struct.pack("<I", int(sys.argv[1])) * 1024)' "$b" |
		dd of="$1" bs=4096 seek="$b" conv=notrunc status=none
	debugfs -w -f - "$1" <<EOT
setb $b
sif /file block[TIND] $b
EOT
}

guest() {
	cat "$1/file" >/dev/null
	rm "$1/file"
}
