# SPDX-License-Identifier: GPL-2.0
#
# Out-of-tree build of the project's modules against the pinned kernel,
# plus the developer entry points:
#
#   make run      build everything, boot a VM and show DAX at work
#   make check    host unit tests and in-VM test suites (T=name: one suite)
#   make crash    crash states at every ordering point (STATES=N, default
#                 10000; tests/crash/run; results in CRASH_OUT)
#   make fuzz-images  in-VM fuzzing of rext2 images (N, SEED, FUZZ_OUT)
#   make xfstests xfstests on rpmem in QEMU (FSTYP, TESTS or GROUP, SHARD,
#                 JOBS; tests/xfstests/run); make xfstests-compare puts
#                 ext4-dax and rext2 side by side
#   make bench    rext2 and rpmem against ext4/XFS with DAX, nd_pmem, C ext2
#                 and tmpfs in one VM (tests/bench/run: QUICK=1, REPS, ...),
#                 on a kernel built without the test kernel's debugging
#                 (qemu/bench.config; BENCH_KERNEL=test: the test kernel)
#   make patches  the project as a patch series against the pinned kernel,
#                 with a cover letter, in PATCHES_OUT (out/patches);
#                 make patches-check applies and checks it;
#                 make patches-build builds it patch by patch in a
#                 pristine tree (in-tree modules) and runs the rpmem and
#                 rext2 suites on them (SERIES_WORK, SUITES, BOOT=0)
#   make          build the kernel (if needed) and the modules
#
# KDIR=/path/to/prepared/tree builds against a kernel of your own instead
# of the cached one (it must have been built with the same toolchain and
# a configuration that includes qemu/kernel.config).

TOP := $(abspath $(dir $(lastword $(MAKEFILE_LIST))))

ifneq ($(KERNELRELEASE),)
# Invoked by Kbuild: the module list lives in Kbuild.
include $(TOP)/Kbuild
else

KBUILD_CACHE ?= $(HOME)/.cache/rpmem
CACHED_KDIR := $(KBUILD_CACHE)/build
KDIR ?= $(CACHED_KDIR)

# The kernel's Rust wants Debian's rustc-web toolchain, not rustup's.
RUST_TOOLCHAIN := RUSTC=/usr/bin/rustc RUSTDOC=/usr/bin/rustdoc \
	RUSTFMT=/usr/bin/rustfmt CLIPPY_DRIVER=/usr/bin/clippy-driver \
	BINDGEN=/usr/local/bin/bindgen \
	RUST_LIB_SRC=/usr/lib/rustlib/src/rust/library \
	LIBCLANG_PATH=/usr/lib/llvm-22/lib
KMAKE := $(MAKE) -C $(KDIR) $(RUST_TOOLCHAIN)

export KDIR KBUILD_CACHE

.PHONY: all deps kernel modules run check crash fsx clean rustfmt rustfmtcheck clippy compile-fail fuzz-images
.PHONY: xfstests xfstests-build xfstests-compare bench patches patches-check patches-build

all: modules

deps:
	@$(TOP)/scripts/install-deps

ifeq ($(KDIR),$(CACHED_KDIR))
kernel: deps
	@KMAKE_ARGS="$(RUST_TOOLCHAIN)" $(TOP)/scripts/prepare-kernel $(KBUILD_CACHE)
else
kernel:
	@test -f $(KDIR)/Module.symvers || \
		{ echo "KDIR=$(KDIR) is not a built kernel tree" >&2; exit 1; }
endif

modules: kernel
	+$(KMAKE) M=$(TOP) modules

clippy: kernel
	+$(KMAKE) M=$(TOP) CLIPPY=1 modules

# Uses of the abstractions that must not compile (tests/compile-fail/).
compile-fail: kernel
	@$(TOP)/tests/compile-fail/check $(RUST_TOOLCHAIN)

RUST_SOURCES = $(shell cd $(TOP) && git ls-files -co --exclude-standard '*.rs')
RUSTFMT := $(TOP)/scripts/rustfmt

rustfmt:
	cd $(TOP) && $(RUSTFMT) $(RUST_SOURCES)

rustfmtcheck:
	cd $(TOP) && $(RUSTFMT) --check $(RUST_SOURCES)

run: modules
	$(TOP)/qemu/run -- $(TOP)/tests/demo

check: modules
	$(TOP)/tests/check $(T)

STATES ?= 10000
CRASH_OUT ?= $(or $(TMPDIR),/tmp)/rpmem-crash
crash: modules
	$(TOP)/tests/crash/run --workload all --states $(STATES) --steps 120 --vm-samples 24 \
		--out $(CRASH_OUT)

# fsx at length: the rext2-rw (DAX) and rext2-pagecache (page cache)
# suites with FSX_OPS operations for each of their seeds (FSX_SEEDS in
# rext2-rw; make check runs 20,000 each).
FSX_OPS ?= 100000
fsx: modules
	FSX_OPS=$(FSX_OPS) $(TOP)/tests/check rext2-rw && \
		FSX_OPS=$(FSX_OPS) $(TOP)/tests/check rext2-pagecache

# In-VM image fuzzing of rext2: the rext2-fuzz suite on N images of seed
# SEED, with the crash workload's image among the seeds (FIRST: the first
# index; FUZZ_OUT: where seeds and failures are kept).
fuzz-images: modules
	FUZZ_N=$(or $(N),2000) FUZZ_SEED=$(or $(SEED),1) FUZZ_FIRST=$(or $(FIRST),0) FUZZ_CRASH_SEED=1 \
		FUZZ_OUT=$(or $(FUZZ_OUT),/var/tmp/rext2-fuzz/seed-$(or $(SEED),1)) \
		$(TOP)/tests/check rext2-fuzz

# xfstests on rpmem devices in QEMU (tests/xfstests/run documents the
# settings: FSTYP, TESTS or GROUP, SHARD, JOBS, RESULTS, ...).
XFSTESTS_ENV = FSTYP="$(FSTYP)" TESTS="$(TESTS)" GROUP="$(GROUP)" \
	SHARD="$(SHARD)" JOBS="$(JOBS)" RESULTS="$(RESULTS)"

xfstests-build: deps
	@$(TOP)/tests/xfstests/build >/dev/null

xfstests: modules xfstests-build
	$(XFSTESTS_ENV) $(TOP)/tests/xfstests/run

xfstests-compare: modules xfstests-build
	$(XFSTESTS_ENV) $(TOP)/tests/xfstests/compare

# Benchmarks, side by side in one VM (tests/bench/run documents the
# settings). With the cached kernel they run on its benchmark twin
# (scripts/prepare-kernel --bench: lockdep and the other debugging off),
# with modules built for it in BENCH_MODULES; with BENCH_KERNEL=test,
# or a KDIR of your own, on the kernel the suites use.
BENCH_KERNEL ?= bench
BENCH_KDIR := $(KBUILD_CACHE)/build-bench
# One per checkout: a run may load its modules hours after it started.
BENCH_MODULES := $(KBUILD_CACHE)/bench-modules/$(shell printf %s '$(TOP)' | sha1sum | cut -c1-12)
ifeq ($(KDIR)-$(BENCH_KERNEL),$(CACHED_KDIR)-bench)
.PHONY: bench-kernel bench-modules
bench-kernel: deps
	@KMAKE_ARGS="$(RUST_TOOLCHAIN)" $(TOP)/scripts/prepare-kernel --bench $(KBUILD_CACHE)

# Built from a copy of the modules' sources, refreshed from TOP
# (scripts/copy-module-sources).
bench-modules: bench-kernel
	@$(TOP)/scripts/copy-module-sources $(TOP) $(BENCH_MODULES)
	+$(MAKE) -C $(BENCH_KDIR) $(RUST_TOOLCHAIN) M=$(BENCH_MODULES) modules

bench: bench-modules
	KDIR=$(BENCH_KDIR) RPMEM_MODULE_DIR=$(BENCH_MODULES) $(TOP)/tests/bench/run
else
bench: modules
	$(TOP)/tests/bench/run
endif

PATCHES_OUT ?= $(TOP)/out/patches

patches: deps
	@$(TOP)/scripts/make-patches $(PATCHES_OUT)

# checkpatch.pl comes from the unpacked kernel source.
patches-check: patches kernel
	@$(TOP)/scripts/check-patches $(PATCHES_OUT)

# Bisection and the in-tree build: long (a full kernel build first).
SERIES_WORK ?= $(KBUILD_CACHE)/series
patches-build: patches
	@KMAKE_ARGS="$(RUST_TOOLCHAIN)" $(TOP)/scripts/build-series $(PATCHES_OUT) $(SERIES_WORK)

clean:
	+$(KMAKE) M=$(TOP) clean

endif
