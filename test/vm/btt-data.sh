#!/bin/bash
# btt-data: sector mode (nd_btt, /dev/pmemNs) data integrity and media interop
# with C, both ways (issue 10, acceptance 2 and 3). Reference: Linux's C
# modules as shipped. Two variants: quick (`make check`) and full
# (RLN_BTT_FULL=1, or RLN_TORTURE=full as `make torture` sets it); what only
# the full one does is marked [full]. Four QEMU NVDIMMs of 40 MiB ([full]
# 160 MiB), 128 KiB label areas (which backs which region is QEMU's and the
# NFIT's choice, the same on every boot):
#   X-A  region0, label-less: namespace0.0 in sector mode, 4096-byte sectors
#        (a v1.1 info block, 4 KiB into the namespace)
#   X-B  region1, labeled (init-labels: v1.2 labels, claim class BTT2): a
#        32 MiB sector namespace of 512-byte sectors (a v2.0 info block);
#        [full] three of 48 MiB, 512-, 520- and 528-byte sectors (520 and 528
#        store 512 data bytes in 576-byte blocks: no integrity support in
#        this kernel, as in C)
#   Y-A, Y-B  the same, configured by the candidate
# Three boots on the same backing files:
#   ref     C configures X (the new disks' queue attributes and blkio.py's bad-I/O
#           battery must be what the candidate's new disks show), writes
#           pattern "c" (test/tools/blkio.py) at the start, middle and end of
#           each device and reads it back, runs the fio jobs, hashes every
#           device (below); [full] `ndctl check-namespace` on each
#   (host)  X-A's flog is rewritten in the old unpadded layout (slots 0 and 2,
#           test/tools/btt_unpad.py), as kernels before 4.15 wrote it
#   cand    reads X: every hash must be C's ([full] and pattern "c" reads
#           back); writes pattern "r" over X and hashes X; configures Y, writes
#           "r", runs the fio jobs on Y, hashes Y; check-namespace on X ([full]
#           and again on Y)
#   ref-r   C reads X and Y: pattern "r" and every hash must be the candidate's;
#           [full] check-namespace on all of them
# Hashes (sha256 by blkio.py): [full] every device whole; quick: the pattern
# and fio ranges, and the 1 MiB after the middle pattern that nobody wrote.
# fio jobs (on each stack, on the 512- and 4096-byte devices): libaio, direct,
# iodepth 8, two writers (random writes of one sector, 512 B or 4 KiB, each in
# its own F MiB from F MiB on, F = 1 ([full] 4), clear of the patterns,
# crc32c verify) beside a random reader over both writers' ranges; then
# disable-namespace, ndctl check-namespace, enable-namespace (the BTT is
# found again on the media), then fio --verify_only must find every block
# written; each writer's errors and bytes must be C's. ndctl check-namespace
# must pass, except on 520- and 528-byte sectors, where ndctl fails on C's
# own BTT ("Problem parsing arena[0] metadata": its internal block size is
# not the external one): there its exit status must be C's. fio runs on
# neither (their disks have 512-byte logical blocks and no integrity).
#
# meta KEY_OR_SIZE: true for the sector sizes with metadata bytes (520, 528).
meta() { case $1 in *520|*528) return 0 ;; esac; return 1; }
. "$(dirname "$0")/../lib.sh"
BLKIO="python3 $RLN_TOP/test/tools/blkio.py"

if [ "${1:-}" = --guest ]; then
	g_begin "$2"
	shift 2
	# The first action says which variant (see the header): the B set's
	# sector sizes and namespace size, the fio unit F, the hashed ranges.
	case "$1" in
	full) B_SIZES="512 520 528" B_SIZE=48M F=4 HASH=whole ;;
	quick) B_SIZES=512 B_SIZE=32M F=1 HASH=ranges ;;
	*) g_fatal "first action must be full or quick, not $1" ;;
	esac
	shift
	g_modprobe nfit
	udevadm settle -t 60
	# devs SET: "KEY DEV NAMESPACE SECTOR_SIZE" of set X (regions 0, 1) or Y (2, 3).
	devs() {
		local a b
		case "$1" in X) a=0 b=1 ;; Y) a=2 b=3 ;; esac
		for r in $a $b; do
			ndctl list -N -r region$r 2>/dev/null |
				jq -r '(if type == "array" then . else [.] end)[] | select(.mode == "sector") |
					"\(.dev) \(.blockdev) \(.sector_size)"' | sort -k3 -n |
				while read -r ns dev ss; do
					if [ $r = $a ]; then echo "$1-A$ss /dev/$dev $ns $ss"; else echo "$1-B$ss /dev/$dev $ns $ss"; fi
				done
		done
	}
	# devs_once SET: devs into SET-devs.out, once per boot (the names stay).
	devs_once() {
		[ -s "$G_OUT/$1-devs.out" ] || devs "$1" >"$G_OUT/$1-devs.out"
	}
	# ranges DEV: where the patterns go: 1 MiB at the start, middle and end.
	ranges() {
		local size
		size=$(blockdev --getsize64 "$1")
		echo "0:1M $((size / 2 / 1048576 * 1048576)):1M -1M:1M"
	}
	setup() { # SET: put the set's two regions in sector mode
		local a b dimm
		case "$1" in X) a=0 b=1 ;; Y) a=2 b=3 ;; esac
		# ndctl refuses the label-less namespace (the region less the label
		# area) at the region's default 16 MiB alignment; both stacks get 4 KiB.
		echo 4096 >/sys/bus/nd/devices/region$a/align
		g_run "$1-setup-A.json" ndctl create-namespace -f -e namespace$a.0 -m sector -l 4096
		dimm=$(ls /sys/bus/nd/devices/region$b | grep -m1 '^mapping' | xargs -I{} cat /sys/bus/nd/devices/region$b/{} | cut -d, -f1)
		g_run "$1-setup-disable" ndctl disable-region region$b
		g_run "$1-setup-init" ndctl init-labels -f "$dimm"
		g_run "$1-setup-enable" ndctl enable-region region$b
		for ss in $B_SIZES; do
			g_run "$1-setup-B$ss.json" ndctl create-namespace -r region$b -m sector -l "$ss" -s "$B_SIZE"
		done
		udevadm settle -t 30
		devs "$1" >"$G_OUT/$1-devs.out"
		[ "$(wc -l <"$G_OUT/$1-devs.out")" = $((1 + $(echo $B_SIZES | wc -w))) ] ||
			g_fatal "set $1: expected $((1 + $(echo $B_SIZES | wc -w))) sector devices, found: $(tr '\n' ';' <"$G_OUT/$1-devs.out")"
	}
	fio_jobs() { # KEY DEV SECTOR_SIZE NAMESPACE
		local key=$1 dev=$2 bs=$3 ns=$4 name
		meta "$bs" && return 0
		w=(--name=w --numjobs=2 --offset=${F}M --offset_increment=${F}M --size=${F}M --rw=randwrite
			--bs="$bs" --verify=crc32c --verify_fatal=1 --randrepeat=1)
		for phase in run verify; do
			name=$key-fio-$phase
			if [ $phase = run ]; then
				g_run "$name" fio --output-format=json --filename="$dev" --direct=1 --ioengine=libaio \
					--iodepth=8 "${w[@]}" --do_verify=1 \
					--name=r --offset=${F}M --size=$((2 * F))M --io_size=${F}M --rw=randread --bs="$bs"
				# The namespace goes away and comes back: the data must
				# survive. Meanwhile ndctl checks the BTT the writers left.
				g_run "$key-toggle-off" ndctl disable-namespace "$ns"
				g_run "$key-fio-check" ndctl check-namespace "$ns"
				g_run "$key-toggle-on" ndctl enable-namespace "$ns"
				udevadm settle -t 30
			else
				g_run "$name" fio --output-format=json --filename="$dev" --direct=1 --ioengine=libaio \
					--iodepth=8 "${w[@]}" --verify_only
			fi
			sed -n '/^{/,$p' "$G_OUT/$name.out" |
				jq -r '.jobs[] | select(.jobname == "w") |
					"\(.jobname): error=\(.error) written=\(.write.io_bytes) verified=\(.read.io_bytes)"' \
				>"$G_OUT/$name-summary.out" 2>&1
			rm -f "$G_OUT/$name.out"
		done
	}
	for action in "$@"; do
		case "$action" in
		setup-*) setup "${action#setup-}" ;;
		write-*|verify-*)
			# ACTION-SET-SEED
			op=${action%%-*} rest=${action#*-} set=${rest%%-*} seed=${rest#*-}
			devs_once "$set"
			while read -r key dev ns ss; do
				g_run "$key-$op-$seed" $BLKIO pattern "$op" "$dev" "$seed" $(ranges "$dev")
			done <"$G_OUT/$set-devs.out"
			;;
		fio-*)
			set=${action#fio-}
			while read -r key dev ns ss; do fio_jobs "$key" "$dev" "$ss" "$ns"; done <"$G_OUT/$set-devs.out"
			;;
		hash-*)
			# HASH-SET-TAG: every device of the set, whole (full), or
			# (quick) the patterns' and fio's ranges and 1 MiB nobody
			# wrote (after the middle pattern), which cover every kind of
			# block there is: C's, ours, never written.
			rest=${action#hash-} set=${rest%%-*} tag=${rest#*-}
			devs_once "$set"
			while read -r key dev ns ss; do
				size=$(blockdev --getsize64 "$dev")
				if [ $HASH = whole ]; then
					hr=0:$size
				else
					hr="0:$((3 * F))M $((size / 2 / 1048576 * 1048576)):2M -1M:1M"
				fi
				echo "$key $(cat /sys/block/${dev#/dev/}/queue/logical_block_size) $size $($BLKIO hash "$dev" $hr | sed 's/^[^ ]* //' | tr '\n' ' ')"
			done <"$G_OUT/$set-devs.out" >"$G_OUT/$set-hash-$tag.out"
			;;
		dev-*)
			# The fresh disks: queue limits and attributes, and blkio.py's
			# battery of I/O at and past the end, misaligned I/O, discard,
			# zeroout and size ioctls (writes put back what is there).
			set=${action#dev-}
			while read -r key dev ns ss; do
				d=${dev#/dev/}
				# Shell builtins only: a fork costs about 0.1 s in a TCG guest.
				for f in /sys/block/$d/queue/* /sys/block/$d/{size,ro,removable,capability,ext_range,alignment_offset,discard_alignment,hidden,events}; do
					[ -f "$f" ] || continue
					v=
					if { exec 3<"$f"; } 2>/dev/null; then
						IFS= read -r -d '' v <&3
						exec 3<&-
					else
						v="(cannot open)"
					fi
					echo "${f#/sys/block/$d/}=${v//$'\n'/ }"
				done >"$G_OUT/$key-disk.out"
				[ -e /sys/block/$d/badblocks ] && echo "badblocks file present" >>"$G_OUT/$key-disk.out"
				[ -e /sys/block/$d/integrity ] && echo "integrity: $(cat /sys/block/$d/integrity/format 2>&1)" >>"$G_OUT/$key-disk.out"
				g_run "$key-suite" $BLKIO suite "$dev"
			done <"$G_OUT/$set-devs.out"
			;;
		check-*)
			set=${action#check-}
			devs_once "$set"
			while read -r key dev ns ss; do
				g_run "$key-check-off" ndctl disable-namespace "$ns"
				g_run "$key-check" ndctl check-namespace "$ns"
				g_run "$key-check-on" ndctl enable-namespace "$ns"
			done <"$G_OUT/$set-devs.out"
			udevadm settle -t 30
			;;
		*) g_fatal "unknown action $action" ;;
		esac
	done
	g_end
	exit 0
fi

t_init btt-data c-intree
t_smp # fio writers and a reader on both vCPUs (issue 10, acceptance 3)
if [ "${RLN_BTT_FULL:-}" = 1 ] || [ "${RLN_TORTURE:-}" = full ]; then
	MODE=full NVSIZE=160M B_KEYS="B512 B520 B528" F=4
	# Checks that only the full variant makes (see the header).
	CAND_EXTRA=(check-Y) REF_R_EXTRA=(check-X check-Y)
else
	MODE=quick NVSIZE=40M B_KEYS=B512 F=1
	CAND_EXTRA=() REF_R_EXTRA=()
fi
echo "   variant: $MODE (RLN_BTT_FULL=1 or make torture: full)"
xa=$T_DIR/x-a.img xb=$T_DIR/x-b.img ya=$T_DIR/y-a.img yb=$T_DIR/y-b.img
rm -f "$xa" "$xb" "$ya" "$yb"
NV=(--nvdimm "$xa:$NVSIZE:128K" --nvdimm "$xb:$NVSIZE:128K" --nvdimm "$ya:$NVSIZE:128K" --nvdimm "$yb:$NVSIZE:128K")

# t_ok SIDE FILE LABEL: the command behind FILE (.rc) exited 0.
t_ok() {
	[ "$(cat "$T_DIR/$1/$2.rc" 2>/dev/null)" = 0 ] ||
		t_fail "$1 ($(t_stack "$1")): $3: exit $(cat "$T_DIR/$1/$2.rc" 2>/dev/null): $(head -c 300 "$T_DIR/$1/$2.err" 2>/dev/null | tr '\n' ';')"
}
# t_verified SIDE SET SEED LABEL: every pattern range of the set matched.
t_verified() {
	local key
	for key in $(cut -d' ' -f1 "$T_DIR/$1/$2-devs.out"); do
		if [ ! -s "$T_DIR/$1/$key-verify-$3.out" ] || grep -v -q ': match$' "$T_DIR/$1/$key-verify-$3.out"; then
			t_fail "$4 ($key): $(grep -v ': match$' "$T_DIR/$1/$key-verify-$3.out" 2>/dev/null | head -n 3 | tr '\n' ';')"
		fi
	done
}
# t_fio SIDE SET: each fio run and check passed: status 0, and both writers
# wrote and verified their F MiB without an error, before and after the toggle,
# and check-namespace passed on the BTT the writers left.
t_fio() {
	local key f
	for key in $(cut -d' ' -f1 "$T_DIR/$1/$2-devs.out"); do
		meta "$key" && continue
		for f in $key-fio-run $key-fio-verify; do
			t_ok "$1" "$f" "$f"
			[ "$(grep -c ": error=0 written=.* verified=$((F * 1048576))\$" "$T_DIR/$1/$f-summary.out")" = 2 ] ||
				t_fail "$1 ($(t_stack "$1")): $f: $(tr '\n' ';' <"$T_DIR/$1/$f-summary.out")"
		done
		t_ok "$1" "$key-toggle-off" "$key: disable-namespace"
		t_ok "$1" "$key-fio-check" "$key: ndctl check-namespace after fio"
		t_ok "$1" "$key-toggle-on" "$key: enable-namespace"
	done
}
# t_checked SIDE SET: check-namespace passed on every device of the set; on
# 520- and 528-byte sectors it ended as on C's own BTT of that size (ref,
# X-B520 and X-B528).
t_checked() {
	local key
	for key in $(cut -d' ' -f1 "$T_DIR/$1/$2-devs.out"); do
		if meta "$key"; then
			local own=$T_DIR/ref/X-${key#*-}-check.rc
			[ "$(cat "$T_DIR/$1/$key-check.rc" 2>/dev/null)" = "$(cat "$own" 2>/dev/null)" ] ||
				t_fail "$1 ($(t_stack "$1")): check-namespace $key: exit $(cat "$T_DIR/$1/$key-check.rc"), C's own: $(cat "$own")"
			continue
		fi
		t_ok "$1" "$key-check" "ndctl check-namespace $key"
	done
}

REF=(setup-X dev-X write-X-c verify-X-c fio-X hash-X-c)
[ $MODE = full ] && REF+=(check-X)
t_guest ref "${NV[@]}" -- $MODE "${REF[@]}" || t_done
t_check_dmesg ref
for s in A $B_KEYS; do t_ok ref "X-setup-$s" "C: create-namespace -m sector ($s)"; done
t_verified ref X c "C reading back its own pattern"
t_fio ref X
[ $MODE = full ] && t_checked ref X
# The old flog layout on X-A (label-less: the namespace starts the file, v1.1
# BTT 4 KiB in). Lanes 0 and 1 took the writes (lane = CPU). Regions are not
# numbered in the order of the NVDIMMs on QEMU's command line: X-A's file is
# the one with a BTT info block 4 KiB in (X-B's first is at 0, v2.0; Y is blank).
unpadded=
for f in "$xa" "$xb" "$ya" "$yb"; do
	[ "$(dd if="$f" bs=1 skip=4096 count=14 2>/dev/null | tr -d '\0')" = BTT_ARENA_INFO ] && unpadded="$unpadded $f"
done
if [ "$(echo $unpadded | wc -w)" != 1 ]; then
	t_fail "expected one file with a v1.1 BTT 4 KiB in, found:${unpadded:- none}"
elif ! python3 "$RLN_TOP/test/tools/btt_unpad.py" $unpadded 4096 >"$T_DIR/unpad.out" 2>&1; then
	t_fail "rewriting X-A's flog unpadded: $(cat "$T_DIR/unpad.out")"
fi
echo "   X-A flog rewritten in the unpadded layout: $(cat "$T_DIR/unpad.out")"

CAND=(hash-X-c write-X-r hash-X-r setup-Y dev-Y write-Y-r fio-Y hash-Y-r check-X)
[ $MODE = full ] && CAND=(hash-X-c verify-X-c "${CAND[@]:1}")
if t_guest cand "${NV[@]}" -- $MODE "${CAND[@]}" "${CAND_EXTRA[@]}"; then
	t_check_dmesg cand
	[ $MODE = full ] && t_verified cand X c "$T_CAND reading what C wrote"
	t_cmp_text "$T_DIR/ref/X-hash-c.out" "$T_DIR/cand/X-hash-c.out" "hashes of X after C wrote it (X-hash-c.out)"
	for s in A $B_KEYS; do t_ok cand "Y-setup-$s" "$T_CAND: create-namespace -m sector ($s)"; done
	# The new disks, C's (X) against the candidate's (Y).
	for s in A4096 $B_KEYS; do
		t_cmp_text "$T_DIR/ref/X-$s-disk.out" "$T_DIR/cand/Y-$s-disk.out" "the $s disk's attributes"
		t_cmp_text "$T_DIR/ref/X-$s-suite.out" "$T_DIR/cand/Y-$s-suite.out" "blkio.py suite on the $s disk"
	done
	t_fio cand Y
	# fio's summary lines must be C's, device by device.
	for s in A4096 B512; do
		for p in run verify; do
			t_cmp_text "$T_DIR/ref/X-$s-fio-$p-summary.out" "$T_DIR/cand/Y-$s-fio-$p-summary.out" "fio $p on the $s device"
		done
	done
	t_checked cand X
	[ $MODE = full ] && t_checked cand Y
	if t_guest ref-r "${NV[@]}" -- $MODE hash-X-r verify-X-r verify-Y-r hash-Y-r "${REF_R_EXTRA[@]}"; then
		t_check_dmesg ref-r
		t_verified ref-r X r "C reading what $T_CAND wrote over C's BTT"
		t_verified ref-r Y r "C reading the BTT $T_CAND created"
		t_cmp_text "$T_DIR/cand/X-hash-r.out" "$T_DIR/ref-r/X-hash-r.out" "hashes of X after $T_CAND wrote it (X-hash-r.out)"
		t_cmp_text "$T_DIR/cand/Y-hash-r.out" "$T_DIR/ref-r/Y-hash-r.out" "hashes of Y (Y-hash-r.out)"
		if [ $MODE = full ]; then
			t_checked ref-r X
			t_checked ref-r Y
		fi
	fi
fi
rm -f "$xa" "$xb" "$ya" "$yb"
t_done
