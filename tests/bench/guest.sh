# SPDX-License-Identifier: GPL-2.0
# Guest side of tests/bench/run.  Five NVDIMMs: nd_pmem takes them all,
# then gives namespaces 0 and 1 to rpmem, so that one VM has both drivers
# on devices of the same size.  Targets:
#
#   tmpfs        the in-memory limit
#   rext2        rext2 -o dax on rpmem
#   ext4-rpmem   ext4 -o dax=always on rpmem
#   ext4-pmem    ext4 -o dax=always on nd_pmem (an fsdax namespace)
#   xfs-pmem     XFS -o dax=always on nd_pmem (an fsdax namespace)
#   ext2-pmem    C ext2 (page cache) on nd_pmem (a raw namespace)
#
# SECTIONS (raw files dir fio by default) and TARGETS (all of the above
# by default) narrow a run, e.g. to big directories on the DAX targets.
#
# Each measurement is a line "RESULT SECTION WORKLOAD TARGET REP VALUE"
# in $OUT/results.txt (microseconds per operation, or MB/s for fio);
# repetitions are interleaved across targets.
. "$RPMEM_TOP/tests/lib.sh"
set -u
R=$OUT/results.txt
: >"$R"
SECTIONS=${SECTIONS:-raw files dir fio}
ALL_TARGETS="tmpfs rext2 ext4-rpmem ext4-pmem xfs-pmem ext2-pmem"
TARGETS=${TARGETS:-$ALL_TARGETS}
for t in $TARGETS; do
	case " $ALL_TARGETS " in *" $t "*) ;; *) fail "TARGETS: no target $t" ;; esac
done
section() { case " $SECTIONS " in *" $1 "*) ;; *) return 1 ;; esac; }
log() { echo "bench: $*" >&2; }
fail() { echo "bench: $*" >&2; exit 1; }

insmod "$KDIR/drivers/nvdimm/nd_pmem.ko" || fail "insmod nd_pmem"
for i in 0 1 2 3 4; do
	for _ in $(seq 100); do [ -e /sys/bus/nd/devices/namespace$i.0/block ] && break; sleep 0.1; done
done
for i in 0 1; do
	echo namespace$i.0 >/sys/bus/nd/drivers/nd_pmem/unbind || fail "unbind namespace$i.0"
done
insmod "$(module drivers/nvdimm/rpmem.ko)" || fail "insmod rpmem"
insmod "$(module fs/rext2/rext2.ko)" || fail "insmod rext2"
wait_dev /dev/rpmem0
wait_dev /dev/rpmem1
# nd_pmem serves DAX only on fsdax namespaces (a pfn info block; struct
# pages in RAM here): namespaces 2 and 3 become such, 4 stays raw.
blockdev() {
	ndctl list -n "$1" | python3 -c 'import json, sys
j = json.load(sys.stdin)
print((j[0] if isinstance(j, list) else j)["blockdev"])'
}
for i in 2 3; do
	ndctl create-namespace -f -e namespace$i.0 -m fsdax --map=mem >/dev/null ||
		fail "ndctl create-namespace -m fsdax namespace$i.0"
done
P2=/dev/$(blockdev namespace2.0) P3=/dev/$(blockdev namespace3.0) P4=/dev/$(blockdev namespace4.0)
[ "$(cat /sys/block/${P2#/dev/}/queue/dax)" = 1 ] || fail "$P2 has no DAX"
log "rpmem: rpmem0 rpmem1; nd_pmem: $P2 $P3 (fsdax) $P4 (raw)"

# Raw devices first: fio reads (O_DIRECT) on rpmem and nd_pmem, both on
# raw namespaces.
FIO="fio --output-format=terse --terse-version=3 --ioengine=psync --direct=1 --runtime=${FIO_SECONDS:-3} --time_based --group_reporting --name=b"
raw() { # DEV WORKLOAD
	local bw
	case $2 in
	randread-4k) bw=$($FIO --filename=$1 --rw=randread --bs=4k --size=256M | cut -d';' -f7) ;;
	seqread-1m) bw=$($FIO --filename=$1 --rw=read --bs=1M --size=256M | cut -d';' -f7) ;;
	esac
	echo "$((bw / 1024))"
}
section raw && for rep in $(seq "$REPS"); do
	for w in randread-4k seqread-1m; do
		echo "RESULT raw $w rpmem $rep $(raw /dev/rpmem1 $w)" >>"$R"
		echo "RESULT raw $w nd_pmem $rep $(raw $P4 $w)" >>"$R"
	done
done

mke2fs -q -F -t ext2 -b 4096 /dev/rpmem0 || fail "mke2fs rpmem0"
mkfs.ext4 -q -F -b 4096 /dev/rpmem1 || fail "mkfs.ext4 rpmem1"
mkfs.ext4 -q -F -b 4096 $P2 || fail "mkfs.ext4 $P2"
mkfs.xfs -q -f -m reflink=0 $P3 || fail "mkfs.xfs $P3"
mke2fs -q -F -t ext2 -b 4096 $P4 || fail "mke2fs $P4"
mkdir -p /mnt/b
for t in $TARGETS; do mkdir -p /mnt/b/$t; done
for t in $TARGETS; do
	case $t in
	tmpfs) mount -t tmpfs -o size=1G tmpfs /mnt/b/tmpfs ;;
	rext2) mount -t rext2 -o dax /dev/rpmem0 /mnt/b/rext2 ;;
	ext4-rpmem) mount -t ext4 -o dax=always /dev/rpmem1 /mnt/b/ext4-rpmem ;;
	ext4-pmem) mount -t ext4 -o dax=always $P2 /mnt/b/ext4-pmem ;;
	xfs-pmem) mount -t xfs -o dax=always $P3 /mnt/b/xfs-pmem ;;
	ext2-pmem) mount -t ext2 $P4 /mnt/b/ext2-pmem ;;
	esac || fail "mount $t"
done
grep ' /mnt/b/' /proc/mounts >&2

# Metadata: create, 1 KiB append, stat, unlink of N files.
section files && for rep in $(seq "$REPS"); do
	for t in $TARGETS; do
		"$METABENCH" files /mnt/b/$t/files-$rep "$FILES" | while read -r w v; do
			echo "RESULT files $w $t $rep $v"
		done >>"$R" || fail "metabench files on $t"
		rmdir /mnt/b/$t/files-$rep
	done
	log "files: repetition $rep done"
done

# One directory holding N entries: K operations of each kind.
section dir && for n in $DIR_SIZES; do
	for rep in $(seq "$REPS"); do
		for t in $TARGETS; do
			"$METABENCH" dir /mnt/b/$t/dir-$n-$rep "$n" "$DIR_OPS" | while read -r w v; do
				echo "RESULT dir-$n $w $t $rep $v"
			done >>"$R" || fail "metabench dir on $t"
			rm -rf /mnt/b/$t/dir-$n-$rep
		done
		log "directory of $n: repetition $rep done"
	done
done

# Data: fio on a 256 MiB file per target (4 KiB random read() and
# write(), 1 MiB sequential read and write, 1 MiB writes through mmap).
FIOF="fio --output-format=terse --terse-version=3 --runtime=${FIO_SECONDS:-3} --time_based --group_reporting --name=b --size=256M"
section fio && for rep in $(seq "$REPS"); do
	for t in $TARGETS; do
		f=/mnt/b/$t/fio
		for w in randread-4k randwrite-4k seqread-1m seqwrite-1m mmapwrite-1m; do
			case $w in
			randread-4k) o="--ioengine=psync --rw=randread --bs=4k"; c=7 ;;
			randwrite-4k) o="--ioengine=psync --rw=randwrite --bs=4k"; c=48 ;;
			seqread-1m) o="--ioengine=psync --rw=read --bs=1M"; c=7 ;;
			seqwrite-1m) o="--ioengine=psync --rw=write --bs=1M"; c=48 ;;
			mmapwrite-1m) o="--ioengine=mmap --rw=write --bs=1M"; c=48 ;;
			esac
			bw=$($FIOF --filename=$f $o | cut -d';' -f$c)
			echo "RESULT fio $w $t $rep $((bw / 1024))" >>"$R"
		done
		rm -f $f
	done
	log "fio: repetition $rep done"
done
for t in $TARGETS; do umount /mnt/b/$t; done
