#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# rext2 image fuzzing in the VM (tests/fuzz/fuzz-images): mutated ext2
# images (seeds with every file kind, mutated where the metadata is:
# superblock, group descriptors, bitmaps, inodes, directory entries,
# indirect and attribute blocks) are each written to an rpmem disk,
# mounted (read-write, else read-only), walked, read, mapped, modified
# and unmounted.  A refused mount and errors from system calls are fine;
# a kernel splat, a hang, a VM death, a failed allocation or a disk left
# mounted or busy fails the image, which is kept with its log.
#
# Then the reproducers of the bugs fuzzing found (tests/fuzz/repro/).
#
# A fixed-seed sample sized for CI by default; FUZZ_N, FUZZ_SEED,
# FUZZ_FIRST, FUZZ_OUT (where images and failures go) and FUZZ_CRASH_SEED=1
# (add the image a killed crash workload leaves to the seeds) for
# campaigns: make fuzz-images N=2000 SEED=1.

. "$(dirname "$0")/../lib.sh"
N=${FUZZ_N:-100}
SEED=${FUZZ_SEED:-ci}
FIRST=${FUZZ_FIRST:-0}
OUT=${FUZZ_OUT:-${TEST_LOGDIR:-${TMPDIR:-/tmp}}/rext2-fuzz-$SEED}
mkdir -p "$OUT"

check "the seed images are built and e2fsck-clean" bash -c '
	[ -f "$1/seeds/seeds.txt" ] || CRASH_SEED=${FUZZ_CRASH_SEED:-0} \
		bash "$RPMEM_TOP/tests/fuzz/make-seeds.sh" "$1/seeds" >/dev/null &&
	for s in $(cut -d" " -f1 "$1/seeds/seeds.txt"); do
		[ "$s" = crash ] || e2fsck -fn "$1/seeds/$s.img" || exit 1
	done' - "$OUT"

# The mutations are a function of (seed, index) alone.
check "the mutator is deterministic" bash -c '
	a=$(python3 "$RPMEM_TOP/tests/fuzz/mutate.py" show "$1/seeds" "$2" 0 20 | sha256sum)
	b=$(python3 "$RPMEM_TOP/tests/fuzz/mutate.py" show "$1/seeds" "$2" 0 20 | sha256sum)
	[ "$a" = "$b" ]' - "$OUT" "$SEED"

start=$SECONDS
"$RPMEM_TOP/tests/fuzz/fuzz-images" -n "$N" --seed "$SEED" --first "$FIRST" --out "$OUT" \
	>"$OUT/fuzz.out" 2>"$OUT/fuzz.err"
rc=$?
sed 's/^/    /' "$OUT/fuzz.err" | tail -n 30 >&2
check_eq "all $N images processed" yes "$([ $rc -le 1 ] && echo yes || echo no)"

# One line per failure class: how many images, and the distinct
# signatures (failures/INDEX-CLASS/ has the image, its story and log).
for cls in panic warning lockdep hang alloc leak vm-death; do
	set -- $(awk -v c="$cls" '$1 == "class" && $2 == c { $1 = ""; $2 = ""; print }' "$OUT/summary.txt" 2>/dev/null)
	if [ "${1:-0}" = 0 ]; then
		ok "no $cls"
		continue
	fi
	not_ok "no $cls ($1 images)"
	shift
	for i in "$@"; do echo "    $i: $(cat "$OUT/failures/$i-$cls/signature.txt")"; done | sort -t: -k2 -u >&2
done
summary=$(head -3 "$OUT/summary.txt" 2>/dev/null | paste -sd ';' | sed 's/;/; /g')
check_eq "summary: $summary; in $((SECONDS - start)) s; results in $OUT" 0 "$rc"
# The bugs the fuzzer found, each rebuilt from its recipe
# (tests/fuzz/repro/): each must stay fixed.
"$RPMEM_TOP/tests/fuzz/repro/run" || FAILED=$((FAILED + 1))

finish
