#!/usr/bin/env python3
"""A framework's time over a reference framework's, per configuration, in
several independent runs (one report.csv each, every cell in a process of
its own): is a difference the framework's, or the process's?

Per configuration: the ratio of criterion's means in each run, with a
conservative interval (low: its low / the reference's high; high: its high
/ the reference's low), the spread of the ratios across runs, and a
verdict:
- `slower` / `faster`: every run's interval lies beyond `--margin` (3%) on
  the same side of 1: a difference to find;
- `within`: every run's interval overlaps [1 - margin, 1 + margin];
- `runs disagree`: neither: the runs differ from each other by more than
  their intervals, so a single run's ratio is that run's draw (on a GPU,
  the process's: cuDNN's autotuner, memory layout), not the framework's.
A run that lacks the configuration (or has an estimate there) is `-` and
leaves the verdict to the others; a configuration in one run only is left
out (said at the end).
Beside the verdict, how far each framework's own mean moves between the
runs (its slowest run's mean over its fastest's), to set the ratio's own
spread against: a ratio that moves as much as the frameworks' times do
is the processes' draw.
Last, the geometric mean of the ratios per run and over every run.

Usage: scripts/repeats.py --reference NAME --framework NAME [--margin 0.03] report.csv ...
"""
import argparse
import csv
import math

p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
p.add_argument("--reference", required=True)
p.add_argument("--framework", required=True)
p.add_argument("--margin", type=float, default=0.03)
p.add_argument("reports", nargs="+")
a = p.parse_args()


def key(r):
    return (r["model"], r["device"], r["phase"], int(r["size"]), int(r["batch"]))


def rows_of(path):
    """(configuration, framework) -> its row of one run; estimates left out."""
    rows = [r for r in csv.DictReader(open(path)) if r["metric"] == "time" and r["mean_ci_low"]]
    return {(key(r), r["framework"]): r for r in rows}


def ratios(by):
    """Configuration -> (ratio, low, high) of one run's rows."""
    out = {}
    for (k, f), r in by.items():
        ref = by.get((k, a.reference))
        if f != a.framework or ref is None:
            continue
        out[k] = (
            float(r["mean"]) / float(ref["mean"]),
            float(r["mean_ci_low"]) / float(ref["mean_ci_high"]),
            float(r["mean_ci_high"]) / float(ref["mean_ci_low"]),
        )
    return out


tables = [rows_of(path) for path in a.reports]
runs = [ratios(t) for t in tables]
configs = sorted(set().union(*runs))
# With several runs, a configuration only one of them has gives no verdict.
alone = [c for c in configs if sum(c in r for r in runs) < 2] if len(runs) > 1 else []
configs = [c for c in configs if c not in alone]
lo_bound, hi_bound = 1 - a.margin, 1 + a.margin


def verdict(cells):
    if len(cells) < 2:
        return "one run"  # only when a single report was given
    if all(lo > hi_bound for _, lo, _ in cells):
        return "slower"
    if all(hi < lo_bound for _, _, hi in cells):
        return "faster"
    if all(lo <= hi_bound and hi >= lo_bound for _, lo, hi in cells):
        return "within"
    return "runs disagree"


head = " | ".join(f"run {i + 1}" for i in range(len(runs)))
print(f"{a.framework} / {a.reference}, {len(runs)} runs, margin {a.margin:.0%}\n")
for i, path in enumerate(a.reports):
    print(f"- run {i + 1}: {path}")
print()
print(
    f"| model | device | phase | size | batch | {head} | spread | verdict"
    f" | {a.framework} between runs | {a.reference} between runs |"
)
print("|---|---|---|---|---|" + "---|" * len(runs) + "---|---|---|---|")
tally = {}
for c in configs:
    cells = [r[c] for r in runs if c in r]
    shown = [f"{r[c][0]:.2f} [{r[c][1]:.2f}, {r[c][2]:.2f}]" if c in r else "-" for r in runs]
    spread = f"{min(x for x, _, _ in cells):.2f}-{max(x for x, _, _ in cells):.2f}"
    v = verdict(cells)
    tally[v] = tally.get(v, 0) + 1
    # Each framework's mean in the runs that have the ratio.
    means = [[float(t[(c, f)]["mean"]) for t, r in zip(tables, runs) if c in r] for f in (a.framework, a.reference)]
    # One run has no move to show.
    moves = [f"{max(m) / min(m):.2f}x" if len(m) > 1 else "-" for m in means]
    print(
        f"| {c[0]} | {c[1]} | {c[2]} | {c[3]} | {c[4]} | " + " | ".join(shown)
        + f" | {spread} | {v} | {moves[0]} | {moves[1]} |"
    )


def geo(values):
    return f"{math.exp(sum(map(math.log, values)) / len(values)):.3f}" if values else "-"


per_run = [geo([r[c][0] for c in configs if c in r]) for r in runs]
every = [r[c][0] for r in runs for c in configs if c in r]
print(f"| geometric mean | | | | | " + " | ".join(per_run) + f" | {geo(every)} over all | | | |")
print("\nverdicts: " + ", ".join(f"{n} {v}" for v, n in sorted(tally.items())))
if alone:
    print(f"({len(alone)} configuration(s) in one run only, left out)")
