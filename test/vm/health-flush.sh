#!/bin/bash
# health-flush: DIMM health events (issue 13 deliverable 4, acceptance 4)
# and flush-hint writes (deliverable 3, first half; acceptance 3, first
# half), one boot per stack on nfit_test.0.
#
# Health events:
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
#
# Flush hints (once the test deep-flush; files under flush/):
# K: drivers/nvdimm/region_devs.c deep_flush_store (kstrtobool; false is
# EINVAL; true runs nvdimm_flush), generic_nvdimm_flush (one hint write per
# DIMM of the region, between two wmb()), drivers/nvdimm/pmem.c
# pmem_submit_bio (REQ_PREFLUSH flushes before the bio).
#
# Both stacks, compared: on each nfit_test.0 region that has deep_flush, its
# value, and the error of writing 1, on, 0, off, x, 2 and an empty line (the
# shell's strerror of the errno).
#
# Our stack only (C's nfit_test hints are vmalloc words nothing looks at: the
# C side is SKIP): nfit_test.0/flush_hint_writes counts, per DIMM, the hint
# words libnvdimm wrote since its last reset (Documentation/testing.md). For
# each region: a write of 1 (or on) to deep_flush writes exactly one hint of
# each of its DIMMs and none of any other DIMM; the refused values write
# none; then an fsync of /dev/pmemN with
# nothing dirty (one REQ_PREFLUSH bio) and a 4 KiB write with fsync (its data
# bio, then the flush) each write exactly one hint per DIMM of the region
# (the first such region with a pmem disk: a label-less one's namespace_io).
. "$(dirname "$0")/../lib.sh"

if [ "${1:-}" = --guest ]; then
	g_begin "$2"
	g_modprobe nfit_test
	g_wait_scrub
	T0=$SECONDS
	stamp() { echo "$1 $((SECONDS - T0))s" >>"$G_OUT/phases.log.txt"; }

	# deep_flush: the flush-hint phase (once the test deep-flush), its
	# files under flush/.
	deep_flush() {
		bus=$(g_bus_by_provider nfit_test.0) || g_fatal "no nfit_test.0 bus"
		census=/sys/class/nfit_test_bus/nfit_test.0/flush_hint_writes
		# handles REGION: the NFIT handles of its DIMMs, sorted, one line.
		handles() {
			local m d
			for m in /sys/bus/nd/devices/"$1"/mapping[0-9]*; do
				d=$(cut -d, -f1 <"$m")
				printf '0x%x\n' "$(cat /sys/bus/nd/devices/"$d"/nfit/handle)"
			done | sort | tr '\n' ' '
		}
		# count NAME REGION: after a step, for the region's DIMMs and the
		# others, what flush_hint_writes shows; resets it.
		count() {
			local mine
			mine=" $(handles "$2")"
			[ -e "$census" ] || return 0
			mkdir -p census
			while read -r h n; do
				case "$mine" in *" $h "*) echo "region $h $n" ;; *) echo "other $h $n" ;; esac
			done <"$census" >"census/$1.out"
			echo 0 >"$census"
		}
		regions=
		for r in /sys/bus/nd/devices/"$bus"/region*; do
			[ -e "$r/deep_flush" ] && regions+=" ${r##*/}"
		done
		[ -n "$regions" ] || g_fatal "no region of nfit_test.0 has deep_flush"
		echo "$regions" >regions.out
		[ -e "$census" ] && echo 0 >"$census"
		# put VALUE FILE: write VALUE and a newline in one write(2); print
		# VALUE and ok, or the error (strerror of the errno).
		put() {
			local e
			if e=$( { printf '%s\n' "$1" >"$2"; } 2>&1); then
				echo "'$1' ok"
			else
				echo "'$1' ${e##*: }"
			fi
		}
		for r in $regions; do
			f=/sys/bus/nd/devices/$r/deep_flush
			echo "$r: $(handles "$r")" >>region-dimms.out
			cat "$f" >"$r-deep_flush.out" 2>&1
			put 1 "$f" >"$r-write-1.out"
			count "$r-deep_flush-1" "$r"
			for v in 0 off x 2 ''; do
				put "$v" "$f"
			done >"$r-write-refused.out"
			count "$r-deep_flush-refused" "$r"
			put on "$f" >"$r-write-on.out"
			count "$r-deep_flush-on" "$r"
		done
		# fsync on a pmem disk: the first region with deep_flush that has one
		# (a label-less region's namespace_io).
		g_run list-RN.json ndctl list -RN -b nfit_test.0
		blk= r=
		for r in $regions; do
			blk=$(jq -r --arg r "$r" '[.. | objects | select(.dev? == $r) | .namespaces[]? | .blockdev // empty] | first // empty' list-RN.json)
			[ -n "$blk" ] && break
		done
		[ -n "$blk" ] || g_fatal "no pmem disk in a region of nfit_test.0 with deep_flush: $(cat list-RN.json)"
		echo "$r $blk" >fsync-disk.out
		[ -e "$census" ] && echo 0 >"$census"
		# coreutils' sync FILE: open, fsync (nothing dirty: one REQ_PREFLUSH
		# bio), close. dd conv=fsync: a 4 KiB write through the page cache,
		# then fsync (the data's bio, then the flush).
		g_run fsync-clean sync "/dev/$blk"
		count fsync-clean "$r"
		g_run write-fsync dd if=/dev/zero of="/dev/$blk" bs=4096 seek=1 count=1 conv=fsync,notrunc status=none
		count write-fsync "$r"
	}
	mkdir -p flush
	(G_OUT=$G_OUT/flush && cd flush && deep_flush) || g_fatal "the flush phase failed: $(cat flush/FATAL 2>/dev/null)"
	stamp flush

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

t_init health-flush
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
	rm -rf "$T_DIR/ref-flush-census" "$T_DIR/cand-flush-census"
	[ -d "$T_DIR/ref/flush/census" ] && t_fail "the reference made flush_hint_writes counts: C's nfit_test has no such file"
	if [ -d "$T_DIR/cand/flush/census" ]; then
		mv "$T_DIR/cand/flush/census" "$T_DIR/cand-flush-census"
	fi
	if [ "$T_CAND" != rust ]; then
		echo "   SKIP hint-write counts (the $T_CAND stack's nfit_test does not count them)"
		T_SKIPS=$((T_SKIPS + 1))
	elif [ ! -d "$T_DIR/cand-flush-census" ]; then
		t_fail "candidate: no flush_hint_writes counts"
	else
		echo "   SKIP hint-write counts on the reference (C's nfit_test hints are vmalloc words it does not look at)"
		T_SKIPS=$((T_SKIPS + 1))
		# judge FILE WANT: every region DIMM shows WANT writes, every
		# other DIMM 0, and the region has at least one DIMM.
		judge() {
			local f=$T_DIR/cand-flush-census/$1.out
			if [ ! -s "$f" ]; then
				t_fail "candidate: no counts for $1"
			elif ! awk -v want="$2" '$1 == "region" { n++; if ($3 != want) bad = 1 }
				$1 == "other" && $3 != 0 { bad = 1 } END { exit !(n > 0 && !bad) }' "$f"; then
				t_fail "candidate: $1: each DIMM of the region must show $2 hint write(s) and every other DIMM 0:"
				sed 's/^/     /' "$f"
			else
				echo "   ok $1: $(awk '$1 == "region" {print $2 "=" $3}' "$f" | tr '\n' ' ')"
			fi
		}
		for r in $(cat "$T_DIR/cand/flush/regions.out"); do
			judge "$r-deep_flush-1" 1
			judge "$r-deep_flush-refused" 0
			judge "$r-deep_flush-on" 1
		done
		judge fsync-clean 1
		judge write-fsync 1
	fi
	t_cmp_sides
fi
t_done
