#!/usr/bin/env bash
# Publishes what scripts/gpu-session.sh brought back in session.tgz:
#     scripts/gpu-session-publish.sh /path/to/session.tgz
# - the grid slice (grid/): the grid's state and report, through
#   scripts/gpu-grid-publish.sh (merged into the state), and its log in target-reports/gpu-grid/logs/
#   (DEST names another folder);
# - the repeats (rep<i>-tch/, rep<i>-candle/), when there are any:
#   $REPEATS_DEST (default target-reports/<gpu>-interpreter-repeats-<commit>/)
#   with each run's report.md and report.csv, the logs, the grid's rows for
#   the same cells (grid/report.csv, as they stand), and repeats.md,
#   scripts/repeats.py's tables (tch / tch-vision, candle /
#   candle-transformers) over the runs.
# Needs the release CLI (cargo build --release), as gpu-grid-publish.sh.
set -euo pipefail
if [ $# -ne 1 ] || [ ! -f "$1" ]; then
  echo "usage: scripts/gpu-session-publish.sh SESSION.tgz (the session.tgz a device call brought back)${1:+; $1 is not a file}" >&2
  exit 2
fi
archive=$1
here=$(dirname "$0")
grid=${DEST:-target-reports/gpu-grid}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
tar xzf "$archive" -C "$work"

if [ -f "$work/grid/criterion.tar.gz" ]; then
  # The log first: status.txt's stage times read it.
  mkdir -p "$grid/logs"
  cp "$work"/grid/slice-*.log "$grid/logs/"
  DEST=$grid "$here/gpu-grid-publish.sh" "$work/grid/criterion.tar.gz"
else
  echo "gpu-session-publish: no grid slice in $archive"
fi

reps=$(cd "$work" && ls -d rep*-* 2>/dev/null | sort -V || true)
[ -n "$reps" ] || { echo "gpu-session-publish: no repeats in $archive"; exit 0; }
csvs=()
for r in $reps; do
  [ -f "$work/$r/report.tar.gz" ] || { echo "gpu-session-publish: $r has no report, left out"; continue; }
  tar xzf "$work/$r/report.tar.gz" -C "$work/$r"
  csvs+=("$r")
done
[ ${#csvs[@]} -gt 0 ] || { echo "gpu-session-publish: no repeat has a report"; exit 0; }
first=$(ls "$work"/rep*/cnn-bench-report/report.csv | head -n 1)
# The folder's name: the GPU's model (h200) or cpu, and the bundle's commit.
name=$(python3 - "$first" <<'PY'
import csv, sys
r = next(csv.DictReader(open(sys.argv[1])))
words = r["gpu"].split(",")[0].split()
gpu = words[-1].lower() if words and r["device"] != "cpu" else "cpu"
print(f"{gpu}-interpreter-repeats-{r['git_commit'][:7]}")
PY
)
dest=${REPEATS_DEST:-target-reports/$name}
mkdir -p "$dest/logs"
for r in "${csvs[@]}"; do
  mkdir -p "$dest/$r"
  cp "$work/$r/cnn-bench-report/report.md" "$work/$r/cnn-bench-report/report.csv" "$dest/$r/"
  cp "$work/$r"/slice-*.log "$dest/logs/$r.log"
done
# The GPU grid's own record of these cells (each in a process of its own,
# as in the repeats) is one more run: its rows for them, copied as they
# stand now (a later slice measures the grid's cells again).
grid_csv=$dest/grid/report.csv
if [ -f "$grid/report.csv" ]; then
  mkdir -p "$dest/grid"
  python3 - "$grid/report.csv" "$grid_csv" "$dest"/rep*/report.csv <<'PY'
import csv, sys
cell = lambda r: tuple(r[k] for k in ("model", "device", "phase", "framework", "size", "batch"))
repeated = {cell(r) for path in sys.argv[3:] for r in csv.DictReader(open(path))}
rows = csv.DictReader(open(sys.argv[1]))
out = csv.DictWriter(open(sys.argv[2], "w", newline=""), rows.fieldnames)
out.writeheader()
out.writerows(r for r in rows if cell(r) in repeated)
PY
fi
{
  echo "# Our interpreter against the crates' own models, in independent runs"
  echo
  echo "Every cell in a fresh process in each run: the GPU grid's own (run 1,"
  echo "its rows for these cells when published, from $grid/report.csv)"
  echo "and scripts/gpu-session.sh's repeats; scripts/repeats.py over the"
  echo "runs' report.csv files."
  for pair in "tch-vision tch -tch" "candle-transformers candle -candle"; do
    set -- $pair
    files=$(ls "$dest"/rep*"$3"/report.csv 2>/dev/null | sort -V || true)
    [ -n "$files" ] || continue
    [ -f "$grid_csv" ] && files="$grid_csv $files"
    echo
    python3 "$here/repeats.py" --reference "$1" --framework "$2" $files
  done
} > "$dest/repeats.md"
cat "$dest/repeats.md"
echo "gpu-session-publish: repeats in $dest"
