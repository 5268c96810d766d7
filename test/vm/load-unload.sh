#!/bin/bash
# load-unload: `modprobe nfit_test`, then unload everything it pulled in (what lsmod
# shows: nfit_test nfit libnvdimm on our stack, plus nd_pmem, dax_pmem, ... on the
# C stack), 4 times in one boot (50 with `make torture`:
# RLN_TORTURE=full; RLN_LOAD_UNLOAD_ROUNDS sets it), booted with kmemleak=on. On each stack every
# load and unload must succeed, no module may stay behind, and dmesg must have no
# WARN/BUG/Oops lines. Then kmemleak is scanned: the candidate must not leak more
# objects of any size than the C stack does (C nfit_test itself leaks one 32-byte
# object per load, so "no leak at all" would fail C).
. "$(dirname "$0")/../lib.sh"
# A round takes 10 to 14 s under TCG (more on a loaded machine): 50 rounds
# were a third of make check's VM time, and 10 still 240 s of it. A leak per
# round shows in any number of rounds (4 objects more than C's here), so
# make check runs 4; the many-round run is make torture's.
if [ "${RLN_TORTURE:-sample}" = full ]; then
	ROUNDS=${RLN_LOAD_UNLOAD_ROUNDS:-50}
else
	ROUNDS=${RLN_LOAD_UNLOAD_ROUNDS:-4}
fi

if [ "${1:-}" = --guest ]; then
	g_begin "$2"
	rounds=$3
	for i in $(seq 1 "$rounds"); do
		out=$(modprobe nfit_test 2>&1) ||
			g_fatal "round $i: modprobe nfit_test failed: $(echo "$out" | grep -v -e 'No TPM handle' -e 'nvdimm-master.blob' | tr '\n' ' ')"
		udevadm settle -t 60
		[ "$i" = 1 ] && g_check_modules && cp modules.txt loaded.txt
		g_unload_all ||
			g_fatal "round $i: modules stay loaded: $(lsmod | awk 'NR>1{print $1 "(" $3 ")"}' | tr '\n' ' ')"
		echo "$i" >rounds.out
	done
	lsmod | awk 'NR>1{print $1}' >left.txt
	# kmemleak only reports objects older than 5 s; scan twice to settle.
	if [ -e /sys/kernel/debug/kmemleak ]; then
		sleep 6
		echo scan >/sys/kernel/debug/kmemleak
		echo scan >/sys/kernel/debug/kmemleak
		cat /sys/kernel/debug/kmemleak >kmemleak.txt
	else
		echo "no /sys/kernel/debug/kmemleak (kernel without kmemleak, or not booted with kmemleak=on)" >kmemleak.txt
	fi
	g_end
	exit 0
fi

t_init load-unload
t_nfit_test
for side in ref cand; do
	t_guest "$side" --append kmemleak=on -- "$ROUNDS" || continue
	stack=$(t_stack "$side")
	[ "$(cat "$T_DIR/$side/rounds.out")" = "$ROUNDS" ] ||
		t_fail "$side ($stack): only $(cat "$T_DIR/$side/rounds.out") of $ROUNDS rounds"
	[ -s "$T_DIR/$side/left.txt" ] &&
		t_fail "$side ($stack): modules still loaded at the end: $(tr '\n' ' ' <"$T_DIR/$side/left.txt")"
	t_check_dmesg "$side"
	echo "   $side ($stack): loaded $(tr '\n' ' ' <"$T_DIR/$side/loaded.txt")"
done
[ -e "$T_DIR/cand/done" ] && [ -e "$T_DIR/ref/done" ] && t_cmp_kmemleak
t_done
