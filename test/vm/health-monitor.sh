#!/bin/bash
# health-monitor: DIMM health events (issue 13 deliverable 4, acceptance 4).
# K: drivers/acpi/nfit/core.c __acpi_nvdimm_notify (0x81 -> sysfs_notify of
# nmemN/nfit/flags); tools/testing/nvdimm/test/nfit.c smart_notify(), which
# ND_INTEL_SMART_INJECT and SET_THRESHOLD call when a threshold trips, the
# health is not non-critical or the last shutdown was unsafe.
#
# On nfit_test.0's DIMM with handle 0, each session starts unchanged
# `ndctl monitor -d DIMM -D EVENT -l LOG` (it arms the event's alarm with
# SMART_SET_THRESHOLD, logs the DIMM once at start, as nfit_test's alarm flags
# always show the spare and temperature trips, then waits on nfit/flags),
# injects with `ndctl inject-smart`, and keeps what the monitor logged (JSON
# minus timestamp and pid):
#   temp     a media temperature over its threshold: reported (2 lines)
#   spares   spares under their threshold: reported
#   quiet    spares 50, over the threshold: nfit_test sends no event, so the
#            monitor reports nothing (only its start line)
# then bad input to inject-smart (a DIMM of nfit_test.1, which has no SMART
# injection; raw ND_CMD_CALL packages of the wrong size or family): same exit
# status, output and errno, and `ndctl list -DH` unchanged on each stack.
# Every file is compared.
#
# Beyond C, candidate only: nfit reloaded with smart_poll_secs=1 (the opt-in
# SMART poll, Documentation/health.md); the quiet session again must now be
# reported (2 lines), the poll having seen the spares change without any
# event. The reference runs the same session on its reloaded stack (C has no
# such parameter): only the start line. Phase A above is the poll off.
. "$(dirname "$0")/../lib.sh"

if [ "${1:-}" = --guest ]; then
	g_begin "$2"
	g_modprobe nfit_test
	g_wait_scrub
	T0=$SECONDS
	stamp() { echo "$1 $((SECONDS - T0))s" >>"$G_OUT/phases.log.txt"; }

	find_dimm() {
		bus=$(g_bus_by_provider nfit_test.0) || g_fatal "no nfit_test.0 bus"
		dimm=$(g_dimm_by_handle "$bus" 0) || g_fatal "no DIMM with handle 0 on $bus"
	}
	find_dimm
	echo "$dimm" >dimm.out
	# lines FILE: how many lines FILE has (0 if none).
	lines() { local n=0 l; while IFS= read -r l; do n=$((n + 1)); done <"$1" 2>/dev/null; echo $n; }
	# wait_lines FILE N SECS: until FILE has N lines; 1 after SECS.
	wait_lines() {
		local i
		for i in $(seq 1 $(($3 * 4))); do
			[ "$(lines "$1")" -ge "$2" ] && return 0
			sleep 0.25
		done
		return 1
	}
	# watching PID: the monitor has its epoll set up (a "tfd:" entry in
	# the fdinfo of its epoll fd): an event from now on wakes it.
	watching() {
		local i
		for i in $(seq 1 240); do
			grep -qs '^tfd:' /proc/"$1"/fdinfo/* && return 0
			sleep 0.25
		done
		return 1
	}
	# session NAME EVENT EXPECT_LINES WAIT_SECS INJECT_ARGS...: run a
	# monitor for EVENT, inject, wait until the log has EXPECT_LINES lines
	# (or WAIT_SECS), keep the log as NAME.out (JSON lines minus timestamp
	# and pid) and its line count as NAME-lines.out.
	session() {
		local name=$1 event=$2 expect=$3 secs=$4 log pid
		shift 4
		log=$G_OUT/$name.log.raw
		: >"$log"
		ndctl monitor -d "$dimm" -D "$event" -l "$log" &
		pid=$!
		wait_lines "$log" 1 120 || echo "no start line in 120 s" >"$name-start.note"
		watching "$pid" || echo "monitor never waited on nfit/flags" >"$name-watch.note"
		g_run "$name-inject" ndctl inject-smart "$dimm" "$@"
		if [ "$expect" -gt 1 ]; then
			wait_lines "$log" "$expect" "$secs" || true
		else
			sleep "$secs"
		fi
		kill "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
		lines "$log" >"$name-lines.out"
		jq -c 'del(.timestamp, .pid)' "$log" >"$name.out" 2>&1
		rm -f "$log"
		stamp "$name"
	}

	g_run start-list-DH.json ndctl list -DH -d "$dimm"
	one='(if type == "array" then .[0] else . end).health'
	tthr=$(jq -r "$one.temperature_threshold" start-list-DH.json)
	sthr=$(jq -r "$one.spares_threshold" start-list-DH.json)
	echo "temperature_threshold=$tthr spares_threshold=$sthr" >thresholds.out
	session temp dimm-media-temperature 2 60 -m $((${tthr%.*} + 1))
	g_run uninject-temp ndctl inject-smart "$dimm" -N
	session spares dimm-spares-remaining 2 60 -s $((sthr - 1))
	g_run uninject-spares ndctl inject-smart "$dimm" -N
	session quiet dimm-spares-remaining 1 6 -s 50
	g_run uninject-quiet ndctl inject-smart "$dimm" -N

	# Bad input: refused, and nothing changes (host side: the DIMM's
	# health before and after must be equal). What ndctl refuses itself
	# (unknown options, no such DIMM; it reads a word for a number as 0)
	# never reaches the kernel and is left out.
	g_run bad-before-list-DH.json ndctl list -DH -d "$dimm"
	b1=$(g_bus_by_provider nfit_test.1) || g_fatal "no nfit_test.1 bus"
	d1=$(g_dimm_by_handle "$b1" 0) || d1=$(ls -d /sys/bus/nd/devices/"$b1"/nmem* | head -1 | xargs -r basename)
	g_run bad-nfit_test.1 ndctl inject-smart "$d1" -m 40
	# struct nd_intel_smart_inject is 19 bytes (15 in, 4 status out);
	# nfit_test takes nothing else. Flags 1 (media temperature), enabled,
	# 0x0663/16 = 102 C: a change that would trip the threshold if it
	# landed. The last one is the right size with no flag: status 0 and
	# nothing changes.
	inj=0100000000000000016306
	$NDIOCTL batch <<-EOF >"$G_OUT/bad-raw-calls.out" 2>&1
	inject-18 /dev/$dimm call 0 18 14 4 --hex $inj
	inject-20 /dev/$dimm call 0 18 16 4 --hex $inj
	inject-family-1 /dev/$dimm call 1 18 15 4 --hex $inj
	inject-no-flags /dev/$dimm call 0 18 15 4 --hex 0000000000000000016306
	EOF
	g_run bad-after-list-DH.json ndctl list -DH -d "$dimm"
	stamp bad-input

	# The poll: on our stack nfit comes back with smart_poll_secs=1.
	mkdir -p poll
	modprobe -r nfit_test nfit 2>poll/unload.err
	if [ "${RLN_GUEST_STACK:-}" = rust ]; then
		modprobe nfit smart_poll_secs=1 2>poll/load-nfit.err
		cat /sys/module/nfit/parameters/smart_poll_secs >poll/param.out 2>&1
	fi
	g_modprobe nfit_test
	g_wait_scrub
	find_dimm
	cd poll || g_fatal "no poll directory"
	G_OUT=$G_OUT/poll session quiet dimm-spares-remaining 2 10 -s 50
	cd .. || exit 1
	stamp poll
	g_end
	exit 0
fi

t_init health-monitor
t_nfit_test
t_guest ref || t_done
t_check_dmesg ref
if t_guest cand; then
	t_check_dmesg cand
	# The poll's session differs between the stacks by design: judged
	# apart, then moved out of the comparison.
	for side in ref cand; do
		rm -rf "$T_DIR/$side-poll"
		[ -d "$T_DIR/$side/poll" ] && mv "$T_DIR/$side/poll" "$T_DIR/$side-poll"
	done
	mv "$T_DIR/ref/phases.log.txt" "$T_DIR/ref-phases.txt" 2>/dev/null
	mv "$T_DIR/cand/phases.log.txt" "$T_DIR/cand-phases.txt" 2>/dev/null
	echo "   phases (ref):  $(tr '\n' ' ' <"$T_DIR/ref-phases.txt" 2>/dev/null)"
	echo "   phases (cand): $(tr '\n' ' ' <"$T_DIR/cand-phases.txt" 2>/dev/null)"
	# Each session's expectation holds on the reference too (else the
	# comparison proves nothing).
	for s in temp:2 spares:2 quiet:1; do
		n=$(cat "$T_DIR/ref/${s%:*}-lines.out" 2>/dev/null)
		[ "$n" = "${s#*:}" ] || t_fail "reference: session ${s%:*} logged ${n:-no} lines, expected ${s#*:}"
	done
	n=$(cat "$T_DIR/ref-poll/quiet-lines.out" 2>/dev/null)
	[ "$n" = 1 ] || t_fail "reference (no poll): the quiet session logged ${n:-no} lines, expected 1"
	if [ "$T_CAND" = rust ]; then
		[ "$(cat "$T_DIR/cand-poll/param.out" 2>/dev/null)" = 1 ] ||
			t_fail "candidate: nfit.smart_poll_secs reads '$(cat "$T_DIR/cand-poll/param.out" 2>/dev/null)', not 1"
		n=$(cat "$T_DIR/cand-poll/quiet-lines.out" 2>/dev/null)
		if [ "$n" = 2 ]; then
			# The reported line is the start line's DIMM with the new
			# spares: both are the monitor's view of the same DIMM.
			jq -e -s 'length == 2 and .[1].dimm.health.spares_percentage == 50' \
				"$T_DIR/cand-poll/quiet.out" >/dev/null ||
				t_fail "candidate with the poll: the report does not show spares 50: $(tail -n 1 "$T_DIR/cand-poll/quiet.out")"
		else
			t_fail "candidate with smart_poll_secs=1: the quiet session logged ${n:-no} lines, expected 2 (the poll's event)"
		fi
	else
		n=$(cat "$T_DIR/cand-poll/quiet-lines.out" 2>/dev/null)
		[ "$n" = 1 ] || t_fail "candidate $T_CAND (no poll): the quiet session logged ${n:-no} lines, expected 1"
	fi
	for side in ref cand; do
		t_cmp_json "$T_DIR/$side/bad-before-list-DH.json" "$T_DIR/$side/bad-after-list-DH.json" \
			"$side: ndctl list -DH before and after the bad input" || true
	done
	t_cmp_sides
fi
t_done
