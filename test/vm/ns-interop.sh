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
#    plus the DIMM's label area (`read-labels -o` and -j); then
#      sector*  sector mode (nd_btt; issue 10, acceptance 1) in the 32 MiB
#               left in the hole (C's creates must work): create-namespace
#               -m sector -l 512, destroy, again with -l 4096, destroy;
#               after each create and destroy `ndctl list -N -v`, every
#               attribute of every region, namespace and bttN.M, the devices
#               and drivers and the disks (test/tools/ndsysfs.py); the btt
#               uuids ndctl makes up print as <uuid-N>
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
	# state NAME: ndsysfs.py's dump (every region and namespace attribute, the
	# devices and drivers, the disks) and every attribute of every bttN.M, in
	# NAME-*.out; uuids ndctl made up (a btt's) become <uuid-N>, N in order
	# of first appearance, in every NAME-* file.
	state() {
		udevadm settle -t 30 2>/dev/null
		# (g_nds: the one ndsysfs.py serve process of the guest part)
		g_nds dump "$G_OUT/$1" && g_nds dump_btts "$G_OUT/$1" &&
			g_nds mask_uuids "$G_OUT/$1" /tmp/ns-interop-uuids.txt "${U%?}" ||
			g_fatal "state $1 failed"
	}
	# sector NAME SECTOR_SIZE UUID: a 32 MiB sector namespace (a BTT arena
	# needs 16 MiB past the 4 KiB info-block offset): ndctl's and
	# sysfs' view of it (state), then of its destruction.
	sector() {
		local ns
		g_run "$1-create.json" ndctl create-namespace -r region0 -m sector -l "$2" -s 32M -n sect --uuid "$3"
		g_run "$1-list-Nv.json" ndctl list -N -v
		state "$1"
		ns=$(jq -r '.dev // empty' "$G_OUT/$1-create.json" 2>/dev/null)
		g_run "$1-destroy" ndctl destroy-namespace -f "${ns:-none}"
		g_run "$1-destroyed-list-Nv.json" ndctl list -N -v
		state "$1-destroyed"
	}
	case "$3" in
	seq)
		rm -f /tmp/ns-interop-uuids.txt
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
		# Sector mode in the 32 MiB left in the hole (after the label dump, so that 2.
		# boots the raw namespaces alone): create with 512-byte sectors,
		# destroy, re-create with 4096.
		t0=$(date +%s.%N)
		sector sector512 512 ${U}6
		sector sector4096 4096 ${U}7
		# Beside OUTDIR: the time differs from boot to boot.
		echo "$t0 $(date +%s.%N)" | awk '{ printf "%.0f\n", $2 - $1 }' >"$G_OUT-sector.time"
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
rm -rf "$T_DIR"/*-labels "$T_DIR"/*-sector.time "$T_DIR/x-file" "$T_DIR/cand-file"
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
# The sector steps compare something only if C's creates worked.
for n in sector512 sector4096; do
	[ "$(cat "$T_DIR/ref/$n-create.rc" 2>/dev/null)" = 0 ] ||
		t_fail "C: $n: create-namespace -m sector failed: $(head -c 300 "$T_DIR/ref/$n-create.err" 2>/dev/null | tr '\n' ';')"
done
echo "   the sector steps took $(cat "$T_DIR/ref-sector.time" 2>/dev/null)s on $T_REF, $(cat "$T_DIR/cand-sector.time" 2>/dev/null)s on $T_CAND"

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
