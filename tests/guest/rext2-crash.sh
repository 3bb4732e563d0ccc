# SPDX-License-Identifier: GPL-2.0
# Guest side of tests/suites/rext2-crash.sh: mounts the image left by the
# previous kill (printing MOUNTED so that the host knows the mount after a
# crash worked), checks that the tree can be walked, then runs a
# metadata-heavy workload until the host kills the VM.  With FINAL=1 it
# empties the file system and unmounts instead.
. "$RPMEM_TOP/tests/lib.sh"
M=/mnt/c
insmod_rext2 || exit 1
mkdir -p $M
mount -t rext2 -o dax /dev/rpmem0 $M || exit 1
echo MOUNTED
find $M -xdev >/dev/null 2>&1 && echo WALKED
if [ "${FINAL:-0}" = 1 ]; then
	rm -rf $M/w* && echo EMPTIED
	umount $M && echo UNMOUNTED
	exit 0
fi
# Create, write, rename across directories, link, truncate, unlink,
# mkdir/rmdir, extended attributes and ACLs, forever, in one process so
# that the kill lands between many more operations than a shell loop
# would do (tests/guest/crash_workload.py, shared with the crash-state
# tests).
exec python3 "$RPMEM_TOP/tests/guest/crash_workload.py" meta "$M" "${SEED:-1}"
