#!/bin/bash
# deep-flush: region deep_flush and REQ_PREFLUSH really write the DIMMs' flush
# hints (issue 13 deliverable 3, first half; acceptance 3, first half).
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
	g_end
	exit 0
fi

t_init deep-flush
t_nfit_test
t_guest ref || t_done
t_check_dmesg ref
if t_guest cand; then
	t_check_dmesg cand
	rm -rf "$T_DIR/ref-census" "$T_DIR/cand-census"
	[ -d "$T_DIR/ref/census" ] && t_fail "the reference made flush_hint_writes counts: C's nfit_test has no such file"
	if [ -d "$T_DIR/cand/census" ]; then
		mv "$T_DIR/cand/census" "$T_DIR/cand-census"
	fi
	if [ "$T_CAND" != rust ]; then
		echo "   SKIP hint-write counts (the $T_CAND stack's nfit_test does not count them)"
		T_SKIPS=$((T_SKIPS + 1))
	elif [ ! -d "$T_DIR/cand-census" ]; then
		t_fail "candidate: no flush_hint_writes counts"
	else
		echo "   SKIP hint-write counts on the reference (C's nfit_test hints are vmalloc words it does not look at)"
		T_SKIPS=$((T_SKIPS + 1))
		# judge FILE WANT: every region DIMM shows WANT writes, every
		# other DIMM 0, and the region has at least one DIMM.
		judge() {
			local f=$T_DIR/cand-census/$1.out
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
		for r in $(cat "$T_DIR/cand/regions.out"); do
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
