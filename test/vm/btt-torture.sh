#!/bin/bash
# btt-torture: a power cut at a media write of the BTT leaves every sector
# with exactly its old or its new contents, and a BTT that `ndctl
# check-namespace` finds consistent (issue 10, deliverable 5).
#
# The cut comes from our nfit_test's test-only knob
# /sys/class/nfit_test_bus/nfit_test.N/media_write_budget (Documentation/
# testing.md): budget k lets k namespace byte writes (nd_btt's data, flog and
# map writes through libnvdimm's nsio) land, tears the next one (its first
# half, cut back to an 8-byte boundary) and fails every later one with EIO.
# C's nfit_test has no such knob, so the cuts run on the candidate only; both
# sides run the unfaulted workload and must agree on it.
#
# Both sides, on nfit_test.0's label-less region2 (namespace2.0, 32 MiB) in
# sector mode (`ndctl create-namespace -f -e namespace2.0 -m sector -l LBS`),
# for LBS 512 and 4096, with test/tools/btttort.py (one process per sector
# size; it says what the contents and the workload are):
#   LBS-uncut.txt  a seeded workload W of single- and multi-sector O_DIRECT
#                  writes in a small window, then a "reboot" (disable- and
#                  enable-namespace), every sector of the window checked
#                  (its new contents), `ndctl check-namespace`'s status
#   LBS-rest.txt   the rest of the device unchanged (hashed before and after)
# Candidate only, with the knob (the Rust stack must have it):
#   N = the media writes W makes (budget BIG, BIG - remaining); then a cut at
#   each k in 0..N-1 (`make torture`, RLN_TORTURE=full, which also adds 500
#   random cuts per sector size over 4 times longer workloads) or at the
#   first, the last and a seeded sample (make check: RLN_TORTURE_SAMPLE, 4
#   per sector size; the seed printed, RLN_TORTURE_SEED=S repeats it): W
#   with budget k, budget -1, reboot, one read of the window (the sectors
#   of finished writes new, those of the failed write old or new, the
#   others old), `ndctl check-namespace --force` (it disables the namespace,
#   checks and enables it again: 3 ndctl runs per cut, not 5). The
#   host checks: no torn sector, no wrong contents, no EIO, every cut made
#   (the budget reads "cut"), every check-namespace passed.
. "$(dirname "$0")/../lib.sh"

if [ "${1:-}" = --guest ]; then
	g_begin "$2"
	sample=$3 seed=$4 random=$5
	g_modprobe nfit_test
	g_wait_scrub
	D=/sys/bus/nd/devices
	ns=namespace2.0
	bus=$(basename "$(dirname "$(readlink -f "$D/region2")")")
	provider=$(cat "$D/$bus/provider" 2>/dev/null)
	echo "region2 on $bus ($provider)" >region.out
	knob=/sys/class/nfit_test_bus/$provider/media_write_budget
	F=$G_OUT-fault
	rm -rf "$F"
	args=()
	if [ -e "$knob" ]; then
		mkdir -p "$F"
		args=(--knob "$knob" --fault "$F")
	fi
	# region2's DIMM is unarmed, so the region starts read-only.
	g_run region2-rw sh -c "echo 0 >$D/region2/read_only"
	# pass [ARGS...]: each sector size in turn, the BTT created afresh.
	pass() {
	for lbs in 512 4096; do
		# The output names the uuid ndctl makes up: only its status is compared.
		ndctl create-namespace -f -e $ns -m sector -l $lbs >"$G_OUT-create-$lbs.json" 2>&1
		echo $? >"create-$lbs.rc"
		dev=/dev/$(jq -r '.blockdev // empty' "$G_OUT-create-$lbs.json" 2>/dev/null)
		echo "$dev" >"dev-$lbs.out"
		[ -b "$dev" ] || g_fatal "no block device after create-namespace -m sector -l $lbs"
		python3 "$RLN_TOP/test/tools/btttort.py" "$G_OUT" "$dev" $ns $lbs "$seed" "${args[@]}" "$@" \
			>"${P}torture-$lbs.out" 2>&1
		echo $? >"${P}torture-$lbs.rc"
	done
	}
	P= pass --ks "$([ "$sample" = 0 ] && echo all || echo "$sample")"
	# The random cuts after every k of both sizes (make torture).
	[ -e "$knob" ] && [ "$random" -gt 0 ] && P=$F/ pass --ks none --random "$random"
	g_run destroy ndctl destroy-namespace -f $ns
	g_end
	exit 0
fi

# check_cuts DIR LBS: the candidate's cuts (test/tools/btttort.py's summary).
check_cuts() {
	python3 - "$1" "$2" "$3" "$4" <<-'EOF'
	import json, sys
	d, lbs, full, want_random = sys.argv[1], sys.argv[2], sys.argv[3] == "full", int(sys.argv[4])
	rnd = lbs.endswith("-random")
	try:
	    s = json.load(open(f"{d}/{lbs}-summary.json"))
	except (OSError, ValueError) as e:
	    print(f"{lbs}: no summary ({e})")
	    sys.exit(1)
	t, bad = s["totals"], 0
	n, ks = s["writes"], s["ks"]
	c = s["count_run"]
	if c["failed"] or c["torn"] or c["wrong"] or c["eio"]:
	    print(f"{lbs}: the counting run (no cut) failed: {c}")
	    bad += 1
	if rnd and s["random_cuts"] < want_random:
	    print(f"{lbs}: {s['random_cuts']} random cuts, {want_random} expected")
	    bad += 1
	if rnd:
	    pass
	elif full and (n < 200 or ks != list(range(n))):
	    print(f"{lbs}: the full run must cut at every one of at least 200 writes ({n} writes, {len(ks)} cuts)")
	    bad += 1
	elif not ks or ks[0] != 0 or ks[-1] != n - 1:
	    print(f"{lbs}: the cuts do not include the first and last of {n} writes")
	    bad += 1
	for x, what in (("torn", "torn sectors"), ("wrong", "sectors with another write's contents"),
	                ("eio", "sectors that failed to read"), ("check_fail", "cuts after which check-namespace failed"),
	                ("not_cut", "cuts that did not happen (budget not spent)"),
	                ("reboot_fail", "cuts after which disable/enable-namespace failed")):
	    if t[x]:
	        print(f"{lbs}: {t[x]} {what}")
	        bad += 1
	if not s["rest_unchanged"]:
	    print(f"{lbs}: the device outside the workload's window changed")
	    bad += 1
	if bad:
	    for l in open(f"{d}/{lbs}-cuts.txt"):
	        r = json.loads(l)
	        if r["torn"] or r["wrong"] or r["eio"] or r["check"][0] or r["budget"] != "cut":
	            print(f"     {l.strip()[:600]}")
	what = "none (random cuts only)" if rnd else "each" if len(ks) == n else f"{len(ks)} of them ({' '.join(map(str, ks))})"
	print(f"   {lbs}-byte sectors: W = {s['ops']} writes, {n} media writes; cut at {what}; "
	      f"{s['random_cuts']} random cuts ({t['random_uncut']} past their workload's end); "
	      f"{t['cuts']} cuts in all, {t['torn']} torn sectors; the interrupted write's sectors: "
	      f"{t['old']} old, {t['new']} new; {s['every_k_seconds']} s + {s['random_seconds']} s")
	sys.exit(1 if bad else 0)
	EOF
}

t_init btt-torture
t_smp # the BTT's per-CPU lanes
t_nfit_test
# make check cuts at a sample of W's media writes; make torture
# (RLN_TORTURE=full) at every one, plus random cuts of longer workloads
# (RLN_TORTURE_RANDOM per sector size: 500 there, 0 in make check).
mode=${RLN_TORTURE:-sample}
if [ "$mode" = full ]; then
	sample=0 random=${RLN_TORTURE_RANDOM:-500}
else
	sample=${RLN_TORTURE_SAMPLE:-4} random=${RLN_TORTURE_RANDOM:-0}
fi
seed=${RLN_TORTURE_SEED:-$(date +%s)}
echo "   power cuts: $([ "$sample" = 0 ] && echo "at every media write of W and $random random ones per sector size" || echo "at $sample media writes per sector size (first, last and a sample)"), seed $seed (RLN_TORTURE_SEED=$seed to repeat)"
for side in ref cand; do
	rm -rf "$T_DIR/$side-fault"
	t_guest "$side" -- "$sample" "$seed" "$random" || { [ $side = ref ] && t_done; continue; }
	t_check_dmesg "$side"
	for lbs in 512 4096; do
		if [ "$(cat "$T_DIR/$side/torture-$lbs.rc")" != 0 ]; then
			t_fail "$side: btttort.py failed on $lbs-byte sectors:"
			tail -n 15 "$T_DIR/$side/torture-$lbs.out" | sed 's/^/     | /'
		fi
	done
	if [ ! -d "$T_DIR/$side-fault" ]; then
		[ "$(t_stack "$side")" = rust ] && t_fail "$side: no media_write_budget knob"
		echo "   $side ($(t_stack "$side")): no media_write_budget knob, unfaulted workload only"
		continue
	fi
	for lbs in 512 4096 $([ "$random" -gt 0 ] && echo 512-random 4096-random); do
		rc=$T_DIR/$side-fault/torture-${lbs%-random}.rc
		if [ "${lbs%-random}" != "$lbs" ] && [ "$(cat "$rc" 2>/dev/null)" != 0 ]; then
			t_fail "$side: btttort.py's random cuts failed on ${lbs%-random}-byte sectors:"
			tail -n 15 "${rc%.rc}.out" 2>/dev/null | sed 's/^/     | /'
		fi
		check_cuts "$T_DIR/$side-fault" $lbs "$mode" "$random" || t_fail "$side: power cuts on $lbs-byte sectors"
	done
done
[ -e "$T_DIR/ref/done" ] && [ -e "$T_DIR/cand/done" ] && t_cmp_sides
t_done
