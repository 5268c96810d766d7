#!/bin/bash
# fsdax-errors: media errors on an fsdax namespace (issue 11, acceptance 4),
# on nfit_test, whose error injection (ndctl inject-error) QEMU's NFIT has
# not. One boot per stack with nfit_test's reservation (vm-run --nfit-test;
# the C reference is nfit_test's own build of libnvdimm and nd_pmem). On
# nfit_test.0's labelled region1, `create-namespace -m fsdax -M dev -a 4K
# -s 32M` and ext4 mounted -o dax, then:
#   file     a 16-page file; `ndctl inject-error` at its second page (ndctl
#            counts a pfn namespace's blocks from its data: the bad blocks
#            must land in the disk at the file's sectors, so libnvdimm's
#            translation by the data offset shows); the disk's, the
#            region's and ndctl's view of them; reads of the bad page
#            (direct and buffered: EIO), of the good one; a load through a
#            mapping (SIGBUS)
#   rewrite  the bad page rewritten through the file: a DAX recovery write,
#            which clears the poison first (production C's pmem.c). C's
#            nfit_test build replaces `__pmem_direct_access` with one that
#            answers EIO for any bad block, so there the rewrite fails:
#            each side's result is kept apart (DIR.own) and judged on its
#            own. Then the page written through the disk (the block path
#            clears poison on both) and everything compared again
#   memmap   a bad block in the -M dev memmap area (injected by address,
#            ND_CMD_CALL), scrubbed; disable-namespace and
#            enable-namespace: C zeroes known bad blocks of the memmap at
#            enable (`nd_pfn_clear_memmap_errors`); the file reads back
#   corrupt  the info block corrupted through the raw namespace (the pfn
#            lets go of it, force_raw 1): the namespace comes up raw; the
#            byte restored, it is fsdax again and the file reads back
#   info     a bad block on the info block: disable-namespace and
#            enable-namespace (the info block cannot be read), then
#            destroy-namespace, whose write of the info block clears it
#            (the namespace's first page made non-zero first, so that
#            ndctl always writes: see below)
# After each step the views: `ndctl list -N -M`, `ndctl inject-error
# --status`, the region's bad blocks, the disk's (relative to the file's
# first sector) and g_nd_dump's devices. Everything but the DIR.own files
# is compared with C.
. "$(dirname "$0")/../lib.sh"
DAXMAP="python3 $RLN_TOP/test/tools/daxmap.py"

# le64 N...: each N as 8 little-endian bytes, in hex (ndioctl --hex).
le64() {
	local a i
	for a in "$@"; do
		for i in 0 1 2 3 4 5 6 7; do printf '%02x' $(((a >> (8 * i)) & 255)); done
	done
	echo
}

if [ "${1:-}" = --guest ]; then
	g_begin "$2"
	g_modprobe nfit_test
	g_wait_scrub
	OWN=$G_OUT.own
	rm -rf "$OWN"
	mkdir -p "$OWN"
	B="-b nfit_test.0"
	MNT=/tmp/fsdax-errors-mnt
	mkdir -p $MNT
	bus=$(g_bus_by_provider nfit_test.0) || g_fatal "no nfit_test.0 bus"
	start=0
	# The uuid ndctl makes up for the pfn (namespaces print it as theirs)
	# differs between runs.
	unuuid() { [ -s "$1" ] && sed -i -E 's/"uuid": ?"[0-9a-f-]{36}"/"uuid":"<uuid>"/' "$1"; }
	view() {
		udevadm settle -t 30 2>/dev/null
		g_run "$1-list.json" ndctl list -N -M $B
		unuuid "$1-list.json"
		g_run "$1-status.json" ndctl inject-error --status "$ns"
		cat /sys/bus/nd/devices/region1/badblocks >"$G_OUT/$1-region-badblocks.out"
		if [ -e /sys/block/"$dev"/badblocks ]; then
			awk -v s="$start" '{print $1 - s, $2}' /sys/block/"$dev"/badblocks
		else
			echo "no $dev"
		fi >"$G_OUT/$1-disk-badblocks.out"
		g_nd_dump "$1"
	}
	# page N: the bytes of the file's page N.
	page() { python3 -c 'import hashlib, sys; sys.stdout.buffer.write(hashlib.sha256(b"page%s" % sys.argv[1].encode()).digest() * 128)' "$1"; }

	g_run init-disable ndctl disable-region $B all
	g_run init ndctl init-labels $B all
	g_run init-enable ndctl enable-region $B all
	g_run create.json ndctl create-namespace $B -r region1 -m fsdax -M dev -a 4K -s 32M \
		--uuid 5a7e0005-0000-4000-8000-000000000060 || g_fatal "create-namespace failed: $(cat create.err)"
	ns=$(jq -r .dev create.json)
	dev=$(jq -r .blockdev create.json)
	unuuid create.json
	pfn=$(cat /sys/bus/nd/devices/"$ns"/holder)
	nsres=$(cat /sys/bus/nd/devices/"$ns"/resource)
	n=${bus#ndbus}

	# ---- file
	g_run mkfs mkfs.ext4 -q -F -b 4096 /dev/"$dev"
	g_run mount mount -o dax /dev/"$dev" $MNT || g_fatal "mount -o dax failed: $(cat mount.err)"
	for i in $(seq 0 15); do page $i; done >$MNT/f
	sync
	start=$(filefrag -v -b512 $MNT/f | awk '$1 == "0:" {sub(/\.\..*/, "", $4); print $4}')
	[ -n "$start" ] || g_fatal "no extent for the file: $(filefrag -v -b512 $MNT/f 2>&1)"
	view clean
	g_run inject ndctl inject-error --block=$((start + 8)) --count=8 "$ns"
	unuuid inject.out
	g_wait_scrub
	view injected
	g_run read-bad dd if=$MNT/f of=/dev/null bs=4096 skip=1 count=1 iflag=direct status=none
	g_run read-bad-buffered dd if=$MNT/f of=/dev/null bs=4096 skip=1 count=1 status=none
	g_run read-good sh -c "dd if=$MNT/f bs=4096 count=1 iflag=direct status=none | sha256sum"
	g_run peek-bad $DAXMAP peek $MNT/f 4096
	# C's nfit_test build hands out pfns of its vmalloc pages, which a
	# DAX fault may not insert: each side's own.
	$DAXMAP peek $MNT/f 0 >"$OWN/peek-good.out" 2>&1

	# ---- rewrite
	page new >/tmp/new-page
	dd if=/tmp/new-page of=$MNT/f bs=4096 seek=1 count=1 conv=notrunc oflag=direct status=none \
		>"$OWN/rewrite-file.out" 2>&1
	echo "rc $?" >>"$OWN/rewrite-file.out"
	awk -v s="$start" '{print $1 - s, $2}' /sys/block/"$dev"/badblocks >"$OWN/rewrite-file-disk-badblocks.out"
	cat /sys/bus/nd/devices/region1/badblocks >"$OWN/rewrite-file-region-badblocks.out"
	g_run rewrite-disk dd if=/tmp/new-page of=/dev/"$dev" bs=512 seek=$((start + 8)) count=8 oflag=direct status=none
	view rewritten
	g_run reread sh -c "dd if=$MNT/f bs=4096 iflag=direct status=none | sha256sum"
	sha256sum </tmp/new-page >"$G_OUT/new-page.out"
	g_run umount umount $MNT

	# ---- memmap: 4 KiB at 64 KiB into the namespace, inside the memmap
	# of -M dev (the data starts after it).
	echo "data offset $(($(cat /sys/bus/nd/devices/"$pfn"/resource) - nsres))" >"$G_OUT/layout.out"
	# reprobe NAME OFF LEN: LEN bytes at OFF into the namespace injected by
	# address (NFIT_CMD_ARS_INJECT_SET, no notification) and scrubbed;
	# disable-namespace and enable-namespace, viewed before and after.
	reprobe() {
		g_run "$1-inject" $NDIOCTL /dev/ndctl"$n" call 0 7 17 4 --hex "$(le64 $((nsres + $2)) "$3")00"
		g_run "$1-scrub" ndctl start-scrub nfit_test.0
		g_wait_scrub
		view "$1-injected"
		g_run "$1-disable" ndctl disable-namespace "$ns"
		g_run "$1-enable" ndctl enable-namespace "$ns"
		view "$1-enabled"
	}
	reprobe memmap 65536 4096
	g_run memmap-mount mount -o dax /dev/"$dev" $MNT &&
		g_run memmap-read sh -c "dd if=$MNT/f bs=4096 iflag=direct status=none | sha256sum" &&
		g_run memmap-umount umount $MNT

	# ---- corrupt: the low byte of the info block's npfns (offset 4096 +
	# 64: the checksum no longer matches), through the raw namespace.
	# ndctl's disable-namespace lets go of the pfn (libndctl deletes it,
	# so that enabling finds the info block again): force_raw 1 binds the
	# namespace itself.
	g_run corrupt-disable ndctl disable-namespace "$ns"
	echo 1 >/sys/bus/nd/devices/"$ns"/force_raw
	echo "$ns" >/sys/bus/nd/drivers/nd_pmem/bind 2>"$G_OUT/corrupt-bind-raw.err"
	echo "rc $?" >"$G_OUT/corrupt-bind-raw.out"
	udevadm settle -t 30
	raw=$(cd /sys/bus/nd/devices/"$ns"/block 2>/dev/null && ls)
	echo "raw disk ${raw:+found}" >"$G_OUT/corrupt-raw.out"
	# poke OFF VALUE: one byte of the raw disk, through its page cache
	# (O_DIRECT needs whole sectors), written out before it goes.
	poke() { printf "\\x$(printf %02x "$2")" | dd of=/dev/"$raw" bs=1 seek="$1" count=1 conv=notrunc,fsync status=none; }
	if [ -n "$raw" ]; then
		orig=$(dd if=/dev/"$raw" bs=1 skip=$((4096 + 64)) count=1 status=none | od -An -tu1 | tr -d ' ')
		echo "npfns low byte $orig" >"$G_OUT/corrupt-byte.out"
		g_run corrupt-poke poke $((4096 + 64)) $(((orig + 1) & 255))
	fi
	echo "$ns" >/sys/bus/nd/drivers/nd_pmem/unbind
	echo 0 >/sys/bus/nd/devices/"$ns"/force_raw
	g_run corrupt-enable ndctl enable-namespace "$ns"
	view corrupt
	# Back: the byte restored through the raw disk the failed autodetect
	# leaves (if it does), then the namespace disabled and enabled again.
	raw=$(cd /sys/bus/nd/devices/"$ns"/block 2>/dev/null && ls)
	echo "raw disk after the corruption ${raw:+found}" >"$G_OUT/corrupt-raw-after.out"
	[ -n "$raw" ] && [ -n "${orig:-}" ] && g_run restore-poke poke $((4096 + 64)) "$orig"
	g_run restore-disable ndctl disable-namespace "$ns"
	g_run restore-enable ndctl enable-namespace "$ns"
	view restored
	dev=$(ndctl list -n "$ns" | jq -r 'if type == "array" then .[0].blockdev else .blockdev end')
	pfn=$(cat /sys/bus/nd/devices/"$ns"/holder)
	g_run restore-mount mount -o dax /dev/"$dev" $MNT &&
		g_run restore-read sh -c "dd if=$MNT/f bs=4096 iflag=direct status=none | sha256sum" &&
		g_run restore-umount umount $MNT

	# ---- info: a bad block on the info block.
	reprobe info 4096 512
	# destroy-namespace reads the first 8 KiB and writes zeros only if
	# they differ from zeros. Its read fails at the bad info block, after
	# the first page was read, and the second page of its buffer is
	# whatever malloc left there: zeros now and then, and then nothing is
	# written. The first page made non-zero (the namespace is raw now: its
	# info block cannot be read), the write happens on every run.
	raw=$(cd /sys/bus/nd/devices/"$ns"/block 2>/dev/null && ls)
	echo "raw disk before destroy ${raw:+found}" >"$G_OUT/info-raw.out"
	page page0 >/tmp/page0
	[ -n "$raw" ] && g_run info-page0 dd if=/tmp/page0 of=/dev/"$raw" bs=4096 count=1 oflag=direct status=none
	g_run info-destroy ndctl destroy-namespace -f "$ns"
	view info-destroyed
	g_end
	exit 0
fi

t_init fsdax-errors
t_nfit_test
t_guest ref || t_done
t_check_dmesg ref
if t_guest cand; then
	t_check_dmesg cand
	t_cmp_sides
	# The file's own steps, judged on each side: the production-C
	# behaviour on ours (the rewrite clears the poison, the good page maps),
	# C's nfit_test build's on C (EIO, see above).
	for side in ref cand; do
		own=$T_DIR/$side.own
		case "$(t_stack $side)" in
		c | c-intree) want_rc=1 ;;
		*) want_rc=0 ;;
		esac
		grep -qx "rc $want_rc" "$own/rewrite-file.out" ||
			t_fail "$side: the rewrite of the bad page through the file: want rc $want_rc, got: $(tr '\n' ' ' <"$own/rewrite-file.out")"
		if [ $want_rc = 0 ]; then
			[ ! -s "$own/rewrite-file-disk-badblocks.out" ] ||
				t_fail "$side: bad blocks left on the disk after the recovery write: $(cat "$own/rewrite-file-disk-badblocks.out")"
			grep -q '^peek: ok' "$own/peek-good.out" ||
				t_fail "$side: a load of the good page through a mapping: $(cat "$own/peek-good.out")"
		fi
		echo "   $side: rewrite through the file: $(tr '\n' ' ' <"$own/rewrite-file.out"); good page mapped: $(cat "$own/peek-good.out")"
	done
	# What the comparison means: the views must show the errors at all.
	grep -qx '8 8' "$T_DIR/cand/injected-disk-badblocks.out" ||
		t_fail "the injected blocks are not at the file's second page on the disk: $(cat "$T_DIR/cand/injected-disk-badblocks.out")"
	[ ! -s "$T_DIR/cand/info-destroyed-region-badblocks.out" ] ||
		t_fail "destroy-namespace left the info block's bad block: $(cat "$T_DIR/cand/info-destroyed-region-badblocks.out")"
	grep -q 'killed by SIGBUS' "$T_DIR/cand/peek-bad.out" ||
		t_fail "a load of the bad page did not end in SIGBUS: $(cat "$T_DIR/cand/peek-bad.out")"
fi
t_done
