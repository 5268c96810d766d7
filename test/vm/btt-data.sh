#!/bin/bash
# btt-data: sector mode (nd_btt, /dev/pmemNs) data integrity and media interop
# with C, both ways (issue 10, acceptance 2 and 3). Reference: Linux's C
# modules as shipped. Four QEMU NVDIMMs of 128 MiB (128 KiB label areas; which
# backs which region is QEMU's and the NFIT's choice, the same on every boot):
#   X-A  region0, label-less: namespace0.0 in sector mode, 4096-byte sectors
#        (a v1.1 info block, 4 KiB into the namespace)
#   X-B  region1, labeled (init-labels: v1.2 labels, claim class BTT2): two
#        48 MiB sector namespaces, 512- and 520-byte sectors (v2.0 info blocks;
#        520 stores 512 data bytes in 576-byte blocks: no integrity support in
#        this kernel, as in C)
#   Y-A, Y-B  the same, configured by the candidate
# Three boots on the same backing files:
#   ref     C configures X (the new disks' queue attributes and blkio.py's bad-I/O
#           battery must be what the candidate's new disks show), writes pattern "c" (test/tools/blkio.py) at the
#           start, middle and end of each device, runs the fio jobs, hashes
#           every device whole, runs `ndctl check-namespace` on each
#   (host)  X-A's flog is rewritten in the old unpadded layout (slots 0 and 2,
#           test/tools/btt_unpad.py), as kernels before 4.15 wrote it
#   cand    reads X: pattern "c" and every whole-device hash must be C's; writes
#           pattern "r" over X; configures Y, writes "r", runs the fio jobs on Y;
#           hashes everything; check-namespace on all six
#   ref-r   C reads X and Y: pattern "r" and every hash must be the candidate's;
#           check-namespace on all six
# fio jobs (on each stack, on the 512- and 4096-byte devices): libaio, direct,
# iodepth 8, two writers (random writes of one sector, 512 B or 4 KiB, each in
# its own 4 MiB from 4 MiB on, clear of the patterns, crc32c verify) beside a
# random reader over both writers' ranges; then disable-namespace +
# enable-namespace (the BTT is found again on the media), then fio
# --verify_only must find every block written; each writer's errors and bytes
# must be C's. ndctl check-namespace must pass, except on 520-byte sectors,
# where ndctl fails on C's own BTT ("Problem parsing arena[0] metadata"): there
# its exit status must be C's.
. "$(dirname "$0")/../lib.sh"
BLKIO="python3 $RLN_TOP/test/tools/blkio.py"

if [ "${1:-}" = --guest ]; then
	g_begin "$2"
	shift 2
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
		g_run "$1-setup-B512.json" ndctl create-namespace -r region$b -m sector -l 512 -s 48M
		g_run "$1-setup-B520.json" ndctl create-namespace -r region$b -m sector -l 520 -s 48M
		udevadm settle -t 30
		devs "$1" >"$G_OUT/$1-devs.out"
		[ "$(wc -l <"$G_OUT/$1-devs.out")" = 3 ] ||
			g_fatal "set $1: expected three sector devices, found: $(tr '\n' ';' <"$G_OUT/$1-devs.out")"
	}
	fio_jobs() { # KEY DEV SECTOR_SIZE NAMESPACE
		local key=$1 dev=$2 bs=$3 ns=$4 name
		[ "$bs" = 520 ] && return 0
		w=(--name=w --numjobs=2 --offset=4M --offset_increment=4M --size=4M --rw=randwrite
			--bs="$bs" --verify=crc32c --verify_fatal=1 --randrepeat=1)
		for phase in run verify; do
			name=$key-fio-$phase
			if [ $phase = run ]; then
				g_run "$name" fio --output-format=json --filename="$dev" --direct=1 --ioengine=libaio \
					--iodepth=8 "${w[@]}" --do_verify=1 \
					--name=r --offset=4M --size=8M --io_size=4M --rw=randread --bs="$bs"
				# The namespace goes away and comes back: the data must survive.
				g_run "$key-toggle-off" ndctl disable-namespace "$ns"
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
			devs "$set" >"$G_OUT/$set-devs.out"
			while read -r key dev ns ss; do
				g_run "$key-$op-$seed" $BLKIO pattern "$op" "$dev" "$seed" $(ranges "$dev")
			done <"$G_OUT/$set-devs.out"
			;;
		fio-*)
			set=${action#fio-}
			while read -r key dev ns ss; do fio_jobs "$key" "$dev" "$ss" "$ns"; done <"$G_OUT/$set-devs.out"
			;;
		hash-*)
			# HASH-SET-TAG: every device of the set, whole.
			rest=${action#hash-} set=${rest%%-*} tag=${rest#*-}
			devs "$set" >"$G_OUT/$set-devs.out"
			while read -r key dev ns ss; do
				echo "$key $(cat /sys/block/${dev#/dev/}/queue/logical_block_size) $(blockdev --getsize64 "$dev") $($BLKIO hash "$dev" "0:$(blockdev --getsize64 "$dev")" | sed 's/^[^ ]* //')"
			done <"$G_OUT/$set-devs.out" >"$G_OUT/$set-hash-$tag.out"
			;;
		dev-*)
			# The fresh disks: queue limits and attributes, and blkio.py's
			# battery of I/O at and past the end, misaligned I/O, discard,
			# zeroout and size ioctls (writes put back what is there).
			set=${action#dev-}
			while read -r key dev ns ss; do
				d=${dev#/dev/}
				for f in /sys/block/$d/queue/* /sys/block/$d/{size,ro,removable,capability,ext_range,alignment_offset,discard_alignment,hidden,events}; do
					[ -f "$f" ] && echo "${f#/sys/block/$d/}=$(cat "$f" 2>&1 | tr '\n' ' ')"
				done >"$G_OUT/$key-disk.out"
				[ -e /sys/block/$d/badblocks ] && echo "badblocks file present" >>"$G_OUT/$key-disk.out"
				[ -e /sys/block/$d/integrity ] && echo "integrity: $(cat /sys/block/$d/integrity/format 2>&1)" >>"$G_OUT/$key-disk.out"
				g_run "$key-suite" $BLKIO suite "$dev"
			done <"$G_OUT/$set-devs.out"
			;;
		check-*)
			set=${action#check-}
			devs "$set" >"$G_OUT/$set-devs.out"
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
xa=$T_DIR/x-a.img xb=$T_DIR/x-b.img ya=$T_DIR/y-a.img yb=$T_DIR/y-b.img
rm -f "$xa" "$xb" "$ya" "$yb"
NV=(--nvdimm "$xa:128M:128K" --nvdimm "$xb:128M:128K" --nvdimm "$ya:128M:128K" --nvdimm "$yb:128M:128K")

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
# wrote and verified their 4 MiB without an error, before and after the toggle.
t_fio() {
	local key f
	for key in $(cut -d' ' -f1 "$T_DIR/$1/$2-devs.out"); do
		[ "${key%520}" = "$key" ] || continue
		for f in $key-fio-run $key-fio-verify; do
			t_ok "$1" "$f" "$f"
			[ "$(grep -c ': error=0 written=.* verified=4194304$' "$T_DIR/$1/$f-summary.out")" = 2 ] ||
				t_fail "$1 ($(t_stack "$1")): $f: $(tr '\n' ';' <"$T_DIR/$1/$f-summary.out")"
		done
		t_ok "$1" "$key-toggle-off" "$key: disable-namespace"
		t_ok "$1" "$key-toggle-on" "$key: enable-namespace"
	done
}
# t_checked SIDE SET: check-namespace passed on every device of the set; on
# 520-byte sectors it ended as on C's own BTT (ref, X-B520).
t_checked() {
	local key
	for key in $(cut -d' ' -f1 "$T_DIR/$1/$2-devs.out"); do
		if [ "${key%520}" != "$key" ]; then
			[ "$(cat "$T_DIR/$1/$key-check.rc" 2>/dev/null)" = "$(cat "$T_DIR/ref/X-B520-check.rc" 2>/dev/null)" ] ||
				t_fail "$1 ($(t_stack "$1")): check-namespace $key: exit $(cat "$T_DIR/$1/$key-check.rc"), C's own: $(cat "$T_DIR/ref/X-B520-check.rc")"
			continue
		fi
		t_ok "$1" "$key-check" "ndctl check-namespace $key"
	done
}

t_guest ref "${NV[@]}" -- setup-X dev-X write-X-c verify-X-c fio-X hash-X-c check-X || t_done
t_check_dmesg ref
for s in A B512 B520; do t_ok ref "X-setup-$s" "C: create-namespace -m sector ($s)"; done
t_verified ref X c "C reading back its own pattern"
t_fio ref X
t_checked ref X
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

if t_guest cand "${NV[@]}" -- hash-X-c verify-X-c write-X-r hash-X-r setup-Y dev-Y write-Y-r fio-Y hash-Y-r check-X check-Y; then
	t_check_dmesg cand
	t_verified cand X c "$T_CAND reading what C wrote"
	t_cmp_text "$T_DIR/ref/X-hash-c.out" "$T_DIR/cand/X-hash-c.out" "whole-device hashes of X after C wrote it (X-hash-c.out)"
	for s in A B512 B520; do t_ok cand "Y-setup-$s" "$T_CAND: create-namespace -m sector ($s)"; done
	# The new disks, C's (X) against the candidate's (Y).
	for s in A4096 B512 B520; do
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
	t_checked cand Y
	if t_guest ref-r "${NV[@]}" -- hash-X-r verify-X-r verify-Y-r hash-Y-r check-X check-Y; then
		t_check_dmesg ref-r
		t_verified ref-r X r "C reading what $T_CAND wrote over C's BTT"
		t_verified ref-r Y r "C reading the BTT $T_CAND created"
		t_cmp_text "$T_DIR/cand/X-hash-r.out" "$T_DIR/ref-r/X-hash-r.out" "whole-device hashes of X after $T_CAND wrote it (X-hash-r.out)"
		t_cmp_text "$T_DIR/cand/Y-hash-r.out" "$T_DIR/ref-r/Y-hash-r.out" "whole-device hashes of Y (Y-hash-r.out)"
		t_checked ref-r X
		t_checked ref-r Y
	fi
fi
rm -f "$xa" "$xb" "$ya" "$yb"
t_done
