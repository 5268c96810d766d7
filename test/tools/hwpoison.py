#!/usr/bin/env python3
"""Report a memory failure in one page of a mapped file, for fsdax-fs.

    hwpoison.py FILE OFFSET

A child maps FILE MAP_SHARED and reads the page at OFFSET (the fault maps
it), finds the page's physical address in /proc/self/pagemap and waits,
touching the page every second. The parent then declares that page failed
(`memory_failure()` through /sys/devices/system/memory/hard_offline_page, as
the kernel does for a machine check it did not consume) and sees what became
of the child. It prints two lines, the same on every stack that handles the
failure the same way:

    hard_offline_page: ok | errno=E
    mapper: killed by SIGBUS | survived

On a DAX file the page is persistent memory with a ZONE_DEVICE struct page.
Whether the failure reaches the file system depends on the pmem driver's
pagemap ops (C's `fsdax_pagemap_ops`): for a page xfs shares between two
reflinked files, only the file system can find every owner (through its
reverse map), unmap it and, with vm.memory_failure_early_kill (which this
tool sets), kill the tasks that mapped it (`ok`, SIGBUS); the kernel's generic handler gives up
(`errno=EBUSY`) and the task survives.

The kernel here has no madvise (CONFIG_ADVISE_SYSCALLS is off in tinyconfig),
so MADV_HWPOISON is not an option.
"""
import errno
import mmap
import os
import select
import signal
import struct
import sys
import time

OFFLINE = '/sys/devices/system/memory/hard_offline_page'
EARLY_KILL = '/proc/sys/vm/memory_failure_early_kill'


def child(path, offset, wfd):
    fd = os.open(path, os.O_RDWR)
    page = mmap.PAGESIZE
    base = offset - offset % page
    m = mmap.mmap(fd, page, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE, offset=base)
    m[0]  # fault the page in
    # The mapping's virtual address: find it in our own maps by its file
    # offset (mmap objects do not say where they are).
    addr = None
    ino = os.fstat(fd).st_ino
    with open('/proc/self/maps') as fh:
        for line in fh:
            f = line.split()
            if len(f) >= 6 and int(f[4]) == ino and int(f[2], 16) == base:
                addr = int(f[0].split('-')[0], 16)
    entry = 0
    if addr is not None:
        with open('/proc/self/pagemap', 'rb') as pm:
            pm.seek(addr // page * 8)
            entry, = struct.unpack('<Q', pm.read(8))
    present = entry >> 63 & 1
    pfn = entry & ((1 << 55) - 1)
    os.write(wfd, b'%d\n' % (pfn * page if present and pfn else 0))
    while True:
        time.sleep(1)
        m[0]


def main():
    path, offset = sys.argv[1], int(sys.argv[2], 0)
    # Early kill: the kernel signals every task that maps the failed page
    # at once (SIGBUS, BUS_MCEERR_AO). Without it only a task that consumes
    # the poison would be, on its access; no access here consumes any (a
    # devdax fault maps the page again), so the child would live.
    with open(EARLY_KILL, 'w') as fh:
        fh.write('1\n')
    r, w = os.pipe()
    sys.stdout.flush()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        try:
            child(path, offset, w)
        finally:
            os._exit(1)
    os.close(w)
    phys = int(os.read(r, 64).split(b'\n')[0] or b'0')
    if not phys:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        print('no physical address for the page')
        sys.exit(1)
    try:
        with open(OFFLINE, 'w') as fh:
            fh.write('%#x\n' % phys)
        print('hard_offline_page: ok')
    except OSError as e:
        print('hard_offline_page: errno=%s' % errno.errorcode.get(e.errno, str(e.errno)))
    # The kill is synchronous with the write; give the child a moment anyway.
    for _ in range(50):
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        select.select([], [], [], 0.1)
    else:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        print('mapper: survived')
        return
    if os.WIFSIGNALED(status):
        print('mapper: killed by %s' % signal.Signals(os.WTERMSIG(status)).name)
    else:
        print('mapper: exited %d' % os.WEXITSTATUS(status))


if __name__ == '__main__':
    main()
