#!/usr/bin/env python3
"""Decode raw namespace label areas (`ndctl read-labels -o`) on the host.

    nslabels.py labels AREA.bin [JSON]
        the active labels of one DIMM, one line each: slot uuid name dpa
        rawsize flags position nlabel. With JSON (that DIMM's `ndctl
        read-labels -j`), also check that ndctl shows each active label with
        the same fields (ndctl lists every slot whose label names it, free
        or not, so extra entries are fine); exit 1 if not.
    nslabels.py namespaces MAPPINGS AREA_DIR
        the namespaces of one pmem region, one "uuid size name" line each,
        sorted: MAPPINGS holds the region's mappingN lines from sysfs
        ("nmemX,dpa,size,position"), AREA_DIR the areas as nmemX.bin. A
        namespace is a uuid with an active label inside the mapping of every
        DIMM; its size is the sum of the labels' rawsize. Uuids labelled on
        some DIMMs only are reported on stderr as "incomplete".

The current index follows Linux's nd_label_validate()/nd_label_copy rules:
signature, myoff, checksum (fletcher64 with the checksum field zeroed), a
sequence number in 1..3; of two valid blocks the one whose sequence follows
the other's (1 -> 2 -> 3 -> 1). Active labels are the slots whose bit in the
current index's free bitmap is clear. v1.1 labels are 128 bytes, v1.2 256.
"""
import json
import os
import struct
import sys
import uuid as uuidlib

SIG = b"NAMESPACE_INDEX\0"


def fletcher64(data):
    lo = hi = 0
    for (w,) in struct.iter_unpack("<I", data[: len(data) // 4 * 4]):
        lo = (lo + w) & 0xFFFFFFFF
        hi = (hi + lo) & 0xFFFFFFFF
    return hi << 32 | lo


def parse_index(area, off):
    if off + 72 > len(area) or area[off:off + 16] != SIG:
        return None
    flags, seq, myoff, mysize, otheroff, labeloff, nslot, major, minor, csum = \
        struct.unpack_from("<IIQQQQIHHQ", area, off + 16)
    if myoff != off or mysize < 72 or off + mysize > len(area) or not 1 <= seq <= 3:
        return None
    blk = bytearray(area[off:off + mysize])
    blk[64:72] = bytes(8)
    if fletcher64(bytes(blk)) != csum:
        return None
    return dict(seq=seq, mysize=mysize, labeloff=labeloff, nslot=nslot, major=major,
                minor=minor, free=area[off + 72:off + mysize])


def current_index(area):
    first = parse_index(area, 0)
    size = first["mysize"] if first else 256
    second = parse_index(area, size)
    if first is None and second is None and size != 256:
        second = parse_index(area, 256)
    valid = [i for i in (first, second) if i]
    if not valid:
        return None
    if len(valid) == 1:
        return valid[0]
    a, b = valid
    nxt = {1: 2, 2: 3, 3: 1}
    if nxt[a["seq"]] == b["seq"]:
        return b
    if nxt[b["seq"]] == a["seq"]:
        return a
    return a  # equal sequence numbers: C keeps the first


def active_labels(area):
    idx = current_index(area)
    if idx is None:
        return []
    lsize = 256 if (idx["major"], idx["minor"]) >= (1, 2) else 128
    out = []
    for slot in range(idx["nslot"]):
        if idx["free"][slot // 8] >> (slot % 8) & 1:
            continue
        off = idx["labeloff"] + slot * lsize
        # Dumps with their trailing zero bytes cut off (formats/testdata) end early.
        raw = area[off:off + lsize].ljust(lsize, b"\0")
        u = str(uuidlib.UUID(bytes=raw[0:16]))
        name = raw[16:80].split(b"\0", 1)[0].decode(errors="replace")
        flags, nlabel, position, cookie, lbasize, dpa, rawsize, lslot = \
            struct.unpack_from("<IHHQQQQI", raw, 80)
        out.append(dict(slot=slot, uuid=u, name=name, dpa=dpa, rawsize=rawsize,
                        flags=flags, position=position, nlabel=nlabel, lslot=lslot))
    return out


def read(path):
    with open(path, "rb") as f:
        return f.read()


def cmd_labels(args):
    labels = active_labels(read(args[0]))
    for l in labels:
        print(f"{l['slot']} {l['uuid']} {l['name']!r} {l['dpa']:#x} {l['rawsize']:#x} "
              f"{l['flags']:#x} {l['position']} {l['nlabel']}")
    if len(args) < 2:
        return 0
    dump = json.load(open(args[1]))
    dimm = dump[0] if isinstance(dump, list) else dump
    shown = {(j.get("slot"), j.get("uuid"), j.get("name"), j.get("dpa"), j.get("rawsize"))
             for j in dimm.get("label", [])}
    bad = 0
    for l in labels:
        key = (l["slot"], l["uuid"], l["name"], l["dpa"], l["rawsize"])
        if key not in shown:
            print(f"read-labels -j does not show active label {key}", file=sys.stderr)
            bad = 1
    return bad


def cmd_namespaces(args):
    maps = [line.strip().split(",") for line in open(args[0]) if line.strip()]
    found = {}
    for dimm, start, size, _pos in maps:
        start, size = int(start, 0), int(size, 0)
        for l in active_labels(read(os.path.join(args[1], dimm + ".bin"))):
            if start <= l["dpa"] < start + size:
                e = found.setdefault(l["uuid"], {"dimms": set(), "size": 0, "name": l["name"]})
                e["dimms"].add(dimm)
                e["size"] += l["rawsize"]
    for u, e in sorted(found.items()):
        if len(e["dimms"]) == len(maps):
            print(f"{u} {e['size']} {e['name']}")
        else:
            print(f"incomplete {u} on {' '.join(sorted(e['dimms']))}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    cmds = {"labels": cmd_labels, "namespaces": cmd_namespaces}
    if len(sys.argv) < 3 or sys.argv[1] not in cmds:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    sys.exit(cmds[sys.argv[1]](sys.argv[2:]))
