# Locks that the build and the VM tests wait on, with the wait accounted.
# Sourced by scripts/env.sh (host scripts) and test/lib.sh (the VM tests).
#
# A test's timeout and its printed time count the time it works, not the time
# it queues behind other tests' VMs or a build: test/run-all sets
# RLN_WAIT_FILE for each test, and every wait here is added to that file (one
# line of seconds per finished wait; RLN_WAIT_FILE.now holds the start of a
# wait in progress). rln_waited reads the total back.

# rln_flock FD WHAT: take the lock open on FD, waiting if another holds it.
rln_flock() {
	flock -n "$1" && return 0
	rln_wait_begin "$2"
	flock "$1"
	local rc=$?
	rln_wait_end
	return $rc
}

# rln_vm_slot FD: take one of the machine's RLN_VM_SLOTS VM slots (default 2,
# one per core; documented in Documentation/testing.md), opening its lock file
# on FD. RLN_VM_EXCLUSIVE=1 takes every slot, for a run that wants the
# machine to itself (a wall-clock benchmark), on FDs 20 and up. A slot is
# held until its FD closes.
rln_vm_slot() {
	local fd=$1 n=${RLN_VM_SLOTS:-2} i waiting=0
	mkdir -p "$RLN_CACHE"
	if [ "${RLN_VM_EXCLUSIVE:-0}" = 1 ]; then
		rln_wait_begin "all $n VM slots"
		for i in $(seq 0 $((n - 1))); do
			eval "exec $((20 + i))>\"\$RLN_CACHE/vm.slot.$i\""
			flock $((20 + i))
		done
		rln_wait_end
		eval "exec $fd>/dev/null"
		return 0
	fi
	while :; do
		for i in $(seq 0 $((n - 1))); do
			eval "exec $fd>\"\$RLN_CACHE/vm.slot.$i\""
			if flock -n "$fd"; then
				[ $waiting = 0 ] || rln_wait_end
				return 0
			fi
		done
		eval "exec $fd>&-"
		[ $waiting = 1 ] || { waiting=1; rln_wait_begin "a VM slot (all $n busy)"; }
		sleep 1
	done
}

rln_wait_begin() {
	echo "   (waiting for $1)" >&2
	[ -n "${RLN_WAIT_FILE:-}" ] && date +%s >"$RLN_WAIT_FILE.now"
	return 0
}

rln_wait_end() {
	local t0
	[ -n "${RLN_WAIT_FILE:-}" ] || return 0
	t0=$(cat "$RLN_WAIT_FILE.now" 2>/dev/null) || return 0
	rm -f "$RLN_WAIT_FILE.now"
	echo $(($(date +%s) - t0)) >>"$RLN_WAIT_FILE"
}

# rln_waited FILE: seconds waited so far, the wait in progress included.
rln_waited() {
	local done now=0 t0
	done=$(awk '{s += $1} END {print s + 0}' "$1" 2>/dev/null || echo 0)
	[ -n "$done" ] || done=0
	if t0=$(cat "$1.now" 2>/dev/null) && [ -n "$t0" ]; then
		now=$(($(date +%s) - t0))
	fi
	echo $((done + now))
}
