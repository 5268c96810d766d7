#!/usr/bin/env python3
"""BTT test images: sector patterns, C's read view, and the sparse image format.

  bttimg.py write DEV SECTOR NAME VER START COUNT
      write pattern(NAME, lba, VER) to sectors START..START+COUNT-1 of the
      block device DEV (O_DIRECT, one sector per write)
  bttimg.py sums DEV SECTOR
      what DEV reads: "sectors N", then "LBA CRC32" (hex) for every sector
      that is not all zeros
  bttimg.py sparse IN OUT      a raw dump to the sparse format (below)
  bttimg.py expand IN OUT      back to the raw bytes
  bttimg.py unpad IN OUT BASE
      the sparse image IN with its flog moved to the pre-4.15 layout (the BTT
      at byte BASE of the raw image: 4096 for v1.1): in each written 64-byte
      group, the entry of slot 1 goes to slot 2 (slot 1 becomes padding),
      per btt.rst / btt.h; test/tools/btt_unpad.py does the moving

A pattern sector is all zeros but for a 64-byte tag at its start and again
at its end: "NAME lba=LBA v=VER" padded with '.', ASCII. formats/tests/
btt_c_images.rs builds the same bytes.

The sparse format ("RLNSPRS1"): the magic, the raw size (u64 LE), then
records of offset (u64 LE), length (u32 LE) and that many bytes, for the
512-byte chunks that are not all zeros (adjacent ones merged); the rest of
the image is zeros.
"""
import mmap
import os
import struct
import sys
import zlib

MAGIC = b"RLNSPRS1"
CHUNK = 512


def pattern(name, lba, ver, sector):
    tag = f"{name} lba={lba} v={ver}".encode().ljust(64, b".")[:64]
    return tag + bytes(sector - 128) + tag


def cmd_write(dev, sector, name, ver, start, count):
    sector, start, count = int(sector), int(start), int(count)
    buf = mmap.mmap(-1, max(sector, 4096))
    fd = os.open(dev, os.O_WRONLY | os.O_DIRECT)
    try:
        for lba in range(start, start + count):
            buf.seek(0)
            buf.write(pattern(name, lba, ver, sector))
            n = os.pwritev(fd, [memoryview(buf)[:sector]], lba * sector)
            if n != sector:
                sys.exit(f"short write at lba {lba}: {n}")
        os.fsync(fd)
    finally:
        os.close(fd)


def cmd_sums(dev, sector):
    sector = int(sector)
    with open(dev, "rb") as f:
        data = f.read()
    n = len(data) // sector
    print(f"sectors {n}")
    zero = bytes(sector)
    for lba in range(n):
        s = data[lba * sector:(lba + 1) * sector]
        if s != zero:
            print(f"{lba} {zlib.crc32(s):08x}")


def to_sparse(raw):
    out = [MAGIC, struct.pack("<Q", len(raw))]
    zero = bytes(CHUNK)
    off = 0
    while off < len(raw):
        if raw[off:off + CHUNK] == zero:
            off += CHUNK
            continue
        end = off
        while end < len(raw) and raw[end:end + CHUNK] != zero[:len(raw[end:end + CHUNK])]:
            end += CHUNK
        end = min(end, len(raw))
        out.append(struct.pack("<QI", off, end - off))
        out.append(raw[off:end])
        off = end
    return b"".join(out)


def from_sparse(data):
    if data[:8] != MAGIC:
        sys.exit("not a sparse image")
    (size,) = struct.unpack_from("<Q", data, 8)
    raw = bytearray(size)
    pos = 16
    while pos < len(data):
        off, n = struct.unpack_from("<QI", data, pos)
        pos += 12
        raw[off:off + n] = data[pos:pos + n]
        pos += n
    return raw


def cmd_unpad(src, dst, base):
    import io
    from btt_unpad import unpad
    f = io.BytesIO(from_sparse(open(src, "rb").read()))
    unpad(f, int(base, 0))
    open(dst, "wb").write(to_sparse(f.getvalue()))


def main():
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "write":
        cmd_write(*args)
    elif cmd == "sums":
        cmd_sums(*args)
    elif cmd == "sparse":
        open(args[1], "wb").write(to_sparse(open(args[0], "rb").read()))
    elif cmd == "expand":
        open(args[1], "wb").write(from_sparse(open(args[0], "rb").read()))
    elif cmd == "unpad":
        cmd_unpad(*args)
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
