#!/bin/bash
# pfn-qemu: fsdax (pfn devices and nd_pmem's pfn mode) on QEMU NVDIMMs, against
# Linux's C modules as shipped (issue 11: acceptance 1, 2 and 5 on a QEMU
# NVDIMM). Every boot has the same four NVDIMMs: two in place P and two in
# place Q (the first two and the last two in physical address order); which
# file sits where changes:
#   P-A  48 MiB without a label area: namespaceN.0 (namespace_io) is the
#        whole DIMM (a label area would cut the end of the namespace off the
#        2 MiB alignment a raw namespace needs to probe, and so to be
#        autodetected, on both stacks; and misalign the next DIMM)
#   P-B  96 MiB and a 128 KiB label area, labelled with init-labels (v1.1)
# Set X (C's media) and set Y (the candidate's) are two such pairs of files.
# X is always in place P, Y in place Q (the labels of a DIMM moved to another
# slot no longer match its interleave-set cookie, on either stack).
#   ref    Y is blank. C configures X (below), writes pattern "c"
#          on A and a MAP_SYNC file on B2's ext4 and B1's (-M dev and
#          -M mem); bad writes to a bound
#          pfn; a 16 MiB -M mem -a 4K namespace is made and destroyed; then
#          the modules reload (a "reboot": the pfns are found again on the
#          media) and C shows X again
#   cand   The candidate shows X as it finds it at boot, and
#          must read C's pattern and file; then it configures Y exactly as C
#          configured X, with the same checks, writes pattern "r" and its own
#          file, reloads and shows Y again
#   ref-r  C shows both as it finds them at boot and must read
#          the candidate's pattern and file on Y and C's own on X
# Configuring a set: region align 4096 on A's region (as btt-data does);
# `create-namespace -f -e namespaceN.0 -m fsdax -M mem -a 2M`, then the same
# with -M dev -a 4K; B: init-labels, `create-namespace -m fsdax -M mem -a 2M
# -s 32M` (B1) and `-M dev -a 2M -s 32M` (B2). After each step: `ndctl list
# -N -v` and every region, namespace, pfn and pmem disk attribute (g_nds;
# uuids ndctl makes up print as <uuid-N>), restricted to the set's place, its
# devices named after the DIMM (regionA, namespaceB.1, pfnA.1, ...).
# Compared: the candidate's views of Y with C's of X (physical addresses
# masked); the candidate's view of
# X at boot with C's after its reload, and C's views at ref-r with the
# candidate's (same media, same uuids); every ndctl exit status and stdout;
# bad writes' errno; the info blocks (host side, test/tools/pfninfo.py): each
# the candidate wrote equals C's for the same namespace byte for byte once
# C's uuid and parent uuid (random, from ndctl) are replaced by the
# candidate's and the checksum resealed.
# Needs CONFIG_FS_DAX and EXT4 (scripts/kernel.config has both).
. "$(dirname "$0")/../lib.sh"
BLKIO="python3 $RLN_TOP/test/tools/blkio.py"
DAXMAP="python3 $RLN_TOP/test/tools/daxmap.py"

if [ "${1:-}" = --guest ]; then
	g_begin "$2"
	shift 2
	g_modprobe nfit
	udevadm settle -t 60
	D=/sys/bus/nd/devices
	MNT=/tmp/pfn-qemu-mnt
	mkdir -p $MNT
	stamp() { echo "$1 $(cut -d' ' -f1 /proc/uptime)" >>"$G_OUT/stamps.txt"; }
	# regs PLACE: the ids of the place's two regions, A's then B's. Regions
	# are not numbered in the order of the NVDIMMs on QEMU's command line
	# (the label-less ones come first), but their addresses are in that
	# order.
	regs() {
		local r ids
		ids=$(for r in $D/region*; do echo "$(cat "$r/resource") ${r##*region}"; done | sort | awk '{print $2}' | tr '\n' ' ')
		set -- "$1" $ids
		case "$1" in P) echo "$2 $3" ;; Q) echo "$4 $5" ;; esac
	}
	# norm PLACE FILE...: device numbers name the DIMM (A or B) instead of
	# the region: regionA, namespaceA.0, pfnB.1, pmemB.1, nmemA.
	norm() {
		local a b na nb
		read -r a b <<<"$(regs "$1")"
		shift
		na=$(cut -d, -f1 $D/region$a/mapping0) nb=$(cut -d, -f1 $D/region$b/mapping0)
		sed -i -E "s/(region|namespace|pfn|dax|btt|pmem)$a([^0-9]|\$)/\1A\2/g;
			s/(region|namespace|pfn|dax|btt|pmem)$b([^0-9]|\$)/\1B\2/g;
			s/\b$na\b/nmemA/g; s/\b$nb\b/nmemB/g" "$@"
	}
	# view PLACE TAG [mask]: ndctl's and sysfs's view of the place's
	# regions, as TAG-PLACE-*; with mask, the uuids of the place's devices
	# (and of create-*.json) print as <uuid-N>, N in order of first
	# appearance in the place.
	view() {
		local place=$1 tag=$2 a b f
		read -r a b <<<"$(regs "$place")"
		udevadm settle -t 30
		ndctl list -N -v >"$G_OUT/all.json" 2>/dev/null
		jq "[(if type == \"array\" then . else [.] end)[] | select(.dev | test(\"^namespace[$a$b]\\\\.\"))]" \
			"$G_OUT/all.json" >"$G_OUT/$tag-$place-list.json"
		rm -f "$G_OUT/all.json"
		g_nds dump "$G_OUT/all" && g_nds dump_pfns "$G_OUT/all" || g_fatal "view $tag failed"
		for f in regions devices block pfn; do
			grep -E "^(/dev/)?(region|namespace|pfn|dax|btt|pmem)[$a$b]([^0-9]|\$)" "$G_OUT/all-$f.out" \
				>"$G_OUT/$tag-$place-$f.out"
			rm -f "$G_OUT/all-$f.out"
		done
		norm "$place" "$G_OUT/$tag-$place"-*
		if [ "${3:-}" = mask ]; then
			for f in "$G_OUT/$tag-$place" "$G_OUT/create"; do
				g_nds mask_uuids "$f" "/tmp/pfn-qemu-uuids-$place.txt" 5a7e0005- "^[a-z]+[$a$b]\\." ||
					g_fatal "mask $tag"
			done
		fi
	}
	# ns_of KEY: the namespace create step KEY made.
	ns_of() { jq -r .dev "$G_OUT/create-$1.json"; }
	# setup PLACE: configure the place's set as the header says.
	setup() {
		local a b dimm
		read -r a b <<<"$(regs "$1")"
		echo 4096 >$D/region$a/align
		g_run create-A-mem.json ndctl create-namespace -f -e namespace$a.0 -m fsdax -M mem -a 2M
		view "$1" setup-A-mem mask
		g_run create-A.json ndctl create-namespace -f -e namespace$a.0 -m fsdax -M dev -a 4K
		dimm=$(cut -d, -f1 $D/region$b/mapping0)
		g_run B-disable ndctl disable-region region$b
		g_run B-init ndctl init-labels -f "$dimm"
		g_run B-enable ndctl enable-region region$b
		g_run create-B1.json ndctl create-namespace -r region$b -m fsdax -M mem -a 2M -s 32M
		g_run create-B2.json ndctl create-namespace -r region$b -m fsdax -M dev -a 2M -s 32M
		view "$1" setup mask
		# Writes to a bound pfn: refused, nothing changes.
		pfn=$(cat $D/"$(ns_of A)"/holder)
		g_nds writes_nl "$G_OUT/bound-writes.out" <<-EOF || g_fatal "bound writes"
			$pfn ram mode
			$pfn pmem mode
			$pfn none mode
			$pfn 2097152 align
			$pfn 4096 align
			$pfn 3 align
			$pfn 5a7e0005-0000-4000-8000-000000000001 uuid
			$pfn not-a-uuid uuid
			$pfn NL namespace
			$pfn namespace$b.0 namespace
			$pfn 0 resource size supported_alignments
		EOF
		view "$1" bound mask
		norm "$1" "$G_OUT"/create-*.json "$G_OUT/bound-writes.out"
	}
	for action in "$@"; do
		stamp "$action"
		case "$action" in
		view-*) view "${action#view-}" boot ;;
		setup-*) setup "${action#setup-}" ;;
		write-*|verify-*)
			# ACTION-PLACE-SEED: pattern on A (start, middle, end).
			op=${action%%-*} rest=${action#*-} place=${rest%%-*} seed=${rest#*-}
			read -r a b <<<"$(regs "$place")"
			for key in A; do
				# A: the first namespace of region a.
				dev=/dev/$(ndctl list -N -r region$a | jq -r \
					'(if type == "array" then . else [.] end) | sort_by(.dev) | .[0].blockdev')
				size=$(blockdev --getsize64 "$dev")
				g_run "$key-$op-$seed" $BLKIO pattern "$op" "$dev" "$seed" 0:1M $((size / 2 / 1048576 * 1048576)):1M -1M:1M
				echo "$key $dev $size" >"$G_OUT/$key-$op-$seed-dev.out"
			done
			;;
		mkfs-*|fsread-*)
			# ACTION-PLACE-SEED: ext4 on B2 (-M dev) and on B1 (-M mem,
			# its files prefixed mem-) mounted -o dax, a file written
			# (mkfs: stores through MAP_SYNC made durable from user
			# space, CLFLUSH and SFENCE, no msync) or read (fsread).
			op=${action%%-*} rest=${action#*-} place=${rest%%-*} seed=${rest#*-}
			read -r a b <<<"$(regs "$place")"
			for key in B2 B1; do
				pre=
				[ $key = B1 ] && pre=mem-
				dev=/dev/$(ndctl list -N -r region$b | jq -r --argjson i "$([ $key = B1 ] && echo 0 || echo 1)" \
					'(if type == "array" then . else [.] end) | sort_by(.dev) | .[$i].blockdev')
				if [ "$op" = mkfs ]; then
					g_run "${pre}mkfs" mkfs.ext4 -q -F -b 4096 -E nodiscard "$dev"
				fi
				g_run "$pre$op-mount" mount -o dax "$dev" $MNT
				grep " $MNT " /proc/mounts | awk '{print $3, ($4 ~ /(^|,)dax(=always)?(,|$)/) ? "dax" : "no dax"}' >"$G_OUT/$pre$op-mounted.out"
				if [ "$op" = mkfs ]; then
					g_run "$pre$op-$seed-map" $DAXMAP write $MNT/file 4194304 "$seed" --user-flush
				else
					g_run "$pre$op-$seed-map" $DAXMAP read $MNT/file "$seed"
				fi
				g_run "$pre$op-umount" umount $MNT
			done
			;;
		tmp-*)
			# A 16 MiB namespace -M mem -a 4K made and destroyed.
			read -r a b <<<"$(regs "${action#tmp-}")"
			g_run create-tmp.json ndctl create-namespace -r region$b -m fsdax -M mem -a 4K -s 16M
			view "${action#tmp-}" tmp mask
			g_run tmp-destroy ndctl destroy-namespace -f "$(ns_of tmp)"
			view "${action#tmp-}" tmp-gone mask
			norm "${action#tmp-}" "$G_OUT"/create-tmp.json
			;;
		reload-*)
			# A "reboot": the modules go and come back, the pfns are found
			# on the media again.
			g_unload_all || g_fatal "could not unload the stack: $(lsmod | awk 'NR>1{print $1}' | tr '\n' ' ')"
			g_modprobe nfit
			udevadm settle -t 60
			# As found (same media, same uuids as the next boot) and masked
			# (to compare with the other set).
			view "${action#reload-}" reload
			view "${action#reload-}" reloadm mask
			;;
		*) g_fatal "unknown action $action" ;;
		esac
	done
	stamp end
	g_end
	exit 0
fi

t_init pfn-qemu c-intree
xa=$T_DIR/x-a.img xb=$T_DIR/x-b.img ya=$T_DIR/y-a.img yb=$T_DIR/y-b.img
rm -f "$xa" "$xb" "$ya" "$yb"
# nv P-A P-B Q-A Q-B: the four NVDIMMs, in place order.
# B's file holds 96 MiB and its label area (QEMU maps the file less the label
# area), so that the DIMM after it starts 2 MiB aligned.
nv() {
	local b=$((96 * 1048576 + 131072))
	echo --nvdimm "$1:48M:0" --nvdimm "$2:$b:128K" --nvdimm "$3:48M:0" --nvdimm "$4:$b:128K"
}
PFNINFO="python3 $RLN_TOP/test/tools/pfninfo.py"
# t_ok SIDE NAME LABEL: the command behind NAME exited 0.
t_ok() {
	[ "$(cat "$T_DIR/$1/$2.rc" 2>/dev/null)" = 0 ] ||
		t_fail "$1 ($(t_stack "$1")): $3: exit $(cat "$T_DIR/$1/$2.rc" 2>/dev/null): $(head -c 300 "$T_DIR/$1/$2.err" 2>/dev/null | tr '\n' ';')"
}
# t_matched SIDE SEED LABEL: patterns on A read back.
t_matched() {
	local key
	for key in A; do
		if [ ! -s "$T_DIR/$1/$key-verify-$2.out" ] || grep -v -q ': match$' "$T_DIR/$1/$key-verify-$2.out"; then
			t_fail "$3 ($key): $(cat "$T_DIR/$1/$key-verify-$2.out" "$T_DIR/$1/$key-verify-$2.err" 2>/dev/null | head -n 3 | tr '\n' ';')"
		fi
	done
}
# t_same A B FILES...: each file of side A equals side B's of the same name,
# or FILE=OTHER: A's FILE against B's OTHER.
t_same() {
	local a=$1 b=$2 f fa fb
	shift 2
	for f in "$@"; do
		fa=${f%%=*} fb=${f#*=}
		t_cmp_file "$T_DIR/$a/$fa" "$T_DIR/$b/$fb" "$fa ($a) vs $fb ($b)"
	done
}
# views TAG PLACE [TAG2 PLACE2]: the file names of a view.
views() {
	local f out=()
	for f in list.json regions.out devices.out block.out pfn.out; do
		if [ $# -gt 2 ]; then out+=("$1-$2-$f=$3-$4-$f"); else out+=("$1-$2-$f"); fi
	done
	echo "${out[@]}"
}
SETUP_FILES="create-A-mem.json create-A-mem.rc create-A.json create-A.rc B-disable.rc B-init.rc B-enable.rc
	create-B1.json create-B1.rc create-B2.json create-B2.rc bound-writes.out create-tmp.json create-tmp.rc
	tmp-destroy.out tmp-destroy.err tmp-destroy.rc mkfs.rc mkfs-mount.rc mkfs-mounted.out mkfs-umount.rc
	mem-mkfs.rc mem-mkfs-mount.rc mem-mkfs-mounted.out mem-mkfs-umount.rc"

NV=$(nv "$xa" "$xb" "$ya" "$yb")
# t_same_addr A B FILE=OTHER...: t_same with what differs between the places
# masked, for views of the two places: physical addresses and the NFIT's
# SPA range index.
t_same_addr() {
	local a=$1 b=$2 f x='s/0x[0-9a-f]{9,}/<addr>/g; s|(nfit/range_index [0-7]+: )[0-9]+|\1<index>|'
	shift 2
	for f in "$@"; do
		sed -E "$x" "$T_DIR/$a/${f%%=*}" >"$T_DIR/$a/${f%%=*}.addr" 2>/dev/null
		sed -E "$x" "$T_DIR/$b/${f#*=}" >"$T_DIR/$b/${f#*=}.addr" 2>/dev/null
		t_same "$a" "$b" "${f%%=*}.addr=${f#*=}.addr"
	done
}
# t_by_ns SIDE TAG PLACE: the pfns that autodetect made at boot are numbered
# in the order their namespaces happened to probe, which varies from boot to
# boot on both stacks: in a copy of the view's files (.ns), each claiming
# pfn is named after its namespace (pfn<namespaceB.0>), lines sorted.
t_by_ns() {
	python3 - "$T_DIR/$1/$2-$3" <<-'PY'
		import glob, re, sys
		pre = sys.argv[1]
		names = {}
		for line in open(pre + '-pfn.out'):
		    m = re.match(r'(pfn[A-Z]\.\d+)/namespace \d+: (namespace\S+)$', line.strip())
		    if m:
		        names[m.group(1)] = 'pfn<%s>' % m.group(2)
		for f in glob.glob(pre + '-*'):
		    if f.endswith('.ns') or f.endswith('.addr'):
		        continue
		    t = open(f).read()
		    t = re.sub(r'\bpfn[A-Z]\.\d+\b', lambda m: names.get(m.group(0), m.group(0)), t)
		    if f.endswith('.out'):
		        t = ''.join(sorted(t.splitlines(True)))
		    open(f + '.ns', 'w').write(t)
	PY
}
# views_ns TAG PLACE TAG2 PLACE2: the .ns names of two views' files.
views_ns() {
	local f out=()
	for f in list.json regions.out devices.out block.out pfn.out; do out+=("$1-$2-$f.ns=$3-$4-$f.ns"); done
	echo "${out[@]}"
}

t_guest ref $NV -- setup-P write-P-c verify-P-c mkfs-P-c tmp-P reload-P fsread-P-c || t_done
t_check_dmesg ref
for f in create-A-mem create-A create-B1 create-B2 create-tmp mkfs-c-map mem-mkfs-c-map; do t_ok ref "$f" "C: $f"; done
t_matched ref c "C reading back its own pattern"
for f in mkfs-mounted mem-mkfs-mounted; do
	grep -q 'ext4 dax' "$T_DIR/ref/$f.out" || t_fail "C: ext4 not mounted with dax ($f): $(cat "$T_DIR/ref/$f.out")"
done
# C's info blocks on X, kept for the byte comparison.
$PFNINFO find "$xa" "$xb" >"$T_DIR/x-blocks.txt" 2>&1 || t_fail "C's info blocks: $(cat "$T_DIR/x-blocks.txt")"
$PFNINFO save "$T_DIR/x-blocks.bin" "$xa" "$xb" 2>&1

if t_guest cand $NV -- view-P verify-P-c fsread-P-c setup-Q write-Q-r verify-Q-r mkfs-Q-r tmp-Q reload-Q fsread-Q-r; then
	t_check_dmesg cand
	# C's media as the candidate finds it at boot: as C found it after its
	# reload (same media, same uuids).
	t_by_ns ref reload P
	t_by_ns cand boot P
	t_same ref cand $(views_ns reload P boot P)
	t_matched cand c "$T_CAND reading C's pattern"
	t_same ref cand fsread-c-map.out fsread-mounted.out mem-fsread-c-map.out mem-fsread-mounted.out
	# The candidate configures Y (place Q) as C configured X (place P).
	t_same_addr ref cand $(views setup-A-mem P setup-A-mem Q) $(views setup P setup Q) $(views bound P bound Q) \
		$(views tmp P tmp Q) $(views tmp-gone P tmp-gone Q)
	t_by_ns ref reloadm P
	t_by_ns cand reloadm Q
	t_same_addr ref cand $(views_ns reloadm P reloadm Q)
	t_same ref cand $SETUP_FILES
	t_matched cand r "$T_CAND reading back its own pattern"
	for f in create-A-mem create-A create-B1 create-B2 create-tmp mkfs-r-map fsread-r-map mem-mkfs-r-map mem-fsread-r-map; do
		t_ok cand "$f" "$T_CAND: $f"
	done
	# The info blocks it wrote: C's, but for the uuids.
	$PFNINFO find "$ya" "$yb" >"$T_DIR/y-blocks.txt" 2>&1 || t_fail "$T_CAND's info blocks: $(cat "$T_DIR/y-blocks.txt")"
	if ! $PFNINFO compare "$T_DIR/x-blocks.bin" "$ya" "$yb" >"$T_DIR/blocks-compare.txt" 2>&1; then
		t_fail "info blocks differ from C's: $(head -n 20 "$T_DIR/blocks-compare.txt" | tr '\n' ';')"
	fi
	sed 's/^/   /' "$T_DIR/blocks-compare.txt"
	if t_guest ref-r $NV -- view-P view-Q verify-P-c verify-Q-r fsread-Q-r; then
		t_check_dmesg ref-r
		# C finds what the candidate left as the candidate did after its
		# reload, and C's own X as the candidate found it.
		t_by_ns cand reload Q
		t_by_ns ref-r boot Q
		t_by_ns ref-r boot P
		t_same cand ref-r $(views_ns reload Q boot Q) $(views_ns boot P boot P)
		t_matched ref-r r "C reading the candidate's pattern"
		t_matched ref-r c "C reading its own pattern after the candidate's boot"
		t_same cand ref-r fsread-r-map.out mem-fsread-r-map.out
		t_ok ref-r fsread-r-map "C: reading the candidate's MAP_SYNC file"
		t_ok ref-r mem-fsread-r-map "C: reading the candidate's MAP_SYNC file on -M mem"
	fi
fi
for s in ref cand ref-r; do
	[ -e "$T_DIR/$s/stamps.txt" ] && echo "   $s phases (uptime s): $(tr '\n' ' ' <"$T_DIR/$s/stamps.txt")"
done
rm -f "$xa" "$xb" "$ya" "$yb"
t_done
