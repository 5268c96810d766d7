#!/usr/bin/env python3
"""Power-cut torture of a BTT in the guest (test/vm/btt-torture.sh).

One process per sector size runs every cut, so that a cut costs the
workload, the ndctl commands and one verifying read, and no Python start-up.

  btttort.py OUT DEV NAMESPACE LBS SEED [--knob FILE --fault DIR]
             [--ks all|COUNT] [--random M] [--sectors S]

Contents: each sector written carries a 24-byte header (magic, LBA, round,
op) and a body drawn from random.Random of the same three numbers, so a
sector's bytes say exactly which write they came from; a sector that is
neither its old nor its new contents (a mix, or another write's) is torn.

Workload W (seeded by SEED and LBS): writes of 1 sector or of several
(4096 bytes on 512-byte sectors, 2 to 4 sectors on 4096-byte ones) at random
LBAs of a small window, S sectors in all (56: 224 media writes on our
nd_btt, which makes 4 per sector: data, two flog halves, map), so writes overlap; O_DIRECT, one at a time, stopping
at the first failure. Each run of W is a new round: new contents everywhere.

Per cut at media write k: budget k, W, budget -1, "reboot" (ndctl
disable-namespace, enable-namespace), one read of the window: every sector
written by an op that succeeded reads its new contents, every sector of the
op that failed its old or its new ones, every other its old ones; then
`ndctl check-namespace --force` (which disables the namespace, checks and
enables it again; the namespace must be back). The rest of the
device (outside the window) is hashed at the start and at the end.

Files in OUT: LBS-uncut.txt (the unfaulted run, compared between the
stacks) and LBS-rest.txt; with --knob, in DIR: LBS-cuts.txt (one JSON line
per cut) and LBS-summary.json. --random M adds M cuts at random media
writes of longer workloads (4 S sectors each, a seed of their own).
"""
import hashlib
import json
import mmap
import os
import random
import subprocess
import sys
import time

MAGIC = b"BTTTORT1"
HDR = 24
BIG = 1 << 40


def content(lba, rnd, op, lbs):
    body = random.Random(lba * 1000003 + rnd * 7919 + op).randbytes(lbs - HDR)
    return MAGIC + lba.to_bytes(8, "little") + rnd.to_bytes(4, "little") + op.to_bytes(4, "little") + body


def workload(seed, lbs, sectors):
    """[(lba, nsectors)] writing at least `sectors` sectors in all, and the
    window it writes in."""
    r = random.Random(f"{seed}-{lbs}-{sectors}")
    window = 64 if lbs == 512 else 32
    w = []
    while sum(n for _, n in w) < sectors:
        if r.random() < 0.5:
            n = 1
        else:
            n = 4096 // lbs if lbs == 512 else r.choice((2, 3, 4))
        w.append((r.randrange(0, window - n + 1), n))
    return w, window


class Torture:
    def __init__(self, out, dev, ns, lbs, seed, knob):
        self.out, self.dev, self.ns, self.lbs, self.seed, self.knob = out, dev, ns, lbs, seed, knob
        self.rnd = 0
        self.state = {}  # lba -> (round, op) of its contents
        self.buf = mmap.mmap(-1, 64 * 4096)

    def ndctl(self, *args):
        p = subprocess.run(["ndctl", *args], capture_output=True, text=True)
        return p.returncode, p.stdout + p.stderr

    def set_knob(self, v):
        with open(self.knob, "w") as f:
            f.write(f"{v}\n")

    def get_knob(self):
        with open(self.knob) as f:
            return f.read().strip()

    def open(self, flags):
        for _ in range(100):
            try:
                return os.open(self.dev, flags | os.O_DIRECT)
            except FileNotFoundError:
                time.sleep(0.05)
        return os.open(self.dev, flags | os.O_DIRECT)

    def write_sectors(self, fd, lba, ops_tags):
        n = len(ops_tags)
        for i, (rnd, op) in enumerate(ops_tags):
            self.buf[i * self.lbs:(i + 1) * self.lbs] = content(lba + i, rnd, op, self.lbs)
        return os.pwrite(fd, memoryview(self.buf)[: n * self.lbs], lba * self.lbs)

    def fill(self, window):
        self.rnd += 1
        fd = self.open(os.O_WRONLY)
        try:
            for lba in range(window):
                self.write_sectors(fd, lba, [(self.rnd, 0)])
                self.state[lba] = (self.rnd, 0)
        finally:
            os.close(fd)

    def run(self, w):
        """Runs W as a new round: the ops that succeeded and the failed one."""
        self.rnd += 1
        done, failed = [], None
        fd = self.open(os.O_WRONLY)
        try:
            for i, (lba, n) in enumerate(w):
                try:
                    self.write_sectors(fd, lba, [(self.rnd, i + 1)] * n)
                    done.append(i)
                except OSError as e:
                    failed = (i, e.errno)
                    break
        finally:
            os.close(fd)
        return done, failed

    def reboot(self):
        rc1, o1 = self.ndctl("disable-namespace", self.ns)
        rc2, o2 = self.ndctl("enable-namespace", self.ns)
        return rc1, rc2, o1 + o2

    def check(self):
        # --force: ndctl disables the namespace, checks the BTT and enables
        # it again, in one process (three ndctl start-ups cost a cut 40%).
        rc, out = self.ndctl("check-namespace", "--force", self.ns)
        active = os.path.exists(f"/sys/bus/nd/devices/{self.ns}/driver") or \
            any(os.path.exists(f"/sys/bus/nd/devices/{h}/driver") for h in self.holder())
        return rc, 0, 0 if active else 1, out

    def holder(self):
        try:
            with open(f"/sys/bus/nd/devices/{self.ns}/holder") as f:
                h = f.read().strip()
            return [h] if h else []
        except OSError:
            return []

    def verify(self, w, window, done, failed):
        """Reads the window once; the expectations replay the log. Returns
        counts and what each sector of the failed op read (old/new)."""
        old = dict(self.state)
        new = dict(self.state)
        maybe = {}
        for i in done:
            lba, n = w[i]
            for s in range(lba, lba + n):
                new[s] = (self.rnd, i + 1)
        if failed is not None:
            lba, n = w[failed[0]]
            for s in range(lba, lba + n):
                maybe[s] = (new[s], (self.rnd, failed[0] + 1))
        res = {"ok": 0, "old": 0, "new": 0, "torn": 0, "wrong": 0, "eio": 0, "bad": []}
        fd = self.open(os.O_RDONLY)
        try:
            data = None
            try:
                data = os.preadv(fd, [memoryview(self.buf)[: window * self.lbs]], 0)
                data = bytes(self.buf[: window * self.lbs])
            except OSError:
                data = None
            for lba in range(window):
                if data is not None:
                    got = data[lba * self.lbs:(lba + 1) * self.lbs]
                else:
                    try:
                        got = os.pread(fd, self.lbs, lba * self.lbs)
                    except OSError:
                        got = None
                    # A page-aligned buffer for O_DIRECT one sector at a time.
                if got is None:
                    res["eio"] += 1
                    res["bad"].append(f"lba {lba}: EIO")
                    continue
                cands = maybe.get(lba, (new[lba],))
                hit = None
                for c in cands:
                    if got == content(lba, c[0], c[1], self.lbs):
                        hit = c
                        break
                if hit is None:
                    hdr = got[:HDR]
                    if hdr[:8] == MAGIC and int.from_bytes(hdr[8:16], "little") == lba:
                        tag = (int.from_bytes(hdr[16:20], "little"), int.from_bytes(hdr[20:24], "little"))
                        whole = got == content(lba, tag[0], tag[1], self.lbs)
                    else:
                        tag, whole = None, False
                    if whole:
                        res["wrong"] += 1
                        res["bad"].append(f"lba {lba}: whole contents of round {tag[0]} op {tag[1]}, expected {cands}")
                        self.state[lba] = tag
                    else:
                        res["torn"] += 1
                        res["bad"].append(f"lba {lba}: torn (header {hdr.hex()}), expected {cands}")
                        self.state[lba] = None
                    continue
                self.state[lba] = hit
                if lba in maybe:
                    res["new" if hit == cands[1] else "old"] += 1
                else:
                    res["ok"] += 1
        finally:
            os.close(fd)
        # A torn sector stays unknown: rewrite it so the next cut starts clean.
        unknown = [l for l in range(window) if self.state.get(l) is None]
        if unknown:
            fd = self.open(os.O_WRONLY)
            try:
                for lba in unknown:
                    self.write_sectors(fd, lba, [(0, 0)])
                    self.state[lba] = (0, 0)
            finally:
                os.close(fd)
        return res

    def rest_hash(self, window):
        """sha256 of the device from the window's end on."""
        h = hashlib.sha256()
        with open(self.dev, "rb") as f:
            f.seek(window * self.lbs)
            while True:
                b = f.read(1 << 20)
                if not b:
                    break
                h.update(b)
        return h.hexdigest()

    def cut(self, w, window, k):
        """One power cut at media write k of W."""
        self.set_knob(k)
        done, failed = self.run(w)
        budget = self.get_knob()
        self.set_knob(-1)
        rb = self.reboot()
        res = self.verify(w, window, done, failed)
        chk = self.check()
        return {
            "k": k,
            "done": len(done),
            "failed": None if failed is None else {"op": failed[0], "errno": failed[1]},
            "budget": budget,
            "reboot": list(rb[:2]),
            "check": list(chk[:3]),
            "check_out": chk[3].strip().splitlines()[-3:] if chk[0] else [],
            **{x: res[x] for x in ("ok", "old", "new", "torn", "wrong", "eio")},
            "bad": res["bad"][:10],
        }


def main():
    a = sys.argv[1:]
    out, dev, ns, lbs, seed = a[0], a[1], a[2], int(a[3]), a[4]
    opt = {}
    i = 5
    while i < len(a):
        opt[a[i]] = a[i + 1]
        i += 2
    knob = opt.get("--knob")
    t = Torture(out, dev, ns, lbs, seed, knob)
    sectors = int(opt.get("--sectors", "56"))
    w, window = workload(seed, lbs, sectors)
    spec = opt.get("--ks", "all")
    # --ks none: only the random cuts, a second pass of the candidate, whose
    # files all go to DIR under LBS-random-.
    name = f"{lbs}-random" if spec == "none" else f"{lbs}"
    pre = f"{opt['--fault'] if spec == 'none' else out}/{name}"

    # Both stacks: the window filled, the unfaulted W, reboot, verify, check.
    t.fill(window)
    rest0 = t.rest_hash(window)
    with open(f"{pre}-uncut.txt", "w") as f:
        done, failed = t.run(w)
        rb = t.reboot()
        res = t.verify(w, window, done, failed)
        chk = t.check()
        f.write(f"workload: {len(w)} writes {json.dumps(w)}\n")
        f.write(f"done {len(done)} failed {failed}\n")
        f.write(f"reboot rc {rb[0]} {rb[1]}\n")
        f.write("verify " + json.dumps({x: res[x] for x in ("ok", "old", "new", "torn", "wrong", "eio")}) + "\n")
        for b in res["bad"]:
            f.write(f"  {b}\n")
        f.write(f"check-namespace rc {chk[0]}, enabled again: {chk[2] == 0}\n")
    if not knob:
        with open(f"{pre}-rest.txt", "w") as f:
            f.write(f"rest unchanged {rest0 == t.rest_hash(window)}\n")
        return
    rest_file = f"{pre}-rest.txt"

    # The candidate: how many media writes W makes, then the cuts.
    pre = f"{opt['--fault']}/{name}"
    summary = {"lbs": lbs, "seed": seed, "ops": len(w), "window": window}
    t.set_knob(BIG)
    done, failed = t.run(w)
    n = BIG - int(t.get_knob())
    t.set_knob(-1)
    t.reboot()
    res = t.verify(w, window, done, failed)
    summary["writes"] = n
    summary["count_run"] = {"done": len(done), "failed": failed, **{x: res[x] for x in ("ok", "torn", "wrong", "eio")}}
    if spec == "all":
        ks = list(range(n))
    elif spec == "none":
        ks = []
    else:
        m = int(spec)
        ks = sorted({0, n - 1, *random.Random(f"{seed}-{lbs}-ks").sample(range(1, n - 1), max(0, m - 2))})
    summary["ks"] = ks
    start = time.time()
    tot = {"cuts": 0, "torn": 0, "wrong": 0, "eio": 0, "check_fail": 0, "not_cut": 0, "random_uncut": 0,
           "reboot_fail": 0, "old": 0, "new": 0}

    def account(r, f):
        tot["cuts"] += 1
        for x in ("torn", "wrong", "eio", "old", "new"):
            tot[x] += r[x]
        if r["check"][0] != 0:
            tot["check_fail"] += 1
        if r["reboot"] != [0, 0] or r["check"][1:] != [0, 0]:
            tot["reboot_fail"] += 1
        if r["budget"] != "cut":
            # A random cut may fall past the end of its workload.
            tot["random_uncut" if "long" in r else "not_cut"] += 1
        f.write(json.dumps(r) + "\n")
        f.flush()

    with open(f"{pre}-cuts.txt", "w") as f:
        for k in ks:
            account(t.cut(w, window, k), f)
        summary["every_k_seconds"] = round(time.time() - start, 1)
        # Random cuts over longer workloads (make torture): M cuts, each on
        # a fresh long workload of its own seed.
        m = int(opt.get("--random", "0"))
        rs = random.Random(f"{seed}-{lbs}-random")
        start = time.time()
        for j in range(m):
            wl, _ = workload(f"{seed}-long{j}", lbs, 4 * sectors)
            per_sector = n / sum(x for _, x in w)
            k = rs.randrange(0, max(1, int(per_sector * sum(x for _, x in wl))))
            r = t.cut(wl, window, k)
            r["long"] = j
            account(r, f)
        summary["random_cuts"] = m
        summary["random_seconds"] = round(time.time() - start, 1)
    summary["rest_unchanged"] = rest0 == t.rest_hash(window)
    summary["totals"] = tot
    with open(f"{pre}-summary.json", "w") as f:
        json.dump(summary, f, indent=1)
    with open(rest_file, "w") as f:
        f.write(f"rest unchanged {summary['rest_unchanged']}\n")


if __name__ == "__main__":
    main()
