#!/usr/bin/env python3
"""Each framework's time over a reference framework's (pytorch unless
--reference names another), per configuration, from a report.csv: the ratio
of criterion's means, a conservative interval from their 95% confidence
intervals (low: low / the reference's high; high: high / its low), `~` where
either is an estimate, and the geometric mean over the configurations.

Usage: scripts/ratios.py report.csv [--reference NAME] [framework ...]   (default: tch tch-jit)
"""
import csv
import math
import sys

args = sys.argv[2:]
reference = "pytorch"
if "--reference" in args:
    i = args.index("--reference")
    reference = args[i + 1]
    del args[i : i + 2]
path, frameworks = sys.argv[1], args or ["tch", "tch-jit"]
rows = [r for r in csv.DictReader(open(path)) if r["metric"] == "time" and r["mean"]]
key = lambda r: (r["model"], r["device"], r["phase"], int(r["size"]), int(r["batch"]))
by = {(key(r), r["framework"]): r for r in rows}
configs = sorted({key(r) for r in rows if r["framework"] == reference})
print(f"| model | device | phase | size | batch | {reference} | " + " | ".join(f"{f} / {reference}" for f in frameworks) + " |")
print("|---|---|---|---|---|---|" + "---|" * len(frameworks))
logs = {f: [] for f in frameworks}
for c in configs:
    p = by[(c, reference)]
    cells = []
    for f in frameworks:
        r = by.get((c, f))
        if r is None:
            cells.append("-")
            continue
        ratio = float(r["mean"]) / float(p["mean"])
        logs[f].append(math.log(ratio))
        if r["mean_ci_low"] and p["mean_ci_high"]:
            lo = float(r["mean_ci_low"]) / float(p["mean_ci_high"])
            hi = float(r["mean_ci_high"]) / float(p["mean_ci_low"])
            cells.append(f"{ratio:.2f} [{lo:.2f}, {hi:.2f}]")
        else:
            cells.append(f"~{ratio:.2f}")
    print(f"| {c[0]} | {c[1]} | {c[2]} | {c[3]} | {c[4]} | {float(p['mean']) * 1e3:.2f} ms | " + " | ".join(cells) + " |")
geo = [f"{math.exp(sum(v) / len(v)):.3f} ({len(v)} configurations)" if v else "-" for v in logs.values()]
print("| geometric mean | | | | | | " + " | ".join(geo) + " |")
