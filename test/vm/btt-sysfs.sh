#!/bin/bash
# btt-sysfs: btt devices (bttN.M) and their claims look and refuse the same on
# both stacks. One boot per stack, `modprobe nfit_test`, ARS idle. After each
# step: every attribute of every bttN.M (test/tools/ndsysfs.py attrs) and
# g_nd_dump (region and namespace attributes: btt_seed, holder, mode, ...;
# the devices and their drivers); each write's errno; each ndctl command's
# exit status, stdout and stderr. The uuids ndctl makes up (a btt's, and a
# namespace's when it labels region2) print as <uuid-N>, N in order of first
# appearance.
#   seed-*   the idle seeds as nfit_test starts (label-less regions)
#   bad-*    on the label-less region2 (32 MiB, namespace2.0 disabled) and
#            region3 (4 MiB): to the idle seed btt2.0, malformed sector_size
#            (x, 1000, 4097, 512x, 0, -512, empty), uuids (not a uuid, a bad
#            digit, one short, one long, empty) and namespaces (not a
#            namespace name, unknown ones, another region's); to btt3.0 the
#            4 MiB namespace3.0 (too small); and every read-only attribute.
#            Nothing may change (before/after compared on each stack).
#   claim-*  btt2.0 takes uuid, sector_size 4096 and namespace2.0; then a
#            second namespace for it, namespace2.0's own writes (size, uuid,
#            alt_name, sector_size, holder_class) and binding namespace2.0 to
#            nd_pmem are refused; writing an empty namespace resets the seed.
#            Every sector size C supports written to the seed and read back.
#   auto-*   a BTT info block (test/tools/bttinfo.py, v1.1 at 4 KiB, 4096-byte
#            sectors) written to the raw namespace2.0, which is disabled and
#            enabled: as C's nd_btt_probe, a new btt2.N claims it with the
#            block's uuid and sector size (it cannot load: no map or flog);
#            given up, force_raw, the block zeroed, raw again
#   lab-*    region1's DIMMs labelled (v1.1), a raw 32 MiB namespace1.0
#            (disabled) with holder_class pfn: the btt seed refuses it
#            (another personality's) and the seed namespace1.1 (no size);
#            with holder_class btt it claims it, and then the namespace's
#            holder_class cannot change; the claim given up, it can. The
#            btt's uuid cannot be a namespace's (the seed namespace1.1).
#   lab12-*  v1.2 labels (after the sector-* steps): a raw namespace's
#            holder_class btt is BTT2, the abstraction GUID its labels carry
#            (read-labels -j); the seed claims it
# The steps that need a btt to bind (nd_btt):
#   sector-io-* label-less namespace2.0 by hand: the btt seed configured
#            (4096) and bound through nd_pmem's bind; refusals while bound;
#            unbound and given up; enabled raw, the BTT on it is found;
#            destroyed; then (sector-io512h-*) the same at 512-byte sectors,
#            found again after disable-namespace and enable-namespace
#   sector-* on region2, which ndctl labels first: `ndctl create-namespace
#            -m sector -e namespace2.0` with -l 512, destroy, again with
#            -l 4096; on region1 (v1.1 labels) the same with a fixed
#            namespace uuid; while bound:
#            writes to the btt's sector_size, uuid and namespace and the new
#            seed claiming the bound btt's namespace; `ndctl list -N -v`
#   v12-*    v1.2 labels on region1: `create-namespace -m sector`, the
#            btt's claim class is BTT2 (holder_class, the labels' abstraction
#            GUID in read-labels -j)
# need nd_btt on both stacks.
. "$(dirname "$0")/../lib.sh"

if [ "${1:-}" = --guest ]; then
	g_begin "$2"
	g_modprobe nfit_test
	g_wait_scrub
	D=/sys/bus/nd/devices
	# Under TCG every process costs (a python start takes seconds): one
	# python, `ndsysfs.py serve` (g_nds), does every state and batch of writes.
	# state NAME: every attribute of every bttN.M (NAME-btt.out) and g_nd_dump's
	# files; btt and namespace uuids that are not ours (5a7e0005-...: the
	# random ones ndctl makes) become <uuid-N>, N in order of first appearance.
	state() {
		udevadm settle -t 30 2>/dev/null
		g_nds dump "$G_OUT/$1" && g_nds dump_btts "$G_OUT/$1" &&
			g_nds mask_uuids "$G_OUT/$1" /tmp/btt-sysfs-uuids.txt 5a7e0005- ||
			g_fatal "state $1 failed"
	}
	# view NAME: ndctl's view of the namespaces, then state.
	view() {
		g_run "$1-list-Nv.json" ndctl list -N -v
		g_run "$1-list-RNi.json" ndctl list -RNi
		state "$1"
	}
	# writes NAME: lines "DIR VALUE ATTR..." on stdin (DIR under $D unless it
	# starts with /; VALUE NL is an empty line, "\n"): each write's result,
	# one line per attribute, appended to NAME-writes.out (ndsysfs.py
	# write_attrs).
	writes() {
		g_nds writes "$G_OUT/$1-writes.out" || g_fatal "writes $1 failed"
	}

	# nfit_test.1's region2 starts read-only (an unarmed DIMM).
	writes setup <<<"region2 0 read_only"
	state seed

	# ---- bad input to idle seeds (label-less regions)
	g_run bad-disable ndctl disable-namespace namespace2.0
	state bad-before
	writes bad <<-'EOF'
		btt2.0 x sector_size
		btt2.0 1000 sector_size
		btt2.0 4097 sector_size
		btt2.0 512x sector_size
		btt2.0 0 sector_size
		btt2.0 -512 sector_size
		btt2.0 NL sector_size
		btt2.0 not-a-uuid-at-all-not-a-uuid-at-all uuid
		btt2.0 5a7e0005-0000-4000-8000-00000000000g uuid
		btt2.0 5a7e0005-0000-4000-8000-0000000000 uuid
		btt2.0 5a7e0005-0000-4000-8000-00000000001 uuid
		btt2.0 NL uuid
		btt2.0 foo namespace
		btt2.0 Namespace2.0 namespace
		btt2.0 namespace namespace
		btt2.0 namespace9.9 namespace
		btt2.0 namespace2.0x namespace
		btt2.0 namespace0.0 namespace
		btt2.0 0 size log_zero_flags modalias devtype
		btt3.0 namespace3.0 namespace
		btt3.0 NL namespace
	EOF
	state bad-after

	# ---- a claim on the idle seed, what it refuses, and giving it up
	writes claim <<-'EOF'
		btt2.0 5a7e0005-0000-4000-8000-0000000000011 uuid
		btt2.0 4096 sector_size
		btt2.0 namespace2.0 namespace
	EOF
	state claim-set
	writes claim-refused <<-'EOF'
		btt2.0 namespace2.0 namespace
		btt2.0 namespace3.0 namespace
		namespace2.0 btt holder_class
		namespace2.0 NL holder_class
		namespace2.0 0 size
		/sys/bus/nd/drivers/nd_pmem namespace2.0 bind
	EOF
	g_run claim-refused-enable ndctl enable-namespace namespace2.0
	state claim-refused
	writes claim-reset <<-'EOF'
		btt2.0 512 sector_size
		btt2.0 5a7e0005-0000-4000-8000-000000000002 uuid
		btt2.0 NL namespace
	EOF
	g_run claim-reset-enable ndctl enable-namespace namespace2.0
	state claim-reset
	# Every size C supports, each written to the idle seed and read back
	# (the bracketed one is chosen); then 512 again.
	for sz in 520 528 4096 4104 4160 4224 512; do
		echo "$sz" >/sys/bus/nd/devices/btt2.0/sector_size 2>/dev/null
		echo "$sz rc $?: $(cat /sys/bus/nd/devices/btt2.0/sector_size)"
	done >"$G_OUT/sizes.out"

	# ---- autodetect: a BTT info block on a raw namespace makes a btt claim it
	g_run auto-info python3 "$RLN_TOP/test/tools/bttinfo.py" write /dev/pmem2 4096 \
		--uuid 5a7e0005-0000-4000-8000-000000000030 --lbasize 4096
	g_run auto-disable ndctl disable-namespace namespace2.0
	g_run auto-enable ndctl enable-namespace namespace2.0
	state auto-found
	writes auto-reset <<-'EOF'
		namespace2.0 1 force_raw
	EOF
	# (writes in this shell, not in a pipe's subshell: there it would start a python)
	w=
	for b in "$D"/btt2.*; do
		[ "$(cat "$b/namespace" 2>/dev/null)" = namespace2.0 ] && w+="${b##*/} NL namespace"$'\n'
	done
	writes auto-reset <<<"$w"
	g_run auto-raw ndctl enable-namespace namespace2.0
	g_run auto-zero dd if=/dev/zero of=/dev/pmem2 bs=4096 count=2 oflag=direct status=none
	g_run auto-raw-disable ndctl disable-namespace namespace2.0
	writes auto-reset <<<"namespace2.0 0 force_raw"
	g_run auto-raw-enable ndctl enable-namespace namespace2.0
	state auto-reset

	# ---- labelled region1 (v1.1): claim classes
	g_run lab-disable ndctl disable-region -b nfit_test.0 all
	g_run lab-init ndctl init-labels -b nfit_test.0 all
	g_run lab-enable ndctl enable-region -b nfit_test.0 all
	g_run lab-create.json ndctl create-namespace -r region1 -m raw -s 32M -n lab-pfn \
		--uuid 5a7e0005-0000-4000-8000-000000000010
	g_run lab-ns-disable ndctl disable-namespace namespace1.0
	writes lab <<<"namespace1.0 pfn holder_class"
	state lab-before
	writes lab <<-'EOF'
		btt1.0 namespace1.0 namespace
		btt1.0 namespace1.1 namespace
	EOF
	state lab-after
	writes lab-btt <<-'EOF'
		namespace1.0 btt holder_class
		btt1.0 5a7e0005-0000-4000-8000-000000000040 uuid
		namespace1.1 5a7e0005-0000-4000-8000-000000000040 uuid
		btt1.0 namespace1.0 namespace
		namespace1.0 pfn holder_class
		namespace1.0 NL holder_class alt_name
		namespace1.0 5a7e0005-0000-4000-8000-000000000011 uuid
		namespace1.0 4096 sector_size
		namespace1.0 0 size
	EOF
	state lab-btt
	writes lab-reset <<-'EOF'
		btt1.0 NL namespace
		namespace1.0 NL holder_class
	EOF
	state lab-reset
	g_run lab-destroy ndctl destroy-namespace -f -b nfit_test.0 all

	# ---- sector mode (nd_btt binds the btt)
	# sector NAME [-w] CREATE_ARGS...: create and view; with -w, the writes a
	# bound btt refuses and the state after them; destroy and view.
	sector() {
		local name=$1 bound= ns btt seed r
		shift
		[ "$1" = -w ] && { bound=1; shift; }
		g_run "$name-created-create.json" ndctl create-namespace -m sector "$@"
		view "$name-created"
		ns=$(jq -r '.dev // empty' "$G_OUT/$name-created-create.json" 2>/dev/null)
		btt=$(cat "$D/$ns/holder" 2>/dev/null)
		r=${ns#namespace}
		seed=$(cat "$D/region${r%%.*}/btt_seed" 2>/dev/null)
		echo "namespace=$ns holder=$btt seed=$seed" >"$name-devs.out"
		if [ -n "$bound" ] && [ -n "$btt" ]; then
			writes "$name-bound" <<-EOF
				$btt 512 sector_size
				$btt 4096 sector_size
				$btt 5a7e0005-0000-4000-8000-000000000003 uuid
				$btt NL namespace
				$btt $ns namespace
				${seed:-none} $ns namespace
				$ns 0 size
				$ns NL holder_class
			EOF
			state "$name-bound"
		fi
		g_run "$name-destroy" ndctl destroy-namespace -f "$ns"
		view "$name-destroyed"
	}
	# Label-less namespace2.0 in sector mode by hand (ndctl would label the
	# region first): the seed configured and bound; refusals while bound;
	# unbound and given up; enabled raw again, the BTT it left is found.
	# by_hand NAME SIZE UUID: region2's btt seed takes UUID, SIZE and the
	# disabled namespace2.0 and is bound through nd_pmem's bind; viewed.
	by_hand() {
		seed=$(cat "$D/region2/btt_seed")
		g_run "$1-disable" ndctl disable-namespace namespace2.0
		writes "$1" <<-EOF
			$seed $3 uuid
			$seed $2 sector_size
			$seed namespace2.0 namespace
			/sys/bus/nd/drivers/nd_pmem $seed bind
		EOF
		view "$1-bound"
	}
	by_hand sector-io 4096 5a7e0005-0000-4000-8000-000000000031
	writes sector-io-bound <<-EOF
		$seed 512 sector_size
		$seed 5a7e0005-0000-4000-8000-000000000032 uuid
		$seed NL namespace
		$(cat "$D/region2/btt_seed") namespace2.0 namespace
	EOF
	state sector-io-refused
	writes sector-io-unbind <<-EOF
		/sys/bus/nd/drivers/nd_pmem $seed unbind
		$seed NL namespace
	EOF
	g_run sector-io-enable ndctl enable-namespace namespace2.0
	view sector-io-found
	g_run sector-io-destroy ndctl destroy-namespace -f namespace2.0
	view sector-io-destroyed
	# The same with 512-byte sectors, still label-less: bound, found again
	# after a disable and enable, destroyed.
	by_hand sector-io512h 512 5a7e0005-0000-4000-8000-000000000033
	g_run sector-io512h-redisable ndctl disable-namespace namespace2.0
	g_run sector-io512h-enable ndctl enable-namespace namespace2.0
	view sector-io512h-found
	g_run sector-io512h-destroy ndctl destroy-namespace -f namespace2.0
	view sector-io512h-destroyed
	sector sector-io512 -w -f -e namespace2.0 -l 512
	sector sector-io4096 -f -e namespace2.0 -l 4096
	sector sector-lab512 -w -r region1 -s 32M -l 512 -n sect --uuid 5a7e0005-0000-4000-8000-000000000020
	sector sector-lab4096 -r region1 -s 32M -l 4096 -n sect --uuid 5a7e0005-0000-4000-8000-000000000021

	# ---- v1.2 labels: BTT2
	g_run v12-destroy ndctl destroy-namespace -f -b nfit_test.0 all
	g_run v12-disable ndctl disable-region -b nfit_test.0 all
	g_run v12-init ndctl init-labels -f -V 1.2 -b nfit_test.0 all
	g_run v12-enable ndctl enable-region -b nfit_test.0 all
	# No nd_btt needed: holder_class btt on v1.2 labels is BTT2, which the
	# labels record as the abstraction GUID; the seed claims the namespace.
	g_run lab12-create.json ndctl create-namespace -r region1 -m raw -s 32M -n raw12 \
		--uuid 5a7e0005-0000-4000-8000-000000000050
	g_run lab12-ns-disable ndctl disable-namespace namespace1.0
	seed=$(cat "$D/region1/btt_seed")
	writes lab12 <<-EOF
		namespace1.0 btt holder_class
		$seed namespace1.0 namespace
	EOF
	# Only region1's devices: region2 is where the sector-* steps left it.
	: >lab12-claim.out
	for d in "$seed" namespace1.0 namespace1.1; do
		g_nds attrs "$D/$d" "$d" "$G_OUT/lab12-claim.out" || g_fatal "attrs $d failed"
	done
	g_run lab12-labels.json ndctl read-labels -j nmem0
	writes lab12-reset <<-EOF
		$seed NL namespace
		namespace1.0 NL holder_class
	EOF
	g_run lab12-destroy ndctl destroy-namespace -f namespace1.0
	g_run v12-created-create.json ndctl create-namespace -m sector -r region1 -s 32M -l 4096 -n sect2 \
		--uuid 5a7e0005-0000-4000-8000-000000000022
	view v12-created
	g_run v12-labels.json ndctl read-labels -j nmem0
	g_end
	exit 0
fi

t_init btt-sysfs
t_nfit_test
t_guest ref || t_done
t_check_dmesg ref
if t_guest cand; then
	t_check_dmesg cand
	# Refused writes change nothing (on each stack by itself).
	for side in ref cand; do
		for f in btt.out regions.out devices.out block.out; do
			t_cmp_text "$T_DIR/$side/bad-before-$f" "$T_DIR/$side/bad-after-$f" \
				"$(t_stack $side) stack: $f before and after the bad input"
			t_cmp_text "$T_DIR/$side/lab-before-$f" "$T_DIR/$side/lab-after-$f" \
				"$(t_stack $side) stack: $f before and after the refused claims"
			{ [ $side = ref ] || ! t_pending_skip "sector-io512-bound-$f"; } &&
				t_cmp_text "$T_DIR/$side/sector-io512-created-$f" "$T_DIR/$side/sector-io512-bound-$f" \
					"$(t_stack $side) stack: $f before and after writes to a bound btt"
			{ [ $side = ref ] || ! t_pending_skip "sector-io-refused-$f"; } &&
				t_cmp_text "$T_DIR/$side/sector-io-bound-$f" "$T_DIR/$side/sector-io-refused-$f" \
					"$(t_stack $side) stack: $f before and after writes to a bound label-less btt"
		done
	done
	t_cmp_sides
fi
t_done
