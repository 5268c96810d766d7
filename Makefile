# rust-libnvdimm: the two commands of the README, and the pieces they use.
#
#   make demo    set up this machine, build everything, boot the VM and show
#                unmodified ndctl's view of nfit_test and of a QEMU NVDIMM
#   make check   run every test: host cargo tests, then the VM suite
#   make bench   fio on /dev/pmem0, our nd_pmem against C's in one boot, guest
#                time counted in instructions, one vCPU (not a test;
#                BENCH_ARGS='--cand c' measures C against C, '--modes all'
#                adds btt, fsdax and devdax, '--profile' a profile by symbol)
#
# The kernel tree is built once into ~/.cache/rust-libnvdimm (RLN_CACHE).
# Kbuild (not this file) describes the modules; `make modules` drives it.

SHELL := /bin/bash
ENV := . scripts/env.sh

.PHONY: all demo check bench setup kernel modules host-test vm-test clean

all: modules

setup:
	scripts/setup-host

kernel: setup
	scripts/build-kernel

modules: kernel
	@$(ENV); rln_kmake -s M=$(CURDIR) modules
	@mkdir -p build/modules && cp -p $$(sed 's/\.o$$/.ko/' modules.order) build/modules/

demo: modules
	test/demo

check: modules
	test/run-all

bench: kernel
	test/bench/pmem-fio --icount 2 $(BENCH_ARGS)

host-test:
	cd formats && cargo test --quiet

vm-test: modules
	test/run-all --vm-only

clean:
	@$(ENV); [ ! -d "$$RLN_KDIR" ] || rln_kmake -s M=$(CURDIR) clean
	rm -rf build formats/target glue/bindings_generated.rs
