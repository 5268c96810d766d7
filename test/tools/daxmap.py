#!/usr/bin/env python3
"""Files through MAP_SYNC mappings (fsdax), for pfn-qemu and fsdax-fs.

    daxmap.py write FILE SIZE SEED [--user-flush]
                                     create FILE (SIZE bytes, allocated), map it
                                     MAP_SHARED_VALIDATE | MAP_SYNC, store a
                                     pattern of SEED through the mapping, msync;
                                     with --user-flush no msync: the stores are
                                     made durable from user space, as MAP_SYNC
                                     allows (CLFLUSH of every cache line, then
                                     SFENCE)
    daxmap.py read FILE SEED         map FILE the same way and check the pattern
    daxmap.py faults FILE SIZE       create FILE (SIZE bytes, allocated), map it
                                     MAP_SYNC, store a byte in every 4 KiB page
                                     twice: the minor faults of each pass
                                     (PTE: one per page; PMD: one per 2 MiB)
    daxmap.py peek FILE OFFSET       in a child, map FILE and load the byte at
                                     OFFSET: `peek: ok sha256 of the page` or
                                     `peek: killed by SIGBUS`
    daxmap.py hold FILE              map FILE MAP_SYNC, load every page, print
                                     `hold: mapped`, then keep loading them
                                     every 50 ms until stdin closes (`hold:
                                     released`) or a signal ends it (the
                                     parent shell sees its status)

Each prints one line per fact, the same on every stack that serves DAX:
`map_sync: ok` (the kernel accepted MAP_SYNC, which only a DAX mapping
allows; otherwise `map_sync: errno=E`), `vmflags sf: yes|no` (the mapping's
VM_SYNC flag in /proc/self/smaps), `pattern: match|mismatch at N`, and the
sha256 of the file's bytes.
"""
import ctypes
import errno
import hashlib
import mmap
import os
import select
import signal
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


# clflush [rdi]; add rdi, 64; sub rsi, 64; ja 0; sfence; ret: the lines of
# [rdi, rdi + rsi) written back and evicted, then ordered (rsi a non-zero
# multiple of 64). x86-64 only, where CLFLUSH always exists.
FLUSH_CODE = bytes.fromhex('0fae3f' '4883c740' '4883ee40' '77f3' '0faef8' 'c3')


def user_flush(m, size):
    """Flush `size` bytes of mapping `m` from user space (FLUSH_CODE)."""
    code = mmap.mmap(-1, mmap.PAGESIZE, prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)
    code[:len(FLUSH_CODE)] = FLUSH_CODE
    fn = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_size_t)(addr_of(code))
    fn(addr_of(m), size)
    del fn
    code.close()


def addr_of(m):
    return ctypes.addressof(ctypes.c_char.from_buffer(m))


def cmd_faults(path, size):
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o644)
    os.posix_fallocate(fd, 0, size)
    m, err = mapped(fd, size)
    if m is None:
        print('map_sync: errno=%s' % err)
        return 1
    # devdax.py's counting: a store per page, the minor faults around it.
    from devdax import minflt, touch  # test/tools, this script's directory
    base = addr_of(m)
    passes = []
    for _ in range(2):
        minflt()
        before = minflt()
        touch(base, size, 4096)
        passes.append(minflt() - before)
    print('faults: %d (second pass %d) for %d pages' % (passes[0], passes[1], size // 4096))
    del base
    m.close()
    os.close(fd)
    return 0


def cmd_peek(path, offset):
    pid = os.fork()
    if pid == 0:
        fd = os.open(path, os.O_RDONLY)
        m = mmap.mmap(fd, os.fstat(fd).st_size, flags=mmap.MAP_SHARED, prot=mmap.PROT_READ)
        page = offset - offset % 4096
        got = m[page:page + 4096]
        os.write(1, b'peek: ok sha256 %s\n' % hashlib.sha256(got).hexdigest().encode())
        os._exit(0)
    _, status = os.waitpid(pid, 0)
    if os.WIFSIGNALED(status):
        print('peek: killed by %s' % signal.Signals(os.WTERMSIG(status)).name)
        return 1
    return os.WEXITSTATUS(status)


def cmd_hold(path):
    fd = os.open(path, os.O_RDWR)
    size = os.fstat(fd).st_size
    m, err = mapped(fd, size)
    if m is None:
        print('map_sync: errno=%s' % err)
        return 1

    def touch():
        for off in range(0, size, 4096):
            m[off]

    touch()
    print('hold: mapped', flush=True)
    while True:
        ready, _, _ = select.select([sys.stdin], [], [], 0.05)
        if ready and not sys.stdin.buffer.read1(4096):
            break
        touch()
    print('hold: released')
    return 0


def main(argv):
    flush = 'msync'
    if argv[:1] == ['write'] and argv[-1:] == ['--user-flush']:
        argv, flush = argv[:-1], 'user'
    if len(argv) == 3 and argv[0] == 'faults':
        return cmd_faults(argv[1], int(argv[2]))
    if len(argv) == 3 and argv[0] == 'peek':
        return cmd_peek(argv[1], int(argv[2]))
    if len(argv) == 2 and argv[0] == 'hold':
        return cmd_hold(argv[1])
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
        if flush == 'user':
            user_flush(m, size - size % 64)
            print('flushed from user space')
        else:
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
