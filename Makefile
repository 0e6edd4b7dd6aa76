# Set-up and entry points. Everything heavy (PyTorch's wheel, which carries
# libtorch) is installed once into $(CACHE), outside the work tree; three
# git-ignored symlinks point at it: .venv (the Python environment the parity
# tests use), .libtorch (libtorch for tch's build and run time) and
# .libonnxruntime.so (the library the `ort` framework loads), the last two
# read through .cargo/config.toml.

CACHE ?= $(HOME)/.cache/cnn-bench
VENV := $(CACHE)/venv
PYTHON3 ?= python3
TORCH := torch==2.11.0
TORCHVISION := torchvision==0.26.0
# onnx: the checker the ONNX export is tested with; onnxruntime: the shared
# library the `ort` framework loads (the version ort 2.0.0-rc.15 is built for).
ONNX := onnx==1.23.2 onnxruntime==1.31.1
STAMP := $(VENV)/.installed-torch-2.11.0-torchvision-0.26.0-onnx-1.23.2-onnxruntime-1.31.1
# TensorFlow's C library, from PyPI's tensorflow-cpu wheel (its
# libtensorflow_cc.so.2 exports the C API): only the two libraries are kept,
# with the name the `tensorflow` crate loads (libtensorflow.so).
TENSORFLOW := tensorflow-cpu==2.21.0
TF_DIR := $(CACHE)/tensorflow-cpu-2.21.0

.PHONY: setup bench test ci setup-cuda setup-llvm build-cuda build-cuda-tch-candle build-cuda-burn gpu-bundle gpu-bundle-tch-candle gpu-bundle-burn
.DEFAULT_GOAL := bench

## Install libtorch (the torch wheel), torchvision, onnx, ONNX Runtime and TensorFlow's library once; link them here.
setup: $(STAMP) $(TF_DIR)/libtensorflow.so
	@ln -sfn $(TF_DIR) .libtensorflow
	@ln -sfn $(VENV) .venv
	@ln -sfn "$$($(VENV)/bin/python -c 'import torch, os; print(os.path.dirname(torch.__file__))')" .libtorch
	@ln -sfn "$$($(VENV)/bin/python -c 'import onnxruntime, os, glob; print(glob.glob(os.path.join(os.path.dirname(onnxruntime.__file__), "capi", "libonnxruntime.so.*"))[0])')" .libonnxruntime.so

$(STAMP):
	$(PYTHON3) -m venv $(VENV)
	$(VENV)/bin/pip install --disable-pip-version-check $(TORCH) $(TORCHVISION) safetensors numpy $(ONNX)
	touch $@

$(TF_DIR)/libtensorflow.so: $(STAMP)
	rm -rf $(TF_DIR).part && mkdir -p $(TF_DIR).part
	$(VENV)/bin/pip download --disable-pip-version-check --no-deps -d $(TF_DIR).part $(TENSORFLOW)
	cd $(TF_DIR).part && $(VENV)/bin/python -c 'import glob, zipfile; z = zipfile.ZipFile(glob.glob("*.whl")[0]); [open(n, "wb").write(z.read("tensorflow/" + n)) for n in ("libtensorflow_cc.so.2", "libtensorflow_framework.so.2")]'
	rm $(TF_DIR).part/*.whl
	ln -s libtensorflow_cc.so.2 $(TF_DIR).part/libtensorflow.so
	rm -rf $(TF_DIR) && mv $(TF_DIR).part $(TF_DIR)

## Run the benchmarks; pass criterion arguments in ARGS, e.g. make bench ARGS=resnet18/cpu/inference
bench: setup
	cargo bench --bench cnn -- $(ARGS)

## Run every test (parity with torchvision included).
test: setup
	cargo test --workspace --release --no-fail-fast

## What CI runs: formatting, lints, then the tests.
ci: setup
	cargo fmt --all --check
	cargo clippy --release --workspace --all-targets -- -D warnings
	RUSTDOCFLAGS="-D warnings" cargo doc --release -p cnn-bench --no-deps
	$(MAKE) test

## --- GPU (the `cuda` feature); see docs/gpu.md ---------------------------

# H100/H200 are compute capability 9.0.
CUDA_COMPUTE_CAP ?= 90
CUDA_BIN = $(firstword $(wildcard $(CACHE)/cuda-venv/lib/python3*/site-packages/nvidia/cu13/bin))
CUDA_ENV = PATH="$(CUDA_BIN):$$PATH" NVCC="$(CUDA_BIN)/nvcc" CUDA_ROOT="$(CACHE)/cuda-root" CUDA_COMPUTE_CAP=$(CUDA_COMPUTE_CAP)

## Install the CUDA 13.0 build toolchain (nvcc wheels, libcuda link stub).
setup-cuda: setup
	scripts/setup-cuda.sh $(CACHE) $(VENV)

# burn's CUDA compiler links LLVM 23.1; tracel-llvm-bundler finds it under
# XDG_DATA_HOME instead of downloading it from GitHub (scripts/setup-llvm.sh).
LLVM_ENV = XDG_DATA_HOME="$(CACHE)/xdg"

## Install LLVM 23.1 (static libraries, PyPI's mlc-llvm-static) for burn's CUDA backend.
setup-llvm: setup
	scripts/setup-llvm.sh $(CACHE) $(VENV)

## Build the CUDA benchmarks: tch and candle (`cuda`), and burn in a build
## of its own (`burn-cuda`: one build cannot link cudarc both ways, see
## Cargo.toml); about 10 + 12 minutes on 2 cores.
build-cuda: build-cuda-tch-candle build-cuda-burn

build-cuda-tch-candle: setup-cuda
	$(CUDA_ENV) cargo bench --features cuda --no-run

build-cuda-burn: setup-cuda setup-llvm
	$(CUDA_ENV) $(LLVM_ENV) cargo bench --features burn-cuda --no-run

# The bench executable of a build with the features $(1).
bench_exe = "$$($(CUDA_ENV) $(LLVM_ENV) cargo bench --features $(1) --no-run --message-format=json 2>/dev/null | sed -n 's/.*"executable":"\([^"]*\/deps\/cnn-[0-9a-f]*\)".*/\1/p' | tail -n 1)"

# Fills bundle $(1) with the build of features $(2), stripped and packed by
# $(3) (the device tool carries at most 64 MiB a call), as $(4), with the
# scripts, the grid and the commit, and starts it here (the driver stubbed)
# to find a broken bundle before GPU time is spent.
define make_bundle
	rm -rf $(1) && mkdir -p $(1)
	cp $(call bench_exe,$(2)) $(1)/$(4)
	strip $(1)/$(4)
	$(3) $(1)/$(4)
	cp cnn-bench.toml scripts/gpu-check.sh scripts/gpu-grid.sh scripts/gpu-grid-settings.sh scripts/gpu-session.sh $(1)/
	git describe --always --dirty --abbrev=12 > $(1)/COMMIT
	ls -la $(1)
	scripts/gpu-bundle-check.sh $(CACHE) $(VENV) $(2)
endef

## Both CUDA bundles (the two together are more than one device call carries).
gpu-bundle: gpu-bundle-tch-candle gpu-bundle-burn

## device-bundle/: tch, tch-jit, candle (and pytorch, tch-vision,
## candle-transformers) on the GPU, gzip; the GPU grid issue's cells need
## only this one (about half of gpu-bundle's build).
gpu-bundle-tch-candle: build-cuda-tch-candle
	$(call make_bundle,device-bundle,cuda,gzip -9,cnn-bench-gpu)

## device-bundle-burn/: burn on CUDA (206 MB stripped, LLVM 60 of it; xz,
## as gzip leaves 64).
gpu-bundle-burn: build-cuda-burn
	$(call make_bundle,device-bundle-burn,burn-cuda,xz -9e -T2,cnn-bench-gpu-burn)
