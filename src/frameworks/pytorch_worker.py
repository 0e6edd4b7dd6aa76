"""cnn-bench's `pytorch` framework: torchvision's model run by PyTorch from
Python, as its users run it, driven by the Rust adapter (pytorch.rs) over
stdin/stdout, or over a connection to `--zygote SOCKET` (which forks a
worker per connection, torch imported once), one JSON object per line each
way.

Its first line says PyTorch's version, how many CUDA devices it sees and its
process id (or that torch cannot be imported). Requests carry the thread count to use.
Requests: {"op": "prepare", ...} builds a step; {"op": "run", "n": N} runs
N steps and answers the seconds they took, timed here (device synchronised)
so that the pipe costs nothing; {"op": "logits"} answers an inference step's
logits; {"op": "release"} frees the step; {"op": "matmul", "device", "n"}
times one n x n product. An error
answers {"error": "..."}.
"""

import json
import os
import struct
import sys
import time

try:
    import torch
    import torch.nn.functional as F
    import torchvision
except Exception as e:  # said once by the Rust side, as the framework's absence
    print(json.dumps({"error": f"cannot import torch and torchvision: {e}"}), flush=True)
    sys.exit(1)

# Inception v3's auxiliary loss weight, as in the Rust adapters (AUX_WEIGHT).
AUX_WEIGHT = 0.4


def torchvision_name(model):
    """cnn-bench's model name -> torchvision's (mobilenetv2 -> mobilenet_v2)."""
    if model == "mobilenetv2":
        return "mobilenet_v2"
    if model.startswith("efficientnetb"):
        return "efficientnet_b" + model[len("efficientnetb"):]
    return model


def read_safetensors(path):
    """The f32/i64 tensors of a safetensors file (its format: an 8-byte
    header length, a JSON header, the data), without the safetensors package."""
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    body = memoryview(data)[8 + n:]
    dtypes = {"F32": torch.float32, "I64": torch.int64}
    out = {}
    for name, t in header.items():
        if name == "__metadata__":
            continue
        lo, hi = t["data_offsets"]
        flat = torch.frombuffer(bytearray(body[lo:hi]), dtype=dtypes[t["dtype"]])
        out[name] = flat.reshape(t["shape"])
    return out


def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


class Step:
    def __init__(self, req):
        self.device = torch.device(req["device"])
        self.train = req["phase"] == "train"
        if self.device.type == "cuda":
            torch.backends.cudnn.benchmark = True
        name = torchvision_name(req["model"])
        extra = {"init_weights": False, "aux_logits": True} if name == "inception_v3" else {}
        # Built on the meta device (no random initialisation: seconds for the
        # large models), then given the benchmark's weights.
        with torch.device("meta"):
            model = torchvision.models.get_model(name, weights=None, **extra)
        state = read_safetensors(req["weights"])
        for k in model.state_dict():
            if k.endswith("num_batches_tracked") and k not in state:
                state[k] = torch.zeros((), dtype=torch.long)
        missing, unexpected = model.load_state_dict(state, strict=False, assign=True)
        if missing or unexpected:
            raise ValueError(f"weights do not fit torchvision's {name}: missing {missing[:5]}, unexpected {unexpected[:5]}")
        self.model = model.to(self.device)
        # On the CPU, weights and images channels-last, as PyTorch's
        # performance guide tells its CPU users (the tch adapter does the
        # same); the GPU keeps the default layout until measured there.
        self.layout = torch.contiguous_format
        if self.device.type == "cpu":
            self.layout = torch.channels_last
            self.model = self.model.to(memory_format=self.layout)
        self.model.train(self.train)
        if not req["dropout"]:  # the graph has none: as Graph::without_dropout
            for m in self.model.modules():
                if isinstance(m, torch.nn.Dropout) or type(m).__name__ == "StochasticDepth":
                    m.eval()
        batches = read_safetensors(req["batches"])
        # Host tensors, moved to the device each step, as the Rust adapters do.
        self.batches = [
            (batches[f"images{i}"].contiguous(memory_format=self.layout), batches[f"labels{i}"])
            for i in range(req["count"])
        ]
        self.cursor = 0
        # PyTorch's default Adam (on CUDA its multi-tensor `foreach` kernels).
        self.opt = torch.optim.Adam(self.model.parameters(), lr=1e-3) if self.train else None

    def next(self):
        b = self.batches[self.cursor]
        self.cursor = (self.cursor + 1) % len(self.batches)
        return b

    def step(self):
        x, y = self.next()
        x = x.to(self.device)
        if not self.train:
            with torch.inference_mode():
                out = self.model(x)
            sync(self.device)
            return out, None
        y = y.to(self.device)
        out = self.model(x)
        if isinstance(out, tuple):  # Inception's main and auxiliary logits
            loss = F.cross_entropy(out[0], y) + AUX_WEIGHT * F.cross_entropy(out[1], y)
        else:
            loss = F.cross_entropy(out, y)
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        self.opt.step()
        sync(self.device)
        return None, loss

    def run(self, n):
        loss = None
        start = time.perf_counter()
        for _ in range(n):
            _, loss = self.step()
        seconds = time.perf_counter() - start
        return {"seconds": seconds, "loss": None if loss is None else loss.item()}

    def logits(self):
        if self.train:
            raise ValueError("a train step has no eval logits")
        out, _ = self.step()
        return {"logits": out.float().cpu().flatten().tolist()}


def matmul(req):
    device = torch.device(req["device"])
    n = req["n"]
    a = torch.randn(n, n, device=device)
    sync(device)
    start = time.perf_counter()
    c = a @ a
    sync(device)
    seconds = time.perf_counter() - start
    del c
    return {"seconds": seconds}


def serve(rfile, wfile):
    """Answers requests from rfile on wfile until rfile ends."""

    def say(reply):
        wfile.write(json.dumps(reply) + "\n")
        wfile.flush()

    say({
        "version": f"PyTorch {torch.__version__}, torchvision {torchvision.__version__}",
        "gpus": torch.cuda.device_count(),
        "pid": os.getpid(),
    })
    step = None
    for line in rfile:
        req = json.loads(line)
        try:
            op = req["op"]
            if "threads" in req and req["threads"] != torch.get_num_threads():
                torch.set_num_threads(req["threads"])
            if op == "prepare":
                step = None
                step = Step(req)
                reply = {}
            elif op == "run":
                reply = step.run(req["n"])
            elif op == "logits":
                reply = step.logits()
            elif op == "release":
                step = None
                reply = {}
            elif op == "matmul":
                reply = matmul(req)
            else:
                raise ValueError(f"unknown request {op!r}")
        except Exception as e:  # answered, so the Rust side records it
            reply = {"error": f"{type(e).__name__}: {e}"}
        say(reply)


def zygote(path):
    """Forks a worker for each connection to the Unix socket at `path`,
    torch already imported (CUDA is not initialised here: each worker
    starts its own). Dies with the process that started it."""
    import ctypes
    import signal
    import socket

    try:
        ctypes.CDLL(None).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except Exception:
        pass
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # workers reap themselves
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(16)
    print(json.dumps({"ready": os.getpid()}), flush=True)
    os.dup2(os.open(os.devnull, os.O_WRONLY), 1)  # nobody reads stdout now
    while True:
        conn, _ = listener.accept()
        if os.fork() == 0:
            listener.close()
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            code = 0
            try:
                f = conn.makefile("rw")
                serve(f, f)
            except Exception:
                import traceback

                traceback.print_exc()
                code = 1
            os._exit(code)
        conn.close()


if __name__ == "__main__":
    if sys.argv[1:2] == ["--zygote"]:
        zygote(sys.argv[2])
    else:
        serve(sys.stdin, sys.stdout)
