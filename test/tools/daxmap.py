#!/usr/bin/env python3
"""Write and read a file through a MAP_SYNC mapping (fsdax), for pfn-qemu.

    daxmap.py write FILE SIZE SEED   create FILE (SIZE bytes, allocated), map it
                                     MAP_SHARED_VALIDATE | MAP_SYNC, store a
                                     pattern of SEED through the mapping, msync
    daxmap.py read FILE SEED         map FILE the same way and check the pattern

Each prints one line per fact, the same on every stack that serves DAX:
`map_sync: ok` (the kernel accepted MAP_SYNC, which only a DAX mapping
allows; otherwise `map_sync: errno=E`), `vmflags sf: yes|no` (the mapping's
VM_SYNC flag in /proc/self/smaps), `pattern: match|mismatch at N`, and the
sha256 of the file's bytes.
"""
import errno
import hashlib
import mmap
import os
import sys

MAP_SHARED_VALIDATE = 0x03
MAP_SYNC = 0x80000


def pattern(seed, size):
    out = bytearray()
    block = 0
    while len(out) < size:
        out += hashlib.sha256(b'%s:%d' % (seed.encode(), block)).digest() * 128
        block += 1
    return bytes(out[:size])


def vm_sync_flag(length):
    """Whether the last mapping of `length` bytes in smaps shows 'sf'."""
    with open('/proc/self/smaps') as fh:
        lines = fh.read().split('\n')
    size_kb = length // 1024
    found = None
    for i, line in enumerate(lines):
        if line.startswith('Size:') and int(line.split()[1]) == size_kb:
            for l2 in lines[i:i + 40]:
                if l2.startswith('VmFlags:'):
                    found = 'sf' in l2.split()[1:]
                    break
    return found


def mapped(fd, size):
    try:
        return mmap.mmap(fd, size, flags=MAP_SHARED_VALIDATE | MAP_SYNC,
                         prot=mmap.PROT_READ | mmap.PROT_WRITE), None
    except OSError as e:
        return None, errno.errorcode.get(e.errno, e.errno)


def main(argv):
    if len(argv) == 4 and argv[0] == 'write':
        path, size, seed = argv[1], int(argv[2]), argv[3]
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o644)
        os.posix_fallocate(fd, 0, size)
    elif len(argv) == 3 and argv[0] == 'read':
        path, seed = argv[1], argv[2]
        fd = os.open(path, os.O_RDWR)
        size = os.fstat(fd).st_size
    else:
        sys.stderr.write(__doc__)
        return 2
    m, err = mapped(fd, size)
    if m is None:
        print('map_sync: errno=%s' % err)
        return 1
    print('map_sync: ok')
    print('vmflags sf: %s' % ('yes' if vm_sync_flag(size) else 'no'))
    want = pattern(seed, size)
    if argv[0] == 'write':
        m[:] = want
        m.flush()
    got = m[:]
    if got == want:
        print('pattern: match')
    else:
        at = next(i for i in range(size) if got[i] != want[i])
        print('pattern: mismatch at %d' % at)
    print('sha256: %s' % hashlib.sha256(got).hexdigest())
    m.close()
    os.close(fd)
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
