#!/usr/bin/env python3
"""Write a BTT info block (struct btt_sb of drivers/nvdimm/btt.h) to a device.

    bttinfo.py write DEV OFFSET --uuid U [--parent-uuid P] [--major 1 --minor 1]
                     [--lbasize 4096] [--size BYTES]

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


def block(args, size):
    lbasize = args.lbasize
    internal = max(lbasize, 512)
    internal = (internal + 63) // 64 * 64
    nfree = 256
    logsize = nfree * 64
    avail = size - 4096 - 4096 - logsize
    internal_nlba = avail // (internal + 4)
    # Round the map to a page, as C does, and take that space back from the data.
    mapsize = (internal_nlba - nfree) * 4
    mapsize = (mapsize + 4095) // 4096 * 4096
    internal_nlba = (avail - mapsize) // internal
    external_nlba = internal_nlba - nfree
    dataoff = 4096
    mapoff = dataoff + internal_nlba * internal
    logoff = mapoff + mapsize
    info2off = size - 4096
    b = bytearray(4096)
    struct.pack_into('<16s16s16sIHHIIIIIIQQQQQ', b, 0, SIG,
                     uuidlib.UUID(args.uuid).bytes,
                     uuidlib.UUID(args.parent_uuid).bytes,
                     0, args.major, args.minor, lbasize, external_nlba,
                     internal, internal_nlba, nfree, 4096, 0,
                     dataoff, mapoff, logoff, info2off)
    struct.pack_into('<Q', b, 4088, fletcher64(bytes(b)))
    return bytes(b)


def main(argv):
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
