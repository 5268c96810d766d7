#!/bin/bash
# list-qemu-nvdimm: with one QEMU NVDIMM (a fresh 1 GiB file, 128 KiB label area)
# and `modprobe nfit`, `ndctl list -BDi` (and -BDiH) give the same JSON (ordering
# aside), exit status and stderr on the candidate stack as on the C stack.
. "$(dirname "$0")/../lib.sh"

if [ "${1:-}" = --guest ]; then
	g_begin "$2"
	g_modprobe nfit
	g_wait_scrub
	g_run list-BDi.json ndctl list -BDi
	g_run list-BDiH.json ndctl list -BDiH
	ls /sys/class/nd /sys/bus/nd/devices | grep -E '^(ndctl|ndbus|nmem)[0-9]' | sort >devices.out
	g_end
	exit 0
fi

t_init list-qemu-nvdimm c-intree
img=$T_DIR/nvdimm.img
rm -f "$img"
t_guest ref --nvdimm "$img:1G:128K" || t_done
t_check_dmesg ref
rm -f "$img"
if t_guest cand --nvdimm "$img:1G:128K"; then
	t_check_dmesg cand
	t_cmp_sides
fi
rm -f "$img"
t_done
