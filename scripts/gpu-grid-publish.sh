#!/usr/bin/env bash
# Merges a GPU grid slice's archive (scripts/gpu-grid.sh's
# $OUT/criterion.tar.gz) into the grid's state and regenerates the report:
#     scripts/gpu-grid-publish.sh /path/to/criterion.tar.gz
# -> target-reports/gpu-grid/{criterion.tar.gz, cubecl-environment.tar.gz
#    (where the slice brought it), report.md, report.csv, *.svg, status.txt
#    (coverage, overheads, what is left and about how long)}; commit them
#    so the next slice, on any machine, goes on from there. Uses the
#    release CLI, built first (CLI names another).
set -euo pipefail
if [ $# -ne 1 ] || [ ! -f "$1" ]; then
  echo "usage: scripts/gpu-grid-publish.sh CRITERION.tar.gz (a grid slice's archive)${1:+; $1 is not a file}" >&2
  exit 2
fi
archive=$1
dest=${DEST:-target-reports/gpu-grid}
cli=${CLI:-target/release/cnn-bench}
if [ -z "${CLI:-}" ]; then
  # `make gpu-bundle` leaves target/release's binaries built with the `cuda`
  # feature, which do not start without CUDA's libraries: the plain build
  # again (seconds when it is only relinked).
  cargo build --release --quiet --bin cnn-bench
fi
# The merged state is made apart and put in $dest only once it is known to
# hold a record: an archive with nothing recorded changes nothing there.
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
merged=$work/criterion.tar.gz
# Merged, not copied over: each benchmark's record (its criterion folder)
# from the archive unless the state's is of a later run, and the state's
# records the archive lacks kept. So no order of publishing, and no slice
# that started from an older state (a released machine's /tmp: gpu-grid.sh
# then brings in the committed state), loses what the state holds.
if [ ! -f "$dest/criterion.tar.gz" ] || [ "$(realpath "$archive")" = "$(realpath "$dest/criterion.tar.gz")" ]; then
  cp "$archive" "$merged"
else
  mkdir -p "$work/state" "$work/slice"
  tar xzf "$dest/criterion.tar.gz" -C "$work/state"
  tar xzf "$archive" -C "$work/slice"
  python3 - "$work/state/criterion" "$work/slice/criterion" <<'PY'
import json, os, shutil, sys
state, slice_ = sys.argv[1:]
def run_date(folder):
    try:
        with open(os.path.join(folder, "cnn-bench.json")) as f:
            return (json.load(f).get("run") or {}).get("date") or ""
    except (OSError, ValueError):
        return ""
taken = kept = 0
for root, dirs, files in os.walk(slice_):
    if "cnn-bench.json" not in files:
        continue
    dirs[:] = []
    there = os.path.join(state, os.path.relpath(root, slice_))
    if os.path.isdir(there) and run_date(there) > run_date(root):
        kept += 1
        continue
    shutil.rmtree(there, ignore_errors=True)
    shutil.copytree(root, there)
    taken += 1
print(f"gpu-grid-publish: merged: {taken} benchmark(s) from the archive, {kept} of a later run kept from the state")
PY
  tar czf "$merged" -C "$work/state" criterion
  rm -rf "$work/state" "$work/slice"
fi
tar xzf "$merged" -C "$work"
# The GPU grid gpu-grid.sh runs: its coverage (recorded / remaining) is
# counted by the same selection the bench binary makes.
# gpu-grid.sh's settings, for the prediction of what is left.
. "$(dirname "$0")/gpu-grid-settings.sh"
# The coverage clause of `report --grid`'s first line.
coverage_of() { sed -E 's/^([^;]*; [0-9]+ remain( \([^)]*\))?);.*/\1/' <<< "$1"; }
said=$("$cli" report --grid --criterion "$work/criterion" --out "$work/report")
echo "$said"
# A grid with nothing recorded gets no report (report --grid says what is
# left): nothing to publish.
if [ ! -f "$work/report/report.md" ]; then
  echo "gpu-grid-publish: nothing is recorded in $archive or the state: nothing published" >&2
  exit 2
fi
mkdir -p "$dest"
cp "$merged" "$dest/criterion.tar.gz"
# burn's compiled kernels and autotune results (gpu-grid.sh), when the slice
# packed them beside its state: kept too, unless larger than
# CUBECL_STATE_MAX_BYTES (6 MiB: the device tool carries 64 MiB a call, the
# tree and burn's bundle ~55 of them), which the next slice's burn pass
# then prepares again.
kernels=$(dirname "$archive")/cubecl-environment.tar.gz
if [ -f "$kernels" ] && [ "$(realpath "$kernels")" != "$(realpath -m "$dest/cubecl-environment.tar.gz")" ]; then
  size=$(stat -c %s "$kernels") max=${CUBECL_STATE_MAX_BYTES:-6291456}
  if [ "$size" -le "$max" ]; then
    cp "$kernels" "$dest/cubecl-environment.tar.gz"
    echo "gpu-grid-publish: burn's kernels and autotune results ($size bytes) kept in $dest/cubecl-environment.tar.gz"
  else
    echo "gpu-grid-publish: $kernels is $size bytes, over CUBECL_STATE_MAX_BYTES ($max): not kept" >&2
  fi
fi
# The GPU grid issue's acceptance: tch's, tch-jit's and candle's cells.
core=$(CNN_BENCH_FRAMEWORKS=tch,tch-jit,candle "$cli" report --grid --criterion "$work/criterion" --out "$work/core")
checked=$(sed -n 's/^predictions checked on the recorded benchmarks /predictions checked on their recorded benchmarks /p' <<< "$core")
core="tch, tch-jit and candle (the acceptance): $(coverage_of "$(head -n 1 <<< "$core")"); left: $(sed -n 's/^left to measure: //p' <<< "$core")${checked:+
tch, tch-jit and candle: $checked}"
summary=$(head -n 1 <<< "$said")
left=$(tail -n +2 <<< "$said")
coverage=$(coverage_of "$summary")
cp "$work/report/report.md" "$work/report/report.csv" "$dest/"
rm -f "$dest"/*.svg # figures the report no longer draws do not linger
cp "$work/report"/*.svg "$dest/" 2>/dev/null || true
# index.html links criterion's folders, which are in the archive only.
python3 - "$work/criterion" "$coverage" "$left" "$core" "$dest/logs" > "$dest/status.txt" <<'PY'
import glob, json, os, re, statistics, sys
recs = [json.load(open(p)) for p in glob.glob(os.path.join(sys.argv[1], "*", "*", "*", "cnn-bench.json"))]
ok = [r for r in recs if r["status"] == "ok"]
est = [r for r in ok if r.get("estimate")]
failed = [r for r in recs if r["status"] != "ok"]
wall = sum(r.get("wall_seconds") or 0 for r in recs)
machines = sorted({r["run"]["gpu"] for r in recs if r.get("run")})
print(f"GPU grid: {sys.argv[2]} ({len(ok) - len(est)} measured, {len(est)} estimates, {len(failed)} failed)")
print(f"GPU time in the recorded benchmarks (sum of their wall times): {wall:.0f} s")
# The GPU tables' third: every measured cell needs NVML's figure.
no_memory = [r["id"] for r in ok if "mib" not in ((r.get("memory") or {}).get("nvml_process_mib") or {})]
print(f"measured benchmarks without NVML's GPU memory: {len(no_memory)}" + (f" ({', '.join(sorted(no_memory)[:5])}{', ...' if len(no_memory) > 5 else ''})" if no_memory else ""))
print("machines: " + ("; ".join(machines) if machines else "none yet"))
# What the records were measured under (a resumed slice measures one of
# other settings again): each combination, with how many.
def measured_under(r):
    s = r.get("settings")
    if not s:
        return "settings not recorded"
    return f"{s['threads']} CPU threads, target {s['target_seconds']:g} s, budget {s['budget_seconds']:g} s, malloc {s.get('malloc', 'default')}, seed {s['seed']}"
under = {}
for r in recs:
    under[measured_under(r)] = under.get(measured_under(r), 0) + 1
print("recorded under: " + "; ".join(f"{k} ({n})" for k, n in sorted(under.items(), key=lambda kv: -kv[1])))
# The machine time the grid has taken so far: each pass's duration, from
# its last line in the slice logs ("cnn-bench: 94 benchmark(s) measured,
# ... in 8 min 58 s"), benchmarks measured again and those a deadline
# stopped unrecorded included; a pass cut off before that line is counted
# apart, as its duration is unknown.
def seconds(said):
    m = re.fullmatch(r"(?:(\d+) h )?(?:(\d+) min ?)?(?:(\d+) s)?", said.strip())
    h, mi, s = (int(x or 0) for x in m.groups())
    return 3600 * h + 60 * mi + s
took, passes, cut, logs = 0, 0, 0, sorted(glob.glob(os.path.join(sys.argv[5], "*.log")))
for log in logs:
    started = ended = 0
    for line in open(log, errors="replace"):
        started += line.startswith("cnn-bench: ") and " CPU threads per framework;" in line
        # A harness the run restarted (a CPU benchmark past its limit) says
        # its first line again, in the same pass.
        started -= line.startswith("cnn-bench: restarting the harness")
        m = re.match(r"cnn-bench: \d+ benchmark\(s\) measured, .* in ([^;]+?)(?:;|$)", line.rstrip("\n"))
        if m:
            took += seconds(m.group(1))
            ended += 1
    passes += ended
    cut += max(started - ended, 0)
print(f"machine time of the grid's passes so far (each pass's duration in the {len(logs)} slice logs, logs/): {took} s ({took / 60:.0f} min) over {passes} passes"
      + (f"; {cut} pass(es) cut off before their last line, not counted" if cut else ""))
print(sys.argv[3])
print(sys.argv[4])
fw = {}
for r in recs:
    if r.get("wall_seconds") is not None and r.get("measure_seconds") is not None:
        fw.setdefault(r["framework"], []).append(r["wall_seconds"] - r["measure_seconds"])
for f, v in sorted(fw.items()):
    print(f"overhead per benchmark (wall minus measurement), {f}: mean {sum(v) / len(v):.1f} s over {len(v)}")
# Where the overhead goes: each benchmark's stages, from its record
# ("stages"), else, for records older than that, from the slice logs
# ("cnn-bench: child's stages: starting 0.5 s, preparing 4.1 s, ..." after
# the progress line naming the benchmark).
logged, bench = {}, None
for log in sorted(glob.glob(os.path.join(sys.argv[5], "*.log"))):
    for line in open(log, errors="replace"):
        m = re.match(r"cnn-bench \[\d+/\d+\] (\S+?): about", line)
        if m:
            bench = m.group(1)
            continue
        m = re.match(r"cnn-bench: child's stages: (.*)", line)
        if m and bench:
            logged[bench] = {n: float(v) for n, v in re.findall(r"(\w+) ([\d.]+) s", m.group(1))}
            bench = None
stages, sources = {}, set()
for r in recs:
    by = {n: v for n, v in (r.get("stages") or {}).items() if v is not None}
    if not by and r["id"] in logged:
        by = logged[r["id"]]
        sources.add("slice logs")
    elif by:
        sources.add("records")
    for name, secs in by.items():
        stages.setdefault((r["framework"], r["phase"]), {}).setdefault(name, []).append(secs)
order = ["starting", "preparing", "measuring", "finishing"]
for (f, phase), by in sorted(stages.items()):
    n = max(len(v) for v in by.values())
    said = ", ".join(f"{name} {statistics.median(by[name]):.1f} s" for name in order if name in by)
    print(f"stages per benchmark (medians over the {' and '.join(sorted(sources))}), {f} {phase}: {said} (over {n})")
PY
cat "$dest/status.txt"
