#!/bin/bash
# Produce label-area test data for the host tests with Linux's C stack.
#
# 1. --stack c-intree (the C modules as shipped) with a fresh QEMU NVDIMM (1 GiB,
#    128 KiB label area): disable its region, `ndctl init-labels` (v1.1) and,
#    after zero-labels, `init-labels -V 1.2`, saving each raw label area
#    (`ndctl read-labels -o`) as
#      formats/testdata/c-init-v1.1.bin  formats/testdata/c-init-v1.2.bin
#    After each init the region is enabled and two namespaces are created with
#    unmodified ndctl; the labels then go to formats/testdata/scan/qemu-vV/.
# 2. --stack c (Linux's C modules and its test build of nfit_test): the
#    4-way region of nfit_test.0 (nmem0..3) and its 2-way region (nmem0..1) get
#    v1.1, then v1.2 labels and namespaces; formats/testdata/scan/nfit-test-vV/.
#
# Each formats/testdata/scan/*/ directory holds what the C stack wrote and what
# its own label scan then reported, after the regions were disabled and enabled
# again (so the namespaces were rediscovered from the labels alone):
#   nmemN.bin       the DIMM's label area (read-labels -o), trailing zero bytes
#                   cut off; the tests pad it back to config_size
#   regions.txt     per region: start, size, set_cookie and each mapping
#                   (dimm,dpa start,dpa size,position), plus config_size
#   namespaces.txt  per namespace, tab-separated: its sysfs uuid, alt_name,
#                   size, resource, sector_size, holder_class, dpa_extents, mode
#   list.json       `ndctl list -RNv` for humans (the btt/pfn uuids in it are
#                   random; everything else regenerates byte for byte)
#   nfit.bin        (QEMU) the ACPI NFIT, for the interleave-set cookies
. "$(dirname "$0")/../lib.sh"
set -u

# Fixed uuids, so that regenerating the images gives the same bytes.
UUID_A=5c1e0000-0000-4000-8000-00000000000a
UUID_B=5c1e0000-0000-4000-8000-00000000000b
UUID_C=5c1e0000-0000-4000-8000-00000000000c

# g_record DIR BUS REGION...: the label areas of the regions' DIMMs, the C
# stack's view of regions and namespaces after re-enabling the regions.
g_record() {
	local dir=$G_OUT/$1 bus=$2 r m d ns f dimms=""
	shift 2
	mkdir -p "$dir"
	ndctl disable-region -b "$bus" all >/dev/null || g_fatal "disable-region failed"
	ndctl enable-region -b "$bus" all >/dev/null || g_fatal "enable-region failed"
	udevadm settle -t 30 2>/dev/null
	ndctl list -b "$bus" -RNv >"$dir/list.json" || g_fatal "ndctl list failed"
	: >"$dir/regions.txt"
	: >"$dir/namespaces.txt"
	for r in "$@"; do
		d=/sys/bus/nd/devices/$r
		echo "region=$r start=$(cat "$d/resource") size=$(cat "$d/size") set_cookie=$(cat "$d/set_cookie")" >>"$dir/regions.txt"
		for m in "$d"/mapping[0-9]*; do
			echo "mapping=$(cat "$m")" >>"$dir/regions.txt"
			dimms="$dimms $(cut -d, -f1 "$m")"
		done
		for ns in "$d"/namespace[0-9]*; do
			[ "$(cat "$ns/size")" != 0 ] || continue
			printf 'namespace=%s' "$(basename "$ns")" >>"$dir/namespaces.txt"
			for f in uuid alt_name size resource sector_size holder_class dpa_extents mode; do
				printf '\t%s=%s' "$f" "$(cat "$ns/$f")" >>"$dir/namespaces.txt"
			done
			echo >>"$dir/namespaces.txt"
		done
	done
	for d in $(echo "$dimms" | tr ' ' '\n' | sort -u); do
		ndctl read-labels -o "$dir/$d.bin" "$d" || g_fatal "read-labels $d failed"
		echo "config_size=$d,$(stat -c %s "$dir/$d.bin")" >>"$dir/regions.txt"
	done
}

# g_init_labels VERSION DIMM...: fresh label areas of one version.
g_init_labels() {
	local v=$1 d
	shift
	for d in "$@"; do
		ndctl zero-labels "$d" >/dev/null 2>&1 || g_fatal "zero-labels $d failed"
		ndctl init-labels -V "$v" "$d" >/dev/null 2>&1 || g_fatal "init-labels -V $v $d failed"
	done
}

# g_create NAME ARGS...: ndctl create-namespace, output kept for humans.
g_create() {
	local name=$1
	shift
	ndctl create-namespace "$@" >"$G_OUT/create-$name.json" 2>&1 ||
		g_fatal "create-namespace $* failed: $(cat "$G_OUT/create-$name.json")"
}

if [ "${1:-}" = --guest ]; then
	g_begin "$2"
	g_modprobe nfit
	bus=$(g_bus_by_provider ACPI.NFIT) || g_fatal "no ACPI.NFIT bus"
	dimm=$(ls /sys/bus/nd/devices/"$bus" | grep -m1 '^nmem') || g_fatal "no nmem on $bus"
	region=$(ls /sys/bus/nd/devices/"$bus" | grep -m1 '^region') || g_fatal "no region on $bus"
	cp /sys/firmware/acpi/tables/NFIT "$G_OUT/nfit.bin" || g_fatal "no NFIT table"
	for v in 1.1 1.2; do
		ndctl disable-region all || g_fatal "ndctl disable-region all failed"
		ndctl zero-labels "$dimm" || g_fatal "zero-labels failed"
		ndctl init-labels -V "$v" "$dimm" || g_fatal "init-labels -V $v failed"
		ndctl read-labels -o "$G_OUT/c-init-v$v.bin" "$dimm" || g_fatal "read-labels failed"
		ndctl enable-region all || g_fatal "ndctl enable-region all failed"
		g_create "qemu-$v-a" -r "$region" -m raw -s 256M -n qemu-a -u "$UUID_A"
		g_create "qemu-$v-b" -r "$region" -m sector -s 128M -n qemu-b -u "$UUID_B"
		g_record "qemu-v$v" "$bus" "$region"
		cp "$G_OUT/nfit.bin" "$G_OUT/qemu-v$v/nfit.bin"
	done
	g_end
	exit 0
fi

if [ "${1:-}" = --guest-nfit-test ]; then
	g_begin "$2"
	g_modprobe nfit_test
	bus=nfit_test.0
	# The 4-way region (nmem0..3) and the 2-way one (nmem0..1) of nfit_test.0.
	r4="" r2=""
	for r in /sys/bus/nd/devices/"$(basename "$(readlink -f /sys/devices/platform/$bus/ndbus*)")"/region*; do
		case "$(cat "$r/mappings")" in
		4) r4=$(basename "$r") ;;
		2) r2=$(basename "$r") ;;
		esac
	done
	[ -n "$r4" ] && [ -n "$r2" ] || g_fatal "no 4-way and 2-way region on $bus"
	for v in 1.1 1.2; do
		ndctl disable-region -b "$bus" all >/dev/null || g_fatal "disable-region failed"
		g_init_labels "$v" nmem0 nmem1 nmem2 nmem3
		ndctl enable-region -b "$bus" all >/dev/null || g_fatal "enable-region failed"
		g_create "nfit-$v-a" -r "$r4" -m raw -s 16M -n scan-a -u "$UUID_A" -l 4096
		g_create "nfit-$v-b" -r "$r4" -m sector -s 32M -n scan-b -u "$UUID_B"
		g_create "nfit-$v-c" -r "$r2" -m fsdax -M mem -s 16M -n scan-c -u "$UUID_C"
		g_record "nfit-test-v$v" "$bus" "$r4" "$r2"
	done
	g_end
	exit 0
fi

data=$RLN_TOP/formats/testdata
out=$RLN_TOP/build/vm/make-label-images
img=$out.img
rm -rf "$out" "$out-nfit-test" "$img"
"$RLN_TOP/test/vm-run" --stack c-intree --nvdimm "$img:1G:128K" -- \
	env RLN_GUEST_STACK=c-intree bash "$(readlink -f "$0")" --guest "$out"
rm -f "$img"
"$RLN_TOP/test/vm-run" --stack c -- \
	env RLN_GUEST_STACK=c bash "$(readlink -f "$0")" --guest-nfit-test "$out-nfit-test"
for o in "$out" "$out-nfit-test"; do
	if [ -s "$o/FATAL" ] || [ ! -e "$o/done" ]; then
		echo "make-label-images: the guest failed: $(cat "$o/FATAL" 2>/dev/null)" >&2
		exit 1
	fi
done
for v in 1.1 1.2; do
	[ "$(stat -c %s "$out/c-init-v$v.bin")" = 131072 ] || { echo "make-label-images: c-init-v$v.bin is not 128 KiB" >&2; exit 1; }
	cp "$out/c-init-v$v.bin" "$data/c-init-v$v.bin"
	echo "wrote formats/testdata/c-init-v$v.bin ($(sha256sum <"$out/c-init-v$v.bin" | cut -c1-16))"
done
for src in "$out"/qemu-v* "$out-nfit-test"/nfit-test-v*; do
	dst=$data/scan/$(basename "$src")
	rm -rf "$dst"
	mkdir -p "$dst"
	cp "$src"/*.txt "$src"/list.json "$dst/"
	[ ! -e "$src/nfit.bin" ] || install -m 644 "$src/nfit.bin" "$dst/"
	for bin in "$src"/nmem*.bin; do
		# Label areas are mostly zero: keep them up to their last non-zero byte.
		python3 -c 'import sys; d = open(sys.argv[1], "rb").read(); open(sys.argv[2], "wb").write(d.rstrip(b"\0"))' \
			"$bin" "$dst/$(basename "$bin")"
	done
	echo "wrote formats/testdata/scan/$(basename "$src"): $(cd "$dst" && ls | tr '\n' ' ')"
done
