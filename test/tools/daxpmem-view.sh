#!/bin/bash
# daxpmem-view: dax_pmem's view against C's, by hand (not part of run-all; the
# suite's devdax tests are test/vm/devdax-*.sh). Issue 12, deliverables 1, 2, 4.
#
#   bash test/tools/daxpmem-view.sh [qemu|qemu1g|nfit|both]     (default both)
#
# Each platform boots C, then the candidate (RLN_TEST_CANDIDATE, default rust),
# twice each (the second boot is the "reboot": autodetect of what the first
# left), and compares every result file as the suite's tests do (lib.sh):
#  - qemu: one 1 GiB QEMU NVDIMM (fresh file per stack), labels initialised;
#  - qemu1g: one 4 GiB QEMU NVDIMM, one boot: -a 1G (-s 2G: 1 GiB of data);
#  - nfit: nfit_test.0's region1 (the VMs boot with nfit_test's
#    reservation, `vm-run --nfit-test`).
# The DIMMs' labels are initialised first, so the region starts empty.
# Steps in the first boot: `ndctl create-namespace -m devdax` with -a 4K, 2M and
# 1G (where the region allows; the refusal is compared otherwise), each 64 MiB
# (16 MiB on nfit_test), in one region; after each, and after disable-/enable-namespace, an unbind and
# bind of dax_pmem, a destroy-namespace: `ndctl list -N -v`, `daxctl list -RDu`,
# every attribute of every daxN.M on the nd bus, its dax_region/, and every
# daxX.Y of the dax bus (mapping0/ included). The second boot lists what
# autodetect found, then destroys everything.
# The dev_dax driver is the kernel's C device_dax.ko (udev loads it by its
# alias on C; on Rust the path of this kernel tree's device_dax.ko is given to
# the guest, which insmods it). Nothing here maps /dev/daxX.Y: on nfit_test, C's
# device_dax would map the emulated range, not the backing (contract, issue 12).
. "$(dirname "$0")/../lib.sh"

# g_dax_dump NAME: every readable attribute of the nd bus's dax devices, their
# dax_region/ and their dev_dax children, and of every dax bus device, as
# NAME.out ("path: value" lines; unreadable ones as "path: <errno text>").
g_dax_dump() {
	local f v out=$G_OUT/$1.out
	udevadm settle -t 30 2>/dev/null
	: >"$out"
	for f in /sys/bus/nd/devices/dax*/* /sys/bus/nd/devices/dax*/dax_region/* \
		/sys/bus/dax/devices/*/* /sys/bus/dax/devices/*/mapping*/*; do
		[ -e "$f" ] || continue
		case "${f##*/}" in power|subsystem|uevent) continue ;; esac
		if [ -L "$f" ]; then
			v="-> $(basename "$(readlink "$f")")"
		elif [ -d "$f" ]; then
			v="<dir>"
		else
			v=$(cat "$f" 2>&1 | tr '\n' ' ') || true
		fi
		echo "$f: $v" >>"$out"
	done
	ls /sys/bus/dax/drivers/*/ 2>/dev/null | grep -E '^(dax|/)' >"$G_OUT/$1-daxdrivers.out"
	ls /sys/bus/nd/drivers/dax_pmem/ 2>/dev/null | grep -E '^dax' >"$G_OUT/$1-ndbound.out"
}

# g_view NAME: ndctl's and daxctl's view plus the attributes.
g_view() {
	g_run "$1-ndctl-N-v.json" ndctl list -N -v
	g_run "$1-daxctl-RDu.json" daxctl list -RDu
	g_dax_dump "$1"
}

# g_load MODULE: modprobe without g_modprobe's check that every loaded
# module is the stack's: on Rust, udev loads the kernel's kmem (staged by
# vm-run, alias dax:t0*) for each new dev_dax, and device_dax is the
# kernel's too. vm-run stages only our nd modules on Rust.
g_load() {
	local out
	out=$(modprobe "$1" 2>&1) || g_fatal "modprobe $1 failed: $out"
	udevadm settle -t 60 2>/dev/null
}

# The dev_dax driver: C's device_dax; on Rust staged from the kernel tree.
g_device_dax() {
	modprobe device_dax 2>/dev/null || insmod "$1" || g_fatal "no device_dax ($1)"
}

if [ "${1:-}" = --guest ]; then
	g_begin "$2"
	platform=$3 boot=$4 devdax_ko=$5
	if [ "$platform" = nfit ]; then
		g_load nfit_test
		bus=(-b nfit_test.0)
		# The 64 MiB region of 4 interleaved DIMMs (pfn-sysfs's too).
		region=region1 size=16M
	else
		g_load nfit
		bus=()
		region=region0 size=64M
	fi
	aligns="4K 2M 1G"
	# A 4 GiB NVDIMM at 4 GiB: room for a 1 GiB aligned devdax namespace.
	[ "$platform" = qemu1g ] && aligns=1G size=2G
	g_load dax_pmem
	g_device_dax "$devdax_ko"
	{ lsmod; grep -H . /sys/module/{libnvdimm,dax_pmem,device_dax}/taint; } >modules.txt 2>&1
	g_wait_scrub
	echo "$region" >region.out
	if [ "$boot" = 1 ]; then
		# Fresh labels, for several namespaces in an empty region.
		g_run b1-labels-disable ndctl disable-region "${bus[@]}" all
		g_run b1-labels-init ndctl init-labels -f "${bus[@]}" all
		g_run b1-labels-enable ndctl enable-region "${bus[@]}" all
		g_view b1-0-start
		n=0
		for a in $aligns; do
			n=$((n + 1))
			g_run "b1-$n-create-$a.json" ndctl create-namespace "${bus[@]}" -r "$region" -m devdax -a "$a" -s "$size"
			g_view "b1-$n-after-$a"
		done
		ns=$(ndctl list "${bus[@]}" -r "$region" -N | jq -r '[.[] | select(.mode == "devdax")][0].dev')
		echo "$ns" >devdax-ns.out
		g_run b1-4-disable ndctl disable-namespace "$ns"
		g_view b1-4-disabled
		g_run b1-5-enable ndctl enable-namespace "$ns"
		g_view b1-5-enabled
		dax=$(ndctl list -N -n "$ns" -v | jq -r '.[0].daxregion.devices[0].chardev // empty')
		nddax=
		for d in /sys/bus/nd/devices/dax*; do
			[ "$(cat "$d/namespace" 2>/dev/null)" = "$ns" ] && nddax=${d##*/}
		done
		echo "$nddax $dax" >devdax-dev.out
		g_run b1-6-unbind sh -c "echo $nddax >/sys/bus/nd/drivers/dax_pmem/unbind"
		g_view b1-6-unbound
		g_run b1-7-bind sh -c "echo $nddax >/sys/bus/nd/drivers/dax_pmem/bind"
		g_view b1-7-bound
		# dax_pmem refuses the idle seed (no namespace: ENODEV), changing nothing.
		seed=$(cat "/sys/bus/nd/devices/$region/dax_seed")
		g_run b1-7-bind-seed sh -c "echo $seed >/sys/bus/nd/drivers/dax_pmem/bind"
		g_view b1-7-seed-refused
		# Unbinding the dev_dax's driver leaves the nd side bound.
		if [ -n "$dax" ]; then
			g_run b1-8-daxctl-disable daxctl disable-device "$dax"
			g_view b1-8-dax-disabled
			g_run b1-9-daxctl-enable daxctl enable-device "$dax"
			g_view b1-9-dax-enabled
		fi
		# One left for the reboot, one destroyed.
		last=$(ndctl list "${bus[@]}" -r "$region" -N | jq -r '[.[] | select(.mode == "devdax")][-1].dev')
		g_run b1-10-destroy ndctl destroy-namespace -f "$last"
		g_view b1-10-destroyed
		# The region re-enabled: autodetect of what is left.
		g_run b1-11-disable-region ndctl disable-region "${bus[@]}" "$region"
		g_view b1-11-region-disabled
		g_run b1-12-enable-region ndctl enable-region "${bus[@]}" "$region"
		g_view b1-12-region-enabled
	else
		g_view b2-0-autodetect
		g_run b2-1-destroy-all ndctl destroy-namespace -f -r "$region" all
		g_view b2-1-destroyed
	fi
	g_end
	exit 0
fi

# t_mask_uuids DIR: uuids are random on each stack: each becomes <uuid>.
t_mask_uuids() {
	find "$1" -type f ! -name dmesg.txt -exec sed -i -E \
		's/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/<uuid>/g' {} +
}

want=${1:-both}
t_init daxpmem-view c
kdir=$(. "$RLN_TOP/scripts/env.sh" && echo "$RLN_KDIR")
devdax_ko=$kdir/drivers/dax/device_dax.ko
if [ "$want" = qemu ] || [ "$want" = both ]; then
	T_REF=c-intree
	for side in ref cand; do
		img=$T_DIR/$side-nvdimm.img
		rm -f "$img"
		for boot in 1 2; do
			t_guest "$side-qemu-$boot" --nvdimm "$img:1G:128K" -- qemu "$boot" "$devdax_ko" || break
			t_check_dmesg "$side-qemu-$boot"
		done
		rm -f "$img"
	done
	for boot in 1 2; do
		t_mask_uuids "$T_DIR/ref-qemu-$boot"
		t_mask_uuids "$T_DIR/cand-qemu-$boot"
		t_cmp_sides "$T_DIR/ref-qemu-$boot" "$T_DIR/cand-qemu-$boot"
	done
	T_REF=c
fi
if [ "$want" = qemu1g ] || [ "$want" = both ]; then
	T_REF=c-intree
	for side in ref cand; do
		img=$T_DIR/$side-nvdimm.img
		rm -f "$img"
		t_guest "$side-qemu1g-1" --nvdimm "$img:4G:128K" -- qemu1g 1 "$devdax_ko" &&
			t_check_dmesg "$side-qemu1g-1"
		rm -f "$img"
	done
	t_mask_uuids "$T_DIR/ref-qemu1g-1"
	t_mask_uuids "$T_DIR/cand-qemu1g-1"
	t_cmp_sides "$T_DIR/ref-qemu1g-1" "$T_DIR/cand-qemu1g-1"
	T_REF=c
fi
if [ "$want" = nfit ] || [ "$want" = both ]; then
	t_nfit_test
	for side in ref cand; do
		# nfit_test's media lives in memory: no second boot; the region's
		# disable and enable at the end of boot 1 is its autodetect.
		t_guest "$side-nfit-1" -- nfit 1 "$devdax_ko" || continue
		t_check_dmesg "$side-nfit-1"
	done
	t_mask_uuids "$T_DIR/ref-nfit-1"
	t_mask_uuids "$T_DIR/cand-nfit-1"
	t_cmp_sides "$T_DIR/ref-nfit-1" "$T_DIR/cand-nfit-1"
fi
t_done
