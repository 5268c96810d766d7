#!/usr/bin/env python3
"""Block-device I/O for the pmem tests: deterministic patterns and bad I/O.

    blkio.py pattern write|verify DEV SEED OFF:LEN...   [--buffered]
    blkio.py suite DEV          the bad-I/O battery pmem-bad-input.sh compares
    blkio.py hash DEV OFF:LEN...  sha256 (16 hex digits) of each range
    blkio.py write-errno DEV OFF LEN   one O_DIRECT write of zeros: errno or ok

Offsets and lengths accept 0x and K/M/G suffixes; a negative offset counts from
the end of the device (`-4K:4K` is the last 4 KiB).

pattern: every 4 KiB block at device offset B holds sha256(SEED:B) repeated, so
any block read back identifies the seed and the offset that wrote it. It writes
with O_DIRECT (or through the page cache and fsync with --buffered) and reads
back with O_DIRECT. `verify` prints `match` or the first mismatching block and
the number of mismatching blocks in each range.

suite: reads and writes at and past the end of the device, straddling it,
misaligned O_DIRECT offsets, lengths and buffers, discard/zeroout ioctls that
pmem does not support or that are out of range, and the device's geometry
ioctls; one `name: result` line each (`errno=NAME`, or `ok n=BYTES` and a hash of
what a read returned). A write that would succeed writes back the bytes that
are already there, so the device's contents do not change; the caller hashes
them before and after.
"""
import ctypes
import errno
import fcntl
import hashlib
import mmap
import os
import struct
import sys

BLOCK = 4096
libc = ctypes.CDLL(None, use_errno=True)

# include/uapi/linux/fs.h
BLKROGET = 0x125e
BLKGETSIZE = 0x1260
BLKFLSBUF = 0x1261
BLKSSZGET = 0x1268
BLKGETSIZE64 = 0x80081272
BLKDISCARD = 0x1277
BLKIOMIN = 0x1278
BLKIOOPT = 0x1279
BLKALIGNOFF = 0x127a
BLKPBSZGET = 0x127b
BLKDISCARDZEROES = 0x127c
BLKSECDISCARD = 0x127d
BLKZEROOUT = 0x127f
BLKRRPART = 0x125f


def ename(e):
    return errno.errorcode.get(e, str(e))


def num(s):
    s = s.strip()
    neg = s.startswith('-')
    if neg:
        s = s[1:]
    mult = 1
    if s and s[-1] in 'KMGkmg':
        mult = {'k': 1 << 10, 'm': 1 << 20, 'g': 1 << 30}[s[-1].lower()]
        s = s[:-1]
    v = int(s, 0) * mult
    return -v if neg else v


def dev_size(fd):
    st = os.fstat(fd)
    if not (st.st_mode & 0o170000) == 0o060000:  # a regular file: host self-test
        return st.st_size
    buf = bytearray(8)
    fcntl.ioctl(fd, BLKGETSIZE64, buf)
    return struct.unpack('<Q', buf)[0]


def ranges(fd, specs):
    size = dev_size(fd)
    out = []
    for spec in specs:
        off, length = spec.split(':')
        off, length = num(off), num(length)
        if off < 0:
            off += size
        out.append((off, length))
    return out


class Aligned:
    """An anonymous mapping: page aligned, so fit for O_DIRECT; `skew` bytes in."""

    def __init__(self, length, skew=0):
        self.map = mmap.mmap(-1, length + skew + mmap.PAGESIZE)
        self.skew = skew
        self.length = length
        self.addr = ctypes.addressof(ctypes.c_char.from_buffer(self.map)) + skew

    def set(self, data):
        self.map[self.skew:self.skew + len(data)] = data

    def get(self, n):
        return self.map[self.skew:self.skew + n]


def pread(fd, buf, length, off):
    """(n, None) or (None, errno), straight through libc to keep the buffer's address."""
    ctypes.set_errno(0)
    n = libc.pread(fd, ctypes.c_void_p(buf.addr), ctypes.c_size_t(length), ctypes.c_long(off))
    return (n, None) if n >= 0 else (None, ctypes.get_errno())


def pwrite(fd, buf, length, off):
    ctypes.set_errno(0)
    n = libc.pwrite(fd, ctypes.c_void_p(buf.addr), ctypes.c_size_t(length), ctypes.c_long(off))
    return (n, None) if n >= 0 else (None, ctypes.get_errno())


libc.pread.restype = ctypes.c_ssize_t
libc.pwrite.restype = ctypes.c_ssize_t


def block_of(seed, off):
    return hashlib.sha256(('%s:%d' % (seed, off)).encode()).digest() * (BLOCK // 32)


def pattern(mode, dev, seed, specs, buffered):
    chunk = 1 << 20
    flags = os.O_RDWR if mode == 'write' else os.O_RDONLY
    try:
        fd = os.open(dev, flags | (0 if buffered and mode == 'write' else os.O_DIRECT))
    except OSError as e:
        print('%s %s: open %s errno=%s' % (mode, seed, dev, ename(e.errno)))
        return 1
    ok = True
    buf = Aligned(chunk)
    for off, length in ranges(fd, specs):
        if off % BLOCK or length % BLOCK:
            raise SystemExit('blkio: pattern ranges must be 4 KiB aligned')
        bad, first = 0, None
        pos = off
        while pos < off + length:
            n = min(chunk, off + length - pos)
            want = b''.join(block_of(seed, b) for b in range(pos, pos + n, BLOCK))
            if mode == 'write':
                buf.set(want)
                got, err = pwrite(fd, buf, n, pos)
                if err is not None or got != n:
                    print('write %s %d:%d: failed at %d: %s' % (seed, off, length, pos,
                          ename(err) if err else 'n=%d' % got))
                    return 1
            else:
                got, err = pread(fd, buf, n, pos)
                if err is not None or got != n:
                    print('verify %s %d:%d: read failed at %d: %s' % (seed, off, length, pos,
                          ename(err) if err else 'n=%d' % got))
                    return 1
                data = buf.get(n)
                for i in range(0, n, BLOCK):
                    if data[i:i + BLOCK] != want[i:i + BLOCK]:
                        bad += 1
                        if first is None:
                            first = pos + i
            pos += n
        if mode == 'write':
            print('write %s %d:%d: ok' % (seed, off, length))
        elif bad:
            ok = False
            print('verify %s %d:%d: MISMATCH in %d of %d blocks, first at %d' %
                  (seed, off, length, bad, length // BLOCK, first))
        else:
            print('verify %s %d:%d: match' % (seed, off, length))
    if mode == 'write':
        os.fsync(fd)
    os.close(fd)
    return 0 if ok else 1


def hash_ranges(dev, specs):
    try:
        fd = os.open(dev, os.O_RDONLY | os.O_DIRECT)
    except OSError as e:
        print('%s: open errno=%s' % (dev, ename(e.errno)))
        return
    for off, length in ranges(fd, specs):
        buf = Aligned(length)
        n, err = pread(fd, buf, length, off)
        if err is not None:
            print('%d:%d errno=%s' % (off, length, ename(err)))
        else:
            print('%d:%d n=%d sha256=%s' % (off, length, n,
                                            hashlib.sha256(buf.get(n)).hexdigest()[:16]))
    os.close(fd)


def ioctl_u64(fd, req, fmt_in=None, vals=()):
    buf = bytearray(struct.pack(fmt_in, *vals)) if fmt_in else bytearray(8)
    try:
        rc = fcntl.ioctl(fd, req, buf)
    except OSError as e:
        return 'errno=%s' % ename(e.errno)
    return 'ok rc=%d out=%s' % (rc, buf.hex())


def ioctl_int(fd, req):
    buf = bytearray(4)
    try:
        fcntl.ioctl(fd, req, buf)
    except OSError as e:
        return 'errno=%s' % ename(e.errno)
    return 'ok %d' % struct.unpack('<i', buf)[0]


def ioctl_none(fd, req):
    try:
        rc = fcntl.ioctl(fd, req, 0)
    except OSError as e:
        return 'errno=%s' % ename(e.errno)
    return 'ok rc=%d' % rc


def suite(dev):
    try:
        rw = os.open(dev, os.O_RDWR)
    except OSError as e:
        print('%s: open errno=%s' % (dev, ename(e.errno)))
        return 1
    size = dev_size(rw)
    dio = os.open(dev, os.O_RDWR | os.O_DIRECT)
    ro = os.open(dev, os.O_RDONLY)
    print('size: %d' % size)
    print('BLKGETSIZE64: ' + ioctl_u64(rw, BLKGETSIZE64))
    print('BLKGETSIZE: ' + ioctl_u64(rw, BLKGETSIZE))
    for name, req in (('BLKSSZGET', BLKSSZGET), ('BLKPBSZGET', BLKPBSZGET),
                      ('BLKIOMIN', BLKIOMIN), ('BLKIOOPT', BLKIOOPT),
                      ('BLKALIGNOFF', BLKALIGNOFF), ('BLKROGET', BLKROGET),
                      ('BLKDISCARDZEROES', BLKDISCARDZEROES)):
        print('%s: %s' % (name, ioctl_int(rw, req)))

    # The last 4 KiB as they are: what writes that succeed write back.
    tail = Aligned(BLOCK)
    n, err = pread(dio, tail, BLOCK, size - BLOCK)
    if err is not None or n != BLOCK:
        print('tail-read: failed %s' % (ename(err) if err else 'n=%d' % n))
        return 1
    last = tail.get(BLOCK)

    def show(res, buf=None):
        n, err = res
        if err is not None:
            return 'errno=%s' % ename(err)
        return 'ok n=%d' % n + (' data=%s' % hashlib.sha256(buf.get(n)).hexdigest()[:16]
                                if buf is not None else '')

    def rd(fd, off, length, skew=0):
        b = Aligned(max(length, 1), skew)
        return show(pread(fd, b, length, off), b)

    def wr(fd, off, length, skew=0):
        # Bytes past the end are junk that must not land anywhere.
        b = Aligned(max(length, 1), skew)
        data = bytearray(b'\x5a' * length)
        if off < size:
            keep = min(length, size - off)
            data[:keep] = last[off - (size - BLOCK):off - (size - BLOCK) + keep]
        b.set(bytes(data))
        return show(pwrite(fd, b, length, off))

    end = size
    cases = [
        ('read-at-end', rw, 'r', end, 4096), ('read-past-end', rw, 'r', end + 4096, 4096),
        ('read-straddle', rw, 'r', end - 512, 4096), ('read-last-byte', rw, 'r', end - 1, 16),
        ('read-far', rw, 'r', 1 << 62, 512),
        ('write-at-end', rw, 'w', end, 512), ('write-past-end', rw, 'w', end + 4096, 512),
        ('write-straddle', rw, 'w', end - 512, 4096), ('write-last-byte', rw, 'w', end - 1, 16),
        ('dio-read-at-end', dio, 'r', end, 4096), ('dio-read-past-end', dio, 'r', end + 4096, 4096),
        ('dio-read-straddle', dio, 'r', end - 512, 4096),
        ('dio-read-off-1', dio, 'r', end - BLOCK + 1, 512),
        ('dio-read-off-256', dio, 'r', end - BLOCK + 256, 512),
        ('dio-read-len-100', dio, 'r', end - BLOCK, 100),
        ('dio-read-len-513', dio, 'r', end - BLOCK, 513),
        ('dio-read-len-0', dio, 'r', end - BLOCK, 0),
        ('dio-write-at-end', dio, 'w', end, 512), ('dio-write-past-end', dio, 'w', end + 4096, 512),
        ('dio-write-straddle', dio, 'w', end - 512, 4096),
        ('dio-write-off-1', dio, 'w', end - BLOCK + 1, 512),
        ('dio-write-len-100', dio, 'w', end - BLOCK, 100),
        ('dio-write-len-4095', dio, 'w', end - BLOCK, 4095),
        ('write-ro-fd', ro, 'w', end - BLOCK, 512),
    ]
    for name, fd, op, off, length in cases:
        print('%s: %s' % (name, rd(fd, off, length) if op == 'r' else wr(fd, off, length)))
    for skew in (1, 8, 256, 511, 512):
        print('dio-read-buf+%d: %s' % (skew, rd(dio, end - BLOCK, 512, skew)))
        print('dio-write-buf+%d: %s' % (skew, wr(dio, end - BLOCK, 512, skew)))

    # Range ioctls: u64 start, u64 length. pmem has no discard; zeroout beyond the
    # end or misaligned is refused before anything is written.
    for name, req, start, length in (
            ('discard', BLKDISCARD, end - BLOCK, BLOCK),
            ('secdiscard', BLKSECDISCARD, end - BLOCK, BLOCK),
            ('discard-past-end', BLKDISCARD, end, BLOCK),
            ('zeroout-past-end', BLKZEROOUT, end, BLOCK),
            ('zeroout-straddle', BLKZEROOUT, end - 512, BLOCK),
            ('zeroout-misaligned', BLKZEROOUT, end - BLOCK + 1, 512),
            ('zeroout-len-100', BLKZEROOUT, end - BLOCK, 100)):
        print('%s: %s' % (name, ioctl_u64(rw, req, '<QQ', (start, length))))
    print('zeroout-ro-fd: ' + ioctl_u64(ro, BLKZEROOUT, '<QQ', (end - BLOCK, BLOCK)))
    print('BLKFLSBUF: ' + ioctl_none(rw, BLKFLSBUF))
    print('BLKRRPART: ' + ioctl_none(rw, BLKRRPART))
    for name, fn in (('fsync', os.fsync), ('fdatasync', os.fdatasync)):
        try:
            fn(rw)
            print('%s: ok' % name)
        except OSError as e:
            print('%s: errno=%s' % (name, ename(e.errno)))
    for fd in (rw, dio, ro):
        os.close(fd)
    return 0


def write_errno(dev, off, length):
    try:
        fd = os.open(dev, os.O_RDWR | os.O_DIRECT)
    except OSError as e:
        print('open errno=%s' % ename(e.errno))
        return 0
    b = Aligned(length)
    n, err = pwrite(fd, b, length, off)
    print('errno=%s' % ename(err) if err is not None else 'ok n=%d' % n)
    os.close(fd)
    return 0


def main(argv):
    sys.stdout.reconfigure(line_buffering=True)
    buffered = '--buffered' in argv
    argv = [a for a in argv if a != '--buffered']
    if len(argv) >= 5 and argv[0] == 'pattern' and argv[1] in ('write', 'verify'):
        return pattern(argv[1], argv[2], argv[3], argv[4:], buffered)
    if len(argv) == 2 and argv[0] == 'suite':
        return suite(argv[1])
    if len(argv) >= 3 and argv[0] == 'hash':
        hash_ranges(argv[1], argv[2:])
        return 0
    if len(argv) == 4 and argv[0] == 'write-errno':
        return write_errno(argv[1], num(argv[2]), num(argv[3]))
    sys.stderr.write(__doc__)
    return 2


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
