#!/bin/bash
# bad-input: bad ioctls and sysfs writes get the same answer on both stacks.
# Two boots per stack: nfit_test (reference: the C test build) and one QEMU NVDIMM
# with `modprobe nfit` (reference: Linux's C modules as shipped). In each:
#  - test/tools/ndioctl.py's battery (suite-dimm) on the nfit_test.0 DIMM with
#    handle 0, or on the QEMU DIMM: GET/SET_CONFIG_DATA at offsets/lengths in,
#    across and beyond the area, zero length (not on QEMU: it aborts QEMU 7.2),
#    > max_xfer, around the 4 MiB cap and (nfit_test only) u32-wrapping lengths;
#    O_RDONLY/O_WRONLY fds; unknown nrs; valid nrs with wrong type/size/direction
#    fields; ND_CMD_CALL with bad family/function/reserved fields. Run once with
#    the regions enabled (DIMMs busy) and once with them disabled (SETs then write
#    back the bytes they read, so the area must not change).
#  - suite-bus on the bus's /dev/ndctlN.
#  - writes to read-only sysfs attributes of the DIMM, bus and ndctlN (e.g.
#    nmemN/commands, nmemN/nfit/handle, ndbusN/provider), and bad values to a few
#    writable ones (security, uevent, nfit/scrub).
# Every result line (errno, or fw status + return value + hash of the returned
# buffer) must be identical between stacks, and `ndctl read-labels -o` of the DIMM
# must be byte-identical before and after, and between stacks.
. "$(dirname "$0")/../lib.sh"

if [ "${1:-}" = --guest ]; then
	g_begin "$2"
	case "$3" in
	nfit_test)
		g_modprobe nfit_test
		provider=nfit_test.0 suite_opt=--wrap
		bus=$(g_bus_by_provider $provider) || g_fatal "no $provider bus"
		dimm=$(g_dimm_by_handle "$bus" 0) || g_fatal "no DIMM with handle 0 on $bus"
		;;
	qemu)
		g_modprobe nfit
		provider=ACPI.NFIT suite_opt=--qemu
		bus=$(g_bus_by_provider $provider) || g_fatal "no $provider bus"
		dimm=$(ls /sys/bus/nd/devices/"$bus" | grep -m1 '^nmem') || g_fatal "no nmem on $bus"
		;;
	esac
	g_wait_scrub
	echo "$provider: $bus $dimm" >devices.out
	g_run labels-before ndctl read-labels -o "$G_OUT/before.bin" "$dimm"
	g_run dimm-active $NDIOCTL "/dev/$dimm" suite-dimm $suite_opt
	g_run bus $NDIOCTL "/dev/ndctl${bus#ndbus}" suite-bus

	ro_dimm="commands dev devtype modalias state flags available_slots security frozen
		nfit/handle nfit/phys_id nfit/id nfit/serial nfit/family nfit/dsm_mask
		nfit/flags nfit/formats nfit/format nfit/vendor nfit/device nfit/rev_id
		nfit/dirty_shutdown firmware/result"
	ro_bus="provider commands wait_probe devtype nfit/revision nfit/dsm_mask
		firmware/activate firmware/capability"
	(cd /sys/bus/nd/devices/"$dimm" && $NDIOCTL sysfs-write "x" $ro_dimm) >sysfs-dimm-ro.out 2>&1
	(cd /sys/bus/nd/devices/"$dimm" && $NDIOCTL sysfs-write "bogus" security uevent) >sysfs-dimm-rw.out 2>&1
	(cd /sys/bus/nd/devices/"$bus" && $NDIOCTL sysfs-write "x" $ro_bus) >sysfs-bus-ro.out 2>&1
	(cd /sys/bus/nd/devices/"$bus" && $NDIOCTL sysfs-write "x" nfit/scrub uevent) >sysfs-bus-rw.out 2>&1
	(cd /sys/class/nd/"ndctl${bus#ndbus}" && $NDIOCTL sysfs-write "x" dev) >sysfs-ndctl.out 2>&1

	g_run disable-region ndctl disable-region -b $provider all
	g_run dimm-idle $NDIOCTL "/dev/$dimm" suite-dimm $suite_opt
	g_run labels-after ndctl read-labels -o "$G_OUT/after.bin" "$dimm"
	g_end
	exit 0
fi

t_init bad-input
t_nfit_test
# Not built yet on the Rust stack.
t_pending_lines sysfs-dimm-ro.out '^security:' "$RUST_PENDING_SECURITY"
t_pending_lines sysfs-dimm-rw.out '^security:' "$RUST_PENDING_SECURITY"
img=$T_DIR/nvdimm.img
for part in t:nfit_test:c q:qemu:c-intree; do
	IFS=: read -r tag what T_REF <<<"$part"
	[ "${RLN_TEST_CANDIDATE:-}" = ref ] && T_CAND=$T_REF
	opts=()
	[ "$what" = qemu ] && rm -f "$img" && opts=(--nvdimm "$img:1G:128K")
	t_guest "ref-$tag" "${opts[@]}" -- "$what" || continue
	t_check_dmesg "ref-$tag"
	t_cmp_bin "$T_DIR/ref-$tag/before.bin" "$T_DIR/ref-$tag/after.bin" "$what, $T_REF stack: label area before/after the bad input"
	[ "$what" = qemu ] && rm -f "$img"
	t_guest "cand-$tag" "${opts[@]}" -- "$what" || continue
	t_check_dmesg "cand-$tag"
	t_cmp_bin "$T_DIR/cand-$tag/before.bin" "$T_DIR/cand-$tag/after.bin" "$what, $T_CAND stack: label area before/after the bad input"
	echo "   $what: comparing $T_CAND with $T_REF"
	t_cmp_sides "$T_DIR/ref-$tag" "$T_DIR/cand-$tag"
done
rm -f "$img"
t_done
