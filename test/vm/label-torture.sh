#!/bin/bash
# label-torture: a power cut at every label write of create-namespace and
# destroy-namespace leaves exactly the old or the new namespaces, never a mix.
#
# The cut comes from our nfit_test's test-only knob
# /sys/class/nfit_test_bus/nfit_test.N/label_write_budget (Documentation/
# testing.md): budget k lets k ND_CMD_SET_CONFIG_DATA commands of the bus land,
# tears the next one (half its payload) and fails every later one with EIO.
# C's nfit_test has no such knob, so the torture runs on the candidate only;
# on the reference (C) side the guest runs the unfaulted sequence, and the
# two sides must agree on it.
#
# Both sides (compared with each other), on nfit_test.0's 4-way region (nmem0-3)
# and nfit_test.1's 1-DIMM region, labels initialised (v1.1):
#   old      one raw namespace "keep" per region
#   new      after `create-namespace -m raw -s 16M -n new -u U_NEW`
#   gone     after `destroy-namespace -f` of "new" (the old config again)
#   each with `ndctl list -RNi` of the region, each command's status and output.
# Candidate only, when it has the knob (the Rust stack must have it):
#   knob     nmem0 of nfit_test.0, regions disabled: `write-labels -i` of a
#            128 KiB pattern with budget k in {0, 1, 5, 31, 32, 40}: the label
#            area must hold the first k 4 KiB chunks, half of chunk k+1 and
#            zeroes after; write-labels fails while k < 32 and the budget then
#            reads "cut"; otherwise it reads k - 32.
#   torture  per region and per operation (create from old, destroy from new):
#            N = the label writes the unfaulted operation makes (budget BIG,
#            BIG - remaining); then for each k in 0..N-1 (`make torture`;
#            `make check` takes k = 0, N-1 and a seeded one, 3 in all, the
#            seed printed for RLN_TORTURE_SEED): restore the starting
#            label areas (write-labels, DIMMs re-probed), set budget k, run the
#            operation (it may fail), then "reboot" the labels (disable the
#            bus's regions and DIMMs, budget -1, enable them: the DIMMs' label
#            areas are read again) and record the region's namespaces (uuid,
#            size, name) and each DIMM's label area (`read-labels -o` and -j).
#            The host then checks that every k gives exactly the old or the new
#            namespaces, that the cut happened during the operation, that the
#            namespaces decoded from the raw label areas (test/tools/
#            nslabels.py: current index, active slots) are the ones the kernel
#            shows, and that `read-labels -j` shows every active label.
. "$(dirname "$0")/../lib.sh"

U_KEEP4=5a7e0005-0000-4000-8000-000000000001
U_NEW4=5a7e0005-0000-4000-8000-000000000002
U_KEEP1=5a7e0005-0000-4000-8000-000000000011
U_NEW1=5a7e0005-0000-4000-8000-000000000012
BIG=1000000

if [ "${1:-}" = --guest ]; then
	g_begin "$2"
	sample=$3 seed=$4
	g_modprobe nfit_test
	g_wait_scrub
	b0=$(g_bus_by_provider nfit_test.0) || g_fatal "no nfit_test.0 bus"
	b1=$(g_bus_by_provider nfit_test.1) || g_fatal "no nfit_test.1 bus"
	# region_on BUS WAYS: the pmem region of BUS with WAYS mappings.
	region_on() {
		local r
		for r in /sys/bus/nd/devices/"$1"/region*; do
			[ "$(cat "$r/nstype" 2>/dev/null)" = 4 ] && [ "$(cat "$r/mappings")" = "$2" ] &&
				basename "$r" && return 0
		done
		return 1
	}
	r4=$(region_on "$b0" 4) || g_fatal "no 4-way pmem region on nfit_test.0"
	r1=$(region_on "$b1" 1) || g_fatal "no 1-DIMM pmem region on nfit_test.1"
	# dimms_of REGION: its DIMMs in mapping order.
	dimms_of() {
		local m
		for m in /sys/bus/nd/devices/"$1"/mapping[0-9]*; do cut -d, -f1 "$m"; done
	}
	d4=$(dimms_of "$r4" | tr '\n' ' ') d1=$(dimms_of "$r1" | tr '\n' ' ')
	echo "4-way $r4: $d4; 1-DIMM $r1: $d1" >regions.out
	# Under TCG every fork costs a tenth of a second or more: the helpers
	# below read sysfs with the shell's read, not cat.
	# ns_config REGION: the region's namespaces as "uuid size name", sorted.
	ns_config() {
		local ns u s n
		for ns in /sys/bus/nd/devices/"$1"/namespace[0-9]*; do
			u= s= n=
			IFS= read -r s <"$ns/size"
			[ "$s" != 0 ] || continue
			IFS= read -r u <"$ns/uuid"
			IFS= read -r n <"$ns/alt_name"
			echo "$u $s $n"
		done | sort
		[ -e /sys/bus/nd/devices/"$1"/driver ] || echo "region $1 not enabled"
	}
	# ns_by_uuid REGION UUID: the namespace device with that uuid.
	ns_by_uuid() {
		local ns u
		for ns in /sys/bus/nd/devices/"$1"/namespace[0-9]*; do
			u=
			{ IFS= read -r u <"$ns/uuid"; } 2>/dev/null
			[ "$u" = "$2" ] && echo "${ns##*/}" && return 0
		done
		return 1
	}

	for b in nfit_test.0 nfit_test.1; do
		g_run "init-$b-disable" ndctl disable-region -b "$b" all
		g_run "init-$b-init" ndctl init-labels -b "$b" all
		g_run "init-$b-enable" ndctl enable-region -b "$b" all
	done
	# nfit_test.1's DIMM is unarmed, so its region starts read-only, which
	# ndctl refuses to create in; and its mapping is not on the default
	# 16 MiB alignment, which offers no extent. Writable and 4 KiB, both fit.
	g_run init-r1 sh -c "echo 0 >/sys/bus/nd/devices/$r1/read_only && echo 4096 >/sys/bus/nd/devices/$r1/align"
	g_run old-4-create.json ndctl create-namespace -r "$r4" -m raw -s 16M -n keep -u $U_KEEP4
	g_run old-1-create.json ndctl create-namespace -r "$r1" -m raw -s 16M -n keep -u $U_KEEP1
	ns_config "$r4" >old-4.conf
	ns_config "$r1" >old-1.conf
	g_run old-list.json ndctl list -RNi
	g_run new-4-create.json ndctl create-namespace -r "$r4" -m raw -s 16M -n new -u $U_NEW4
	g_run new-1-create.json ndctl create-namespace -r "$r1" -m raw -s 16M -n new -u $U_NEW1
	ns_config "$r4" >new-4.conf
	ns_config "$r1" >new-1.conf
	g_run new-list.json ndctl list -RNi
	g_run new-reboot-disable ndctl disable-region all
	g_run new-reboot-enable ndctl enable-region all
	ns_config "$r4" >new-4-reboot.conf
	ns_config "$r1" >new-1-reboot.conf
	g_run gone-4-destroy ndctl destroy-namespace -f "$(ns_by_uuid "$r4" $U_NEW4 || echo none)"
	g_run gone-1-destroy ndctl destroy-namespace -f "$(ns_by_uuid "$r1" $U_NEW1 || echo none)"
	ns_config "$r4" >gone-4.conf
	ns_config "$r1" >gone-1.conf
	g_run gone-list.json ndctl list -RNi

	knob0=/sys/class/nfit_test_bus/nfit_test.0/label_write_budget
	if [ ! -e "$knob0" ]; then
		g_end
		exit 0
	fi
	# Results only the knob's stack makes go beside OUTDIR, so that the
	# sides' comparison does not see them.
	F=$G_OUT-fault
	rm -rf "$F"
	mkdir -p "$F"
	knob_of() { echo "/sys/class/nfit_test_bus/$1/label_write_budget"; }
	set_knob() {
		echo "$2" >"/sys/class/nfit_test_bus/$1/label_write_budget" ||
			g_fatal "cannot set $(knob_of "$1") to $2"
	}
	# KNOB=the budget of BUS: get_knob BUS
	get_knob() { KNOB=; IFS= read -r KNOB <"/sys/class/nfit_test_bus/$1/label_write_budget"; }

	# The knob itself, through ndctl's own label writes (4 KiB each).
	ndctl disable-region -b nfit_test.0 all >/dev/null 2>&1
	dimm=${d4%% *}
	ndctl read-labels -o "$F/knob-saved.bin" "$dimm" >/dev/null 2>&1 || g_fatal "read-labels $dimm failed"
	python3 -c 'import random, sys; random.seed(5); sys.stdout.buffer.write(bytes(random.getrandbits(8) for _ in range(131072)))' >"$F/pattern.bin"
	for k in 0 1 5 31 32 40; do
		set_knob nfit_test.0 -1
		ndctl zero-labels "$dimm" >/dev/null 2>&1 || g_fatal "zero-labels $dimm failed"
		set_knob nfit_test.0 "$k"
		ndctl write-labels -i "$F/pattern.bin" "$dimm" >"$F/knob-$k.out" 2>&1
		echo "rc=$? budget=$(cat "$(knob_of nfit_test.0)")" >>"$F/knob-$k.out"
		set_knob nfit_test.0 -1
		ndctl read-labels -o "$F/knob-$k.bin" "$dimm" >/dev/null 2>&1 || g_fatal "read-labels $dimm failed"
	done
	for bad in -2 x 1x; do
		echo "$bad" >"$(knob_of nfit_test.0)" 2>/dev/null
		echo "'$bad' rc=$? budget=$(cat "$(knob_of nfit_test.0)")" >>"$F/knob-bad.out"
	done
	# What the ioctl caller sees: budget 1 lets one write through, then EIO.
	set_knob nfit_test.0 1
	for i in 1 2 3; do
		$NDIOCTL "/dev/$dimm" set 0 256 --data zero >>"$F/knob-ioctl.out" 2>&1
		echo "budget=$(cat "$(knob_of nfit_test.0)")" >>"$F/knob-ioctl.out"
	done
	# Back to the labels the sequence above left (nmem0 is in both regions).
	set_knob nfit_test.0 -1
	ndctl write-labels -i "$F/knob-saved.bin" "$dimm" >/dev/null 2>&1 || g_fatal "write-labels $dimm failed"
	ndctl disable-dimm "$dimm" >/dev/null 2>&1
	ndctl enable-dimm "$dimm" >/dev/null 2>&1
	ndctl enable-region -b nfit_test.0 all >/dev/null 2>&1

	# The ndbusN of each provider, for the sysfs paths below.
	declare -A ndbus=([nfit_test.0]=$b0 [nfit_test.1]=$b1)
	# nd_driver unbind|bind DRIVER DEVPATH...: through the driver's sysfs file,
	# as ndctl's disable-* and enable-* do (a device already so: no matter).
	nd_driver() {
		local what=$1 drv=$2 d
		shift 2
		for d in "$@"; do
			echo "${d##*/}" >"/sys/bus/nd/drivers/$drv/$what"
		done 2>/dev/null
	}
	# regions_up BUS: enable the bus's regions and wait for their namespaces
	# to probe (ndctl enable-region -b BUS all, from the shell: an ndctl
	# start costs seconds in a TCG guest).
	regions_up() {
		local nb=/sys/bus/nd/devices/${ndbus[$1]}
		nd_driver bind nd_region "$nb"/region[0-9]*
		read -r _ <"$nb/wait_probe"
		udevadm settle -t 30 2>/dev/null
	}
	# reboot BUS: the DIMMs forget what they cached and read their labels
	# again: the bus's regions and DIMMs disabled, the knob off, DIMMs and
	# regions enabled (ndctl disable-region, disable-dimm, enable-dimm and
	# enable-region -b BUS all, from the shell).
	reboot() {
		local nb=/sys/bus/nd/devices/${ndbus[$1]}
		nd_driver unbind nd_region "$nb"/region[0-9]*
		nd_driver unbind nvdimm "$nb"/nmem[0-9]*
		set_knob "$1" -1
		nd_driver bind nvdimm "$nb"/nmem[0-9]*
		regions_up "$1"
	}
	# save_areas DIR DIMM...: the label areas; restore_areas BUS DIR DIMM...
	save_areas() {
		local dir=$1 d
		shift
		mkdir -p "$dir"
		for d in "$@"; do
			ndctl read-labels -o "$dir/$d.bin" "$d" >/dev/null 2>&1 || g_fatal "read-labels -o $d failed"
		done
	}
	# (the regions disabled, the knob off; write-labels disables and enables
	# each DIMM it writes, which then reads its labels again: a reboot)
	restore_areas() {
		local bus=$1 dir=$2 d
		shift 2
		nd_driver unbind nd_region /sys/bus/nd/devices/"${ndbus[$bus]}"/region[0-9]*
		set_knob "$bus" -1
		for d in "$@"; do
			ndctl write-labels -i "$dir/$d.bin" "$d" >/dev/null 2>&1 || g_fatal "write-labels $d failed"
		done
		regions_up "$bus"
	}
	# record PREFIX REGION DIMM...: namespaces and labels after a reboot: one
	# `read-labels -j` of the DIMMs (PREFIX-areas.json) and one `read-labels
	# -o` (PREFIX-areas.bin: the areas one after the other in PREFIX.dimms'
	# order, as ndctl reads them; its "read N nmems" in PREFIX-areas.err).
	record() {
		local p=$1 r=$2 m l
		shift 2
		ns_config "$r" >"$p.conf"
		echo "$*" >"$p.dimms"
		ndctl read-labels -j "$@" >"$p-areas.json" 2>/dev/null
		ndctl read-labels -o "$p-areas.bin" "$@" >/dev/null 2>"$p-areas.err"
		for m in /sys/bus/nd/devices/"$r"/mapping[0-9]*; do
			IFS= read -r l <"$m" && echo "$l"
		done >"$p.mappings"
	}
	# op OP REGION UUID: the operation under test; its status and output.
	op() {
		case "$1" in
		create) ndctl create-namespace -r "$2" -m raw -s 16M -n new -u "$3" ;;
		destroy) ndctl destroy-namespace -f "$(ns_by_uuid "$2" "$3" || echo none)" ;;
		esac
	}

	# The cuts: every k (RLN_TORTURE=full), or the first and last write and
	# a seeded sample between them (the default). One python answers for
	# every operation, a line "N SAMPLE SEED" in, the cuts out.
	coproc KS { exec python3 -c 'import random, sys
while True:
    line = sys.stdin.readline()
    if not line:
        break
    n, sample, seed = line.rstrip("\n").split(" ", 2)
    n, sample = int(n), int(sample)
    ks = range(n)
    if sample > 0 and n > sample:
        rest = random.Random(seed).sample(range(1, n - 1), sample - 2)
        ks = sorted({0, n - 1, *rest})
    print(*ks, flush=True)'; }
	for tag in 4 1; do
		if [ $tag = 4 ]; then r=$r4 dimms=$d4 bus=nfit_test.0 u=$U_NEW4; else r=$r1 dimms=$d1 bus=nfit_test.1 u=$U_NEW1; fi
		# The starting label areas: old (after gone) now, new after a create.
		save_areas "$F/areas-$tag-old" $dimms
		if ! op create "$r" "$u" >"$F/$tag-setup.err" 2>&1; then
			echo "the unfaulted create in $r failed" >>"$F/$tag-setup.err"
			continue
		fi
		save_areas "$F/areas-$tag-new" $dimms
		if ! op destroy "$r" "$u" >"$F/$tag-setup.err" 2>&1; then
			echo "the unfaulted destroy in $r failed" >>"$F/$tag-setup.err"
			continue
		fi
		rm -f "$F/$tag-setup.err"
		for o in create:old destroy:new; do
			o_name=${o%%:*} from=${o#*:}
			t=$F/$tag-$o_name
			restore_areas "$bus" "$F/areas-$tag-$from" $dimms
			record "$t-start" "$r" $dimms
			set_knob "$bus" $BIG
			op "$o_name" "$r" "$u" >"$t-count.out" 2>&1
			echo "rc=$?" >>"$t-count.out"
			get_knob "$bus"
			n=$((BIG - KNOB))
			echo "$n" >"$t-writes"
			reboot "$bus"
			record "$t-end" "$r" $dimms
			echo "$n $sample $seed-$tag-$o_name" >&"${KS[1]}"
			ks=
			read -r ks <&"${KS[0]}" || g_fatal "no cuts from the sampler"
			echo "$ks" >"$t-ks"
			for k in $ks; do
				restore_areas "$bus" "$F/areas-$tag-$from" $dimms
				set_knob "$bus" "$k"
				op "$o_name" "$r" "$u" >"$t-k$k.out" 2>&1
				rc=$?
				get_knob "$bus"
				echo "rc=$rc budget=$KNOB" >>"$t-k$k.out"
				reboot "$bus"
				record "$t-k$k" "$r" $dimms
			done
		done
		restore_areas "$bus" "$F/areas-$tag-old" $dimms
	done
	g_end
	exit 0
fi

# check_knob DIR: budget k kept exactly k chunks and half of the next.
check_knob() {
	python3 - "$1" <<-'EOF'
	import sys
	d = sys.argv[1]
	pat = open(f"{d}/pattern.bin", "rb").read()
	bad = 0
	for k in (0, 1, 5, 31, 32, 40):
	    got = open(f"{d}/knob-{k}.bin", "rb").read()
	    landed = min(k * 4096 + 2048, len(pat)) if k < 32 else len(pat)
	    want = pat[:landed] + bytes(len(pat) - landed)
	    out = open(f"{d}/knob-{k}.out").read().strip().splitlines()[-1]
	    # ndctl write-labels' own exit status is not the knob's business.
	    out = out.split(" ", 1)[1]
	    want_out = "budget=cut" if k < 32 else f"budget={k - 32}"
	    if got != want:
	        first = next(i for i in range(len(pat)) if got[i:i + 1] != want[i:i + 1])
	        print(f"budget {k}: label area differs from {landed} pattern bytes + zeroes, first at byte {first}")
	        bad += 1
	    if out != want_out:
	        print(f"budget {k}: write-labels gave '{out}', expected '{want_out}'")
	        bad += 1
	    print(f"   budget {k}: {landed} bytes of the pattern landed; {out}")
	sys.exit(1 if bad else 0)
	EOF
}

# check_torture DIR TAG OP: every cut left the old or the new namespaces, and
# the label areas say the same (test/tools/nslabels.py decodes them from the
# raw dumps; `read-labels -j` must show every active label).
check_torture() {
	python3 - "$RLN_TOP/test/tools" "$@" <<-'EOF'
	import os, sys
	sys.path.insert(0, sys.argv[1])
	import nslabels
	d, tag, op = sys.argv[2:5]
	t = f"{d}/{tag}-{op}"
	if os.path.exists(f"{d}/{tag}-setup.err"):
	    print(f"{tag}-{op}: no torture: " + open(f"{d}/{tag}-setup.err").read())
	    sys.exit(1)
	def conf(p):
	    return open(f"{p}.conf").read()
	def areas(p):
	    """Each DIMM's raw label area and `read-labels -j` object, by name: one
	    read-labels -o read the DIMMs of PREFIX.dimms into one file, in that
	    order, all areas the same size; one read-labels -j all of them."""
	    import json, re
	    order = open(f"{p}.dimms").read().split()
	    raw = nslabels.read(f"{p}-areas.bin")
	    bad = []
	    said = re.findall(r"^read (\d+) nmem", open(f"{p}-areas.err").read(), re.M)
	    if said != [str(len(order))] or not raw or len(raw) % len(order):
	        bad.append(f"read-labels -o of {order}: {len(raw)} bytes, ndctl said {said}")
	    each = len(raw) // len(order)
	    raws = {d: raw[i * each:(i + 1) * each] for i, d in enumerate(order)}
	    try:
	        js = json.load(open(f"{p}-areas.json"))
	        js = {j.get("dev"): j for j in (js if isinstance(js, list) else [js])}
	    except ValueError as e:
	        js = {}
	        bad.append(f"read-labels -j is not JSON ({e})")
	    return raws, js, bad
	def decode(p):
	    """The region's namespaces by its label areas, and label sets left incomplete."""
	    maps = [l.split(",") for l in open(f"{p}.mappings").read().split()]
	    raws, js, bad = areas(p)
	    found = {}
	    for dimm, start, size, _pos in maps:
	        start, size = int(start, 0), int(size, 0)
	        labels = nslabels.active_labels(raws.get(dimm, b""))
	        if dimm not in js:
	            bad.append(f"{dimm}: read-labels -j shows no such DIMM")
	        shown = {(j.get("slot"), j.get("uuid"), j.get("name"), j.get("dpa"), j.get("rawsize"))
	                 for j in js.get(dimm, {}).get("label", [])}
	        for l in labels:
	            if (l["slot"], l["uuid"], l["name"], l["dpa"], l["rawsize"]) not in shown:
	                bad.append(f"{dimm}: read-labels -j does not show active label in slot {l['slot']}")
	            if start <= l["dpa"] < start + size:
	                e = found.setdefault(l["uuid"], {"dimms": set(), "size": 0, "name": l["name"]})
	                e["dimms"].add(dimm)
	                e["size"] += l["rawsize"]
	    full = sorted(f"{u} {e['size']} {e['name']}" for u, e in found.items() if len(e["dimms"]) == len(maps))
	    part = sorted(f"{u} on {sorted(e['dimms'])}" for u, e in found.items() if len(e["dimms"]) != len(maps))
	    return full, part, bad
	old, new = conf(f"{t}-start"), conf(f"{t}-end")
	n = int(open(f"{t}-writes").read())
	bad = 0
	if old == new or n == 0:
	    print(f"{tag}-{op}: the operation changed nothing ({n} label writes)")
	    sys.exit(1)
	ks = [int(k) for k in open(f"{t}-ks").read().split()]
	if not ks or ks[0] != 0 or ks[-1] != n - 1:
	    print(f"{tag}-{op}: the cuts {ks} do not include the first and last of {n} writes")
	    bad += 1
	seen = {"old": 0, "new": 0}
	for k in ["start", "end"] + ks:
	    p = f"{t}-k{k}" if isinstance(k, int) else f"{t}-{k}"
	    c = conf(p)
	    if isinstance(k, int):
	        out = open(f"{p}.out").read().strip().splitlines()[-1]
	        if not out.endswith("budget=cut"):
	            print(f"{tag}-{op} k={k}: the operation did not reach its write {k + 1} ({out})")
	            bad += 1
	        if c == old:
	            seen["old"] += 1
	        elif c == new:
	            seen["new"] += 1
	        else:
	            print(f"{tag}-{op} k={k}: neither the old nor the new namespaces:\n{c}   old:\n{old}   new:\n{new}")
	            bad += 1
	    full, part, problems = decode(p)
	    kernel = sorted(l for l in c.splitlines() if not l.startswith("region "))
	    if full != kernel:
	        print(f"{tag}-{op} k={k}: the labels decode to {full}, the kernel shows {kernel}")
	        bad += 1
	    for m in problems:
	        print(f"{tag}-{op} k={k}: {m}")
	        bad += 1
	    if part:
	        print(f"   {tag}-{op} k={k}: incomplete label sets (ignored): {part}")
	what = "each" if len(ks) == n else f"{len(ks)} of them ({' '.join(map(str, ks))})"
	print(f"   {tag}-{op}: {n} label writes; cut at {what}: {seen['old']} x old, {seen['new']} x new")
	sys.exit(1 if bad else 0)
	EOF
}

t_init label-torture
t_nfit_test
# make check cuts power at a sample of each operation's label writes; make
# torture (RLN_TORTURE=full) at every one. The seed is printed so that a
# failing sample can be run again: RLN_TORTURE_SEED=S.
if [ "${RLN_TORTURE:-sample}" = full ]; then
	sample=0
else
	sample=${RLN_TORTURE_SAMPLE:-3}
fi
seed=${RLN_TORTURE_SEED:-$(date +%s)}
echo "   power cuts: $([ "$sample" = 0 ] && echo "at every label write" || echo "at $sample label writes per operation (first, last and a sample)"), seed $seed (RLN_TORTURE_SEED=$seed to repeat)"
for side in ref cand; do
	rm -rf "$T_DIR/$side-fault"
	t_guest "$side" -- "$sample" "$seed" || { [ $side = ref ] && t_done; continue; }
	t_check_dmesg "$side"
	if [ ! -d "$T_DIR/$side-fault" ]; then
		# Only our nfit_test has the knob; the Rust stack must.
		[ "$(t_stack "$side")" = rust ] && t_fail "$side: no label_write_budget knob"
		echo "   $side ($(t_stack "$side")): no label_write_budget knob, unfaulted sequence only"
		continue
	fi
	check_knob "$T_DIR/$side-fault" || t_fail "$side: label_write_budget does not tear exactly write k+1"
	# The raw ioctls: one write lands, the torn one and the next get EIO.
	want=$'ok status=0x0 rc=0\nbudget=0\nerrno=EIO\nbudget=cut\nerrno=EIO\nbudget=cut'
	got=$(sed 's/^\(ok status=[0-9a-fx-]* rc=[0-9]*\|errno=[A-Z]*\).*/\1/' "$T_DIR/$side-fault/knob-ioctl.out")
	if [ "$got" != "$want" ]; then
		t_fail "$side: SET_CONFIG_DATA ioctls under budget 1:"
		sed 's/^/     /' "$T_DIR/$side-fault/knob-ioctl.out"
	fi
	# Values other than -1 and counts are refused and change nothing.
	if grep -v "rc=1 budget=-1$" "$T_DIR/$side-fault/knob-bad.out"; then
		t_fail "$side: label_write_budget took a bad value"
	fi
	for tag in 4 1; do
		for o in create destroy; do
			t_pending_skip "torture-$tag-$o" ||
				check_torture "$T_DIR/$side-fault" "$tag" "$o" || t_fail "$side: torture of $o in the ${tag}-DIMM region"
		done
	done
done
[ -e "$T_DIR/ref/done" ] && [ -e "$T_DIR/cand/done" ] && t_cmp_sides
t_done
