#!/bin/bash
# list-nfit-test: after `modprobe nfit_test` (and once address range scrub is idle),
# `ndctl list -BDi` and `ndctl list -BDiH` give the same JSON (ordering aside), the
# same exit status and the same stderr on the candidate stack as on the C stack.
. "$(dirname "$0")/../lib.sh"

if [ "${1:-}" = --guest ]; then
	g_begin "$2"
	g_modprobe nfit_test
	g_wait_scrub
	g_run list-BDi.json ndctl list -BDi
	g_run list-BDiH.json ndctl list -BDiH
	# The bus and DIMM names the JSON refers to, as the kernel shows them.
	ls /sys/class/nd /sys/bus/nd/devices | grep -E '^(ndctl|ndbus|nmem)[0-9]' | sort >devices.out
	g_end
	exit 0
fi

t_init list-nfit-test
t_nfit_test
t_guest ref || t_done
t_check_dmesg ref
if t_guest cand; then
	t_check_dmesg cand
	t_cmp_sides
fi
t_done
