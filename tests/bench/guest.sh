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
# SECTIONS (raw pmd files dir fio by default) and TARGETS (all of the
# above by default) narrow a run, e.g. to big directories on the DAX
# targets.
#
# Each measurement is a line "RESULT SECTION WORKLOAD TARGET REP VALUE"
# in $OUT/results.txt (microseconds per operation, MB/s for raw and fio,
# per cent of 2 MiB faults mapped whole for pmd); repetitions are
# interleaved across targets.
. "$RPMEM_TOP/tests/lib.sh"
set -u -o pipefail
R=$OUT/results.txt
: >"$R"
section() { case " $SECTIONS " in *" $1 "*) ;; *) return 1 ;; esac; }
log() { echo "bench: $*" >&2; }
fail() { echo "bench: $*" >&2; exit 1; }
SECTIONS=${SECTIONS:-raw pmd files dir fio}
ALL_TARGETS="tmpfs rext2 ext4-rpmem ext4-pmem xfs-pmem ext2-pmem"
TARGETS=${TARGETS:-$ALL_TARGETS}
for t in $TARGETS; do
	case " $ALL_TARGETS " in *" $t "*) ;; *) fail "TARGETS: no target $t" ;; esac
done

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

# Raw devices first: fio (O_DIRECT) on rpmem and nd_pmem, both on raw
# namespaces, before the file systems are made on them.
FIO_SIZE=${FIO_SIZE:-256M}
FIO="fio --output-format=terse --terse-version=3 --ioengine=psync --direct=1 --runtime=${FIO_SECONDS:-3} --time_based --group_reporting --name=b"
raw() { # DEV WORKLOAD
	local bw
	case $2 in
	randread-4k) bw=$($FIO --filename=$1 --rw=randread --bs=4k --size=$FIO_SIZE | cut -d';' -f7) ;;
	randwrite-4k) bw=$($FIO --filename=$1 --rw=randwrite --bs=4k --size=$FIO_SIZE | cut -d';' -f48) ;;
	seqread-1m) bw=$($FIO --filename=$1 --rw=read --bs=1M --size=$FIO_SIZE | cut -d';' -f7) ;;
	seqwrite-1m) bw=$($FIO --filename=$1 --rw=write --bs=1M --size=$FIO_SIZE | cut -d';' -f48) ;;
	esac
	echo "$bw" | awk '{ printf "%.1f", $1 / 1024 }'
}
# Each device written once first, untimed: the host backs the NVDIMMs
# with sparse files, and first touches of their pages are not what is
# measured.
section raw && for d in /dev/rpmem1 $P4; do
	dd if=/dev/zero of=$d bs=1M count=$(($(numfmt --from=iec "$FIO_SIZE") >> 20)) oflag=direct \
		status=none || fail "dd $d"
done
section raw && for rep in $(seq "$REPS"); do
	for w in randread-4k randwrite-4k seqread-1m seqwrite-1m; do
		echo "RESULT raw $w rpmem $rep $(raw /dev/rpmem1 $w)" >>"$R"
		echo "RESULT raw $w nd_pmem $rep $(raw $P4 $w)" >>"$R"
	done
done

# Inodes for the biggest directory (ext2 and ext4 fix their count at
# mkfs time, one per 16 KiB by default; XFS and tmpfs make them as
# needed): "-N COUNT" when DEV's default has fewer than COUNT.
inodes() { # DEV COUNT
	[ "$2" -gt $(($(cat /sys/class/block/${1#/dev/}/size) * 512 / 16384)) ] && echo "-N $2"
}
DIR_MAX=0
section dir && for n in $DIR_SIZES; do
	[ "$n" -ge "$DIR_MAX" ] || fail "DIR_SIZES must grow: $DIR_SIZES"
	DIR_MAX=$n
done
INODES=$((DIR_MAX + DIR_OPS + FILES + 10000))
# rext2 reads only groups of 32768 blocks (128 MiB), of at most 32768
# inodes each: a million inodes take 4 GiB.
groups=$(($(cat /sys/class/block/rpmem0/size) * 512 >> 27))
[ "$INODES" -le $((groups * 32768)) ] ||
	fail "NVDIMM_SIZE too small for $INODES inodes in ext2 groups of 128 MiB"
# C ext2's directories are linear: filling one costs the square of its
# size, so ext2-pmem stops at LINEAR_MAX entries.
LINEAR_MAX=${LINEAR_MAX:-10000}
mke2fs -q -F -t ext2 -b 4096 $(inodes /dev/rpmem0 $INODES) /dev/rpmem0 || fail "mke2fs rpmem0"
mkfs.ext4 -q -F -b 4096 $(inodes /dev/rpmem1 $INODES) /dev/rpmem1 || fail "mkfs.ext4 rpmem1"
mkfs.ext4 -q -F -b 4096 $(inodes $P2 $INODES) $P2 || fail "mkfs.ext4 $P2"
mkfs.xfs -q -f -m reflink=0 $P3 || fail "mkfs.xfs $P3"
mke2fs -q -F -t ext2 -b 4096 $(inodes $P4 $((LINEAR_MAX + DIR_OPS + FILES + 10000))) $P4 ||
	fail "mke2fs $P4"
mkdir -p /mnt/b
for t in $TARGETS; do mkdir -p /mnt/b/$t; done
for t in $TARGETS; do
	case $t in
	tmpfs) mount -t tmpfs -o size=1G,nr_inodes=0 tmpfs /mnt/b/tmpfs ;;
	rext2) mount -t rext2 -o dax /dev/rpmem0 /mnt/b/rext2 ;;
	ext4-rpmem) mount -t ext4 -o dax=always /dev/rpmem1 /mnt/b/ext4-rpmem ;;
	ext4-pmem) mount -t ext4 -o dax=always $P2 /mnt/b/ext4-pmem ;;
	xfs-pmem) mount -t xfs -o dax=always $P3 /mnt/b/xfs-pmem ;;
	ext2-pmem) mount -t ext2 $P4 /mnt/b/ext2-pmem ;;
	esac || fail "mount $t"
done
grep ' /mnt/b/' /proc/mounts >&2

# 2 MiB mappings, first on the fresh file systems: a PMD_MB file written
# with write(), then mapped and touched once in each 2 MiB, read and then
# written.  Each touch is one PMD fault (fs_dax:dax_pmd_fault_done); the
# result is the per cent of them that mapped 2 MiB (NOPAGE) rather than
# falling back to 4 KiB pages.
T=/sys/kernel/tracing
section pmd && {
	[ -e $T/events/fs_dax/dax_pmd_fault_done/enable ] || fail "no fs_dax trace events in $T"
	PMD_MB=${PMD_MB:-256}
	[ "$PMD_MB" -ge 2 ] && [ $((PMD_MB % 2)) = 0 ] || fail "PMD_MB must be even: $PMD_MB"
	for t in $TARGETS; do
		case $t in tmpfs | ext2-pmem) continue ;; esac
		f=/mnt/b/$t/pmd
		dd if=/dev/zero of=$f bs=1M count="$PMD_MB" conv=fsync status=none || fail "dd $f"
		for w in read write; do
			echo 0 >$T/tracing_on
			: >$T/trace
			echo 1 >$T/events/fs_dax/dax_pmd_fault_done/enable
			echo 1 >$T/tracing_on
			"$METABENCH" touch $f $w || fail "metabench touch $f $w"
			echo 0 >$T/tracing_on
			echo 0 >$T/events/fs_dax/dax_pmd_fault_done/enable
			mapped=$(grep -c 'dax_pmd_fault_done.*NOPAGE' $T/trace)
			echo "RESULT pmd $w-faults $t 1 $((mapped * 100 / (PMD_MB / 2)))" >>"$R"
		done
		rm -f $f
	done
}

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

# Data: fio on a FIO_SIZE (256 MiB) file per target (4 KiB random read()
# and write(), 1 MiB sequential read and write; through mmap, 4 KiB random
# reads, 1 MiB sequential reads and 1 MiB writes).
FIOF="fio --output-format=terse --terse-version=3 --runtime=${FIO_SECONDS:-3} --time_based --group_reporting --name=b --size=$FIO_SIZE"
section fio && for rep in $(seq "$REPS"); do
	for t in $TARGETS; do
		f=/mnt/b/$t/fio
		for w in randread-4k randwrite-4k seqread-1m seqwrite-1m mmapread-4k mmapread-1m mmapwrite-1m; do
			case $w in
			randread-4k) o="--ioengine=psync --rw=randread --bs=4k"; c=7 ;;
			randwrite-4k) o="--ioengine=psync --rw=randwrite --bs=4k"; c=48 ;;
			seqread-1m) o="--ioengine=psync --rw=read --bs=1M"; c=7 ;;
			seqwrite-1m) o="--ioengine=psync --rw=write --bs=1M"; c=48 ;;
			mmapread-4k) o="--ioengine=mmap --rw=randread --bs=4k"; c=7 ;;
			mmapread-1m) o="--ioengine=mmap --rw=read --bs=1M"; c=7 ;;
			mmapwrite-1m) o="--ioengine=mmap --rw=write --bs=1M"; c=48 ;;
			esac
			bw=$($FIOF --filename=$f $o | cut -d';' -f$c)
			echo "RESULT fio $w $t $rep $(echo "$bw" | awk '{ printf "%.1f", $1 / 1024 }')" >>"$R"
		done
		rm -f $f
	done
	log "fio: repetition $rep done"
done
# Last, as nothing is removed after it: one directory grown to each of
# DIR_SIZES entries in turn (untimed), with DIR_OPS operations of each
# kind at each size.
section dir && {
	prev=0
	for n in $DIR_SIZES; do
		for t in $TARGETS; do
			[ $t = ext2-pmem ] && [ "$n" -gt "$LINEAR_MAX" ] && continue
			"$METABENCH" fill /mnt/b/$t/dir $prev "$n" || fail "metabench fill on $t"
		done
		log "directories of $n entries filled"
		for rep in $(seq "$REPS"); do
			for t in $TARGETS; do
				[ $t = ext2-pmem ] && [ "$n" -gt "$LINEAR_MAX" ] && continue
				"$METABENCH" ops /mnt/b/$t/dir "$DIR_OPS" | while read -r w v; do
					echo "RESULT dir-$n $w $t $rep $v"
				done >>"$R" || fail "metabench ops on $t"
			done
			log "directory of $n: repetition $rep done"
		done
		prev=$n
	done
}

for t in $TARGETS; do umount /mnt/b/$t; done
