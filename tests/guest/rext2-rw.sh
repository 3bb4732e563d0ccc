# SPDX-License-Identifier: GPL-2.0
# Guest side of tests/suites/rext2-rw.sh.  Two NVDIMMs: the ext2 image
# labelled "big" (1 GiB) and "small" (64 MiB, few inodes).  $TREE is the
# host's source tree, $OUT has its listings and receives this side's.
. "$RPMEM_TOP/tests/lib.sh"
M=/mnt/r
S=/mnt/s
MB=1048576
load_rext2
wait_dev /dev/rpmem1
for d in /dev/rpmem0 /dev/rpmem1; do
	case $(e2label $d) in
	big) BIG=$d ;;
	small) SMALL=$d ;;
	esac
done
check "both images found by label" test -n "$BIG" -a -n "$SMALL"
mkdir -p $M $S

# Trees are compared across mounts with same_tree (tests/lib.sh).
# 1. rext2 writes a tree; the C ext2 driver reads it back, and the reverse.
check "mount -t rext2 -o dax read-write" mount -t rext2 -o dax $BIG $M
check "/proc/mounts: rw, dax=always" grep -q "$BIG $M rext2 rw.*dax=always" /proc/mounts
check "the superblock says 'not clean' while mounted read-write" \
	sh -c "dumpe2fs -h $BIG 2>/dev/null | grep -q '^Filesystem state: *not clean'"
check "cp -a of the source tree into rext2" cp -a "$TREE" $M/by-rext2
same_tree "rext2: the tree written matches the source (metadata, data, links)" $M/by-rext2
check "files are DAX" dax_attr $M/by-rext2/three-mb
check "umount" umount $M
check "the superblock says 'clean' after umount" \
	sh -c "dumpe2fs -h $BIG 2>/dev/null | grep -q '^Filesystem state: *clean'"
check "e2fsck -fn in the guest after rext2 wrote the tree" e2fsck -fn $BIG

check "mount -t ext2 (the C driver)" mount -t ext2 $BIG $M
same_tree "C ext2 reads rext2's tree identically" $M/by-rext2
check "C ext2 writes the same tree" cp -a "$TREE" $M/by-ext2
check "umount C ext2" umount $M
check "mount -t rext2 again" mount -t rext2 -o dax $BIG $M
same_tree "rext2 reads the tree C ext2 wrote identically" $M/by-ext2
same_tree "rext2's own tree survived the C ext2 mount" $M/by-rext2

# 2. POSIX semantics.
python3 "$RPMEM_TOP/tests/guest/rext2_ops.py" $M || FAILED=$((FAILED + 1))
# File handles (NFS export), as C ext2 serves them.
python3 "$RPMEM_TOP/tests/guest/rext2_handles.py" $M || FAILED=$((FAILED + 1))

# 2a. Big directories, which rext2 indexes in memory: lookups, creations,
# removals, renames and links checked against a model, then the same
# directory through a fresh mount (the index built anew from the blocks),
# e2fsck and the C ext2 driver.
BD="$RPMEM_TOP/tests/guest/rext2_bigdir.py"
python3 "$BD" churn $M/bigdir /tmp/bigdir.list 1 || FAILED=$((FAILED + 1))
check "umount after the big directory" umount $M
check "e2fsck -fn after the big directory" e2fsck -fn $BIG
check "mount -t ext2 (the C driver) for the big directory" mount -t ext2 -o ro $BIG $M
python3 "$BD" check $M/bigdir /tmp/bigdir.list || FAILED=$((FAILED + 1))
check "umount C ext2" umount $M
check "mount -t rext2 for more of the big directory" mount -t rext2 -o dax $BIG $M
python3 "$BD" check $M/bigdir /tmp/bigdir.list || FAILED=$((FAILED + 1))
python3 "$BD" churn $M/bigdir /tmp/bigdir.list 2 || FAILED=$((FAILED + 1))
check "rm -rf of the big directory" rm -rf $M/bigdir $M/bigdir.side

# 2a'. Indexing a directory anew, after its inode left memory, reads its
# blocks straight from DAX memory instead of through a bio and a buffer
# each: a lookup in an evicted directory of 10,000 entries (50 blocks)
# queues a few bios (the root's block, the directory's inode and
# indirect block, the entry's block and inode: at least the two of the
# directory, so it was evicted), where it used to queue one more per
# block. The index built that way finds every name, and not one removed
# before the eviction; so does the one built through the buffer cache,
# without DAX.
python3 -c 'import os, sys
os.mkdir(sys.argv[1])
for i in range(10000):
    os.close(os.open("%s/entry-%06d" % (sys.argv[1], i), os.O_CREAT | os.O_WRONLY))
os.unlink("%s/entry-%06d" % (sys.argv[1], 77))' $M/evicted
blocks=$(($(stat -c %s $M/evicted) / 4096))
TR=/sys/kernel/tracing
echo "dev == $(($(stat -L -c '0x%t' $BIG) << 20 | $(stat -L -c '0x%T' $BIG)))" \
	>$TR/events/block/block_bio_queue/filter
sync
echo 3 >/proc/sys/vm/drop_caches
echo >$TR/trace
echo 1 >$TR/events/block/block_bio_queue/enable
stat $M/evicted/entry-009999 >/dev/null
echo 0 >$TR/events/block/block_bio_queue/enable
echo 0 >$TR/events/block/block_bio_queue/filter
bios=$(grep -c block_bio_queue $TR/trace)
check "a lookup in an evicted directory of $blocks blocks queues few bios (2 <= $bios < $((blocks / 2)))" \
	test "$bios" -ge 2 -a "$bios" -lt $((blocks / 2))
all_names() {
	python3 -c 'import os, sys
for i in range(10000):
    p = "%s/entry-%06d" % (sys.argv[1], i)
    assert os.path.exists(p) == (i != 77), p' $M/evicted
}
check "the index built from DAX memory finds every name, and not the removed one" all_names
check "remount -o dax=never" sh -c "umount $M && mount -t rext2 -o dax=never $BIG $M"
check "the index built through the buffer cache finds them too" all_names
check "remount -o dax" sh -c "umount $M && mount -t rext2 -o dax $BIG $M"
check "rm -rf of the evicted directory" rm -rf $M/evicted

# 2b. Extended attributes and POSIX ACLs, and their interchange with the
# C ext2 driver (built with XATTR, POSIX_ACL and SECURITY).
XA="$RPMEM_TOP/tests/guest/rext2_xattr.py"
python3 "$XA" check $M || FAILED=$((FAILED + 1))
check "attributes and ACLs written by rext2" python3 "$XA" write $M rext2
python3 "$XA" dump $M/xattr-rext2 >/tmp/xa.rext2
# FIEMAP_FLAG_XATTR (xfs_io fiemap -a, generic/425): the attribute block,
# in 512-byte sectors, where debugfs finds it.
: >$M/fiemap-xattr && setfattr -n user.fiemap -v value $M/fiemap-xattr && : >$M/fiemap-none
acl=$(debugfs -R "stat /fiemap-xattr" $BIG 2>/dev/null | awk '/File ACL:/ { print $3 }')
check_eq "FIEMAP_FLAG_XATTR gives the attribute block" "0: [0..7]: $((acl * 8))..$((acl * 8 + 7))" \
	"$(xfs_io -r -c 'fiemap -a' $M/fiemap-xattr | sed -n 2p | tr -d '\t')"
check_eq "FIEMAP_FLAG_XATTR: no extent without attributes" 1 "$(xfs_io -r -c 'fiemap -a' $M/fiemap-none | wc -l)"
rm $M/fiemap-xattr $M/fiemap-none

# 2b'. Attribute flags (chattr) as C ext2 keeps them, and the label.
F=$M/flags
mkdir -p $F/nodump-dir && echo data >$F/immutable && echo log >$F/append
check "chattr +i, +a, +d, +A, +S and +D" sh -c "chattr +i $F/immutable && chattr +a $F/append &&
	chattr +d $F/nodump-dir && chattr +A +S $F/nodump-dir && chattr +D $F/nodump-dir"
check "lsattr shows them" sh -c "lsattr -d $F/immutable | grep -q '^----i' &&
	lsattr -d $F/append | grep -q '^-----a' && lsattr -d $F/nodump-dir | grep -q '^--SD--dA'"
check "an immutable file can be neither written, renamed nor unlinked" sh -c "
	! echo x >>$F/immutable 2>/dev/null && ! mv $F/immutable $F/moved 2>/dev/null &&
	! rm -f $F/immutable 2>/dev/null && [ \"\$(cat $F/immutable)\" = data ]"
check "an append-only file takes appends but no overwrite or truncation" sh -c "
	echo more >>$F/append && ! echo x >$F/append 2>/dev/null &&
	! truncate -s 0 $F/append 2>/dev/null && [ \"\$(cat $F/append)\" = 'log
more' ]"
# statx reports them (STATX_ATTR_IMMUTABLE 0x10, _APPEND 0x20, _NODUMP
# 0x40, _COMPRESSED 0x4), as ext2_getattr does (generic/424).
statx_flags() { a=$(statx_attrs "$1"); printf '%#x' $((a & 0x74)); }
check_eq "statx: the immutable file is STATX_ATTR_IMMUTABLE" 0x10 "$(statx_flags $F/immutable)"
check_eq "statx: the append-only file is STATX_ATTR_APPEND" 0x20 "$(statx_flags $F/append)"
check_eq "statx: the nodump directory is STATX_ATTR_NODUMP" 0x40 "$(statx_flags $F/nodump-dir)"
echo c >$F/compressed && chattr +c $F/compressed
check_eq "statx: chattr +c gives STATX_ATTR_COMPRESSED" 0x4 "$(statx_flags $F/compressed)"
echo new >$F/nodump-dir/child && mkdir $F/nodump-dir/sub
check "files inherit nodump, noatime and sync; directories dirsync too" sh -c "
	lsattr -d $F/nodump-dir/child | grep -q '^--S---dA-' && lsattr -d $F/nodump-dir/sub | grep -q '^--SD--dA'"
# The DAX flag (chattr +x, FS_XFLAG_DAX) is kept in i_flags with ext4's
# bit, inherited as ext4 does; C ext2 and e2fsck leave it alone (below).
xflag() { lsattr -d "$1" | awk '{ print $1 }' | grep -q x; }
mkdir $M/daxflag && chattr +x $M/daxflag && echo x >$M/daxflag/file && mkdir $M/daxflag/sub
check "chattr +x sets the DAX flag; new files and directories inherit it" sh -c "
	$(declare -f xflag); xflag $M/daxflag && xflag $M/daxflag/file && xflag $M/daxflag/sub"
lsattr -d $F/immutable $F/append $F/nodump-dir $F/nodump-dir/child $F/nodump-dir/sub >/tmp/lsattr.rext2
label() { python3 -c 'import fcntl, os, sys
fd = os.open(sys.argv[1], os.O_RDONLY)
buf = bytearray(256)
if len(sys.argv) > 2:
    buf[:len(sys.argv[2])] = sys.argv[2].encode()
    fcntl.ioctl(fd, 0x41009432, bytes(buf))  # FS_IOC_SETFSLABEL
fcntl.ioctl(fd, 0x81009431, buf)  # FS_IOC_GETFSLABEL
print(bytes(buf).split(b"\0")[0].decode())' "$@"; }
check_eq "FS_IOC_GETFSLABEL gives the label" big "$(label $M)"
check_eq "FS_IOC_SETFSLABEL changes it" rext2-label "$(label $M rext2-label)"
check_eq "a label longer than ext2's 16 bytes is refused" big "$(label $M/flags 0123456789abcdefg 2>/dev/null; label $M big)"
check "umount before the attribute interchange" umount $M
check_eq "e2label reads the label rext2 wrote" big "$(e2label $BIG)"
check "mount -t ext2 for the attribute interchange" mount -t ext2 $BIG $M
check "C ext2 sees the attribute flags rext2 set" sh -c "lsattr -d $F/immutable $F/append $F/nodump-dir \
	$F/nodump-dir/child $F/nodump-dir/sub | cmp -s - /tmp/lsattr.rext2"
check "C ext2 clears them" sh -c "chattr -i $F/immutable && chattr -a $F/append && chattr -D -S $F/nodump-dir"
check "C ext2 changes another flag of a file with the DAX flag" chattr +d $M/daxflag/file
check "C ext2 reads rext2's attributes and ACLs identically" \
	sh -c "python3 '$XA' dump $M/xattr-rext2 | cmp -s - /tmp/xa.rext2"
check "C ext2 writes attributes and ACLs" python3 "$XA" write $M ext2
python3 "$XA" dump $M/xattr-ext2 >/tmp/xa.ext2
check "umount C ext2 after the attributes" umount $M
check "e2fsck -fn after both drivers wrote attributes" e2fsck -fn $BIG
check "mount -t rext2 after the attribute interchange" mount -t rext2 -o dax $BIG $M
check "rext2 reads C ext2's attributes and ACLs identically" \
	sh -c "python3 '$XA' dump $M/xattr-ext2 | cmp -s - /tmp/xa.ext2"
check "rext2 still sees the DAX flags after C ext2 and e2fsck" sh -c "
	$(declare -f xflag); xflag $M/daxflag && xflag $M/daxflag/file && xflag $M/daxflag/sub"
check "rext2 sees the flags C ext2 cleared, and removes the files" sh -c "
	lsattr -d $F/immutable | grep -q '^----------' && rm -rf $F"
check "rext2's attributes survived the C ext2 mount" \
	sh -c "python3 '$XA' dump $M/xattr-rext2 | cmp -s - /tmp/xa.rext2"
check "rext2 changes attributes C ext2 wrote" python3 -c 'import os, sys
os.setxattr(sys.argv[1], "user.tag", b"changed")
os.removexattr(sys.argv[1], "user.bin")
assert os.getxattr(sys.argv[1], "user.tag") == b"changed"' $M/xattr-ext2/f
nobody_reads() {
	python3 -c 'import os, sys
os.setgroups([]); os.setgid(65534); os.setuid(65534)
open(sys.argv[1]).read()' "$1" 2>/dev/null
}
check "remount -o noacl" sh -c "umount $M && mount -t rext2 -o dax,noacl $BIG $M"
check "/proc/mounts shows noacl" grep -q "$BIG $M rext2 .*noacl" /proc/mounts
nobody_cannot_read() { ! nobody_reads "$1"; }
check "with noacl, an ACL grants nothing" nobody_cannot_read $M/xattr-rext2/f
check "remount with ACLs" sh -c "umount $M && mount -t rext2 -o dax $BIG $M"
check "with ACLs, the ACL lets nobody read" nobody_reads $M/xattr-rext2/f

# 2c. Extending writes and DAX coherence (tests/guest/rext2_extend.c):
# a shared mapping of a hole sees pwrite()'s data; stores past the end
# through a mapping read as zeros once the file grows past them; a write
# that copies nothing changes nothing; a write that ends short while
# another thread faults the range it extends into leaves no mapping past
# the new end.
for t in hole-map eof-tail efault; do
	"$EXTEND" $t $M || FAILED=$((FAILED + 1))
done
# Past ext2's largest file (0x1ff7fdfe000), where no block can be, a read
# finds the end of the file like any other read past it.
check "a read far past ext2's largest file size returns nothing" python3 -c 'import os, sys
fd = os.open(sys.argv[1], os.O_RDONLY)
assert os.pread(fd, 100, 0x1ff7fdfe000 + 8192) == b""' $M/by-rext2/three-mb
"$EXTEND" short-race $M 32 || FAILED=$((FAILED + 1))

# 2d. Ordering points are fences: a metadata write reaches rpmem with
# REQ_FUA (rpmem then calls nvdimm_flush), or, for blocks made durable
# together (Head::sync_all), without it and followed by a cache flush
# (REQ_PREFLUSH, which the last of them carries ahead of its own FUA
# write) before any other write that must come after; zeroing a new data
# block (DAX stores without a fence) is followed by a cache flush, before
# the block is linked.  The block layer's tracepoint shows
# each bio's flags.  And the fences an operation costs: an append inside
# the last block writes the inode once, an append that allocates a block
# makes two ordering points (bitmap and descriptor, the size on disk and
# the zeros, together; then the pointers and the inode).
TR=/sys/kernel/tracing
echo "dev == $(($(stat -L -c '0x%t' $BIG) << 20 | $(stat -L -c '0x%T' $BIG)))" \
	>$TR/events/block/block_bio_queue/filter
traced() { # OUTPUT CMD...: the bios CMD sends to the big device
	local out=$1
	shift
	echo >$TR/trace
	echo 1 >$TR/events/block/block_bio_queue/enable
	"$@"
	echo 0 >$TR/events/block/block_bio_queue/enable
	grep block_bio_queue $TR/trace | sed 's/.*block_bio_queue: [0-9,]* //' >"$out"
}
# Fences in a trace: FUA writes and cache flushes.
fences() { awk '$1 ~ /^F/ || $1 ~ /^F?WF/ { n++ } END { print n + 0 }' "$1"; }
# Writes left without a fence: a write without REQ_FUA must be followed by
# a cache flush before the next FUA write and before the end.
unfenced() {
	awk '$1 ~ /^FW/ { p = 0 } $1 ~ /^F?WF/ && p { print "before " $0; p = 0 }
		$1 ~ /^W/ && $1 !~ /^WF/ && $4 != 0 { p = 1; w = $0 } END { if (p) print "at the end " w }' "$1"
}
mkdir $M/fence
fence_work() { head -c 10000 /dev/urandom >$M/fence/f && mv $M/fence/f $M/fence/g; }
traced /tmp/bios fence_work
check "the traced workload wrote metadata" grep -q '^F\?W' /tmp/bios
check_eq "every metadata write is fenced (REQ_FUA, or a cache flush before the next)" "" \
	"$(unfenced /tmp/bios | head -3)"
head -c 1024 /dev/urandom >$M/fence/a
head -c $((20 * 4096)) /dev/urandom >$M/fence/b
sync
traced /tmp/bios-a sh -c "head -c 1024 /dev/zero >>$M/fence/a"
check_eq "an append inside the last block costs one fence" 1 "$(fences /tmp/bios-a)"
traced /tmp/bios-b sh -c "head -c 4096 /dev/zero >>$M/fence/b"
check_eq "an append of a block costs two fences" 2 "$(fences /tmp/bios-b)"
check_eq "and leaves no write unfenced" "" "$(unfenced /tmp/bios-b | head -3)"
# Its first fence covers the zeroed block (DAX stores, no bio): a cache
# flush, alone or ahead of a write, not a FUA write alone.
check "a cache flush (REQ_PREFLUSH) follows the zeroing of the new block" sh -c \
	"awk '\$1 ~ /^F/ || \$1 ~ /^F?WF/ { print; exit }' /tmp/bios-b | grep -q '^FW'"
# Metadata calls share ordering points where the crash rules need no
# order: a create costs four (the inode's bit and its first write, which
# has no links; its link count; the entry's two steps, the first with the
# directory's times), an unlink four (the removal with the times; the
# link count; the deleted inode; the bits of its blocks and its number),
# a mkdir five (the parent's count before the rest of a create).
traced /tmp/bios-c touch $M/fence/c
check_eq "a create costs four fences" 4 "$(fences /tmp/bios-c)"
traced /tmp/bios-u rm $M/fence/b
check_eq "an unlink that frees blocks costs four fences" 4 "$(fences /tmp/bios-u)"
traced /tmp/bios-m mkdir $M/fence/d
check_eq "a mkdir costs five fences" 5 "$(fences /tmp/bios-m)"
for t in c u m; do
	check_eq "and leaves no write unfenced ($t)" "" "$(unfenced /tmp/bios-$t | head -3)"
done
echo 0 >$TR/events/block/block_bio_queue/filter

# 3. 2 MiB write faults: a new 4 MiB file written through a shared
# mapping gets 2 MiB-aligned runs, mapped with PMDs.
TR=/sys/kernel/tracing
echo 1 >$TR/events/fs_dax/dax_pmd_fault_done/enable
echo >$TR/trace
map_write_4m $M/pmd-write
echo 0 >$TR/events/fs_dax/dax_pmd_fault_done/enable
check "write faults on 2 MiB holes are mapped with PMDs (NOPAGE)" \
	sh -c "grep 'dax_pmd_fault_done' $TR/trace | grep 'WRITE' | grep -c NOPAGE | grep -qx 2"
grep dax_pmd_fault_done $TR/trace | sed 's/^.*dax_pmd_fault_done: /    /' >&2

# Files written with write(), 1 MiB at a time and appended 4 KiB at a
# time (whose first 2 MiB stays unaligned: small files must not take the
# aligned free space), mapped and read once in each 2 MiB. Neither their
# runs nor the indirect blocks allocated among them may split a 2 MiB.
pmd_mapped() { # FILE: how many of its 2 MiB took a PMD read fault
	echo >$TR/trace
	echo 1 >$TR/events/fs_dax/dax_pmd_fault_done/enable
	python3 -c 'import mmap, sys
f = open(sys.argv[1], "rb")
m = mmap.mmap(f.fileno(), 0, prot=mmap.PROT_READ)
for off in range(0, len(m), 2 << 20):
    m[off]' "$1"
	echo 0 >$TR/events/fs_dax/dax_pmd_fault_done/enable
	grep -c 'dax_pmd_fault_done.*NOPAGE' $TR/trace
}
dd if=/dev/zero of=$M/pmd-1m bs=1M count=8 status=none
dd if=/dev/zero of=$M/pmd-4k bs=4k count=2048 status=none
check_eq "a file written 1 MiB at a time: each 2 MiB mapped with a PMD" 4 "$(pmd_mapped $M/pmd-1m)"
check_eq "a file appended 4 KiB at a time: each 2 MiB past the first too" 3 \
	"$(pmd_mapped $M/pmd-4k)"
rm -f $M/pmd-1m $M/pmd-4k

# 3b. Mapping a large file's blocks reads its indirect blocks once per
# extent (the extent cache): 1,000 random 4 KiB reads of a 16 MiB file
# (double indirect) touch next to no buffer. Each read used to look up the
# double indirect block and an indirect one: mostly hits in the per-CPU
# buffer LRU, which the block_touch_buffer tracepoint counts (lookups
# that miss it are not traced). And what the cache serves is
# what the tree says after every kind of change to the block map:
# punching a hole, filling it again, truncating and growing, writing past
# the end, each read back through read() and a mapping. The file is
# written at once, so that its few runs fit the cache whatever the
# earlier sections left free.
python3 -c 'import os, sys
fd = os.open(sys.argv[1], os.O_CREAT | os.O_WRONLY | os.O_TRUNC)
data = b"".join(b.to_bytes(4, "little") * 1024 for b in range(4096))
assert os.write(fd, data) == len(data)
os.close(fd)' $M/ext
check "the 16 MiB file has at most 8 extents" \
	sh -c "filefrag $M/ext | awk '{ exit !(\$2 <= 8) }'"
echo "dev == $(($(stat -L -c '0x%t' $BIG) << 20 | $(stat -L -c '0x%T' $BIG)))" \
	>$TR/events/block/block_touch_buffer/filter
cat $M/ext >/dev/null
echo >$TR/trace
echo 1 >$TR/events/block/block_touch_buffer/enable
check "1,000 random 4 KiB reads of a 16 MiB file return its data" python3 -c 'import os, random, sys
r = random.Random(13)
fd = os.open(sys.argv[1], os.O_RDONLY)
for _ in range(1000):
    b = r.randrange(4096)
    assert os.pread(fd, 4096, b * 4096) == b.to_bytes(4, "little") * 1024, b' $M/ext
echo 0 >$TR/events/block/block_touch_buffer/enable
echo 0 >$TR/events/block/block_touch_buffer/filter
touched=$(grep -c block_touch_buffer $TR/trace)
check "1,000 random 4 KiB reads of a 16 MiB file look up few buffers ($touched < 100)" \
	test "$touched" -lt 100
check "the extent cache follows punch, refill, truncate, extension and appends" \
	python3 - $M/ext <<'PY'
import mmap, os, sys
p = sys.argv[1]
fd = os.open(p, os.O_RDWR)
def blk(b, tag=0):
    return (b ^ tag).to_bytes(4, "little") * 1024
def expect(b, want):
    got = os.pread(fd, 4096, b * 4096)
    assert got == want, ("read", b, got[:8])
    m = mmap.mmap(fd, 0)
    assert m[b * 4096:(b + 1) * 4096] == want, ("mmap", b)
    m.close()
for b in (0, 100, 2000, 4095):
    expect(b, blk(b))
# Punch blocks 1500..2500 (crossing indirect blocks): zeros, then filled.
assert os.system("fallocate -p -o %d -l %d %s" % (1500 * 4096, 1000 * 4096, p)) == 0
for b in (1499, 1500, 2047, 2048, 2499, 2500):
    expect(b, blk(b) if b in (1499, 2500) else bytes(4096))
for b in range(1500, 2500):
    os.pwrite(fd, blk(b, 0x55), b * 4096)
for b in (1500, 2047, 2048, 2499):
    expect(b, blk(b, 0x55))
# Truncate into the middle, grow again: the rest reads as zeros.
os.ftruncate(fd, 1000 * 4096)
os.ftruncate(fd, 4096 * 4096)
for b in (999, 1000, 3000, 4095):
    expect(b, blk(b) if b == 999 else bytes(4096))
# Write past the end: new blocks, mapped where they are.
for b in range(4096, 4600):
    os.pwrite(fd, blk(b, 0xaa), b * 4096)
for b in (999, 1000, 4096, 4599):
    expect(b, blk(b) if b == 999 else blk(b, 0xaa) if b >= 4096 else bytes(4096))
os.close(fd)
PY
rm -f $M/ext

# 4. fsx (fsx_seeds, tests/lib.sh). The seeds run in parallel, each on
# its own file, 20,000 operations each in make check (FSX_OPS=N changes
# that; make fsx runs 100,000).
FSX_OPS=${FSX_OPS:-20000}
fsx_start=$(date +%s)
fsx_seeds $M/fsx "$FSX_OPS" ${FSX_SEEDS:-1 2 3}
echo "# fsx: $(($(date +%s) - fsx_start)) s" >&2

# 5. Concurrency: creators, writers and renamers in one directory and
# across directories.
mkdir -p $M/conc/shared $M/conc/a $M/conc/b
for w in 1 2 3 4; do
	(
		for i in $(seq 100); do
			echo "$w-$i" >$M/conc/shared/f-$w-$i
			mv $M/conc/shared/f-$w-$i $M/conc/$([ $((i % 2)) = 0 ] && echo a || echo b)/
			mkdir $M/conc/shared/d-$w-$i
		done
		head -c $((2 * MB)) /dev/zero | tr '\0' "$w" >$M/conc/shared/big-$w
	) &
done
wait
check_eq "concurrent creators and renamers: every file arrived" 400 \
	"$(ls $M/conc/a $M/conc/b | grep -c '^f-')"
check "concurrent writers: contents intact" sh -c "for w in 1 2 3 4; do
	[ \"\$(tr -d \$w <$M/conc/shared/big-\$w | wc -c)\" = 0 ] || exit 1
	[ \$(stat -c %s $M/conc/shared/big-\$w) = $((2 * MB)) ] || exit 1; done
	for f in $M/conc/a/* $M/conc/b/*; do [ \"\$(cat \$f)\" = \"\${f##*/f-}\" ] || exit 1; done"
check_eq "concurrent mkdirs: link count of the shared directory" 402 "$(stat -c %h $M/conc/shared)"

# 6. Remount read-only and back.
check "remount,ro" mount -o remount,ro $M
check "read-only after remount: writes fail" sh -c "! touch $M/ro-test 2>/dev/null"
check "the superblock says 'clean' while read-only" \
	sh -c "dumpe2fs -h $BIG 2>/dev/null | grep -q '^Filesystem state: *clean'"
check "remount,rw" mount -o remount,rw $M
check "writable again" touch $M/rw-test

# 6b. Freeze (FIFREEZE, generic/491): writers wait while the file system
# is frozen, its superblock is clean then unless an unlinked file is
# still open, and the last close of such a file frees it only after the
# thaw.
state() { dumpe2fs -h $BIG 2>/dev/null | sed -n 's/^Filesystem state: *//p'; }
echo before >$M/freeze-f
check "fsfreeze -f" fsfreeze -f $M
check_eq "the superblock is clean while frozen" "clean" "$(state)"
sh -c "echo after >>$M/freeze-f" &
w=$!
sleep 2
check "a write waits while frozen" kill -0 $w
check_eq "the file is unchanged while frozen" "before" "$(cat $M/freeze-f)"
check "fsfreeze -u" fsfreeze -u $M
wait $w
check_eq "the waiting write went through after the thaw" "$(printf 'before\nafter')" "$(cat $M/freeze-f)"
check_eq "the superblock is not clean after the thaw" "not clean" "$(state)"
sleep 1000 <$M/freeze-f &
holder=$!
rm $M/freeze-f
check "fsfreeze -f with an unlinked file open" fsfreeze -f $M
check_eq "the superblock stays not clean" "not clean" "$(state)"
free0=$(stat -f -c %d $M)
kill $holder
sleep 2
check_eq "the last close waits for the thaw to free the inode" "$free0" "$(stat -f -c %d $M)"
check "fsfreeze -u" fsfreeze -u $M
wait $holder 2>/dev/null
check_eq "after the thaw the inode is freed" "$((free0 + 1))" "$(stat -f -c %d $M)"

# 6c. Trylocks that fail take nothing, so their guards release nothing:
# the last close of a file written before a freeze (which leaves what it
# holds ahead alone while frozen) keeps the freeze protection balanced,
# so the file system freezes again; an RWF_NOWAIT read that finds the
# inode locked by a writer gets EAGAIN and leaves the writer's lock alone.
mark_dmesg
exec 7>$M/freeze-w
echo data >&7
check "fsfreeze -f with a file open for writing" fsfreeze -f $M
exec 7>&-
check "fsfreeze -u after its last close" fsfreeze -u $M
unbalanced=$(dmesg_since | grep -E 'WARNING|bad unlock')
check_eq "... with the freeze protection balanced" "" "$unbalanced"
if [ -z "$unbalanced" ]; then
	# Unbalanced, a new freeze would wait forever.
	check "the file system freezes again" fsfreeze -f $M
	check "... and thaws" fsfreeze -u $M
fi
check "RWF_NOWAIT read while a write holds the inode lock: EAGAIN" python3 -c '
import os, sys, threading
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o644)
buf = b"w" * (32 << 20)
done = threading.Event()
def writer():
    for _ in range(8):
        os.pwrite(fd, buf, 0)
    done.set()
t = threading.Thread(target=writer)
t.start()
got = False
while not done.is_set():
    try:
        os.preadv(fd, [bytearray(4096)], 0, os.RWF_NOWAIT)
    except BlockingIOError:
        got = True
t.join()
os.close(fd)
sys.exit(0 if got else 1)' $M/nowait-f
check_eq "... and no unbalanced unlock" "" "$(dmesg_since | grep -E 'WARNING|BUG|bad unlock')"
rm -f $M/freeze-w $M/nowait-f
check "umount" umount $M

# 7. A full device: ENOSPC, nothing lost, and the free counts come back
# exactly when the files go.
check "mount the small image" mount -t rext2 -o dax $SMALL $S
before=$(stat -f -c '%f %a %d' $S)
# An extending write that runs out of space while another thread faults
# the range past its end: nothing past the new end stays mapped.
"$EXTEND" enospc-race $S 96 || FAILED=$((FAILED + 1))
head -c $((5 * MB)) /dev/urandom >$S/keep
keep=$(sha256sum <$S/keep)
# The reserved blocks (mke2fs -m, 5%) are for CAP_SYS_RESOURCE: an
# unprivileged writer stops short of them, root then goes on into them.
mkdir $S/u && chmod 777 $S/u
python3 -c 'import os, sys
os.setgroups([]); os.setgid(65534); os.setuid(65534)
os.execvp("dd", ["dd", "if=/dev/zero", "of=" + sys.argv[1], "bs=1M"])' $S/u/fill 2>/tmp/dd-u.err
check "an unprivileged writer gets ENOSPC" grep -q "No space left on device" /tmp/dd-u.err
check_eq "... with nothing left available to it" 0 "$(stat -f -c %a $S)"
check "... while the reserved blocks are still free" test "$(stat -f -c %f $S)" -gt 0
rm -rf $S/u
dd if=/dev/zero of=$S/fill bs=1M 2>/tmp/dd.err
check "writing past the free space fails with ENOSPC" grep -q "No space left on device" /tmp/dd.err
check_eq "the device is full" 0 "$(stat -f -c %a $S)"
check "mkdir on a full device fails with ENOSPC" sh -c "mkdir $S/newdir 2>&1 | grep -q 'No space left'"
check_eq "data written before is intact" "$keep" "$(sha256sum <$S/keep)"
i=0
while touch $S/inode-$i 2>/dev/null; do i=$((i + 1)); done
check "creating files until the inodes run out ends with ENOSPC" sh -c "touch $S/one-more 2>&1 | grep -q 'No space left'"
rm -f $S/fill $S/keep $S/inode-*
check_eq "after deleting everything the free blocks and inodes are as before" "$before" "$(stat -f -c '%f %a %d' $S)"
check "umount the small image" umount $S
check "e2fsck -fn of the small image" e2fsck -fn $SMALL

# 8. pjdfstest on ext4 with DAX (on the small device) and on rext2, in
# this VM: every test that passes on ext4 must pass on rext2, except those
# listed with a reason in tests/guest/pjdfstest-exceptions ("skip" ones
# are not run on rext2).  The naptime exceeds rext2's 1 s timestamp
# granularity (ext2 has no nanoseconds).
cat >/tmp/pjd.toml <<'TOML'
[features]
posix_fallocate = {}
rename_ctime = {}
utime_now = {}
utimensat = {}
[settings]
naptime = 1.1
allow_remount = false
[dummy_auth]
entries = [ ["nobody", "nogroup"], ["daemon", "daemon"] ]
TOML
pjd() { # DIR OUTPUT [TEST...]
	local dir=$1 out=$2
	shift 2
	mkdir -p "$dir" && chmod 777 "$dir"
	(cd "$dir" && pjdfstest -c /tmp/pjd.toml -p "$dir" "$@") >"$out" 2>&1
	awk '$NF == "ok" { print $1 }' "$out" | sort >"$out.passed"
}
EXC=$RPMEM_TOP/tests/guest/pjdfstest-exceptions
check "mkfs.ext4 on the small device" mkfs.ext4 -q -F $SMALL
check "mount ext4 -o dax=always" mount -t ext4 -o dax=always $SMALL $S
check "mount rext2 for pjdfstest" mount -t rext2 -o dax $BIG $M
pjd $S/pjd /tmp/pjd-ext4
awk '$NF == "ok" || $NF == "FAILED" || $NF == "skipped" { print $1 }' /tmp/pjd-ext4 | sort >/tmp/pjd-all
awk '$1 == "skip" { print $2 }' "$EXC" | sort >/tmp/pjd-skip
awk '$1 != "skip" && $1 !~ /^#/ && NF { print $1 }' "$EXC" | sort >/tmp/pjd-allowed
pjd $M/pjd /tmp/pjd-rext2 -e $(comm -23 /tmp/pjd-all /tmp/pjd-skip | sed 's/^/pjdfstest::tests::/')
cp /tmp/pjd-ext4 /tmp/pjd-rext2 "$OUT/" 2>/dev/null
comm -23 /tmp/pjd-ext4.passed /tmp/pjd-rext2.passed | sort | comm -23 - /tmp/pjd-skip |
	comm -23 - /tmp/pjd-allowed >/tmp/pjd-missing
check "pjdfstest ran on ext4 ($(wc -l </tmp/pjd-ext4.passed) of $(wc -l </tmp/pjd-all) passed)" \
	test -s /tmp/pjd-ext4.passed
if [ -s /tmp/pjd-missing ]; then
	not_ok "pjdfstest: every test passing on ext4 passes on rext2, but for the listed exceptions"
	sed 's/^/    /' /tmp/pjd-missing | head -30 >&2
else
	ok "pjdfstest: every test passing on ext4 passes on rext2, but for the listed exceptions ($(wc -l </tmp/pjd-rext2.passed) passed)"
fi
check "umount ext4" umount $S
check "umount rext2" umount $M

# 9. A metadata write that fails (a bad block injected through rpmem's
# badblocks attribute; QEMU's NFIT cannot clear it, so writes to it fail):
# the change fails with EIO, and so does the next change of the same
# block, without a warning (a failed write clears the buffer's up-to-date
# bit, which mark_buffer_dirty warns about). rmmod rpmem forgets the bad
# block; the host's e2fsck then checks the image.
check "mkfs.ext2 on the small device for write errors" mkfs.ext2 -q -F -b 4096 $SMALL
check "mount rext2 on it" mount -t rext2 -o dax $SMALL $S
# The inode table block that holds PATH's inode.
imap_block() {
	debugfs -R "imap $1" $SMALL 2>/dev/null | sed -n 's/.*located at block \([0-9]*\),.*/\1/p'
}
# bio_trace_start; bio_trace_stop FILE: the bios queued on $SMALL in
# between, one per line ("RWBS SECTOR + COUNT ...").
bio_trace_start() {
	echo "dev == $(($(stat -L -c '0x%t' $SMALL) << 20 | $(stat -L -c '0x%T' $SMALL)))" \
		>$TR/events/block/block_bio_queue/filter
	echo >$TR/trace
	echo 1 >$TR/events/block/block_bio_queue/enable
}
bio_trace_stop() {
	echo 0 >$TR/events/block/block_bio_queue/enable
	echo 0 >$TR/events/block/block_bio_queue/filter
	grep block_bio_queue $TR/trace | sed 's/.*block_bio_queue: [0-9,]* //' >"$1"
}
# 9a. Blocks synced together (Head::sync_all): when one write fails, the
# others are still written, so none is left dirty for write-back to
# write after the caller has given up (and maybe freed the block). An
# unlink whose directory block is bad still writes the directory's inode
# (its new times; hence the second's wait), with the ordering point's FUA.
mkdir $S/d $S/d2 && echo data >$S/d/doomed && echo other >$S/d/other && sync && sleep 1
dblk=$(debugfs -R "blocks /d" $SMALL 2>/dev/null | awk '{print $1}')
iblk=$(imap_block /d)
check "debugfs finds the directory's block and inode block" test -n "$dblk" -a -n "$iblk"
echo "$((dblk * 8)) 8" >/sys/block/${SMALL#/dev/}/badblocks
echo "dev == $(($(stat -L -c '0x%t' $SMALL) << 20 | $(stat -L -c '0x%T' $SMALL)))" \
	>$TR/events/block/block_bio_queue/filter
echo >$TR/trace
echo 1 >$TR/events/block/block_bio_queue/enable
rm -f $S/d/doomed 2>/dev/null
rc=$?
echo 0 >$TR/events/block/block_bio_queue/enable
echo 0 >$TR/events/block/block_bio_queue/filter
grep block_bio_queue $TR/trace | sed 's/.*block_bio_queue: [0-9,]* //' >/tmp/bios-e
check "unlink fails when its directory block cannot be written" test "$rc" != 0
check "... and still writes the directory's inode block, with a FUA" \
	awk -v s=$((iblk * 8)) '$1 ~ /^F?WF/ && $2 == s { f = 1 } END { exit !f }' /tmp/bios-e
# The unlink failed, so the name stays: in the block's bytes in memory too,
# which lookups read once the dentry is gone and the next write writes.
check "... and the name is still listed" sh -c "ls $S/d | grep -qx doomed"
echo 2 >/proc/sys/vm/drop_caches
check "... and found again once its dentry is evicted" stat $S/d/doomed
# Likewise a rename over a name in that block: it fails, so the name keeps
# its inode (the renamed file keeps its raised count: see below).
doomed_ino=$(stat -c %i $S/d/doomed) other_ino=$(stat -c %i $S/d/other)
bio_trace_start
check "a rename over a name in the bad block fails" \
	sh -c "! mv -f $S/d/other $S/d/doomed 2>/dev/null"
bio_trace_stop /tmp/bios-mv
check "... having tried to write that block" \
	awk -v s=$((dblk * 8)) '$1 ~ /^F?W/ && $2 == s { f = 1 } END { exit !f }' /tmp/bios-mv
echo 2 >/proc/sys/vm/drop_caches
check_eq "... and the name still has its inode once evicted" \
	"$doomed_ino" "$(stat -c %i $S/d/doomed)"
check "... and the renamed file its name" stat $S/d/other
# A move out of the bad block: the new name is written, the old one cannot
# be removed, so the new one is taken back and the move fails with nothing
# moved (the VFS keeps the old dentries).
d2blk=$(debugfs -R "blocks /d2" $SMALL 2>/dev/null | awk '{print $1}')
bio_trace_start
check "a move out of the bad block fails" sh -c "! mv $S/d/doomed $S/d2/doomed 2>/dev/null"
bio_trace_stop /tmp/bios-move
check "... having written the new name and taken it back (3 writes of its block)" \
	awk -v s=$((d2blk * 8)) '$1 ~ /^F?W/ && $2 == s { n++ } END { exit n < 3 }' /tmp/bios-move
check "... the dcache keeps the old name" stat $S/d/doomed
check "... and has no new one" sh -c "! stat $S/d2/doomed 2>/dev/null"
echo 2 >/proc/sys/vm/drop_caches
check "... nor memory, once evicted" sh -c "! stat $S/d2/doomed 2>/dev/null"
check_eq "... the file keeps its old name, counted once" 1 "$(stat -c %h $S/d/doomed)"
# An exchange whose second entry is in the bad block: the first is taken
# back, so that each name keeps its inode, for the VFS and in memory.
cat >/tmp/exchange.py <<'PY'
import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
if libc.renameat2(-100, sys.argv[1].encode(), -100, sys.argv[2].encode(), 2) != 0:
    sys.exit(os.strerror(ctypes.get_errno()))
PY
echo x >$S/d2/x && x_ino=$(stat -c %i $S/d2/x)
check "an exchange with a name in the bad block fails" \
	sh -c "! python3 /tmp/exchange.py $S/d/doomed $S/d2/x 2>/dev/null"
echo 2 >/proc/sys/vm/drop_caches
check_eq "... the other name keeps its inode once evicted" "$x_ino" "$(stat -c %i $S/d2/x)"
check_eq "... and so does the name in the bad block" "$doomed_ino" "$(stat -c %i $S/d/doomed)"
# 9b. After a failed write the block's bytes in memory are the newest: a
# lookup of another inode in the block reads them rather than the bad
# sectors, and a change that puts back the same bytes must still write
# them (they are not on the device), so it fails too.
echo data >$S/victim && echo data >$S/neighbour && sync
blk=$(imap_block /victim)
check "debugfs finds the inode's block" test -n "$blk"
check_eq "... which also holds another inode" "$blk" "$(imap_block /neighbour)"
echo "$((blk * 8)) 8" >/sys/block/${SMALL#/dev/}/badblocks
mark_dmesg
check "chmod fails when its inode block cannot be written" sh -c "! chmod 600 $S/victim 2>/dev/null"
echo 2 >/proc/sys/vm/drop_caches
echo "dev == $(($(stat -L -c '0x%t' $SMALL) << 20 | $(stat -L -c '0x%T' $SMALL)))" \
	>$TR/events/block/block_bio_queue/filter
echo >$TR/trace
echo 1 >$TR/events/block/block_bio_queue/enable
check "the other inode of the block is still read, once evicted" stat $S/neighbour
check_eq "... and the failed change is what the inode holds" 600 "$(stat -c %a $S/victim)"
# The positive control of the absence check below: a read the trace sees.
# Twice: the first direct read returns the failed write's error, which the
# device's page cache keeps for the next writer or waiter (AS_EIO).
for _ in 1 2; do
	dd if=$SMALL of=/dev/null bs=4096 skip=$((blk + 1)) count=1 iflag=direct \
		status=none 2>/dev/null
done
echo 0 >$TR/events/block/block_bio_queue/enable
echo 0 >$TR/events/block/block_bio_queue/filter
check "... the trace sees a direct read of the next block" \
	awk -v s=$(((blk + 1) * 8)) '/block_bio_queue/ && $0 ~ " R[A-Z]* " s " " { f = 1 }
		END { exit !f }' $TR/trace
check "... from memory: the bad block is not read" \
	awk -v s=$((blk * 8)) '/block_bio_queue/ && $0 ~ " R[A-Z]* " s " " { f = 1 }
		END { exit f }' $TR/trace
# The same chmod again changes no byte (timestamps have 1 s granularity),
# so it must fail only because the bytes are not on the device yet. It is
# tried until both chmods run in one second.
same=
for try in 1 2 3 4 5; do
	t0=$(date +%s)
	chmod 600 $S/victim 2>/dev/null
	chmod 600 $S/victim 2>/dev/null
	rc=$?
	[ "$t0" = "$(date +%s)" ] && same=$rc && break
done
check "the same chmod again, in the same second, fails as well" test "${same:-0}" != 0
check "... and so does the next change of that block" sh -c "! chmod 640 $S/victim 2>/dev/null"
check_eq "... without a kernel warning" "" "$(dmesg_since | grep -E 'WARNING|BUG')"
check "umount after the write errors" umount $S

# reload_rpmem: rmmod rpmem forgets the bad blocks; $SMALL is the disk not
# labelled "big" once it is back.
reload_rpmem() {
	rmmod rpmem && insmod "$(module drivers/nvdimm/rpmem.ko)" || return 1
	wait_dev /dev/rpmem1 || return 1
	local d
	for d in /dev/rpmem0 /dev/rpmem1; do
		[ "$(e2label $d 2>/dev/null)" != big ] && SMALL=$d
	done
}
check "rpmem reloaded, its bad blocks forgotten" reload_rpmem
# The rename over a name in the bad block kept the renamed file's raised
# count, and the exchange the other file's: set_link cannot tell whether
# its failed write reached the device in part, and a count too high is the
# safe side. e2fsck -p lowers them.
e2fsck -p $SMALL >/tmp/fsck-ab 2>&1
check_eq "e2fsck -p lowers the count the failed rename kept (exit 1)" 1 "$?"
check "... of the renamed file" grep -q "Inode $other_ino ref count is 2, should be 1" /tmp/fsck-ab
check "... and of the exchanged one" grep -q "Inode $x_ino ref count is 2, should be 1" /tmp/fsck-ab
check "e2fsck -fn accepts the image after 9a and 9b then" e2fsck -fn $SMALL

# 9c. Once an entry change is durable the call has happened, for the VFS
# too: a failed write of a count after it is logged, not returned (as
# ext2_unlink() marks the inode dirty and succeeds). The count on the
# device stays too high, which e2fsck -p repairs once the block is good.
check "mkfs.ext2 again for count write errors" mkfs.ext2 -q -F -b 4096 $SMALL
check "mount rext2 on it" mount -t rext2 -o dax $SMALL $S
mkdir $S/e && touch $S/e/f{10..49} && sync
eblk=$(imap_block /e)
# Two files whose inodes share a block with neither /e nor f10.
pick=
for n in $(seq 49 -1 12); do
	b=$(imap_block /e/f$n)
	if [ -n "$b" ] && [ "$b" = "$(imap_block /e/f$((n - 1)))" ] &&
		[ "$b" != "$eblk" ] && [ "$b" != "$(imap_block /e/f10)" ]; then
		pick=$n
		break
	fi
done
check "debugfs finds two inodes in a block apart from /e's and f10's" test -n "$pick"
cblk=$(imap_block /e/f$pick)
f=f$((pick - 1)) g=f$pick
src_ino=$(stat -c %i $S/e/f10) f_ino=$(stat -c %i $S/e/$f)
echo "$((cblk * 8)) 8" >/sys/block/${SMALL#/dev/}/badblocks
mark_dmesg
check "unlink succeeds when only its inode's count cannot be written" rm $S/e/$f
dmesg_since >/tmp/log-9c
check "... and the log names the inode" grep -q "inode $f_ino: write failed.*count" /tmp/log-9c
check "... and the name is gone" sh -c "! ls $S/e | grep -qx $f"
check "rename over a name whose inode count cannot be written succeeds" mv -f $S/e/f10 $S/e/$g
echo 2 >/proc/sys/vm/drop_caches
check "... the unlinked name stays gone once evicted" sh -c "! stat $S/e/$f 2>/dev/null"
check_eq "... the renamed file has the target's name once evicted" \
	"$src_ino" "$(stat -c %i $S/e/$g)"
check "... and not its old one" sh -c "! stat $S/e/f10 2>/dev/null"
check_eq "... without a kernel warning" "" "$(dmesg_since | grep -E 'WARNING|BUG')"
check "umount after the count write errors" umount $S
check "rpmem reloaded again" reload_rpmem
# Both inodes (empty: e2fsck -p clears only an empty one unattended) kept
# their count on the device, and no name. The file system
# is marked as having errors, so e2fsck -p checks it although it was
# unmounted cleanly, and clears them (exit status 1: errors corrected).
check "the superblock says 'clean with errors'" \
	sh -c "dumpe2fs -h $SMALL 2>/dev/null | grep -q '^Filesystem state: *clean with errors'"
e2fsck -p $SMALL >/tmp/fsck-p 2>&1
check_eq "e2fsck -p repairs the counts left too high (exit 1)" 1 "$?"
check_eq "... two unattached inodes" 2 "$(grep -c -i 'unattached' /tmp/fsck-p)"
check "... and e2fsck -fn accepts the image then" e2fsck -fn $SMALL

check "rmmod rext2" rmmod rext2
check "rmmod rpmem" rmmod rpmem
finish
