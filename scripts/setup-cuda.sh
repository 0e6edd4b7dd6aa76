#!/usr/bin/env bash
# Installs what the `cuda` feature needs to *build* (not to run) on a machine
# without a GPU, into $CACHE (idempotent):
#   $CACHE/cuda-venv  nvcc and headers of CUDA 13.0 from PyPI wheels; 13.0 to
#                     match the GPU machines' driver (580), which cannot load
#                     PTX from a newer toolkit;
#   $CACHE/cuda-root/lib
#                     what the linker needs for candle's dynamically linked
#                     CUDA libraries: a stub libcuda.so (soname libcuda.so.1;
#                     the driver provides the real one at run time) with every
#                     driver function cudarc declares, each answering
#                     CUDA_ERROR_NO_DEVICE (100) should it ever be loaded, and unversioned links to
#                     the CUDA and cuDNN libraries of the torch wheel.
# Usage: scripts/setup-cuda.sh CACHE TORCH_VENV
set -euo pipefail
cache=$1 torch_venv=$2
venv=$cache/cuda-venv
root=$cache/cuda-root
stamp=$venv/.installed-cuda-13.0
if [ ! -f "$stamp" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --disable-pip-version-check \
    nvidia-cuda-nvcc==13.0.88 nvidia-cuda-runtime==13.0.96 nvidia-cuda-crt==13.0.88 \
    nvidia-cuda-cccl==13.0.85 nvidia-nvvm==13.0.88
  touch "$stamp"
fi

cargo fetch --quiet
sys=$(find "${CARGO_HOME:-$HOME/.cargo}/registry/src" -path '*/cudarc-0.19.*/src/driver/sys/mod.rs' | sort | tail -n 1)
[ -n "$sys" ] || { echo "setup-cuda: cudarc's sources not found after cargo fetch" >&2; exit 1; }
mkdir -p "$root/lib"
grep -o 'fn cu[A-Za-z0-9_]*' "$sys" | sort -u | sed "s/^fn \(.*\)/int \1(void) { return 100; }/" > "$root/libcuda-stub.c"
gcc -shared -fPIC -Wl,-soname,libcuda.so.1 -o "$root/lib/libcuda.so" "$root/libcuda-stub.c"

lib=$("$torch_venv/bin/python" -c 'import nvidia, os; print(os.path.join(nvidia.__path__[0], "cu13", "lib"))')
for name in cublas cublasLt curand nvrtc cudart; do
  target=$(ls "$lib"/lib$name.so.* | grep -v alt | sort | head -n 1)
  ln -sfn "$target" "$root/lib/lib$name.so"
done
cudnn=$("$torch_venv/bin/python" -c 'import nvidia.cudnn, os; print(os.path.join(nvidia.cudnn.__path__[0], "lib"))')
ln -sfn "$(ls "$cudnn"/libcudnn.so.* | sort | head -n 1)" "$root/lib/libcudnn.so"
echo "setup-cuda: nvcc $("$venv/lib/python3"*/site-packages/nvidia/cu13/bin/nvcc --version | tail -n 2 | head -n 1)"
