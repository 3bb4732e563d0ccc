# SPDX-License-Identifier: GPL-2.0
# Guest side of tests/crash/run (crash states): records one workload on
# rext2 through rpmem's write log, or mounts a batch of crash images.
#
#   WORKLOAD=ops|meta OUT=DIR [STEPS=N SEED=N] bash rext2-crashstates.sh record
#       /dev/rpmem0 holds a fresh ext2 image.  Records (rpmem's debugfs
#       "record") from before the first mount to after the last unmount:
#       for ops, the setup of tests/guest/crash_workload.py, a mark
#       "base", then each operation alone (then a few appends through the
#       page cache, remounted -o dax=never); for meta, a mark "base" and
#       STEPS steps of the metadata workload.  Leaves the log in DIR/log.
#   MANIFEST=FILE bash rext2-crashstates.sh check
#       Each /dev/rpmemN holds one crash image: see tests/guest/crash_check.py.
. "$RPMEM_TOP/tests/lib.sh"
G=$RPMEM_TOP/tests/guest
insmod_rext2 || exit 1

case "$1" in
record)
	D=/sys/kernel/debug/rpmem0
	M=/mnt/r
	mkdir -p $M "$OUT"
	echo "on ${LOG_MIB:-128}" >$D/record || exit 1
	if [ "$WORKLOAD" = ops ]; then
		echo setup >$D/mark
		mount -t rext2 -o dax /dev/rpmem0 $M || exit 1
		python3 "$G/crash_workload.py" setup $M || exit 1
		umount $M || exit 1
	fi
	echo base >$D/mark
	echo "op mount" >$D/mark
	mount -t rext2 -o dax /dev/rpmem0 $M || exit 1
	if [ "$WORKLOAD" = ops ]; then
		python3 "$G/crash_workload.py" ops $M $D/mark
		rc=$?
		# Then appends through the page cache.
		echo "op remount-pagecache" >$D/mark
		umount $M || exit 1
		mount -t rext2 -o dax=never /dev/rpmem0 $M || exit 1
		python3 "$G/crash_workload.py" pagecache $M $D/mark || rc=1
		(exit $rc)
	else
		python3 "$G/crash_workload.py" meta $M "${SEED:-1}" "${STEPS:-40}" $D/mark
	fi
	rc=$?
	echo "op umount" >$D/mark
	umount $M || exit 1
	echo off >$D/record
	cat $D/record
	cat $D/log >"$OUT/log" || exit 1
	echo RECORDED
	exit $rc
	;;
check)
	exec python3 "$G/crash_check.py" "$MANIFEST"
	;;
esac
echo "usage: rext2-crashstates.sh record|check" >&2
exit 2
