#!/usr/bin/env bash
# One device-tool call's work on a lent GPU machine, in one command and
# one archive back (the tool returns at most 8 files from $OUT):
#   1. REPEATS (default 0: issue 15's were made on 2026-12-04, in
#      target-reports/h200-interpreter-repeats-51a6ee6/; the grid's own
#      record of these cells is one more run)
#      independent runs of issue 15's GPU cells, every cell in a fresh
#      process each time (STATE=/none): tch and tch-vision
#      on resnet18 and mobilenetv2, candle and candle-transformers on
#      resnet18's inference, at 224, batches 1 and 32;
#   2. a slice of the GPU grid (scripts/gpu-grid.sh) with the time left;
#   3. everything packed into $OUT/session.tgz: rep<i>-tch/, rep<i>-candle/
#      (each gpu-grid.sh's three files) and grid/.
# Run from the repository root with the bundle carried (`run`, carry
# ["device-bundle"], timeout_s 590):
#     scripts/gpu-session.sh                 (SECONDS_BUDGET=560 from its start)
# Back on the build machine: scripts/gpu-session-publish.sh <files_at>/session.tgz
# (the grid's new state, and the repeats' ratios per cell).
#
# With REPEATS=0 the whole budget goes to the grid. The
# grid's new state is also kept on the machine, in KEEP (default
# /tmp/cnn-bench-gpu-state.tar.gz), so that a second call while the machine
# is still warm continues from it without waiting for it to be published:
#     STATE=/tmp/cnn-bench-gpu-state.tar.gz REPEATS=0 SECONDS_BUDGET=<s> scripts/gpu-session.sh
# (publish the first call's session.tgz, then the second's: its state holds
# both slices). burn's cells are in the other bundle (the two together are
# more than one call carries): carry ["device-bundle-burn"] and add
# PASSES=burn to that second call's command. The same
# cycle runs on a CPU, to try it without a GPU: DEVICE=cpu names the
# repeats' groups (REPEAT_SIZES, REPEAT_BATCHES make them smaller), and the
# grid slice takes the caller's CNN_BENCH_* as gpu-grid.sh does, e.g.
#   DEVICE=cpu REPEATS=1 REPEAT_SIZES=64 REPEAT_BATCHES=1,2 \
#   BIN=target/release/cnn-bench-run CNN_BENCH_RUNS=cpu/inference \
#   CNN_BENCH_MODELS=resnet18 STATE=/none SECONDS_BUDGET=200 scripts/gpu-session.sh
set -u
out=${OUT:-/tmp/cnn-bench-gpu-session}
repeats=${REPEATS:-0}
device=${DEVICE:-gpu}
sizes=${REPEAT_SIZES:-224}
batches=${REPEAT_BATCHES:-1,32}
end=$((SECONDS + ${SECONDS_BUDGET:-560}))
# Packing takes a few seconds; a slice shorter than this is not started.
reserve=15
here=$(dirname "$0")
work=$(mktemp -d)
mkdir -p "$out"

# What is left of the budget for one run, at most $1 s.
left() { local l=$((end - SECONDS - reserve)); echo $((l < $1 ? l : $1)); }

for i in $(seq 1 "$repeats"); do
  [ "$(left 1000)" -ge 30 ] || { echo "gpu-session: no time for repeat $i"; break; }
  echo "gpu-session: repeat $i of $repeats, $(left 1000) s left"
  CNN_BENCH_SIZES=$sizes CNN_BENCH_BATCHES=$batches CNN_BENCH_MODELS=resnet18,mobilenetv2 \
    CNN_BENCH_RUNS=$device/train,$device/inference PASSES="tch,tch-vision" CNN_BENCH_FRAMEWORKS= \
    STATE=/none OUT=$work/rep$i-tch MAX_TIME=$(left 150) "$here/gpu-grid.sh" | tail -n 2
  CNN_BENCH_SIZES=$sizes CNN_BENCH_BATCHES=$batches CNN_BENCH_MODELS=resnet18 \
    CNN_BENCH_RUNS=$device/inference PASSES="candle,candle-transformers" CNN_BENCH_FRAMEWORKS= \
    STATE=/none OUT=$work/rep$i-candle MAX_TIME=$(left 60) "$here/gpu-grid.sh" | tail -n 2
done

status=0
if [ "$(left 100000)" -ge 30 ]; then
  echo "gpu-session: grid slice, $(left 100000) s"
  OUT=$work/grid MAX_TIME=$(left 100000) "$here/gpu-grid.sh" | tail -n 5
  status=${PIPESTATUS[0]}
  keep=${KEEP:-/tmp/cnn-bench-gpu-state.tar.gz}
  if [ -f "$work/grid/criterion.tar.gz" ] && cp "$work/grid/criterion.tar.gz" "$keep.new"; then
    mv "$keep.new" "$keep" && echo "gpu-session: the grid's state kept in $keep for a next call"
  fi
else
  echo "gpu-session: no time left for a grid slice"
fi
tar czf "$out/session.tgz" -C "$work" .
echo "gpu-session: $out/session.tgz ($(du -h "$out/session.tgz" | cut -f1)), $SECONDS s in all"
rm -rf "$work"
exit "$status"
