# SPDX-License-Identifier: GPL-2.0
#
# Shared helpers for test suites, on the host and in the guest.
#
# A check reports one line, "ok - WHAT" or "not ok - WHAT"; tests/check
# counts those lines.  Details of a failure go to stderr, indented.

: "${RPMEM_TOP:=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}"
export RPMEM_TOP
: "${KDIR:=${KBUILD_CACHE:-$HOME/.cache/rpmem}/build}"
export KDIR

FAILED=0

ok() { echo "ok - $*"; }
not_ok() { echo "not ok - $*"; FAILED=$((FAILED + 1)); }

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

# Path of one of the project's modules, built by make.
module() { echo "$RPMEM_TOP/$1"; }

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

# In the guest: whether file $1 reports STATX_ATTR_DAX (0x200000).
dax_attr() {
	local a
	a=$(xfs_io -r -c 'statx -r' "$1" | awk '/^stat.attributes = / { print $3 }')
	[ -n "$a" ] && [ $((a & 0x200000)) != 0 ]
}
