#!/usr/bin/env python3
"""Device-DAX from user space, for the devdax-* VM tests: mmap of /dev/daxX.Y
through libc (ctypes: every errno as the kernel gives it), patterns, fault
counts, the refusals of C's drivers/dax/device.c, and what sysfs shows of
the dax bus.

    devdax.py batch OUTFILE     one command a line on stdin (below); each
                                command's result lines are appended to
                                OUTFILE after a `== COMMAND` line
    devdax.py COMMAND ARG...    one command, results on stdout
    devdax.py canon FILE...     (host side) FILE.canon for each FILE of a
                                view: see canon()

One python for many commands: a python start costs seconds in a TCG guest.
DEV is a dax bus device name (dax0.1); its size and align come from
/sys/bus/dax/devices/DEV. Sizes take K, M and G suffixes.

    pattern write|verify DEV SEED SPANS
        SPANS: `all` (the whole device) or OFF:LEN,... (OFF negative counts
        from the end; `mid` is the middle MiB boundary). The pattern is a
        sha256 of SEED and the MiB number, repeated, with each 4 KiB block's
        device offset stamped at its start. write stores it through one
        MAP_SHARED mapping of the whole device; verify reads it back.
        Prints `pattern: match` or `pattern: mismatch at OFF`, and the
        sha256 of the bytes covered.
    faults DEV LEN STRIDE
        Maps LEN bytes (MAP_SHARED) and writes them (STRIDE 0: one memset
        over all of it; otherwise one byte every STRIDE bytes); prints the
        minor faults the writes took (getrusage), the mapping's
        KernelPageSize and MMUPageSize (smaps; device.c's `pagesize`
        answers there only with CONFIG_HUGETLB_PAGE, which the test kernel
        has not: 4 kB on both stacks), whether VM_HUGEPAGE is set (`hg`),
        and the faults of a second pass (0: everything stayed mapped).
    badmap DEV [noread]
        What C's device.c refuses, and what it then leaves: MAP_PRIVATE, an
        unaligned offset, an unaligned length, an unaligned fixed address,
        MAP_SHARED_VALIDATE with MAP_SYNC, PROT_WRITE on an O_RDONLY open,
        an offset past the end (mmap, then the access: SIGBUS or not),
        read(2), write(2) and an ioctl on the device; on a mapping of two
        align units: mprotect, munmap, mremap and madvise(MADV_DONTNEED) of
        one page at its start and in the middle (may_split), then whether
        the mapping still reads what it held. One line per case: `CASE: ok`
        or `CASE: errno=E`. With noread, nothing is read through a mapping
        (each read says `not tried`): C's device_dax test build oopses on a
        fault in nfit_test's vmalloc-backed ranges (a NULL dereference; the
        task never ends).
    access DEV OFF
        A child process maps DEV and reads the byte at OFF: `access OFF:
        value=V` or `access OFF: signal=SIGBUS` (the parent survives).
    live DEV SYSFILE VALUE [noread]
        Maps DEV and writes its first byte (the value it holds); writes
        VALUE to SYSFILE (e.g. device_dax's unbind) while the mapping is
        live; then a child reads through the old mapping (value or
        signal). Prints the write's result and the read's. With noread the
        mapping is never touched (see badmap).
    sysfs PREFIX
        PREFIX-daxbus.out: every attribute of every /sys/bus/dax/devices/*
        device (its power/ left out: runtime PM counters), of its
        mappingN children and of its parent's dax_region/ group, each
        device's driver, /dev/dax* nodes and their modes, and the drivers
        of the dax bus with what is bound to them.
"""
import ctypes
import errno
import hashlib
import os
import resource
import signal
import stat
import struct
import sys

import ndsysfs  # test/tools, this script's directory

libc = ctypes.CDLL(None, use_errno=True)
libc.mmap.restype = ctypes.c_void_p
libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int,
                      ctypes.c_int, ctypes.c_long]
libc.munmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
libc.mprotect.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
libc.madvise.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
libc.mremap.restype = ctypes.c_void_p
libc.mremap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_size_t, ctypes.c_int]
libc.memset.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_size_t]
libc.ioctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_void_p]

PROT_READ, PROT_WRITE = 1, 2
MAP_SHARED, MAP_PRIVATE, MAP_SHARED_VALIDATE = 1, 2, 3
MAP_FIXED_NOREPLACE, MAP_SYNC = 0x100000, 0x80000
MAP_FAILED = ctypes.c_void_p(-1).value
MADV_DONTNEED = 4
MiB = 1 << 20
DAXBUS = '/sys/bus/dax/devices'


def num(s):
    s = s.strip()
    mult = {'K': 1 << 10, 'M': 1 << 20, 'G': 1 << 30}.get(s[-1:].upper(), 1)
    return int(s[:-1] if mult > 1 else s, 0) * mult


def err():
    e = ctypes.get_errno()
    return 'errno=%s' % errno.errorcode.get(e, e)


def dev_info(dev):
    with open(os.path.join(DAXBUS, dev, 'size')) as fh:
        size = int(fh.read())
    with open(os.path.join(DAXBUS, dev, 'align')) as fh:
        align = int(fh.read())
    return size, align


def mmap(fd, length, prot=PROT_READ | PROT_WRITE, flags=MAP_SHARED, off=0, addr=None):
    """The address, or None with ctypes' errno set."""
    a = libc.mmap(addr, length, prot, flags, fd, off)
    return None if a in (None, MAP_FAILED) else a


class Mapping:
    """A MAP_SHARED mapping of LEN bytes of DEV at offset 0."""

    def __init__(self, dev, length, flags=MAP_SHARED):
        self.fd = os.open('/dev/' + dev, os.O_RDWR)
        self.len = length
        self.addr = mmap(self.fd, length, flags=flags)
        if self.addr is None:
            e = err()
            os.close(self.fd)
            raise OSError('mmap of %s (%d bytes): %s' % (dev, length, e))

    def close(self):
        libc.munmap(self.addr, self.len)
        os.close(self.fd)


def pattern_mib(seed, mib):
    """The pattern's MiB number `mib`."""
    buf = bytearray(hashlib.sha256(b'%s:%d' % (seed.encode(), mib)).digest() * (MiB // 32))
    for blk in range(0, MiB, 4096):
        struct.pack_into('<Q', buf, blk, mib * MiB + blk)
    return bytes(buf)


def spans(arg, size):
    """(offset, length) pairs, each within the device, in MiB units."""
    if arg == 'all':
        return [(0, size)]
    out = []
    for part in arg.split(','):
        off, length = part.split(':')
        length = num(length)
        if off == 'mid':
            o = size // 2 // MiB * MiB
        else:
            o = num(off)
            if o < 0:
                o += size
        out.append((o, length))
    return out


def cmd_pattern(out, op, dev, seed, span):
    size, _ = dev_info(dev)
    m = Mapping(dev, size)
    h = hashlib.sha256()
    bad = None
    try:
        for off, length in spans(span, size):
            if off % MiB or length % MiB or off + length > size:
                raise ValueError('span %d:%d not whole MiB in %d bytes' % (off, length, size))
            for o in range(off, off + length, MiB):
                want = pattern_mib(seed, o // MiB)
                if op == 'write':
                    ctypes.memmove(m.addr + o, want, MiB)
                got = ctypes.string_at(m.addr + o, MiB)
                h.update(got)
                if bad is None and got != want:
                    bad = o + next(i for i in range(MiB) if got[i] != want[i])
    finally:
        m.close()
    out.append('pattern: ' + ('match' if bad is None else 'mismatch at %d' % bad))
    out.append('sha256: ' + h.hexdigest())


def smaps_of(addr):
    """KernelPageSize and MMUPageSize (kB) of the mapping starting at addr."""
    want = '%x-' % addr
    res = {}
    with open('/proc/self/smaps') as fh:
        inside = False
        for line in fh:
            if '-' in line.split(' ')[0] and ':' not in line.split(' ')[0]:
                inside = line.startswith(want)
                continue
            if inside and line.split(':')[0] in ('KernelPageSize', 'MMUPageSize', 'VmFlags'):
                res[line.split(':')[0]] = line.split(':', 1)[1].strip()
    return res


def minflt():
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt


def touch(addr, length, stride):
    if stride == 0:
        libc.memset(addr, 0x5a, length)
        return
    for o in range(0, length, stride):
        libc.memset(addr + o, 0x5a, 1)


def cmd_faults(out, dev, length, stride):
    length, stride = num(length), num(stride)
    size, align = dev_info(dev)
    if length > size or length % align:
        raise ValueError('length %d: not whole align units (%d) within %d bytes' % (length, align, size))
    # In a child: a SIGBUS kills it, not the batch, and its rusage counts
    # only this.
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        res = []
        m = Mapping(dev, length)
        # Warm the calls' own paths on memory of our own, so that only the
        # device's faults count.
        buf = ctypes.create_string_buffer(8192)
        touch(ctypes.addressof(buf), 8192, min(stride, 4096) if stride else 0)
        minflt()
        before = minflt()
        touch(m.addr, length, stride)
        first = minflt() - before
        before = minflt()
        touch(m.addr, length, stride)
        second = minflt() - before
        sm = smaps_of(m.addr)
        res.append('faults: %d (second pass %d)' % (first, second))
        res.append('KernelPageSize: %s' % sm.get('KernelPageSize'))
        res.append('MMUPageSize: %s' % sm.get('MMUPageSize'))
        flags = sm.get('VmFlags', '').split()
        res.append('VmFlags hg: %s' % ('yes' if 'hg' in flags else 'no'))
        m.close()
        os.write(w, ''.join(l + '\n' for l in res).encode())
        os._exit(0)
    os.close(w)
    got = b''
    while True:
        b = os.read(r, 4096)
        if not b:
            break
        got += b
    os.close(r)
    _, status = os.waitpid(pid, 0)
    out.extend(got.decode().splitlines())
    if os.WIFSIGNALED(status):
        out.append('signal=%s' % signal.Signals(os.WTERMSIG(status)).name)
    elif os.WEXITSTATUS(status):
        out.append('exit %d' % os.WEXITSTATUS(status))


# Seconds a child's access may take: a fault that never resolves ends as
# `signal=SIGALRM`.
ACCESS_SECONDS = 5


def child_read(addr, value=True):
    """Read one byte at addr in a child: 'value=V' ('readable' without
    `value`) or 'signal=NAME'."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        signal.signal(signal.SIGBUS, signal.SIG_DFL)
        signal.signal(signal.SIGSEGV, signal.SIG_DFL)
        signal.signal(signal.SIGALRM, signal.SIG_DFL)
        signal.alarm(ACCESS_SECONDS)
        v = ctypes.string_at(addr, 1)[0]
        os.write(w, b'%d' % v)
        os._exit(0)
    os.close(w)
    _, status = os.waitpid(pid, 0)
    got = os.read(r, 16).decode()
    os.close(r)
    if os.WIFSIGNALED(status):
        return 'signal=%s' % signal.Signals(os.WTERMSIG(status)).name
    return 'value=%s' % got if value else 'readable'


def cmd_access(out, dev, off):
    off = num(off)
    size, align = dev_info(dev)
    base = off // align * align
    fd = os.open('/dev/' + dev, os.O_RDWR)
    a = mmap(fd, align, off=base)
    if a is None:
        out.append('access %d: mmap %s' % (off, err()))
    else:
        out.append('access %d: %s' % (off, child_read(a + off - base)))
        libc.munmap(a, align)
    os.close(fd)


def cmd_live(out, dev, sysfile, value, reads=True):
    size, align = dev_info(dev)
    m = Mapping(dev, align)
    try:
        if reads:
            # A write fault that leaves the byte as it was.
            ctypes.memmove(m.addr, ctypes.string_at(m.addr, 1), 1)
            out.append('before: %s' % child_read(m.addr))
        try:
            fd = os.open(sysfile, os.O_WRONLY)
            try:
                os.write(fd, value.encode() + b'\n')
                out.append('write %s: ok' % os.path.basename(sysfile))
            finally:
                os.close(fd)
        except OSError as e:
            out.append('write %s: errno=%s' % (os.path.basename(sysfile), errno.errorcode.get(e.errno, e.errno)))
        if reads:
            out.append('after: %s' % child_read(m.addr))
    finally:
        m.close()


def cmd_badmap(out, dev, reads=True):
    size, align = dev_info(dev)
    if not reads:
        def child_read(addr, value=True):
            return 'not tried'
    else:
        child_read = globals()['child_read']
    path = '/dev/' + dev
    fd = os.open(path, os.O_RDWR)
    rw = PROT_READ | PROT_WRITE

    def try_map(name, length, flags=MAP_SHARED, off=0, addr=None, prot=rw, f=fd):
        a = mmap(f, length, prot=prot, flags=flags, off=off, addr=addr)
        if a is None:
            out.append('%s: %s' % (name, err()))
            return None
        out.append('%s: ok' % name)
        return a

    def unmap(a, length):
        if a is not None:
            libc.munmap(a, length)

    unmap(try_map('MAP_PRIVATE', align, flags=MAP_PRIVATE), align)
    if align > 4096:
        # A free, aligned place: reserve 3 align units, then map at an
        # aligned address in it, or 4 KiB past one.
        r = libc.mmap(None, 3 * align, PROT_READ, 0x22, -1, 0)  # MAP_PRIVATE|MAP_ANONYMOUS
        at = (r + align - 1) // align * align
        libc.munmap(r, 3 * align)
        # At an aligned address: check_vma looks at the VMA's ends only. Left
        # to get_unmapped_area, a 4 KiB offset lands wherever the address
        # space has room, aligned or not, on either stack.
        unmap(try_map('offset 4K at an aligned address', align, flags=MAP_SHARED | MAP_FIXED_NOREPLACE,
                      off=4096, addr=at), align)
        unmap(try_map('length align+4K', align + 4096), align + 4096)
        unmap(try_map('length 4K', 4096), 4096)
        unmap(try_map('fixed address +4K', align, flags=MAP_SHARED | MAP_FIXED_NOREPLACE,
                      addr=at + 4096), align)
        unmap(try_map('fixed address aligned', align, flags=MAP_SHARED | MAP_FIXED_NOREPLACE,
                      addr=at), align)
    else:
        unmap(try_map('offset 4K', align, off=4096), align)
    unmap(try_map('MAP_SHARED_VALIDATE|MAP_SYNC', align, flags=MAP_SHARED_VALIDATE | MAP_SYNC), align)
    unmap(try_map('MAP_SHARED_VALIDATE|unknown flag', align, flags=MAP_SHARED_VALIDATE | 0x800000), align)
    ro = os.open(path, os.O_RDONLY)
    unmap(try_map('PROT_WRITE on O_RDONLY', align, f=ro), align)
    unmap(try_map('PROT_READ on O_RDONLY', align, prot=PROT_READ, f=ro), align)
    os.close(ro)
    a = try_map('offset at the end', align, off=size)
    if a is not None:
        out.append('offset at the end, read: %s' % child_read(a))
        libc.munmap(a, align)
    a = try_map('length past the end', size + align)
    if a is not None:
        out.append('length past the end, read last: %s' % child_read(a + size - 1, False))
        out.append('length past the end, read past: %s' % child_read(a + size))
        libc.munmap(a, size + align)
    for name, call in (('read(2)', lambda: os.read(fd, 4096)),
                       ('write(2)', lambda: os.write(fd, b'x' * 4096)),
                       ('lseek(2) 4096', lambda: os.lseek(fd, 4096, os.SEEK_SET))):
        try:
            r = call()
            out.append('%s: ok %s' % (name, len(r) if isinstance(r, bytes) else r))
        except OSError as e:
            out.append('%s: errno=%s' % (name, errno.errorcode.get(e.errno, e.errno)))
    rc = libc.ioctl(fd, 0x80086601, None)  # FS_IOC_GETFLAGS
    out.append('ioctl FS_IOC_GETFLAGS: %s' % ('ok' if rc == 0 else err()))
    if 2 * align <= size:
        n = 2 * align
        a = try_map('two units', n)
        if a is not None:
            if reads:
                libc.memset(a, 0x33, 64)
                libc.memset(a + align, 0x44, 64)
            for where, at in (('start', a), ('middle', a + align // 2)):
                for name, call in (
                        ('mprotect PROT_READ', lambda: libc.mprotect(at, 4096, PROT_READ)),
                        ('munmap', lambda: libc.munmap(at, 4096)),
                        ('madvise DONTNEED', lambda: libc.madvise(at, 4096, MADV_DONTNEED))):
                    ctypes.set_errno(0)
                    rc = call()
                    out.append('%s 4K at %s: %s' % (name, where, 'ok' if rc == 0 else err()))
            ctypes.set_errno(0)
            r = libc.mremap(a, n, n - 4096, 0)
            out.append('mremap shrink by 4K: %s' % ('ok' if r not in (None, MAP_FAILED) else err()))
            ctypes.set_errno(0)
            rc = libc.mprotect(a + align, align, PROT_READ)
            out.append('mprotect PROT_READ of the second unit: %s' % ('ok' if rc == 0 else err()))
            # What the mapping holds now (a child reads: an unmapped page
            # is a signal, not the end of the batch).
            out.append('first unit: %s' % child_read(a))
            out.append('first unit, page 2: %s' % child_read(a + 4096))
            out.append('second unit: %s' % child_read(a + align))
            libc.munmap(a, n)
    os.close(fd)


def attrs(path, label, out, skip=('power',)):
    """ndsysfs.py's sysfs attribute lines, without the `power` group."""
    ndsysfs.attrs(path, label, out, skip)


def natural(name):
    import re
    return [int(t) if t.isdigit() else t for t in re.split(r'(\d+)', name)]


def cmd_sysfs(prefix):
    out = []
    devs = sorted(os.listdir(DAXBUS), key=natural) if os.path.isdir(DAXBUS) else []
    for d in devs:
        real = os.path.realpath(os.path.join(DAXBUS, d))
        parent = os.path.dirname(real)
        out.append('%s parent=%s' % (d, os.path.basename(parent)))
        drv = os.path.join(real, 'driver')
        out.append('%s driver=%s' % (d, os.path.basename(os.readlink(drv)) if os.path.islink(drv) else '-'))
        attrs(real, d, out)
        for c in sorted(os.listdir(real), key=natural):
            if c.startswith('mapping') and os.path.isdir(os.path.join(real, c)):
                attrs(os.path.join(real, c), '%s/%s' % (d, c), out)
        if os.path.isdir(os.path.join(parent, 'dax_region')):
            attrs(os.path.join(parent, 'dax_region'), '%s/../dax_region' % d, out)
    for n in sorted(os.listdir('/dev'), key=natural):
        if n.startswith('dax'):
            st = os.stat('/dev/' + n)
            out.append('/dev/%s %s %o' % (n, 'chr' if stat.S_ISCHR(st.st_mode) else 'other',
                                          stat.S_IMODE(st.st_mode)))
    drvdir = '/sys/bus/dax/drivers'
    for drv in sorted(os.listdir(drvdir)) if os.path.isdir(drvdir) else []:
        bound = sorted((n for n in os.listdir(os.path.join(drvdir, drv)) if n.startswith('dax')), key=natural)
        out.append('driver %s: %s' % (drv, ' '.join(bound) or '-'))
    with open(prefix + '-daxbus.out', 'w') as fh:
        fh.write(''.join(l + '\n' for l in out))


def run(argv, out):
    c = argv[0]
    if c == 'pattern' and len(argv) == 5 and argv[1] in ('write', 'verify'):
        cmd_pattern(out, *argv[1:])
    elif c == 'faults' and len(argv) == 4:
        cmd_faults(out, *argv[1:])
    elif c == 'badmap' and len(argv) == 2:
        cmd_badmap(out, argv[1])
    elif c == 'badmap' and len(argv) == 3 and argv[2] == 'noread':
        cmd_badmap(out, argv[1], reads=False)
    elif c == 'access' and len(argv) == 3:
        cmd_access(out, *argv[1:])
    elif c == 'live' and len(argv) == 4:
        cmd_live(out, *argv[1:])
    elif c == 'live' and len(argv) == 5 and argv[4] == 'noread':
        cmd_live(out, *argv[1:4], reads=False)
    elif c == 'sysfs' and len(argv) == 2:
        cmd_sysfs(argv[1])
    else:
        raise ValueError('unknown command %r' % ' '.join(argv))


def canon(files):
    """Views taken after autodetect name the nd dax devices (daxN.M on the nd
    bus) in the order their namespaces happened to probe, which varies from
    boot to boot on both stacks. For each FILE write FILE.canon with each
    claiming nd dax device named after its namespace (dax<namespace0.1>),
    found in the view's -pfn.out (`daxN.M/namespace MODE: namespaceX.Y`),
    wherever sysfs or ndctl and daxctl name the nd device: a line's first
    word (the nd device list, the pfn dump), the value of a namespace's
    `holder`, a dax bus device's `parent=`, and daxctl's region `path`.
    The dax bus devices (dax0.1 under /sys/bus/dax, /dev/dax0.1) keep their
    names: C names them after the namespace; their minor numbers (`dev`,
    the uevent's MINOR=) print as <minor>: the dax bus hands them out in
    the order the devices come up. .out lines are sorted, and JSON
    arrays of objects by their dev, path or chardev."""
    import glob
    import json
    import re
    names = {}
    for f in files:
        if f.endswith('-pfn.out'):
            for line in open(f):
                m = re.match(r'(dax\d+\.\d+)/namespace [0-7]+: (namespace\S+)$', line.strip())
                if m:
                    names[m.group(1)] = 'dax<%s>' % m.group(2)

    def nd(name):
        return names.get(name, name)

    def fix_json(v):
        if isinstance(v, dict):
            out = {}
            for k, x in v.items():
                if k == 'path' and isinstance(x, str):
                    x = re.sub(r'/(dax\d+\.\d+)$', lambda m: '/' + nd(m.group(1)), x)
                out[k] = fix_json(x)
            return out
        if isinstance(v, list):
            items = [fix_json(x) for x in v]
            if items and all(isinstance(x, dict) for x in items):
                items.sort(key=lambda x: str(x.get('dev', x.get('path', x.get('chardev', '')))))
            return items
        return v

    for f in files:
        text = open(f).read()
        if f.endswith('.json'):
            try:
                text = json.dumps(fix_json(json.loads(text)), indent=1, sort_keys=True) + '\n'
            except ValueError:
                pass
        else:
            lines = []
            for line in text.splitlines():
                if not f.endswith('-daxbus.out'):
                    line = re.sub(r'^(dax\d+\.\d+)(?=[/ ]|$)', lambda m: nd(m.group(1)), line)
                line = re.sub(r'^(\S+/holder [0-7]+: )(dax\S+)$', lambda m: m.group(1) + nd(m.group(2)), line)
                line = re.sub(r'( parent=)(dax\S+)$', lambda m: m.group(1) + nd(m.group(2)), line)
                if f.endswith('-daxbus.out'):
                    line = re.sub(r'^(\S+/(dev [0-7]+: \d+:|uevent [0-7]+: MINOR=))\d+$', r'\1<minor>', line)
                lines.append(line)
            text = ''.join(l + '\n' for l in sorted(lines))
        open(f + '.canon', 'w').write(text)


# Seconds one command of a batch may take (a pattern over 64 MiB takes a
# few in a TCG guest); past them it ends as `signal=SIGALRM`.
COMMAND_SECONDS = 300


def run_child(words):
    """run() in a child process: a signal (a SIGBUS where C gives none, a
    SIGSEGV after an unmap C refuses, SIGALRM after COMMAND_SECONDS) ends
    that command only, and is its last result line."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        out = []
        signal.signal(signal.SIGALRM, signal.SIG_DFL)
        signal.alarm(COMMAND_SECONDS)
        try:
            run(words, out)
        except Exception as e:  # reported in the results, compared
            out.append('error: %s: %s' % (type(e).__name__, e))
        os.write(w, ''.join(l + '\n' for l in out).encode())
        os._exit(0)
    os.close(w)
    got = b''
    while True:
        b = os.read(r, 65536)
        if not b:
            break
        got += b
    os.close(r)
    _, status = os.waitpid(pid, 0)
    out = got.decode().splitlines()
    if os.WIFSIGNALED(status):
        out.append('signal=%s' % signal.Signals(os.WTERMSIG(status)).name)
    return out


def main(argv):
    if not argv or argv[0] in ('-h', '--help'):
        sys.stdout.write(__doc__)
        return 0 if argv else 2
    if argv[0] == 'canon':
        canon(argv[1:])
        return 0
    if argv[0] == 'batch' and len(argv) == 2:
        rc = 0
        for line in sys.stdin:
            words = line.split()
            if not words:
                continue
            out = run_child(words)
            if out and out[-1].startswith(('error: ', 'signal=', 'exit ')):
                rc = 1
            with open(argv[1], 'a') as fh:
                fh.write('== %s\n' % ' '.join(words))
                fh.write(''.join(l + '\n' for l in out))
        return rc
    out = []
    run(argv, out)
    sys.stdout.write(''.join(l + '\n' for l in out))
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
