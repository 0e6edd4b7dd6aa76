#!/usr/bin/env bash
# Starts the CUDA bundles' binaries here, on the build machine without a
# GPU, before any GPU time is spent on them (`make gpu-bundle*` runs it last):
#     scripts/gpu-bundle-check.sh [CACHE] [TORCH_VENV] [cuda|burn-cuda|both]
# (the build's features: which bundle; both by default. BUNDLE, BURN_BUNDLE:
# the bundles, device-bundle and device-bundle-burn).
# They need libcuda.so.1, which only a GPU machine's driver provides:
# setup-cuda.sh's stub (every driver call answers "no device") stands in
# for it, and the torch wheel's CUDA and cuDNN libraries for the device's.
# Each framework's CPU benchmark must be measured, and the GPU ones skipped
# with the reason said; anything else (a missing library, a crash) fails
# the check.
set -euo pipefail
cache=${1:-$HOME/.cache/cnn-bench}
venv=${2:-$cache/venv}
which=${3:-both}
case $which in
  cuda | burn-cuda | both) ;;
  *) echo "gpu-bundle-check: which bundle: cuda, burn-cuda or both, not '$which'" >&2; exit 2 ;;
esac
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/driver"
ln -s "$cache/cuda-root/lib/libcuda.so" "$work/driver/libcuda.so.1"
# burn's build loads the driver by name at run time (cudarc's dynamic loading).
ln -s "$cache/cuda-root/lib/libcuda.so" "$work/driver/libcuda.so"
site=$(echo "$venv"/lib/python3*/site-packages)

# Starts the compressed binary $1 on frameworks $2 (comma-separated, each
# with one CPU benchmark to measure).
check() {
  local bin frameworks=$2 n said
  bin=$(basename "${1%.*}")
  n=$(tr ',' '\n' <<< "$frameworks" | wc -l)
  case $1 in
    *.gz) gunzip -c "$1" > "$work/$bin" ;;
    *.xz) xz -dc "$1" > "$work/$bin" ;;
  esac
  chmod +x "$work/$bin"
  said=$(cd "$work" && LD_LIBRARY_PATH="$site/torch/lib:$site/nvidia/cu13/lib:$site/nvidia/cudnn/lib:$work/driver" \
    CRITERION_HOME="$work/criterion-$bin" CNN_BENCH_REPORT=none CNN_BENCH_MODELS=resnet18 \
    CNN_BENCH_SIZES=64 CNN_BENCH_BATCHES=1 CNN_BENCH_FRAMEWORKS=$frameworks \
    CNN_BENCH_RUNS=cpu/inference,gpu/inference CNN_BENCH_TARGET_SECONDS=0.2 \
    timeout 300 "./$bin" --bench --noplot 2>&1) || {
    echo "$said" | tail -n 20
    echo "gpu-bundle-check: $bin did not run" >&2
    exit 1
  }
  if grep -q "$n benchmark(s) measured" <<< "$said" && grep -q "gpu: [0-9]* benchmark(s) skipped" <<< "$said"; then
    echo "gpu-bundle-check: $bin starts; $(grep -o 'gpu: [0-9]* benchmark(s) skipped' <<< "$said") (no GPU here); $n CPU benchmark(s) measured ($frameworks)"
  else
    echo "$said" | grep '^cnn-bench' | tail -n 20
    echo "gpu-bundle-check: $bin: expected $n CPU benchmark(s) measured and the GPU said unavailable" >&2
    exit 1
  fi
}
[ "$which" = burn-cuda ] || check "${BUNDLE:-device-bundle}/cnn-bench-gpu.gz" tch,candle
[ "$which" = cuda ] || check "${BURN_BUNDLE:-device-bundle-burn}/cnn-bench-gpu-burn.xz" burn
