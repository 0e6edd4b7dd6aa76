"""Prints one line per benchmark found under criterion folders: criterion's
mean (time per step, or MiB when memory was the measured value), images per
second, and the memory cnn-bench recorded beside it; failures with their
reason. Standard library only, so it runs on a bare GPU machine.

Usage: python3 gpu_table.py CRITERION_DIR [CRITERION_DIR ...]
"""

import glob
import json
import os
import sys


def mib(reading):
    if reading is None:
        return "-"
    return f"{reading['mib']:.0f}" if "mib" in reading else "n/a"


def main(dirs):
    rows = []
    for d in dirs:
        for path in sorted(glob.glob(os.path.join(d, "*", "*", "*", "cnn-bench.json"))):
            rec = json.load(open(path))
            est_path = os.path.join(os.path.dirname(path), "new", "estimates.json")
            mean = ci = "-"
            ips = "-"
            rough = rec.get("estimate") if rec["status"] == "ok" else None
            if rough:  # fewer steps than criterion's minimum: an estimate
                m = rough["mean"]
                if rec["metric"] == "time":
                    mean, ips = f"~{m / 1e6:.2f} ms", f"~{rec['batch'] / (m / 1e9):.0f}"
                    ci = f"{rough['steps']} steps"
                else:
                    mean, ci = f"~{m:.0f} MiB", f"{rough['steps']} steps"
            elif rec["status"] == "ok" and os.path.exists(est_path):
                est = json.load(open(est_path))["mean"]
                lo, hi = est["confidence_interval"]["lower_bound"], est["confidence_interval"]["upper_bound"]
                if rec["metric"] == "time":
                    mean = f"{est['point_estimate'] / 1e6:.2f} ms"
                    ci = f"[{lo / 1e6:.2f}, {hi / 1e6:.2f}]"
                    ips = f"{rec['batch'] / (est['point_estimate'] / 1e9):.0f}"
                else:
                    mean = f"{est['point_estimate']:.0f} MiB"
                    ci = f"[{lo:.0f}, {hi:.0f}]"
            mem = rec.get("memory") or {}
            rows.append((rec["id"], rec["status"], rec["metric"], mean, ci, ips,
                         mib(mem.get("nvml_process_mib")), mib(mem.get("nvml_peak_mib")),
                         mib(mem.get("device_used_mib")),
                         (rec.get("reason") or "")[:110]))
    head = ("benchmark", "status", "value", "mean", "95% CI", "img/s", "NVML MiB", "NVML peak", "device MiB", "reason")
    widths = [max(len(str(r[i])) for r in rows + [head]) for i in range(len(head))]
    for r in [head] + rows:
        print("  ".join(str(v).ljust(w) for v, w in zip(r, widths)).rstrip())


if __name__ == "__main__":
    main(sys.argv[1:])
