#!/bin/bash
# firmware: firmware update and activation on nfit_test.0 (K: drivers/nvdimm/
# core.c capability_show, activate_show/store; dimm_devs.c result_show,
# activate_show/store, nvdimm_firmware_visible; drivers/acpi/nfit/intel.c
# intel_bus_fw_ops, intel_fw_ops and their caching, firmware_activate_noidle;
# tools/testing/nvdimm/test/nfit.c nd_intel_test_get_fw_info .. _finish_query,
# nvdimm_bus_intel_fw_activate_businfo, _activate, _fw_activate_dimminfo, _arm).
# One boot per stack. After each step the state: ndbusN/firmware/{activate,
# capability}, nfit/firmware_activate_noidle and each nfit_test.0 DIMM's
# firmware/{activate,result} (the modes once), and after the main ones
# `ndctl list -BDF`. The steps:
#  - load: nfit_test.1 and its DIMMs have no firmware group;
#  - bad writes before any update (unknown words, wrong case, an empty line,
#    activating with nothing armed, writes to read-only files, noidle values
#    kstrtobool refuses) and a disarm of an idle DIMM: C's errno, no change;
#  - `ndctl update-firmware -f IMG all` (a 192 KiB image, every DIMM: staged,
#    three armed, the fourth refused for overflow), an image over the 1 MiB
#    storage, then `-A --force` of the refused DIMM (overflow), `-D all`
#    (idle), `-A --force all`, and a disarm through sysfs (three armed);
#  - an arm whose command fails (test_dimmN/fail_cmd: the DIMM is armed all
#    the same, as in C) and a DIMMINFO that fails (activate and result ENXIO);
#  - `ndctl activate-firmware --dry-run`, then without --force (the bus wants
#    a quiesced activation: hibernate_quiet_exec, which this kernel lacks, so
#    ENOTSUPP and nothing activated), then with --force (live): the bus is
#    busy for 3 s (another activation EBUSY, an arm EBUSY), then idle with
#    each DIMM's result;
#  - a second activation of one re-armed DIMM with nothing staged and one
#    still staged: not_staged and success.
# Raw ND_CMD_CALL packages of the firmware functions, and the one the bus
# refuses (ndioctl.py). The busy window is read right after the activation
# (bash builtins, no fork); everything else waits it out.
. "$(dirname "$0")/../lib.sh"

ND=/sys/bus/nd/devices

if [ "${1:-}" = --guest ]; then
	g_begin "$2"
	g_modprobe nfit_test
	g_wait_scrub
	bus=$(g_bus_by_provider nfit_test.0) || g_fatal "no nfit_test.0 bus"
	bus1=$(g_bus_by_provider nfit_test.1) || g_fatal "no nfit_test.1 bus"
	# nfit_test.0's DIMMs by handle, as "handle nmemN" lines.
	dimms=()
	for d in "$ND/$bus"/nmem*; do
		dimms+=("$(($(cat "$d/nfit/handle"))) ${d##*/}")
	done
	mapfile -t dimms < <(printf '%s\n' "${dimms[@]}" | sort -n)
	[ ${#dimms[@]} = 4 ] || g_fatal "nfit_test.0 has ${#dimms[@]} DIMMs, not 4"
	printf '%s\n' "$bus" "${dimms[@]}" >devices.out
	dimm() { local e=${dimms[$1]}; echo "${e#* }"; } # nmemN by handle order
	handle() { local e=${dimms[$1]}; echo "${e%% *}"; }

	# The firmware files, bus first, then the DIMMs by handle.
	files=("$bus/firmware/activate" "$bus/firmware/capability" "$bus/nfit/firmware_activate_noidle")
	for e in "${dimms[@]}"; do
		files+=("${e#* }/firmware/activate" "${e#* }/firmware/result")
	done
	# state NAME [list]: each file's value, or the error its read got; with
	# `list`, ndctl's view too. Bash builtins only: no fork, so that right
	# after an activation it all happens inside the 3 s busy window.
	state() {
		local f v e out=
		for f in "${files[@]}"; do
			if read -r v <"$ND/$f" 2>/tmp/fw-read-error; then
				out+="$f: $v"$'\n'
			else
				read -r e </tmp/fw-read-error
				out+="$f: error: ${e##*: }"$'\n'
			fi
		done
		printf '%s' "$out" >"$G_OUT/$1-state.out"
		[ "${2:-}" != list ] || g_run "$1-list-BDF.json" ndctl list -b nfit_test.0 -BDF
	}
	# writes NAME: the lines of stdin ("DIR VALUE ATTR...", ndsysfs.py
	# write_attrs) written, their results in NAME-writes.out.
	writes() { g_nds writes "$G_OUT/$1-writes.out" || g_fatal "writes $1 failed"; }
	t0=$(dimm 0) t1=$(dimm 1) t2=$(dimm 2) t3=$(dimm 3)
	tdimm=
	for d in /sys/class/nfit_test_dimm/test_dimm*; do
		[ $(($(cat "$d/handle"))) = "$(handle 0)" ] && tdimm=$d && break
	done
	[ -n "$tdimm" ] || g_fatal "no test_dimm with handle $(handle 0)"

	# Load: where the groups are.
	{
		for d in "$bus" "$bus1" "$t0" $(ls "$ND/$bus1" | grep '^nmem'); do
			[ "$d" = "$bus1" ] && n=bus1 || n=${d%%[0-9]*}
			echo "$n: $(ls "$ND/$d/firmware" 2>&1 | tr '\n' ' ' | sed -E 's/nmem[0-9]+|ndbus[0-9]+/DEV/g')"
		done
		for f in "${files[@]}"; do stat -c "$f %a" "$ND/$f"; done
	} >groups.out
	state load list

	# Bad input before any update, and what changes nothing.
	writes bad <<-EOF
		$t0 x firmware/activate
		$t0 NL firmware/activate
		$t0 ARM firmware/activate
		$t0 armed firmware/activate
		$t0 x firmware/result
		$t0 NONL:disarm firmware/activate
		$t0 disarm firmware/activate
		$bus x firmware/activate firmware/capability
		$bus NL firmware/activate
		$bus Live firmware/activate
		$bus live firmware/activate
		$bus NONL:quiesce firmware/activate
		$bus maybe nfit/firmware_activate_noidle
		$bus 2 nfit/firmware_activate_noidle
		$bus NL nfit/firmware_activate_noidle
	EOF
	state bad
	writes noidle <<-EOF
		$bus on nfit/firmware_activate_noidle
	EOF
	state noidle-on
	writes noidle <<-EOF
		$bus NONL:0 nfit/firmware_activate_noidle
	EOF
	state noidle-off

	# Updates.
	truncate -s 196608 /tmp/fw.img
	truncate -s 2M /tmp/fw-big.img
	g_run update-all.json ndctl update-firmware -b nfit_test.0 -f /tmp/fw.img all
	state update-all list
	g_run update-big.json ndctl update-firmware -f /tmp/fw-big.img "$t0"
	state update-big
	idle=$(jq -r '.[] | select(.firmware.activate_state == "idle").dev' "$G_OUT/update-all.json")
	echo "$idle" >"$G_OUT/update-all-idle.out"
	g_run arm-forced.json ndctl update-firmware -b nfit_test.0 -A --force "${idle:-$t3}"
	state arm-forced
	g_run disarm-all.json ndctl update-firmware -b nfit_test.0 -D all
	state disarm-all list
	g_run arm-all.json ndctl update-firmware -b nfit_test.0 -A --force all
	state arm-all
	writes disarm3 <<-EOF
		$t3 disarm firmware/activate
		$t3 disarm firmware/activate
	EOF
	state disarm3 list
	# Raw packages: BUSINFO and the DIMM functions answer as through sysfs;
	# a bus package of function 10 outside the NFIT family is refused with
	# EOPNOTSUPP (acpi_nfit_clear_to_send, which is handed the function).
	$NDIOCTL batch <<-EOF >"$G_OUT/raw-calls.out" 2>&1
		businfo /dev/ndctl${bus#ndbus} call 1 1 0 40
		bus-unknown /dev/ndctl${bus#ndbus} call 1 3 0 16
		bus-intel-func10 /dev/ndctl${bus#ndbus} call 1 10 0 16
		bus-nfit-func10 /dev/ndctl${bus#ndbus} call 0 10 0 16
		getinfo /dev/$t0 call 0 12 0 44
		dimminfo /dev/$t0 call 0 29 0 14
		dimminfo3 /dev/$t3 call 0 29 0 14
		dimm-func10 /dev/$t0 call 0 10 1 4
	EOF

	# An arm whose command fails (bit 30, NVDIMM_INTEL_FW_ACTIVATE_ARM):
	# nfit_test arms the DIMM before the failure replaces its answer.
	writes failarm <<-EOF
		$t0 disarm firmware/activate
		/sys/class/nfit_test_dimm/${tdimm##*/} 0x40000000 fail_cmd
		$t0 arm firmware/activate
		/sys/class/nfit_test_dimm/${tdimm##*/} 0 fail_cmd
	EOF
	state fail-arm
	# DIMMINFO failing (bit 29): nothing known of the DIMM.
	writes faildimminfo <<-EOF
		$t0 disarm firmware/activate
		/sys/class/nfit_test_dimm/${tdimm##*/} 0x20000000 fail_cmd
	EOF
	state fail-dimminfo
	writes faildimminfo <<-EOF
		$t0 arm firmware/activate
		/sys/class/nfit_test_dimm/${tdimm##*/} 0 fail_cmd
		$t0 arm firmware/activate
	EOF
	state fail-dimminfo-after

	# Activation: a dry run, a quiesced one (ENOTSUPP here), a live one.
	g_run activate-dry.json ndctl activate-firmware --dry-run nfit_test.0
	state activate-dry
	g_run activate-quiesce.json ndctl activate-firmware nfit_test.0
	state activate-quiesce
	g_run activate-live.json ndctl activate-firmware --force nfit_test.0
	state activate-live
	writes busy <<-EOF
		$bus live firmware/activate
		$t3 arm firmware/activate
	EOF
	sleep 3.5
	state activated list

	# A second activation: one DIMM activated just now (nothing staged)
	# and the one left staged, both armed.
	writes rearm <<-EOF
		$t1 arm firmware/activate
		$t3 arm firmware/activate
	EOF
	state rearm
	g_run activate-again.json ndctl activate-firmware --force nfit_test.0
	state activate-again
	sleep 3.5
	state activated-again list
	writes after <<-EOF
		$bus live firmware/activate
		$t0 NL firmware/activate
	EOF
	state end
	g_end
	exit 0
fi

t_init firmware
t_nfit_test
t_guest ref || t_done
t_check_dmesg ref
if t_guest cand; then
	t_check_dmesg cand
	t_cmp_sides
fi
t_done
