#!/usr/bin/env python3
"""The pfn info blocks (struct nd_pfn_sb) on NVDIMM backing files, for pfn-qemu.

    pfninfo.py find FILE...           each block found: file, offset, fields
    pfninfo.py save OUT FILE...       keep the blocks found (file index, offset
                                      and the 4 KiB) in OUT
    pfninfo.py compare SAVED FILE...  each saved block against the block at the
                                      same place of FILE... (same index): the
                                      saved block with the other's uuid and
                                      parent_uuid put in and resealed must equal
                                      it byte for byte; exit 1 if any differs
                                      or is missing

A block is a "NVDIMM_PFN_INFO\\0" or "NVDIMM_DAX_INFO\\0" signature at a 4 KiB
boundary whose checksum (nd_fletcher64, the field zeroed) matches.
"""
import struct
import sys

SIGS = (b'NVDIMM_PFN_INFO\0', b'NVDIMM_DAX_INFO\0')
SB = 4096
CSUM = 4088
FIELDS = [('flags', '<I', 48), ('version_major', '<H', 52), ('version_minor', '<H', 54),
          ('dataoff', '<Q', 56), ('npfns', '<Q', 64), ('mode', '<I', 72), ('start_pad', '<I', 76),
          ('end_trunc', '<I', 80), ('align', '<I', 84), ('page_size', '<I', 88),
          ('page_struct_size', '<H', 92), ('checksum', '<Q', CSUM)]


def fletcher64(buf):
    lo, hi = 0, 0
    for (w,) in struct.iter_unpack('<I', buf):
        lo = (lo + w) & 0xffffffff
        hi = (hi + lo) & 0xffffffffffffffff
    return ((hi << 32) | lo) & 0xffffffffffffffff


def seal(sb):
    sb = bytearray(sb)
    sb[CSUM:CSUM + 8] = b'\0' * 8
    sb[CSUM:CSUM + 8] = struct.pack('<Q', fletcher64(bytes(sb)))
    return bytes(sb)


def blocks(path):
    data = open(path, 'rb').read()
    out = []
    for sig in SIGS:
        at = data.find(sig)
        while at >= 0:
            sb = data[at:at + SB]
            if at % 4096 == 0 and len(sb) == SB and seal(sb) == sb:
                out.append((at, sb))
            at = data.find(sig, at + 1)
    return sorted(out)


def fields(sb):
    return ' '.join('%s=%d' % (n, struct.unpack_from(f, sb, o)[0]) for n, f, o in FIELDS)


def main(argv):
    if len(argv) >= 2 and argv[0] == 'find':
        n = 0
        for path in argv[1:]:
            for at, sb in blocks(path):
                print('%s %#x %s %s' % (path.rsplit('/', 1)[-1], at, sb[:15].decode(), fields(sb)))
                n += 1
        return 0 if n else 1
    if len(argv) >= 3 and argv[0] == 'save':
        with open(argv[1], 'wb') as out:
            for i, path in enumerate(argv[2:]):
                for at, sb in blocks(path):
                    out.write(struct.pack('<IQ', i, at) + sb)
        return 0
    if len(argv) >= 3 and argv[0] == 'compare':
        saved = open(argv[1], 'rb').read()
        found = [dict(blocks(p)) for p in argv[2:]]
        bad = 0
        rec = 12 + SB
        for k in range(0, len(saved), rec):
            i, at = struct.unpack_from('<IQ', saved, k)
            ref = saved[k + 12:k + rec]
            got = found[i].get(at) if i < len(found) else None
            where = '%s %#x' % (argv[2 + i].rsplit('/', 1)[-1] if i < len(found) else i, at)
            if got is None:
                print('%s: no block where C wrote one (%s)' % (where, fields(ref)))
                bad += 1
                continue
            want = seal(ref[:16] + got[16:48] + ref[48:])
            if want == got:
                print('%s: equal to C\'s but for the uuids (%s)' % (where, fields(got)))
            else:
                print('%s: differs: C %s; candidate %s' % (where, fields(want), fields(got)))
                bad += 1
        extra = sum(len(f) for f in found) - len(saved) // rec
        if extra > 0:
            print('%d block(s) where C wrote none' % extra)
            bad += 1
        return 1 if bad else 0
    sys.stderr.write(__doc__)
    return 2


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
