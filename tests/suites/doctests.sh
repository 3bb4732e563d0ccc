#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# doctests: the `# Examples` of the kernel crate, ours among them, built
# as KUnit tests (CONFIG_RUST_KERNEL_DOCTESTS) and run at boot.  The test
# kernel leaves KUnit off (CONFIG_KUNIT_DEFAULT_ENABLED=n) so that other
# boots do not spend time on them; this one turns it on.

. "$(dirname "$0")/../lib.sh"
RUN=$RPMEM_TOP/qemu/run

"$RUN" --nvdimms 1 --append "kunit.enable=1 log_buf_len=4M" --timeout 900 -- \
	bash "$RPMEM_TOP/tests/guest/doctests.sh"
check_eq "guest checks ran, no kernel splat" 0 "$?"
finish
