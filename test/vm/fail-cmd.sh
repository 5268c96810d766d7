#!/bin/bash
# fail-cmd: nfit_test's error injection (/sys/class/nfit_test_dimm/test_dimmN/
# {handle,fail_cmd,fail_cmd_code}; K: tools/testing/nvdimm/test/nfit.c
# override_return_code: a DIMM command whose bit is set in fail_cmd returns
# fail_cmd_code, or -EIO when that is 0). On the nfit_test.0 DIMM with handle 0,
# for each injected failure of get_config_size (bit 4), get_config_data (5),
# set_config_data (6), SMART (1) and SMART threshold (2), with codes 0 (-EIO),
# -ENXIO, -EINVAL and a positive residual: `ndctl read-labels -j`,
# `ndctl list -DH`, and with the region disabled `init-labels -f`, `zero-labels`
# and `disable-dimm`+`enable-dimm` must give the same exit status, stdout and
# stderr on both stacks; so must the fail_cmd/fail_cmd_code attributes read back.
# The DIMM commands run with -v, so stderr also has libndctl's per-ioctl log
# (command, status, errno); only its sysfs-walk lines are dropped.
. "$(dirname "$0")/../lib.sh"

if [ "${1:-}" = --guest ]; then
	g_begin "$2"
	g_modprobe nfit_test
	g_wait_scrub
	bus=$(g_bus_by_provider nfit_test.0) || g_fatal "no nfit_test.0 bus"
	dimm=$(g_dimm_by_handle "$bus" 0) || g_fatal "no DIMM with handle 0 on $bus"
	tdir=
	for d in /sys/class/nfit_test_dimm/test_dimm*; do
		[ $(($(cat "$d/handle"))) = 0 ] && tdir=$d && break
	done
	[ -n "$tdir" ] || g_fatal "no /sys/class/nfit_test_dimm/test_dimm* with handle 0 ($(ls /sys/class/nfit_test_dimm 2>&1 | tr '\n' ' '))"
	echo "$bus $dimm ${tdir##*/}" >devices.out
	inject() { # NAME MASK CODE: set the failure, record what reads back
		echo "$3" >"$tdir/fail_cmd_code" && echo "$2" >"$tdir/fail_cmd" ||
			g_fatal "cannot write $tdir/fail_cmd{,_code}"
		cat "$tdir/fail_cmd" "$tdir/fail_cmd_code" >"$1-inject.out" 2>&1
	}
	clear_inject() { echo 0 >"$tdir/fail_cmd"; echo 0 >"$tdir/fail_cmd_code"; }
	reads() { # NAME: the read-only commands
		g_run_v "$1-read-labels.json" ndctl read-labels -j "$dimm"
		g_run "$1-list-DH.json" ndctl list -DH -d "$dimm"
	}
	for c in base:0:0 data-eio:0x20:0 data-enxio:0x20:-6 data-einval:0x20:-22 \
		data-residual:0x20:5 size-eio:0x10:0 size-residual:0x10:8 \
		smart-eio:0x2:0 smart-residual:0x2:4 thresh-eio:0x4:0 all-eio:0x7e:0; do
		IFS=: read -r name mask code <<<"$c"
		inject "$name" "$mask" "$code"
		reads "$name"
		clear_inject
	done
	g_run disable-region ndctl disable-region -b nfit_test.0 all
	for c in idle-base:0:0 idle-set-eio:0x40:0 idle-set-enxio:0x40:-6 idle-set-residual:0x40:4 \
		idle-data-eio:0x20:0 idle-size-eio:0x10:0; do
		IFS=: read -r name mask code <<<"$c"
		inject "$name" "$mask" "$code"
		g_run_v "$name-init-labels" ndctl init-labels -f "$dimm"
		g_run_v "$name-zero-labels" ndctl zero-labels "$dimm"
		g_run_v "$name-disable-dimm" ndctl disable-dimm "$dimm"
		g_run_v "$name-enable-dimm" ndctl enable-dimm "$dimm"
		g_run "$name-list-Di.json" ndctl list -Di -d "$dimm"
		clear_inject
		g_run_v "$name-reenable-dimm" ndctl enable-dimm "$dimm"
		reads "$name-after"
	done
	g_end
	exit 0
fi

t_init fail-cmd
t_nfit_test
t_guest ref || t_done
t_check_dmesg ref
if t_guest cand; then
	t_check_dmesg cand
	t_cmp_sides
fi
t_done
