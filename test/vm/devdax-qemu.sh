#!/bin/bash
# devdax-qemu: device-DAX on a QEMU NVDIMM (issue 12, acceptance 1 to 6),
# against Linux's C modules as shipped (c-intree). One labelled 2.5 GiB
# NVDIMM (a sparse file), three boots:
#   ref    C: init-labels, then four devdax namespaces in its one region
#          (A `-a 1G -s 2G`, B `-a 2M -s 64M`, C `-a 4K -s 32M`, D `-a 2M
#          -s 272M`: dax0.0 to dax0.3, sizes 1 GiB, 62, 30 and 266 MiB),
#          then every step below; the modules reload (the dax devices are
#          found again on the media) and the pattern reads back
#   cand   The candidate shows the media as C showed them after its reload,
#          reads C's pattern, destroys the namespaces and does every step
#          itself, as C did
#   ref-r  C shows the media as the candidate left them after its reload,
#          reads the candidate's pattern, destroys the namespaces
# The steps (after each, a view: `ndctl list -N -v`, `daxctl list -RDu`,
# every region, namespace, pfn and nd dax attribute, the nd devices and
# drivers, and every /sys/bus/dax device's attributes with its mappingN and
# dax_region/, the /dev/dax nodes and the dax bus drivers: dx_view):
#   setup    the four namespaces (uuids ndctl made up print as <uuid-N>)
#   bound    bad writes: to the bound nd dax devices (mode, align, uuid,
#            namespace, resource, size), to dax0.1's attributes under
#            /sys/bus/dax (size, align, resource, target_node, modalias,
#            memmap_on_memory x, 1, 0), to its mapping0 and dax_region/,
#            and to device_dax's bind, unbind, new_id and remove_id: each
#            errno; the view after equals the view before (nothing changed)
#   mmap     test/tools/devdax.py: minor faults of writing B's 62 MiB (31:
#            one per 2 MiB, PMD faults), 8 MiB of C (2048, PTE faults) and
#            one byte of A (1: a PUD fault maps the GiB), checked on C and
#            equal on the candidate; what device.c refuses (MAP_PRIVATE,
#            unaligned offset, length and fixed address, mprotect, munmap
#            and mremap splitting a huge mapping, read/write/ioctl) and
#            what it allows, on A, B and C
#   write/verify  a pattern over the whole of B and C and three MiB of A
#            (start, middle, end); read back at once, after the reload, by
#            the other stack after a reboot
#   daxctl   D: `daxctl reconfigure-device -m system-ram` (the kernel's
#            kmem: memory blocks come online), back to devdax without and
#            with -f (offlined), disable-device, enable-device; the memory
#            blocks' states after each
#   errors   `ndctl inject-error` into B, its --status, a read through the
#            mapping at the block, `ndctl clear-errors`: what C does on a
#            QEMU NVDIMM (QEMU's NFIT has no error injection)
#   live     device_dax unbound from dax0.1 while a mapping is live (the
#            next access: SIGBUS on C), bound again, the pattern intact
#   poison   the last step of a boot: a memory failure declared in one page
#            of C (dax0.2) that a task has mapped (test/tools/hwpoison.py:
#            /sys/devices/system/memory/hard_offline_page, the kernel's
#            memory_failure() as for a machine check on poisoned media, which
#            is what an injected error becomes on hardware). The kernel finds
#            the mapper through the page's mapping and index, which the
#            fault set (dax_set_mapping), and with vm.memory_failure_early_kill
#            kills it with SIGBUS: checked on C and equal on the candidate
# A check that needs dax_pmem and device_dax is SKIP on a candidate that has
# not got them (test/tools/devdax-lib.sh, t_dx_need).
. "$(dirname "$0")/../lib.sh"
. "$RLN_TOP/test/tools/devdax-lib.sh"

if [ "${1:-}" = --guest ]; then
	g_begin "$2"
	shift 2
	g_modprobe nfit
	udevadm settle -t 60
	D=/sys/bus/nd/devices
	X=/sys/bus/dax
	pending=$(dx_pending)
	if [ -n "$pending" ]; then
		# Nothing here runs without dax_pmem and device_dax: the host
		# reports each check SKIP.
		g_end
		exit 0
	fi
	dx_load
	for action in "$@"; do
		dx_stamp "$action"
		case "$action" in
		view-boot) dx_view boot ;;
		setup)
			g_run init-disable ndctl disable-region all
			g_run init ndctl init-labels -f all
			g_run init-enable ndctl enable-region all
			g_run create-A.json ndctl create-namespace -r region0 -m devdax -a 1G -s 2G
			g_run create-B.json ndctl create-namespace -r region0 -m devdax -a 2M -s 64M
			g_run create-C.json ndctl create-namespace -r region0 -m devdax -a 4K -s 32M
			g_run create-D.json ndctl create-namespace -r region0 -m devdax -a 2M -s 272M
			dx_view setup mask
			g_nds mask_uuids "$G_OUT/create" /tmp/devdax-uuids.txt 5a7e0005- || g_fatal "mask create"
			;;
		bound)
			g_nds writes_nl "$G_OUT/bound-writes.out" <<-EOF || g_fatal "bound writes"
				dax0.0 ram mode
				dax0.0 pmem mode
				dax0.1 4096 align
				dax0.1 1073741824 align
				dax0.1 5a7e0005-0000-4000-8000-000000000001 uuid
				dax0.1 not-a-uuid uuid
				dax0.1 NL namespace
				dax0.1 namespace0.2 namespace
				dax0.1 0 resource size supported_alignments
				$X/devices/dax0.1 0 size align resource target_node modalias numa_node
				$X/devices/dax0.1 4096 size align
				$X/devices/dax0.1 x memmap_on_memory
				$X/devices/dax0.1 1 memmap_on_memory
				$X/devices/dax0.1 0 memmap_on_memory
				$X/devices/dax0.1/mapping0 0 start end page_offset
				$D/dax0.1/dax_region 0 id size align available_size create seed delete
				$X/drivers/device_dax dax9.9 bind unbind
				$X/drivers/device_dax dax0.1 bind
				$X/drivers/device_dax x new_id remove_id
				$X/drivers/device_dax NL new_id remove_id
			EOF
			dx_view bound mask
			;;
		mmap)
			$DEVDAX batch "$G_OUT/mmap.out" <<-EOF
				faults dax0.1 62M 0
				faults dax0.2 8M 0
				faults dax0.0 1G 1G
				badmap dax0.1
				badmap dax0.2
				badmap dax0.0
			EOF
			echo $? >"$G_OUT/mmap.rc"
			;;
		write-*|verify-*)
			# ACTION-SEED[-WHEN]: the pattern of SEED on A, B and C.
			op=${action%%-*} rest=${action#*-} seed=${rest%%-*}
			$DEVDAX batch "$G_OUT/$action.out" <<-EOF
				pattern $op dax0.0 $seed 0:1M,mid:1M,-1M:1M
				pattern $op dax0.1 $seed all
				pattern $op dax0.2 $seed all
			EOF
			;;
		daxctl)
			mem() { # memory blocks: how many, how many online
				local f n=0 on=0
				for f in /sys/devices/system/memory/memory*/state; do
					n=$((n + 1))
					[ "$(<"$f")" = online ] && on=$((on + 1))
				done
				echo "$1: blocks $n online $on" >>"$G_OUT/daxctl-memory.out"
			}
			mem before
			g_run daxctl-ram.json daxctl reconfigure-device -m system-ram dax0.3
			mem system-ram
			g_run daxctl-ram-list.json daxctl list -D -d dax0.3
			if [ -d /sys/devices/system/node ]; then
				echo "node sysfs: yes" >"$G_OUT/daxctl-node.out"
				g_run daxctl-dev-noforce.json daxctl reconfigure-device -m devdax dax0.3
				mem devdax-noforce
				g_run daxctl-dev.json daxctl reconfigure-device -m devdax -f dax0.3
			else
				# libdaxctl finds a device's memory blocks under
				# /sys/devices/system/node, which a kernel without
				# CONFIG_NUMA has not: the reconfiguration stops with
				# kmem bound and its blocks added, offline. What daxctl
				# would do next, by hand: the blocks kmem added online
				# (movable), then offline, kmem unbound, device_dax bound.
				echo "node sysfs: no" >"$G_OUT/daxctl-node.out"
				blocks=$(for f in /sys/devices/system/memory/memory*/state; do
					[ "$(<"$f")" = offline ] && echo "${f%/state}"; done)
				echo "$blocks" | sed 's|.*/||' >"$G_OUT/daxctl-blocks.out"
				for b in $blocks; do echo "$b online_movable state"; done |
					g_nds writes_nl "$G_OUT/daxctl-online.out" || g_fatal "online"
				mem online
				for b in $blocks; do echo "$b offline state"; done |
					g_nds writes_nl "$G_OUT/daxctl-online.out" || g_fatal "offline"
				mem offline
				g_nds writes_nl "$G_OUT/daxctl-online.out" <<-EOF || g_fatal "kmem unbind"
					$X/drivers/kmem dax0.3 unbind
					$X/drivers/device_dax dax0.3 bind
				EOF
			fi
			mem devdax
			g_run daxctl-dev-list.json daxctl list -D -d dax0.3
			g_run daxctl-disable daxctl disable-device dax0.3
			g_run daxctl-disabled-list.json daxctl list -D -d dax0.3
			mem disabled
			g_run daxctl-enable daxctl enable-device dax0.3
			g_run daxctl-enabled-list.json daxctl list -D -d dax0.3
			dx_view daxctl mask
			;;
		errors)
			g_run errors-inject ndctl inject-error --block=8 --count=1 namespace0.1
			g_run errors-status ndctl inject-error --status namespace0.1
			$DEVDAX batch "$G_OUT/errors-access.out" <<<"access dax0.1 4096"
			g_run errors-clear ndctl clear-errors namespace0.1
			g_run errors-status2 ndctl inject-error --status namespace0.1
			dx_view errors mask
			;;
		poison)
			# Nothing after it in a boot touches dax0.2: the page stays
			# marked HWPoison until the pages are mapped afresh.
			g_run poison $HWPOISON /dev/dax0.2 65536
			g_kernel_lines '[Mm]emory failure|hwpoison|Injecting' >"$G_OUT/poison-kernel.out"
			;;
		live-*)
			seed=${action#live-}
			$DEVDAX batch "$G_OUT/live.out" <<<"live dax0.1 $X/drivers/device_dax/unbind dax0.1"
			dx_view live-unbound mask
			g_nds writes_nl "$G_OUT/live-bind.out" <<<"$X/drivers/device_dax dax0.1 bind" || g_fatal "bind"
			$DEVDAX batch "$G_OUT/live-verify.out" <<<"pattern verify dax0.1 $seed all"
			dx_view live-bound mask
			;;
		destroy)
			g_run destroy ndctl destroy-namespace -f all
			dx_view destroyed mask
			;;
		reload)
			g_unload_all || g_fatal "could not unload the stack: $(lsmod | awk 'NR>1{print $1}' | tr '\n' ' ')"
			dx_load
			g_modprobe nfit
			udevadm settle -t 60
			dx_view reload
			;;
		*) g_fatal "unknown action $action" ;;
		esac
	done
	dx_stamp end
	g_end
	exit 0
fi

t_init devdax-qemu c-intree
img=$T_DIR/nvdimm.img
rm -f "$img"
NV="--nvdimm $img:2560M:128K"
# The files every stack makes the same way from the same start.
STEPS="init-disable.rc init.rc init-enable.rc
	create-A.json create-A.rc create-A.err create-B.json create-B.rc create-B.err
	create-C.json create-C.rc create-C.err create-D.json create-D.rc create-D.err
	$(t_dx_views setup) bound-writes.out $(t_dx_views bound) mmap.out mmap.rc
	daxctl-memory.out daxctl-node.out daxctl-blocks.out daxctl-online.out
	$(for f in ram ram-list dev-noforce dev dev-list disabled-list enabled-list; do
		echo daxctl-$f.json daxctl-$f.rc daxctl-$f.err; done)
	daxctl-disable.out daxctl-disable.err daxctl-disable.rc daxctl-enable.out daxctl-enable.err
	daxctl-enable.rc $(t_dx_views daxctl)
	$(for f in inject status clear status2; do echo errors-$f.out errors-$f.err errors-$f.rc; done)
	errors-access.out $(t_dx_views errors) live.out live-bind.out $(t_dx_views live-unbound)
	$(t_dx_views live-bound) poison.out poison.err poison.rc poison-kernel.out"
# ref_checks SIDE SEED: what must hold of a side that did every step, on
# its own: the commands worked, the faults were C's, nothing changed.
self_checks() {
	local s=$1 seed=$2 f
	for f in create-A create-B create-C create-D daxctl-disable daxctl-enable; do
		t_dx_ok "$s" "$f" "$f"
	done
	# The memory came online and went offline again: through daxctl, or
	# by hand where libdaxctl cannot find the blocks (no CONFIG_NUMA).
	if grep -q 'yes' "$T_DIR/$s/daxctl-node.out" 2>/dev/null; then
		t_dx_ok "$s" daxctl-ram "daxctl reconfigure-device -m system-ram"
		t_dx_ok "$s" daxctl-dev "daxctl reconfigure-device -m devdax -f"
		grep -q -x 'system-ram: blocks [0-9]* online [0-9]*' "$T_DIR/$s/daxctl-memory.out" &&
			[ "$(sed -n 's/^before: blocks \([0-9]*\) online \([0-9]*\)$/\2/p' "$T_DIR/$s/daxctl-memory.out")" -lt \
				"$(sed -n 's/^system-ram: blocks \([0-9]*\) online \([0-9]*\)$/\2/p' "$T_DIR/$s/daxctl-memory.out")" ] ||
			t_fail "$s: no memory came online: $(tr '\n' ';' <"$T_DIR/$s/daxctl-memory.out")"
	else
		[ "$s" = ref ] && echo "   SKIP daxctl reconfigure-device's onlining (pending on the kernel config: libdaxctl finds memory blocks under /sys/devices/system/node, CONFIG_NUMA; the blocks kmem added are onlined and offlined by hand, on both stacks)"
		[ "$s" = ref ] && T_SKIPS=$((T_SKIPS + 1))
		on=$(sed -n 's/^online: blocks [0-9]* online //p' "$T_DIR/$s/daxctl-memory.out")
		before=$(sed -n 's/^before: blocks [0-9]* online //p' "$T_DIR/$s/daxctl-memory.out")
		off=$(sed -n 's/^offline: blocks [0-9]* online //p' "$T_DIR/$s/daxctl-memory.out")
		[ -s "$T_DIR/$s/daxctl-blocks.out" ] && [ "${on:-0}" -gt "${before:-0}" ] && [ "${off:-x}" = "${before:-y}" ] ||
			t_fail "$s: kmem's memory blocks did not come online and go offline: $(tr '\n' ';' <"$T_DIR/$s/daxctl-memory.out")"
	fi
	t_dx_matched "$s" "write-$seed-fresh.out" 3 "writing the pattern"
	t_dx_matched "$s" "verify-$seed-fresh.out" 3 "reading the pattern back"
	t_dx_matched "$s" "verify-$seed-reload.out" 3 "reading the pattern back after the reload"
	t_dx_matched "$s" live-verify.out 1 "the pattern after device_dax's unbind and bind"
	# The failed page's mapper was found and killed.
	[ "$(tr '\n' ';' <"$T_DIR/$s/poison.out" 2>/dev/null)" = "hard_offline_page: ok;mapper: killed by SIGBUS;" ] ||
		t_fail "$s: a memory failure in a mapped page of dax0.2 did not kill its mapper with SIGBUS: $(tr '\n' ';' <"$T_DIR/$s/poison.out" 2>/dev/null)"
	# Bad writes change nothing; unbind and bind leave what was.
	t_dx_same "$s" "$s" $(t_dx_views setup bound) $(t_dx_views setup live-bound)
}

t_guest ref $NV -- setup bound mmap write-c-fresh verify-c-fresh daxctl errors live-c reload verify-c-reload poison || t_done
t_check_dmesg ref
if t_dx_need ref "C's own run"; then
	self_checks ref c
	# The faults C's device.c takes: one per align unit (2 MiB: PMD, 1 GiB:
	# PUD; 4 KiB: PTE), nothing on the second pass.
	grep '^faults: ' "$T_DIR/ref/mmap.out" | tr '\n' ';' >"$T_DIR/ref/faults.txt"
	[ "$(cat "$T_DIR/ref/faults.txt")" = "faults: 31 (second pass 0);faults: 2048 (second pass 0);faults: 1 (second pass 0);" ] ||
		t_fail "C's fault counts are not one per align unit: $(cat "$T_DIR/ref/faults.txt")"
	t_dx_canon ref reload
fi

cand_pending=1
if t_guest cand $NV -- view-boot verify-c-boot destroy setup bound mmap write-r-fresh verify-r-fresh daxctl \
	errors live-r reload verify-r-reload poison; then
	t_check_dmesg cand
	if t_dx_need cand "interop: C's devdax namespaces as C found them after its reload"; then
		cand_pending=0
		t_dx_canon cand boot
		t_dx_same ref cand $(t_dx_cviews reload boot)
		t_dx_matched cand verify-c-boot.out 3 "$T_CAND reading C's pattern"
		self_checks cand r
		t_dx_same ref cand $STEPS
		t_dx_canon cand reload
	else
		for c in "views of four devdax namespaces (setup, bad writes, after daxctl, errors, live unbind)" \
			"mmap refusals and fault counts" "pattern write and read back (also after a reload)" \
			"daxctl reconfigure-device, disable-device, enable-device" "inject-error and clear-errors" \
			"device_dax unbound under a live mapping" "a memory failure in a mapped page" "destroy-namespace"; do
			t_dx_need cand "$c"
		done
	fi
fi

if [ $cand_pending = 0 ]; then
	t_guest ref-r $NV -- view-boot verify-r-boot destroy || t_done
else
	# The candidate left C's media as they were: C reads its own pattern
	# after a reboot.
	t_guest ref-r $NV -- view-boot verify-c-boot destroy || t_done
fi
t_check_dmesg ref-r
if t_dx_need ref-r "C after a reboot"; then
	t_dx_canon ref-r boot
	if [ $cand_pending = 0 ]; then
		t_dx_same cand ref-r $(t_dx_cviews reload boot)
		t_dx_matched ref-r verify-r-boot.out 3 "C reading the candidate's pattern"
		t_dx_same cand ref-r destroy.out destroy.err destroy.rc $(t_dx_views destroyed)
	else
		t_dx_need cand "interop: the candidate's devdax namespaces on C"
		t_dx_same ref ref-r $(t_dx_cviews reload boot)
		t_dx_matched ref-r verify-c-boot.out 3 "C reading its own pattern after a reboot"
	fi
fi
for s in ref cand ref-r; do
	[ -e "$T_DIR/$s/stamps.txt" ] && echo "   $s phases (uptime s): $(tr '\n' ' ' <"$T_DIR/$s/stamps.txt")"
done
rm -f "$img"
t_done
