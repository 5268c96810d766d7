#!/usr/bin/env python3
"""Map a device-dax character device (/dev/daxX.Y) and report what the
kernel did, the same way on every stack (issue 12, acceptance 2).

    devdaxmap.py map DEV SEED     map the whole device MAP_SHARED, write SEED's
                               pattern over all of it, read it back
    devdaxmap.py verify DEV SEED  map it again and check SEED's pattern (after
                               a reboot or on the other stack)
    devdaxmap.py errors DEV       the refusals: MAP_PRIVATE, unaligned offset,
                               length and fixed address, partial munmap,
                               mprotect and mremap of a huge mapping, a
                               touch past the device's end, MAP_SYNC
    devdaxmap.py touch DEV SEED   map the whole device, write 16 bytes (SEED,
                               offset) at the start of every 4 KiB page,
                               then map it again and check them: the fault
                               counts of `map` without a whole-device
                               pattern in memory (for 1 GiB devices)
    devdaxmap.py hold DEV         map the device, touch it, print `held`, wait
                               for a line on stdin, then touch it again (in
                               a child) and print how that went; for unbind,
                               disable-device and rmmod while mapped

DEV is the device's name (dax0.0) or path. The device's size and align come
from /sys/bus/dax/devices/DEV/. Output is `key: value` lines, one per fact:
    size: N / align: N
    kernel_page_size: N     the mapping's KernelPageSize in /proc/self/smaps
                            (device-dax's `pagesize` vm operation, its align,
                            on kernels with CONFIG_HUGETLB_PAGE; else 4096)
    minflt_write: N         minor faults taken by one memcpy over the whole
                            fresh mapping (getrusage ru_minflt): size/4096
                            with PTE faults, size/align with PMD or PUD ones
    minflt_read: N          the same for a hash read over a fresh mapping
    pattern: match | mismatch at OFFSET
    sha256: HEX             of the device's bytes
    CASE: ok | errno=NAME | signal=SIGBUS     (errors, hold)
A python start costs seconds in a TCG guest: each subcommand does all of its
work in one process.
"""
import ctypes
import ctypes.util
import errno
import hashlib
import os
import resource
import sys

PROT_READ, PROT_WRITE = 1, 2
MAP_SHARED, MAP_PRIVATE, MAP_FIXED = 0x01, 0x02, 0x10
MAP_SHARED_VALIDATE, MAP_SYNC, MAP_FIXED_NOREPLACE = 0x03, 0x80000, 0x100000
MREMAP_MAYMOVE = 1
MAP_FAILED = ctypes.c_void_p(-1).value
PAGE = 4096

libc = ctypes.CDLL(ctypes.util.find_library('c'), use_errno=True)
libc.mmap.restype = ctypes.c_void_p
libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_long]
libc.munmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
libc.mprotect.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
libc.mremap.restype = ctypes.c_void_p
libc.mremap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_size_t, ctypes.c_int]


def dev_paths(dev):
    name = os.path.basename(dev)
    return '/dev/' + name, '/sys/bus/dax/devices/' + name


def sysfs_int(path):
    with open(path) as fh:
        return int(fh.read().strip(), 0)


def err_name(e):
    return 'errno=' + errno.errorcode.get(e, str(e))


def mmap_raw(fd, length, flags, offset=0, addr=None, prot=PROT_READ | PROT_WRITE):
    """The address, or an `errno=NAME` string."""
    p = libc.mmap(addr, length, prot, flags, fd, offset)
    if p == MAP_FAILED or p is None:
        return err_name(ctypes.get_errno())
    return p


def rc_of(rc):
    return 'ok' if rc == 0 else err_name(ctypes.get_errno())


def pattern(seed, size):
    """SEED's pattern: each 4 KiB page starts with the seed and its offset,
    then 4080 bytes of a hash of the seed (so every page differs)."""
    fill = (hashlib.sha256(seed.encode()).digest() * 128)[:PAGE - 16]
    out = bytearray(size)
    sb = seed.encode()[:8].ljust(8, b'\0')
    for off in range(0, size, PAGE):
        out[off:off + PAGE] = sb + off.to_bytes(8, 'little') + fill
    return out


def minflt():
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt


def kernel_page_size(addr):
    """KernelPageSize of the mapping starting at `addr`, in bytes."""
    want = '%x-' % addr
    with open('/proc/self/smaps') as fh:
        lines = fh.read().split('\n')
    for i, line in enumerate(lines):
        if line.startswith(want):
            for l in lines[i + 1:]:
                if l.startswith('KernelPageSize:'):
                    return int(l.split()[1]) * 1024
    return None


def geometry(dev):
    path, sysdir = dev_paths(dev)
    return path, sysfs_int(sysdir + '/size'), sysfs_int(sysdir + '/align')


def cmd_map(dev, seed):
    path, size, align = geometry(dev)
    print('size: %d' % size)
    print('align: %d' % align)
    buf = pattern(seed, size)
    src = (ctypes.c_char * size).from_buffer(buf)
    fd = os.open(path, os.O_RDWR)
    p = mmap_raw(fd, size, MAP_SHARED)
    if isinstance(p, str):
        print('mmap: ' + p)
        return 1
    print('kernel_page_size: %s' % kernel_page_size(p))
    before = minflt()
    ctypes.memmove(p, src, size)
    print('minflt_write: %d' % (minflt() - before))
    libc.munmap(p, size)
    rc = verify(fd, size, buf)
    os.close(fd)
    return rc


def verify(fd, size, buf):
    p = mmap_raw(fd, size, MAP_SHARED, prot=PROT_READ)
    if isinstance(p, str):
        print('mmap: ' + p)
        return 1
    view = (ctypes.c_char * size).from_address(p)
    before = minflt()
    digest = hashlib.sha256(memoryview(view)).hexdigest()
    print('minflt_read: %d' % (minflt() - before))
    got = bytes(view)
    libc.munmap(p, size)
    if got == bytes(buf):
        print('pattern: match')
    else:
        first = next(i for i in range(size) if got[i] != buf[i])
        print('pattern: mismatch at %d' % first)
    print('sha256: %s' % digest)
    return 0


def cmd_verify(dev, seed):
    path, size, align = geometry(dev)
    print('size: %d' % size)
    print('align: %d' % align)
    fd = os.open(path, os.O_RDONLY)
    rc = verify(fd, size, pattern(seed, size))
    os.close(fd)
    return rc


def touch_in_child(addr, write=True):
    """Touch one byte at `addr` in a child: `ok` or `signal=NAME`."""
    pid = os.fork()
    if pid == 0:
        try:
            if write:
                ctypes.memset(addr, 0x5a, 1)
            else:
                ctypes.string_at(addr, 1)
        finally:
            os._exit(0)
    _, status = os.waitpid(pid, 0)
    if os.WIFSIGNALED(status):
        import signal
        return 'signal=' + signal.Signals(os.WTERMSIG(status)).name
    return 'ok'


def cmd_errors(dev):
    path, size, align = geometry(dev)
    print('size: %d' % size)
    print('align: %d' % align)
    fd = os.open(path, os.O_RDWR)
    unit = max(align, PAGE)

    def case(name, result):
        print('%s: %s' % (name, result))

    def mapped(result):
        return 'ok' if not isinstance(result, str) else result

    def unmap(p, length):
        if not isinstance(p, str):
            libc.munmap(p, length)

    p = mmap_raw(fd, unit, MAP_PRIVATE)
    case('map_private', mapped(p))
    unmap(p, unit)
    # Two units at offset 4 KiB: the device's get_unmapped_area keeps the
    # offset's congruence, so the start is off the alignment whenever the
    # alignment is above 4 KiB. (One unit at 4 KiB would get a plain,
    # randomised address: sometimes aligned, sometimes not.)
    p = mmap_raw(fd, 2 * unit, MAP_SHARED, offset=PAGE)
    case('offset_4k', mapped(p))
    unmap(p, 2 * unit)
    p = mmap_raw(fd, PAGE, MAP_SHARED)
    case('length_4k', mapped(p))
    unmap(p, PAGE)
    p = mmap_raw(fd, unit + PAGE, MAP_SHARED)
    case('length_unit_plus_4k', mapped(p))
    unmap(p, unit + PAGE)
    p = mmap_raw(fd, unit, MAP_SHARED_VALIDATE | MAP_SYNC)
    case('map_sync', mapped(p))
    unmap(p, unit)
    ro = os.open(path, os.O_RDONLY)
    p = mmap_raw(ro, unit, MAP_SHARED)
    case('rdonly_fd_write_map', mapped(p))
    unmap(p, unit)
    os.close(ro)

    # A fixed address off the alignment: reserve 3 units, aim at +4 KiB.
    area = libc.mmap(None, 3 * unit, 0, MAP_PRIVATE | 0x20, -1, 0)
    base = (area + unit - 1) & ~(unit - 1)
    p = mmap_raw(fd, unit, MAP_SHARED | MAP_FIXED, addr=base + PAGE)
    case('fixed_unaligned', mapped(p))
    libc.munmap(area, 3 * unit)

    # Splits of a mapping of two units (only the first two when the device
    # is smaller than two units).
    two = 2 * unit if size >= 2 * unit else unit
    p = mmap_raw(fd, two, MAP_SHARED)
    case('map_two_units', mapped(p))
    if not isinstance(p, str):
        ctypes.memset(p, 0, 1)
        case('mprotect_4k', rc_of(libc.mprotect(p + PAGE, PAGE, PROT_READ)))
        case('munmap_4k', rc_of(libc.munmap(p + PAGE, PAGE)))
        q = libc.mremap(p, two, PAGE, 0)
        case('mremap_shrink_4k', 'ok' if q != MAP_FAILED else err_name(ctypes.get_errno()))
        case('kernel_page_size', kernel_page_size(p))
        case('touch_first', touch_in_child(p))
        if two > unit:
            case('mprotect_unit', rc_of(libc.mprotect(p + unit, unit, PROT_READ)))
            case('touch_after_mprotect_unit', touch_in_child(p + unit))
            case('munmap_unit', rc_of(libc.munmap(p + unit, unit)))
            libc.munmap(p, unit)
        else:
            libc.munmap(p, two)

    # Past the device's end: mmap accepts it (C checks no size), the fault
    # there finds no page offset and gets SIGBUS.
    p = mmap_raw(fd, size + unit, MAP_SHARED)
    case('map_past_end', mapped(p))
    if not isinstance(p, str):
        case('touch_last', touch_in_child(p + size - 1, write=False))
        case('touch_past_end', touch_in_child(p + size, write=False))
        libc.munmap(p, size + unit)
    os.close(fd)
    return 0


def cmd_touch(dev, seed):
    path, size, align = geometry(dev)
    print('size: %d' % size)
    print('align: %d' % align)
    sb = seed.encode()[:8].ljust(8, b'\0')
    fd = os.open(path, os.O_RDWR)
    p = mmap_raw(fd, size, MAP_SHARED)
    if isinstance(p, str):
        print('mmap: ' + p)
        return 1
    stamps = [sb + off.to_bytes(8, 'little') for off in range(0, size, PAGE)]
    before = minflt()
    for i, stamp in enumerate(stamps):
        ctypes.memmove(p + i * PAGE, stamp, 16)
    print('minflt_write: %d' % (minflt() - before))
    libc.munmap(p, size)
    p = mmap_raw(fd, size, MAP_SHARED, prot=PROT_READ)
    before = minflt()
    bad = [i for i, stamp in enumerate(stamps) if ctypes.string_at(p + i * PAGE, 16) != stamp]
    print('minflt_read: %d' % (minflt() - before))
    print('pattern: match' if not bad else 'pattern: mismatch at %d' % (bad[0] * PAGE))
    libc.munmap(p, size)
    os.close(fd)
    return 0


def cmd_hold(dev):
    path, size, align = geometry(dev)
    fd = os.open(path, os.O_RDWR)
    p = mmap_raw(fd, size, MAP_SHARED)
    if isinstance(p, str):
        print('mmap: ' + p)
        return 1
    ctypes.memset(p, 0xa5, 1)
    print('held', flush=True)
    sys.stdin.readline()
    print('touch_after: %s' % touch_in_child(p, write=False), flush=True)
    libc.munmap(p, size)
    os.close(fd)
    return 0


def main(argv):
    if len(argv) >= 3 and argv[1] == 'map' and len(argv) == 4:
        return cmd_map(argv[2], argv[3])
    if len(argv) == 4 and argv[1] == 'verify':
        return cmd_verify(argv[2], argv[3])
    if len(argv) == 4 and argv[1] == 'touch':
        return cmd_touch(argv[2], argv[3])
    if len(argv) == 3 and argv[1] == 'errors':
        return cmd_errors(argv[2])
    if len(argv) == 3 and argv[1] == 'hold':
        return cmd_hold(argv[2])
    sys.stderr.write(__doc__)
    return 2


if __name__ == '__main__':
    sys.exit(main(sys.argv))
