#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# rext2 crash states at every ordering point (tests/crash/run, see
# "Crash states" in Documentation/filesystems/rext2.rst): rpmem records
# every write and fence of a workload; crash images are built from the
# log at every fence and every write, with the writes in flight
# reordered and torn at 8-byte boundaries, and each one must be at worst
# leaky for e2fsck; a sample is mounted, walked and modified by rext2
# in the VM, fsync'ed data checked.  A fixed sample (seed 1): every
# operation of the operations workload at every ordering point, 1,500
# states in all, 12 of them in the VM; 10 steps of the metadata workload,
# 600 states.  Then the tool must catch bugs planted in the recorded log:
# two ordering steps of unlink swapped, and its fences dropped.  About
# five minutes under TCG.  "make crash" runs the full set.

. "$(dirname "$0")/../lib.sh"
W=$(mktemp -d "${TMPDIR:-/tmp}/rext2-crashstates.XXXXXX")
trap 'rm -rf "$W"' EXIT
CS=$RPMEM_TOP/tests/crash/crashstates.py

"$RPMEM_TOP/tests/crash/run" --workload ops --states "${CRASH_STATES:-1500}" \
	--vm-samples 12 --out "$W" || FAILED=$((FAILED + 1))
"$RPMEM_TOP/tests/crash/run" --workload meta --steps 10 --states 600 \
	--vm-samples 0 --out "$W" || FAILED=$((FAILED + 1))

# Planted bugs: unlink with a fence after every write (the order rext2
# means to make durable), torn writes aside, has no bad state; with its
# first and last write swapped (the entry removed last, after the inode
# and its blocks were freed), or its fences dropped, the tool must find
# bad states and blame unlink.
O=$W/ops
bad_of() { python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["bad"])' "$1"; }
if [ -s "$O/rec/log" ]; then
	for plant in none swap:unlink drop-fences:unlink; do
		args=(--base "$O/base.img" --log "$O/rec/log" --fence-every-write --no-tear
		      --only unlink --states 300 --json "$W/plant.json")
		[ "$plant" = none ] || args+=(--plant "$plant")
		python3 "$CS" "${args[@]}" >"$W/plant.out" 2>&1
		rc=$?
		bad=$(bad_of "$W/plant.json" 2>/dev/null)
		if [ "$plant" = none ]; then
			check_eq "planted bugs: unlink, fenced after every write, not torn: no bad state" "0:0" "$rc:$bad"
		elif [ "$rc" = 0 ] && [ "${bad:-0}" -gt 0 ] && grep -q '^== unlink: [0-9]* bad states' "$W/plant.out"; then
			ok "planted bugs: $plant: caught, $bad bad states in unlink ($(grep -m1 '^planted:' "$W/plant.out"))"
		else
			not_ok "planted bugs: $plant: caught"
			tail -5 "$W/plant.out" >&2
		fi
	done
else
	not_ok "planted bugs: the operations workload left a log"
fi
finish
