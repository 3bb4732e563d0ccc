#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# rext2 crash consistency: a metadata-heavy workload (create, write,
# rename, link, truncate, unlink, mkdir, rmdir) runs in the guest until
# the VM is killed at a random moment.  The NVDIMM's backing file keeps
# every store the guest made, so the image is what a power cut would
# leave.  After each kill, e2fsck -fn may report only what the ordering
# rules of Documentation/filesystems/rext2.rst allow (leaked blocks and
# inodes, counts and link counts too high, i_blocks accounting), and the
# next boot must mount the image and walk it.  At the end the tree is
# removed, and after e2fsck -fy repairs the leaks the image is clean.

. "$(dirname "$0")/../lib.sh"
RUN=$RPMEM_TOP/qemu/run
WORK=$(mktemp -d "${TMPDIR:-/tmp}/rext2-crash.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
cd "$WORK" || exit 1
KILLS=${CRASH_KILLS:-12}
IMG=$WORK/img/nvdimm0.img
mkdir -p "$WORK/img"
truncate -s 1G "$IMG"
check "mke2fs: a 256 MiB ext2 image" mkext2 "$IMG" 65536

# What e2fsck -fn may say after a crash; anything else fails the check.
allowed() { awk -v img="${ALLOWED_IMG:-$IMG}" -f "$RPMEM_TOP/tests/crash/fsck-allowed.awk"; }
allowed_ok() { allowed <"$WORK/fsck.out" >/dev/null; }
export -f allowed allowed_ok
export WORK IMG

# The classifier must tell a leak (a block marked used that nothing uses)
# from damage (a block in use marked free).
cp "$IMG" "$WORK/leak.img"
debugfs -w -R "setb 60000" "$WORK/leak.img" >/dev/null 2>&1
e2fsck -fn "$WORK/leak.img" >"$WORK/fsck.out" 2>&1
check "the classifier accepts a leaked block" bash -c "grep -q 'differences: *-60000' '$WORK/fsck.out' && allowed_ok"
cp "$IMG" "$WORK/bad.img"
debugfs -w -R "freeb $(debugfs -R 'blocks /' "$IMG" 2>/dev/null | awk '{print $1}')" "$WORK/bad.img" >/dev/null 2>&1
e2fsck -fn "$WORK/bad.img" >"$WORK/fsck.out" 2>&1
check "the classifier refuses a used block marked free" bash -c "! allowed_ok"
rm -f "$WORK/leak.img" "$WORK/bad.img"

for k in $(seq "$KILLS"); do
	# The power is cut a random 2 to 9 s after the workload starts (it
	# prints "OPS 0" then): boot, mount and the walk of the tree take
	# 10-15 s under TCG, far more on a loaded host, so the moment is
	# counted from there, not from boot.
	t=$((2 + RANDOM % 8))
	# A new file each boot: nothing left of the previous one (a late
	# write of its output) can pass for this boot's progress.
	rm -f "$WORK/run.out"
	"$RUN" --nvdimms 1 --keep-images "$WORK/img" --timeout 600 -- \
		env SEED="$k" bash "$RPMEM_TOP/tests/guest/rext2-crash.sh" >"$WORK/run.out" 2>&1 &
	vm=$!
	while kill -0 $vm 2>/dev/null && ! grep -q '^OPS' "$WORK/run.out"; do
		sleep 0.2
	done
	sleep $t
	# qemu/run kills QEMU when it is told to stop (exit status 130).
	kill -TERM $vm 2>/dev/null
	wait $vm
	rc=$?
	if [ $k -gt 1 ]; then
		check "kill $((k - 1)): the next boot mounts the image and walks it" \
			grep -q WALKED "$WORK/run.out"
	fi
	check_eq "kill $k: the VM was killed mid-workload (${t}s into it)" 130 "$rc"
	check "kill $k: no kernel splat before the kill" sh -c "! grep -q 'kernel splat' '$WORK/run.out'"
	check "kill $k: the kill landed during the workload ($(awk '$1 == "OPS" { n = $2 } END { print n + 0 }' "$WORK/run.out") operations)" \
		grep -q '^OPS' "$WORK/run.out"
	grep -q '^OPS' "$WORK/run.out" || tail -5 "$WORK/run.out" | sed 's/^/    /' >&2
	e2fsck -fn "$IMG" >"$WORK/fsck.out" 2>&1
	if allowed <"$WORK/fsck.out" >"$WORK/bad.out"; then
		ok "kill $k: e2fsck -fn finds at most leaks ($(grep -c 'differences\|Unattached\|ref count\|dtime\|i_blocks\|count wrong' "$WORK/fsck.out") findings)"
	else
		not_ok "kill $k: e2fsck -fn finds at most leaks"
		head -20 "$WORK/bad.out" >&2
	fi
done
"$RUN" --nvdimms 1 --keep-images "$WORK/img" --timeout 600 -- \
	env FINAL=1 bash "$RPMEM_TOP/tests/guest/rext2-crash.sh" >"$WORK/run.out" 2>&1
check_eq "after the last kill: the image mounts, the tree is removed, no splat" 0 "$?"
check "the final boot walked the tree and unmounted" \
	sh -c "grep -q WALKED '$WORK/run.out' && grep -q UNMOUNTED '$WORK/run.out'"
e2fsck -fy "$IMG" >/dev/null 2>&1
check "after e2fsck -fy repairs the leaks, e2fsck -fn is clean" e2fsck -fn "$IMG"
finish
