# Helpers shared by the VM tests (test/vm/*.sh). Sourced on the host and, via the
# host filesystem virtme-ng shares, inside the guest.
#
# A VM test is one file that plays two parts:
#   host:  bash test/vm/NAME.sh          boots each stack, compares the results
#   guest: bash test/vm/NAME.sh --guest OUTDIR ARGS...   (run by t_guest in a VM)
# The guest part writes its results as files under OUTDIR (build/vm/NAME/SIDE,
# writable from inside the VM); the host part compares SIDE=ref (always the C
# stack) with SIDE=cand (the stack under test).
#
# Environment knobs (host side):
#   RLN_TEST_CANDIDATE=STACK   stack under test: rust (default), or ref = the test's
#                              own reference stack (C-vs-C sanity: must pass), or
#                              any other vm-run stack (c, c-intree)
#   RLN_TEST_TAMPER=GLOB       honesty check: after the candidate's boot, corrupt
#                              its result files whose name matches GLOB ("all" =
#                              every file); the test must then FAIL

RLN_TOP=${RLN_TOP:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
RLN_CACHE=${RLN_CACHE:-$HOME/.cache/rust-libnvdimm}
. "$RLN_TOP/scripts/lock.sh"
NDIOCTL="python3 $RLN_TOP/test/tools/ndioctl.py"
# A memory failure declared in one mapped page (fsdax-fs, devdax-qemu).
HWPOISON="python3 $RLN_TOP/test/tools/hwpoison.py"
# Lines of dmesg that mean the kernel is unhappy.
T_DMESG_BAD='WARNING:|BUG:|BUG |Oops|general protection|Call Trace|kernel BUG|leak|UBSAN|KASAN|refcount_t:|list_add corruption|list_del corruption|use-after-free|double free|RIP:|Kernel panic|unreferenced object|hung_task|blocked for more than|soft lockup|rcu: INFO|detected stall|self-detected stall|possible circular locking|possible recursive locking|inconsistent lock state|suspicious RCU usage|sleeping function called from invalid context|ODEBUG'
# The line g_begin writes to the kernel log once the boot's own modules are
# gone, right before the stack under test loads. What the log says before it
# is the boot's (t_check_dmesg).
T_STACK_MARK='rln-test: the stack under test loads from here'

# ============================================================ host side

# t_init NAME [REF_STACK]: start a test. Sets T_NAME, T_DIR, T_FAILS and the stacks
# T_REF (default c: Linux's C modules + C nfit_test, i.e. the tools/testing/nvdimm
# test build; QEMU-NVDIMM-only tests pass c-intree, the C modules as shipped, since
# the test build of nfit fakes some firmware answers) and T_CAND.
t_init() {
	T_NAME=$1
	T_DIR=$RLN_TOP/build/vm/$T_NAME
	T_REF=${2:-c}
	T_CAND=${RLN_TEST_CANDIDATE:-rust}
	[ "$T_CAND" = ref ] && T_CAND=$T_REF
	T_FAILS=0 T_SKIPS=0
	T_PENDING=()
	T_VM_OPTS=()
	T_CPUS=${RLN_TEST_CPUS:-1}
	T_SELF=$(readlink -f "${BASH_SOURCE[1]}")
	mkdir -p "$T_DIR"
	# Outside test/run-all, the test accounts its own lock waits.
	if [ -z "${RLN_WAIT_FILE:-}" ]; then
		export RLN_WAIT_FILE=$T_DIR.wait
		rm -f "$RLN_WAIT_FILE" "$RLN_WAIT_FILE.now"
	fi
	T_BOOT_TROUBLE=()
	# Two runs of one test would overwrite each other's results: take turns.
	exec 8>"$T_DIR.lock"
	rln_flock 8 "another run of $T_NAME to finish" 2>&1
	rm -rf "$T_DIR"/ref* "$T_DIR"/cand*
	echo "== $T_NAME: reference stack=$T_REF, candidate stack=$T_CAND"
}

# What the Rust stack does not implement yet. Checks that need it are reported
# as SKIP on the Rust stack (never on C) and run again once the entry goes.
RUST_PENDING_SECURITY="security management (writes to nmemN/security)"
RUST_PENDING_NSMGMT="namespace management: create/destroy-namespace and writable namespace attributes (issue 4)"

# t_pending_file GLOB REASON: skip comparing result files matching GLOB on the
# Rust stack. t_pending_lines GLOB REGEX REASON: drop the lines matching REGEX
# from both sides of files matching GLOB before comparing them. An entry is
# GLOB, REGEX (empty for a whole file) and REASON joined by T_SEP (regexes use |).
T_SEP=$'\x1f'
t_pending_file() { [ "$T_CAND" = rust ] && T_PENDING+=("$1$T_SEP$T_SEP$2"); return 0; }
t_pending_lines() { [ "$T_CAND" = rust ] && T_PENDING+=("$1$T_SEP$2$T_SEP$3"); return 0; }

# t_pending_skip NAME: for a check that is not a file comparison (a host-side
# verdict on the candidate's results): if a pending entry's glob matches NAME,
# report the skip and return 0; otherwise return 1 and the check runs.
t_pending_skip() {
	local p
	p=$(t_pending_match "$1" | head -n 1)
	[ -n "$p" ] || return 1
	echo "   SKIP $1 (pending on $T_CAND: ${p##*"$T_SEP"})"
	T_SKIPS=$((T_SKIPS + 1))
}

# t_pending_match REL: the pending entries that apply to result file REL.
t_pending_match() {
	local e glob
	for e in "${T_PENDING[@]}"; do
		glob=${e%%"$T_SEP"*}
		# shellcheck disable=SC2053
		[[ $1 == $glob || ${1##*/} == $glob ]] && echo "$e"
	done
}

# t_smp: this test needs the guest's two vCPUs (I/O or work on both CPUs at
# once: fio jobs, BTT lanes). Every other test boots one vCPU
# (RLN_TEST_CPUS, default 1, sets their number): a TCG guest with two vCPUs
# costs the host nearly twice the CPU for the same serial work
# (Documentation/testing.md, "One vCPU or two"). A single boot that needs two
# passes `--cpus 2` to t_guest, whose own options come after T_CPUS's and win.
t_smp() { T_CPUS=2; }

# t_nfit_test: this test loads nfit_test: every boot of either stack reserves
# the physical memory our nfit_test backs its ranges with (vm-run --nfit-test;
# Documentation/testing.md, "nfit_test's memory"), so both run the same VM.
t_nfit_test() { T_VM_OPTS+=(--nfit-test); }

# t_stack SIDE: the stack a side boots: sides named ref* boot T_REF (a test may
# change T_REF between boots), all others T_CAND.
t_stack() { case "$1" in ref*) echo "$T_REF" ;; *) echo "$T_CAND" ;; esac; }

# t_fail MSG...: record a failure and say why.
t_fail() {
	T_FAILS=$((T_FAILS + 1))
	echo "FAIL: $*"
}

# t_guest SIDE [vm-run options...] [-- GUEST_ARGS...]: boot SIDE's stack and run this
# test's guest part with OUTDIR=$T_DIR/SIDE (wiped first). VM console output goes to
# $T_DIR/SIDE.vm.log. Returns 0 if the guest part ran to the end (the file `done`
# exists); otherwise prints why and returns 1.
t_guest() {
	local side=$1 out stack rc=0 opts=() start waited0 waited note=
	shift
	while [ $# -gt 0 ] && [ "$1" != -- ]; do opts+=("$1"); shift; done
	[ $# -gt 0 ] && shift
	out=$T_DIR/$side
	stack=$(t_stack "$side")
	rm -rf "$out"
	mkdir -p "$out"
	start=$SECONDS
	waited0=$(t_waited)
	# vm-run waits for a VM slot (scripts/lock.sh), which this test's time
	# does not count. The kernel console goes to the log too, so a guest
	# crash shows its oops in the failure report.
	RLN_VM_VERBOSE=1 "$RLN_TOP/test/vm-run" --stack "$stack" --cpus "$T_CPUS" "${T_VM_OPTS[@]}" "${opts[@]}" -- \
		env RLN_GUEST_STACK="$stack" RLN_FLAVOUR="${RLN_FLAVOUR:-normal}" bash "$T_SELF" --guest "$out" "$@" \
		>"$T_DIR/$side.vm.log" 2>&1 || rc=$?
	waited=$(($(t_waited) - waited0))
	[ "$waited" -gt 0 ] && note=" (and ${waited}s waiting for a VM slot)"
	echo "   $side ($stack): guest exit $rc after $((SECONDS - start - waited))s$note"
	case "$side" in cand*) [ -z "${RLN_TEST_TAMPER:-}" ] || t_tamper "$out" ;; esac
	if [ -s "$out/FATAL" ]; then
		t_fail "$side ($stack): $(cat "$out/FATAL")"
		return 1
	fi
	if [ ! -e "$out/done" ]; then
		t_fail "$side ($stack): the guest part did not finish (exit $rc); last lines of $T_DIR/$side.vm.log:"
		tail -n 15 "$T_DIR/$side.vm.log" | sed 's/^/     | /'
		return 1
	fi
	return 0
}

# t_waited: seconds this test has waited for locks so far (0 outside run-all).
t_waited() {
	if [ -n "${RLN_WAIT_FILE:-}" ]; then rln_waited "$RLN_WAIT_FILE"; else echo 0; fi
}

# t_tamper DIR: the honesty check of RLN_TEST_TAMPER; corrupts matching result files.
t_tamper() {
	local f base pat=${RLN_TEST_TAMPER}
	[ "$pat" = 1 ] || [ "$pat" = all ] && pat='*'
	while IFS= read -r -d '' f; do
		base=${f##*/}
		# shellcheck disable=SC2254
		case "$base" in done|FATAL|modules.txt) continue ;; $pat) ;; *) continue ;; esac
		case "$base" in
		dmesg.txt) echo "[   99.999999] WARNING: CPU: 0 PID: 1 at tampered" >>"$f" ;;
		kmemleak.txt) echo "unreferenced object 0xff11000000000000 (size 64):" >>"$f" ;;
		*.bin) python3 - "$f" <<-'EOF'
			import sys
			p = sys.argv[1]
			d = bytearray(open(p, 'rb').read())
			if d:
			    d[len(d) // 2] ^= 0xff
			else:
			    d = bytearray(b'\x01')
			open(p, 'wb').write(d)
		EOF
		;;
		*) if grep -q '[0-9]' "$f"; then
			perl -0pi -e 's/(\d)/($1+1)%10/e' "$f"
		else
			echo tampered >>"$f"
		fi ;;
		esac
		echo "   tamper: corrupted cand/$base"
	done < <(find "$1" -type f -print0)
}

# t_norm_json FILE: canonical JSON for comparison: keys sorted, every array of
# objects that all have "dev" sorted by dev. Non-JSON input is passed through.
t_norm_json() {
	jq -S 'walk(if type == "array" and length > 0 and all(.[]; type == "object" and has("dev"))
		then sort_by(.dev) else . end)' "$1" 2>/dev/null || cat "$1"
}

# t_cmp_json A B LABEL: compare two `ndctl list`-style JSON files ordering aside.
t_cmp_json() {
	local a=$1 b=$2 label=$3
	if [ ! -e "$a" ] || [ ! -e "$b" ]; then
		t_fail "$label: missing $([ -e "$a" ] || echo "$a ")$([ -e "$b" ] || echo "$b")"
		return 1
	fi
	if ! diff -u --label "$label ($T_REF)" --label "$label ($T_CAND)" \
		<(t_norm_json "$a") <(t_norm_json "$b") >"$T_DIR/diff.tmp"; then
		t_fail "$label differs:"
		head -n 60 "$T_DIR/diff.tmp" | sed 's/^/     /'
		return 1
	fi
}

# t_cmp_text A B LABEL: exact comparison of two text files, less the lines
# that pending entries drop (each drop is reported). An entry applies when its
# glob matches LABEL or the candidate file's name: callers that compare two
# steps label the pair ("a.out (ref) vs b.out (cand)").
t_cmp_text() {
	local a=$1 b=$2 label=$3 e rest regex reason drop=
	if [ ! -e "$a" ] || [ ! -e "$b" ]; then
		t_fail "$label: missing $([ -e "$a" ] || echo "$a ")$([ -e "$b" ] || echo "$b")"
		return 1
	fi
	while IFS= read -r e; do
		rest=${e#*"$T_SEP"} regex=${rest%%"$T_SEP"*} reason=${rest#*"$T_SEP"}
		[ -n "$regex" ] || continue
		drop="${drop:+$drop|}$regex"
		echo "   SKIP lines /$regex/ of $label (pending on $T_CAND: $reason)"
		T_SKIPS=$((T_SKIPS + 1))
	done < <({ t_pending_match "$label"; t_pending_match "${b##*/}"; } | sort -u)
	if ! diff -u --label "$label ($T_REF)" --label "$label ($T_CAND)" \
		<(grep -v -E "${drop:-^\b\B$}" "$a") <(grep -v -E "${drop:-^\b\B$}" "$b") >"$T_DIR/diff.tmp"; then
		t_fail "$label differs:"
		head -n 60 "$T_DIR/diff.tmp" | sed 's/^/     /'
		return 1
	fi
}

# t_cmp_bin A B LABEL: byte-exact comparison; on mismatch print sizes and the
# first differing bytes (offset: reference candidate, octal as cmp prints them).
t_cmp_bin() {
	local a=$1 b=$2 label=$3 n
	if [ ! -e "$a" ] || [ ! -e "$b" ]; then
		t_fail "$label: missing $([ -e "$a" ] || echo "$a ")$([ -e "$b" ] || echo "$b")"
		return 1
	fi
	if ! cmp -s "$a" "$b"; then
		n=$(cmp -l "$a" "$b" 2>/dev/null | wc -l)
		t_fail "$label differs: sizes $(stat -c %s "$a") vs $(stat -c %s "$b"), $n bytes differ; first (offset ref cand, octal):"
		cmp -l "$a" "$b" 2>&1 | head -n 8 | sed 's/^/     /'
		return 1
	fi
}

# t_cmp_file A B LABEL: dispatch on the file name.
t_cmp_file() {
	case "$1" in
	*.json) t_cmp_json "$@" ;;
	*.bin) t_cmp_bin "$@" ;;
	*) t_cmp_text "$@" ;;
	esac
}

# t_cmp_sides [DIR_A DIR_B]: compare every result file of ref with cand (default
# $T_DIR/ref and $T_DIR/cand), both ways round so a file only one side made counts.
# Skips the per-boot files dmesg.txt, modules.txt, kmemleak.txt, done.
t_cmp_sides() {
	local a=${1:-$T_DIR/ref} b=${2:-$T_DIR/cand} rel pre=
	[ $# -gt 0 ] && pre="${b##*/}/"
	while IFS= read -r rel; do
		case "${rel##*/}" in dmesg.txt|modules.txt|kmemleak.txt|done|FATAL) continue ;; esac
		local p
		p=$(t_pending_match "$rel" | grep -m1 "^[^$T_SEP]*$T_SEP$T_SEP") || true
		if [ -n "$p" ]; then
			echo "   SKIP $pre$rel (pending on $T_CAND: ${p#*"$T_SEP$T_SEP"})"
			T_SKIPS=$((T_SKIPS + 1))
			continue
		fi
		if [ ! -e "$a/$rel" ]; then
			t_fail "$pre$rel: only the $T_CAND stack produced it"
		elif [ ! -e "$b/$rel" ]; then
			t_fail "$pre$rel: the $T_CAND stack did not produce it"
		else
			t_cmp_file "$a/$rel" "$b/$rel" "$pre$rel"
		fi
	done < <( (cd "$a" && find . -type f; cd "$b" && find . -type f) | sed 's|^\./||' | sort -u)
}

# t_dmesg_bad FILE: print the lines of a dmesg dump that mean trouble. kmemleak's
# own summary line is left to t_cmp_kmemleak, which knows what C leaks too.
t_dmesg_bad() {
	grep -E "$T_DMESG_BAD" "$1" 2>/dev/null |
		grep -v -E 'Command line|command line|kmemleak: (Kernel memory leak detector (disabled|initialized)|[0-9]+ new suspected memory leaks)' || true
}

# t_check_dmesg SIDE: judge SIDE's kernel log (dmesg.txt) by where its trouble
# lines come from (T_DMESG_BAD; Documentation/testing.md, "Kernel log"):
# - after T_STACK_MARK, once the stack under test loads: a failure, on
#   either stack; except on the debug kernel, where what a boot of the C
#   stack shows is the C stack's own finding, recorded (t_debug_findings);
# - before the mark, while the kernel boots and before any module of the
#   stack is loaded: not the stack's doing. The test goes on, and t_done asks
#   test/run-all to run it again on fresh boots (exit 75); twice in a row
#   fails it as "host too slow". On the debug kernel, whose checkers find
#   the same in the kernel itself at every boot, it is recorded instead.
# A log without the mark (the guest gave up before g_begin was done) is judged
# whole as after it.
t_check_dmesg() {
	local side=$1 f=$T_DIR/$1/dmesg.txt bad pre stack
	stack=$(t_stack "$side")
	# Debug flavour: the C stack's findings are recorded, not failed (t_debug_findings).
	t_debug_findings "$side" && return 0
	if [ ! -e "$f" ]; then
		t_fail "$side ($stack): no dmesg.txt"
		return 1
	fi
	if grep -qF "$T_STACK_MARK" "$f"; then
		pre=$(awk -v m="$T_STACK_MARK" 'index($0, m) {exit} {print}' "$f" | t_dmesg_bad /dev/stdin)
		bad=$(awk -v m="$T_STACK_MARK" 'p {print} index($0, m) {p = 1}' "$f" | t_dmesg_bad /dev/stdin)
	else
		pre= bad=$(t_dmesg_bad "$f")
	fi
	if [ -n "$pre" ] && [ "${RLN_FLAVOUR:-normal}" = debug ]; then
		# The debug kernel's checkers report what they find in the
		# kernel itself at every boot alike: recorded, and no second run.
		echo "   NOTE $side ($stack): the kernel's own findings while booting, before the stack under test loaded (debug kernel; recorded, not failed):"
		echo "$pre" | head -n 12 | sed 's/^/     /'
		mkdir -p "$RLN_TOP/build/test-logs"
		{ echo "== $T_NAME $side ($stack), before the stack loaded: $f"; echo "$pre"; } >>"$RLN_TOP/build/test-logs/c-findings.txt"
	elif [ -n "$pre" ]; then
		echo "   NOTE $side ($stack): kernel trouble while booting, before the stack under test loaded (not the stack's; the test will be run again):"
		echo "$pre" | head -n 12 | sed 's/^/     /'
		T_BOOT_TROUBLE+=("$side: $(echo "$pre" | head -n 1)")
	fi
	[ -n "$bad" ] || return 0
	t_fail "$side ($stack): kernel log has WARN/BUG/Oops/leak lines after the stack loaded:"
	echo "$bad" | head -n 20 | sed 's/^/     /'
	return 1
}

# t_debug_findings SIDE: on the debug kernel (RLN_FLAVOUR=debug), say what the
# checkers found in SIDE's boot. A boot of a C stack (c, c-intree) has its
# findings recorded (printed, and appended to build/test-logs/c-findings.txt)
# and returns 0: the caller then does not fail them, they are not ours to fix.
# On any other stack, a kmemleak report (kmemleak.txt, saved by g_end) with a
# frame in a module (named, or an address no kernel symbol covers, i.e. an
# unloaded module) fails the test; then it returns 1 and the caller's own
# dmesg checks run. Outside the debug flavour it only returns 1.
t_debug_findings() {
	local side=$1 stack bad leaks=
	[ "${RLN_FLAVOUR:-normal}" = debug ] || return 1
	stack=$(t_stack "$side")
	[ -e "$T_DIR/$side/kmemleak.txt" ] && leaks=$(t_kmemleak_modules "$T_DIR/$side/kmemleak.txt")
	case "$stack" in
	c|c-intree)
		bad=$(t_dmesg_bad "$T_DIR/$side/dmesg.txt")
		[ -n "$bad$leaks" ] || return 0
		echo "   NOTE: $side ($stack): the C stack's own findings (debug kernel; recorded, not failed):"
		{ echo "$bad"; echo "$leaks"; } | grep -v '^$' | head -n 20 | sed 's/^/     /'
		mkdir -p "$RLN_TOP/build/test-logs"
		{
			echo "== $T_NAME $side ($stack): $T_DIR/$side/dmesg.txt"
			{ echo "$bad"; echo "$leaks"; } | grep -v '^$'
		} >>"$RLN_TOP/build/test-logs/c-findings.txt"
		return 0 ;;
	esac
	if [ -n "$leaks" ]; then
		t_fail "$side ($stack): kmemleak reports objects our modules allocated:"
		echo "$leaks" | head -n 20 | sed 's/^/     /'
	fi
	return 1
}

# t_kmemleak_modules FILE: the reports of a kmemleak dump with a module frame:
# per object its first line and the module frames.
t_kmemleak_modules() {
	awk '/^unreferenced object/ {obj = $0; shown = 0; next}
		obj != "" && (/^    [^ ]+ \[[A-Za-z0-9_]+\]$/ || /^    0x[0-9a-f]+$/) {
			if (!shown) print obj; shown = 1; print "  " $0 }' "$1"
}

# t_kmemleak_sizes FILE: "COUNT size N" per object size of a kmemleak report.
t_kmemleak_sizes() {
	sed -n 's/^unreferenced object .* (size \([0-9]*\)):$/\1/p' "$1" | sort -n | uniq -c |
		awk '{print $1, "x size", $2}'
}

# t_cmp_kmemleak: fail if the candidate's kmemleak.txt reports more unreferenced
# objects of some size than the reference's does (the C stack is not leak free:
# C nfit_test leaks one 32-byte object per load). Needs both boots run with
# kmemleak=on and the guest to save /sys/kernel/debug/kmemleak as kmemleak.txt.
t_cmp_kmemleak() {
	local r=$T_DIR/ref/kmemleak.txt c=$T_DIR/cand/kmemleak.txt more
	[ -e "$r" ] && [ -e "$c" ] || { t_fail "kmemleak.txt missing"; return 1; }
	more=$(awk 'FNR == 1 {side++} {n[side, $4] = $1; sizes[$4] = 1}
		END {for (s in sizes) if (n[2, s] + 0 > n[1, s] + 0)
			print "size " s ": " n[1, s] + 0 " on C, " n[2, s] + 0 " on cand"}' \
		<(t_kmemleak_sizes "$r") <(t_kmemleak_sizes "$c"))
	echo "   kmemleak C: $(t_kmemleak_sizes "$r" | tr '\n' ' ')"
	echo "   kmemleak $T_CAND: $(t_kmemleak_sizes "$c" | tr '\n' ' ')"
	if [ -n "$more" ]; then
		t_fail "the $T_CAND stack leaks more than C (kmemleak): $(echo "$more" | tr '\n' ';')"
		grep -m1 -A 18 '^unreferenced object' "$c" | sed 's/^/     /'
		return 1
	fi
}

# t_done: print the verdict, exit 0 on pass. Kernel trouble before the stack
# loaded (t_check_dmesg) makes the verdict "run again": exit 75, which
# test/run-all answers with one more run on fresh boots.
T_EXIT_AGAIN=75
t_done() {
	if [ ${#T_BOOT_TROUBLE[@]} -gt 0 ]; then
		echo "AGAIN: $T_NAME: the kernel had trouble while booting, before the stack under test loaded (${T_BOOT_TROUBLE[0]}); $T_FAILS other check(s) failed; the verdict needs fresh boots"
		exit $T_EXIT_AGAIN
	fi
	if [ "$T_FAILS" = 0 ]; then
		local skipped=
		[ "$T_SKIPS" -gt 0 ] && skipped="; $T_SKIPS pending check(s) skipped"
		echo "PASS: $T_NAME (candidate $T_CAND matches the C stack$skipped)"
		exit 0
	fi
	echo "FAIL: $T_NAME: $T_FAILS check(s) failed (results in $T_DIR)"
	exit 1
}

# ============================================================ guest side

# g_begin OUTDIR: start the guest part. Leaves no module loaded: virtme's udev
# coldplug loads the in-tree C nfit/libnvdimm for a QEMU NVDIMM before vm-run's
# bind mount swaps in the stack under test, so they must go before anything runs.
g_begin() {
	g_fast_python
	mkdir -p "$1" || exit 1
	G_OUT=$(cd "$1" && pwd)
	cd "$G_OUT" || exit 1
	udevadm settle -t 30 2>/dev/null
	g_unload_all || g_fatal "could not unload the modules loaded at boot: $(lsmod | awk 'NR>1{print $1}' | tr '\n' ' ')"
	echo "$T_STACK_MARK" >/dev/kmsg
}

# g_fast_python: in the guest, python3 runs without the site module (-S):
# the tools under test/tools need only the standard library, and site's
# walk of the dist-packages directories and their .pth files (one imports
# certifi at every start on these machines) goes over 9p. Measured
# 2026-12-05 in a TCG guest, 8 starts each with the host at load 6: 1,344 ms
# per start with site, 825 ms without. A wrapper first in PATH, so that every way of starting
# python3 (variables, exec, coproc, timeout) gets it.
g_fast_python() {
	local py
	py=$(command -v python3) || return 0
	[ "$py" = /tmp/rln-py/python3 ] && return 0
	mkdir -p /tmp/rln-py || return 0
	printf '#!/bin/sh\nexec %s -S "$@"\n' "$py" >/tmp/rln-py/python3 && chmod +x /tmp/rln-py/python3 || return 0
	PATH=/tmp/rln-py:$PATH
	hash -r
}

# g_fatal MSG: give up; the host prints MSG as the reason.
g_fatal() {
	echo "$*" >"$G_OUT/FATAL"
	dmesg >"$G_OUT/dmesg.txt" 2>/dev/null
	exit 1
}

# g_modprobe MODULE...: load modules, check each loaded module is an out-of-tree
# build (taint O: the C stack's updates/ or our extra/), or give up with the reason.
g_modprobe() {
	local m out
	for m in "$@"; do
		out=$(modprobe "$m" 2>&1) || g_fatal "modprobe $m failed: $(echo "$out" | grep -v -e 'No TPM handle' -e 'nvdimm-master.blob' | tr '\n' ' ')"
	done
	udevadm settle -t 60 2>/dev/null
	g_check_modules
}

# g_check_modules: every loaded module must come from the stack under test
# (RLN_GUEST_STACK, set by t_guest): out of tree (taint O: the C test build under
# updates/, or our extra/) for c and rust, in tree (no O) for c-intree.
g_check_modules() {
	local m
	lsmod | awk 'NR>1{print $1}' | sort >"$G_OUT/modules.txt"
	while read -r m; do
		# The kernel's own dax bus driver for system-ram, which udev loads
		# for every dax device (alias dax:t0*, as device_dax's): in tree on
		# every stack (test/vm-run stages it for ours).
		[ "$m" = kmem ] && continue
		if [ "${RLN_GUEST_STACK:-}" = c-intree ]; then
			! grep -q O "/sys/module/$m/taint" 2>/dev/null ||
				g_fatal "module $m is an out-of-tree build, not Linux's as shipped ($(modinfo -n "$m" 2>&1))"
		else
			grep -q O "/sys/module/$m/taint" 2>/dev/null ||
				g_fatal "module $m is an in-tree build, not the stack under test ($(modinfo -n "$m" 2>&1))"
		fi
	done <"$G_OUT/modules.txt"
}

# g_unload_all: unload every loaded module, leaves first. Returns 1 if some stay.
g_unload_all() {
	local pass m progress
	for pass in $(seq 1 20); do
		progress=0
		for m in $(lsmod | awk 'NR>1 && $3 == 0 {print $1}'); do
			rmmod "$m" 2>/dev/null && progress=1
		done
		[ "$(lsmod | wc -l)" -le 1 ] && return 0
		# Enabled regions pin their bus provider module (K: to_bus_provider).
		for m in /sys/bus/nd/drivers/*/region*; do
			[ -e "$m" ] && echo "${m##*/}" >"${m%/*}/unbind" 2>/dev/null && progress=1
		done
		[ $progress = 1 ] || udevadm settle -t 10 2>/dev/null || sleep 1
	done
	return 1
}

# g_wait_scrub: wait (at most 120 s) until no bus has an address range scrub in
# flight, so "scrub_state" does not depend on timing.
g_wait_scrub() {
	local i f busy
	ndctl wait-scrub >/dev/null 2>&1
	for i in $(seq 1 240); do
		busy=0
		for f in /sys/class/nd/ndctl*/device/nfit/scrub; do
			[ -e "$f" ] || continue
			case "$(cat "$f" 2>/dev/null)" in *+*) busy=1 ;; esac
		done
		[ $busy = 0 ] && break
		sleep 0.5
	done
	udevadm settle -t 30 2>/dev/null
}

# g_run NAME CMD...: run CMD, keep NAME.out (stdout; NAME.json if NAME ends in .json),
# NAME.err (stderr) and NAME.rc (exit status). Returns CMD's status.
g_run() {
	local name=$1 rc=0 out
	shift
	case "$name" in *.json) out=$name ;; *) out=$name.out ;; esac
	"$@" >"$G_OUT/$out" 2>"$G_OUT/${name%.json}.err" || rc=$?
	echo "$rc" >"$G_OUT/${name%.json}.rc"
	return "$rc"
}

# g_run_v NAME NDCTL_CMD...: g_run for an ndctl DIMM command with -v added (debug
# log: each ioctl's status and errno, "do_cmd: ... status: -5 ... (Input/output
# error)"), minus libndctl's sysfs-walk chatter, which the list tests cover, and
# the timing-dependent "ndctl_bus_wait_probe: waited N milliseconds" lines.
g_run_v() {
	local name=$1 rc=0 l kept=
	local err=$G_OUT/${name%.json}.err
	local drop='libndctl: (__sysfs_device_parse|__sysfs_read_attr|parse_dimm_flags|parse_nfit_mem_flags|__util_modalias_to_module|add_dimm|add_bus|add_region|ndctl_new|ndctl_bus_wait_probe):'
	shift
	g_run "$name" "$1" "$2" -v "${@:3}" || rc=$?
	# grep -v -E "$drop" in the shell: a fork costs a tenth of a second under TCG.
	while IFS= read -r l || [ -n "$l" ]; do
		[[ $l =~ $drop ]] || kept+=$l$'\n'
	done <"$err"
	printf '%s' "$kept" >"$err"
	return "$rc"
}

# g_bus_by_provider PROVIDER: the ndbusN of the bus with that provider.
g_bus_by_provider() {
	local c
	for c in /sys/class/nd/ndctl*; do
		[ "$(cat "$c/device/provider" 2>/dev/null)" = "$1" ] && basename "$(readlink -f "$c/device")" && return 0
	done
	return 1
}

# g_dimm_by_handle BUS HANDLE: the nmemN on BUS whose nfit/handle is HANDLE.
g_dimm_by_handle() {
	local d
	for d in /sys/bus/nd/devices/"$1"/nmem*; do
		[ -e "$d/nfit/handle" ] || continue
		[ $(($(cat "$d/nfit/handle"))) = $(($2)) ] && basename "$d" && return 0
	done
	return 1
}

# g_nd_dump PREFIX: what sysfs shows of regions, namespaces and pmem disks, as
# PREFIX-regions.out, PREFIX-devices.out and PREFIX-block.out (test/tools/ndsysfs.py
# says what is in them and the little it normalises).
g_nd_dump() {
	udevadm settle -t 30 2>/dev/null
	g_nds dump "$G_OUT/$1" || g_fatal "ndsysfs.py dump $1 failed"
}

# g_nds CMD ARG...: one command of `ndsysfs.py serve` (dump, dump_btts, dump_pfns,
# mask_uuids, attrs; `writes FILE` and `writes_nl FILE` take their lines on stdin), run by one python
# for the whole guest part, started on first use: a python start costs seconds
# in a TCG guest. Fails, with the server's answer on stderr, unless it answers
# ok. In a subshell (a pipe, $(...)), which cannot reach the server's pipes, a
# python of its own runs the command. Give paths absolute.
g_nds() {
	local reply= l
	if [ "$BASHPID" != "$$" ]; then
		reply=$({ echo "$*"; case $1 in writes|writes_nl) cat; echo . ;; esac; } |
			python3 "$RLN_TOP/test/tools/ndsysfs.py" serve)
	else
		if [ -z "${G_NDS_PID:-}" ] || ! kill -0 "$G_NDS_PID" 2>/dev/null; then
			coproc G_NDS { exec python3 "$RLN_TOP/test/tools/ndsysfs.py" serve; }
		fi
		{
			echo "$*"
			case $1 in
			writes|writes_nl)
				while IFS= read -r l; do echo "$l"; done
				echo .
				;;
			esac
		} >&"${G_NDS[1]}"
		read -r reply <&"${G_NDS[0]}"
	fi
	[ "$reply" = ok ] && return 0
	echo "ndsysfs.py serve: $1: ${reply:-no answer}" >&2
	return 1
}

# g_nd_view PREFIX: g_nd_dump plus ndctl's view: `ndctl list -RNi` (regions and
# namespaces, idle ones too) and -RNDiu (with DIMMs, human units), as
# PREFIX-list-*.json with .err and .rc.
g_nd_view() {
	g_run "$1-list-RNi.json" ndctl list -RNi
	g_run "$1-list-RNDiu.json" ndctl list -RNDiu
	g_nd_dump "$1"
}

# g_kernel_lines REGEX: the kernel's log lines since the stack under test
# loaded (g_begin's mark) that match REGEX, comparable across stacks and
# boots: times dropped; uuids, addresses, pmemN and pids masked.
g_kernel_lines() {
	sed -n "/$T_STACK_MARK/,\$p" <(dmesg) | grep -E -- "$1" |
		sed -E 's/^\[ *[0-9.]+\] //; s/[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}/<uuid>/g;
			s/0x[0-9a-f]+/<hex>/g; s/pmem[0-9]+/pmemN/g; s/ to ([^ ]+):[0-9]+ / to \1:<pid> /'
}

# g_end: save the kernel log and mark the guest part finished. On the debug
# kernel (kmemleak runs from boot), a test that did not save kmemleak.txt itself
# gets one here (t_debug_findings judges it).
g_end() {
	if [ "${RLN_FLAVOUR:-normal}" = debug ] && [ ! -e "$G_OUT/kmemleak.txt" ]; then
		# Objects younger than 5 s are not reported; scan twice to settle.
		sleep 6
		echo scan >/sys/kernel/debug/kmemleak
		echo scan >/sys/kernel/debug/kmemleak
		cat /sys/kernel/debug/kmemleak >"$G_OUT/kmemleak.txt"
	fi
	dmesg >"$G_OUT/dmesg.txt"
	touch "$G_OUT/done"
}
