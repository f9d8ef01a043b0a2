# egpu-gate — the single entry point. See DEVELOPERS.md.
#
#   make deps          install every Debian package the build and tests need
#   make               build the module (running or newest installed kernel) and egpuctl
#   make check         everything below; ends with "N passed, N failed"
#   make check-unit    egpuctl unit tests (GoogleTest)
#   make check-fuzz    egpuctl fuzz harnesses: the seeds + 100000 runs from a fixed seed
#   make fuzz          exploration: 10 minutes each from a random seed (FUZZ_SECONDS=)
#   make check-style   checkpatch --strict on the module's sources
#   make check-build   the module on every kernel of the matrix, W=1 -Werror
#   make check-kunit   KUnit suites in the debug test kernel (QEMU)
#   make check-vm      module + egpuctl + uAPI tests + reset hook in QEMU, KERNELS="..."
#   make check-tbsim   the simulated Thunderbolt domain (issue-4 test bed) in QEMU
#                      (stock kernels; KERNELS=kunit for the debug kernel, ~10 min)
#   make check-tb      Thunderbolt policy scenarios of egpu_gate on tbsim + the stand-in
#                      GPU in QEMU (tests/vm/check-tb.sh: every tests/vm/guest/tb-*.sh)
#   make check-install the Debian packages and DKMS in a clean bookworm chroot, the
#                      initramfs booted in QEMU (INSTALL_KERNEL=bookworm-6.1)
#   make deb           build/deb/egpu-gate-dkms_*.deb and egpuctl_*.deb (lintian-checked)
#   make dkms-install  add, build (signed) and install the module with DKMS for the
#                      running kernel or KVER=, plus load order and initramfs hook
#   make dkms-uninstall  remove every trace of make dkms-install
#   make demo          the first thing to run: the runbook's scenarios on a simulated
#                      Thunderbolt eGPU and a stand-in GPU in QEMU (DEMO_KERNEL=)
#   make bench         benchmarks (bench/run.sh): tables on stdout and in build/bench/,
#                      never asserts a timing; BENCH_KERNEL=, BENCH_PARTS=

EGPU_CACHE ?= /var/cache/egpu-gate
export EGPU_CACHE
# egpuctl's builds (unit tests, fuzz harnesses, the guests' binary) go
# through ccache when it is installed (userspace/CMakeLists.txt): a fresh
# checkout then rebuilds from the cache, kept outside the repository.
export CCACHE_DIR ?= $(EGPU_CACHE)/ccache
export CCACHE_BASEDIR ?= $(CURDIR)
export CCACHE_NOHASHDIR ?= true
BUILD   := $(CURDIR)/build
RESULTS := $(BUILD)/results
export EGPU_BUILD := $(BUILD)
export EGPU_RESULTS := $(RESULTS)
KERNELS ?= bookworm-6.1 bookworm-bpo-6.12 trixie-6.12 trixie-bpo-7.3 sid-7.2
# The debug test kernel (KASAN, UBSAN, lockdep, kmemleak) joins the matrix
# for builds and the VM scenarios of check-vm; `TEST_KERNEL=` skips it.
TEST_KERNEL ?= kunit
ALL_KERNELS := $(KERNELS) $(TEST_KERNEL)
export KERNELS

# The kernel to build `make`'s module for: the running one if its headers are
# installed, else the newest installed headers.
KDIR ?= $(firstword $(wildcard /lib/modules/$(shell uname -r)/build) \
	$(lastword $(sort $(wildcard /lib/modules/*/build))))

.PHONY: all module egpuctl deps check check-unit check-style check-build check-kunit check-vm check-tbsim check-tb clean
.PHONY: check-fuzz fuzz
.PHONY: check-install deb dkms-install dkms-uninstall

# make check-install's kernel (bookworm-6.1 or bookworm-bpo-6.12); KVER= is
# make dkms-install's (default: the running kernel).
INSTALL_KERNEL ?= bookworm-6.1
KVER ?=

all: module egpuctl

module:
	$(MAKE) -C kmod KDIR=$(KDIR)

egpuctl:
	cmake -S userspace -B $(BUILD)/userspace -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	cmake --build $(BUILD)/userspace -j2

deps:
	tests/deps.sh

check:
	@rm -rf $(RESULTS) && mkdir -p $(RESULTS)
	-@$(MAKE) --no-print-directory check-unit
	-@$(MAKE) --no-print-directory check-fuzz
	-@$(MAKE) --no-print-directory check-style
	-@$(MAKE) --no-print-directory check-build
	-@$(MAKE) --no-print-directory check-kunit
	-@$(MAKE) --no-print-directory check-vm
	-@$(MAKE) --no-print-directory check-tbsim
	-@$(MAKE) --no-print-directory check-tb
	-@$(MAKE) --no-print-directory check-install
	@tests/summarize $(RESULTS)

check-unit:
	@mkdir -p $(RESULTS)
	tests/run-unit.sh

check-fuzz:
	@mkdir -p $(RESULTS)
	tests/run-fuzz.sh

fuzz:
	@mkdir -p $(RESULTS)
	FUZZ_SECONDS=$${FUZZ_SECONDS:-600} tests/run-fuzz.sh

check-style:
	@mkdir -p $(RESULTS)
	tests/checkpatch.sh

check-build:
	@mkdir -p $(RESULTS)
	tests/kernels/check-build.sh $(ALL_KERNELS)

check-kunit:
	@mkdir -p $(RESULTS)
	tests/testkernel/check-kunit.sh

check-vm:
	@mkdir -p $(RESULTS)
	tests/vm/check-vm.sh $(ALL_KERNELS)

check-tbsim:
	@mkdir -p $(RESULTS)
	tests/kmod/tbsim/check.sh $(KERNELS)

check-tb:
	@mkdir -p $(RESULTS)
	tests/vm/check-tb.sh $(ALL_KERNELS)

check-install:
	@mkdir -p $(RESULTS)
	tests/install/check-install.sh $(INSTALL_KERNEL)

deb:
	install/make-deb.sh $(BUILD)/deb

dkms-install:
	install/dkms.sh install $(KVER)

dkms-uninstall:
	install/dkms.sh uninstall

clean:
	-$(MAKE) -C kmod clean KDIR=$(KDIR)
	rm -rf $(BUILD)

# Not checks: `make demo` tells the story (demo/run.sh), `make bench` prints
# tables (bench/run.sh).
.PHONY: demo bench
demo:
	demo/run.sh

bench:
	bench/run.sh
