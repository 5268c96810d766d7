#!/bin/bash
# regions-qemu-nvdimm: the region and namespaces of one QEMU NVDIMM (1 GiB file,
# 128 KiB label area, `modprobe nfit`; reference: Linux's C modules as shipped)
# look the same on both stacks, and labeled namespaces the C stack created come
# up identically on the candidate.
#
# 1. On a fresh (zeroed) file per stack, one boot each, g_nd_view (`ndctl list
#    -RNi` and -RNDiu JSON; every attribute of region0 and its namespaces with
#    its mode; the nd bus's devices and drivers; the pmem disks' block
#    attributes) in four states:
#      zeroed   no label index: label-less region, namespace_io namespace0.0;
#               also the bus and DIMM: `ndctl list -BDi` and -BDiH and the
#               ndctl/ndbus/nmem names sysfs shows (once list-qemu-nvdimm)
#      empty    region disabled, `init-labels`, enabled: only a seed namespace
#      created  two raw namespaces with fixed uuids and names (256 MiB "first",
#               512 MiB "second"), leaving space free
#      rescan   disable-region + enable-region: both come back from the labels
#    and every ndctl command's exit status, stdout and stderr.
# 2. Cross-stack: a boot of each stack on the file the C stack labeled in 1
#    (fresh boot, nothing written): the candidate's g_nd_view must equal C's,
#    so uuid, name, size, mode, resource and sector size all survive.
. "$(dirname "$0")/../lib.sh"

if [ "${1:-}" = --guest ]; then
	g_begin "$2"
	g_modprobe nfit
	g_wait_scrub
	case "$3" in
	create)
		g_nd_view zeroed
		g_run list-BDi.json ndctl list -BDi
		g_run list-BDiH.json ndctl list -BDiH
		ls /sys/class/nd /sys/bus/nd/devices | grep -E '^(ndctl|ndbus|nmem)[0-9]' | sort >devices.out
		g_run empty-disable ndctl disable-region all
		g_run empty-init ndctl init-labels all
		g_run empty-enable ndctl enable-region all
		g_nd_view empty
		g_run created-first.json ndctl create-namespace -r region0 -m raw -s 256M -n first \
			--uuid 5a7e0002-0000-4000-8000-000000000001
		g_run created-second.json ndctl create-namespace -r region0 -m raw -s 512M -n second \
			--uuid 5a7e0002-0000-4000-8000-000000000002
		g_nd_view created
		g_run rescan-disable ndctl disable-region all
		g_run rescan-enable ndctl enable-region all
		g_nd_view rescan
		;;
	read)
		g_nd_view boot
		;;
	esac
	g_end
	exit 0
fi

t_init regions-qemu-nvdimm c-intree
imgc=$T_DIR/nvdimm-c.img
imgr=$T_DIR/nvdimm-cand.img
rm -f "$imgc" "$imgr"

# 1. The same sequence on a fresh file per stack.
t_guest ref --nvdimm "$imgc:1G:128K" -- create || t_done
t_check_dmesg ref
if t_guest cand --nvdimm "$imgr:1G:128K" -- create; then
	t_check_dmesg cand
	t_cmp_sides
fi
rm -f "$imgr"

# 2. Both stacks boot the file the C stack labeled.
if t_guest ref-x --nvdimm "$imgc:1G:128K" -- read && t_guest cand-x --nvdimm "$imgc:1G:128K" -- read; then
	t_check_dmesg ref-x
	t_check_dmesg cand-x
	echo "   the namespaces C labeled, booted on $T_CAND and on $T_REF:"
	t_cmp_sides "$T_DIR/ref-x" "$T_DIR/cand-x"
fi
rm -f "$imgc"
t_done
