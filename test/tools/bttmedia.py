#!/usr/bin/env python3
"""Read and damage a BTT on a raw namespace (the block device of a namespace
in raw mode, force_raw=1), for test/vm/btt-errors.sh. One arena (namespaces
below 512 GiB). Layout per drivers/nvdimm/btt.h and btt.rst: the info block
(struct btt_sb) at 4 KiB (v1.1) or 0 (v2.0) of the namespace, its offsets
relative to itself; map entries (u32 LE: bit 31 Z, bit 30 E, both set or
both clear a plain mapping, both clear meaning the identity); flog groups of
64 bytes, slots 0 and 1 (the padded layout this test's BTTs have).

    bttmedia.py tags DISK SECTOR START COUNT   O_DIRECT reads of sectors
                                    START.. through the BTT's disk: each one's
                                    pattern tag (test/tools/bttimg.py), zeros,
                                    another CRC-32, or the errno
    bttmedia.py geom DEV            what the test compares: validity of both
                                    info blocks, version, sizes, flags
    bttmedia.py locate DEV LBA TAG  the postmap block of LBA, as the 512-byte
                                    block of the namespace that ndctl
                                    inject-error takes; also where TAG (the
                                    sector's pattern text) lies: prints
                                    "BLOCK agree" or "BLOCK disagree ..."
    bttmedia.py check-lba DEV LBA   the map entry's flags: "normal", "zero",
                                    "error" or "initial"
    bttmedia.py corrupt-info DEV    flip one byte of the primary info block
    bttmedia.py corrupt-info2 DEV   flip one byte of the backup info block
    bttmedia.py set-flags DEV N     primary info block flags := N, resealed
    bttmedia.py map-undo DEV        undo the last write of the first lane
                                    whose newest flog entry is its sector's
                                    latest write: map[lba] := old_map (a
                                    write that logged but did not reach the
                                    map)
    bttmedia.py map-get DEV LBA / map-set DEV LBA RAW    the raw entry
    bttmedia.py map-oob DEV LBA     map[lba] := the first block past the data
                                    area (printing the raw entry it replaced)
    bttmedia.py flog-get DEV LANE / flog-set DEV LANE HEX   the raw group
    bttmedia.py flog-eqseq DEV LANE  slot 1's seq := slot 0's
    bttmedia.py flog-unpad DEV      the flog in the old, unpadded layout
                                    (test/tools/btt_unpad.py)
    bttmedia.py flog-layout DEV     which of its four slots hold an entry,
                                    counted over the lanes: "slots 0,2: 2
                                    lanes" (a slot of zeros is padding)
    bttmedia.py write DISK SECTOR NAME VER START COUNT   bttimg.py's write
    bttmedia.py fill DEV BYTE       every byte of DEV := BYTE
    bttmedia.py meta-get DEV LBA... each sector's metadata bytes (those of a
                                    520- or 528-byte sector after its 512
                                    of data, in its postmap block), in hex
    bttmedia.py meta-flip DEV LBA   flip the first metadata byte of LBA
    bttmedia.py serve OUTDIR        the commands above (and "pin CPU|all":
                                    the CPUs the next commands run on, as
                                    taskset -c) from stdin, one a line, its
                                    fields tab-separated, the first NAME:
                                    like the guest's g_run, each leaves
                                    NAME.out, NAME.err and NAME.rc in OUTDIR,
                                    then "NAME RC" goes to stdout. One python
                                    process for a whole test (a python start
                                    costs seconds in a TCG guest); it holds
                                    no device open between commands
"""
import contextlib
import os
import struct
import sys

from bttimg import cmd_write  # the pattern writes, in the same process
from bttinfo import fletcher64  # the BTT info block's checksum, once
from btt_unpad import unpad

SIG = b"BTT_ARENA_INFO\0"
INFO = 4096
FMT = "<16s16s16sIHHIIIIIIQQQQQ"


def valid(b):
    if b[:15] != SIG:
        return False
    (csum,) = struct.unpack_from("<Q", b, INFO - 8)
    return fletcher64(b[:INFO - 8] + bytes(8)) == csum


class Btt:
    def __init__(self, dev, write=False):
        self.fd = os.open(dev, os.O_RDWR if write else os.O_RDONLY)
        try:
            self.load()
        except BaseException:
            # A served command must leave no device open (disable-namespace).
            os.close(self.fd)
            raise

    def load(self):
        self.size = os.lseek(self.fd, 0, os.SEEK_END)
        # The primary where C puts it: v1.1 at 4 KiB, v2.0 at 0; a primary
        # that is corrupt is found through its backup at the namespace's end
        # (rounded down to 4 KiB), whose version says where the primary is.
        self.base = None
        for base in (4096, 0):
            b = self.read(base, INFO)
            if valid(b):
                self.base, self.info = base, b
                break
        if self.base is None:
            b = self.read(self.size // 4096 * 4096 - INFO, INFO)
            if not valid(b):
                sys.exit("no valid BTT info block")
            major = struct.unpack_from("<H", b, 52)[0]
            self.base, self.info = (0 if major == 2 else 4096), b
        f = struct.unpack_from(FMT, self.info)
        (_, _, _, self.flags, self.major, self.minor, self.ext_lbasize, self.ext_nlba,
         self.int_lbasize, self.int_nlba, self.nfree, _, _, self.dataoff, self.mapoff,
         self.logoff, self.info2off) = f

    def close(self):
        os.close(self.fd)

    def read(self, off, n):
        return os.pread(self.fd, n, off)

    def write(self, off, data):
        if os.pwrite(self.fd, data, off) != len(data):
            sys.exit("short write")
        os.fsync(self.fd)

    def map_off(self, lba):
        return self.base + self.mapoff + 4 * lba

    def map_raw(self, lba):
        return struct.unpack("<I", self.read(self.map_off(lba), 4))[0]

    def postmap(self, lba):
        raw = self.map_raw(lba)
        z, e = raw >> 31 & 1, raw >> 30 & 1
        if z == e:
            return raw & 0x3FFFFFFF if z else lba
        return None

    def group_off(self, lane):
        return self.base + self.logoff + 64 * lane

    def group(self, lane):
        b = self.read(self.group_off(lane), 64)
        return [struct.unpack_from("<IIII", b, 16 * s) for s in range(2)]


def newest(ents):
    """The index (0, 1) of the newer of two slots (lba, old, new, seq), C's
    btt_log_get_old read backwards: seq cycles 1, 2, 3, 1; slot 0 with
    seq 0 (an untouched lane) is the only entry."""
    s0, s1 = ents[0][3], ents[1][3]
    if s0 == 0 or s1 == 0:
        return 0 if s1 == 0 else 1
    if s0 < s1:
        return 1 if s1 - s0 == 1 else 0
    return 0 if s0 - s1 == 1 else 1


def tags(dev, ss, start, count):
    """Each sector's O_DIRECT read through the BTT's disk: its tag, "zeros",
    "other CRC" or the errno."""
    import errno
    import mmap
    import zlib
    buf = mmap.mmap(-1, max(ss, 4096))
    fd = os.open(dev, os.O_RDONLY | os.O_DIRECT)
    try:
        for lba in range(start, start + count):
            try:
                n = os.preadv(fd, [memoryview(buf)[:ss]], lba * ss)
            except OSError as e:
                print(f"{lba}: errno={errno.errorcode.get(e.errno, e.errno)}")
                continue
            d = bytes(buf[:n])
            tag = d[:64].rstrip(b".")
            if n != ss:
                print(f"{lba}: short read {n}")
            elif d == bytes(ss):
                print(f"{lba}: zeros")
            elif d[-64:] == d[:64] and d[64:-64] == bytes(ss - 128) and tag.isascii():
                print(f"{lba}: {tag.decode()}")
            else:
                print(f"{lba}: other {zlib.crc32(d):08x}")
    finally:
        os.close(fd)


def main(argv):
    cmd, dev, args = argv[0], argv[1], argv[2:]
    if cmd == "tags":
        tags(dev, int(args[0]), int(args[1]), int(args[2]))
        return 0
    if cmd == "write":
        cmd_write(dev, *args)
        return 0
    if cmd == "serve":
        return serve(dev)
    if cmd == "fill":
        fd = os.open(dev, os.O_WRONLY)
        try:
            size = os.lseek(fd, 0, os.SEEK_END)
            chunk = bytes([int(args[0], 0)]) * (1 << 20)
            for off in range(0, size, len(chunk)):
                os.pwrite(fd, chunk[:size - off], off)
            os.fsync(fd)
        finally:
            os.close(fd)
        return 0
    w = cmd in ("meta-flip", "corrupt-info", "corrupt-info2", "set-flags", "map-undo", "map-set", "map-oob", "flog-set",
                "flog-eqseq", "flog-unpad")
    t = Btt(dev, w)
    try:
        return media(t, cmd, args)
    finally:
        t.close()


def media(t, cmd, args):
    """The commands on the BTT's metadata (through the raw view)."""
    if cmd == "geom":
        primary = valid(t.read(t.base, INFO))
        backup = valid(t.read(t.base + t.info2off, INFO))
        print(f"base {t.base} version {t.major}.{t.minor} primary {'valid' if primary else 'invalid'} "
              f"backup {'valid' if backup else 'invalid'} flags {t.flags:#x}")
        print(f"lbasize {t.ext_lbasize}/{t.int_lbasize} nlba {t.ext_nlba}/{t.int_nlba} nfree {t.nfree}")
    elif cmd == "locate":
        lba, tag = int(args[0]), args[1].encode()
        pm = t.postmap(lba)
        if pm is None:
            sys.exit(f"lba {lba}: map entry {t.map_raw(lba):#x} has the Z or E flag")
        off = t.base + t.dataoff + pm * t.int_lbasize
        data = t.read(t.base + t.dataoff, t.int_nlba * t.int_lbasize)
        at = data.find(tag)
        found = t.base + t.dataoff + at if at >= 0 else None
        # The tag starts the sector; it must be where the map says, and once.
        if found == off and data.find(tag, at + 1) in (-1, at + t.ext_lbasize - 64):
            print(f"{off // 512} agree")
        else:
            print(f"{off // 512} disagree: map says {off:#x}, the pattern is at {found}")
    elif cmd == "check-lba":
        raw = t.map_raw(int(args[0]))
        z, e = raw >> 31 & 1, raw >> 30 & 1
        print({(1, 1): "normal", (0, 0): "initial", (1, 0): "zero", (0, 1): "error"}[(z, e)])
    elif cmd in ("corrupt-info", "corrupt-info2"):
        off = t.base + (t.info2off if cmd == "corrupt-info2" else 0) + 0x100
        t.write(off, bytes([t.read(off, 1)[0] ^ 0x5A]))
    elif cmd == "set-flags":
        b = bytearray(t.read(t.base, INFO))
        struct.pack_into("<I", b, 48, int(args[0], 0))
        struct.pack_into("<Q", b, INFO - 8, 0)
        struct.pack_into("<Q", b, INFO - 8, fletcher64(bytes(b)))
        t.write(t.base, bytes(b))
    elif cmd == "map-undo":
        for lane in range(t.nfree):
            ents = t.group(lane)
            lba, old, new, seq = ents[newest(ents)]
            # Only a write that is still the sector's latest (no other
            # lane wrote the sector since): undoing it is what a power cut
            # between the flog and the map update leaves.
            if old != new and seq and old < 1 << 30 and t.postmap(lba) == new:
                t.write(t.map_off(lba), struct.pack("<I", old | 0xC0000000))
                print(f"lane {lane}: map[{lba}] back to {old}", file=sys.stderr)
                return 0
        sys.exit("no lane has a write logged")
    elif cmd in ("meta-get", "meta-flip"):
        ss = 4096 if t.ext_lbasize >= 4096 else 512
        for lba in map(int, args):
            pm = t.postmap(lba)
            if pm is None:
                print(f"{lba}: map entry {t.map_raw(lba):#x} has the Z or E flag")
                continue
            off = t.base + t.dataoff + pm * t.int_lbasize + ss
            if cmd == "meta-flip":
                t.write(off, bytes([t.read(off, 1)[0] ^ 0xFF]))
            else:
                print(f"{lba}: {t.read(off, t.ext_lbasize - ss).hex()}")
    elif cmd == "map-get":
        print(f"{t.map_raw(int(args[0])):#x}")
    elif cmd == "map-set":
        t.write(t.map_off(int(args[0])), struct.pack("<I", int(args[1], 0)))
    elif cmd == "flog-get":
        print(t.read(t.group_off(int(args[0])), 64).hex())
    elif cmd == "flog-set":
        t.write(t.group_off(int(args[0])), bytes.fromhex(args[1]))
    elif cmd == "flog-eqseq":
        lane = int(args[0])
        seq0 = t.group(lane)[0][3]
        t.write(t.group_off(lane) + 16 + 12, struct.pack("<I", seq0))
    elif cmd == "flog-unpad":
        with os.fdopen(os.dup(t.fd), "r+b", buffering=0) as f:
            arenas, moved = unpad(f, t.base)
        os.fsync(t.fd)
        print(f"arenas={arenas} groups_moved={moved}")
    elif cmd == "flog-layout":
        log = t.read(t.base + t.logoff, 64 * t.nfree)
        kinds = {}
        for lane in range(t.nfree):
            g = log[64 * lane:64 * lane + 64]
            used = ",".join(str(s) for s in range(4) if g[16 * s:16 * s + 16] != bytes(16))
            kinds[used] = kinds.get(used, 0) + 1
        for used, n in sorted(kinds.items()):
            print(f"slots {used or 'none'}: {n} lanes")
    elif cmd == "map-oob":
        lba = int(args[0])
        print(f"{t.map_raw(lba):#x}")
        t.write(t.map_off(lba), struct.pack("<I", t.int_nlba | 0xC0000000))
    else:
        sys.exit(__doc__)
    return 0


def serve(outdir):
    """Commands from stdin (see the usage above) until its end."""
    while True:
        line = sys.stdin.readline()
        if not line:
            return 0
        name, *argv = line.rstrip("\n").split("\t")
        base = os.path.join(outdir, name[:-5] if name.endswith(".json") else name)
        out = os.path.join(outdir, name) if name.endswith(".json") else base + ".out"
        with open(out, "w") as o, open(base + ".err", "w") as e:
            with contextlib.redirect_stdout(o), contextlib.redirect_stderr(e):
                rc = one(argv)
        with open(base + ".rc", "w") as f:
            f.write(f"{rc}\n")
        print(f"{name} {rc}", flush=True)


def one(argv):
    """One command, its exit status as the one-shot tool's would be (what
    Python prints for an uncaught exception: its last line)."""
    try:
        if argv[0] == "pin":
            cpus = range(os.cpu_count()) if argv[1] == "all" else [int(argv[1])]
            os.sched_setaffinity(0, set(cpus))
            return 0
        return main(argv) or 0
    except SystemExit as x:
        if x.code is None or isinstance(x.code, int):
            return x.code or 0
        print(x.code, file=sys.stderr)
        return 1
    except Exception as x:
        print(f"{type(x).__name__}: {x}", file=sys.stderr)
        return 1
    finally:
        sys.stdout.flush()
        sys.stderr.flush()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
