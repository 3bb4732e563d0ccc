#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make bench, as a smoke run: tests/bench/run with its QUICK settings cut
# further (two repetitions, so that minima and maxima show).  Checks that
# the run succeeds (qemu/run fails it on a kernel splat), that every
# section measured every workload on every target, that the tables, the
# goals and the plot are written, and that rext2 maps each 2 MiB of a
# file written 1 MiB at a time with a PMD.  The timings themselves are
# not judged: this short, under TCG, they mean nothing.

. "$(dirname "$0")/../lib.sh"
OUT=$(mktemp -d "${TMPDIR:-/tmp}/bench.XXXXXX")
trap 'rm -rf "$OUT"' EXIT

if QUICK=1 REPS=2 FILES=50 DIR_SIZES="100 200" DIR_OPS=20 FIO_SECONDS=1 FIO_SIZE=32M \
	PMD_MB=16 BENCH_TIMEOUT=1800 BENCH_OUT=$OUT "$RPMEM_TOP/tests/bench/run" >"$OUT/run.log" 2>&1; then
	ok "make bench QUICK=1 (cut further) runs to the end"
else
	not_ok "make bench QUICK=1 (cut further) runs to the end"
	grep -v '^\[ ' "$OUT/run.log" | tail -30 >&2
fi

all="tmpfs rext2 ext4-rpmem ext4-pmem xfs-pmem ext2-pmem"
meta="create stat-warm stat-cold stat-evicted unlink"
# SECTION WORKLOADS TARGETS (comma-separated): each measured twice.
missing=$(
	while read -r sec workloads targets; do
		for w in ${workloads//,/ }; do
			for t in ${targets//,/ }; do
				n=$(awk -v s="$sec" -v w="$w" -v t="$t" \
					'$1 == "RESULT" && $2 == s && $3 == w && $4 == t && $6 > 0' \
					"$OUT/results.txt" 2>/dev/null | wc -l)
				[ "$n" = 2 ] || echo "$sec $w $t: $n results"
			done
		done
	done <<EOT
raw randread-4k,randwrite-4k,seqread-1m,seqwrite-1m rpmem,nd_pmem
files create,append,stat-warm,stat-evicted,unlink,create-sync,append-sync,unlink-sync ${all// /,}
dir-100 ${meta// /,} ${all// /,}
dir-200 ${meta// /,} ${all// /,}
fio randread-4k,randwrite-4k,seqread-1m,seqwrite-1m,mmapread-4k,mmapread-1m,mmapwrite-1m ${all// /,}
EOT
)
check_eq "every section measured every workload on every target, twice" "" "$missing"
for w in read write; do
	check_eq "pmd: rext2 maps each 2 MiB of a file written 1 MiB at a time ($w faults)" 100 \
		"$(awk -v w="$w-faults" '$2 == "pmd" && $3 == w && $4 == "rext2" { print $6 }' \
			"$OUT/results.txt" 2>/dev/null)"
done
check "pmd: the other DAX targets were counted too" \
	test "$(awk '$2 == "pmd"' "$OUT/results.txt" 2>/dev/null | wc -l)" = 8
for h in "raw (MB/s" "files (us per operation" "dir-200 (us" "fio (MB/s" \
	"| create | " "| goal | measured | met |" "| create: rext2 at least 2x ext4-dax"; do
	check "summary.md has '$h'" grep -qF "$h" "$OUT/summary.md"
done
check "summary.md names the kernel it ran on (the suites' own, with lockdep)" \
	grep -qE '^kernel: .*, with lockdep' "$OUT/summary.md"
check "summary.md gives median (min-max) and ratios" \
	grep -qE '^\| randread-4k \| [0-9.]+ \([0-9.]+-[0-9.]+\) [0-9.]+x' "$OUT/summary.md"
check "bench.png is a PNG image" \
	sh -c "head -c 8 '$OUT/bench.png' | od -An -tx1 | grep -q '89 50 4e 47 0d 0a 1a 0a'"
finish
