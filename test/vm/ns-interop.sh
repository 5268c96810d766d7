#!/bin/bash
# ns-interop: raw namespaces that one stack configures on a QEMU NVDIMM (1 GiB,
# 128 KiB label area, `modprobe nfit`; reference: Linux's C modules as
# shipped) come up the same on the other, and the same ndctl command sequence
# leaves both stacks in the same state. regions-qemu-nvdimm covers two
# namespaces of fixed size and name, created by C; this test covers the rest
# of the ways to create them, more of them, holes, and both directions.
#
# 1. The same sequence on a fresh file per stack (compared step by step:
#    `ndctl list -RNi`, every command's status, stdout and stderr):
#      init     disable-region, init-labels, enable-region
#      three    create-namespace -m raw: -s 128M -n alpha; -s 64M without a
#               name; -s 256M -n gamma (each with a fixed --uuid)
#      toggle   disable-namespace and enable-namespace of the unnamed one
#      hole     destroy-namespace -f of the unnamed one
#      default  create-namespace -m raw -n delta (default size: the largest
#               free extent), then -s 32M -n epsilon (into the hole)
#      final    after disable-region + enable-region: rescanned from labels
#    plus, at the end, the DIMM's label area (`read-labels -o` and -j).
# 2. Fresh boots on each file:
#      C file   on C and on the candidate: equal views (list -RNi; uuid, size,
#               alt_name, mode, resource, sector_size of each namespace)
#      cand file  on C: must equal C's view of its own file
#    and the namespaces decoded from both stacks' label areas (test/tools/
#    nslabels.py: uuid, size, name of the active labels) must be the same,
#    and be what C shows; `read-labels -j` must show every active label.
. "$(dirname "$0")/../lib.sh"

U=5a7e0006-0000-4000-8000-00000000000

if [ "${1:-}" = --guest ]; then
	g_begin "$2"
	g_modprobe nfit
	g_wait_scrub
	bus=$(g_bus_by_provider ACPI.NFIT) || g_fatal "no ACPI.NFIT bus"
	dimm=$(ls /sys/bus/nd/devices/"$bus" | grep -m1 '^nmem') || g_fatal "no nmem on $bus"
	# ns_attrs NAME: what each configured namespace shows in sysfs.
	ns_attrs() {
		local ns f
		for ns in /sys/bus/nd/devices/namespace[0-9]*; do
			[ "$(cat "$ns/size")" != 0 ] || continue
			printf '%s' "$(cat "$ns/uuid")"
			for f in size alt_name mode resource sector_size; do
				printf '\t%s=%s' "$f" "$(cat "$ns/$f")"
			done
			echo
		done | sort >"$1-ns.out"
	}
	# ns_by_uuid UUID: the namespace device with that uuid.
	ns_by_uuid() {
		local ns
		for ns in /sys/bus/nd/devices/namespace[0-9]*; do
			[ "$(cat "$ns/uuid" 2>/dev/null)" = "$1" ] && basename "$ns" && return 0
		done
		echo none
	}
	view() { # NAME: ndctl's and sysfs' view of the namespaces
		g_run "$1-list-RNi.json" ndctl list -RNi
		ns_attrs "$1"
	}
	# labels NAME: the DIMM's label area, raw and as ndctl decodes it, beside
	# OUTDIR (how the stacks lay labels out may differ; what they mean may not).
	labels() {
		local dir=$G_OUT-labels/$1
		mkdir -p "$dir"
		ndctl read-labels -o "$dir/$dimm.bin" "$dimm" >/dev/null 2>&1 || g_fatal "read-labels -o $dimm failed"
		ndctl read-labels -j "$dimm" >"$dir/$dimm.json" 2>/dev/null
		cat /sys/bus/nd/devices/region0/mapping[0-9]* >"$dir/mappings"
	}
	case "$3" in
	seq)
		g_run init-disable ndctl disable-region all
		g_run init-init ndctl init-labels all
		g_run init-enable ndctl enable-region all
		view init
		g_run three-a.json ndctl create-namespace -r region0 -m raw -s 128M -n alpha --uuid ${U}1
		g_run three-b.json ndctl create-namespace -r region0 -m raw -s 64M --uuid ${U}2
		g_run three-c.json ndctl create-namespace -r region0 -m raw -s 256M -n gamma --uuid ${U}3
		view three
		b=$(ns_by_uuid ${U}2)
		g_run toggle-disable ndctl disable-namespace "$b"
		view toggle-off
		g_run toggle-enable ndctl enable-namespace "$b"
		view toggle-on
		g_run hole-destroy ndctl destroy-namespace -f "$b"
		view hole
		g_run default-d.json ndctl create-namespace -r region0 -m raw -n delta --uuid ${U}4
		g_run default-e.json ndctl create-namespace -r region0 -m raw -s 32M -n epsilon --uuid ${U}5
		view default
		g_run final-disable ndctl disable-region all
		g_run final-enable ndctl enable-region all
		view final
		labels final
		;;
	read)
		view boot
		labels boot
		;;
	esac
	g_end
	exit 0
fi

# decode DIR: the namespaces the label area in DIR holds ("uuid size name"),
# after checking that `read-labels -j` shows each active label.
decode() {
	local d=$1 m
	for m in "$d"/nmem*.bin; do
		python3 "$RLN_TOP/test/tools/nslabels.py" labels "$m" "${m%.bin}.json" >/dev/null ||
			t_fail "read-labels -j of ${m%.bin} misses active labels"
	done
	python3 "$RLN_TOP/test/tools/nslabels.py" namespaces "$d/mappings" "$d"
}

t_init ns-interop c-intree
rm -rf "$T_DIR"/*-labels "$T_DIR/x-file" "$T_DIR/cand-file"
imgc=$T_DIR/nvdimm-c.img
imgr=$T_DIR/nvdimm-cand.img
rm -f "$imgc" "$imgr"

# 1. The same sequence on a fresh file per stack.
t_guest ref --nvdimm "$imgc:1G:128K" -- seq || t_done
t_check_dmesg ref
if t_guest cand --nvdimm "$imgr:1G:128K" -- seq; then
	t_check_dmesg cand
	t_cmp_sides
fi

# 2. Fresh boots: the C stack's file on both stacks, the candidate's on C.
if t_guest ref-x --nvdimm "$imgc:1G:128K" -- read && t_guest cand-x --nvdimm "$imgc:1G:128K" -- read; then
	t_check_dmesg ref-x
	t_check_dmesg cand-x
	echo "   the namespaces C labeled, booted on $T_REF and on $T_CAND:"
	t_cmp_sides "$T_DIR/ref-x" "$T_DIR/cand-x"
	if [ -e "$T_DIR/cand/done" ] && t_guest ref-y --nvdimm "$imgr:1G:128K" -- read; then
		t_check_dmesg ref-y
		echo "   $T_REF booted on its own file and on the one $T_CAND labeled:"
		mkdir -p "$T_DIR/x-file" "$T_DIR/cand-file"
		for f in boot-list-RNi.json boot-ns.out; do
			cp "$T_DIR/ref-x/$f" "$T_DIR/x-file/cand-file-$f"
			cp "$T_DIR/ref-y/$f" "$T_DIR/cand-file/cand-file-$f"
		done
		decode "$T_DIR/ref-x-labels/boot" >"$T_DIR/x-file/cand-file-labels-decoded.out"
		decode "$T_DIR/ref-y-labels/boot" >"$T_DIR/cand-file/cand-file-labels-decoded.out"
		# What each stack wrote, decoded from its own read-labels at the end of 1.
		decode "$T_DIR/ref-labels/final" >"$T_DIR/x-file/cand-file-final-decoded.out"
		decode "$T_DIR/cand-labels/final" >"$T_DIR/cand-file/cand-file-final-decoded.out"
		t_cmp_sides "$T_DIR/x-file" "$T_DIR/cand-file"
		# The decoder must see what the kernel shows (uuid, size, name).
		cut -f1-3 "$T_DIR/ref-x/boot-ns.out" | sed 's/\tsize=/ /; s/\talt_name=/ /' |
			diff -u - "$T_DIR/x-file/cand-file-labels-decoded.out" >"$T_DIR/diff.tmp" ||
			{ t_fail "the labels C wrote decode to other namespaces than C shows:"; sed 's/^/     /' "$T_DIR/diff.tmp"; }
	fi
fi
rm -f "$imgc" "$imgr"
t_done
