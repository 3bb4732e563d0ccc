#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""Summarise a make bench run: tests/bench/summary.py RESULTS [PNG].

RESULTS holds lines "RESULT SECTION WORKLOAD TARGET REP VALUE" (from
tests/bench/guest.sh).  Prints markdown: for each section a table of
median (min-max) per target with its ratio to the reference (ext4-dax on
the same rpmem device; nd_pmem for the raw devices), then the goals of
issue 13 with the measured ratios.  With PNG, also plots the ratios and
the directory scaling there.  Ratios are speeds: above 1 is faster than
the reference, for times (lower is better) and throughputs alike.
"""

import collections
import statistics
import sys

TIME = "us per operation, lower is better"
RATE = "MB/s, higher is better"
PCT = "per cent of 2 MiB faults mapped whole"


def unit(sec):
    if sec in ("raw", "fio"):
        return RATE
    if sec == "pmd":
        return PCT
    return TIME


def ref_of(sec, targets):
    for r in ("nd_pmem", "ext4-rpmem") if sec == "raw" else ("ext4-rpmem",):
        if r in targets:
            return r
    return None


def load(path):
    vals = collections.defaultdict(list)
    order = {}
    for line in open(path):
        f = line.split()
        if len(f) != 6 or f[0] != "RESULT":
            continue
        _, sec, w, t, _rep, v = f
        vals[(sec, w, t)].append(float(v))
        order.setdefault(sec, ({}, {}))
        order[sec][0].setdefault(w, None)
        order[sec][1].setdefault(t, None)
    return vals, {s: (list(w), list(t)) for s, (w, t) in order.items()}


def speed(sec, target, ref):
    """How many times faster target is than ref (medians)."""
    if target is None or ref is None:
        return None
    if unit(sec) == TIME:
        return ref / target if target else None
    return target / ref if ref else None


class Summary:
    def __init__(self, path):
        self.vals, self.order = load(path)

    def med(self, sec, w, t):
        v = self.vals.get((sec, w, t))
        return statistics.median(v) if v else None

    def ratio(self, sec, w, t, ref=None):
        ws, targets = self.order.get(sec, ([], []))
        ref = ref or ref_of(sec, targets)
        if ref is None:
            return None
        return speed(sec, self.med(sec, w, t), self.med(sec, w, ref))

    def tables(self):
        out = []
        reps = max((len(v) for v in self.vals.values()), default=0)
        for sec, (ws, targets) in self.order.items():
            ref = ref_of(sec, targets)
            note = f"; x = speed relative to {ref}" if ref and sec != "pmd" else ""
            out.append(f"\n{sec} ({unit(sec)}; median (min-max) of up to {reps}{note})\n")
            out.append("| workload | " + " | ".join(targets) + " |")
            out.append("|---|" + "---|" * len(targets))
            for w in ws:
                cells = []
                for t in targets:
                    v = self.vals.get((sec, w, t))
                    if not v:
                        cells.append("-")
                        continue
                    cell = f"{statistics.median(v):.0f}"
                    if len(v) > 1:
                        cell += f" ({min(v):.0f}-{max(v):.0f})"
                    r = self.ratio(sec, w, t)
                    if r is not None and t != ref and sec != "pmd":
                        cell += f" {r:.2f}x"
                    cells.append(cell)
                out.append(f"| {w} | " + " | ".join(cells) + " |")
        return out

    def dir_sizes(self):
        return sorted(int(s[4:]) for s in self.order if s.startswith("dir-"))

    def goals(self):
        """(goal, measured, met) for each goal of issue 13 that was measured."""
        rows = []

        def add(goal, value, met, fmt="{:.2f}x"):
            if value is not None:
                rows.append((goal, fmt.format(value), "yes" if met(value) else "no"))

        for w, name in (("create", "create"), ("append", "1 KiB append"), ("unlink", "unlink")):
            add(f"{name}: rext2 at least 2x ext4-dax (same rpmem)",
                self.ratio("files", w, "rext2"), lambda r: r >= 2.0)
            add(f"{name}: rext2 within 2x of tmpfs",
                self.ratio("files", w, "rext2", "tmpfs"), lambda r: r >= 0.5)
        sizes = self.dir_sizes()
        if len(sizes) > 1:
            lo, hi = sizes[0], sizes[-1]
            for w in ("create", "stat-warm", "stat-cold", "stat-evicted", "unlink"):
                a, b = self.med(f"dir-{lo}", w, "rext2"), self.med(f"dir-{hi}", w, "rext2")
                if a and b:
                    add(f"directory {w}: rext2 grows at most 1.2x from {lo} to {hi} entries",
                        b / a, lambda g: g <= 1.2)
        if 100000 in sizes:
            for w in ("create", "stat-warm", "stat-cold", "stat-evicted", "unlink"):
                add(f"directory {w} at 100000 entries: rext2 at least 1.0x ext4-dax",
                    self.ratio("dir-100000", w, "rext2"), lambda r: r >= 1.0)
        for w in ("randread-4k", "randwrite-4k", "mmapwrite-1m", "mmapread-1m"):
            add(f"fio {w}: rext2 at least 1.0x ext4-dax", self.ratio("fio", w, "rext2"),
                lambda r: r >= 1.0)
        for w in ("read-faults", "write-faults"):
            add(f"2 MiB {w} of a large file on a fresh rext2 mapped whole",
                self.med("pmd", w, "rext2"), lambda p: p >= 100, "{:.0f}%")
        for w in ("randread-4k", "randwrite-4k", "seqread-1m", "seqwrite-1m"):
            add(f"raw {w}: rpmem at least 1.0x nd_pmem", self.ratio("raw", w, "rpmem"),
                lambda r: r >= 1.0)
        out = ["\ngoals (issue 13; ratios of medians)\n", "| goal | measured | met |", "|---|---|---|"]
        out += [f"| {g} | {m} | {ok} |" for g, m, ok in rows]
        return out

    def plot(self, png):
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        bars = [(s, w) for s in ("files", "fio", "raw") for w in self.order.get(s, ([], []))[0]]
        sizes = self.dir_sizes()
        fig, axes = plt.subplots(1, 2 if sizes else 1, figsize=(16 if sizes else 10, 6),
                                 squeeze=False)
        ax = axes[0][0]
        targets = []
        for s, _ in bars:
            for t in self.order[s][1]:
                if t not in targets and t != ref_of(s, self.order[s][1]):
                    targets.append(t)
        width = 0.8 / max(len(targets), 1)
        for i, t in enumerate(targets):
            ys = [self.ratio(s, w, t) or 0 for s, w in bars]
            ax.bar([x + i * width for x in range(len(bars))], ys, width, label=t)
        ax.axhline(1.0, color="black", linewidth=0.8)
        ax.set_xticks([x + 0.4 - width / 2 for x in range(len(bars))])
        ax.set_xticklabels([f"{s} {w}" for s, w in bars], rotation=60, ha="right", fontsize=8)
        ax.set_ylabel("speed relative to ext4-dax on rpmem (raw: to nd_pmem)")
        ax.set_title("make bench: medians, ratios within one VM run")
        ax.legend(fontsize=8)
        if sizes:
            ax = axes[0][1]
            colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
            for i, t in enumerate(self.order[f"dir-{sizes[0]}"][1]):
                for w, style in (("create", "-"), ("stat-cold", "--"), ("unlink", ":")):
                    pts = [(n, self.med(f"dir-{n}", w, t)) for n in sizes]
                    pts = [(n, v) for n, v in pts if v]
                    if pts:
                        ax.plot(*zip(*pts), style, marker="o", color=colours[i % len(colours)],
                                label=f"{t} {w}")
            ax.set_xscale("log")
            ax.set_yscale("log")
            ax.set_xlabel("entries in the directory")
            ax.set_ylabel("us per operation (median)")
            ax.set_title("one directory")
            ax.legend(fontsize=6, ncol=2)
        fig.tight_layout()
        fig.savefig(png, dpi=100)


def main():
    if len(sys.argv) not in (2, 3):
        sys.exit("usage: summary.py RESULTS [PNG]")
    s = Summary(sys.argv[1])
    if not s.vals:
        sys.exit(f"summary.py: no results in {sys.argv[1]}")
    print("\n".join(s.tables() + s.goals()))
    if len(sys.argv) == 3:
        s.plot(sys.argv[2])


if __name__ == "__main__":
    main()
