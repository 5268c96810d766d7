#!/bin/bash
# pmem-bad-input: bad block I/O and bad sysfs writes to regions and namespaces get
# the same answer on both stacks and change nothing. One QEMU NVDIMM (1 GiB,
# 128 KiB label area, `modprobe nfit`; reference: Linux's C modules as shipped),
# one boot per stack, two phases:
#   io   zeroed labels (namespace_io namespace0.0, /dev/pmem0 over the region)
#   lab  labels initialised, one raw 256 MiB namespace0.0 (enabled) and the
#        seed namespace0.1 (idle)
# In each: test/tools/blkio.py's battery on the pmem disk (reads and writes at,
# past and across the end, buffered and O_DIRECT; O_DIRECT with misaligned
# offsets, lengths and buffers; discard, zeroout and geometry ioctls); writes to
# every read-only attribute of region0 and the namespaces; invalid values to
# the writable ones (align, read_only, deep_flush, force_raw, holder_class; and
# in lab: size, uuid, alt_name, sector_size of the active and the seed
# namespace). Every errno must equal C's, and g_nd_dump plus the hash of the
# disk's first and last 4 KiB must be the same before and after each battery.
# Then the seed gets a uuid, and sizes that are unaligned or too large, and
# the active namespace's uuid, must be refused as C refuses them. Each
# snapshot also holds the label area (`read-labels -j` and a hash of the raw
# `read-labels -o`), so a refused write that touched the labels fails too.
# io also sets region0/read_only: the disk turns read-only (a write gets C's
# errno) and writable again when it is cleared.
. "$(dirname "$0")/../lib.sh"
BLKIO="python3 $RLN_TOP/test/tools/blkio.py"

if [ "${1:-}" = --guest ]; then
	g_begin "$2"
	g_modprobe nfit
	g_wait_scrub
	ro_region="size available_size max_available_extent mappings mapping0 nstype set_cookie
		interleave_ways init_namespaces resource numa_node target_node persistence_domain
		namespace_seed btt_seed pfn_seed dax_seed nfit/range_index modalias devtype badblocks"
	ro_ns="nstype resource holder mode dpa_extents numa_node modalias devtype"
	# sysfs_writes PHASE DIR VALUE ATTR...: one result line per attribute, in
	# PHASE-sysfs.out. The writes queue up and run in order, in one python
	# process (a python start costs seconds in a TCG guest), at the next
	# sysfs_flush; snapshot flushes first.
	sysfs_writes() {
		local phase=$1 dir=$2 val=$3
		shift 3
		printf '%s\t%s\t%s\t%s\n' "$phase" "$dir" "$val" "$*" >>"$G_OUT/sysfs.queue"
	}
	sysfs_flush() {
		[ -s "$G_OUT/sysfs.queue" ] || return 0
		$NDIOCTL sysfs-batch "$G_OUT" <"$G_OUT/sysfs.queue" 2>>"$G_OUT/sysfs-batch.err"
		rm -f "$G_OUT/sysfs.queue"
	}
	snapshot() { # NAME DISK
		sysfs_flush
		g_nd_dump "$1"
		$BLKIO hash "/dev/$2" 0:4K -4K:4K >"$1-hash.out" 2>&1
		# The label area: ndctl's decoding and every byte.
		ndctl read-labels -j nmem0 >"$1-labels.out" 2>&1
		ndctl read-labels -o "$G_OUT/$1-labels.tmp" nmem0 >/dev/null 2>&1
		sha256sum <"$G_OUT/$1-labels.tmp" >"$1-labels-raw.out" 2>&1
		rm -f "$G_OUT/$1-labels.tmp"
	}
	R=/sys/bus/nd/devices/region0

	snapshot io-before pmem0
	g_run io-blk $BLKIO suite /dev/pmem0
	N=/sys/bus/nd/devices/namespace0.0
	sysfs_writes io $R 0 $ro_region
	sysfs_writes io $N 0 $ro_ns size uuid alt_name sector_size
	sysfs_writes io $R 3 align
	sysfs_writes io $R 0x100000000000 align
	sysfs_writes io $R x align read_only deep_flush
	sysfs_writes io $R 0 deep_flush
	sysfs_writes io $N x force_raw holder_class
	sysfs_writes io $N pfn holder_class
	snapshot io-after pmem0

	# A read-only region makes its disk read-only at once (revalidate_read_only).
	sysfs_writes ro $R 1 read_only
	sysfs_flush
	cat $R/read_only /sys/block/pmem0/ro >ro-set.out 2>&1
	g_run ro-set-write $BLKIO write-errno /dev/pmem0 8M 4K
	g_run ro-set-list.json ndctl list -RNi
	sysfs_writes ro $R 0 read_only
	sysfs_flush
	cat $R/read_only /sys/block/pmem0/ro >ro-clear.out 2>&1
	g_run ro-clear-write $BLKIO write-errno /dev/pmem0 8M 4K

	g_run lab-disable ndctl disable-region all
	g_run lab-init ndctl init-labels all
	g_run lab-enable ndctl enable-region all
	g_run lab-create.json ndctl create-namespace -r region0 -m raw -s 256M -n first \
		--uuid 5a7e0004-0000-4000-8000-000000000001
	snapshot lab-before pmem0
	g_run lab-blk $BLKIO suite /dev/pmem0
	N=/sys/bus/nd/devices/namespace0.0
	S=/sys/bus/nd/devices/namespace0.1
	sysfs_writes lab $R 0 $ro_region
	sysfs_writes lab $N 0 $ro_ns
	sysfs_writes lab $S 0 $ro_ns
	# Active: every reconfiguration is refused, valid values too (force_raw
	# is not a reconfiguration: C takes it any time).
	sysfs_writes lab $N 0 size
	sysfs_writes lab $N 268435456 size
	sysfs_writes lab $N 5a7e0004-0000-4000-8000-00000000000f uuid
	sysfs_writes lab $N other alt_name
	sysfs_writes lab $N 4096 sector_size
	sysfs_writes lab $N x force_raw holder_class
	sysfs_writes lab $N pfn holder_class
	# Idle seed: invalid values. A size before the uuid is refused, even an
	# aligned one that fits.
	sysfs_writes lab $S 12345 size
	sysfs_writes lab $S 16777216 size
	sysfs_writes lab $S 0x100000000000 size
	sysfs_writes lab $S x size uuid sector_size holder_class force_raw
	sysfs_writes lab $S not-a-uuid-at-all-not-a-uuid-at-all uuid
	sysfs_writes lab $S 5a7e0004-0000-4000-8000-00000000000g uuid
	sysfs_writes lab $S 5a7e0004-0000-4000-8000-0000000000 uuid
	sysfs_writes lab $S 5a7e0004-0000-4000-8000-0000000000011 uuid
	sysfs_writes lab $S 1000 sector_size
	sysfs_writes lab $S 4097 sector_size
	sysfs_writes lab $S 512x sector_size
	sysfs_writes lab $S 0 sector_size
	sysfs_writes lab $S 2 force_raw
	sysfs_writes lab $S btt2 holder_class
	sysfs_writes lab $S BTT holder_class
	sysfs_writes lab $S pfnx holder_class
	sysfs_writes lab $S "$(printf 'n%.0s' $(seq 1 80))" alt_name
	# NSLABEL_NAME_LEN is 64 with the NUL: 64 characters are one too many.
	sysfs_writes lab $S "$(printf 'n%.0s' $(seq 1 64))" alt_name
	snapshot lab-after pmem0

	# A seed with a uuid takes a size: only valid sizes, and never a used uuid.
	sysfs_writes seed $S 5a7e0004-0000-4000-8000-000000000002 uuid
	snapshot seed-before pmem0
	sysfs_writes seed $S 12345 size
	sysfs_writes seed $S 4096 size
	sysfs_writes seed $S 0x100000000000 size
	# Aligned, but more than the 768 MiB left.
	sysfs_writes seed $S 1073741824 size
	sysfs_writes seed $S 5a7e0004-0000-4000-8000-000000000001 uuid
	sysfs_writes seed $S 5A7E0004-0000-4000-8000-000000000001 uuid
	snapshot seed-after pmem0
	g_end
	exit 0
fi

t_init pmem-bad-input c-intree
img=$T_DIR/nvdimm.img
for side in ref cand; do
	rm -f "$img"
	t_guest "$side" --nvdimm "$img:1G:128K" || { [ $side = ref ] && t_done; continue; }
	t_check_dmesg "$side"
	for phase in io lab seed; do
		for f in regions.out devices.out block.out hash.out labels.out labels-raw.out; do
			t_cmp_text "$T_DIR/$side/$phase-before-$f" "$T_DIR/$side/$phase-after-$f" \
				"$(t_stack $side) stack: $phase-$f before and after the bad input"
		done
	done
done
rm -f "$img"
[ -e "$T_DIR/ref/done" ] && [ -e "$T_DIR/cand/done" ] && t_cmp_sides
t_done
