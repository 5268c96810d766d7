#!/bin/bash
# labels-roundtrip: the label-area commands of ndctl on a QEMU NVDIMM (1 GiB,
# 128 KiB label area), with its regions disabled so the DIMM is idle.
#
# 1. The same command sequence on a fresh file on each stack: read-labels -j / -o,
#    zero-labels, init-labels (v1.1), init-labels again (refused), init-labels -f
#    -V 1.2, zero + init -V 1.2, write-labels -i of the saved v1.1 and v1.2 images,
#    disable-dimm/enable-dimm, zero + init (v1.1). Every command's exit status,
#    stdout and stderr, every `read-labels -j` JSON and every raw `read-labels -o`
#    image must be identical between stacks; the backing file's last 128 KiB (the
#    label area as QEMU stores it) must equal the last image read.
# 2. Cross-stack, on the file the C stack left initialised (v1.1): the candidate
#    reads it identically to how C read it; the candidate then zeroes it and runs
#    init-labels -V 1.2, and the C stack must read that area exactly as the
#    candidate did, and as the C stack's own zero + init -V 1.2 produced it.
. "$(dirname "$0")/../lib.sh"

if [ "${1:-}" = --guest ]; then
	g_begin "$2"
	shift 2
	g_modprobe nfit
	bus=$(g_bus_by_provider ACPI.NFIT) || g_fatal "no ACPI.NFIT bus (ls /sys/class/nd: $(ls /sys/class/nd 2>&1 | tr '\n' ' '))"
	dimm=$(ls /sys/bus/nd/devices/"$bus" | grep -m1 '^nmem') || g_fatal "no nmem on $bus"
	echo "$dimm" >dimm.out
	g_run disable-region ndctl disable-region all
	read_area() { # NAME: -j JSON and -o raw image of the label area
		g_run "$1-read.json" ndctl read-labels -j "$dimm"
		g_run "$1-raw" ndctl read-labels -o "$G_OUT/$1.bin" "$dimm"
	}
	for action in "$@"; do
		case "$action" in
		seq)
			read_area s00-fresh
			g_run s01-zero ndctl zero-labels "$dimm"
			read_area s01
			g_run s02-init ndctl init-labels "$dimm"
			read_area s02
			g_run s03-init-again ndctl init-labels "$dimm"
			read_area s03
			g_run s04-init-f-v12 ndctl init-labels -f -V 1.2 "$dimm"
			read_area s04
			g_run s05-zero ndctl zero-labels "$dimm"
			g_run s05-init-v12 ndctl init-labels -V 1.2 "$dimm"
			read_area s05
			g_run s06-write-s02 ndctl write-labels -i "$G_OUT/s02.bin" "$dimm"
			read_area s06
			g_run s07-write-s04 ndctl write-labels -i "$G_OUT/s04.bin" "$dimm"
			read_area s07
			g_run s08-disable-dimm ndctl disable-dimm "$dimm"
			g_run s08-enable-dimm ndctl enable-dimm "$dimm"
			read_area s08
			g_run s09-zero ndctl zero-labels "$dimm"
			g_run s09-init ndctl init-labels "$dimm"
			read_area final
			;;
		read-*) read_area "${action#read-}" ;;
		init-v12)
			g_run x-zero ndctl zero-labels "$dimm"
			g_run x-init-v12 ndctl init-labels -V 1.2 "$dimm"
			;;
		*) g_fatal "unknown action $action" ;;
		esac
	done
	g_run list-Di.json ndctl list -Di
	g_end
	exit 0
fi

t_init labels-roundtrip c-intree
imgc=$T_DIR/nvdimm-c.img
imgr=$T_DIR/nvdimm-cand.img
rm -f "$imgc" "$imgr"
tail_area() { tail -c 131072 "$1" >"$2"; }

# 1. The same sequence on a fresh file per stack.
t_guest ref --nvdimm "$imgc:1G:128K" -- seq || t_done
t_check_dmesg ref
tail_area "$imgc" "$T_DIR/ref-file-tail.bin"
t_cmp_bin "$T_DIR/ref/final.bin" "$T_DIR/ref-file-tail.bin" "C stack: read-labels -o vs the backing file's label area"
t_cmp_bin "$T_DIR/ref/s02.bin" "$T_DIR/ref/s06.bin" "C stack: write-labels -i of the v1.1 image read back"
if t_guest cand --nvdimm "$imgr:1G:128K" -- seq; then
	t_check_dmesg cand
	t_cmp_sides
	tail_area "$imgr" "$T_DIR/cand-file-tail.bin"
	t_cmp_bin "$T_DIR/ref-file-tail.bin" "$T_DIR/cand-file-tail.bin" "backing file label area after the sequence"
fi

# 2. Cross-stack on the file the C stack initialised.
if t_guest cand-x --nvdimm "$imgc:1G:128K" -- read-c2cand init-v12 read-cand-init; then
	t_check_dmesg cand-x
	for f in read.json read.err read.rc raw.out raw.err raw.rc; do
		t_cmp_file "$T_DIR/ref/final-$f" "$T_DIR/cand-x/c2cand-$f" "C-initialised area read by $T_CAND: final-$f"
	done
	t_cmp_bin "$T_DIR/ref/final.bin" "$T_DIR/cand-x/c2cand.bin" "C-initialised area read by $T_CAND: raw image"
	tail_area "$imgc" "$T_DIR/cand-x-file-tail.bin"
	t_cmp_bin "$T_DIR/ref/s05.bin" "$T_DIR/cand-x-file-tail.bin" "label area after $T_CAND's zero + init -V 1.2 vs C's own"
	if t_guest ref-x --nvdimm "$imgc:1G:128K" -- read-cand2c; then
		t_check_dmesg ref-x
		for f in read.json read.err read.rc raw.out raw.err raw.rc; do
			t_cmp_file "$T_DIR/cand-x/cand-init-$f" "$T_DIR/ref-x/cand2c-$f" "$T_CAND-initialised area read by C: $f"
		done
		t_cmp_bin "$T_DIR/cand-x/cand-init.bin" "$T_DIR/ref-x/cand2c.bin" "$T_CAND-initialised area read by C: raw image"
		t_cmp_bin "$T_DIR/ref/s05.bin" "$T_DIR/ref-x/cand2c.bin" "$T_CAND-initialised v1.2 area vs C's own v1.2 init"
	fi
fi
rm -f "$imgc" "$imgr"
t_done
