#!/bin/bash
# pfn-sysfs: pfn and dax devices (pfnN.M, daxN.M) and their claims look and
# refuse the same on both stacks (issue 11, deliverable 1 and acceptance 5).
# One boot per stack, `modprobe nfit_test`, ARS idle. After each step: every
# attribute of every pfnN.M and daxN.M (test/tools/ndsysfs.py dump_pfns) and
# g_nd_dump's files (region and namespace attributes: pfn_seed, dax_seed,
# holder, mode, ...; the devices and their drivers); each write's errno; each
# ndctl command's exit status, stdout and stderr. Uuids ndctl makes up print
# as <uuid-N>.
#   seed-*   the idle seeds as nfit_test starts
#   bad-*    on the label-less region2 (namespace2.0 disabled) and region3
#            (4 MiB): to pfn2.0 and dax2.0 unsupported aligns (x, 1000, 4097,
#            8192, 0, 4096x, empty), modes other than none/ram/pmem,
#            malformed uuids, bad namespace names, another region's
#            namespace; to pfn3.0 the 4 MiB namespace3.0 (too small); every
#            read-only attribute. Nothing may change (before/after compared
#            on each stack).
#   quirk-*  mode writes C accepts by its prefix compare (`strncmp(buf,
#            "pmem\n", len - 1)`): "x" and "r" are pmem, "ra" ram, "nonex"
#            none; align 0x1000
#   claim-*  pfn2.0 takes uuid, mode, align and namespace2.0 (namespace mode
#            "memory", holder pfn2.0); then a second namespace for it, the
#            dax and btt seeds claiming namespace2.0, namespace2.0's own
#            writes and binding it to nd_pmem are refused (nothing changes);
#            an empty namespace resets the seed (uuid and mode, not align)
#   dax-*    dax2.0 claims namespace2.0: namespace mode "dax"; reset
#   lab-*    region1 labelled (v1.1), a raw 32 MiB namespace1.0 (disabled):
#            holder_class btt, pfn, dax against the pfn and dax seeds (EBUSY
#            for another personality's); a pfn's uuid cannot be a
#            namespace's
# The steps that bind a pfn (nd_pmem's pfn mode; on our stack its struct
# pages go to nfit_test's physical backing, testing.md "nfit_test's
# memory"):
#   bind-*   pfn2.0 configured by hand and bound through nd_pmem's bind;
#            resource, size, the new pfn seed; writes while bound (EBUSY);
#            unbound and given up
#   fsdax-*  `ndctl create-namespace -m fsdax` -M dev -a 4K and -M mem -a 2M
#            on region1, and a plain `ndctl create-namespace`; `ndctl list
#            -N -v`; destroyed
#   reconf-* the plain one reconfigured in place (`create-namespace -f -e`):
#            to sector, to fsdax -M mem -a 4K, to raw, to fsdax (ndctl's
#            default map and align); each viewed as above
. "$(dirname "$0")/../lib.sh"

if [ "${1:-}" = --guest ]; then
	g_begin "$2"
	g_modprobe nfit_test
	g_wait_scrub
	D=/sys/bus/nd/devices
	state() {
		udevadm settle -t 30 2>/dev/null
		g_nds dump "$G_OUT/$1" && g_nds dump_pfns "$G_OUT/$1" &&
			g_nds mask_uuids "$G_OUT/$1" /tmp/pfn-sysfs-uuids.txt 5a7e0005- ||
			g_fatal "state $1 failed"
	}
	view() {
		g_run "$1-list-Nv.json" ndctl list -N -v
		state "$1"
	}
	# writes NAME: lines "DIR VALUE ATTR..." on stdin (DIR under $D unless it
	# starts with /; VALUE NL is an empty line "\n", VALUE NONL:X is X
	# without a newline, any other VALUE gets a newline): each write's result,
	# appended to NAME-writes.out (ndsysfs.py's write_attrs, through g_nds).
	writes() {
		g_nds writes_nl "$G_OUT/$1-writes.out" || g_fatal "writes $1 failed"
	}

	writes setup <<<"region2 0 read_only"
	state seed

	# ---- bad input to idle seeds (label-less regions)
	g_run bad-disable ndctl disable-namespace namespace2.0
	state bad-before
	writes bad <<-'EOF'
		pfn2.0 x align
		pfn2.0 1000 align
		pfn2.0 4097 align
		pfn2.0 8192 align
		pfn2.0 0 align
		pfn2.0 4096x align
		pfn2.0 -4096 align
		pfn2.0 NL align
		dax2.0 65536 align
		pfn2.0 memory mode
		pfn2.0 fsdax mode
		pfn2.0 RAM mode
		pfn2.0 ramdisk mode
		pfn2.0 nonesuch mode
		dax2.0 devdax mode
		pfn2.0 not-a-uuid-at-all-not-a-uuid-at-all uuid
		pfn2.0 5a7e0005-0000-4000-8000-00000000000g uuid
		pfn2.0 5a7e0005-0000-4000-8000-0000000000 uuid
		pfn2.0 5a7e0005-0000-4000-8000-00000000001 uuid
		pfn2.0 NL uuid
		dax2.0 xyz uuid
		pfn2.0 foo namespace
		pfn2.0 Namespace2.0 namespace
		pfn2.0 namespace namespace
		pfn2.0 namespace9.9 namespace
		pfn2.0 namespace2.0x namespace
		pfn2.0 namespace0.0 namespace
		dax2.0 namespace0.0 namespace
		pfn2.0 0 resource size supported_alignments modalias devtype
		pfn3.0 namespace3.0 namespace
		dax3.0 namespace3.0 namespace
		pfn3.0 NL namespace
	EOF
	state bad-after

	# ---- C's prefix compare of mode, and align in another base
	writes quirk <<-'EOF'
		pfn2.0 NONL:x mode
		pfn2.0 x mode
	EOF
	state quirk-x
	writes quirk <<-'EOF'
		pfn2.0 ra mode
		dax2.0 0x1000 align
	EOF
	state quirk-ra
	writes quirk <<-'EOF'
		pfn2.0 r mode
		dax2.0 nonex mode
		pfn2.0 NONL:ram mode
	EOF
	state quirk-r
	writes quirk <<-'EOF'
		pfn2.0 none mode
		dax2.0 2097152 align
	EOF

	# ---- a claim on the idle seed, what it refuses, and giving it up
	writes claim <<-'EOF'
		pfn2.0 5a7e0005-0000-4000-8000-000000000011 uuid
		pfn2.0 pmem mode
		pfn2.0 4096 align
		pfn2.0 namespace2.0 namespace
	EOF
	view claim-set
	writes claim-refused <<-'EOF'
		pfn2.0 namespace2.0 namespace
		pfn2.0 namespace3.0 namespace
		dax2.0 namespace2.0 namespace
		btt2.0 namespace2.0 namespace
		namespace2.0 pfn holder_class
		namespace2.0 NL holder_class
		namespace2.0 1 force_raw
		namespace2.0 0 force_raw
		/sys/bus/nd/drivers/nd_pmem namespace2.0 bind
	EOF
	g_run claim-refused-enable ndctl enable-namespace namespace2.0
	state claim-refused
	writes claim-reset <<-'EOF'
		pfn2.0 NL namespace
	EOF
	state claim-reset
	writes claim-reset <<-'EOF'
		pfn2.0 2097152 align
	EOF

	# ---- device-dax claim
	writes dax <<-'EOF'
		dax2.0 5a7e0005-0000-4000-8000-000000000012 uuid
		dax2.0 namespace2.0 namespace
	EOF
	view dax-set
	writes dax-reset <<-'EOF'
		dax2.0 NL namespace
	EOF
	g_run dax-reset-enable ndctl enable-namespace namespace2.0
	state dax-reset

	# ---- labelled region1 (v1.1): claim classes
	g_run lab-disable ndctl disable-region -b nfit_test.0 all
	g_run lab-init ndctl init-labels -b nfit_test.0 all
	g_run lab-enable ndctl enable-region -b nfit_test.0 all
	g_run lab-create.json ndctl create-namespace -r region1 -m raw -s 32M -n lab-pfn \
		--uuid 5a7e0005-0000-4000-8000-000000000020
	g_run lab-ns-disable ndctl disable-namespace namespace1.0
	writes lab <<<"namespace1.0 btt holder_class"
	state lab-before
	writes lab <<-'EOF'
		pfn1.0 namespace1.0 namespace
		dax1.0 namespace1.0 namespace
		pfn1.0 namespace1.1 namespace
	EOF
	state lab-after
	writes lab-pfn <<-'EOF'
		namespace1.0 pfn holder_class
		dax1.0 namespace1.0 namespace
		pfn1.0 5a7e0005-0000-4000-8000-000000000021 uuid
		namespace1.1 5a7e0005-0000-4000-8000-000000000021 uuid
		pfn1.0 namespace1.0 namespace
		namespace1.0 dax holder_class
		namespace1.0 5a7e0005-0000-4000-8000-000000000022 uuid
	EOF
	view lab-pfn
	writes lab-dax <<-'EOF'
		pfn1.0 NL namespace
		namespace1.0 dax holder_class
		pfn1.0 namespace1.0 namespace
		dax1.0 namespace1.0 namespace
	EOF
	view lab-dax
	writes lab-reset <<-'EOF'
		dax1.0 NL namespace
		namespace1.0 NL holder_class
	EOF
	g_run lab-destroy ndctl destroy-namespace -f namespace1.0
	state lab-reset

	# ---- needs nd_pmem's pfn mode: a pfn bound by hand (label-less namespace2.0)
	g_run bind-disable ndctl disable-namespace namespace2.0
	writes bind <<-'EOF'
		pfn2.0 5a7e0005-0000-4000-8000-000000000031 uuid
		pfn2.0 pmem mode
		pfn2.0 4096 align
		pfn2.0 namespace2.0 namespace
		/sys/bus/nd/drivers/nd_pmem pfn2.0 bind
	EOF
	view bind-bound
	writes bind-refused <<-EOF
		pfn2.0 ram mode
		pfn2.0 2097152 align
		pfn2.0 5a7e0005-0000-4000-8000-000000000032 uuid
		pfn2.0 NL namespace
		$(cat "$D/region2/pfn_seed") namespace2.0 namespace
	EOF
	state bind-refused
	writes bind-unbind <<-'EOF'
		/sys/bus/nd/drivers/nd_pmem pfn2.0 unbind
		pfn2.0 NL namespace
	EOF
	state bind-unbound

	# ---- ndctl's fsdax (the create output is named after the view that
	# follows, whose state masks the uuid ndctl makes up for the pfn)
	g_run fsdax-dev-create.json ndctl create-namespace -r region1 -s 32M -m fsdax -M dev -a 4K \
		--uuid 5a7e0005-0000-4000-8000-000000000040
	view fsdax-dev
	g_run fsdax-dev-destroy ndctl destroy-namespace -f namespace1.0
	g_run fsdax-mem-create.json ndctl create-namespace -r region1 -s 32M -m fsdax -M mem -a 2M \
		--uuid 5a7e0005-0000-4000-8000-000000000041
	view fsdax-mem
	g_run fsdax-mem-destroy ndctl destroy-namespace -f namespace1.0
	g_run fsdax-plain-create.json ndctl create-namespace -r region1 -s 32M \
		--uuid 5a7e0005-0000-4000-8000-000000000042
	view fsdax-plain
	# ---- reconfiguration in place (`create-namespace -e -f`): fsdax to
	# sector, to fsdax -M mem -a 4K, to raw, back to fsdax (ndctl's
	# default -M dev -a 2M)
	# The namespace may come back under another name (ndctl deletes it and
	# creates one from the seed): each step takes the one the last made.
	rns=namespace1.0
	for step in sector:"-m sector" mem4k:"-m fsdax -M mem -a 4K" raw:"-m raw" fsdax:"-m fsdax"; do
		name=${step%%:*}
		# shellcheck disable=SC2086 # the mode's options are words
		g_run "reconf-$name.json" ndctl create-namespace -f -e "$rns" ${step#*:}
		view "reconf-$name"
		rns=$(jq -r '.dev // empty' "reconf-$name.json" 2>/dev/null)
		# The uuid ndctl made up (the namespace's, or its btt's or pfn's).
		sed -i -E 's/"uuid": ?"[0-9a-f-]{36}"/"uuid":"<uuid>"/' "reconf-$name.json"
		[ -n "$rns" ] || g_fatal "reconfiguration to $name failed: $(cat "reconf-$name.err")"
	done
	g_run fsdax-plain-destroy ndctl destroy-namespace -f all -r region1
	state fsdax-destroyed
	g_end
	exit 0
fi

t_init pfn-sysfs
t_nfit_test
t_guest ref || t_done
t_check_dmesg ref
if t_guest cand; then
	t_check_dmesg cand
	# Refused writes change nothing (on each stack by itself).
	for side in ref cand; do
		for f in pfn.out regions.out devices.out block.out; do
			t_cmp_text "$T_DIR/$side/bad-before-$f" "$T_DIR/$side/bad-after-$f" \
				"$(t_stack $side) stack: $f before and after the bad input"
			t_cmp_text "$T_DIR/$side/claim-set-$f" "$T_DIR/$side/claim-refused-$f" \
				"$(t_stack $side) stack: $f before and after the refused claims"
			t_cmp_text "$T_DIR/$side/lab-before-$f" "$T_DIR/$side/lab-after-$f" \
				"$(t_stack $side) stack: $f before and after the refused claim classes"
			t_cmp_text "$T_DIR/$side/bind-bound-$f" "$T_DIR/$side/bind-refused-$f" \
				"$(t_stack $side) stack: $f before and after writes to a bound pfn"
		done
	done
	t_cmp_sides
fi
t_done
