#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# xfstests on rext2, the fixed CI subset (tests/xfstests/ci.list: the dax
# group and a few fast tests), in one VM: one line per test against
# tests/xfstests/expected.txt ("not ok" for a test expected to pass that
# did not; tests known to fail are "ok ... as expected"), one for the
# run itself (no kernel splat outside the tests, e2fsck -fn clean
# afterwards).  The first run also builds xfstests into the build cache.
# The results stay in the log directory (xfstests-rext2/).

. "$(dirname "$0")/../lib.sh"

LOGDIR=${TEST_LOGDIR:-$(mktemp -d "${TMPDIR:-/tmp}/xfstests-suite.XXXXXX")}
RUN_DIR=$LOGDIR/xfstests-rext2
rm -rf "$RUN_DIR"
start=$SECONDS
FSTYP=rext2 GROUP=ci TESTS="" SHARD="" JOBS=1 TAP=1 RUN_DIR=$RUN_DIR \
	"$RPMEM_TOP/tests/xfstests/run"
status=$?
echo "xfstests suite: $((SECONDS - start))s"
exit $status
