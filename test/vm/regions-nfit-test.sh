#!/bin/bash
# regions-nfit-test: regions and namespaces on nfit_test look the same on both
# stacks, through ndctl and through sysfs. One boot per stack, `modprobe
# nfit_test`, ARS idle, then four states, each captured by g_nd_view
# (`ndctl list -RNi`, -RNDiu, -RNiv JSON; every attribute of every regionN and
# namespaceN.M with its mode; the bus's devices and drivers; every pmem disk's
# block attributes):
#   zeroed   the label areas as nfit_test starts them (no index: label-less
#            regions, namespace_io namespaceN.0 covering each region); also
#            `ndctl list -RNiM` (media errors from the injected ARS results),
#            and the buses and DIMMs: `ndctl list -BDi` and -BDiH and the
#            ndctl/ndbus/nmem names sysfs shows (once the test list-nfit-test)
#   empty    nfit_test.0's regions disabled, its DIMMs `init-labels` (v1.1),
#            regions enabled: labeled regions with only a seed namespace
#   created  three raw namespaces with fixed uuids and names: two in the 4-way
#            interleaved region1 (32 MiB, 16 MiB), one filling region0
#   rescan   disable-region + enable-region: the namespaces come back from labels
#   v12      all namespaces destroyed, `init-labels -f -V 1.2`, one raw
#            namespace in region1 again (v1.2 labels, the other cookie)
# Every ndctl command's exit status, stdout (create-namespace's JSON) and stderr
# is compared too. The only value normalised is a kernel virtual address
# (nfit_test.1 backs its region with vmalloc memory; see g_attrs).
. "$(dirname "$0")/../lib.sh"

if [ "${1:-}" = --guest ]; then
	g_begin "$2"
	g_modprobe nfit_test
	g_wait_scrub
	g_nd_view zeroed
	g_run zeroed-list-RNiM.json ndctl list -RNiM
	g_run list-BDi.json ndctl list -BDi
	g_run list-BDiH.json ndctl list -BDiH
	ls /sys/class/nd /sys/bus/nd/devices | grep -E '^(ndctl|ndbus|nmem)[0-9]' | sort >devices.out

	g_run empty-disable ndctl disable-region -b nfit_test.0 all
	g_run empty-init ndctl init-labels -b nfit_test.0 all
	g_run empty-enable ndctl enable-region -b nfit_test.0 all
	g_nd_view empty

	g_run created-a.json ndctl create-namespace -r region1 -m raw -s 32M -n ns-a \
		--uuid 5a7e0001-0000-4000-8000-000000000001
	g_run created-b.json ndctl create-namespace -r region1 -m raw -s 16M -n ns-b \
		--uuid 5a7e0001-0000-4000-8000-000000000002
	g_run created-c.json ndctl create-namespace -r region0 -m raw -n ns-c \
		--uuid 5a7e0001-0000-4000-8000-000000000003
	g_nd_view created

	g_run rescan-disable ndctl disable-region -b nfit_test.0 all
	g_run rescan-enable ndctl enable-region -b nfit_test.0 all
	g_nd_view rescan

	g_run v12-destroy ndctl destroy-namespace -f -b nfit_test.0 all
	g_run v12-disable ndctl disable-region -b nfit_test.0 all
	g_run v12-init ndctl init-labels -f -V 1.2 -b nfit_test.0 all
	g_run v12-enable ndctl enable-region -b nfit_test.0 all
	g_run v12-a.json ndctl create-namespace -r region1 -m raw -s 32M -n ns-v12 \
		--uuid 5a7e0001-0000-4000-8000-000000000012
	g_nd_view v12
	g_end
	exit 0
fi

t_init regions-nfit-test
t_nfit_test
t_guest ref || t_done
t_check_dmesg ref
if t_guest cand; then
	t_check_dmesg cand
	t_cmp_sides
fi
t_done
