# Set-up and entry points. Everything heavy (PyTorch's wheel, which carries
# libtorch) is installed once into $(CACHE), outside the work tree; two
# git-ignored symlinks point at it: .venv (the Python environment the parity
# tests use) and .libtorch (libtorch for tch's build and run time, read by
# .cargo/config.toml).

CACHE ?= $(HOME)/.cache/cnn-bench
VENV := $(CACHE)/venv
PYTHON3 ?= python3
TORCH := torch==2.11.0
TORCHVISION := torchvision==0.26.0
STAMP := $(VENV)/.installed-torch-2.11.0-torchvision-0.26.0

.PHONY: setup bench test ci
.DEFAULT_GOAL := bench

## Install libtorch (the torch wheel), torchvision and safetensors once; link them here.
setup: $(STAMP)
	@ln -sfn $(VENV) .venv
	@ln -sfn "$$($(VENV)/bin/python -c 'import torch, os; print(os.path.dirname(torch.__file__))')" .libtorch

$(STAMP):
	$(PYTHON3) -m venv $(VENV)
	$(VENV)/bin/pip install --disable-pip-version-check $(TORCH) $(TORCHVISION) safetensors numpy
	touch $@

## Run the benchmarks; pass criterion arguments in ARGS, e.g. make bench ARGS=resnet18/cpu/inference
bench: setup
	cargo bench --bench cnn -- $(ARGS)

## Run every test (parity with torchvision included).
test: setup
	cargo test --workspace --release

## What CI runs: formatting, lints, then the tests.
ci: setup
	cargo fmt --all --check
	cargo clippy --workspace --all-targets -- -D warnings
	$(MAKE) test
