#!/bin/bash
# Produce BTT images written by Linux's C stack for the host tests
# (formats/testdata/btt/, see its README).
#
# One boot of --stack c (Linux's C modules and its nfit_test). On nfit_test.0's
# 2-way region (32 MiB) and 4-way region (64 MiB), with unmodified ndctl:
#   ll-512      label-less (label areas zeroed, as nfit_test starts them): the
#               2-way region's namespace_io, `create-namespace --no-autolabel
#               -f -e NS -m sector -l 512`. The DIMMs support labels but have
#               no index, so C picks BTT2 (btt_claim_class: "when they will
#               [be initialised], they will be of the 1.2 format") -> v2.0
#   ll-4096     label-less, the 4-way region's namespace_io, -l 4096 -> v2.0
#   l11-4096    v1.1 labels (`init-labels -V 1.1`), 32 MiB in the 4-way region,
#               -l 4096                                      -> v1.1
#   l12-512     v1.2 labels, 32 MiB in the 4-way region, -l 512 -> v2.0 (BTT2)
#   l12-4096    v1.2 labels, the next 32 MiB, -l 4096        -> v2.0
# and one boot of --stack c-intree with a 128 MiB QEMU NVDIMM without a label
# area (label-size=0: the DIMM has no labels at all):
#   qemu-512    its namespace_io, -l 512                     -> v1.1
#   qemu-4096   the same namespace again (zeroed), -l 4096   -> v1.1
# Each gets the same writes through /dev/pmemNs (test/tools/bttimg.py write,
# O_DIRECT, one sector per write, alternating CPUs so that lanes 0 and 1 log):
#   v1 to lba 0..31 (cpu 0), v2 to 16..47 (cpu 1), v3 to 0..3 (cpu 0),
#   v1 to the last lba (cpu 1) and to lba nlba/2 (cpu 0)
# then the guest records what C reads back (bttimg.py sums), C's debugfs view
# of the arena, and `ndctl check-namespace`; detaches the btt, sets force_raw,
# dumps the raw namespace through the raw /dev/pmemN, and zeroes it.
# On the host the dumps are stored sparse (bttimg.py sparse) as
#   formats/testdata/btt/NAME.img    NAME.txt (facts, below)    NAME.sums
# and qemu-4096-unpadded.img is made from qemu-4096.img by moving each flog
# group's second entry from slot 1 to slot 2 (the pre-4.15 layout; 6.12
# only writes the padded one).
. "$(dirname "$0")/../lib.sh"
set -u
BTTIMG="python3 $RLN_TOP/test/tools/bttimg.py"

if [ "${1:-}" = --guest ] || [ "${1:-}" = --guest-qemu ]; then
	g_begin "$2"
	# make_img NAME SECTOR CREATE-ARGS...
	make_img() {
		local name=$1 sector=$2 json ns blk btt n raw f d
		shift 2
		json=$(ndctl create-namespace "$@" -m sector -l "$sector" 2>"$G_OUT/$name-create.err") ||
			g_fatal "$name: create-namespace $* failed: $(cat "$G_OUT/$name-create.err")"
		echo "$json" >"$G_OUT/$name-create.json"
		ns=$(echo "$json" | jq -r .dev)
		blk=/dev/$(echo "$json" | jq -r .blockdev)
		btt=$(basename "$(cat /sys/bus/nd/devices/"$ns"/holder)")
		[ -b "$blk" ] && [ -n "$btt" ] || g_fatal "$name: no block device or btt ($json)"
		n=$(($(blockdev --getsize64 "$blk") / sector))
		taskset -c 0 $BTTIMG write "$blk" "$sector" "$name" 1 0 32 || g_fatal "$name: write 1"
		taskset -c 1 $BTTIMG write "$blk" "$sector" "$name" 2 16 32 || g_fatal "$name: write 2"
		taskset -c 0 $BTTIMG write "$blk" "$sector" "$name" 3 0 4 || g_fatal "$name: write 3"
		taskset -c 1 $BTTIMG write "$blk" "$sector" "$name" 1 $((n - 1)) 1 || g_fatal "$name: write 4"
		taskset -c 0 $BTTIMG write "$blk" "$sector" "$name" 1 $((n / 2)) 1 || g_fatal "$name: write 5"
		$BTTIMG sums "$blk" "$sector" >"$G_OUT/$name.sums" || g_fatal "$name: sums"
		{
			echo "name=$name"
			echo "sector_size=$sector"
			echo "nlba=$n"
			echo "namespace_size=$(cat /sys/bus/nd/devices/"$ns"/size)"
			echo "namespace_uuid=$(cat /sys/bus/nd/devices/"$ns"/uuid 2>/dev/null || echo none)"
			echo "holder_class=$(cat /sys/bus/nd/devices/"$ns"/holder_class 2>/dev/null || echo none)"
			echo "btt_uuid=$(cat /sys/bus/nd/devices/"$btt"/uuid)"
			echo "btt_size=$(cat /sys/bus/nd/devices/"$btt"/size)"
			echo "write=1 0 32"
			echo "write=2 16 32"
			echo "write=3 0 4"
			echo "write=1 $((n - 1)) 1"
			echo "write=1 $((n / 2)) 1"
			for d in /sys/kernel/debug/btt/"$btt"/arena*; do
				[ -d "$d" ] || continue
				for f in size external_lba_start internal_nlba internal_lbasize external_nlba \
					external_lbasize nfree version_major version_minor nextoff infooff dataoff \
					mapoff logoff info2off flags log_index_0 log_index_1; do
					echo "c_$(basename "$d")_$f=$(cat "$d/$f")"
				done
			done
		} >"$G_OUT/$name.txt"
		ndctl disable-namespace "$ns" >/dev/null 2>&1 || g_fatal "$name: disable-namespace"
		ndctl check-namespace "$ns" >"$G_OUT/$name-check.out" 2>&1
		echo "c_check_namespace_rc=$?" >>"$G_OUT/$name.txt"
		# ndctl's disable deletes the btt (detaches it, resets it); if one
		# still claims the namespace, detach it.
		for d in /sys/bus/nd/devices/btt*; do
			[ "$(cat "$d/namespace" 2>/dev/null)" = "$ns" ] || continue
			echo >"$d/namespace" || g_fatal "$name: detaching ${d##*/}"
		done
		echo 1 >/sys/bus/nd/devices/"$ns"/force_raw || g_fatal "$name: force_raw"
		ndctl enable-namespace "$ns" >/dev/null 2>&1 || g_fatal "$name: enable-namespace (raw)"
		udevadm settle -t 30 2>/dev/null
		raw=/dev/$(ls /sys/bus/nd/devices/"$ns"/block)
		[ "$(blockdev --getsize64 "$raw")" = "$(cat /sys/bus/nd/devices/"$ns"/size)" ] ||
			g_fatal "$name: raw $raw is not the whole namespace"
		dd if="$raw" of="$G_OUT/$name.raw" bs=1M status=none || g_fatal "$name: dump"
		dd if=/dev/zero of="$raw" bs=1M oflag=direct status=none count=$(($(blockdev --getsize64 "$raw") >> 20))
		ndctl disable-namespace "$ns" >/dev/null 2>&1 || g_fatal "$name: disable-namespace (raw)"
		echo 0 >/sys/bus/nd/devices/"$ns"/force_raw
		echo "$ns" >"$G_OUT/$name.ns"
	}
	# ns_io REGION: the region's namespace_io
	ns_io() { basename "$(ls -d /sys/bus/nd/devices/"$1"/namespace*.0)"; }
	mountpoint -q /sys/kernel/debug || mount -t debugfs none /sys/kernel/debug

	if [ "$1" = --guest-qemu ]; then
		g_modprobe nfit
		bus=$(g_bus_by_provider ACPI.NFIT) || g_fatal "no ACPI.NFIT bus"
		r=$(basename "$(ls -d /sys/bus/nd/devices/"$bus"/region* | head -n 1)")
		make_img qemu-512 512 -f -e "$(ns_io "$r")"
		make_img qemu-4096 4096 -f -e "$(ns_io "$r")"
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
	make_img ll-512 512 --no-autolabel -f -e "$(ns_io "$r2")"
	make_img ll-4096 4096 --no-autolabel -f -e "$(ns_io "$r4")"
	for v in 1.1 1.2; do
		ndctl disable-region -b "$bus" all >/dev/null || g_fatal "disable-region failed"
		for d in nmem0 nmem1 nmem2 nmem3; do
			ndctl zero-labels "$d" >/dev/null 2>&1 || g_fatal "zero-labels $d failed"
			ndctl init-labels -V "$v" "$d" >/dev/null 2>&1 || g_fatal "init-labels -V $v $d failed"
		done
		ndctl enable-region -b "$bus" all >/dev/null || g_fatal "enable-region failed"
		if [ $v = 1.1 ]; then
			make_img l11-4096 4096 -r "$r4" -s 32M -n btt-l11-4096 -u 5c1e0000-0000-4000-8000-0000000b1140
			ndctl destroy-namespace -f "$(cat "$G_OUT/l11-4096.ns")" >/dev/null 2>&1
		else
			make_img l12-512 512 -r "$r4" -s 32M -n btt-l12-512 -u 5c1e0000-0000-4000-8000-0000000b1205
			make_img l12-4096 4096 -r "$r4" -s 32M -n btt-l12-4096 -u 5c1e0000-0000-4000-8000-0000000b1240
		fi
	done
	g_end
	exit 0
fi

data=$RLN_TOP/formats/testdata/btt
out=$RLN_TOP/build/vm/make-btt-images
img=$out-qemu.img
# --vm nfit|qemu: boot only that VM (the other's output must be there from an
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
		rm -rf "$out-qemu" "$img"
		"$RLN_TOP/test/vm-run" --stack c-intree --nvdimm "$img:128M:0" -- \
			env RLN_GUEST_STACK=c-intree bash "$(readlink -f "$0")" --guest-qemu "$out-qemu"
		rm -f "$img"
		;;
	esac
done
for o in "$out" "$out-qemu"; do
	if [ -s "$o/FATAL" ] || [ ! -e "$o/done" ]; then
		echo "make-btt-images: the guest failed: $(cat "$o/FATAL" 2>/dev/null)" >&2
		exit 1
	fi
done
cp "$out-qemu"/qemu-* "$out/"
mkdir -p "$data"
for name in ll-512 ll-4096 l11-4096 l12-512 l12-4096 qemu-512 qemu-4096; do
	grep -q '^c_check_namespace_rc=0$' "$out/$name.txt" ||
		{ echo "make-btt-images: C's check-namespace failed on $name: $(cat "$out/$name-check.out")" >&2; exit 1; }
	python3 "$RLN_TOP/test/tools/bttimg.py" sparse "$out/$name.raw" "$data/$name.img" || exit 1
	cp "$out/$name.txt" "$out/$name.sums" "$data/"
	echo "wrote formats/testdata/btt/$name.img ($(stat -c %s "$data/$name.img") bytes)"
done
# The old flog layout, from qemu-4096 (v1.1, as BTTs were before 4.15: the
# BTT starts 4 KiB into the namespace).
python3 "$RLN_TOP/test/tools/bttimg.py" unpad "$data/qemu-4096.img" "$data/qemu-4096-unpadded.img" 4096 || exit 1
echo "wrote formats/testdata/btt/qemu-4096-unpadded.img ($(stat -c %s "$data/qemu-4096-unpadded.img") bytes)"
