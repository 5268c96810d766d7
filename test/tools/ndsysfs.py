#!/usr/bin/env python3
"""Dump what sysfs shows of nd regions, namespaces and pmem disks, for comparing stacks.

    ndsysfs.py dump PREFIX      writes PREFIX-regions.out, PREFIX-devices.out, PREFIX-block.out
    ndsysfs.py attrs DIR LABEL  prints the attribute lines of one sysfs device
    ndsysfs.py serve            one command a line on stdin, `ok` or `error: ...`
                                a line on stdout after each (see serve())

One process does it all: under TCG every fork of cat or stat costs tens of ms.

Attribute lines are `LABEL/NAME MODE: VALUE` (octal mode as stat prints it; one
line per line of a multi-line value; `<read error: MSG>` when the read fails; no
value for a file without read bits). Attribute groups (nfit/, dax/, queue/) are
walked; child devices (directories with a uevent) and symlinks are not.

Normalised, because they legitimately differ between boots or stacks:
  - the `resource` of regions and namespaces on the nfit_test.1 bus prints as
    <nfit_test.1 range>: C's nfit_test.1 publishes the vmalloc address of the
    range's buffer as its system-physical address (an artefact of the test
    platform; it changes from boot to boot);
  - a pmem disk's minor number (`dev` and the uevent's MINOR=) prints as
    <minor>: block minors are handed out in the order disks are added, and
    namespaces are probed asynchronously.

  PREFIX-regions.out   the attributes of every regionN and namespaceN.M
  PREFIX-devices.out   every device on the nd bus with the driver it is bound
                       to, and the /dev/pmem* and /dev/dax* nodes
  PREFIX-block.out     the attributes of every /sys/block/pmem* less BLOCK_SKIP
"""
import glob
import os
import re
import stat
import sys

ND = '/sys/bus/nd/devices'
# Left out of the block dump: how the disk takes I/O (blk-mq or bio-based
# submission, an implementation choice of nd_pmem, see Documentation/pmem.md),
# I/O statistics, and diskseq (a global count of the disks ever allocated, also
# in the uevent).
MINOR = re.compile(r'^(pmem[^/ ]*/(dev [0-7]+: [0-9]+:|uevent [0-7]+: MINOR=))[0-9]+$')
BLOCK_SKIP = re.compile(r'^pmem[^/ ]*/(stat|inflight|diskseq|uevent [0-7]+: DISKSEQ=|mq/|'
                        r'queue/(scheduler|nr_requests|rq_affinity|wbt_lat_usec|io_timeout|iosched/))')


def natural(name):
    return [int(t) if t.isdigit() else t for t in re.split(r'(\d+)', name)]


def provider(dev):
    """The provider of the bus an nd device sits on, e.g. nfit_test.1."""
    path = os.path.realpath(os.path.join(ND, dev))
    while path != '/':
        path = os.path.dirname(path)
        if re.match(r'ndbus\d+$', os.path.basename(path)):
            try:
                with open(os.path.join(path, 'provider')) as fh:
                    return fh.read().strip()
            except OSError:
                return None
    return None


def attrs(path, label, out, skip=()):
    """`LABEL/NAME MODE: VALUE` lines of a sysfs directory (groups walked,
    child devices and symlinks not); names in `skip` are left out at this
    level only."""
    try:
        names = sorted(os.listdir(path))
    except OSError as e:
        out.append('%s <list error: %s>' % (label, e.strerror))
        return
    for name in names:
        f = os.path.join(path, name)
        lab = '%s/%s' % (label, name)
        if os.path.islink(f) or name in skip:
            continue
        if os.path.isdir(f):
            if not os.path.exists(os.path.join(f, 'uevent')):
                attrs(f, lab, out)
            continue
        mode = stat.S_IMODE(os.stat(f).st_mode)
        head = '%s %o:' % (lab, mode)
        if not mode & 0o444:
            out.append(head)
            continue
        try:
            with open(f, 'rb') as fh:
                val = fh.read().decode('utf-8', 'backslashreplace')
        except OSError as e:
            out.append('%s <read error: %s>' % (head, e.strerror))
            continue
        lines = val.split('\n')
        if lines and lines[-1] == '':
            lines.pop()
        if not lines:
            out.append(head)
        for line in lines:
            out.append('%s %s' % (head, line) if line else head)


def dump(prefix):
    devs = sorted(os.listdir(ND), key=natural)
    out = []
    for d in devs:
        if re.match(r'(region|namespace)\d', d):
            lines = []
            attrs(os.path.join(ND, d), d, lines)
            if provider(d) == 'nfit_test.1':
                lines = [re.sub(r'^(%s/resource [0-7]+: ).*' % re.escape(d),
                                r'\1<nfit_test.1 range>', line) for line in lines]
            out += lines
    write(prefix + '-regions.out', out)

    out = []
    for d in devs:
        drv = os.path.join(ND, d, 'driver')
        out.append('%s driver=%s' % (d, os.path.basename(os.readlink(drv)))
                   if os.path.islink(drv) else d)
    out += ['/dev/' + n for n in sorted(os.listdir('/dev'), key=natural)
            if re.match(r'(pmem|dax)\d', n)]
    write(prefix + '-devices.out', out)

    out = []
    for d in sorted(os.listdir('/sys/block'), key=natural):
        if d.startswith('pmem'):
            lines = []
            attrs(os.path.join('/sys/block', d), d, lines)
            out += [MINOR.sub(r'\1<minor>', line) for line in lines if not BLOCK_SKIP.match(line)]
    write(prefix + '-block.out', out)


def write(path, lines):
    with open(path, 'w') as fh:
        fh.write(''.join(line + '\n' for line in lines))


def dump_btts(prefix):
    """Every attribute of every bttN.M, in PREFIX-btt.out."""
    out = []
    for b in sorted(glob.glob('/sys/bus/nd/devices/btt*'), key=lambda p: natural(os.path.basename(p))):
        attrs(b, os.path.basename(b), out)
    write(prefix + '-btt.out', out)


def dump_pfns(prefix):
    """Every attribute of every pfnN.M and daxN.M, in PREFIX-pfn.out."""
    out = []
    devs = glob.glob('/sys/bus/nd/devices/pfn*') + glob.glob('/sys/bus/nd/devices/dax*')
    for d in sorted(devs, key=lambda p: natural(os.path.basename(p))):
        attrs(d, os.path.basename(d), out)
    write(prefix + '-pfn.out', out)


def mask_uuids(prefix, seen, keep, devre=None):
    """Rewrite the uuids of btt, pfn, dax and namespace devices that do not
    start with `keep` (the ones ndctl made up) as <uuid-N> in every PREFIX-*
    file, N in order of first appearance, kept across calls in the file
    `seen`. With `devre`, only the devices whose name it matches count."""
    known = open(seen).read().split() if os.path.exists(seen) else []
    devs = sorted(glob.glob('/sys/bus/nd/devices/btt*') + glob.glob('/sys/bus/nd/devices/namespace*') +
                  glob.glob('/sys/bus/nd/devices/pfn*') + glob.glob('/sys/bus/nd/devices/dax*'),
                  key=lambda p: natural(os.path.basename(p)))
    for d in devs:
        if devre and not re.match(devre, os.path.basename(d)):
            continue
        try:
            u = open(d + '/uuid').read().strip()
        except OSError:
            continue
        if u and u != '0' * 8 + '-0000-0000-0000-' + '0' * 12 and not u.startswith(keep) and u not in known:
            known.append(u)
    open(seen, 'w').write(''.join(u + '\n' for u in known))
    for f in glob.glob(prefix + '-*'):
        t = open(f).read()
        for i, u in enumerate(known):
            t = t.replace(u, '<uuid-%d>' % i)
        open(f, 'w').write(t)


def main(argv):
    if len(argv) == 2 and argv[0] == 'dump':
        dump(argv[1])
    elif len(argv) == 3 and argv[0] == 'attrs':
        out = []
        attrs(argv[1], argv[2], out)
        sys.stdout.write(''.join(line + '\n' for line in out))
    elif argv == ['serve']:
        serve(sys.stdin, sys.stdout)
    else:
        sys.stderr.write(__doc__)
        return 2
    return 0


def write_attrs(lines, outfile, newline=False):
    """Lines "DIR VALUE ATTR..." (DIR under /sys/bus/nd/devices unless it starts
    with /; VALUE NL is an empty line, "\\n"; VALUE NONL:X is X with no
    newline; any other VALUE is written as it is, or with a newline added if
    `newline`): write VALUE to each ATTR of DIR and
    append each result to `outfile`: a `== DIR's name <- 'VALUE'` line, then
    `ATTR: ok n=N`, `ATTR: open errno=E` or `ATTR: write errno=E` per ATTR."""
    import errno
    with open(outfile, 'a') as out:
        for line in lines:
            f = line.split()
            if not f:
                continue
            d = f[0] if f[0].startswith('/') else os.path.join(ND, f[0])
            if f[1] == 'NL':
                v = '\n'
            elif f[1].startswith('NONL:'):
                v = f[1][5:]
            else:
                v = f[1] + ('\n' if newline else '')
            out.write('== %s <- %r\n' % (os.path.basename(d), v))
            for a in f[2:]:
                p = os.path.join(d, a)
                try:
                    fd = os.open(p, os.O_WRONLY)
                except OSError as e:
                    out.write('%s: open errno=%s\n' % (a, errno.errorcode.get(e.errno, e.errno)))
                    continue
                try:
                    out.write('%s: ok n=%d\n' % (a, os.write(fd, v.encode())))
                except OSError as e:
                    out.write('%s: write errno=%s\n' % (a, errno.errorcode.get(e.errno, e.errno)))
                finally:
                    os.close(fd)


def serve(cmds, answers):
    """Run commands read one a line from `cmds` in this one process (a python
    start costs seconds in a TCG guest), answering each with one line, `ok` or
    `error: WHAT`, flushed:
        dump PREFIX                 as `ndsysfs.py dump PREFIX`
        dump_btts PREFIX            dump_btts()
        mask_uuids PREFIX SEEN KEEP [DEVRE]   mask_uuids()
        attrs DIR LABEL FILE        the attribute lines of DIR, appended to FILE
        writes FILE                 write_attrs() of the lines that follow, up
                                    to a line `.`, results appended to FILE
        writes_nl FILE              the same, each VALUE with a newline added
        dump_pfns PREFIX            dump_pfns()
        dump_daxbus PREFIX          as `devdax.py sysfs PREFIX` (the dax bus)
    Paths are relative to the directory the server started in. It ends at
    end of input."""
    while True:
        line = cmds.readline()
        if not line:
            return
        f = line.split()
        if not f:
            continue
        try:
            if f[0] in ('writes', 'writes_nl') and len(f) == 2:
                block = []
                while True:
                    w = cmds.readline()
                    if not w or w.rstrip('\n') == '.':
                        break
                    block.append(w)
                write_attrs(block, f[1], newline=f[0] == 'writes_nl')
            elif f[0] == 'dump' and len(f) == 2:
                dump(f[1])
            elif f[0] == 'dump_btts' and len(f) == 2:
                dump_btts(f[1])
            elif f[0] == 'dump_pfns' and len(f) == 2:
                dump_pfns(f[1])
            elif f[0] == 'dump_daxbus' and len(f) == 2:
                import devdax  # test/tools; it imports this module
                devdax.cmd_sysfs(f[1])
            elif f[0] == 'mask_uuids' and len(f) in (4, 5):
                mask_uuids(*f[1:])
            elif f[0] == 'attrs' and len(f) == 4:
                out = []
                attrs(f[1], f[2], out)
                with open(f[3], 'a') as fh:
                    fh.write(''.join(l + '\n' for l in out))
            else:
                raise ValueError('unknown command %r' % line.strip())
            answers.write('ok\n')
        except Exception as e:  # reported to the caller, who gives up
            answers.write('error: %s: %s\n' % (type(e).__name__, e))
        answers.flush()


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
