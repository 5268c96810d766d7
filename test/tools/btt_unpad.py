#!/usr/bin/env python3
"""Rewrite a BTT's flog in the old, unpadded layout (Linux before 4.15).

    btt_unpad.py FILE OFFSET

FILE holds a namespace whose BTT starts at byte OFFSET (the namespace's
start plus the initial offset: 4096 for a v1.1 BTT). For every arena, each
64-byte flog group with entries in slots 0 and 1 (the padded layout C
writes) gets the entry of slot 1 moved to slot 2, as kernels before 4.15
wrote it; groups of one entry (lanes never written) are the same in both
layouts. Checks the info block's signature and checksum first. Prints the
number of arenas and of groups moved; exits 1 if there was nothing to move
(the result would not tell the layouts apart).
"""
import struct
import sys

from bttinfo import fletcher64  # the BTT info block's checksum, once

INFO = 4096
SIG = b'BTT_ARENA_INFO\0'


def unpad(f, base):
    """Move slot 1 to slot 2 in every written flog group of the BTT at byte
    `base` of the open file `f` (read and written in place). Returns the
    numbers of arenas and of groups moved."""
    moved = arenas = 0
    off = base
    while True:
        f.seek(off)
        info = bytearray(f.read(INFO))
        if info[:15] != SIG:
            sys.exit('no BTT info block at %#x' % off)
        stored = struct.unpack_from('<Q', info, INFO - 8)[0]
        struct.pack_into('<Q', info, INFO - 8, 0)
        if fletcher64(bytes(info)) != stored:
            sys.exit('bad info block checksum at %#x' % off)
        nfree = struct.unpack_from('<I', info, 72)[0]
        nextoff, _, _, logoff = struct.unpack_from('<QQQQ', info, 80)
        arenas += 1
        for lane in range(nfree):
            gpos = off + logoff + lane * 64
            f.seek(gpos)
            g = bytearray(f.read(64))
            if g[16:32] == bytes(16):
                continue
            if g[32:48] != bytes(16):
                sys.exit('lane %d at %#x is not in the padded layout' % (lane, gpos))
            g[32:48], g[16:32] = g[16:32], bytes(16)
            f.seek(gpos)
            f.write(g)
            moved += 1
        if nextoff == 0:
            break
        off += nextoff
    return arenas, moved


def main(path, base):
    with open(path, 'r+b') as f:
        arenas, moved = unpad(f, base)
    print('arenas=%d groups_moved=%d' % (arenas, moved))
    return 0 if moved else 1


if __name__ == '__main__':
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    sys.exit(main(sys.argv[1], int(sys.argv[2], 0)))
