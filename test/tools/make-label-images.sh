#!/bin/bash
# Produce label-area test data for the host tests with Linux's C stack: boot
# --stack c-intree (the C modules as shipped) with a fresh QEMU NVDIMM (1 GiB,
# 128 KiB label area), disable its region, then `ndctl init-labels` (v1.1) and, after zero-labels, `init-labels
# -V 1.2`, saving each raw label area (`ndctl read-labels -o`) as
#   formats/testdata/c-init-v1.1.bin  formats/testdata/c-init-v1.2.bin
. "$(dirname "$0")/../lib.sh"
set -u

if [ "${1:-}" = --guest ]; then
	g_begin "$2"
	g_modprobe nfit
	bus=$(g_bus_by_provider ACPI.NFIT) || g_fatal "no ACPI.NFIT bus"
	dimm=$(ls /sys/bus/nd/devices/"$bus" | grep -m1 '^nmem') || g_fatal "no nmem on $bus"
	ndctl disable-region all || g_fatal "ndctl disable-region all failed"
	ndctl init-labels "$dimm" || g_fatal "init-labels failed"
	ndctl read-labels -o "$G_OUT/c-init-v1.1.bin" "$dimm" || g_fatal "read-labels failed"
	ndctl zero-labels "$dimm" || g_fatal "zero-labels failed"
	ndctl init-labels -V 1.2 "$dimm" || g_fatal "init-labels -V 1.2 failed"
	ndctl read-labels -o "$G_OUT/c-init-v1.2.bin" "$dimm" || g_fatal "read-labels failed"
	g_end
	exit 0
fi

out=$RLN_TOP/build/vm/make-label-images
img=$out.img
rm -rf "$out" "$img"
"$RLN_TOP/test/vm-run" --stack c-intree --nvdimm "$img:1G:128K" -- \
	env RLN_GUEST_STACK=c-intree bash "$(readlink -f "$0")" --guest "$out"
rm -f "$img"
if [ -s "$out/FATAL" ] || [ ! -e "$out/done" ]; then
	echo "make-label-images: the guest failed: $(cat "$out/FATAL" 2>/dev/null)" >&2
	exit 1
fi
for v in 1.1 1.2; do
	[ "$(stat -c %s "$out/c-init-v$v.bin")" = 131072 ] || { echo "make-label-images: c-init-v$v.bin is not 128 KiB" >&2; exit 1; }
	cp "$out/c-init-v$v.bin" "$RLN_TOP/formats/testdata/c-init-v$v.bin"
	echo "wrote formats/testdata/c-init-v$v.bin ($(sha256sum <"$out/c-init-v$v.bin" | cut -c1-16))"
done
