# SPDX-License-Identifier: GPL-2.0
# A group descriptor whose block bitmap is the descriptor table itself
# (block 1).  GroupDesc::validate() only checks that the bitmaps and the
# inode table lie inside their group, not that they stay off the
# superblock, the descriptor table, each other and the inode table, so
# the mount succeeds and the allocator reads the descriptors as a bitmap:
# it sets bits in the descriptor block and hands out blocks that are in
# use (the real bitmaps, the inode table, file data).  A new file then
# shares blocks with an old one, and mapping both pages makes DAX warn
#   WARNING: fs/dax.c:498 at dax_insert_entry+0x1cc/0x2ea
# (or, with other layouts, new data lands on the inode table).
# Fuzzer: image 2:92 ("group 0 bg_block_bitmap = 0x1" on the tree seed).

# Fixed by checking descriptors as ext4_check_descriptors() does: the
# mount is refused.
REFUSED="block bitmap not in its group, or on other metadata"

make_image() {
	mkext2 "$1" 4096
	head -c 65536 /dev/zero | tr '\0' o >/tmp/repro-old
	debugfs -w -f - "$1" <<EOT
write /tmp/repro-old old
set_bg 0 block_bitmap 1
EOT
}

guest() {
	python3 -c '
import mmap, os, sys
d = sys.argv[1]
names = sorted(os.listdir(d)) + ["new"]
# New data: allocated through the descriptor block read as a bitmap.
with open(os.path.join(d, "new"), "wb") as f:
    f.write(b"n" * (1 << 20))
# Map every page of every file: a block that two of them share is
# inserted twice.
for name in names:
    p = os.path.join(d, name)
    if not os.path.isfile(p) or os.path.getsize(p) == 0:
        continue
    fd = os.open(p, os.O_RDONLY)
    m = mmap.mmap(fd, os.path.getsize(p), mmap.MAP_SHARED, mmap.PROT_READ)
    for o in range(0, len(m), 4096):
        m[o]
    m.close()
    os.close(fd)
os.system("sync")
' "$1"
}
