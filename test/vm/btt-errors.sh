#!/bin/bash
# btt-errors: nd_btt's error handling against C's (issue 10, acceptance 4),
# one boot per stack on nfit_test.0 (the bus with error injection), in two
# passes, each in its own directory of the side's output:
#   v11-4096  v1.1 labels on the bus's DIMMs, a 32 MiB namespace in sector
#             mode of 4096-byte sectors in the region of the bus's first
#             namespace: a v1.1 BTT (info block 4 KiB in); every step below
#   v20-512   that namespace destroyed, v1.2 labels, the same namespace of
#             512-byte sectors: a v2.0 BTT (claim class BTT2, info block at
#             0); steps s1, s2, s3a, s3e, s3f (s3b to s3d check what the
#             sector size and version do not change)
#   v20-520   integrity metadata: that namespace destroyed, a raw one made
#             in its place and filled with 0xa5, then reconfigured to sector
#             mode with 520-byte sectors (512 of data, 8 of metadata in a
#             576-byte block). The disk's integrity attributes (C's btt
#             registers a profile without checksums, "nop", whose 8-byte
#             tuples are the metadata: CONFIG_BLK_DEV_INTEGRITY, as in
#             Debian's kernel); four sectors written with write_generate 1
#             (the block layer attaches a zeroed payload to each write) and
#             four with it 0 (no payload); then the metadata bytes of each
#             one's postmap block, read raw: 0xa5 for all eight, since C's
#             btt_submit_bio takes the bio's payload before
#             bio_integrity_prep attaches one, and stores only a payload a
#             bio came with (an in-kernel integrity user's; no user-space
#             path gives one in 6.12). Then such a user: dm-integrity in
#             inline mode over the disk (crc32c tags in btt's metadata
#             bytes): four sectors written and read back through it, the
#             metadata of the LBAs around them read raw (the four tagged),
#             the first tag damaged, and the four read again through a new
#             dm-integrity device (the damaged one fails its check)
# (`ndctl create-namespace -m sector -l SIZE`). A pattern
# (test/tools/bttimg.py, tag "err lba=N v=V") goes to LBAs 0..63. Metadata
# is read and damaged through a raw view of the namespace
# (test/tools/bttmedia.py): disable-namespace, the btt's claim given up,
# force_raw 1, enable-namespace; back with force_raw 0, where
# enable-namespace finds the BTT again (C's nd_btt_probe). Each step keeps
# every command's exit status, stdout and stderr, the new kernel log lines
# of the btt and pmem devices, and what the step names below:
#   s1  a bad block in the data area: the postmap block of LBA 10 from the
#       on-media map (it must be where the pattern is), `ndctl inject-error`
#       there (in the raw view: ndctl injects into raw namespaces only), then
#       in sector mode O_DIRECT reads of LBA 10 (EIO; again, EIO from the map's
#       error flag) and 11 (fine), a full-sector write of LBA 10 (clears it:
#       the old block becomes a free one, zeroed), reads; region bad blocks,
#       `ndctl list -NM` and `inject-error --status` after each;
#       check-namespace (the flog's newest entry of that lane names the old
#       block with the E flag: ndctl calls it out of bounds), and again after
#       a write on each CPU (each lane)
#   s2  a flipped byte in the primary info block: enable-namespace (C's
#       kernel never reads the backup: no btt, the namespace comes up raw;
#       nor does it rewrite the primary), check-namespace, --repair (ndctl
#       restores it from the backup), enable
#   s3a a logged write whose map update is lost (map[lba] = the flog's
#       old_map): check-namespace, --repair (fixes it), again; then lost
#       again and enable-namespace (the kernel's own repair at init)
#   s3b a map entry past the data area: check-namespace, enable-namespace
#       (C checks no map entry at init), a write to that LBA (EIO); put back
#   s3c a flog lane whose two slots have one sequence number: check-namespace,
#       --repair (not repairable), enable-namespace (log corruption: the
#       BTT does not load); put back
#   s3d the info block's error flag: enable-namespace, a read, a write
#       (EIO: read-only), check-namespace; cleared, and check-namespace
#       must pass on what all the steps put back
#   s3e a flipped byte in the backup info block: enable-namespace (the
#       kernel reads only the primary: the BTT loads), the pattern,
#       check-namespace (ndctl says the backup "needs to be restored" and
#       exits 0), --repair (ndctl copies the primary over it), both valid
#   s3f the flog's repair, `check-namespace --repair --rewrite-log`: the
#       flog first moved to the old, pre-4.15 layout (slots 0 and 2, as
#       test/tools/btt_unpad.py does it), which both kernels load;
#       check-namespace; the rewrite (every lane back to its first state:
#       its newest entry in slot 0, seq 1, the other slots zero); then the
#       BTT loads, a write on each CPU lands in slot 1 of its lane (the
#       padded layout), and check-namespace passes
# and the pattern read back after s2, s3a, s3d, s3e and s3f. uuids become
# <uuid-N>; the injected block <BLK> (of the namespace) and <RBLK> (of the
# region); ndctl check's hex numbers in s3a <N> (which lane a write took is
# the scheduler's).
# Time: one python process a pass serves every media read, write and pattern
# I/O (`bttmedia.py serve`: a python start costs seconds in a TCG guest), ndctl
# scans nfit_test.0 only (-b), and the loops use shell builtins. The guest
# stamps each phase ("rln-time UPTIME NAME" in the VM log); the host prints
# the phases' seconds in the test log.
. "$(dirname "$0")/../lib.sh"

if [ "${1:-}" = --guest ]; then
	g_begin "$2"
	# stamp NAME: the guest's uptime at a step, to the VM's log (timing).
	# With RLN_PROFILE=1 (PROF, the host's snapshot directory, and SIDE as
	# the guest's arguments), also a snapshot of the instruction counts.
	PROF=${3:-} SIDE=${4:-}
	stamp() {
		local up i
		read -r up _ </proc/uptime
		echo "rln-time $up $1" >&2
		[ -n "$PROF" ] || return 0
		touch "$PROF/$SIDE-$1.req"
		for ((i = 0; i < 3000; i++)); do
			if [ -e "$PROF/$SIDE-$1.tsv" ]; then
				[ "$1" = end ] && cp /proc/kallsyms "$PROF/kallsyms-$SIDE"
				return 0
			fi
			sleep 0.05
		done
		g_fatal "the profiling plugin did not answer $SIDE-$1.req"
	}
	stamp modprobe
	# bm NAME CMD ARGS...: g_run for test/tools/bttmedia.py's commands,
	# sent to the one bttmedia.py process that serves them (one a pass:
	# it writes into the pass's directory).
	bm_start() { coproc BM { exec python3 "$RLN_TOP/test/tools/bttmedia.py" serve "$G_OUT"; }; }
	bm_stop() {
		exec {BM[1]}>&-
		wait "$BM_PID"
	}
	bm() {
		local IFS=$'\t' reply
		printf '%s\n' "$*" >&"${BM[1]}"
		read -r reply <&"${BM[0]}" || g_fatal "bttmedia.py serve ended at $1"
		return "${reply##* }"
	}
	# nd CMD ARGS...: ndctl looking at nfit_test.0 only.
	nd() { ndctl "$1" -b nfit_test.0 "${@:2}"; }
	g_modprobe nfit_test
	g_wait_scrub
	TOP=$G_OUT
	D=/sys/bus/nd/devices
	ns=$(nd list -N | jq -r '(if type == "array" then . else [.] end)[0].dev // empty')
	[ -n "$ns" ] || g_fatal "no namespace on nfit_test.0"
	region=$(readlink -f "$D/$ns/..")
	region=${region##*/}
	echo "$ns $region" >"$G_OUT/namespace.out"
	# The kernel log from a pass's namespace on: NAME-dmesg.out gets the
	# new lines of the btt and pmem devices, less their timestamps.
	# The log as lines (one dmesg); DM: how many were taken.
	dm_lines() { mapfile -t DL < <(dmesg); }
	# dm-integrity's complaints (v20-520) only for the sectors the test
	# reads, once each: udev's probe of the dm device's never-written end
	# fails its check too, as often and whenever udev looks.
	dm_take() {
		local l
		local -A seen=()
		dm_lines
		for l in "${DL[@]:DM}"; do
			l=${l#\[*\] }
			if [[ $l =~ device-mapper:\ integrity ]]; then
				[[ $l =~ sector\ 0x6[4-7]$ && -z ${seen[$l]:-} ]] && echo "$l"
				seen[$l]=1
			elif [[ $l =~ btt|pmem ]]; then
				echo "$l"
			fi
		done >"$G_OUT/$1-dmesg.out"
		DM=${#DL[@]}
	}
	# first FILE VAR: VAR := FILE's first line (or its read error).
	first() {
		local -n v=$2
		{ read -r v <"$1"; } 2>/dev/null || v=$( { read -r v <"$1"; } 2>&1)
	}
	# snap NAME: the bad blocks the region and ndctl show, the injection status.
	snap() {
		local bb
		mapfile -t bb <"$D/$region/badblocks"
		echo "$region: ${bb[*]}${bb[*]:+ }" >"$G_OUT/$1-region-bb.out"
		g_run "$1-list-NM.json" nd list -NM -n "$ns"
		g_run "$1-inject-status.json" nd inject-error --status "$ns"
	}
	# view NAME: ndctl's view and the namespace's personality; SDEV, the
	# namespace's disk in ndctl's view.
	view() {
		local b x mode holder raw bns drv json
		udevadm settle -t 30
		g_run "$1-list-N.json" nd list -N -n "$ns"
		{
			first "$D/$ns/mode" mode
			first "$D/$ns/holder" holder
			first "$D/$ns/force_raw" raw
			echo "mode=$mode holder=$holder force_raw=$raw"
			for b in "$D"/btt*; do
				first "$b/namespace" bns
				drv=
				for x in /sys/bus/nd/drivers/*/"${b##*/}"; do
					[ -e "$x" ] && { x=${x%/*}; drv=${x##*/}; }
				done
				echo "${b##*/}: namespace=$bns driver=$drv"
			done
			for b in /sys/block/*pmem*; do
				[ -e "$b" ] && echo "${b##*/}"
			done
		} >"$G_OUT/$1-devs.out" 2>&1
		read -r -d '' json <"$G_OUT/$1-list-N.json"
		if [[ $json =~ \"blockdev\":[[:space:]]*\"([^\"]+)\" ]]; then
			SDEV=/dev/${BASH_REMATCH[1]}
		else
			SDEV=/dev/none
		fi
	}
	# raw_on NAME / raw_off NAME: the raw view ($RAW) and back to disabled.
	raw_on() {
		local b bns
		g_run "$1-raw-disable" nd disable-namespace "$ns"
		for b in "$D"/btt*; do
			{ read -r bns <"$b/namespace"; } 2>/dev/null || bns=
			[ "$bns" = "$ns" ] && echo >"$b/namespace"
		done
		echo 1 >"$D/$ns/force_raw"
		g_run "$1-raw-enable" nd enable-namespace "$ns"
		udevadm settle -t 30
		RAW=
		for b in "$D/$ns"/block/*; do
			[ -e "$b" ] && { RAW=/dev/${b##*/}; break; }
		done
		[ -b "$RAW" ] || g_fatal "$1: no raw block device for $ns"
	}
	raw_off() {
		g_run "$1-raw-off" nd disable-namespace "$ns"
		echo 0 >"$D/$ns/force_raw"
	}
	# enable NAME: enable-namespace, the views and the log.
	enable() {
		g_run "$1-enable" nd enable-namespace "$ns"
		view "$1"
		dm_take "$1-enable"
	}
	# damage_info STEP CMD: an info block damaged through the raw view
	# (bttmedia.py CMD), then the namespace enabled again.
	damage_info() {
		raw_on "$1"
		bm "$1-corrupt" "$2" "$RAW"
		bm "$1-geom" geom "$RAW"
		raw_off "$1"
		enable "$1"
	}
	# check_repair STEP: check-namespace, then --repair, of the disabled
	# namespace.
	check_repair() {
		g_run "$1-disable" nd disable-namespace "$ns"
		g_run "$1-check" nd check-namespace "$ns"
		g_run "$1-repair" nd check-namespace --repair "$ns"
	}
	# tags NAME: the pattern's 64 sectors read back.
	tags() { bm "$1-tags" tags "$SDEV" "$SS" 0 64; }
	# pinned_writes NAME V LBA: a write of version V on each CPU (each
	# lane), to LBA, LBA+1, ...
	pinned_writes() {
		local cpu ncpu
		ncpu=$(nproc)
		for ((cpu = 0; cpu < ncpu; cpu++)); do
			bm "$1-pin$cpu" pin "$cpu"
			bm "$1-cpu$cpu" write "$SDEV" "$SS" err "$2" $(($3 + cpu)) 1
		done
		bm "$1-pin-all" pin all
	}

	# pass DIR SECTOR LABELS STEPS: one namespace of SECTOR-byte sectors
	# under LABELS (the label version: 1.1 gives a v1.1 BTT, 1.2 a v2.0 one),
	# through STEPS; its files in DIR.
	pass() {
		local dir=$1 lv=$3 steps=$4 P=$1-
		SS=$2
		G_OUT=$TOP/$dir
		mkdir -p "$G_OUT"
		bm_start
		stamp "${P}create"
		# ndctl labels a region only while it is disabled (and the
		# previous pass's namespace is gone).
		[ -n "$made" ] && g_run lab-destroy nd destroy-namespace -f "$ns"
		g_run lab-disable nd disable-region all
		g_run lab-init nd init-labels -f -V "$lv" all
		g_run lab-enable nd enable-region all
		g_run create.json nd create-namespace -r "$region" -m sector -l "$SS" -s 32M -n errs \
			--uuid 5a7e0005-0000-4000-8000-0000000000e0 ||
			g_fatal "create-namespace -m sector failed: $(cat "$G_OUT/create.err")"
		ns=$(jq -r .dev "$G_OUT/create.json")
		made=1
		dm_lines
		DM=${#DL[@]}

		stamp "${P}s0"
		view created
		bm s0-write write "$SDEV" "$SS" err 1 0 64
		tags s0
		snap s0
		dm_take s0

		# ---- s1: a bad block in the data area
		stamp "${P}s1"
		raw_on s1
		bm s1-geom geom "$RAW"
		bm s1-locate locate "$RAW" 10 "err lba=10 v=1"
		read -r blk agree <"$G_OUT/s1-locate.out"
		echo "$agree" >"$G_OUT/s1-locate.out"
		first "$D/$ns/resource" nsres
		first "$D/$region/resource" rres
		rblk=$((blk + (nsres - rres) / 512))
		# For the host, which masks them (see mask_chance).
		echo "$blk $rblk" >"$G_OUT/chance.blk"
		# ndctl injects into raw namespaces only (libndctl: "sector" mode has no
		# injection bounds, EOPNOTSUPP): into the raw view, before the BTT comes
		# back and finds the namespace's bad blocks.
		g_run s1-inject nd inject-error -B "$blk" -n 1 "$ns"
		stamp "${P}s1-scrub"
		g_wait_scrub
		stamp "${P}s1-sector"
		snap s1-injected
		raw_off s1
		enable s1
		snap s1-enabled
		bm s1-read-bad tags "$SDEV" "$SS" 10 1
		bm s1-read-bad-again tags "$SDEV" "$SS" 10 1
		bm s1-read-next tags "$SDEV" "$SS" 11 1
		dm_take s1-read
		bm s1-write write "$SDEV" "$SS" err 2 10 1
		bm s1-read-written tags "$SDEV" "$SS" 10 1
		dm_take s1-write
		g_wait_scrub
		snap s1-written
		# The write over the errored sector logged its old block with the E
		# flag, as C's btt_write_pg does: ndctl takes that for an out of bounds
		# block while it is a lane's newest entry. Once every lane (CPU) wrote
		# again, the BTT checks clean.
		g_run s1-disable nd disable-namespace "$ns"
		g_run s1-check nd check-namespace "$ns"
		stamp "${P}s1-rewrite"
		enable s1-rewrite
		pinned_writes s1-rewrite 1 32
		g_run s1-rewrite-disable nd disable-namespace "$ns"
		g_run s1-rewrite-check nd check-namespace "$ns"
		enable s1-rewritten

		# ---- s2: the primary info block corrupted
		stamp "${P}s2"
		damage_info s2 corrupt-info
		check_repair s2
		dm_take s2-check
		enable s2-repaired
		tags s2

		# ---- s3a: a write whose map update was lost
		stamp "${P}s3a"
		raw_on s3a
		bm s2-geom-repaired geom "$RAW"
		bm s3a-undo map-undo "$RAW"
		raw_off s3a
		g_run s3a-check nd check-namespace "$ns"
		g_run s3a-repair nd check-namespace --repair "$ns"
		g_run s3a-check-after nd check-namespace "$ns"
		dm_take s3a-check
		raw_on s3a-again
		bm s3a-undo-again map-undo "$RAW"
		raw_off s3a-again
		enable s3a-kernel
		tags s3a
		g_run s3a-disable nd disable-namespace "$ns"
		g_run s3a-check-kernel nd check-namespace "$ns"
		for f in s3a-check s3a-repair s3a-check-after s3a-check-kernel; do
			sed -i -E 's/0x[0-9a-f]+/<N>/g; s/log\[[0-9]+\]/log[<L>]/g' "$G_OUT/$f.out" "$G_OUT/$f.err"
		done

		if [ "$steps" = all ]; then
			# ---- s3b: a map entry past the data area
			stamp "${P}s3b"
			raw_on s3b
			bm s3b-oob map-oob "$RAW" 20
			read -r old <"$G_OUT/s3b-oob.out"
			rm "$G_OUT/s3b-oob.out"
			raw_off s3b
			g_run s3b-check nd check-namespace "$ns"
			dm_take s3b-check
			enable s3b
			bm s3b-write write "$SDEV" "$SS" err 3 20 1
			bm s3b-read-next tags "$SDEV" "$SS" 21 1
			dm_take s3b-write

			# ---- s3c: a flog lane with one sequence number twice (and
			# s3b's entry put back: end-check below shows both put back)
			stamp "${P}s3c"
			raw_on s3c
			bm s3b-put-back map-set "$RAW" 20 "$old"
			bm s3c-save flog-get "$RAW" 0
			read -r saved <"$G_OUT/s3c-save.out"
			rm "$G_OUT/s3c-save.out"
			bm s3c-eqseq flog-eqseq "$RAW" 0
			raw_off s3c
			g_run s3c-check nd check-namespace "$ns"
			g_run s3c-repair nd check-namespace --repair "$ns"
			dm_take s3c-check
			enable s3c
			# The lane's sequence number is how many writes it took: the
			# scheduler's.
			sed -i -E 's/seq \[([0-9]+), \1\]/seq [<S>, <S>]/' "$G_OUT/s3c-enable-dmesg.out"

			# ---- s3d: the info block's error flag (and s3c's lane put back)
			stamp "${P}s3d"
			raw_on s3d
			bm s3c-put-back flog-set "$RAW" 0 "$saved"
			bm s3d-flag set-flags "$RAW" 1
			raw_off s3d
			enable s3d
			bm s3d-read tags "$SDEV" "$SS" 0 1
			bm s3d-write write "$SDEV" "$SS" err 4 0 1
			dm_take s3d-io
			g_run s3d-disable nd disable-namespace "$ns"
			g_run s3d-check nd check-namespace "$ns"
			raw_on s3d-clear
			bm s3d-unflag set-flags "$RAW" 0
			bm s3d-geom geom "$RAW"
			raw_off s3d-clear
			g_run end-check nd check-namespace "$ns"
			enable s3d-clear
			tags s3d
		fi

		# ---- s3e: the backup info block corrupted
		stamp "${P}s3e"
		damage_info s3e corrupt-info2
		tags s3e
		check_repair s3e
		raw_on s3e-repaired
		bm s3e-geom-repaired geom "$RAW"
		raw_off s3e-repaired

		# ---- s3f: the flog in the old (pre-4.15) layout, then rewritten
		stamp "${P}s3f"
		raw_on s3f
		bm s3f-layout flog-layout "$RAW"
		bm s3f-unpad flog-unpad "$RAW"
		bm s3f-layout-unpadded flog-layout "$RAW"
		raw_off s3f
		enable s3f
		tags s3f
		g_run s3f-disable nd disable-namespace "$ns"
		g_run s3f-check nd check-namespace "$ns"
		g_run s3f-rewrite nd check-namespace --repair --rewrite-log "$ns"
		raw_on s3f-rewritten
		bm s3f-layout-rewritten flog-layout "$RAW"
		raw_off s3f-rewritten
		enable s3f-rewritten
		tags s3f-rewritten
		pinned_writes s3f-write 5 40
		bm s3f-write-tags tags "$SDEV" "$SS" 40 2
		g_run s3f-write-disable nd disable-namespace "$ns"
		g_run s3f-write-check nd check-namespace "$ns"
		raw_on s3f-written
		bm s3f-layout-written flog-layout "$RAW"
		raw_off s3f-written
		enable end
		snap end
		stamp "${P}end"
		bm_stop
	}

	# meta_pass DIR: a 520-byte-sector BTT's integrity metadata (see the
	# header), its files in DIR.
	meta_pass() {
		local dir=$1 P=$1- d a val
		SS=512
		G_OUT=$TOP/$dir
		mkdir -p "$G_OUT"
		bm_start
		stamp "${P}create"
		g_run destroy nd destroy-namespace -f "$ns"
		g_run create-raw.json nd create-namespace -r "$region" -m raw -s 32M -n meta \
			--uuid 5a7e0005-0000-4000-8000-0000000000e1 ||
			g_fatal "create-namespace -m raw failed: $(cat "$G_OUT/create-raw.err")"
		ns=$(jq -r .dev "$G_OUT/create-raw.json")
		view raw
		bm fill fill "$SDEV" 0xa5
		g_run create.json nd create-namespace -f -e "$ns" -m sector -l 520
		dm_lines
		DM=${#DL[@]}
		view created
		d=/sys/block/${SDEV#/dev/}/integrity
		for a in format tag_size protection_interval_bytes read_verify write_generate \
			device_is_integrity_capable; do
			first "$d/$a" val
			echo "$a=$val"
		done >"$G_OUT/integrity.out"
		stamp "${P}write"
		# One lane: each write takes the block the one before freed, all
		# of them far from the blocks at the namespace's start (ndctl zeroes
		# a namespace's first 8 KiB when it reconfigures it).
		bm pin pin 0
		bm write-generate write "$SDEV" 512 meta 1 1000 4
		[ -e "$d/write_generate" ] && echo 0 >"$d/write_generate"
		bm write-no-generate write "$SDEV" 512 meta 1 2000 4
		[ -e "$d/write_generate" ] && echo 1 >"$d/write_generate"
		bm pin-all pin all
		bm tags-generate tags "$SDEV" 512 1000 4
		bm tags-no-generate tags "$SDEV" 512 2000 4
		raw_on meta
		bm geom geom "$RAW"
		bm meta-get meta-get "$RAW" 1000 1001 1002 1003 2000 2001 2002 2003
		raw_off meta

		# dm-integrity in inline mode over the disk: its crc32c tags (4
		# bytes, in 8-byte tuples) ride in the payloads of the bios it
		# sends, which btt stores and reads back. dm sector 100.. is a
		# few LBAs further on (past dm-integrity's superblock): the
		# metadata of LBAs 100..131 is read raw.
		stamp "${P}dm"
		enable dm
		g_run dm-zero dd if=/dev/zero of="$SDEV" bs=4096 count=1 oflag=direct status=none
		dmtab="0 8192 integrity $SDEV 0 4 I 1 internal_hash:crc32c"
		g_run dm-create dmsetup create --noudevsync rln-integ --table "$dmtab"
		# The node now, not when udev gets to it; then udev's probe done.
		dmsetup mknodes rln-integ
		udevadm settle -t 30
		bm dm-write write /dev/mapper/rln-integ 512 dm 1 100 4
		bm dm-tags tags /dev/mapper/rln-integ 512 100 4
		udevadm settle -t 30
		g_run dm-remove dmsetup remove --noudevsync rln-integ
		raw_on dm
		bm dm-meta meta-get "$RAW" $(seq 100 131)
		# The LBAs holding a tag; the first one's tag is then damaged.
		grep -v ': a5a5a5a5a5a5a5a5$' "$G_OUT/dm-meta.out" | cut -d: -f1 >"$G_OUT/dm-tagged.out"
		read -r tagged <"$G_OUT/dm-tagged.out"
		[ -n "$tagged" ] && bm dm-flip meta-flip "$RAW" "$tagged"
		raw_off dm
		enable dm-again
		g_run dm-create-again dmsetup create --noudevsync rln-integ --table "$dmtab"
		# The node now, not when udev gets to it; then udev's probe done.
		dmsetup mknodes rln-integ
		udevadm settle -t 30
		bm dm-tags-again tags /dev/mapper/rln-integ 512 100 4
		udevadm settle -t 30
		g_run dm-remove-again dmsetup remove --noudevsync rln-integ
		dm_take dm
		enable end
		stamp "${P}end"
		bm_stop
	}

	made=
	pass v11-4096 4096 1.1 all
	pass v20-512 512 1.2 some
	meta_pass v20-520
	G_OUT=$TOP
	stamp end
	g_end
	exit 0
fi

t_init btt-errors
t_smp # lane rewrites pinned to each CPU
t_nfit_test
# mask_chance SIDE: what differs by chance, masked: uuids ndctl made up, the
# injected block (each pass's chance.blk: of the namespace and of the region).
mask_chance() {
	python3 - "$T_DIR/$1" <<-'EOF'
		import os, re, sys
		top = sys.argv[1]
		uuids = []
		# Each pass's blocks; another pass's, should they show in the bad
		# block lists, become <BLK:PASS>.
		chance = {}
		for d, _, names in os.walk(top):
		    if 'chance.blk' in names:
		        chance[d] = open(os.path.join(d, 'chance.blk')).read().split()
		        os.remove(os.path.join(d, 'chance.blk'))
		for d, _, names in sorted(os.walk(top)):
		    blk, rblk = chance.get(d, (None, None))
		    for name in sorted(names):
		        p = os.path.join(d, name)
		        if name in ('dmesg.txt', 'done', 'chance.blk') or not os.path.isfile(p):
		            continue
		        t = open(p, errors='replace').read()
		        for u in re.findall(r'[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}', t):
		            if u not in uuids:
		                uuids.append(u)
		            t = t.replace(u, '<uuid-%d>' % uuids.index(u))
		        if blk and (name.startswith('s1-') or name.startswith('end-')):
		            t = re.sub(r'\b%s\b' % rblk, '<RBLK>', t)
		            t = re.sub(r'\b%s\b' % blk, '<BLK>', t)
		        if re.search('region-bb|list-NM|inject-status', name):
		            for od, (ob, orb) in chance.items():
		                if od != d:
		                    tag = os.path.basename(od)
		                    t = re.sub(r'\b%s\b' % orb, '<RBLK:%s>' % tag, t)
		                    t = re.sub(r'\b%s\b' % ob, '<BLK:%s>' % tag, t)
		        open(p, 'w').write(t)
	EOF
}
# phases SIDE: the guest's seconds per phase, from its stamps in the VM log.
phases() {
	tr -d '\r' <"$T_DIR/$1.vm.log" | awk -v side="$1" '
		$1 == "rln-time" { if (n) line = line sprintf(" %s %.1f,", name, $2 - t); else t0 = $2; t = $2; name = $3; n++ }
		END { sub(/,$/, "", line); if (n) printf "   %s guest phases (s):%s; %.1f in all\n", side, line, t - t0 }'
}
# t_want SIDE FILE REGEX LABEL: what the step must show on either stack (so
# that two stacks that both did nothing cannot pass).
t_want() {
	grep -q -E "$3" "$T_DIR/$1/$2" 2>/dev/null ||
		t_fail "$1 ($(t_stack "$1")): $4: $2 has no /$3/: $(head -c 300 "$T_DIR/$1/$2" 2>/dev/null | tr '\n' ';')"
}
t_wants() {
	local p s
	for p in v11-4096 v20-512; do
		t_want "$1" $p/s1-locate.out '^agree$' "$p: the map's postmap of LBA 10 holds its pattern"
		t_want "$1" $p/s1-read-bad.out '^10: errno=EIO$' "$p: a read over the bad block"
		t_want "$1" $p/s1-read-bad-again.out '^10: errno=EIO$' "$p: a read of the errored map entry"
		t_want "$1" $p/s1-read-written.out '^10: err lba=10 v=2$' "$p: the sector written over the bad block"
		t_want "$1" $p/s1-injected-region-bb.out '<RBLK>' "$p: the region's bad blocks after the injection"
		t_want "$1" $p/s1-rewrite-check.rc '^0$' "$p: check-namespace after the rewrites"
		t_want "$1" $p/s2-geom.out 'primary invalid backup valid' "$p: the primary info block corrupted"
		t_want "$1" $p/s3a-check.rc '^[1-9]' "$p: check-namespace on a lost map update"
		t_want "$1" $p/s3a-check-after.rc '^0$' "$p: check-namespace after --repair"
		t_want "$1" $p/s3a-check-kernel.rc '^0$' "$p: check-namespace after the kernel's repair"
		t_want "$1" $p/s3e-geom.out 'primary valid backup invalid' "$p: the backup info block corrupted"
		t_want "$1" $p/s3e-check.err 'info2 needs to be restored' "$p: check-namespace on a corrupt backup"
		t_want "$1" $p/s3e-repair.out 'Restoring BTT info2' "$p: check-namespace --repair of the backup"
		t_want "$1" $p/s3e-geom-repaired.out 'primary valid backup valid' "$p: the backup restored"
		t_want "$1" $p/s3f-layout-unpadded.out '^slots 0,2: 2 lanes$' "$p: the flog in the old layout"
		t_want "$1" $p/s3f-check.rc '^0$' "$p: check-namespace on the old flog layout"
		t_want "$1" $p/s3f-rewrite.rc '^0$' "$p: check-namespace --repair --rewrite-log"
		t_want "$1" $p/s3f-layout-rewritten.out '^slots 0: 256 lanes$' "$p: the flog rewritten"
		t_want "$1" $p/s3f-write-tags.out '^41: err lba=41 v=5$' "$p: writes after the rewrite"
		t_want "$1" $p/s3f-write-check.rc '^0$' "$p: check-namespace after writes to the rewritten flog"
		t_want "$1" $p/s3f-layout-written.out '^slots 0,1: 2 lanes$' "$p: writes in the padded layout again"
		for s in s2 s3a s3e s3f s3f-rewritten; do
			t_want "$1" $p/$s-tags.out '^63: err lba=63 v=1$' "$p: the pattern read back ($s)"
		done
	done
	t_want "$1" v11-4096/s1-geom.out '^base 4096 version 1\.1 ' "a v1.1 BTT under v1.1 labels"
	t_want "$1" v20-512/s1-geom.out '^base 0 version 2\.0 ' "a v2.0 BTT under v1.2 labels"
	t_want "$1" v20-512/s1-geom.out '^lbasize 512/512 ' "512-byte sectors"
	p=v11-4096
	t_want "$1" $p/s3b-check.rc '^[1-9]' "check-namespace on a map entry out of bounds"
	t_want "$1" $p/s3c-check.rc '^[1-9]' "check-namespace on a flog lane with one seq twice"
	t_want "$1" $p/s3d-write.rc '^[1-9]' "a write to an arena with the error flag"
	# nd_btt_probe logs the flag before the btt is on the nd bus: no bus
	# name before the device's.
	t_want "$1" $p/s3d-enable-dmesg.out '^ btt[0-9]+\.[0-9]+: Found arena with an error flag$' \
		"the error flag found at autodetect"
	t_want "$1" $p/end-check.rc '^0$' "check-namespace once all is put back"
	t_want "$1" $p/s3d-tags.out '^63: err lba=63 v=1$' "the pattern read back (s3d)"
	p=v20-520
	t_want "$1" $p/integrity.out '^format=nop$' "520-byte sectors: an integrity profile without checksums"
	t_want "$1" $p/integrity.out '^tag_size=8$' "520-byte sectors: 8-byte tuples"
	t_want "$1" $p/tags-no-generate.out '^2003: meta lba=2003 v=1$' "520-byte sectors: the writes read back"
	t_want "$1" $p/meta-get.out '^1003: a5a5a5a5a5a5a5a5$' "520-byte sectors: a payload prep attached is not stored"
	t_want "$1" $p/meta-get.out '^2003: a5a5a5a5a5a5a5a5$' "520-byte sectors: no payload, no metadata write"
	t_want "$1" $p/dm-tags.out '^103: dm lba=103 v=1$' "dm-integrity over btt: its writes read back"
	[ "$(wc -l <"$T_DIR/$1/$p/dm-tagged.out")" = 4 ] ||
		t_fail "$1 ($(t_stack "$1")): dm-integrity over btt: expected 4 tagged LBAs: $(tr '\n' ';' <"$T_DIR/$1/$p/dm-meta.out")"
	t_want "$1" $p/dm-tags-again.out 'errno=' "dm-integrity over btt: a damaged tag fails the read"
	t_want "$1" $p/dm-tags-again.out '^103: dm lba=103 v=1$' "dm-integrity over btt: the other tags still check"
}
# RLN_PROFILE=1: both sides under `-icount shift=2,sleep=off` on one vCPU with
# the instruction-count plugin (test/bench/insn-profile.c), a snapshot at each
# phase; the test log then prints each phase's guest instructions per side
# (test/bench/phase-profile-report): work that the host's load does not change.
G_ARGS=() P_OPTS=()
if [ "${RLN_PROFILE:-}" = 1 ]; then
	prof=$T_DIR/prof
	rm -rf "$prof"
	mkdir -p "$prof" "$RLN_TOP/build/bench"
	gcc -O2 -Wall -shared -fPIC -fvisibility=hidden -o "$RLN_TOP/build/bench/insn-profile.so" \
		"$RLN_TOP/test/bench/insn-profile.c" -lpthread || exit 1
	P_OPTS=(--cpus 1 --timeout 3600 --qemu "-icount shift=2,sleep=off"
		--qemu "-plugin $RLN_TOP/build/bench/insn-profile.so,dir=$prof")
	G_ARGS=("$prof")
fi
t_guest ref "${P_OPTS[@]}" -- "${G_ARGS[@]}" ${G_ARGS[0]:+ref} || t_done
phases ref
mask_chance ref
t_check_dmesg ref
t_wants ref
if t_guest cand "${P_OPTS[@]}" -- "${G_ARGS[@]}" ${G_ARGS[0]:+cand}; then
	phases cand
	[ -n "${G_ARGS[0]:-}" ] && python3 "$RLN_TOP/test/bench/phase-profile-report" "$prof" \
		$(tr -d '\r' <"$T_DIR/ref.vm.log" | awk '$1 == "rln-time" {print $3}') | sed 's/^/   /'
	mask_chance cand
	t_check_dmesg cand
	t_wants cand
	t_cmp_sides
fi
t_done
