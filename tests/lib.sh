# SPDX-License-Identifier: GPL-2.0
#
# Shared helpers for test suites, on the host and in the guest.
#
# A check reports one line, "ok - WHAT" or "not ok - WHAT"; tests/check
# counts those lines.  Details of a failure go to stderr, indented.

: "${RPMEM_TOP:=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}"
export RPMEM_TOP
# The build cache (kernel source and build, xfstests, results), as the
# Makefile names it.
: "${KBUILD_CACHE:=$HOME/.cache/rpmem}"
export KBUILD_CACHE
: "${KDIR:=$KBUILD_CACHE/build}"
export KDIR

FAILED=0

ok() { echo "ok - $*"; }
not_ok() { echo "not ok - $*"; FAILED=$((FAILED + 1)); }

# mkext2 [MKE2FS ARGS...] DEV|IMG [SIZE]: the ext2 every test makes, as
# mke2fs -t ext2 does with 4 KiB blocks (DAX needs the page size),
# quietly and over whatever is there.
mkext2() { mke2fs -q -F -t ext2 -b 4096 "$@"; }

# check WHAT CMD...: runs CMD, reports by its exit status, shows its
# output on failure.
check() {
	local what=$1 out
	shift
	if out=$("$@" 2>&1); then
		ok "$what"
	else
		not_ok "$what"
		printf '%s\n' "$out" | tail -n 20 | sed 's/^/    /' >&2
	fi
}

# check_eq WHAT EXPECTED ACTUAL
check_eq() {
	if [ "$2" = "$3" ]; then
		ok "$1"
	else
		not_ok "$1"
		printf '    expected: %s\n    actual:   %s\n' "$2" "$3" >&2
	fi
}

# The status a suite ends with.
finish() { [ "$FAILED" = 0 ]; }

# Path of one of the project's modules, built by make out of tree (in
# $RPMEM_MODULE_DIR if set: make bench's, built for its own kernel); with
# RPMEM_MODULES=in-tree, rpmem and rext2 as the kernel in $KDIR built them
# from the patch series (scripts/build-series).
module() {
	case "${RPMEM_MODULES:-}:$1" in
	in-tree:drivers/nvdimm/rpmem.ko | in-tree:fs/rext2/rext2.ko) echo "$KDIR/$1" ;;
	*) echo "${RPMEM_MODULE_DIR:-$RPMEM_TOP}/$1" ;;
	esac
}

# In the guest: the dmesg lines added since mark_dmesg.
mark_dmesg() { DMESG_MARK=$(dmesg | wc -l); }
dmesg_since() { dmesg | tail -n +"$((${DMESG_MARK:-0} + 1))"; }

# In the guest: wait up to 5 s for block device $1 to appear.
wait_dev() {
	local i
	for i in $(seq 50); do
		[ -b "$1" ] && return 0
		sleep 0.1
	done
	return 1
}

# In the guest: rebind_cycles NS DEV N unbinds namespace NS from rpmem and
# binds it again, N times, waiting each time for block device DEV; prints
# how many cycles went through.
rebind_cycles() {
	local i done=0
	for i in $(seq "$3"); do
		echo "$1" >/sys/bus/nd/drivers/rpmem/unbind || break
		echo "$1" >/sys/bus/nd/drivers/rpmem/bind || break
		wait_dev "$2" || break
		done=$i
	done
	echo "$done"
}

# In the guest: mce_poison ADDR reports an uncorrectable memory error at
# physical address ADDR through mce-inject (loaded already): the AMD
# layout, as QEMU's TCG CPU is (bank 4, extended error code 8, address
# valid; the address is page granular, misc's LSB is 12), which mce_log
# hands to nfit_handle_mce.
mce_poison() {
	local inj=/sys/kernel/debug/mce-inject
	echo sw >$inj/flags
	echo 0 >$inj/cpu
	echo $((0x3400000000080000)) >$inj/status
	echo $(($1)) >$inj/addr
	echo 12 >$inj/misc
	echo 4 >$inj/bank
}

# In the guest: wait_badblocks DISK WANT waits up to 5 s for
# /sys/block/DISK/badblocks to read WANT.
wait_badblocks() {
	local i
	for i in $(seq 50); do
		[ "$(cat "/sys/block/$1/badblocks")" = "$2" ] && return 0
		sleep 0.1
	done
	return 1
}

# In the guest: check_no_leaks WHAT has kmemleak scan twice and checks
# that it reports nothing; the guest must boot with kmemleak=on.
check_no_leaks() {
	local leaks
	if [ ! -w /sys/kernel/debug/kmemleak ]; then
		not_ok "kmemleak is available (boot with kmemleak=on)"
		return
	fi
	echo scan >/sys/kernel/debug/kmemleak
	echo scan >/sys/kernel/debug/kmemleak
	leaks=$(grep -c '^unreferenced object' /sys/kernel/debug/kmemleak)
	check_eq "$1" 0 "$leaks"
	[ "$leaks" = 0 ] || head -40 /sys/kernel/debug/kmemleak >&2
}

# In the guest: whether file $1 reports STATX_ATTR_DAX (0x200000).
statx_attrs() { xfs_io -r -c 'statx -r' "$1" | awk '/^stat.attributes = / { print $3 }'; }
dax_attr() {
	local a
	a=$(statx_attrs "$1")
	[ -n "$a" ] && [ $((a & 0x200000)) != 0 ]
}

# In the guest: map_write_4m FILE creates FILE, 4 MiB, through a shared
# mapping with one store in each 2 MiB: DAX write faults on 2 MiB holes,
# which rext2 fills with 2 MiB-aligned runs mapped with PMDs.
map_write_4m() {
	python3 -c 'import mmap, os, sys
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o644)
os.ftruncate(fd, 4 << 20)
m = mmap.mmap(fd, 4 << 20)
m[2 << 20] = 1
m[0] = 1
m.close()' "$1"
}

# stat_listing DIR [PATH...]: per entry of DIR, but for the PATHs (given
# as ./name) and what is under them, its type, mode, owner, links and
# size (not for directories, whose link counts and sizes depend on the
# file system), mtime and device numbers.
stat_listing() {
	local dir=$1 p
	local prune=()
	shift
	for p; do prune+=(-path "$p" -prune -o); done
	(cd "$dir" && find . "${prune[@]}" -print0 | sort -z | xargs -0 stat -c '%n %F %a %u %g %h %s %Y %t %T' |
		awk '$2 == "directory" { $6 = "-"; $7 = "-" } { print }')
}

# tree_listing DIR: what the rext2 suites compare between the host's
# tree and a mount of it: stat_listing, each file's SHA-256, each
# symlink's target.
tree_listing() {
	stat_listing "$1"
	(cd "$1" && find . -type f -print0 | sort -z | xargs -0 sha256sum)
	(cd "$1" && find . -type l -printf '%p -> %l\n' | sort)
}

# In the guest: same_tree WHAT DIR checks that DIR lists as $OUT/tree.list
# (the host's tree_listing of the source tree).
same_tree() {
	tree_listing "$2" >/tmp/list.dst
	if cmp -s "$OUT/tree.list" /tmp/list.dst; then
		ok "$1"
	else
		not_ok "$1"
		diff "$OUT/tree.list" /tmp/list.dst | head -20 >&2
	fi
}

# In the guest: insmod_rext2 loads rpmem and rext2 and waits for
# /dev/rpmem0, failing with the step that failed (for the guest scripts
# that are not suites of checks).
insmod_rext2() {
	insmod "$(module drivers/nvdimm/rpmem.ko)" || { echo "insmod rpmem.ko failed" >&2; return 1; }
	insmod "$(module fs/rext2/rext2.ko)" || { echo "insmod rext2.ko failed" >&2; return 1; }
	wait_dev /dev/rpmem0
}

# In the guest: load_rext2 does the same as a check, and checks that the
# modules loaded are the build module() chose.
load_rext2() {
	check "insmod rpmem.ko and rext2.ko, /dev/rpmem0 appears" insmod_rext2
	check_module_build rpmem
	check_module_build rext2
}

# In the guest: check_module_build NAME checks that the loaded module
# NAME is the build module() chose: the kernel taints with O for a
# module built out of tree, and not for one the kernel built.
check_module_build() {
	local want=O kind="out-of-tree"
	if [ "${RPMEM_MODULES:-}" = in-tree ]; then
		want=
		kind=in-tree
	fi
	check_eq "$1 is the $kind build (taint O)" "$want" \
		"$(tr -cd O <"/sys/module/$1/taint" 2>&1)"
}

# In the guest: fsx_seeds PREFIX OPS SEED... runs fsx for OPS operations
# per seed, the seeds in parallel, each on its own file PREFIX-SEED, with
# one ok/not ok per seed: reads, writes, mapped reads and writes,
# truncation, fsync, fallocate and hole punching.  fsx 0.3.2 never unmaps
# the mapping of a mapped read, and every truncate walks all of a file's
# mappings: with mapped reads as frequent as the rest, a run's cost grows
# with the square of its length (on the host, on tmpfs, 100,000 operations
# take 34 s instead of 4 s). Mapped reads are therefore rarer (one
# operation in 60, still over 1,500 per seed); mapped writes unmap and
# stay as frequent as the others.
fsx_seeds() {
	local prefix=$1 ops=$2 seed
	shift 2
	cat >/tmp/fsx.toml <<'TOML'
flen = 4194304
[weights]
read = 1.0
write = 1.0
mapread = 0.1
mapwrite = 1.0
truncate = 1.0
fsync = 0.2
posix_fallocate = 0.5
punch_hole = 0.5
TOML
	for seed in "$@"; do
		fsx -q -f /tmp/fsx.toml -N "$ops" -S "$seed" -P /tmp "$prefix-$seed" \
			>/tmp/fsx-$seed.out 2>&1 &
		eval "fsx_pid_$seed=\$!"
	done
	for seed in "$@"; do
		if eval "wait \$fsx_pid_$seed"; then
			ok "fsx seed $seed: $ops operations, no miscompare"
		else
			not_ok "fsx seed $seed: $ops operations, no miscompare"
			tail -20 /tmp/fsx-$seed.out | sed 's/^/    /' >&2
		fi
	done
}

# On the host: make_tree DIR builds the source tree the rext2 suites copy
# into images: nested directories, empty and 1-byte files, random data,
# holes (data, hole, data, trailing hole), a 255-byte name, fast and slow
# symlinks, a FIFO, a device node, a hard link, owners, set-id and sticky
# bits, and old times.  Suites add their own files to it.
make_tree() {
	local t=$1 mb=1048576
	mkdir -p "$t/a/b/c/d" "$t/empty-dir"
	: >"$t/empty"
	printf x >"$t/one-byte"
	head -c 100000 /dev/urandom >"$t/a/b/c/d/deep-file"
	head -c $((3 * mb + 123)) /dev/urandom >"$t/three-mb"
	head -c 5000 /dev/urandom | dd of="$t/holes" bs=1 conv=notrunc status=none
	head -c 4096 /dev/urandom | dd of="$t/holes" bs=4096 seek=300 conv=notrunc status=none
	truncate -s $((2 * mb)) "$t/holes"
	printf long >"$t/$(printf 'L%.0s' $(seq 255))"
	ln -s one-byte "$t/fast-link"
	ln -s "$(printf 'target/%.0s' $(seq 30))end" "$t/slow-link"
	mkfifo "$t/fifo"
	mknod "$t/null-dev" c 1 3
	ln "$t/one-byte" "$t/hard-link"
	chown 1234:5678 "$t/one-byte" "$t/a/b"
	chmod 4751 "$t/three-mb"
	chmod 1777 "$t/empty-dir"
	touch -h -d '2001-02-03 04:05:06' "$t/a/b/c/d/deep-file" "$t/fast-link" "$t/a"
}
