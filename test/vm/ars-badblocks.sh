#!/bin/bash
# ars-badblocks: address range scrub on nfit_test and the bad blocks it feeds
# (K: drivers/acpi/nfit/core.c ars_register, acpi_nfit_scrub, scrub_show/store,
# acpi_nfit_ars_rescan; drivers/nvdimm/badrange.c; region.c nd_region_notify).
# After load and the initial scrubs: each bus's nfit/scrub count, region and
# pmem badblocks, `ndctl list -RNiM`; writes to nfit/scrub (1 rescans, other
# values EINVAL) and the count after `ndctl wait-scrub`; `ndctl start-scrub` +
# `wait-scrub`; then an injected error (`ndctl inject-error`), a scrub, the
# bad blocks and media errors it shows, `ndctl inject-error --uninject`, and a
# write over the poisoned block (pmem clears poison through CLEAR_ERROR).
# Then error injection at large (K: tools/testing/nvdimm/test/nfit.c
# nfit_test_cmd_ars_error_inject/_inject_clear/_inject_status,
# post_ars_status, nfit_test_cmd_translate_spa; core.c acpi_nfit_uc_error_notify;
# bus.c nvdimm_account_cleared_poison): more offsets and lengths, without
# and with the notification's scrub and with nfit/hw_error_scrub 1; the
# injection status, region and disk bad blocks and `ndctl list -M` after
# each; EIO on reads of poisoned blocks; ndctl's refusals (out of range,
# no count, no such namespace, a bus without error injection) and raw
# ND_CMD_CALL packages nfit_test refuses, which must change nothing;
# `--uninject`; and `ndctl clear-errors`.
. "$(dirname "$0")/../lib.sh"

# le64 N...: the little-endian bytes of each u64 N, in hex (ndioctl --hex).
le64() { # NUMBER...: each as 8 little-endian bytes, in hex (bash: no python start)
	local a i
	for a in "$@"; do
		for i in 0 1 2 3 4 5 6 7; do printf '%02x' $(((a >> (8 * i)) & 255)); done
	done
	echo
}

# inject_more BUS NS DEV (guest): error injection beyond the first block.
inject_more() {
	local bus=$1 ns=$2 dev=$3 res size last ns1 n=${1#ndbus} spa
	res=$(cat /sys/bus/nd/devices/"$ns"/resource)
	size=$(cat /sys/bus/nd/devices/"$ns"/size)
	last=$((size / 512 - 1))
	g_run inject-status-uninjected.json ndctl inject-error --status "$ns"
	# Three blocks without the notification: nothing scrubs, so only the
	# injection status shows them.
	g_run inject-nonotify ndctl inject-error -B 100 -n 3 --no-notify "$ns"
	g_run inject-status-nonotify.json ndctl inject-error --status "$ns"
	snap inject-nonotify
	# Eight blocks at 2 MiB, notified: the scrub finds these and the three.
	g_run inject-2m ndctl inject-error -B 4096 -n 8 "$ns"
	g_wait_scrub
	g_run inject-status-2m.json ndctl inject-error --status "$ns"
	snap inject-2m
	g_run read-bad-2m dd if=/dev/"$dev" of=/dev/null bs=4096 skip=512 count=1 iflag=direct status=none
	g_run read-bad-101 dd if=/dev/"$dev" of=/dev/null bs=512 skip=101 count=1 iflag=direct status=none
	g_run read-good-99 dd if=/dev/"$dev" of=/dev/null bs=512 skip=99 count=1 iflag=direct status=none
	# With nfit/hw_error_scrub 1 the notification asks for a long scrub.
	g_run hw-error-scrub sh -c "echo 1 >/sys/bus/nd/devices/$bus/nfit/hw_error_scrub"
	g_run inject-long ndctl inject-error -B 200 -n 1 "$ns"
	g_wait_scrub
	g_run hw-error-scrub-off sh -c "echo 0 >/sys/bus/nd/devices/$bus/nfit/hw_error_scrub"
	snap inject-long
	# The last block; and one past it, where ndctl stops with EINVAL after
	# injecting the blocks before.
	g_run inject-last ndctl inject-error -B "$last" -n 2 --no-notify "$ns"
	# Refusals, which must change nothing.
	g_run inject-oob ndctl inject-error -B $((last + 1)) -n 1 "$ns"
	g_run inject-count0 ndctl inject-error -B 8 -n 0 "$ns"
	g_run inject-noblock ndctl inject-error -n 1 "$ns"
	g_run inject-status-block ndctl inject-error --status -B 8 "$ns"
	g_run inject-nons ndctl inject-error -B 8 -n 1 namespace9.9
	ns1=$(ndctl list -N -b nfit_test.1 | sed -n 's/.*"dev":"\(namespace[0-9.]*\)".*/\1/p' | head -1)
	echo "$ns1" >"$G_OUT/namespace1.out"
	g_run inject-nofamily ndctl inject-error -B 8 -n 1 "$ns1"
	g_run inject-status-nofamily ndctl inject-error --status "$ns1"
	# Raw packages (family 0): a 20-byte injection, a zero length, a
	# 21-byte un-injection and a zero one, an unknown function; then what
	# nfit_test accepts: reserved words set, nd_command's high bits, a
	# translation inside and one outside every region; and one asking for
	# more than the payload. nfit_test.1 has no ND_CMD_CALL.
	spa=$((res + 8 * 512))
	local b1
	b1=$(g_bus_by_provider nfit_test.1)
	# One python process for all of them (ndioctl.py batch: LABEL ARGS...).
	$NDIOCTL batch <<-EOF >"$G_OUT/raw-calls.out" 2>&1
	inject-20 /dev/ndctl$n call 0 7 16 4 --hex $(le64 "$spa" 256)
	inject-len0 /dev/ndctl$n call 0 7 17 4 --hex $(le64 "$spa" 0)00
	uninject-21 /dev/ndctl$n call 0 8 16 5 --hex $(le64 "$spa" 256)
	uninject-len0 /dev/ndctl$n call 0 8 16 4 --hex $(le64 "$spa" 0)
	func-6 /dev/ndctl$n call 0 6 0 16
	status-reserved /dev/ndctl$n call 0 9 0 4136 --reserved
	status-high-bits /dev/ndctl$n call 0 $(((1 << 32) | 9)) 0 4136
	translate-outside /dev/ndctl$n call 0 5 8 44 --hex $(le64 16 0 44)
	translate /dev/ndctl$n call 0 5 8 44 --hex $(le64 "$spa" 0 44)
	translate-long /dev/ndctl$n call 0 5 8 44 --hex $(le64 "$spa" 0 53)
	# A clear whose cleared field (0xa5... as ndioctl fills it) puts the
	# enabled namespace inside the range: EBUSY, nothing cleared.
	clear-enabled-ns /dev/ndctl$n clear-error $res 4096
	inject-nfit_test.1 /dev/ndctl${b1#ndbus} call 0 7 17 4 --hex $(le64 "$spa" 256)00
	EOF
	g_run inject-status-refused.json ndctl inject-error --status "$ns"
	snap refused
	# Un-injection leaves the kernel's bad blocks; clear-errors clears them
	# (and with them the platform's poison).
	g_run uninject-100 ndctl inject-error --uninject -B 100 -n 3 "$ns"
	g_run inject-status-uninject-100.json ndctl inject-error --status "$ns"
	snap uninject-100
	g_run clear-errors ndctl clear-errors "$ns"
	g_run inject-status-cleared.json ndctl inject-error --status "$ns"
	snap clear-errors
	g_run read-cleared-2m dd if=/dev/"$dev" of=/dev/null bs=4096 skip=512 count=1 iflag=direct status=none
}

if [ "${1:-}" = --guest ]; then
	g_begin "$2"
	g_modprobe nfit_test
	g_wait_scrub
	bus=$(g_bus_by_provider nfit_test.0) || g_fatal "no nfit_test.0 bus"
	snap() { # NAME: scrub counts, region and disk bad blocks, media errors
		local b r d
		for b in /sys/bus/nd/devices/ndbus*; do
			echo "$(cat "$b/provider") $(cat "$b/nfit/scrub" 2>&1)"
		done >"$G_OUT/$1-scrub.out"
		for r in /sys/bus/nd/devices/region*; do
			echo "${r##*/}: $(cat "$r/badblocks" 2>&1 | tr '\n' ' ')"
		done >"$G_OUT/$1-region-bb.out"
		for d in /sys/block/pmem*; do
			[ -e "$d" ] || continue
			echo "${d##*/}: $(cat "$d/badblocks" 2>&1 | tr '\n' ' ')"
		done >"$G_OUT/$1-pmem-bb.out"
		g_run "$1-list-RNiM.json" ndctl list -RNiM -b nfit_test.0
	}
	snap init
	g_run rescan sh -c "echo 1 >/sys/bus/nd/devices/$bus/nfit/scrub"
	g_run rescan-einval sh -c "echo 2 >/sys/bus/nd/devices/$bus/nfit/scrub"
	g_run rescan-junk sh -c "echo x >/sys/bus/nd/devices/$bus/nfit/scrub"
	g_wait_scrub
	snap rescan
	g_run start-scrub ndctl start-scrub nfit_test.0
	g_run wait-scrub ndctl wait-scrub nfit_test.0
	g_wait_scrub
	snap start-scrub
	ns=$(ndctl list -N -b nfit_test.0 | sed -n 's/.*"dev":"\(namespace[0-9.]*\)".*/\1/p' | head -1)
	echo "$ns" >"$G_OUT/namespace.out"
	if [ -n "$ns" ]; then
		g_run inject ndctl inject-error -B 8 -n 1 "$ns"
		g_wait_scrub
		g_run inject-status.json ndctl inject-error --status "$ns"
		snap inject
		g_run start-scrub2 ndctl start-scrub nfit_test.0
		g_run wait-scrub2 ndctl wait-scrub nfit_test.0
		g_wait_scrub
		snap injected-scrub
		dev=$(ndctl list -n "$ns" | sed -n 's/.*"blockdev":"\([^"]*\)".*/\1/p')
		if [ -n "$dev" ]; then
			g_run read-bad dd if=/dev/"$dev" of=/dev/null bs=512 skip=8 count=1 iflag=direct status=none
			g_run write-bad dd if=/dev/zero of=/dev/"$dev" bs=512 seek=8 count=1 oflag=direct status=none
			snap cleared
		fi
		g_run uninject ndctl inject-error --uninject -B 8 -n 1 "$ns"
		inject_more "$bus" "$ns" "$dev"
	fi
	g_end
	exit 0
fi

t_init ars-badblocks
t_nfit_test
t_guest ref || t_done
t_check_dmesg ref
if t_guest cand; then
	t_check_dmesg cand
	t_cmp_sides
fi
t_done
