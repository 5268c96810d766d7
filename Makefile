# rust-libnvdimm: the two commands of the README, and the pieces they use.
#
#   make demo    set up this machine, build everything, boot the VM and show
#                unmodified ndctl's view of nfit_test and of a QEMU NVDIMM
#   make check   run every test: host cargo tests, then the VM suite
#   make torture label-torture's power cut at every label write (make check
#                cuts at a seeded sample of them), btt-torture's power cut at
#                every media write of its workload plus 1,000 random ones (make
#                check: a seeded sample), btt-data's full variant and
#                load-unload's 50 rounds (make check runs smaller ones; see
#                Documentation/testing.md). A test's work may take hours under
#                TCG: the timeout is 6 h unless RLN_TEST_TIMEOUT says otherwise
#   make check-debug   the VM suite on the debug kernel (KASAN, lockdep,
#                kmemleak, KFENCE, ...; RLN_FLAVOUR=debug, built once beside the
#                normal one); a finding that involves our modules fails the test
#   make fuzz    every cargo-fuzz target of formats/fuzz for FUZZ_SECONDS
#                (default 300) each, one after the other (not part of check,
#                which runs a few seconds of each)
#   make bench   fio on /dev/pmem0, our nd_pmem against C's in one boot, guest
#                time counted in instructions, one vCPU (not a test;
#                BENCH_ARGS='--cand c' measures C against C, '--modes all'
#                adds btt, fsdax and devdax, '--profile' a profile by symbol);
#                then test/bench/dax-touch: page faults and copies through
#                devdax and fsdax mappings, ours against C's in one boot
#                (DAX_BENCH_ARGS, e.g. '--cand c')
#                and test/bench/virtio-fsync: write+fsync IOPS and fsync
#                latency on a virtio-pmem device, ours against C's in one
#                boot (VIRTIO_BENCH_ARGS, e.g. '--cand c')
#
# The kernel tree is built once into ~/.cache/rust-libnvdimm (RLN_CACHE).
# Kbuild (not this file) describes the modules; `make modules` drives it.

SHELL := /bin/bash
ENV := . scripts/env.sh

.PHONY: all demo check check-debug bench torture fuzz setup kernel modules host-test vm-test clean

all: modules

setup:
	scripts/setup-host

kernel: setup
	scripts/build-kernel

# For the flavour in RLN_FLAVOUR (normal unless set; see scripts/env.sh).
modules: kernel
	@scripts/build-modules

demo: modules
	test/demo

# run-all builds the kernel and the modules itself (make modules), with the
# host tests running beside the build.
check: setup
	test/run-all

torture: modules
	RLN_TORTURE=full RLN_TEST_TIMEOUT=$${RLN_TEST_TIMEOUT:-21600} test/run-all --vm-only 'label-torture|btt-data|btt-torture|load-unload'

check-debug: setup
	RLN_FLAVOUR=debug nice -n 10 scripts/build-kernel
	RLN_FLAVOUR=debug nice -n 10 scripts/build-modules
	RLN_FLAVOUR=debug test/run-all --vm-only

bench: kernel
	test/bench/pmem-fio --icount 2 $(BENCH_ARGS)
	test/bench/dax-touch $(DAX_BENCH_ARGS)
	test/bench/virtio-fsync $(VIRTIO_BENCH_ARGS)

# The quick host checks: formats' tests and core/'s import layering (the
# full host part of make check adds the harness self-test and the fuzz smoke).
host-test:
	cd formats && cargo test --quiet
	test/tools/core-layers

fuzz: setup
	formats/fuzz/run

vm-test: modules
	test/run-all --vm-only

clean:
	@$(ENV); [ ! -d "$$RLN_KDIR" ] || rln_kmake -s M=$(CURDIR) clean
	rm -rf build formats/target formats/fuzz/target glue/bindings_generated.rs
