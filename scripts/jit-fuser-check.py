#!/usr/bin/env python3
"""Does TorchScript's TensorExpr fuser keep a traced DenseNet in its first
steps? tch-jit's densenet121 inference did not get through preparation on an
H200 (over 110 s; issue 12, item 4). The same libtorch from Python,
torchvision's densenet121 traced as tch-jit traces ours: the first steps'
times with the fuser on (PyTorch's default on CUDA) and off, each in a process
of its own under a time limit, so a hang is reported instead of waited out.
Upstream: pytorch/pytorch#33354 (a scripted densenet161's first query took
109 s). Needs no Rust: run it on the GPU machine's Python.

Usage: scripts/jit-fuser-check.py [--device cuda] [--model densenet121]
       [--size 224] [--batch 8] [--steps 4] [--limit 150]
"""
import argparse
import subprocess
import sys
import time


def child(a):
    import torch
    import torchvision

    fuser = a.fuser == "on"
    torch._C._jit_set_texpr_fuser_enabled(fuser)
    if a.device == "cuda":
        torch._C._jit_override_can_fuse_on_gpu(fuser)
        torch.backends.cudnn.benchmark = True
    dev = torch.device(a.device)
    model = getattr(torchvision.models, a.model)().eval().to(dev)
    model.requires_grad_(False)
    x = torch.randn(a.batch, 3, a.size, a.size, device=dev)
    sync = torch.cuda.synchronize if a.device == "cuda" else (lambda: None)
    with torch.no_grad():
        start = time.perf_counter()
        # A function, not the module: the weights become constants of the
        # graph, as in tch-jit's inference trace (models/src/tch.rs).
        traced = torch.jit.trace(lambda t: model(t), x)
        print(f"fuser {a.fuser}: traced in {time.perf_counter() - start:.2f} s", flush=True)
        for i in range(a.steps):
            start = time.perf_counter()
            traced(x)
            sync()
            print(f"fuser {a.fuser}: step {i + 1} took {time.perf_counter() - start:.3f} s", flush=True)
        graph = torch.jit.last_executed_optimized_graph().str()
        print(f"fuser {a.fuser}: {graph.count('prim::TensorExprGroup')} fusion group(s) in the optimized graph", flush=True)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--device", default="cuda")
    p.add_argument("--model", default="densenet121")
    p.add_argument("--size", type=int, default=224)
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--steps", type=int, default=4)
    p.add_argument("--limit", type=float, default=150, help="seconds per fuser setting")
    p.add_argument("--fuser", choices=["on", "off"], help=argparse.SUPPRESS)
    a = p.parse_args()
    if a.fuser:
        child(a)
        return
    for fuser in ("off", "on"):
        args = [sys.executable, __file__, "--fuser", fuser] + sys.argv[1:]
        try:
            subprocess.run(args, timeout=a.limit, check=True)
        except subprocess.TimeoutExpired:
            print(f"fuser {fuser}: still running after {a.limit:.0f} s, stopped", flush=True)
        except subprocess.CalledProcessError as e:
            print(f"fuser {fuser}: failed (exit status {e.returncode})", flush=True)


if __name__ == "__main__":
    main()
