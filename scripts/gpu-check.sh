#!/usr/bin/env bash
# The whole GPU path in one call, on a lent GPU machine (H100/H200, driver
# 580, PyTorch 2.11.0+cu130 in /opt/torch/.venv, no Rust, no network).
# Prepare on the build machine with `make gpu-bundle`, then run from the
# repository root with device-bundle/ carried:
#     scripts/gpu-check.sh            (results under $OUT, or /tmp/cnn-bench-gpu-check)
# It runs resnet18 and mobilenetv2 at 224x224, batches 1 and 32, train and
# inference, with every GPU framework (tch, tch-jit, candle), one process per
# configuration, memory recorded; then densenet121 (224) and inception_v3
# (299, its aux classifier in train mode) at batch 8; then criterion
# measuring GPU memory instead of time; then one configuration sized to run
# out of GPU memory, which must be recorded as failed while the run goes on;
# and prints a table last. `cnn-bench report --criterion $OUT/criterion`
# on the build machine turns the timed sections into the study's GPU tables.
set -u
bundle=${BUNDLE:-device-bundle}
out=${OUT:-/tmp/cnn-bench-gpu-check}
mkdir -p "$out"
py=python3
[ -x /opt/torch/.venv/bin/python ] && py=/opt/torch/.venv/bin/python
torch=$("$py" -c 'import torch, os; print(os.path.dirname(torch.__file__))')
site=$(dirname "$torch")
export LD_LIBRARY_PATH="$torch/lib:$site/nvidia/cu13/lib:$site/nvidia/cudnn/lib:${LD_LIBRARY_PATH:-}"
bin=$bundle/cnn-bench-gpu
if [ ! -x "$bin" ] && [ -f "$bin.gz" ]; then # make gpu-bundle gzips it
  gunzip -c "$bin.gz" > /tmp/cnn-bench-gpu && chmod +x /tmp/cnn-bench-gpu && bin=/tmp/cnn-bench-gpu
fi
# The commit the bundle was built from (the tree it runs in may be another).
[ -f "$bundle/COMMIT" ] && export CNN_BENCH_GIT_COMMIT=$(cat "$bundle/COMMIT")
# The GPU frameworks (ort and tract are CPU builds); two sections narrow it.
export CNN_BENCH_FRAMEWORKS=tch,tch-jit,candle

echo "== machine"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
echo "== libraries the binary loads (libtorch_cuda must be among them)"
ldd "$bin" | grep -E 'torch_cuda|libcudnn|libcublas\.|libcuda\.' | sed 's/ (0x.*//'

export CRITERION_HOME=$out/criterion CNN_BENCH_CONFIG=$bundle/cnn-bench.toml CNN_BENCH_TARGET_SECONDS=${TARGET_SECONDS:-1}
# A guard kept from before the bench binary had a time limit of its own
# (CNN_BENCH_TIME_LIMIT): each call below gets BENCH_TIMEOUT seconds (exit
# status 124 when it runs out), so the rest runs.
limit=${BENCH_TIMEOUT:-900}
[ -n "${SHORT:-}" ] && limit=${BENCH_TIMEOUT:-150}
bench() { # bench LOG [criterion args]: runs the bench binary, keeps its log
  local log=$1; shift
  timeout "$limit" "$bin" --bench --noplot "$@" > "$out/$log" 2>&1
  echo "exit status $? ($log)"
  grep -E '^cnn-bench: [0-9]+ benchmark|^  - ' "$out/$log"
}

# SHORT=1 keeps resnet18 at batch 32 only in the first section.
models=resnet18,mobilenetv2 batches=1,32
[ -n "${SHORT:-}" ] && models=resnet18 batches=32
echo "== time and memory: $models x 224 x batch $batches x train, inference x tch, tch-jit, candle"
CNN_BENCH_MODELS=$models CNN_BENCH_SIZES=224 CNN_BENCH_BATCHES=$batches \
  CNN_BENCH_RUNS=gpu/train,gpu/inference bench time.log

echo "== concatenating networks: densenet121 at 224, inception_v3 at 299, batch 8"
CNN_BENCH_MODELS=densenet121 CNN_BENCH_SIZES=224 CNN_BENCH_BATCHES=8 \
  CNN_BENCH_RUNS=gpu/train,gpu/inference bench densenet.log
CNN_BENCH_MODELS=inception_v3 CNN_BENCH_SIZES=299 CNN_BENCH_BATCHES=8 \
  CNN_BENCH_RUNS=gpu/train,gpu/inference bench inception.log

echo "== criterion measuring GPU memory (CNN_BENCH_MEASURE=memory), saved as baseline 'memory'"
CNN_BENCH_MEASURE=memory CNN_BENCH_FRAMEWORKS=tch,candle CNN_BENCH_MODELS=resnet18 \
  CNN_BENCH_SIZES=224 CNN_BENCH_BATCHES=32 CNN_BENCH_RUNS=gpu/inference CRITERION_HOME=$out/criterion-memory bench memory.log --save-baseline memory

echo "== out of memory on purpose: vgg16 train at 320x320, batch 1024"
CNN_BENCH_FRAMEWORKS=tch,candle CNN_BENCH_MODELS=vgg16 CNN_BENCH_SIZES=320 CNN_BENCH_BATCHES=1024 \
  CNN_BENCH_RUNS=gpu/train bench oom.log

"$py" scripts/gpu_table.py "$out/criterion" "$out/criterion-memory"
# One archive for the build machine's `cnn-bench report` (the device tool
# brings back at most 8 files, none as deep as criterion's).
tar czf "$out/criterion.tgz" -C "$out" criterion criterion-memory
