#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The QEMU harness itself: qemu/run's exit status, splat detection,
# timeout, NVDIMM namespaces, persistence of the backing files, and the
# overlay -> bindings -> module pipeline.

. "$(dirname "$0")/../lib.sh"
RUN=$RPMEM_TOP/qemu/run
WORK=$(mktemp -d "${TMPDIR:-/tmp}/harness.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
# The current directory is shared read-write with the guest, at its path.
cd "$WORK" || exit 1

# 1. Exit status and output of a plain command.
out=$("$RUN" -- uname -r 2>"$WORK/err")
rc=$?
check_eq "qemu/run -- uname -r exits 0" 0 "$rc"
if [[ "$out" =~ ^7\.3\.[0-9]+$ ]]; then
	ok "guest runs kernel 7.3.x ($out)"
else
	not_ok "guest runs kernel 7.3.x"
	echo "    uname -r printed: '$out'" >&2
	sed 's/^/    /' "$WORK/err" >&2
fi

"$RUN" -- false 2>/dev/null
rc=$?
if [ "$rc" != 0 ]; then ok "qemu/run -- false exits non-zero ($rc)"; else not_ok "qemu/run -- false exits non-zero"; fi

"$RUN" -- sh -c 'exit 7' 2>/dev/null
check_eq "qemu/run passes the command's exit status through" 7 "$?"

# 2. A WARNING splat fails the run although the command succeeded.
"$RUN" -- insmod "$(module tests/modules/warn_splat.ko)" 2>"$WORK/err"
rc=$?
check_eq "a guest WARNING makes qemu/run fail (status 125)" 125 "$rc"
if grep -q 'kernel splat' "$WORK/err"; then
	ok "qemu/run names the splat"
else
	not_ok "qemu/run names the splat"
	sed 's/^/    /' "$WORK/err" >&2
fi

# 3. Timeout.
"$RUN" --timeout 40 -- sleep 600 2>/dev/null
check_eq "qemu/run --timeout kills a hung guest (status 124)" 124 "$?"

# 3b. Stopped from outside, as the crash suite cuts the power: qemu/run
#     exits 130, and once it has returned nothing of it holds its output
#     open (a late write there would land in the next boot's output).
"$RUN" -- sh -c 'while :; do echo tick; sleep 0.1; done' >"$WORK/ticks" 2>&1 &
vm=$!
while kill -0 $vm 2>/dev/null && ! grep -q tick "$WORK/ticks"; do
	sleep 0.2
done
sleep 1
kill -TERM $vm 2>/dev/null
wait $vm
check_eq "qemu/run stopped by SIGTERM exits 130" 130 "$?"
check_eq "no process of it still has its output open" "" "$(fuser "$WORK/ticks" 2>/dev/null)"

# 4. In the guest: NVDIMM namespaces, the NFIT, the overlay's module, and
#    a write through the C nd_pmem that must land in the backing file.
cat >"$WORK/guest.sh" <<'EOT'
. "$RPMEM_TOP/tests/lib.sh"
ns=$(ls /sys/bus/nd/devices | grep -c '^namespace[0-9]*\.0$')
check_eq "two NVDIMM namespaces in /sys/bus/nd/devices" 2 "$ns"
check "the ACPI NFIT is present" test -e /sys/firmware/acpi/tables/NFIT
check "nd_pmem is not loaded behind our back" sh -c '! grep -q "^nd_pmem " /proc/modules'

mark_dmesg
check "insmod rpmem_selftest.ko" insmod "$(module tests/modules/rpmem_selftest.ko)"
check "rpmem_selftest verified kernel::pmem copies" sh -c 'dmesg | grep -q "rpmem_selftest: pmem copies of 4109 bytes read back: ok"'
check "rmmod rpmem_selftest" rmmod rpmem_selftest

check "insmod the C nd_pmem" insmod "$KDIR/drivers/nvdimm/nd_pmem.ko"
for i in 0 1; do
	[ -b /dev/pmem$i ] || sleep 1
done
check "the C nd_pmem gives /dev/pmem1" test -b /dev/pmem1
head -c 1048576 /dev/urandom >/tmp/pattern
check "O_DIRECT write of 1 MiB at 4 MiB into /dev/pmem1" \
	dd if=/tmp/pattern of=/dev/pmem1 bs=1M seek=4 count=1 oflag=direct,sync status=none
sha256sum </tmp/pattern | cut -d' ' -f1 >"$OUT/pattern.sha256"
check "rmmod nd_pmem" rmmod nd_pmem
finish
EOT
"$RUN" --keep-images "$WORK/img" -- env OUT="$WORK" bash "$WORK/guest.sh"
check_eq "guest checks ran cleanly" 0 "$?"

# 5. The bytes written in the guest are in the host's backing file (raw
#    namespace: namespace offset 0 is file offset 0).
if [ -s "$WORK/pattern.sha256" ]; then
	got=$(dd if="$WORK/img/nvdimm1.img" bs=1M skip=4 count=1 status=none | sha256sum | cut -d' ' -f1)
	check_eq "the guest's write is in the kept NVDIMM image" "$(cat "$WORK/pattern.sha256")" "$got"
else
	not_ok "the guest's write is in the kept NVDIMM image (no checksum came back)"
fi

# 6. make run's demo (tests/demo): every step it shows holds.
check "the make run demo (rpmem, rext2 with DAX, mmap, a 2 MiB mapping, e2fsck, C ext2, ext4)" \
	"$RUN" -- "$RPMEM_TOP/tests/demo"

# make bench loads modules built for its own kernel, from their directory.
check_eq "module() takes RPMEM_MODULE_DIR's modules when it is set (make bench)" \
	"/bench/fs/rext2/rext2.ko" "$(RPMEM_MODULE_DIR=/bench module fs/rext2/rext2.ko)"
check_eq "module() takes the tree's otherwise" \
	"$RPMEM_TOP/fs/rext2/rext2.ko" "$(RPMEM_MODULE_DIR='' module fs/rext2/rext2.ko)"
finish
