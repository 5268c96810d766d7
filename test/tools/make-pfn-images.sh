#!/bin/bash
# Produce pfn info blocks written by Linux's C stack for the host tests
# (formats/testdata/pfn/, see its README).
#
# One boot of --stack c (Linux's C modules and its nfit_test), on nfit_test.0,
# with unmodified ndctl (`create-namespace -m fsdax -M MAP -a ALIGN`):
#   nt-io-dev-2M     the 2-way region's namespace_io (32 MiB, label-less,
#                    --no-autolabel), -M dev -a 2M
#   nt-io-mem-4K     the same namespace reconfigured, -M mem -a 4K
#   nt-io4-dev-4K    the 4-way region's namespace_io (64 MiB), -M dev -a 4K
#   nt-l-mem-2M      v1.2 labels (init-labels), 32 MiB in the 4-way region,
#                    -M mem -a 2M
#   nt-l-dev-4K      the next 32 MiB, -M dev -a 4K
# and one boot of --stack c-intree with two QEMU NVDIMMs: 2560 MiB without a
# label area (namespace_io, the whole DIMM) and 512 MiB with one (labels
# initialised with init-labels):
#   q-dev-2M         the 2560 MiB namespace_io, -M dev -a 2M
#   q-mem-4K         the same, -M mem -a 4K
# (-a 1G on it is refused by ndctl itself: "'--size=' must align to
# interleave-width: 1 and alignment: 1073741824", so this NVDIMM gives no
# block with end_trunc != 0; that needs a namespace whose start is not
# 1 GiB aligned, e.g. a labelled one after a 16 MiB one, of 2 GiB, -a 1G.)
#   ql-dev-2M        96 MiB labelled on the 512 MiB DIMM, -M dev -a 2M
#   ql-mem-4K        the next 160 MiB, -M mem -a 4K
# For each, while the pfn device is enabled, the guest records the namespace
# (size, resource, uuid), the pfn device's attributes and `ndctl list -v`;
# then it disables the namespace, sets force_raw, and dumps the first 8 KiB
# of the raw namespace (the info block is at 4 KiB).
# On the host: formats/testdata/pfn/NAME.bin (8 KiB), NAME.txt (key=value)
# and NAME.json (`ndctl list -v -n NS`).
. "$(dirname "$0")/../lib.sh"
set -u

if [ "${1:-}" = --guest ] || [ "${1:-}" = --guest-qemu ]; then
	g_begin "$2"
	# make_img NAME MAP ALIGN CREATE-ARGS...
	make_img() {
		local name=$1 map=$2 align=$3 json ns pfn raw a
		shift 3
		json=$(ndctl create-namespace "$@" -m fsdax -M "$map" -a "$align" 2>"$G_OUT/$name-create.err") ||
			g_fatal "$name: create-namespace $* -M $map -a $align failed: $(cat "$G_OUT/$name-create.err")"
		echo "$json" >"$G_OUT/$name-create.json"
		ns=$(echo "$json" | jq -r .dev)
		pfn=$(basename "$(cat /sys/bus/nd/devices/"$ns"/holder)")
		case "$pfn" in pfn*) ;; *) g_fatal "$name: holder of $ns is '$pfn', not a pfn device" ;; esac
		ndctl list -v -n "$ns" >"$G_OUT/$name.json" 2>/dev/null || g_fatal "$name: ndctl list"
		{
			echo "name=$name"
			echo "map=$map"
			echo "align_arg=$align"
			echo "namespace=$ns"
			echo "namespace_size=$(cat /sys/bus/nd/devices/"$ns"/size)"
			echo "namespace_resource=$(cat /sys/bus/nd/devices/"$ns"/resource)"
			echo "namespace_uuid=$(cat /sys/bus/nd/devices/"$ns"/uuid 2>/dev/null || echo none)"
			for a in mode align uuid resource size supported_alignments; do
				echo "pfn_$a=$(cat /sys/bus/nd/devices/"$pfn"/$a)"
			done
			echo "pmem_size=$(blockdev --getsize64 /dev/"$(echo "$json" | jq -r .blockdev)")"
		} >"$G_OUT/$name.txt"
		ndctl disable-namespace "$ns" >/dev/null 2>&1 || g_fatal "$name: disable-namespace"
		for d in /sys/bus/nd/devices/pfn*; do
			[ "$(cat "$d/namespace" 2>/dev/null)" = "$ns" ] || continue
			echo >"$d/namespace" || g_fatal "$name: detaching ${d##*/}"
		done
		echo 1 >/sys/bus/nd/devices/"$ns"/force_raw || g_fatal "$name: force_raw"
		ndctl enable-namespace "$ns" >/dev/null 2>&1 || g_fatal "$name: enable-namespace (raw)"
		udevadm settle -t 30 2>/dev/null
		raw=/dev/$(ls /sys/bus/nd/devices/"$ns"/block)
		[ "$(blockdev --getsize64 "$raw")" = "$(cat /sys/bus/nd/devices/"$ns"/size)" ] ||
			g_fatal "$name: raw $raw is not the whole namespace"
		dd if="$raw" of="$G_OUT/$name.bin" bs=4096 count=2 iflag=direct status=none || g_fatal "$name: dump"
		ndctl disable-namespace "$ns" >/dev/null 2>&1 || g_fatal "$name: disable-namespace (raw)"
		echo 0 >/sys/bus/nd/devices/"$ns"/force_raw
		echo "$ns" >"$G_OUT/$name.ns"
	}
	ns_io() { basename "$(ls -d /sys/bus/nd/devices/"$1"/namespace*.0)"; }

	if [ "$1" = --guest-qemu ]; then
		g_modprobe nfit
		bus=$(g_bus_by_provider ACPI.NFIT) || g_fatal "no ACPI.NFIT bus"
		rio="" rl=""
		# QEMU takes the label area off the DIMM's size: the labelled
		# region is 512 MiB - 128 KiB.
		for r in /sys/bus/nd/devices/"$bus"/region*; do
			if [ "$(cat "$r/size")" = $((2560 << 20)) ]; then
				rio=$(basename "$r")
			else
				rl=$(basename "$r")
			fi
		done
		[ -n "$rio" ] && [ -n "$rl" ] || g_fatal "no 2560 MiB and labelled regions on $bus: $(ls /sys/bus/nd/devices/"$bus"/) $(cat /sys/bus/nd/devices/"$bus"/region*/size)"
		make_img q-dev-2M dev 2M -f -e "$(ns_io "$rio")"
		make_img q-mem-4K mem 4K -f -e "$(ns_io "$rio")"
		dimm=$(cut -d, -f1 /sys/bus/nd/devices/"$rl"/mapping0)
		ndctl disable-region -b "$bus" "$rl" >/dev/null || g_fatal "disable-region $rl failed"
		ndctl init-labels -f "$dimm" >/dev/null 2>&1 || g_fatal "init-labels $dimm failed"
		ndctl enable-region -b "$bus" "$rl" >/dev/null || g_fatal "enable-region $rl failed"
		make_img ql-dev-2M dev 2M -r "$rl" -s 96M -n pfn-ql-dev-2M -u 5c1e0000-0000-4000-8000-00000000f001
		make_img ql-mem-4K mem 4K -r "$rl" -s 160M -n pfn-ql-mem-4K -u 5c1e0000-0000-4000-8000-00000000f002
		g_end
		exit 0
	fi

	g_modprobe nfit_test
	bus=nfit_test.0
	r4="" r2=""
	for r in /sys/bus/nd/devices/"$(basename "$(readlink -f /sys/devices/platform/$bus/ndbus*)")"/region*; do
		case "$(cat "$r/mappings")" in
		4) r4=$(basename "$r") ;;
		2) r2=$(basename "$r") ;;
		esac
	done
	[ -n "$r4" ] && [ -n "$r2" ] || g_fatal "no 4-way and 2-way region on $bus"
	make_img nt-io-dev-2M dev 2M --no-autolabel -f -e "$(ns_io "$r2")"
	make_img nt-io-mem-4K mem 4K --no-autolabel -f -e "$(ns_io "$r2")"
	make_img nt-io4-dev-4K dev 4K --no-autolabel -f -e "$(ns_io "$r4")"
	ndctl disable-region -b "$bus" all >/dev/null || g_fatal "disable-region failed"
	for d in nmem0 nmem1 nmem2 nmem3; do
		ndctl zero-labels "$d" >/dev/null 2>&1 || g_fatal "zero-labels $d failed"
		ndctl init-labels "$d" >/dev/null 2>&1 || g_fatal "init-labels $d failed"
	done
	ndctl enable-region -b "$bus" all >/dev/null || g_fatal "enable-region failed"
	make_img nt-l-mem-2M mem 2M -r "$r4" -s 32M -n pfn-nt-l-mem-2M -u 5c1e0000-0000-4000-8000-00000000f101
	make_img nt-l-dev-4K dev 4K -r "$r4" -s 32M -n pfn-nt-l-dev-4K -u 5c1e0000-0000-4000-8000-00000000f102
	g_end
	exit 0
fi

data=$RLN_TOP/formats/testdata/pfn
out=$RLN_TOP/build/vm/make-pfn-images
img=$out-qemu-io.img
imgl=$out-qemu-l.img
# --vm nfit|qemu|none: boot only that VM, or none (the others' output must be there from an
# earlier run); the host part always runs.
vms="nfit qemu"
[ "${1:-}" = --vm ] && vms=$2
for vm in $vms; do
	case $vm in
	nfit)
		rm -rf "$out"
		"$RLN_TOP/test/vm-run" --stack c -- \
			env RLN_GUEST_STACK=c bash "$(readlink -f "$0")" --guest "$out"
		;;
	qemu)
		rm -rf "$out-qemu" "$img" "$imgl"
		"$RLN_TOP/test/vm-run" --stack c-intree --nvdimm "$img:2560M:0" --nvdimm "$imgl:512M" -- \
			env RLN_GUEST_STACK=c-intree bash "$(readlink -f "$0")" --guest-qemu "$out-qemu"
		rm -f "$img" "$imgl"
		;;
	esac
done
for o in "$out" "$out-qemu"; do
	if [ -s "$o/FATAL" ] || [ ! -e "$o/done" ]; then
		echo "make-pfn-images: the guest failed: $(cat "$o/FATAL" 2>/dev/null)" >&2
		exit 1
	fi
done
mkdir -p "$data"
for o in "$out" "$out-qemu"; do
	for t in "$o"/*.txt; do
		name=$(basename "$t" .txt)
		[ -s "$o/$name.bin" ] || continue
		[ "$(stat -c %s "$o/$name.bin")" = 8192 ] || { echo "make-pfn-images: $name.bin is not 8 KiB" >&2; exit 1; }
		cp "$o/$name.bin" "$o/$name.txt" "$o/$name.json" "$data/"
		echo "wrote formats/testdata/pfn/$name.{bin,txt,json}"
	done
done
