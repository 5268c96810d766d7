#!/usr/bin/env python3
"""Issue raw ND ioctls on /dev/nmemN and /dev/ndctlN, print one result line each.

    ndioctl.py [--ro|--wo] DEV size
    ndioctl.py [--ro|--wo] DEV get OFF LEN
    ndioctl.py [--ro|--wo] DEV set OFF LEN [--data same|zero]
    ndioctl.py [--ro|--wo] DEV flags
    ndioctl.py [--ro|--wo] DEV call FAMILY FUNC SIZE_IN SIZE_OUT [--reserved] [--hex BYTES]
    ndioctl.py [--ro|--wo] DEV ars-cap ADDR LEN | ars-start | clear-error
    ndioctl.py [--ro|--wo] DEV raw NR [--type C] [--size N] [--dir none|r|w|rw]
                                      [--buf N] [--u32 A,B,...]
    ndioctl.py DEV suite-dimm [--wrap] [--qemu]   the battery bad-input.sh compares
    ndioctl.py DEV suite-bus
    ndioctl.py sysfs-write VALUE PATH...   write to sysfs files, one line per PATH
    ndioctl.py sysfs-batch OUTDIR   lines of stdin `PHASE<tab>DIR<tab>VALUE<tab>ATTR ...`:
                                    append `== DIR's name <- 'VALUE'` and sysfs-write VALUE
                                    ATTR... (relative to DIR) to OUTDIR/PHASE-sysfs.out
    ndioctl.py batch                lines of stdin `LABEL ARGS...` (shell words): print
                                    `LABEL: ` and what `ndioctl.py ARGS...` prints

The batch forms run many commands in one process: a python start costs seconds in
a TCG guest.

Every ioctl prints `errno=<NAME>` or `ok status=<fw status> rc=<ioctl return>`,
followed by `key=value` details (returned sizes, a hash of the returned buffer).
Numbers accept 0x prefixes. The ioctl buffer is exactly as large as the C kernel
reads (ND_CMD envelope rules of drivers/nvdimm/bus.c) and ends right before an
unmapped page, so a kernel that reads or writes past it gets EFAULT instead of
silently touching other memory. Buffers are pre-filled with 0xa5 so that what
the kernel copies back is deterministic.

Encoding follows include/uapi/linux/ndctl.h: _IOWR('N', nr, struct) with
  DIMM_FLAGS 8, GET_CONFIG_SIZE 12, GET_CONFIG_DATA 12, SET_CONFIG_DATA 8,
  VENDOR 8, ARS_CAP 32, ARS_START 32, ARS_STATUS 48, CLEAR_ERROR 32, CALL 64.

`set --data same` (the default) first reads the current bytes of the target
range through GET_CONFIG_DATA and writes them back, so a successful SET leaves
the label area unchanged; if that read fails the SET is not issued and
`skipped=preread-failed` is printed.
"""
import contextlib
import ctypes
import errno
import hashlib
import io
import mmap
import os
import shlex
import struct
import sys
import traceback

PAGE = mmap.PAGESIZE
MIB = 1 << 20
ND_IOCTL = ord('N')
IOC_NONE, IOC_WRITE, IOC_READ = 0, 1, 2

# nr -> sizeof(struct) (include/uapi/linux/ndctl.h), separately for DIMM and bus.
DIMM_FLAGS, GET_CONFIG_SIZE, GET_CONFIG_DATA, SET_CONFIG_DATA = 3, 4, 5, 6
VENDOR, CALL = 9, 10
ARS_CAP, ARS_START, ARS_STATUS, CLEAR_ERROR = 1, 2, 3, 4
DIMM_SIZES = {DIMM_FLAGS: 8, GET_CONFIG_SIZE: 12, GET_CONFIG_DATA: 12,
              SET_CONFIG_DATA: 8, VENDOR: 8, CALL: 64}
BUS_SIZES = {ARS_CAP: 32, ARS_START: 32, ARS_STATUS: 48, CLEAR_ERROR: 32, CALL: 64}

libc = ctypes.CDLL(None, use_errno=True)
libc.ioctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_void_p]
libc.ioctl.restype = ctypes.c_int
libc.mprotect.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]


def ioc(dirn, typ, nr, size):
    return (dirn << 30) | ((size & 0x3fff) << 16) | ((typ & 0xff) << 8) | (nr & 0xff)


def iowr(nr, size):
    return ioc(IOC_READ | IOC_WRITE, ND_IOCTL, nr, size)


def ename(e):
    return errno.errorcode.get(e, str(e))


class Buf:
    """len bytes that end exactly at a PROT_NONE guard page."""

    def __init__(self, length, fill=0xa5):
        self.length = length
        body = (length + PAGE - 1) // PAGE * PAGE
        self.map = mmap.mmap(-1, body + PAGE)
        base = ctypes.addressof(ctypes.c_char.from_buffer(self.map))
        if libc.mprotect(base + body, PAGE, 0) != 0:
            raise OSError(ctypes.get_errno(), "mprotect")
        self.off = body - length
        self.addr = base + self.off
        self.map[self.off:body] = bytes([fill]) * length

    def __getitem__(self, sl):
        return self.map[self.off + sl.start:self.off + sl.stop]

    def __setitem__(self, sl, data):
        self.map[self.off + sl.start:self.off + sl.stop] = data

    def u32(self, at):
        return struct.unpack_from('<I', self.map, self.off + at)[0]

    def put(self, fmt, at, *vals):
        struct.pack_into(fmt, self.map, self.off + at, *vals)

    def digest(self, start=0, end=None):
        end = self.length if end is None else end
        return hashlib.sha256(self.map[self.off + start:self.off + end]).hexdigest()[:16]


def do_ioctl(fd, req, buf):
    """Returns (rc, None) or (None, errno)."""
    ctypes.set_errno(0)
    rc = libc.ioctl(fd, req, ctypes.c_void_p(buf.addr if buf else 0))
    if rc < 0:
        return None, ctypes.get_errno()
    return rc, None


def fmt(rc, err, status=None, **kv):
    if err is not None:
        return "errno=%s" % ename(err)
    out = "ok status=%s rc=%d" % ("-" if status is None else "%#x" % status, rc)
    for k, v in kv.items():
        out += " %s=%s" % (k, v)
    return out


def buf_len(n):
    # What the kernel touches can be up to 4 GiB for wrapped lengths; anything
    # beyond 8 MiB is refused by the C kernel before the copy (or is a u32 wrap
    # that copies a few bytes), so cap the allocation there.
    return min(n, 8 * MIB + PAGE)


# ---------------------------------------------------------------- operations

def op_size(fd):
    b = Buf(12)
    rc, err = do_ioctl(fd, iowr(GET_CONFIG_SIZE, 12), b)
    if err is not None:
        return fmt(rc, err), None
    return (fmt(rc, err, b.u32(0), config_size=b.u32(4), max_xfer=b.u32(8)),
            (b.u32(0), b.u32(4), b.u32(8)))


def op_get(fd, off, length):
    b = Buf(buf_len(12 + length))
    b.put('<II', 0, off, length)
    rc, err = do_ioctl(fd, iowr(GET_CONFIG_DATA, 12), b)
    if err is not None:
        return fmt(rc, err), None
    return fmt(rc, err, b.u32(8), data=b.digest(12)), b[12:b.length]


def preread(path, off, length):
    """Current bytes of [off, off+length) clipped to the area, zero beyond."""
    fd = os.open(path, os.O_RDWR)
    try:
        _, info = op_size(fd)
        if info is None or info[0] != 0 or info[2] == 0:
            return None
        _, cfg, xfer = info
        data = bytearray(length)
        pos = off
        end = min(off + length, cfg)
        while pos < end:
            n = min(xfer, end - pos)
            b = Buf(12 + n)
            b.put('<II', 0, pos, n)
            rc, err = do_ioctl(fd, iowr(GET_CONFIG_DATA, 12), b)
            if err is not None or rc != 0 or b.u32(8) != 0:
                return None
            data[pos - off:pos - off + n] = b[12:12 + n]
            pos += n
        return bytes(data)
    finally:
        os.close(fd)


def op_set(fd, path, off, length, data_mode):
    total = 8 + length + 4
    n = buf_len(total)
    b = Buf(n)
    b.put('<II', 0, off, length)
    if data_mode == 'same':
        want = min(length, n - 12) if n >= 12 else 0
        cur = preread(path, off, min(want, 4 * MIB)) if want else b''
        if cur is None:
            return "skipped=preread-failed"
        b[8:8 + len(cur)] = cur
    elif data_mode == 'zero':
        b[8:n] = bytes(n - 8)
    rc, err = do_ioctl(fd, iowr(SET_CONFIG_DATA, 8), b)
    if err is not None:
        return fmt(rc, err)
    st = b.u32(8 + length) if 8 + length + 4 <= n else None
    return fmt(rc, err, st, buf=b.digest())


def op_flags(fd):
    b = Buf(8)
    rc, err = do_ioctl(fd, iowr(DIMM_FLAGS, 8), b)
    if err is not None:
        return fmt(rc, err)
    return fmt(rc, err, b.u32(0), flags="%#x" % b.u32(4))


def op_call(fd, family, func, size_in, size_out, reserved=False, payload=b''):
    n = buf_len(64 + size_in + size_out)
    b = Buf(n)
    b[0:64] = bytes(64)
    b.put('<QQII', 0, family, func, size_in, size_out)
    if reserved:
        b.put('<I', 24, 1)
    if size_in:
        b[64:min(n, 64 + size_in)] = bytes(min(n, 64 + size_in) - 64)
    # --hex: the payload's first bytes (input, then output), as far as it goes.
    payload = payload[:max(0, min(n, 64 + size_in + size_out) - 64)]
    if payload:
        b[64:64 + len(payload)] = payload
    rc, err = do_ioctl(fd, iowr(CALL, 64), b)
    if err is not None:
        return fmt(rc, err)
    st = b.u32(64 + size_in) if size_out >= 4 else None
    return fmt(rc, err, st, fw_size=b.u32(60), data=b.digest(64))


def op_bus(fd, nr, addr=0, length=0):
    size = BUS_SIZES[nr]
    if nr == ARS_CAP:
        b = Buf(16 + 16)
        b.put('<QQ', 0, addr, length)
        st_at = 16
    elif nr == ARS_START:
        b = Buf(8 + 8 + 2 + 1 + 5 + 4 + 4)
        b[0:24] = bytes(24)
        b.put('<QQH', 0, addr, length, 1)
        st_at = 24
    elif nr == CLEAR_ERROR:
        b = Buf(16 + 16)
        b.put('<QQ', 0, addr, length)
        st_at = 16
    else:
        raise SystemExit("ndioctl: unsupported bus op %d" % nr)
    rc, err = do_ioctl(fd, iowr(nr, size), b)
    if err is not None:
        return fmt(rc, err)
    return fmt(rc, err, b.u32(st_at), data=b.digest(st_at))


def op_raw(fd, nr, typ=ND_IOCTL, size=None, dirn='rw', blen=4096, u32s=()):
    d = {'none': IOC_NONE, 'r': IOC_READ, 'w': IOC_WRITE, 'rw': IOC_READ | IOC_WRITE}[dirn]
    if size is None:
        size = DIMM_SIZES.get(nr, 0)
    b = Buf(blen)
    for i, v in enumerate(u32s):
        b.put('<I', 4 * i, v)
    rc, err = do_ioctl(fd, ioc(d, typ, nr, size), b)
    if err is not None:
        return fmt(rc, err)
    return fmt(rc, err, b.u32(0), data=b.digest())


# ---------------------------------------------------------------- batteries

def suite_dimm(path, wrap, qemu):
    """Every bad (and a few good) DIMM ioctls; one `name: result` line each.

    wrap: add lengths that overflow the kernel's u32 envelope arithmetic (only
    safe on nfit_test: the ACPI path would memcpy gigabytes in the C kernel).
    qemu: leave out zero-length transfers, which abort QEMU 7.2's NVDIMM model
    (assertion in nvdimm_validate_rw_label_data).
    """
    rw = os.open(path, os.O_RDWR)
    ro = os.open(path, os.O_RDONLY)
    wo = os.open(path, os.O_WRONLY)
    line, info = op_size(rw)
    print("size: " + line)
    print("size-ro: " + op_size(ro)[0])
    print("size-wo: " + op_size(wo)[0])
    cfg, xfer = (info[1], info[2]) if info else (128 * 1024, 4096)
    M4 = 4 * MIB
    gets = [
        ("0-0", 0, 0), ("0-1", 0, 1), ("0-xfer", 0, xfer), ("0-xfer+1", 0, xfer + 1),
        ("0-cfg", 0, cfg), ("end-8-16", cfg - 8, 16), ("end-0-16", cfg, 16),
        ("end+4096-16", cfg + 4096, 16), ("end-0-0", cfg, 0), ("0-1M", 0, MIB),
        ("0-4M-12", 0, M4 - 12), ("0-4M-11", 0, M4 - 11), ("0-4M", 0, M4),
        ("0-4M+1", 0, M4 + 1), ("off-max-16", 0xfffffff0, 16),
    ]
    if qemu:
        gets = [g for g in gets if g[2] != 0]
    if wrap:
        gets += [("0-u32max", 0, 0xffffffff), ("0-u32max-3", 0, 0xfffffffc)]
    for name, off, length in gets:
        print("get-%s: %s" % (name, op_get(rw, off, length)[0]))
    print("get-ro: " + op_get(ro, 0, 256)[0])
    print("get-wo: " + op_get(wo, 0, 256)[0])
    sets = [
        ("0-0", 0, 0), ("0-1", 0, 1), ("0-xfer", 0, xfer), ("0-xfer+1", 0, xfer + 1),
        ("end-8-16", cfg - 8, 16), ("end-0-16", cfg, 16), ("end+4096-16", cfg + 4096, 16),
        ("0-4M-12", 0, M4 - 12), ("0-4M-11", 0, M4 - 11), ("0-4M+1", 0, M4 + 1),
        ("off-max-16", 0xfffffff0, 16),
    ]
    if qemu:
        sets = [g for g in sets if g[2] != 0]
    if wrap:
        sets += [("0-u32max", 0, 0xffffffff), ("0-u32max-7", 0, 0xfffffff8)]
    for name, off, length in sets:
        print("set-%s: %s" % (name, op_set(rw, path, off, length, 'same')))
    print("set-ro: " + op_set(ro, path, 0, 16, 'same'))
    print("set-wo: " + op_set(wo, path, 0, 16, 'same'))
    print("flags: " + op_flags(rw))
    print("flags-ro: " + op_flags(ro))
    print("call-smart: " + op_call(rw, 0, 1, 0, 132))
    print("call-smart-128: " + op_call(rw, 0, 1, 0, 128))
    print("call-smart-ro: " + op_call(ro, 0, 1, 0, 128))
    print("call-smart-thresh: " + op_call(rw, 0, 2, 0, 12))
    print("call-smart-thresh-ro: " + op_call(ro, 0, 2, 0, 12))
    print("call-family-1: " + op_call(rw, 1, 1, 0, 128))
    print("call-family-5: " + op_call(rw, 5, 1, 0, 128))
    print("call-family-6: " + op_call(rw, 6, 1, 0, 128))
    print("call-family-big: " + op_call(rw, 1 << 40, 1, 0, 128))
    print("call-reserved: " + op_call(rw, 0, 1, 0, 128, reserved=True))
    print("call-func-63: " + op_call(rw, 0, 63, 0, 16))
    print("call-func-64: " + op_call(rw, 0, 64, 0, 16))
    print("call-func-big: " + op_call(rw, 0, 1 << 40, 0, 16))
    print("call-4M+1: " + op_call(rw, 0, 1, M4 + 1, 128))
    for nr in (0, 1, 2, 7, 8, 9, 11, 12, 0x20, 0x7f, 0xff):
        print("nr-%#x: %s" % (nr, op_raw(rw, nr)))
    print("nr-0xb-ro: " + op_raw(ro, 11))
    print("nr-9-ro: " + op_raw(ro, 9, size=8))
    # A valid nr with a wrong type / size / direction field.
    print("size-type-M: " + op_raw(rw, GET_CONFIG_SIZE, typ=ord('M'), size=12))
    print("size-type-0: " + op_raw(rw, GET_CONFIG_SIZE, typ=0, size=12))
    print("size-size-4: " + op_raw(rw, GET_CONFIG_SIZE, size=4))
    print("size-size-0: " + op_raw(rw, GET_CONFIG_SIZE, size=0))
    print("size-size-max: " + op_raw(rw, GET_CONFIG_SIZE, size=0x3fff))
    print("size-dir-none: " + op_raw(rw, GET_CONFIG_SIZE, dirn='none'))
    print("size-dir-r: " + op_raw(rw, GET_CONFIG_SIZE, dirn='r'))
    print("size-dir-w: " + op_raw(rw, GET_CONFIG_SIZE, dirn='w'))
    print("get-size-100: " + op_raw(rw, GET_CONFIG_DATA, size=100, u32s=(0, 16)))
    print("get-type-M: " + op_raw(rw, GET_CONFIG_DATA, typ=ord('M'), u32s=(0, 16)))
    print("set-size-0-ro: " + op_raw(ro, SET_CONFIG_DATA, size=0, u32s=(0, 16)))
    for f in (rw, ro, wo):
        os.close(f)


def suite_bus(path):
    rw = os.open(path, os.O_RDWR)
    ro = os.open(path, os.O_RDONLY)
    print("ars-cap-0-0: " + op_bus(rw, ARS_CAP, 0, 0))
    print("ars-cap-ro: " + op_bus(ro, ARS_CAP, 0, 0))
    print("ars-cap-big: " + op_bus(rw, ARS_CAP, 0xffffffff00000000, 1 << 40))
    print("ars-start-ro: " + op_bus(ro, ARS_START, 0, 0))
    print("clear-error-ro: " + op_bus(ro, CLEAR_ERROR, 0, 0))
    print("call-family-2: " + op_call(rw, 2, 1, 0, 16))
    print("call-family-big: " + op_call(rw, 1 << 40, 1, 0, 16))
    print("call-family-0-func-99: " + op_call(rw, 0, 99, 0, 16))
    print("call-family-1-func-99: " + op_call(rw, 1, 99, 0, 16))
    print("call-ro: " + op_call(ro, 0, 99, 0, 16))
    for nr in (0, 5, 6, 7, 9, 11, 0x20, 0xff):
        print("nr-%#x: %s" % (nr, op_raw(rw, nr, size=32)))
    print("ars-cap-type-M: " + op_raw(rw, ARS_CAP, typ=ord('M'), size=32, u32s=(0, 0, 0, 0)))
    print("ars-cap-size-0: " + op_raw(rw, ARS_CAP, size=0, u32s=(0, 0, 0, 0)))
    os.close(rw)
    os.close(ro)


def sysfs_write(value, paths):
    for p in paths:
        try:
            fd = os.open(p, os.O_WRONLY)
        except OSError as e:
            print("%s: open errno=%s" % (p, ename(e.errno)))
            continue
        try:
            n = os.write(fd, value.encode())
            print("%s: ok n=%d" % (p, n))
        except OSError as e:
            print("%s: write errno=%s" % (p, ename(e.errno)))
        finally:
            os.close(fd)


# ---------------------------------------------------------------- command line

def num(s):
    return int(s, 0)


def sysfs_batch(outdir, lines):
    for line in lines:
        line = line.rstrip('\n')
        if not line:
            continue
        phase, d, value, attrs = line.split('\t')
        with open(os.path.join(outdir, phase + '-sysfs.out'), 'a') as out:
            out.write("== %s <- '%s'\n" % (os.path.basename(d), value))
            if not os.path.isdir(d):
                out.write("no device %s\n" % os.path.basename(d))
                continue
            here = os.getcwd()
            os.chdir(d)
            try:
                with contextlib.redirect_stdout(out):
                    sysfs_write(value, attrs.split())
            finally:
                os.chdir(here)


def batch(lines):
    for line in lines:
        words = shlex.split(line, comments=True)
        if not words:
            continue
        got = io.StringIO()
        try:
            with contextlib.redirect_stdout(got):
                main(words[1:])
        except SystemExit as e:
            got.write(str(e.code) if e.code not in (None, 0) else '')
        except Exception:  # what a separate process would print, then go on
            traceback.print_exc()
        # As the shell's `echo "LABEL: $(ndioctl.py ...)"` prints it.
        print("%s: %s" % (words[0], got.getvalue().rstrip('\n')))


def main(argv):
    if hasattr(sys.stdout, 'reconfigure'):
        sys.stdout.reconfigure(line_buffering=True)
    mode = os.O_RDWR
    while argv and argv[0].startswith('--'):
        flag = argv.pop(0)
        if flag == '--ro':
            mode = os.O_RDONLY
        elif flag == '--wo':
            mode = os.O_WRONLY
        elif flag in ('-h', '--help'):
            print(__doc__)
            return 0
        else:
            raise SystemExit("ndioctl: unknown flag " + flag)
    if not argv:
        print(__doc__)
        return 2
    if argv[0] == 'sysfs-write':
        sysfs_write(argv[1], argv[2:])
        return 0
    if argv[0] == 'sysfs-batch':
        sysfs_batch(argv[1], sys.stdin)
        return 0
    if argv[0] == 'batch':
        batch(sys.stdin)
        return 0
    path, op, args = argv[0], argv[1], argv[2:]
    opts = {}
    pos = []
    while args:
        a = args.pop(0)
        if a.startswith('--'):
            if a in ('--reserved', '--wrap', '--qemu'):
                opts[a[2:]] = True
            else:
                opts[a[2:]] = args.pop(0)
        else:
            pos.append(a)
    if op == 'suite-dimm':
        suite_dimm(path, opts.get('wrap', False), opts.get('qemu', False))
        return 0
    if op == 'suite-bus':
        suite_bus(path)
        return 0
    try:
        fd = os.open(path, mode)
    except OSError as e:
        print("open errno=%s" % ename(e.errno))
        return 0
    if op == 'size':
        print(op_size(fd)[0])
    elif op == 'get':
        print(op_get(fd, num(pos[0]), num(pos[1]))[0])
    elif op == 'set':
        print(op_set(fd, path, num(pos[0]), num(pos[1]), opts.get('data', 'same')))
    elif op == 'flags':
        print(op_flags(fd))
    elif op == 'call':
        print(op_call(fd, *[num(x) for x in pos[:4]], reserved=opts.get('reserved', False),
                      payload=bytes.fromhex(opts.get('hex', ''))))
    elif op in ('ars-cap', 'ars-start', 'clear-error'):
        nr = {'ars-cap': ARS_CAP, 'ars-start': ARS_START, 'clear-error': CLEAR_ERROR}[op]
        print(op_bus(fd, nr, *[num(x) for x in pos[:2]]))
    elif op == 'raw':
        u32s = tuple(num(x) for x in opts['u32'].split(',')) if 'u32' in opts else ()
        print(op_raw(fd, num(pos[0]), typ=ord(opts.get('type', 'N')),
                     size=num(opts['size']) if 'size' in opts else None,
                     dirn=opts.get('dir', 'rw'), blen=num(opts.get('buf', '4096')),
                     u32s=u32s))
    else:
        raise SystemExit("ndioctl: unknown op " + op)
    os.close(fd)
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
