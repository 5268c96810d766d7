#!/bin/bash
# btt-arenas: a BTT of two arenas (issue 10, deliverable 2: arenas of up to
# 512 GiB each) on a label-less QEMU NVDIMM of 514 GiB (a sparse file; only
# what is written takes room), against Linux's C modules as shipped. Sector
# mode with 4096-byte sectors on the whole namespace: 514 GiB less the 4 KiB
# the v1.1 layout keeps in front make a 512 GiB arena and one of 2 GiB less
# 4 KiB (C's create_arenas; test/tools/bttinfo.py layout computes where the
# second starts: its first external LBA). Three boots on the same file:
#   ref    C: `create-namespace -f -e namespace0.0 -m sector -l 4096`, the
#          views (`ndctl list -N -v`, every btt and namespace attribute),
#          pattern "c" (test/tools/blkio.py) at the start, across the arena
#          boundary (1 MiB from 512 KiB before it) and at the end, read back;
#          `ndctl check-namespace`
#   (host) both arenas' info blocks as C wrote them (bttinfo.py read), kept
#   cand   the candidate finds C's BTT (autodetect: sector mode) and reads
#          pattern "c"; then makes its own BTT the same way (its views and
#          ndctl's output equal C's when C made its BTT; the info blocks
#          equal C's but for the uuids and checksums), writes pattern "r" at
#          the same places, reads it back, check-namespace
#   ref-r  C finds the candidate's BTT (its views equal the candidate's when
#          it found C's) and reads pattern "r"
# The arena boundary the guest computes must be the second info block's
# external_lba_start (checked on the host).
. "$(dirname "$0")/../lib.sh"
BLKIO="python3 $RLN_TOP/test/tools/blkio.py"
BTTINFO="python3 $RLN_TOP/test/tools/bttinfo.py"
SIZE_G=514

if [ "${1:-}" = --guest ]; then
	g_begin "$2"
	shift 2
	g_modprobe nfit
	udevadm settle -t 60
	ns=$(cd /sys/bus/nd/devices && ls -d namespace*.0 | head -n 1)
	[ -n "$ns" ] || g_fatal "no namespace on the NVDIMM"
	view() {
		udevadm settle -t 30 2>/dev/null
		g_run "$1-list-Nv.json" ndctl list -N -v
		sed -i -E 's/"uuid": ?"[0-9a-f-]{36}"/"uuid":"<uuid>"/' "$G_OUT/$1-list-Nv.json"
		g_nds dump "$G_OUT/$1" && g_nds dump_btts "$G_OUT/$1" &&
			g_nds mask_uuids "$G_OUT/$1" "/tmp/btt-arenas-uuids-$1.txt" 5a7e0005- || g_fatal "view $1 failed"
	}
	# The places of the patterns: the start, across the arena boundary, the
	# end (byte offsets of the sector device, 1 MiB each).
	places() {
		local dev=$1 b
		b=$($BTTINFO layout $(($(cat /sys/bus/nd/devices/"$ns"/size) - 4096)) 4096 |
			sed -n 's/^arena 1: .* external_lba_start \([0-9]*\) .*/\1/p')
		[ -n "$b" ] || g_fatal "no second arena in the layout"
		echo "boundary $b" >"$G_OUT/boundary.out"
		echo "0:1M $((b * 4096 - 524288)):1M -1M:1M"
	}
	for action in "$@"; do
		echo "$action $(cut -d' ' -f1 /proc/uptime)" >>"$G_OUT/stamps.txt"
		case "$action" in
		create)
			g_run create.json ndctl create-namespace -f -e "$ns" -m sector -l 4096 ||
				g_fatal "create-namespace failed: $(cat create.err)"
			sed -i -E 's/"uuid": ?"[0-9a-f-]{36}"/"uuid":"<uuid>"/' create.json
			view created
			;;
		boot) view boot ;;
		write-* | verify-*)
			dev=/dev/$(ndctl list -N | jq -r '(if type == "array" then .[0] else . end).blockdev')
			# shellcheck disable=SC2046 # the places are words
			g_run "${action}" $BLKIO pattern "${action%%-*}" "$dev" "${action#*-}" $(places "$dev")
			;;
		check)
			g_run check-disable ndctl disable-namespace "$ns"
			g_run check ndctl check-namespace "$ns"
			g_run check-enable ndctl enable-namespace "$ns"
			;;
		*) g_fatal "unknown action $action" ;;
		esac
	done
	g_end
	exit 0
fi

t_init btt-arenas c-intree
# Not on the debug kernel: its KASAN_VMALLOC gives every vmap area its shadow
# when the area is made (mm/vmalloc.c alloc_vmap_area), ioremap's included,
# and pmem's memremap of the 514 GiB NVDIMM would take 64 GiB of it. The
# 2 GiB guest runs out of memory in C's own boot (tried 5 December 2026), and
# this host has 24 GiB in all.
if [ "${RLN_FLAVOUR:-normal}" = debug ]; then
	echo "   SKIP btt-arenas on the debug kernel (KASAN's vmalloc shadow of a 514 GiB mapping is 64 GiB: more memory than the host has)"
	T_SKIPS=$((T_SKIPS + 1))
	t_done
fi
img=$T_DIR/nv.img
NV=(--nvdimm "$img:${SIZE_G}G:0" --maxmem $((SIZE_G + 8))G)
rm -f "$img"
# t_ok SIDE NAME: the command behind NAME exited 0.
t_ok() {
	[ "$(cat "$T_DIR/$1/$2.rc" 2>/dev/null)" = 0 ] ||
		t_fail "$1 ($(t_stack "$1")): $2: exit $(cat "$T_DIR/$1/$2.rc" 2>/dev/null): $(head -c 300 "$T_DIR/$1/$2.err" 2>/dev/null | tr '\n' ';')"
}
# matched SIDE NAME: blkio.py found every range of the pattern.
matched() {
	if [ ! -s "$T_DIR/$1/$2.out" ] || grep -v -q ': match$' "$T_DIR/$1/$2.out"; then
		t_fail "$1: $2: $(head -n 3 "$T_DIR/$1/$2.out" "$T_DIR/$1/$2.err" 2>/dev/null | tr '\n' ';')"
	fi
}
# The info blocks of the BTT on the file (its arenas from 4 KiB on),
# uuids and checksums left out.
blocks() { $BTTINFO read "$img" 4096 >"$T_DIR/$1" 2>&1; }

t_guest ref "${NV[@]}" -- create write-c verify-c check || t_done
t_check_dmesg ref
t_ok ref create
t_ok ref check
matched ref verify-c
blocks c-blocks.txt
grep -q '^arena 1 ' "$T_DIR/c-blocks.txt" || t_fail "C's BTT has no second arena: $(cat "$T_DIR/c-blocks.txt")"
b=$(sed -n 's/^boundary //p' "$T_DIR/ref/boundary.out")
[ "$b" = "$(sed -n 's/^arena 0 .* external_nlba=\([0-9]*\) .*/\1/p' "$T_DIR/c-blocks.txt")" ] ||
	t_fail "the boundary the guest used ($b) is not arena 0's external_nlba: $(head -n 1 "$T_DIR/c-blocks.txt")"
sed 's/^/   C: /' "$T_DIR/c-blocks.txt"

if t_guest cand "${NV[@]}" -- boot verify-c create write-r verify-r check; then
	t_check_dmesg cand
	matched cand verify-c
	matched cand verify-r
	t_ok cand create
	t_ok cand check
	# Made by ndctl (the seed claims the namespace), on each stack.
	for f in list-Nv.json regions.out devices.out block.out btt.out; do
		t_cmp_file "$T_DIR/ref/created-$f" "$T_DIR/cand/created-$f" "created: $f"
	done
	t_cmp_file "$T_DIR/ref/create.json" "$T_DIR/cand/create.json" "create-namespace's output"
	for f in check.out check.err check.rc boundary.out; do
		t_cmp_file "$T_DIR/ref/$f" "$T_DIR/cand/$f" "$f"
	done
	blocks r-blocks.txt
	t_cmp_text "$T_DIR/c-blocks.txt" "$T_DIR/r-blocks.txt" "the info blocks of both arenas (C's, the candidate's)"
	if t_guest ref-r "${NV[@]}" -- boot verify-r; then
		t_check_dmesg ref-r
		matched ref-r verify-r
		# Found at boot (autodetect: a new btt claims the namespace): C's
		# BTT by the candidate, the candidate's by C.
		for f in list-Nv.json regions.out devices.out block.out btt.out; do
			t_cmp_file "$T_DIR/cand/boot-$f" "$T_DIR/ref-r/boot-$f" "found at boot: $f"
		done
	fi
fi
for s in ref cand ref-r; do
	[ -e "$T_DIR/$s/stamps.txt" ] && echo "   $s phases (uptime s): $(tr '\n' ' ' <"$T_DIR/$s/stamps.txt")"
done
rm -f "$img"
t_done
