# SPDX-License-Identifier: GPL-2.0
# Guest side of tests/fuzz/fuzz-images: load the modules, make the hang
# detectors quick enough for a per-image time limit, run guest.py over a
# range of images, then unload rext2 (which fails if a mount or an inode
# leaked).  Arguments go to guest.py.
. "$RPMEM_TOP/tests/lib.sh"
insmod_rext2 || exit 1
# A task blocked for 20 s is reported (within 40 s); a soft lockup after
# 20 s (watchdog_thresh 10).  Splats must not stop the kernel: the runner
# attributes them to the image in hand.
echo 20 >/proc/sys/kernel/hung_task_timeout_secs 2>/dev/null
echo 10 >/proc/sys/kernel/watchdog_thresh 2>/dev/null
echo 0 >/proc/sys/kernel/hung_task_panic 2>/dev/null
echo 0 >/proc/sys/kernel/softlockup_panic 2>/dev/null
PYTHONDONTWRITEBYTECODE=1 python3 "$RPMEM_TOP/tests/fuzz/guest.py" "$@"
rc=$?
if [ $rc = 0 ]; then
	rmmod rext2 || { echo "rmmod rext2 failed: a reference leaked" >&2; exit 4; }
	rmmod rpmem || exit 4
fi
exit $rc
