#!/usr/bin/env bash
# Installs the LLVM that burn's CUDA backend is built against (the
# `burn-cuda` feature), into $CACHE (idempotent), without reaching GitHub.
#
# burn 0.22's CUDA compiler (cubecl-cuda 0.11 -> cubecl-llvm) links LLVM 23.1
# statically; its build dependency tracel-llvm-bundler 23.1.0-4 downloads a
# prebuilt LLVM from GitHub's release pages unless its install directory,
# $XDG_DATA_HOME/tracel/tracel-llvm-23.1.0-4, already holds one (a sentinel
# file says so). This puts there, instead, PyPI's mlc-llvm-static 23.1.1 (the
# same release line: LLVM's C API is stable within 23.1.x) with its
# extra-targets add-on, which carries NVPTX: static libraries, headers and an
# `llvm-config` compatible frontend, all the bundler and cubecl-llvm use.
#   $CACHE/llvm-23.1.1        the two wheels, unpacked
#   $CACHE/xdg/tracel/tracel-llvm-23.1.0-4
#                             a link to its static/ SDK, with the sentinel;
#                             the build sets XDG_DATA_HOME=$CACHE/xdg
# Usage: scripts/setup-llvm.sh CACHE PYTHON_VENV
set -euo pipefail
cache=$1 venv=$2
version=23.1.1.post0
dir=$cache/llvm-23.1.1
stamp=$dir/.installed-mlc-llvm-static-$version
if [ ! -f "$stamp" ]; then
  rm -rf "$dir.part" && mkdir -p "$dir.part"
  "$venv/bin/pip" download --disable-pip-version-check --no-deps -d "$dir.part" \
    "mlc-llvm-static==$version" "mlc-llvm-static-extra-targets==$version"
  (cd "$dir.part" && "$venv/bin/python" -c '
import glob, os, zipfile
for wheel in sorted(glob.glob("*.whl")):
    with zipfile.ZipFile(wheel) as z:
        for info in z.infolist():
            path = z.extract(info)
            mode = info.external_attr >> 16
            if mode:
                os.chmod(path, mode & 0o777)
    os.remove(wheel)')
  touch "$dir.part/.installed-mlc-llvm-static-$version"
  rm -rf "$dir" && mv "$dir.part" "$dir"
fi
sdk=$dir/mlc_llvm_static/static
"$sdk/bin/llvm-config" --targets-built | grep -qw NVPTX \
  || { echo "setup-llvm: $sdk has no NVPTX backend" >&2; exit 1; }
mkdir -p "$cache/xdg/tracel"
ln -sfn "$sdk" "$cache/xdg/tracel/tracel-llvm-23.1.0-4"
# Made once: the bundler's build script reruns when the sentinel changes,
# and with it everything built on LLVM.
[ -f "$sdk/.tracel-llvm-installed" ] || touch "$sdk/.tracel-llvm-installed"
echo "setup-llvm: LLVM $("$sdk/bin/llvm-config" --version) (mlc-llvm-static $version) for burn-cuda"
