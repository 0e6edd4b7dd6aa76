#!/usr/bin/env bash
# One slice of the default GPU grid (7 models x 3 sizes x 4 batches x train
# and inference x the default frameworks that run on a GPU (tch, tch-jit,
# candle, pytorch, burn (its own binary); tch-vision on the 4 models it has;
# candle-transformers' inference on its 3 resnets) = 972 benchmarks, GPU memory recorded
# with each), on a lent GPU machine (H100/H200, driver 580, PyTorch
# 2.11.0+cu130 in /opt/torch/.venv, no Rust, no network). Build on the build
# machine with `make gpu-bundle`, carry device-bundle/, and run from the
# repository root:
#     scripts/gpu-grid.sh                 (results under $OUT, or /tmp/cnn-bench-gpu-grid)
#
# It brings in the grid's state (STATE, default
# target-reports/gpu-grid/criterion.tar.gz, committed; STATE=/none: an empty
# grid; a STATE that is not there, such as a released machine's /tmp, falls
# back to the committed state, said, so a slice never starts the grid
# again by mistake), runs the bench binary
# in passes of frameworks, cheapest first (PASSES, below), each with
# --max-time set to what is left of MAX_TIME (420 s from the script's start:
# no benchmark is started that is predicted to end later, and one running at
# the deadline is stopped unrecorded), which implies --resume (what is
# recorded with the same settings is skipped; never-recorded cells first), and
# leaves three files in $OUT: the criterion folder packed as criterion.tar.gz,
# the log (slice-<time>.log) and the report (report.tar.gz), and burn's
# compiled kernels (cubecl-environment.tar.gz, below). Back on the build
# machine, `scripts/gpu-grid-publish.sh <that archive>` merges it into the
# state (and keeps the kernels beside it) and regenerates target-reports/gpu-grid/.
# The same command finishes the grid, slice by slice, on any machine.
#
# Every grid key can be overridden (CNN_BENCH_*), so the whole cycle can be
# tried on a CPU:  BIN=target/release/cnn-bench-run CNN_BENCH_RUNS=cpu/inference
# CNN_BENCH_MODELS=resnet18 STATE=/none MAX_TIME=30 scripts/gpu-grid.sh
set -u
bundle=${BUNDLE:-device-bundle}
out=${OUT:-/tmp/cnn-bench-gpu-grid}
committed=${COMMITTED_STATE:-target-reports/gpu-grid/criterion.tar.gz}
state=${STATE:-$committed}
max_time=${MAX_TIME:-420}
mkdir -p "$out"
started=$(date +%s)

py=python3
[ -x /opt/torch/.venv/bin/python ] && py=/opt/torch/.venv/bin/python
if torch=$("$py" -c 'import torch, os; print(os.path.dirname(torch.__file__))' 2>/dev/null); then
  site=$(dirname "$torch")
  export LD_LIBRARY_PATH="$torch/lib:$site/nvidia/cu13/lib:$site/nvidia/cudnn/lib:${LD_LIBRARY_PATH:-}"
fi
# The bench binary $1 of a bundle, unpacked (make gpu-bundle compresses it:
# gzip, or xz where gzip leaves it too large to carry), or nothing.
unpack() {
  local to
  to=/tmp/$(basename "$1")
  if [ -x "$1" ]; then
    echo "$1"
  elif [ -f "$1.gz" ]; then
    gunzip -c "$1.gz" > "$to" && chmod +x "$to" && echo "$to"
  elif [ -f "$1.xz" ]; then
    "$py" -c 'import lzma, shutil, sys; shutil.copyfileobj(lzma.open(sys.argv[1]), open(sys.argv[2], "wb"))' \
      "$1.xz" "$to" && chmod +x "$to" && echo "$to"
  fi
}
# Two builds (docs/gpu.md): burn's CUDA backend cannot share one with
# candle's, and the two binaries are more than the device tool carries in
# one call, so each has a bundle: device-bundle (every other framework) and
# device-bundle-burn. burn's pass runs with the second, and is skipped,
# said in the log, where it is not carried (the first cannot run burn on a
# GPU: a run of nothing it can run is an error, exit 2).
burn_bundle=${BURN_BUNDLE:-device-bundle-burn}
if [ -n "${BIN:-}" ]; then
  [ -x "$BIN" ] || { echo "gpu-grid: no bench binary at $BIN" >&2; exit 2; }
  bin=$BIN burn_bin=$BIN
else
  bin=$(unpack "$bundle/cnn-bench-gpu") burn_bin=$(unpack "$burn_bundle/cnn-bench-gpu-burn")
fi
[ -n "$bin$burn_bin" ] || {
  echo "gpu-grid: no bench binary in $bundle or $burn_bundle (make gpu-bundle and carry them, or BIN=...)" >&2
  exit 2
}
# A bench binary that does not start here (a library missing: CUDA's
# driver, libtorch), or one older than this script, which would refuse a
# variable it sets (exit 2 in every pass, the slice lost): said at once.
for b in $bin $burn_bin; do
  help=$("$b" --bench --help 2>&1) || {
    echo "gpu-grid: $b does not start: $(grep -m 1 -i error <<< "$help" || head -n 1 <<< "$help")" >&2
    exit 2
  }
  for var in CNN_BENCH_TIME_LIMIT_BY_FRAMEWORK CNN_BENCH_NEW_ONLY; do
    grep -q "$var" <<< "$help" || {
      echo "gpu-grid: $b predates $var (bundle commit $(cat "$bundle/COMMIT" 2> /dev/null || echo unknown)): make gpu-bundle again" >&2
      exit 2
    }
  done
done
command -v nvidia-smi > /dev/null && nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader

# The grid's state: the criterion folder of every slice so far.
work=$(mktemp -d)
mkdir -p "$work/criterion"
# What the slice started from: said here, and the first lines of its log
# (published with the state).
began=()
if [ "$state" != /none ] && [ ! -f "$state" ] && [ -f "$committed" ]; then
  began+=("gpu-grid: warning: no state at $state (a released machine's /tmp?): the committed state $committed instead; what was measured since it is measured again")
  echo "${began[-1]}" >&2
  state=$committed
fi
if [ "$state" != /none ] && [ -f "$state" ]; then
  tar xzf "$state" -C "$work"
  began+=("gpu-grid: state $state: $(find "$work/criterion" -mindepth 4 -maxdepth 4 -name cnn-bench.json | wc -l) benchmark(s) recorded so far")
else
  began+=("gpu-grid: no state ($state); starting the grid")
fi
echo "${began[-1]}"

export CRITERION_HOME=$work/criterion
# The grid's settings (runs, criterion's time, budget, time limits), shared
# with gpu-grid-publish.sh's prediction of what is left.
. "$(dirname "$0")/gpu-grid-settings.sh" || { echo "gpu-grid: no $(dirname "$0")/gpu-grid-settings.sh beside this script" >&2; exit 2; }
# Frameworks, in passes, cheapest per cell first (docs/gpu.md, "Order of
# the next slices"): each pass resumes the grid for its frameworks with the
# time left, so a slice finishes tch's and tch-jit's cells before it starts
# candle's, and the reference columns last. A pass marked `:new` measures
# only never-recorded cells (--new-only), so the acceptance's frameworks
# (tch, tch-jit, candle) fill every empty cell before their passes without
# it measure the cells of older step code again; tch-jit's come before
# candle's empty cells, as 37 of them were measured with TorchScript's
# TensorExpr fuser on (before 182f08f), a GPU configuration no longer run,
# while tch's older ones ran the GPU configuration this build runs.
# CNN_BENCH_FRAMEWORKS makes one pass of those; PASSES sets them (space
# between passes, comma within).
passes=${PASSES:-"tch,tch-jit:new tch-jit candle:new tch candle pytorch,tch-vision,candle-transformers burn"}
[ -n "${CNN_BENCH_FRAMEWORKS:-}" ] && passes=$CNN_BENCH_FRAMEWORKS
# candle's kernels are PTX, compiled by the driver when a process first
# loads them; its cache must hold them all, or every child compiles again.
export CUDA_CACHE_MAXSIZE=${CUDA_CACHE_MAXSIZE:-4294967296}

# burn's CUDA backend (cubecl) compiles its kernels and autotunes them in
# each process, 4-100 s and more before a cell's first step, and keeps both
# in its environment, target/environment/<name>.db under the repository root
# (cubecl.toml; docs/gpu.md, "burn on the GPU"). A lent machine starts
# bare, so the environment travels with the grid's state: brought in from
# CUBECL_STATE (committed beside criterion.tar.gz) without overwriting
# what this machine already has, and packed into
# $out/cubecl-environment.tar.gz after the passes. One environment per GPU
# model (CUBECL_ENVIRONMENT), as autotune results belong to the GPU that
# timed them.
cubecl_dir=${CUBECL_DIR:-target/environment}
cubecl_state=${CUBECL_STATE:-target-reports/gpu-grid/cubecl-environment.tar.gz}
if [ -z "${CUBECL_ENVIRONMENT:-}" ] && command -v nvidia-smi > /dev/null; then
  gpu_name=$(nvidia-smi --query-gpu=name --format=csv,noheader | head -n 1 | tr -c 'A-Za-z0-9._\n-' '_')
  [ -n "$gpu_name" ] && export CUBECL_ENVIRONMENT=$gpu_name
fi
if [ -f "$cubecl_state" ]; then
  mkdir -p "$cubecl_dir"
  tar xzf "$cubecl_state" -C "$cubecl_dir" --skip-old-files &&
    echo "gpu-grid: burn's kernels and autotune results: $cubecl_state brought into $cubecl_dir ($(ls "$cubecl_dir" | tr '\n' ' '))"
fi

deadline=$(( started + max_time ))
printf '%s\n' "${began[@]}" > "$out/slice.log"
status=0
for pass in $passes; do
  left=$(( deadline - $(date +%s) ))
  [ "$left" -ge 10 ] || break
  frameworks=${pass%:new} new_only=
  [ "$frameworks" != "$pass" ] && new_only=--new-only
  echo "gpu-grid: pass $frameworks${new_only:+ (never-recorded cells only)}, $left s left" >> "$out/slice.log"
  run=$bin from=$bundle
  [ "$frameworks" = burn ] && run=$burn_bin from=$burn_bundle
  if [ -z "$run" ]; then
    echo "gpu-grid: pass $frameworks skipped: no bench binary in $from (make gpu-bundle; carry it)" >> "$out/slice.log"
    continue
  fi
  # The bundle's commit (the tree it runs in may be another) and grid.
  [ -z "${BIN:-}" ] && [ -f "$from/COMMIT" ] && export CNN_BENCH_GIT_COMMIT=$(cat "$from/COMMIT")
  config=$from/cnn-bench.toml
  [ -f "$config" ] || config=cnn-bench.toml
  CNN_BENCH_CONFIG=$config CNN_BENCH_FRAMEWORKS=$frameworks \
    "$run" --bench --noplot --max-time "$left" $new_only \
    ${SHARD:+--shard "$SHARD"} >> "$out/slice.log" 2>&1
  status=$?
  [ "$status" -eq 0 ] || break
done
grep -E '^gpu-grid: pass|^cnn-bench: (resume|new only|deadline|[0-9]+ benchmark)|^  - |^cnn-bench \[' "$out/slice.log" | tail -n 40
echo "gpu-grid: bench binary exit status $status"

# Three files, as the device tool brings back at most 8 from $OUT: the
# state (criterion's HTML reports are not needed to resume or to report),
# the log, and the report of everything recorded so far, written by the run;
# a fourth where cubecl's environment is there (above).
tar czf "$out/criterion.tar.gz" -C "$work" --exclude=report --exclude='cnn-bench-run*.lock' criterion
mv "$out/slice.log" "$out/slice-$(date -u +%Y%m%dT%H%M%SZ).log"
[ -d "$work/cnn-bench-report" ] && tar czf "$out/report.tar.gz" -C "$work" cnn-bench-report
if [ -d "$cubecl_dir" ] && [ -n "$(ls -A "$cubecl_dir")" ]; then
  tar czf "$out/cubecl-environment.tar.gz" -C "$cubecl_dir" . &&
    echo "gpu-grid: burn's kernels and autotune results packed into $out/cubecl-environment.tar.gz ($(du -h "$out/cubecl-environment.tar.gz" | cut -f1))"
fi
echo "gpu-grid: $(find "$work/criterion" -mindepth 4 -maxdepth 4 -name cnn-bench.json | wc -l) benchmark(s) recorded in all;" \
  "this slice took $(( $(date +%s) - started )) s; state packed into $out/criterion.tar.gz ($(du -h "$out/criterion.tar.gz" | cut -f1))"
rm -rf "$work"
exit $status
