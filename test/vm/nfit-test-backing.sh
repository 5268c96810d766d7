#!/bin/bash
# nfit-test-backing: nfit_test's ranges are real physical memory on our stack
# (Documentation/testing.md, "nfit_test's memory"), and the VM is the same for
# both stacks. Both stacks boot with the reservation (vm-run --nfit-test):
#   - /proc/iomem shows the legacy persistent memory range before any module
#     loads; after `modprobe nfit_test` `ndctl list -B` shows only the two
#     nfit_test buses (nd_e820 did not take the range);
#   - a 4 KiB pattern written at 5 MiB + 4 KiB into the raw (label-less)
#     namespace of nfit_test.0's first 32 MiB region through /dev/pmemN reads
#     back the same.
# On our stack only (C's nfit_test backs its ranges with vmalloc memory):
#   - nfit_test.N/backing lists each PM range's physical memory, inside the
#     reservation, 2 MiB aligned, and /proc/iomem shows nfit_test.0 and
#     nfit_test.1 holding it;
#   - nfit_test.0/backing_pages gives the pattern's subsection struct pages
#     (memremap_pages) and reads the pattern through them: the bytes written
#     through /dev/pmemN are at that physical address, and struct pages work
#     there. Bytes never written read as zero; an address outside every range
#     is refused (EINVAL).
. "$(dirname "$0")/../lib.sh"

# Where the pattern goes in the namespace (4 KiB blocks): 5 MiB + 4 KiB, in
# the third 2 MiB subsection.
BLOCK=1281

if [ "${1:-}" = --guest ]; then
	g_begin "$2"
	# The top-level line only: what the kernel made of memmap=nn!ss.
	grep -E '^[0-9a-f]+-[0-9a-f]+ : Persistent Memory \(legacy\)$' /proc/iomem >iomem-legacy.out
	g_modprobe nfit_test
	g_wait_scrub
	g_run buses.json ndctl list -B
	b0=$(g_bus_by_provider nfit_test.0) || g_fatal "no nfit_test.0 bus"
	# The first writable 32 MiB namespace of nfit_test.0 (label-less:
	# namespace_io), by address.
	ns= dev=
	for n in /sys/bus/nd/devices/"$b0"/region*/namespace*.0; do
		[ "$(cat "$n/size" 2>/dev/null)" = 33554432 ] || continue
		d=$(ls "$n/block" 2>/dev/null | head -n 1)
		[ -n "$d" ] && [ "$(cat "/sys/block/$d/ro")" = 0 ] || continue
		if [ -z "$ns" ] || [ $(($(cat "$n/resource"))) -lt $(($(cat "$ns/resource"))) ]; then
			ns=$n dev=$d
		fi
	done
	[ -n "$dev" ] || g_fatal "no writable pmem disk on a 32 MiB namespace of nfit_test.0"
	echo "${ns##*/} $dev $(cat "$ns/resource")" >namespace.out
	python3 -c 'import random, sys; random.seed(11); sys.stdout.buffer.write(bytes(random.getrandbits(8) for _ in range(4096)))' >pattern.bin
	g_run write dd if=pattern.bin of=/dev/"$dev" bs=4096 seek=$BLOCK count=1 oflag=direct conv=notrunc status=none
	g_run read dd if=/dev/"$dev" of=readback.bin bs=4096 skip=$BLOCK count=1 iflag=direct status=none

	knob=/sys/class/nfit_test_bus/nfit_test.0/backing_pages
	if [ -e "$knob" ]; then
		# Results only our stack makes go beside OUTDIR, out of the
		# sides' comparison.
		F=$G_OUT-backing
		rm -rf "$F"
		mkdir -p "$F"
		for b in 0 1; do
			cat /sys/class/nfit_test_bus/nfit_test.$b/backing >"$F/backing-$b.out"
		done
		# The reservation and what holds it, children included.
		awk '/ : Persistent Memory \(legacy\)$/ {on = 1; print; next}
			on && /^ / {print; next} {on = 0}' /proc/iomem >"$F/iomem.out"
		spa=$(($(cat "$ns/resource") + BLOCK * 4096))
		# The pattern in four looks of 1 KiB, through struct pages.
		: >"$F/peek.hex"
		for i in 0 1 2 3; do
			if echo "$((spa + i * 1024)) 1024" >"$knob" 2>"$F/peek-$i.err"; then
				cat "$knob" >>"$F/peek.hex"
			else
				echo "write $i failed" >>"$F/peek.hex"
			fi
		done
		# Bytes nobody wrote (the block before the pattern).
		echo "$((spa - 64)) 64" >"$knob" 2>"$F/zero.err" && cat "$knob" >"$F/zero.hex"
		# An address in no range.
		echo "0x1000 16" >"$knob" 2>"$F/outside.err"
		echo $? >"$F/outside.rc"
	fi
	g_end
	exit 0
fi

t_init nfit-test-backing
t_nfit_test
t_guest ref || t_done
t_check_dmesg ref
if ! cmp -s "$T_DIR/ref/pattern.bin" "$T_DIR/ref/readback.bin"; then
	t_fail "ref: the pattern did not read back through /dev/pmemN"
fi
[ -s "$T_DIR/ref/iomem-legacy.out" ] || t_fail "ref: no legacy persistent memory range in /proc/iomem"
if t_guest cand; then
	t_check_dmesg cand
	t_cmp_sides
	F=$T_DIR/cand-backing
	if [ "$T_CAND" != rust ]; then
		echo "   (candidate $T_CAND: C's nfit_test has no physical backing to check)"
	elif [ ! -d "$F" ]; then
		t_fail "cand: no /sys/class/nfit_test_bus/nfit_test.0/backing_pages"
	else
		# The reservation, from the top-level line both stacks showed.
		read -r range _ <"$T_DIR/cand/iomem-legacy.out"
		rstart=$((16#${range%-*})) rend=$((16#${range#*-}))
		n=0
		for b in 0 1; do
			while read -r spa phys len; do
				n=$((n + 1))
				if [ $((phys % (2 << 20))) != 0 ] || [ $((phys)) -lt $rstart ] ||
					[ $((phys + len - 1)) -gt $rend ]; then
					t_fail "nfit_test.$b: range $spa backed at $phys (+$len), not 2 MiB aligned inside [$rstart, $rend]"
				fi
			done <"$F/backing-$b.out"
		done
		[ $n = 5 ] || t_fail "backing: $n ranges with physical memory, not the 5 PM and virtual-CD ranges"
		for b in 0 1; do
			grep -q "^  [0-9a-f-]* : nfit_test\.$b$" "$F/iomem.out" ||
				t_fail "/proc/iomem: nfit_test.$b holds no part of the reservation:$(sed 's/^/ | /' "$F/iomem.out")"
		done
		want=$(od -An -v -tx1 "$T_DIR/cand/pattern.bin" | tr -d ' \n')
		got=$(tr -d '\n' <"$F/peek.hex")
		if [ "$want" != "$got" ]; then
			t_fail "backing_pages: the pattern is not at its physical address (read through struct pages: ${got:0:80}...; $(cat "$F"/peek-*.err | head -n 2))"
		fi
		[ "$(cat "$F/zero.hex" 2>/dev/null)" = "$(printf '0%.0s' $(seq 128))" ] ||
			t_fail "backing_pages: bytes before the pattern are not zero: $(cat "$F/zero.hex" 2>/dev/null) $(cat "$F/zero.err")"
		[ "$(cat "$F/outside.rc")" != 0 ] && grep -q 'Invalid argument' "$F/outside.err" ||
			t_fail "backing_pages: an address in no range was not refused with EINVAL: rc $(cat "$F/outside.rc"), $(cat "$F/outside.err")"
	fi
fi
t_done
