#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The kernel's rules, on the host: rustfmt, clippy (CLIPPY=1, with the
# kernel's lint set, which includes undocumented_unsafe_blocks), checkpatch
# --strict on the C helpers, and no bindings:: or unsafe in leaf code
# (drivers/, fs/): they go through rust/kernel/ abstractions.

. "$(dirname "$0")/../lib.sh"
cd "$RPMEM_TOP" || exit 1
SRC=$(cd "$KDIR" && cat source 2>/dev/null || readlink -f "$KDIR/source")
[ -d "$SRC" ] || SRC=$KBUILD_CACHE/src

mapfile -t rs < <(git ls-files -co --exclude-standard '*.rs')
check "rustfmt --check on ${#rs[@]} Rust files (make rustfmtcheck)" make -s rustfmtcheck

mapfile -t cs < <(git ls-files -co --exclude-standard 'rust/helpers/*.c')
check "checkpatch --strict on the C helpers" \
	"$SRC/scripts/checkpatch.pl" --strict --no-tree --quiet -f "${cs[@]}"

leaf=$(git ls-files -co --exclude-standard 'drivers/*.rs' 'fs/*.rs')
hits=$(grep -n 'bindings::' $leaf /dev/null)
check_eq "no bindings:: in drivers/ and fs/" "" "$hits"
hits=$(grep -nw 'unsafe' $leaf /dev/null)
check_eq "no unsafe in drivers/ and fs/" "" "$hits"

# Every unsafe fn documents its contract, every unsafe block its reasoning:
# clippy checks blocks; this checks that `unsafe fn` has a `# Safety` doc
# (methods of trait impls take the trait's).  A trait impl is skipped to
# its closing brace, so a one-line `impl ... {}` must not count as one.
missing_safety() {
	awk 'FNR == 1 { doc = ""; timpl = 0 }
	/^(unsafe )?impl.* for .*\{$/ { timpl = 1 }
	/^}/ { timpl = 0 }
	/^[ \t]*\/\/\// { doc = doc $0 "\n"; next }
	/^[ \t]*#\[/ { next }
	/unsafe (extern "C" )?fn / && !timpl && doc !~ /# Safety/ { print FILENAME ":" FNR ": " $0 }
	{ doc = "" }' "$@"
}
fixture=tests/lint/missing-safety.rs
check_eq "the # Safety check flags what it must (tests/lint/missing-safety.rs)" \
	"$(grep -n ' FLAG$' $fixture | awk -F: '{ print $1 + 1 }' | xargs)" \
	"$(missing_safety $fixture | awk -F: '{ print $2 }' | xargs)"
missing=$(missing_safety $(git ls-files -co --exclude-standard 'rust/*.rs' 'drivers/*.rs' 'fs/*.rs'))
check_eq "every unsafe fn has a # Safety section" "" "$missing"

out=$(make -s clippy 2>&1)
rc=$?
warn=$(printf '%s\n' "$out" | grep -E '^(warning|error)' | sort | uniq -c)
if [ "$rc" = 0 ] && [ -z "$warn" ]; then
	ok "modules are clippy clean (CLIPPY=1)"
else
	not_ok "modules are clippy clean (CLIPPY=1)"
	printf '%s\n' "$out" | head -40 | sed 's/^/    /' >&2
fi
if [ "$(cd "$KDIR" && pwd)" = "$(cd "$KBUILD_CACHE/build" 2>/dev/null && pwd)" ]; then
	check "the rust/ overlay is clippy clean (kernel crate, kernel lint set)" \
		"$RPMEM_TOP/scripts/clippy-overlay" "$KBUILD_CACHE"
else
	echo "# skipped: overlay clippy needs the cached kernel (KDIR=$KDIR)"
fi
# What the abstractions' types must refuse (unsound before they did).
make -s compile-fail || FAILED=$((FAILED + 1))
# Rebuild without clippy so the modules the VM suites load are ordinary.
make -s modules >/dev/null 2>&1
# The patch series (make patches, make patches-check): it applies to the
# pristine kernel files, equals the overlay, and checkpatch --strict,
# rustfmt and docutils are clean on it.
series=$(mktemp -d "${TMPDIR:-/tmp}/lint-series.XXXXXX")
if "$RPMEM_TOP/scripts/make-patches" "$series/out" >"$series/log" 2>&1; then
	ok "make patches writes the series ($(ls "$series"/out/*.patch | wc -l) files)"
	if "$RPMEM_TOP/scripts/check-patches" "$series/out" >"$series/check" 2>&1; then
		ok "make patches-check: $(grep -c '^ok' "$series/check") checks on the series"
	else
		not_ok "make patches-check"
		grep -v '^ok' "$series/check" | head -20 >&2
	fi
else
	not_ok "make patches writes the series"
	tail -5 "$series/log" >&2
fi
rm -rf "$series"

finish
