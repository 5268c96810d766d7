#!/usr/bin/env python3
"""BTT info blocks (struct btt_sb of drivers/nvdimm/btt.h): write one, lay
arenas out, read them back.

    bttinfo.py write DEV OFFSET --uuid U [--parent-uuid P] [--major 1 --minor 1]
                     [--lbasize 4096] [--size BYTES]
    bttinfo.py layout RAWSIZE LBASIZE
        the arenas C's create_arenas() and alloc_arena() make of RAWSIZE bytes
        (the namespace less the BTT's initial offset): per arena a line
        `arena N: off O size S external_lba_start L external_nlba E`
    bttinfo.py read FILE OFFSET
        the info blocks of a BTT whose first arena starts at OFFSET of FILE
        (a backing file: namespace offset plus the initial offset), following
        nextoff: one line of fields per arena, uuids and checksum left out
        (they differ between writers), then `checksum ok|BAD` of each

The write form:

Only what nd_btt_probe checks has to be right (signature, parent uuid,
fletcher64 checksum, version); the geometry fields are filled the way C's
alloc_arena lays out one arena of SIZE bytes (default: the device's size less
OFFSET), so the block also looks sane to a reader, but the map and log are not
written: a BTT driver that loads it finds no valid flog. It is for testing
autodetection (the btt device that claims the namespace), not data.
"""
import argparse
import os
import struct
import sys
import uuid as uuidlib

SIG = b'BTT_ARENA_INFO\0'.ljust(16, b'\0')


def fletcher64(data):
    lo = hi = 0
    for (w,) in struct.iter_unpack('<I', data):
        lo = (lo + w) & 0xffffffff
        hi = (hi + lo) & 0xffffffff
    return (hi << 32) | lo


ARENA_MAX = 1 << 39
ARENA_MIN = 1 << 24
PG = 4096
NFREE = 256
LOG_GRP = 64


def arena(size, lbasize):
    """C's alloc_arena() for an arena of `size` bytes: its geometry, offsets
    relative to the arena's start."""
    internal = (lbasize + 63) // 64 * 64
    logsize = (NFREE * LOG_GRP + PG - 1) // PG * PG
    avail = size - size % PG - 2 * PG - logsize
    internal_nlba = (avail - PG) // (internal + 4)
    external_nlba = internal_nlba - NFREE
    mapsize = (external_nlba * 4 + PG - 1) // PG * PG
    dataoff = PG
    mapoff = dataoff + avail - mapsize
    logoff = mapoff + mapsize
    return {'internal_lbasize': internal, 'internal_nlba': internal_nlba,
            'external_nlba': external_nlba, 'dataoff': dataoff, 'mapoff': mapoff,
            'logoff': logoff, 'info2off': logoff + logsize}


def block(args, size):
    g = arena(size, args.lbasize)
    b = bytearray(4096)
    struct.pack_into('<16s16s16sIHHIIIIIIQQQQQ', b, 0, SIG,
                     uuidlib.UUID(args.uuid).bytes,
                     uuidlib.UUID(args.parent_uuid).bytes,
                     0, args.major, args.minor, args.lbasize, g['external_nlba'],
                     g['internal_lbasize'], g['internal_nlba'], NFREE, PG, 0,
                     g['dataoff'], g['mapoff'], g['logoff'], g['info2off'])
    struct.pack_into('<Q', b, 4088, fletcher64(bytes(b)))
    return bytes(b)


FIELDS = ('flags', 'major', 'minor', 'external_lbasize', 'external_nlba', 'internal_lbasize',
          'internal_nlba', 'nfree', 'infosize', 'nextoff', 'dataoff', 'mapoff', 'logoff', 'info2off')


def layout(rawsize, lbasize):
    """C's create_arenas() over alloc_arena(): (offset, size, external start, external nlba)."""
    out, remaining, off, start = [], rawsize, 0, 0
    while remaining:
        size = min(ARENA_MAX, remaining)
        remaining -= size
        if size < ARENA_MIN:
            break
        external = arena(size, lbasize)['external_nlba']
        out.append((off, size, start, external))
        start += external
        off += size
    return out


def read_chain(path, first):
    lines, off = [], first
    with open(path, 'rb') as f:
        for i in range(64):
            f.seek(off)
            b = f.read(4096)
            if len(b) < 4096 or b[:16] != SIG:
                lines.append('arena %d at +%d: no info block' % (i, off - first))
                break
            v = struct.unpack_from('<IHHIIIIIIQQQQQ', b, 48)
            d = dict(zip(FIELDS, v))
            z = bytearray(b)
            z[4088:] = bytes(8)
            ok = struct.unpack_from('<Q', b, 4088)[0] == fletcher64(bytes(z))
            lines.append('arena %d at +%d: %s checksum %s' % (
                i, off - first, ' '.join('%s=%d' % (k, d[k]) for k in FIELDS), 'ok' if ok else 'BAD'))
            if not d['nextoff']:
                break
            off += d['nextoff']
    return lines


def main(argv):
    if argv[:1] == ['layout'] and len(argv) == 3:
        for i, (off, size, start, nlba) in enumerate(layout(int(argv[1], 0), int(argv[2], 0))):
            print('arena %d: off %d size %d external_lba_start %d external_nlba %d' % (i, off, size, start, nlba))
        return 0
    if argv[:1] == ['read'] and len(argv) == 3:
        print('\n'.join(read_chain(argv[1], int(argv[2], 0))))
        return 0
    p = argparse.ArgumentParser()
    p.add_argument('cmd', choices=['write'])
    p.add_argument('dev')
    p.add_argument('offset', type=lambda s: int(s, 0))
    p.add_argument('--uuid', required=True)
    p.add_argument('--parent-uuid', default=str(uuidlib.UUID(int=0)))
    p.add_argument('--major', type=int, default=1)
    p.add_argument('--minor', type=int, default=1)
    p.add_argument('--lbasize', type=int, default=4096)
    p.add_argument('--size', type=lambda s: int(s, 0))
    a = p.parse_args(argv)
    fd = os.open(a.dev, os.O_RDWR)
    try:
        size = a.size or os.lseek(fd, 0, os.SEEK_END) - a.offset
        os.pwrite(fd, block(a, size), a.offset)
        os.fsync(fd)
    finally:
        os.close(fd)
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
