#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Crash states of a recorded rpmem write log, checked with e2fsck.

    crashstates.py --base BASE.img --log LOG [--final FINAL.img] [options]

BASE.img is the image before the workload, LOG the log rpmem recorded
while the workload ran (tests/crash/rpmemlog.py), FINAL.img the image
after it.  The log is replayed onto BASE.img: everything up to the mark
"base" (the workload's setup) as durable, then, from there on, crash
states, each one image that a power cut could leave:

  fence    everything up to a fence (REQ_PREFLUSH, REQ_FUA, empty flush)
  prefix   at every write between two fences: the durable image plus all
           the writes issued so far in the open epoch
  torn     a prefix whose last write persisted only in part: any subset
           of its 8-byte words (pmem has no sector atomicity)
  subset   the writes in flight (issued since the last fence) reordered:
           any subset of them persisted, the newest one included
  subset+torn  both

Every fence and every write gets its prefix state and, when its bytes
differ from what they overwrite in more than one word, one torn state;
the rest of the --states budget goes to more torn and subset states,
enumerated when an epoch is small and sampled (--seed) when it is not.
Identical images are checked once.  Each image gets e2fsck -fn, and the
output is classified by tests/crash/fsck-allowed.awk (the rules of
Documentation/filesystems/rext2.rst): clean, leak (only what the rules
allow) or bad.  Marks "op NAME" in the log name the operation a state
belongs to; the report counts per operation and shows the first bad
states of each with e2fsck's unexpected lines.

--export N DIR writes up to N crash images (bad ones first, then ones
taken after an fsync mark, then others, spread over the operations) as
DIR/batchB/nvdimmI.img with DIR/batchB/manifest.json, for
tests/guest/crash_check.py to mount in the VM.  File data written by
DAX is not in the log; for files the workload fsync'ed (marks "fsync
PATH SIZE SHA256"), their blocks in FINAL.img are copied into images
taken after the mark, so that the VM can check the data is there.

Emulation and planted bugs, to show what the tool catches:

  --fence-every-write   a fence after every write (what REQ_FUA metadata
                        writes and a flush after zeroing would give)
  --plant drop-fences:OP   no fence inside operation OP
  --plant swap:OP[:I:J]    the I-th and J-th write of OP (default first
                           and last) exchanged
"""

import argparse
import hashlib
import json
import multiprocessing
import os
import random
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rpmemlog  # noqa: E402

BLOCK = 4096
HERE = os.path.dirname(os.path.abspath(__file__))
AWK = os.path.join(HERE, "fsck-allowed.awk")
ZEROS = bytes(BLOCK)


def digest(b):
    return hashlib.blake2b(b, digest_size=16).digest()


class Write:
    """One write of the log (a ZERO record is a write of zeroes)."""
    __slots__ = ("seq", "off", "data", "zero", "label", "frags", "digests")

    def __init__(self, seq, off, data, zero):
        self.seq, self.off, self.data, self.zero = seq, off, data, zero
        self.label = None
        # (block, lo, hi, offset in data) for each block touched.
        self.frags = []
        pos = off
        end = off + len(data)
        while pos < end:
            b = pos // BLOCK
            lo = pos - b * BLOCK
            hi = min(BLOCK, end - b * BLOCK)
            self.frags.append((b, lo, hi, pos - off))
            pos = b * BLOCK + hi
        self.digests = {}

    def full(self, b):
        for fb, lo, hi, s in self.frags:
            if fb == b:
                return lo == 0 and hi == BLOCK
        return False

    def block_digest(self, b, s):
        d = self.digests.get(b)
        if d is None:
            d = self.digests[b] = ZERO_DIGEST if self.zero else digest(self.data[s:s + BLOCK])
        return d

    def describe(self):
        what = "ZERO" if self.zero else "WRITE"
        return "%s seq %d at %d+%d (block %d%s)" % (
            what, self.seq, self.off, len(self.data), self.off // BLOCK,
            "" if len(self.data) == BLOCK else "..")


ZERO_DIGEST = digest(ZEROS)


# ---------------------------------------------------------------------------
# Building a state's image: the durable image plus the applied writes.

def compose(durable_read, writes, k, mask, torn):
    """Blocks of the state (write i < k applied if bit i of mask is set;
    torn = (i, words) applies only those byte offsets, 8 apart, of write
    i) that differ from the durable image, as {block: (digest, bytes or
    (write, offset))}."""
    per_block = {}
    for i in range(k):
        if (mask >> i) & 1:
            for fr in writes[i].frags:
                per_block.setdefault(fr[0], []).append((i,) + fr)
    out = {}
    ti, twords, tunit = torn if torn else (-1, None, 0)
    for b, frs in per_block.items():
        last = frs[-1]
        i, _, lo, hi, s = last
        if lo == 0 and hi == BLOCK and i != ti:
            w = writes[i]
            out[b] = (w.block_digest(b, s), (w, s))
            continue
        # Start from the newest whole, untorn copy of the block, or the
        # durable one, and apply what follows it.
        start, buf = 0, None
        for idx in range(len(frs) - 1, -1, -1):
            i2, _, lo2, hi2, s2 = frs[idx]
            if lo2 == 0 and hi2 == BLOCK and i2 != ti:
                buf = bytearray(writes[i2].data[s2:s2 + BLOCK])
                start = idx + 1
                break
        if buf is None:
            buf = bytearray(durable_read(b))
        for i2, _, lo2, hi2, s2 in frs[start:]:
            w = writes[i2]
            if i2 == ti:
                base = b * BLOCK - w.off
                for o in twords:
                    if base + lo2 <= o < base + hi2:
                        buf[o - base:o - base + tunit] = w.data[o:o + tunit]
            else:
                buf[lo2:hi2] = w.data[s2:s2 + hi2 - lo2]
        data = bytes(buf)
        out[b] = (digest(data), data)
    return out


def block_bytes(v):
    d = v[1]
    if isinstance(d, tuple):
        w, s = d
        return w.data[s:s + BLOCK]
    return d


# ---------------------------------------------------------------------------
# The log, its operations and its epochs.

class Log:
    def __init__(self, path, fence_every_write=False, plants=()):
        with open(path, "rb") as fh:
            self.dev_len, recs = rpmemlog.parse(fh.read())
        self.pre = []       # writes before the mark "base"
        events = []
        seen_base = False
        for r in recs:
            if r.type == rpmemlog.MARK and r.data == b"base":
                seen_base = True
                continue
            ev = None
            if r.type == rpmemlog.WRITE:
                ev = ("W", Write(r.seq, r.offset, r.data, False))
            elif r.type == rpmemlog.ZERO:
                ev = ("W", Write(r.seq, r.offset, ZEROS if r.length == BLOCK else bytes(r.length), True))
            elif r.type == rpmemlog.FENCE:
                ev = ("F", r.seq, rpmemlog.describe(r))
            elif r.type == rpmemlog.MARK:
                ev = ("M", r.seq, r.data.decode(errors="replace"))
            if ev:
                events.append(ev)
            if not seen_base and ev and ev[0] == "W":
                self.pre.append(ev[1])
        if seen_base:
            # Keep only what follows the mark.
            idx = [i for i, r in enumerate(recs) if r.type == rpmemlog.MARK and r.data == b"base"][0]
            base_seq = recs[idx].seq
            events = [e for e in events if (e[1].seq if e[0] == "W" else e[1]) > base_seq]
        else:
            self.pre = []
        self.has_base = seen_base
        # Labels: the operation announced last.
        label = "start"
        self.witnesses = []
        for e in events:
            if e[0] == "M":
                if e[2].startswith("op "):
                    label = e[2][3:]
                elif e[2].startswith("fsync "):
                    _, path, size, sha = e[2].split()
                    self.witnesses.append({"seq": e[1], "path": path, "size": int(size), "sha256": sha})
            elif e[0] == "W":
                e[1].label = label
        self.recorded_fences = sum(1 for e in events if e[0] == "F")
        if fence_every_write:
            out = []
            for e in events:
                out.append(e)
                if e[0] == "W":
                    out.append(("F", e[1].seq, "FENCE emulated"))
            events = out
        self.planted = []
        for p in plants:
            events = self.plant(events, p)
        self.events = events

    def op_span(self, events, op):
        """Indices of the events of operation op (first occurrence)."""
        start = None
        for i, e in enumerate(events):
            if e[0] == "M" and e[2].startswith("op "):
                if start is not None:
                    return start, i
                if e[2][3:] == op:
                    start = i
        if start is None:
            raise SystemExit("--plant: no operation %r in the log" % op)
        return start, len(events)

    def plant(self, events, spec):
        kind, _, rest = spec.partition(":")
        parts = rest.split(":")
        op = parts[0]
        a, b = self.op_span(events, op)
        if kind == "drop-fences":
            dropped = [e for e in events[a:b] if e[0] == "F"]
            self.planted.append("%d fences dropped in %s" % (len(dropped), op))
            return events[:a] + [e for e in events[a:b] if e[0] != "F"] + events[b:]
        if kind == "swap":
            ws = [i for i in range(a, b) if events[i][0] == "W"]
            if len(ws) < 2:
                raise SystemExit("--plant swap: %s has fewer than two writes" % op)
            i = int(parts[1]) if len(parts) > 1 else 0
            j = int(parts[2]) if len(parts) > 2 else len(ws) - 1
            x, y = ws[i], ws[j]
            events = list(events)
            events[x], events[y] = events[y], events[x]
            self.planted.append("in %s, %s and %s swapped" % (
                op, events[y][1].describe(), events[x][1].describe()))
            return events
        raise SystemExit("--plant: unknown kind %r" % kind)


# ---------------------------------------------------------------------------
# Generating the states.

class State:
    __slots__ = ("id", "epoch", "k", "mask", "torn", "kind", "label", "pos", "verdict",
                 "lines", "findings", "secs")

    def __init__(self, epoch, k, mask, torn, kind, label, pos):
        self.epoch, self.k, self.mask, self.torn = epoch, k, mask, torn
        self.kind, self.label, self.pos = kind, label, pos
        self.id = None
        self.verdict, self.lines, self.findings, self.secs = None, [], 0, 0.0


def word_diff(w, under, unit):
    """Byte offsets in w (unit apart) whose bytes differ from under(b)."""
    out = []
    for b, lo, hi, s in w.frags:
        old = under(b)
        new = w.data[s:s + hi - lo]
        if old[lo:hi] == new:
            continue
        first = lo - lo % unit
        for o in range(first, hi, unit):
            o2 = max(o, lo)
            if old[o2:o + unit] != new[o2 - lo:o + unit - lo]:
                out.append(s + o - lo)
    return out


def generate(log, base_img, budget, seed, unit, only=None, tear=True, progress=True):
    rnd = random.Random(seed)
    with open(base_img, "rb") as fh:
        durable = bytearray(fh.read())
    for w in log.pre:
        durable[w.off:w.off + len(w.data)] = w.data

    def dread(b):
        return bytes(durable[b * BLOCK:(b + 1) * BLOCK])

    # States are told apart by their whole image: the digests of the
    # blocks that differ from the image at the mark base, durable ones
    # (ddirty) overlaid with the state's own.
    start = bytes(durable)
    bcache = {}

    def bdigest(b):
        d = bcache.get(b)
        if d is None:
            d = bcache[b] = digest(start[b * BLOCK:(b + 1) * BLOCK])
        return d

    ddirty = {}

    points = sum(1 for e in log.events if e[0] == "W" and (only is None or e[1].label == only))
    # Aim a little past the budget: the last points may find only
    # duplicates.
    budget += budget // 100 + 2
    mandatory = 2 * points + 1
    extra_per_point = max(0.0, (budget - mandatory) / max(points, 1))

    epochs = []
    cur_epoch = []
    cur = {}            # block -> bytes: the prefix image of the open epoch
    states = []
    seen = set()
    stats = {"points": points, "fences": 0, "fence_states": 0, "duplicates": 0}
    npoint = 0

    def key_of(e, k, mask, torn):
        blocks = compose(dread, cur_epoch, k, mask, torn)
        merged = dict(ddirty)
        for b, v in blocks.items():
            if v[0] == bdigest(b):
                merged.pop(b, None)
            else:
                merged[b] = v[0]
        h = hashlib.blake2b(digest_size=16)
        for b, d in sorted(merged.items()):
            h.update(b.to_bytes(8, "little"))
            h.update(d)
        return h.digest()

    def add(e, k, mask, torn, kind, label, pos):
        key = key_of(e, k, mask, torn)
        if key in seen:
            stats["duplicates"] += 1
            return False
        seen.add(key)
        states.append(State(e, k, mask, torn, kind, label, pos))
        return True

    def torn_variants(D, m):
        """Up to m subsets of D (proper, non-empty), in a useful order."""
        n = len(D)
        if n < 2:
            return []
        if n <= 4:
            subs = [tuple(D[j] for j in range(n) if (s >> j) & 1) for s in range(1, (1 << n) - 1)]
            rnd.shuffle(subs)
            return subs[:m]
        subs = []
        cuts = list(range(1, n))
        rnd.shuffle(cuts)
        for c in cuts:
            subs.append(tuple(D[:c]))
            subs.append(tuple(D[c:]))
        for _ in range(m):
            s = tuple(x for x in D if rnd.random() < 0.5)
            if 0 < len(s) < n:
                subs.append(s)
        mixed = []
        for i in range(len(subs)):
            # Interleave prefixes, suffixes and random subsets.
            mixed.append(subs[(i * 7) % len(subs)])
        return mixed[:m]

    def subset_masks(k, m):
        """Up to m masks of k writes with the newest set, not all set."""
        full = (1 << k) - 1
        newest = 1 << (k - 1)
        if k == 1:
            return []
        if k <= 8:
            ms = [newest | s for s in range(0, (1 << (k - 1)) - 1)]
            rnd.shuffle(ms)
            return ms[:m]
        ms = []
        for _ in range(m):
            r = rnd.random()
            if r < 0.4:
                ms.append(full & ~(1 << rnd.randrange(k - 1)))
            elif r < 0.6:
                lag = rnd.randrange(1, min(k - 1, 16) + 1)
                ms.append(full & ~(((1 << lag) - 1) << (k - 1 - lag)))
            elif r < 0.7:
                ms.append(newest)
            else:
                ms.append(newest | (rnd.getrandbits(k - 1) & (newest - 1) & ~0))
        return [x for x in ms if x != full]

    t0 = time.time()
    e = 0
    label = "start"
    per_op = stats["per_op"] = {}
    for ev in log.events:
        if ev[0] == "M":
            if ev[2].startswith("op "):
                label = ev[2][3:]
            continue
        if ev[0] == "F":
            stats["fences"] += 1
            if only is None or label == only:
                per_op.setdefault(label, [0, 0])[1] += 1
            for w in cur_epoch:
                durable[w.off:w.off + len(w.data)] = w.data
            for b in cur:
                d = digest(dread(b))
                if d == bdigest(b):
                    ddirty.pop(b, None)
                else:
                    ddirty[b] = d
            if cur_epoch:
                epochs.append(cur_epoch)
                e += 1
            elif only is None or label == only:
                # A fence with nothing in flight: its state is the previous
                # one (already checked).
                pass
            cur_epoch, cur = [], {}
            continue
        w = ev[1]
        label = w.label
        cur_epoch.append(w)
        k = len(cur_epoch)

        def under(b):
            v = cur.get(b)
            return v if v is not None else dread(b)

        D = word_diff(w, under, unit) if tear else []
        for b, lo, hi, s in w.frags:
            old = bytearray(under(b))
            old[lo:hi] = w.data[s:s + hi - lo]
            cur[b] = bytes(old)
        if only is not None and w.label != only:
            continue
        per_op.setdefault(w.label, [0, 0])[0] += 1
        full = (1 << k) - 1
        pos = w.seq
        add(e, k, full, None, "prefix", w.label, pos)
        if len(D) >= 2:
            half = tuple(D[:len(D) // 2])
            add(e, k, full, (k - 1, half, unit), "torn", w.label, pos)
        # Aim at the budget pro rata of the points seen: what a point
        # could not use (too few distinct states) goes to the next ones.
        npoint += 1
        want = min(int(budget * npoint / max(points, 1)) - len(states), int(4 * extra_per_point) + 32)
        if want <= 0:
            continue
        tv = torn_variants(D, want * 2)
        sm = subset_masks(k, want * 2)
        cands = []
        for i in range(max(len(tv), len(sm))):
            if i < len(sm):
                cands.append((sm[i], None, "subset"))
            if i < len(tv):
                cands.append((full, (k - 1, tv[i], unit), "torn"))
            if i < len(sm) and i < len(tv) and rnd.random() < 0.3:
                cands.append((sm[i], (k - 1, tv[i], unit), "subset+torn"))
        got = 0
        for mask, torn, kind in cands:
            if got >= want:
                break
            if add(e, k, mask, torn, kind, w.label, pos):
                got += 1
    if cur_epoch:
        epochs.append(cur_epoch)
    for i, s in enumerate(states):
        s.id = i
    stats["epochs"] = len(epochs)
    stats["gen_secs"] = time.time() - t0
    return states, epochs, stats


# ---------------------------------------------------------------------------
# Checking the states with e2fsck, in parallel workers.

G = {}


def fsck(img):
    t = time.time()
    try:
        r = subprocess.run(["e2fsck", "-fn", img], stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=300)
        out = r.stdout
        rc = r.returncode
    except subprocess.TimeoutExpired:
        return "bad", ["    unexpected: e2fsck timed out"], 0, time.time() - t
    a = subprocess.run(["awk", "-v", "img=" + img, "-f", AWK], input=out, stdout=subprocess.PIPE)
    lines = a.stdout.decode(errors="replace").splitlines()
    text = out.decode(errors="replace")
    findings = sum(1 for ln in text.splitlines()
                   if ln and not ln.startswith(("e2fsck ", "Pass ", "Fix? ", "Clear? ", "Connect to"))
                   and " files (" not in ln and "WARNING: Filesystem" not in ln)
    if a.returncode != 0 or rc >= 8:
        if not lines:
            lines = ["    unexpected: e2fsck exit status %d" % rc]
        return "bad", lines, findings, time.time() - t
    if rc == 0:
        return "clean", [], 0, time.time() - t
    return "leak", [], findings, time.time() - t


class Image:
    """A scratch image file that follows the durable image epoch by epoch."""

    def __init__(self, path, base_img, pre, epochs):
        self.path = path
        subprocess.run(["cp", "--sparse=always", base_img, path], check=True)
        self.fd = os.open(path, os.O_RDWR)
        self.epochs = epochs
        for w in pre:
            os.pwrite(self.fd, w.data, w.off)
        self.epoch = 0

    def advance(self, e):
        if e < self.epoch:
            raise RuntimeError("epochs go forward only")
        while self.epoch < e:
            for w in self.epochs[self.epoch]:
                os.pwrite(self.fd, w.data, w.off)
            self.epoch += 1

    def read(self, b):
        return os.pread(self.fd, BLOCK, b * BLOCK)

    def apply(self, blocks):
        """Writes the state's blocks; returns what they replaced."""
        old = {}
        for b, v in blocks.items():
            cur = self.read(b)
            data = block_bytes(v)
            if cur != data:
                old[b] = cur
                os.pwrite(self.fd, data, b * BLOCK)
        return old

    def restore(self, old):
        for b, d in old.items():
            os.pwrite(self.fd, d, b * BLOCK)

    def close(self):
        os.close(self.fd)
        os.unlink(self.path)


def epoch_writes(e):
    ep = G["epochs"]
    return ep[e] if e < len(ep) else []


def worker(args):
    idx, lo, hi = args
    states, epochs = G["states"], G["epochs"]
    img = Image(os.path.join(G["scratch"], "state%d.img" % idx), G["base"], G["pre"], epochs)
    out = []
    try:
        for s in states[lo:hi]:
            img.advance(s.epoch)
            blocks = compose(img.read, epoch_writes(s.epoch), s.k, s.mask, s.torn)
            old = img.apply(blocks)
            verdict, lines, findings, secs = fsck(img.path)
            img.restore(old)
            out.append((s.id, verdict, lines, findings, secs))
            with G["done"].get_lock():
                G["done"].value += 1
    finally:
        img.close()
    return out


def check(states, epochs, log, base_img, jobs, scratch):
    G.update(states=states, epochs=epochs, pre=log.pre, base=base_img, scratch=scratch,
             done=multiprocessing.Value("i", 0))
    n = len(states)
    jobs = max(1, min(jobs, n))
    bounds = [(i, n * i // jobs, n * (i + 1) // jobs) for i in range(jobs)]
    ctx = multiprocessing.get_context("fork")
    t0 = time.time()
    with ctx.Pool(jobs) as pool:
        res = pool.map_async(worker, bounds)
        while not res.ready():
            res.wait(30)
            if not res.ready():
                print("  %d/%d states checked (%.0f s)" % (G["done"].value, n, time.time() - t0),
                      file=sys.stderr, flush=True)
        results = res.get()
    by_id = {s.id: s for s in states}
    for part in results:
        for sid, verdict, lines, findings, secs in part:
            s = by_id[sid]
            s.verdict, s.lines, s.findings, s.secs = verdict, lines, findings, secs
    return time.time() - t0


# ---------------------------------------------------------------------------
# Describing states, reporting, exporting images.

def describe_state(s, epochs):
    ws = epochs[s.epoch] if s.epoch < len(epochs) else []
    w = ws[s.k - 1]
    text = "state %d (%s) in epoch %d, after write %d of it: %s [%s]" % (
        s.id, s.kind, s.epoch, s.k, w.describe(), w.label)
    missing = [ws[i] for i in range(s.k) if not (s.mask >> i) & 1]
    if missing:
        shown = ", ".join("seq %d [%s]" % (m.seq, m.label) for m in missing[:6])
        more = " and %d more" % (len(missing) - 6) if len(missing) > 6 else ""
        text += "; not persisted: %s%s" % (shown, more)
    if s.torn:
        ti, words, unit = s.torn
        tw = ws[ti]
        text += "; torn: seq %d persisted %d of its changed %d-byte words (at %s)" % (
            tw.seq, len(words), unit, ",".join(str(tw.off + o) for o in words[:4])
            + (",.." if len(words) > 4 else ""))
    return text


def report(states, epochs, stats, log, args, secs, out):
    ops = {}
    order = []
    for s in states:
        if s.label not in ops:
            ops[s.label] = {"states": 0, "clean": 0, "leak": 0, "bad": 0, "points": set(), "first": []}
            order.append(s.label)
        o = ops[s.label]
        o["states"] += 1
        o[s.verdict] += 1
        o["points"].add((s.epoch, s.k))
        if s.verdict == "bad" and len(o["first"]) < args.show:
            o["first"].append(s)
    total = len(states)
    bad = sum(o["bad"] for o in ops.values())
    leak = sum(o["leak"] for o in ops.values())
    clean = sum(o["clean"] for o in ops.values())
    fsck_secs = sum(s.secs for s in states)
    w = out.write
    w("crash states of %s\n" % args.log)
    if log.planted:
        w("planted: %s\n" % "; ".join(log.planted))
    if args.fence_every_write:
        w("emulated: a fence after every write\n")
    w("log: %d writes before the mark base (setup, taken as durable), %d ordering points after it "
      "(%d writes, %d fences recorded), %d epochs with writes\n" % (
          len(log.pre), stats["points"] + stats["fences"], stats["points"], log.recorded_fences,
          stats["epochs"]))
    w("states: %d checked (%d duplicates skipped), %d clean, %d leak only, %d worse than a leak\n" % (
        total, stats["duplicates"], clean, leak, bad))
    w("time: %.1f s generating, %.1f s checking with %d jobs, e2fsck %.0f ms per state on average\n" % (
        stats["gen_secs"], secs, args.jobs, 1000 * fsck_secs / max(total, 1)))
    w("\nordering points (writes, fences) per operation; every write's prefix state is checked\n"
      "(or is identical to a state checked), so every point is covered\n")
    w("\n%-24s %7s %7s %7s %7s %7s %7s\n" % ("operation", "writes", "fences", "states", "clean", "leak", "BAD"))
    for lab in order + [x for x in stats["per_op"] if x not in ops]:
        o = ops.get(lab, {"states": 0, "clean": 0, "leak": 0, "bad": 0})
        nw, nf = stats["per_op"].get(lab, [0, 0])
        w("%-24s %7d %7d %7d %7d %7d %7d\n" % (lab, nw, nf, o["states"], o["clean"], o["leak"], o["bad"]))
    for lab in order:
        o = ops[lab]
        if not o["first"]:
            continue
        w("\n== %s: %d bad states; the first %d:\n" % (lab, o["bad"], len(o["first"])))
        for s in o["first"]:
            w("  %s\n" % describe_state(s, epochs))
            for ln in s.lines[:args.lines]:
                w("  %s\n" % ln)
            if len(s.lines) > args.lines:
                w("      ... %d more\n" % (len(s.lines) - args.lines))
    return {"states": total, "clean": clean, "leak": leak, "bad": bad,
            "ops": {lab: dict({k: (len(v) if k == "points" else v) for k, v in ops[lab].items() if k != "first"},
                              writes=stats["per_op"].get(lab, [0, 0])[0],
                              fences=stats["per_op"].get(lab, [0, 0])[1])
                    for lab in order},
            "fsck_ms": 1000 * fsck_secs / max(total, 1), "check_secs": secs,
            "planted": log.planted}


def witness_blocks(final_img, path):
    r = subprocess.run(["debugfs", "-R", "blocks " + path, final_img], stdout=subprocess.PIPE,
                       stderr=subprocess.DEVNULL)
    return [int(x) for x in r.stdout.split()]


def export(states, epochs, log, base_img, final_img, n, outdir, per_batch, seed):
    """Writes up to n crash images for the VM, in batches of per_batch."""
    rnd = random.Random(seed)
    chosen, seen = [], set()

    def take(s):
        if s.id not in seen and len(chosen) < n:
            seen.add(s.id)
            chosen.append(s)

    by_op = {}
    for s in states:
        by_op.setdefault(s.label, []).append(s)
    # A third bad states (one per operation, as far as they go), a
    # quarter good states taken after an fsync mark (they check data),
    # then one state of every kind per operation, then any.
    bad = [ss[[x.verdict for x in ss].index("bad")] for ss in by_op.values()
           if any(x.verdict == "bad" for x in ss)]
    rnd.shuffle(bad)
    for s in bad[:max(1, n // 3)]:
        take(s)
    wit = [s for s in states if log.witnesses and s.pos > log.witnesses[0]["seq"]
           and s.verdict != "bad"]
    rnd.shuffle(wit)
    for s in wit[:max(1, n // 4)]:
        take(s)
    for lab, ss in by_op.items():
        kinds = {}
        for s in ss:
            kinds.setdefault(s.kind, s)
        for s in kinds.values():
            if s.verdict != "bad":
                take(s)
    rest = list(states)
    rnd.shuffle(rest)
    for s in rest:
        take(s)
    chosen.sort(key=lambda s: s.id)
    wblocks = {}
    if final_img:
        for wi in log.witnesses:
            wblocks[wi["path"]] = witness_blocks(final_img, wi["path"])
        ffd = os.open(final_img, os.O_RDONLY)
    batches = []
    img = Image(os.path.join(outdir, "replay.img"), base_img, log.pre, epochs)
    for bi in range(0, len(chosen), per_batch):
        bdir = os.path.join(outdir, "batch%d" % (bi // per_batch))
        os.makedirs(bdir, exist_ok=True)
        manifest = []
        for j, s in enumerate(chosen[bi:bi + per_batch]):
            img.advance(s.epoch)
            blocks = compose(img.read, epoch_writes_of(epochs, s.epoch), s.k, s.mask, s.torn)
            old = img.apply(blocks)
            dst = os.path.join(bdir, "nvdimm%d.img" % j)
            subprocess.run(["cp", "--sparse=always", img.path, dst], check=True)
            img.restore(old)
            wits = [wi for wi in log.witnesses if wi["seq"] < s.pos]
            if wits and final_img:
                dfd = os.open(dst, os.O_WRONLY)
                for wi in wits:
                    for b in wblocks.get(wi["path"], []):
                        os.pwrite(dfd, os.pread(ffd, BLOCK, b * BLOCK), b * BLOCK)
                os.close(dfd)
            with open(dst, "rb") as fh:
                fp = hashlib.sha256(fh.read(8192)).hexdigest()
            manifest.append({"nvdimm": j, "fp": fp, "image": dst, "id": s.id, "label": s.label,
                             "kind": s.kind, "verdict": s.verdict,
                             "what": describe_state(s, epochs),
                             "witnesses": [{k: wi[k] for k in ("path", "size", "sha256")} for wi in wits]})
        with open(os.path.join(bdir, "manifest.json"), "w") as fh:
            json.dump(manifest, fh, indent=1)
        batches.append(bdir)
    img.close()
    if final_img:
        os.close(ffd)
    return batches


def epoch_writes_of(epochs, e):
    return epochs[e] if e < len(epochs) else []


def self_check(log, base_img, final_img, out):
    """The whole log replayed onto the base image must give the final
    image, except in blocks DAX wrote (file data)."""
    with open(base_img, "rb") as fh:
        img = bytearray(fh.read())
    for w in log.pre:
        img[w.off:w.off + len(w.data)] = w.data
    touched = set()
    for e in log.events:
        if e[0] == "W":
            w = e[1]
            img[w.off:w.off + len(w.data)] = w.data
            for fr in w.frags:
                touched.add(fr[0])
    with open(final_img, "rb") as fh:
        final = fh.read()
    differ = [b for b in sorted(touched) if img[b * BLOCK:(b + 1) * BLOCK] != final[b * BLOCK:(b + 1) * BLOCK]]
    with tempfile.NamedTemporaryFile(dir="/dev/shm" if os.path.isdir("/dev/shm") else None,
                                     suffix=".img") as t:
        t.write(img)
        t.flush()
        verdict, lines, findings, _ = fsck(t.name)
    out.write("replay of the whole log: e2fsck %s; %d of the %d blocks it wrote differ from the final "
              "image (DAX wrote file data there later)\n" % (verdict, len(differ), len(touched)))
    return verdict, differ


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--base", required=True, help="image before the workload")
    ap.add_argument("--log", required=True, help="rpmem's log of the workload")
    ap.add_argument("--final", help="image after the workload")
    ap.add_argument("--states", type=int, default=5000, help="how many states to aim for")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--jobs", type=int, default=min(2, os.cpu_count() or 1))
    ap.add_argument("--unit", type=int, default=8, help="tearing granularity in bytes")
    ap.add_argument("--no-tear", action="store_true", help="no torn writes")
    ap.add_argument("--only", help="only the states of this operation")
    ap.add_argument("--fence-every-write", action="store_true")
    ap.add_argument("--plant", action="append", default=[])
    ap.add_argument("--export", type=int, default=0, metavar="N")
    ap.add_argument("--export-dir")
    ap.add_argument("--per-batch", type=int, default=12)
    ap.add_argument("--show", type=int, default=3, help="bad states shown per operation")
    ap.add_argument("--lines", type=int, default=6, help="e2fsck lines shown per bad state")
    ap.add_argument("--report", help="also write the report here")
    ap.add_argument("--json", help="write the summary as JSON here")
    ap.add_argument("--scratch", default="/dev/shm" if os.path.isdir("/dev/shm") else tempfile.gettempdir())
    args = ap.parse_args()

    log = Log(args.log, args.fence_every_write, args.plant)
    out = sys.stdout
    if args.final and not args.plant and not args.fence_every_write:
        self_check(log, args.base, args.final, out)
    states, epochs, stats = generate(log, args.base, args.states, args.seed, args.unit,
                                     only=args.only, tear=not args.no_tear)
    print("%d states from %d ordering points, generated in %.1f s; checking with %d jobs" % (
        len(states), stats["points"] + stats["fences"], stats["gen_secs"], args.jobs), flush=True)
    scratch = tempfile.mkdtemp(prefix="crashstates.", dir=args.scratch)
    try:
        secs = check(states, epochs, log, args.base, args.jobs, scratch)
    finally:
        os.rmdir(scratch)
    import io
    buf = io.StringIO()
    summary = report(states, epochs, stats, log, args, secs, buf)
    out.write(buf.getvalue())
    if args.report:
        with open(args.report, "w") as fh:
            fh.write(buf.getvalue())
    if args.export:
        os.makedirs(args.export_dir, exist_ok=True)
        summary["batches"] = export(states, epochs, log, args.base, args.final, args.export,
                                    args.export_dir, args.per_batch, args.seed)
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(summary, fh, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
