# SPDX-License-Identifier: GPL-2.0
# Guest side of tests/suites/doctests.sh: reads the KUnit report of the
# kernel crate's doc tests from the kernel log.
. "$RPMEM_TOP/tests/lib.sh"

log=$(dmesg)
# "# rust_doctests_kernel: pass:P fail:F skip:S total:T"
read -r pass fail skip total < <(printf '%s\n' "$log" | sed -n \
	's/.*# rust_doctests_kernel: pass:\([0-9]*\) fail:\([0-9]*\) skip:\([0-9]*\) total:\([0-9]*\).*/\1 \2 \3 \4/p')
check "the kernel crate's doc tests ran" test -n "${total:-}"
check_eq "none of them failed" 0 "${fail:-none}"
check_eq "none was skipped" 0 "${skip:-none}"
echo "# rust_doctests_kernel: pass $pass of $total"

# Ours: every example in the project's files of rust/kernel ran and
# passed.  Each test logs "# NAME.location: FILE:LINE", then its result
# "ok N NAME".
for f in $(cd "$RPMEM_TOP" && find rust/kernel -name '*.rs' | sort); do
	names=$(printf '%s\n' "$log" | sed -n "s/.*# \(rust_doctest_kernel_[a-z0-9_]*\)\.location: ${f//\//\\/}:[0-9]*$/\1/p")
	[ -n "$names" ] || continue
	n=0 passed=0
	for t in $names; do
		n=$((n + 1))
		printf '%s\n' "$log" | grep -qE "\] +ok [0-9]+ $t\$" && passed=$((passed + 1))
	done
	check_eq "$f: its $n examples pass" "$n" "$passed"
	seen="${seen:-} $f"
done
for f in rust/kernel/pmem.rs rust/kernel/block/badblocks.rs rust/kernel/fs/blockfs/stat.rs \
	rust/kernel/fs/blockfs/xattr.rs; do
	check "$f has examples that ran" sh -c "echo '$seen' | grep -qw '$f'"
done
finish
