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
. "$(dirname "$0")/../lib.sh"

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
	fi
	g_end
	exit 0
fi

t_init ars-badblocks
# nfit_test's error injection (NFIT_CMD_ARS_INJECT_*) is not emulated by the
# Rust nfit_test yet, so scrubs there find nothing to report.
for f in 'inject*' 'injected-scrub*' 'cleared*' 'read-bad*' 'write-bad*' 'uninject*'; do
	t_pending_file "$f" "nfit_test ARS error injection (NFIT_CMD_ARS_INJECT_SET/CLEAR/GET)"
done
# ndctl start-/wait-scrub print the bus, firmware activation included.
for f in 'start-scrub*.out' 'wait-scrub*.out'; do
	t_pending_lines "$f" '"activate_(method|state)"' "$RUST_PENDING_FIRMWARE"
done
t_guest ref || t_done
t_check_dmesg ref
if t_guest cand; then
	t_check_dmesg cand
	t_cmp_sides
fi
t_done
