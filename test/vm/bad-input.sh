#!/bin/bash
# bad-input: bad ioctls and sysfs writes get the same answer on both stacks.
# One boot per stack with a QEMU NVDIMM (modprobe nfit) and nfit_test:
#  - test/tools/ndioctl.py's battery (suite-dimm) on the QEMU DIMM and on the
#    nfit_test.0 DIMM with handle 0: GET/SET_CONFIG_DATA at offsets/lengths in,
#    across and beyond the area, zero length, > max_xfer, around the 4 MiB cap and
#    (nfit_test only) u32-wrapping lengths; O_RDONLY/O_WRONLY fds; unknown nrs;
#    valid nrs with wrong type/size/direction fields; ND_CMD_CALL with bad
#    family/function/reserved fields. Run once with the regions enabled (DIMMs
#    busy) and once with them disabled (SETs write back the bytes they read).
#  - suite-bus on both /dev/ndctlN.
#  - writes to read-only sysfs attributes of the DIMMs and buses, and bad values
#    to a few writable ones.
# Every result line (errno, or fw status + return value + hash of the returned
# buffer) must be identical between stacks, and `ndctl read-labels -o` of both
# DIMMs must be byte-identical before and after, and between stacks.
. "$(dirname "$0")/../lib.sh"

if [ "${1:-}" = --guest ]; then
	g_begin "$2"
	g_modprobe nfit
	g_modprobe nfit_test
	g_wait_scrub
	qbus=$(g_bus_by_provider ACPI.NFIT) || g_fatal "no ACPI.NFIT bus"
	tbus=$(g_bus_by_provider nfit_test.0) || g_fatal "no nfit_test.0 bus"
	q=$(ls /sys/bus/nd/devices/"$qbus" | grep -m1 '^nmem') || g_fatal "no nmem on $qbus"
	t=$(g_dimm_by_handle "$tbus" 0) || g_fatal "no DIMM with handle 0 on $tbus"
	echo "qemu: $qbus $q; nfit_test: $tbus $t" >devices.out
	g_run q-labels-before ndctl read-labels -o "$G_OUT/q-before.bin" "$q"
	g_run t-labels-before ndctl read-labels -o "$G_OUT/t-before.bin" "$t"

	g_run q-dimm-active $NDIOCTL "/dev/$q" suite-dimm --qemu
	g_run t-dimm-active $NDIOCTL "/dev/$t" suite-dimm --wrap
	g_run q-bus $NDIOCTL "/dev/ndctl${qbus#ndbus}" suite-bus
	g_run t-bus $NDIOCTL "/dev/ndctl${tbus#ndbus}" suite-bus

	ro_dimm="commands dev devtype modalias state flags available_slots security frozen
		nfit/handle nfit/phys_id nfit/id nfit/serial nfit/family nfit/dsm_mask
		nfit/flags nfit/formats nfit/format nfit/vendor nfit/device nfit/rev_id
		nfit/dirty_shutdown firmware/result"
	ro_bus="provider commands wait_probe devtype nfit/revision nfit/dsm_mask
		firmware/activate firmware/capability"
	for side in q:$q:$qbus t:$t:$tbus; do
		IFS=: read -r tag dimm bus <<<"$side"
		(cd /sys/bus/nd/devices/"$dimm" && $NDIOCTL sysfs-write "x" $ro_dimm) >"sysfs-$tag-dimm-ro.out" 2>&1
		(cd /sys/bus/nd/devices/"$dimm" && $NDIOCTL sysfs-write "bogus" security uevent) >"sysfs-$tag-dimm-rw.out" 2>&1
		(cd /sys/bus/nd/devices/"$bus" && $NDIOCTL sysfs-write "x" $ro_bus) >"sysfs-$tag-bus-ro.out" 2>&1
		(cd /sys/bus/nd/devices/"$bus" && $NDIOCTL sysfs-write "x" nfit/scrub uevent) >"sysfs-$tag-bus-rw.out" 2>&1
		(cd /sys/class/nd/"ndctl${bus#ndbus}" && $NDIOCTL sysfs-write "x" dev) >"sysfs-$tag-ndctl.out" 2>&1
	done

	g_run q-disable-region ndctl disable-region -b ACPI.NFIT all
	g_run t-disable-region ndctl disable-region -b nfit_test.0 all
	g_run q-dimm-idle $NDIOCTL "/dev/$q" suite-dimm --qemu
	g_run t-dimm-idle $NDIOCTL "/dev/$t" suite-dimm --wrap

	g_run q-labels-after ndctl read-labels -o "$G_OUT/q-after.bin" "$q"
	g_run t-labels-after ndctl read-labels -o "$G_OUT/t-after.bin" "$t"
	g_end
	exit 0
fi

t_init bad-input
img=$T_DIR/nvdimm.img
rm -f "$img"
t_guest ref --nvdimm "$img:1G:128K" || t_done
t_check_dmesg ref
for d in q t; do
	t_cmp_bin "$T_DIR/ref/$d-before.bin" "$T_DIR/ref/$d-after.bin" "C stack: $d DIMM label area before/after the bad input"
done
rm -f "$img"
if t_guest cand --nvdimm "$img:1G:128K"; then
	t_check_dmesg cand
	for d in q t; do
		t_cmp_bin "$T_DIR/cand/$d-before.bin" "$T_DIR/cand/$d-after.bin" "$T_CAND stack: $d DIMM label area before/after the bad input"
	done
	t_cmp_sides
fi
rm -f "$img"
t_done
