#!/usr/bin/env bash
# Times the default CPU grid (cpu/inference of every default model, every
# framework, every size and batch) one group at a time, so that it can be
# measured across several sittings: each group's wall time is appended to
# $OUT as `model seconds benchmarks failed finished commit` (the commit the
# group started on); the grid's time is the sum over its groups. MODELS=...
# re-times chosen groups only.
# Each group's output goes to target/time-cpu-grid/<model>.log, criterion's
# results to target/time-cpu-grid/criterion (`cnn-bench report` reads them
# with CRITERION_HOME set there).
set -euo pipefail
cd "$(dirname "$0")/.."
export CRITERION_HOME=${CRITERION_HOME:-$PWD/target/time-cpu-grid/criterion}
out=${OUT:-target-reports/cpu-grid-timing.tsv}
grid_models=$(cargo run --release -q -- grid | sed -n 's/^models: *//p' | tr -d ',')
models=${MODELS:-$grid_models}
for m in $models; do # a typo would otherwise time an empty group
  [[ " $grid_models " == *" $m "* ]] ||
    { echo "time-cpu-grid: unknown model '$m'; the grid's models: $grid_models" >&2; exit 2; }
done
mkdir -p target/time-cpu-grid
cargo bench --bench cnn --no-run 2>/dev/null
[ -f "$out" ] || printf 'model\tseconds\tbenchmarks\tfailed\tfinished\tcommit\n' > "$out"
for m in $models; do
  log=target/time-cpu-grid/$m.log
  commit=$(git rev-parse --short HEAD) # the code that runs, not what HEAD is by the end
  start=$(date +%s)
  CNN_BENCH_RUNS=cpu/inference cargo bench --bench cnn -- "^$m/cpu/inference/" > "$log" 2>&1
  end=$(date +%s)
  printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$m" $((end - start)) \
    "$(grep -c 'time:' "$log" || true)" "$(grep -c ': FAILED' "$log" || true)" \
    "$(date -u +%FT%TZ)" "$commit" >> "$out"
done
