# SPDX-License-Identifier: GPL-2.0
"""What the Python halves of the guest suites share: one "ok - WHAT" or
"not ok - WHAT" line per check (counted by tests/check), and the exit
status that says whether any failed."""

import sys

failed = 0


def ok(cond, what, detail=""):
    global failed
    if cond:
        print("ok - " + what, flush=True)
    else:
        failed += 1
        print("not ok - " + what, flush=True)
        if detail:
            print("    " + str(detail), file=sys.stderr, flush=True)


def errno_of(fn):
    """The errno of the OSError fn() raises, 0 if it succeeds."""
    try:
        fn()
    except OSError as e:
        return e.errno
    return 0


def exit_status():
    return 1 if failed else 0
