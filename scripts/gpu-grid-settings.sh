# The GPU grid's settings, sourced by scripts/gpu-grid.sh (the slice runs
# with them) and scripts/gpu-grid-publish.sh (what is left, and how long it
# takes, is predicted with the same), so the two cannot drift apart. Each
# is a grid key's CNN_BENCH_* variable, kept where the caller set it.
#
# The default grid's GPU half; tighter budgets than a desk run's, so that
# every cell ends within a slice: 1 s of criterion per benchmark, at most
# 10 s of measurement (slower steps: an estimate from as many steps as fit),
# 120 s in all (then: failed, timed out; burn's: 300 s, below).
export CNN_BENCH_RUNS=${CNN_BENCH_RUNS:-gpu/train,gpu/inference}
export CNN_BENCH_TARGET_SECONDS=${CNN_BENCH_TARGET_SECONDS:-1}
export CNN_BENCH_BUDGET=${CNN_BENCH_BUDGET:-10}
export CNN_BENCH_TIME_LIMIT=${CNN_BENCH_TIME_LIMIT:-120}
# burn's benchmarks have a longer limit: a process's first step compiles and
# autotunes burn's kernels, 45-100 s and more on an H200 for a model's first
# cell (docs/gpu.md, "burn on the GPU"); its earlier failures by the 120 s
# limit are then measured again (a longer limit makes them not final).
export CNN_BENCH_TIME_LIMIT_BY_FRAMEWORK=${CNN_BENCH_TIME_LIMIT_BY_FRAMEWORK:-burn=${BURN_TIME_LIMIT:-300}}
# The CPU threads of every framework: one per core by default, and every
# record of the grid so far was made on a 16-core machine (the H100s and
# H200s here have 16 each). Pinned, so that a slice on a machine of another
# core count goes on with the grid: a resumed run compares the threads and
# would measure every recorded cell again. (They serve CPU kernels; a GPU
# step's kernels run on the GPU.) Not where the cycle is tried on CPU
# benchmarks (CNN_BENCH_RUNS=cpu/...): one per core there.
case $CNN_BENCH_RUNS in
  *cpu*) ;;
  *) export CNN_BENCH_THREADS=${CNN_BENCH_THREADS:-16} ;;
esac
