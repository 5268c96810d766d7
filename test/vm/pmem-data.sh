#!/bin/bash
# pmem-data: what is written through /dev/pmem0 is what is read back, across
# reboots and across stacks. One QEMU NVDIMM (1 GiB, 128 KiB label area, zeroed
# labels: label-less region, raw namespace0.0 = /dev/pmem0; reference: Linux's C
# modules as shipped), four boots on the same backing file:
#   ref     C writes pattern "c" (test/tools/blkio.py: every 4 KiB block names its
#           seed and offset) at the start, the middle, the last 4 MiB (O_DIRECT)
#           and 1 MiB through the page cache (buffered + fsync), reads it back,
#           and runs the fio verify jobs
#   cand    reads C's pattern "c", writes pattern "r" over the same ranges, runs
#           the fio verify jobs
#   cand-reboot  the candidate reads its own "r" after a reboot
#   ref-r   C reads the candidate's "r"
# On the host, the backing file itself must hold "c" after the first boot and
# "r" after the second, at the same offsets (the NVDIMM's data starts at file
# offset 0): the data reached the medium, not just a cache.
# fio verify jobs (in [256 MiB, 384 MiB), clear of the patterns): libaio,
# direct=1, iodepth 8, numjobs 2 (each job its own 32 MiB), --verify=crc32c with
# verify_fatal: 4 KiB random writes, then mixed 4-128 KiB sequential writes;
# each job's error code and bytes written/verified must match C's (zero errors).
. "$(dirname "$0")/../lib.sh"
BLKIO="python3 $RLN_TOP/test/tools/blkio.py"
# Start, middle and the last 4 MiB of the 1 GiB - 128 KiB namespace.
RANGES="0:4M 512M:4M 1069416448:4M"
BUFFERED=64M:1M

if [ "${1:-}" = --guest ]; then
	g_begin "$2"
	shift 2
	g_modprobe nfit
	[ -b /dev/pmem0 ] || g_fatal "no /dev/pmem0 after modprobe nfit ($(ls /dev | grep pmem | tr '\n' ' '))"
	fio_job() { # NAME FIO-OPTIONS...
		local name=$1
		shift
		g_run "$name" fio --name="$name" --filename=/dev/pmem0 --direct=1 --ioengine=libaio \
			--iodepth=8 --numjobs=2 --offset=256M --offset_increment=32M --size=32M \
			--verify=crc32c --verify_fatal=1 --do_verify=1 --randrepeat=1 \
			--output-format=json "$@"
		# fio puts its warnings before the JSON ("multiple writers may overwrite
		# blocks": not so here, each job has its own offset range).
		sed -n '/^{/,$p' "$G_OUT/$name.out" |
			jq -r '.jobs[] | "\(.jobname): error=\(.error) written=\(.write.io_bytes) verified=\(.read.io_bytes)"' \
			>"$G_OUT/$name-summary.out" 2>&1
		rm -f "$G_OUT/$name.out"
	}
	for action in "$@"; do
		case "$action" in
		write-*)
			g_run "$action" $BLKIO pattern write /dev/pmem0 "${action#write-}" $RANGES
			g_run "$action-buffered" $BLKIO pattern write /dev/pmem0 "${action#write-}" $BUFFERED --buffered
			;;
		verify-*)
			g_run "$action" $BLKIO pattern verify /dev/pmem0 "${action#verify-}" $RANGES $BUFFERED
			;;
		fio)
			fio_job fio-rand4k --rw=randwrite --bs=4k
			fio_job fio-seqmix --rw=write --bsrange=4k-128k
			;;
		*) g_fatal "unknown action $action" ;;
		esac
	done
	g_end
	exit 0
fi

t_init pmem-data c-intree
t_smp # fio jobs on both vCPUs
img=$T_DIR/nvdimm.img
rm -f "$img"

# t_all_match FILE LABEL: FILE (blkio.py verify output) says match for every range.
t_all_match() {
	if [ ! -s "$1" ] || grep -v -q ': match$' "$1"; then
		t_fail "$2: $(grep -v ': match$' "$1" 2>/dev/null | head -n 3 | tr '\n' ';' || echo "no output")"
	fi
}
# t_host_verify SEED LABEL: the backing file holds pattern SEED.
t_host_verify() {
	python3 "$RLN_TOP/test/tools/blkio.py" pattern verify "$img" "$1" $RANGES $BUFFERED \
		>"$T_DIR/host-verify-$1.out" 2>&1
	t_all_match "$T_DIR/host-verify-$1.out" "$2"
}

# t_fio_ok SIDE: both fio verify runs ended with status 0, and each of their two
# jobs wrote its 32 MiB and verified all of it without an error.
t_fio_ok() {
	local f
	for f in fio-rand4k fio-seqmix; do
		[ "$(cat "$T_DIR/$1/$f.rc" 2>/dev/null)" = 0 ] &&
			[ "$(grep -c ': error=0 written=33554432 verified=33554432$' "$T_DIR/$1/$f-summary.out")" = 2 ] ||
			t_fail "$1 ($(t_stack "$1")): $f: exit $(cat "$T_DIR/$1/$f.rc" 2>/dev/null), $(tr '\n' ';' <"$T_DIR/$1/$f-summary.out")"
	done
}

t_guest ref --nvdimm "$img:1G:128K" -- write-c verify-c fio || t_done
t_check_dmesg ref
t_fio_ok ref
t_all_match "$T_DIR/ref/verify-c.out" "C reading back its own pattern"
t_host_verify c "the backing file after C wrote pattern c"
if t_guest cand --nvdimm "$img:1G:128K" -- verify-c write-r fio; then
	t_check_dmesg cand
	t_fio_ok cand
	t_all_match "$T_DIR/cand/verify-c.out" "$T_CAND reading what C wrote"
	t_cmp_text "$T_DIR/ref/verify-c.out" "$T_DIR/cand/verify-c.out" "verify-c.out"
	for f in write-r write-r-buffered; do
		[ "$(cat "$T_DIR/cand/$f.rc")" = 0 ] && ! grep -v -q ': ok$' "$T_DIR/cand/$f.out" ||
			t_fail "$T_CAND writing pattern r ($f): $(head -n 3 "$T_DIR/cand/$f.out" "$T_DIR/cand/$f.err" | tr '\n' ';')"
	done
	for f in fio-rand4k fio-seqmix; do
		t_cmp_text "$T_DIR/ref/$f.rc" "$T_DIR/cand/$f.rc" "$f.rc (fio's exit status)"
		t_cmp_text "$T_DIR/ref/$f-summary.out" "$T_DIR/cand/$f-summary.out" "$f-summary.out"
	done
	t_host_verify r "the backing file after $T_CAND wrote pattern r"
	if t_guest cand-reboot --nvdimm "$img:1G:128K" -- verify-r; then
		t_check_dmesg cand-reboot
		t_all_match "$T_DIR/cand-reboot/verify-r.out" "$T_CAND reading its own pattern after a reboot"
	fi
	if t_guest ref-r --nvdimm "$img:1G:128K" -- verify-r; then
		t_check_dmesg ref-r
		t_all_match "$T_DIR/ref-r/verify-r.out" "C reading what $T_CAND wrote"
	fi
fi
rm -f "$img"
t_done
