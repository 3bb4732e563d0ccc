# SPDX-License-Identifier: GPL-2.0
# Not a splat, a wrong answer on a clean image: a read at an offset past
# ext2's largest file size (0x1ff7fdfe000 with 4 KiB blocks) fails with
# EUCLEAN and logs "rext2: rpmem0: inode 12: file block beyond the triple
# indirect tree", where a read past the end of a file returns 0.
# dax_iomap_rw() asks iomap_begin for the range before it compares the
# position with i_size, and rext2's map() treats a block number that
# bmap::path() cannot place as corruption.
# Found by the fuzzer's reads far past the end of every file.

make_image() {
	mkext2 "$1" 4096
	printf 'hello\n' >/tmp/repro-hello
	debugfs -w -R "write /tmp/repro-hello file" "$1"
}

guest() {
	python3 -c '
import os, sys
fd = os.open(sys.argv[1], os.O_RDONLY)
for off in (6, 1 << 40, (1 << 43) - 1):
    try:
        got = os.pread(fd, 100, off)
    except OSError as e:
        sys.exit("pread at %#x: %s" % (off, e))
    if got:
        sys.exit("pread at %#x returned %r" % (off, got))
' "$1/file"
}
