#!/usr/bin/env bash
# Starts the CUDA bundle here, on the build machine without a GPU, before any
# GPU time is spent on it (`make gpu-bundle` runs it last):
#     scripts/gpu-bundle-check.sh [device-bundle] [CACHE] [TORCH_VENV]
# The binary links libcuda.so.1, which only a GPU machine's driver provides:
# setup-cuda.sh's stub (every driver call answers "no device") stands in
# for it, and the torch wheel's CUDA and cuDNN libraries for the device's.
# One CPU benchmark must be measured, and the GPU ones skipped with the
# reason said; anything else (a missing library, a crash) fails the check.
set -euo pipefail
bundle=${1:-device-bundle}
cache=${2:-$HOME/.cache/cnn-bench}
venv=${3:-$cache/venv}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/driver"
ln -s "$cache/cuda-root/lib/libcuda.so" "$work/driver/libcuda.so.1"
gunzip -c "$bundle/cnn-bench-gpu.gz" > "$work/cnn-bench-gpu"
chmod +x "$work/cnn-bench-gpu"
site=$(echo "$venv"/lib/python3*/site-packages)
said=$(cd "$work" && LD_LIBRARY_PATH="$site/torch/lib:$site/nvidia/cu13/lib:$site/nvidia/cudnn/lib:$work/driver" \
  CRITERION_HOME="$work/criterion" CNN_BENCH_REPORT=none CNN_BENCH_MODELS=resnet18 \
  CNN_BENCH_SIZES=64 CNN_BENCH_BATCHES=1 CNN_BENCH_FRAMEWORKS=tch,candle \
  CNN_BENCH_RUNS=cpu/inference,gpu/inference CNN_BENCH_TARGET_SECONDS=0.2 \
  timeout 300 ./cnn-bench-gpu --bench --noplot 2>&1) || {
  echo "$said" | tail -n 20
  echo "gpu-bundle-check: the bundle did not run" >&2
  exit 1
}
if grep -q "2 benchmark(s) measured" <<< "$said" && grep -q "gpu is unavailable" <<< "$said"; then
  echo "gpu-bundle-check: the bundle starts; $(grep -o 'gpu is unavailable, its [0-9]* benchmark(s) are skipped' <<< "$said") (no GPU here); 2 CPU benchmarks measured"
else
  echo "$said" | grep '^cnn-bench' | tail -n 20
  echo "gpu-bundle-check: expected 2 CPU benchmarks measured and the GPU said unavailable" >&2
  exit 1
fi
