# Helpers of the devdax-* VM tests (test/vm/devdax-*.sh), sourced after
# test/lib.sh: t_dx_* on the host, dx_* in the guest (after g_begin).
DEVDAX="python3 $RLN_TOP/test/tools/devdax.py"

# dx_pending: the modules of issue 12 the stack under test lacks, one a line
# (also in $G_OUT/pending.txt). A check that needs them is reported SKIP on
# the host (t_dx_skip), and runs as soon as they are there.
dx_pending() {
	local m
	: >"$G_OUT/pending.txt"
	for m in dax_pmem device_dax; do
		modinfo -n "$m" >/dev/null 2>&1 || echo "$m" >>"$G_OUT/pending.txt"
	done
	cat "$G_OUT/pending.txt"
}

# dx_load: load the stack's dax_pmem and device_dax before anything makes a
# dev_dax. Otherwise udev loads device_dax on the first dev_dax's uevent,
# and `ndctl create-namespace -m devdax` may print its JSON before the
# driver binds ("state": "disabled"), on either stack, as the race goes.
dx_load() {
	g_modprobe dax_pmem device_dax
}

# dx_view TAG [mask]: what ndctl, daxctl and sysfs show, as TAG-*:
# `ndctl list -N -v` (TAG-list.json), `daxctl list -RDu` (TAG-daxctl.json),
# every region, namespace, pfn and nd dax attribute with the nd devices and
# their drivers (ndsysfs.py: TAG-regions.out, -devices.out, -block.out,
# -pfn.out) and the dax bus (devdax.py sysfs: TAG-daxbus.out). With mask,
# the uuids ndctl made up print as <uuid-N> (N in order of first
# appearance, across the guest part).
dx_view() {
	local tag=$1
	udevadm settle -t 30 2>/dev/null
	g_run "$tag-list.json" ndctl list -N -v
	g_run "$tag-daxctl.json" daxctl list -RDu
	# The dax bus too in the one ndsysfs.py server: a python start costs
	# seconds in a TCG guest.
	g_nds dump "$G_OUT/$tag" && g_nds dump_pfns "$G_OUT/$tag" && g_nds dump_daxbus "$G_OUT/$tag" ||
		g_fatal "view $tag failed"
	if [ "${2:-}" = mask ]; then
		g_nds mask_uuids "$G_OUT/$tag" /tmp/devdax-uuids.txt 5a7e0005- || g_fatal "mask $tag"
	fi
}

# dx_stamp NAME: the guest's phases with their uptime, for the timings.
dx_stamp() { echo "$1 $(cut -d' ' -f1 /proc/uptime)" >>"$G_OUT/stamps.txt"; }

# ---- host side

# t_dx_need SIDE CHECK: 0 when SIDE's stack had what CHECK needs (dax_pmem
# and device_dax, its pending.txt empty). On a candidate that lacks them,
# prints `SKIP CHECK (pending on STACK: dax_pmem, device_dax)` and returns
# 1; the C stack lacking them fails the test.
t_dx_need() {
	local side=$1 check=$2 p
	if [ ! -e "$T_DIR/$side/pending.txt" ]; then
		t_fail "$check: $side ran no guest part"
		return 1
	fi
	p=$(paste -sd, "$T_DIR/$side/pending.txt" | sed 's/,/, /g')
	[ -z "$p" ] && return 0
	case "$(t_stack "$side")" in
	c|c-intree) t_fail "$check: the C stack ($side) lacks $p"; return 1 ;;
	esac
	echo "   SKIP $check (pending on $(t_stack "$side"): $p)"
	T_SKIPS=$((T_SKIPS + 1))
	return 1
}

# t_dx_same A B FILE[=OTHER]...: A's FILE equals B's FILE (or B's OTHER).
# A file neither side made is left out (the steps of the mode not taken,
# e.g. devdax-qemu's daxctl with and without CONFIG_NUMA); one only one side
# made fails.
t_dx_same() {
	local a=$1 b=$2 f
	shift 2
	for f in "$@"; do
		[ -e "$T_DIR/$a/${f%%=*}" ] || [ -e "$T_DIR/$b/${f#*=}" ] || continue
		t_cmp_file "$T_DIR/$a/${f%%=*}" "$T_DIR/$b/${f#*=}" "${f%%=*} ($a) vs ${f#*=} ($b)"
	done
}

# t_dx_views TAG [TAG2]: a view's file names (dx_view), or TAG=TAG2 pairs;
# t_dx_canon SIDE TAG: the view's .canon files (devdax.py canon: nd dax
# devices named after their namespace), t_dx_cviews their names.
T_DX_VIEW="list.json daxctl.json regions.out devices.out block.out pfn.out daxbus.out"
t_dx_views() {
	local f out=()
	for f in $T_DX_VIEW; do out+=("$1-$f${2:+=$2-$f}"); done
	echo "${out[@]}"
}
t_dx_canon() {
	local f files=()
	for f in $T_DX_VIEW; do files+=("$T_DIR/$1/$2-$f"); done
	python3 "$RLN_TOP/test/tools/devdax.py" canon "${files[@]}" 2>&1 | head -n 5
}
t_dx_cviews() {
	local f out=()
	for f in $T_DX_VIEW; do out+=("$1-$f.canon${2:+=$2-$f.canon}"); done
	echo "${out[@]}"
}

# t_dx_ok SIDE NAME LABEL: the command g_run ran as NAME exited 0.
t_dx_ok() {
	[ "$(cat "$T_DIR/$1/$2.rc" 2>/dev/null)" = 0 ] ||
		t_fail "$1 ($(t_stack "$1")): $3: exit $(cat "$T_DIR/$1/$2.rc" 2>/dev/null): $(head -c 300 "$T_DIR/$1/$2.err" 2>/dev/null | tr '\n' ';')"
}

# t_dx_matched SIDE FILE N LABEL: FILE (devdax.py results) has N `pattern:`
# lines, every one a match.
t_dx_matched() {
	local f=$T_DIR/$1/$2 n
	n=$(grep -c '^pattern: match$' "$f" 2>/dev/null)
	if [ "${n:-0}" != "$3" ] || grep -q -v -E '^(== |pattern: match$|sha256: )' "$f"; then
		t_fail "$1 ($(t_stack "$1")): $4: $(grep -v -E '^(sha256: )' "$f" 2>/dev/null | head -n 8 | tr '\n' ';')"
	fi
}
