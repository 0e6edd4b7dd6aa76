"""Writes torchvision's reference outputs that the parity tests compare with.

For every model of cnn-models, into OUT_DIR:
  <model>.safetensors      random weights (state_dict keys, float32), with batch
                           norm statistics and affine parameters randomised too so
                           that eval-mode normalisation is really exercised;
  <model>.expected.safetensors
                           `input` [2, 3, 64, 64] (80x80 for Inception v3,
                           whose minimum is 75), torchvision's eval-mode
                           `logits`, and for TRAIN_MODELS the train-mode
                           cross-entropy `loss` against `labels` for
                           `train_input` (dropout and stochastic depth off,
                           batch statistics on; Inception: main + 0.4 * aux
                           at 299x299);
and OUT_DIR/meta.json: per model, the parameter count and torchvision's `_ops`
(GMACs) with the crop size it was counted at.

Usage: python torchvision_reference.py OUT_DIR [MODEL ...]
"""

import json
import os
import sys

import torch
import torch.nn.functional as F
import torchvision
from safetensors.torch import save_file

NAMES = {
    "resnet18": "resnet18",
    "resnet34": "resnet34",
    "resnet50": "resnet50",
    "resnet101": "resnet101",
    "resnet152": "resnet152",
    "vgg16": "vgg16",
    "vgg19": "vgg19",
    "mobilenetv2": "mobilenet_v2",
    **{f"efficientnetb{i}": f"efficientnet_b{i}" for i in range(8)},
    "densenet121": "densenet121",
    "densenet169": "densenet169",
    "densenet201": "densenet201",
    "inception_v3": "inception_v3",
}
# Inception v3 needs at least 75x75 in eval mode.
SIZE_OF = {"inception_v3": 80}
TRAIN_MODELS = {"resnet18", "mobilenetv2", "inception_v3"}
# Inception v3's auxiliary classifier (train mode) needs 299x299.
TRAIN_SIZE_OF = {"inception_v3": 299}
BATCH, SIZE = 2, 64


def randomise_norms(model, gen):
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            c = m.num_features
            m.running_mean.copy_(torch.randn(c, generator=gen) * 0.1)
            m.running_var.copy_(torch.rand(c, generator=gen) + 0.5)
            m.weight.data.copy_(torch.rand(c, generator=gen) + 0.5)
            m.bias.data.copy_(torch.randn(c, generator=gen) * 0.1)


def main(out_dir, names):
    os.makedirs(out_dir, exist_ok=True)
    torch.set_num_threads(os.cpu_count())
    meta = {}
    for i, name in enumerate(names):
        tv = NAMES[name]
        torch.manual_seed(i)
        gen = torch.Generator().manual_seed(1000 + i)
        extra = {"init_weights": True} if tv == "inception_v3" else {}
        model = torchvision.models.get_model(tv, weights=None, **extra)
        with torch.no_grad():
            randomise_norms(model, gen)
        state = {k: v.contiguous() for k, v in model.state_dict().items() if not k.endswith("num_batches_tracked")}
        save_file(state, os.path.join(out_dir, f"{name}.safetensors"))

        size = SIZE_OF.get(name, SIZE)
        x = torch.randn(BATCH, 3, size, size, generator=gen)
        labels = torch.randint(0, 1000, (BATCH,), generator=gen)
        model.eval()
        with torch.no_grad():
            expected = {"input": x, "logits": model(x), "labels": labels.to(torch.int64)}
        if name in TRAIN_MODELS:
            model.train()
            for m in model.modules():
                if isinstance(m, torch.nn.Dropout) or type(m).__name__ == "StochasticDepth":
                    m.eval()
            t = TRAIN_SIZE_OF.get(name, size)
            xt = x.clone() if t == size else torch.randn(BATCH, 3, t, t, generator=gen)
            out = model(xt)
            if isinstance(out, tuple):  # Inception: main and auxiliary logits
                loss = F.cross_entropy(out[0], labels) + 0.4 * F.cross_entropy(out[1], labels)
            else:
                loss = F.cross_entropy(out, labels)
            expected["train_input"] = xt
            expected["loss"] = loss.detach().reshape(1)
        save_file(expected, os.path.join(out_dir, f"{name}.expected.safetensors"))

        weights = list(torchvision.models.get_model_weights(tv))[0]
        meta[name] = {
            "parameters": sum(p.numel() for p in model.parameters()),
            "gmacs": weights.meta["_ops"],
            "ops_size": weights.transforms().crop_size[0],
        }
        print(f"{name}: {meta[name]['parameters']} parameters", flush=True)
    with open(os.path.join(out_dir, "meta.json"), "w") as f:
        json.dump(meta, f, indent=1)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2:] or list(NAMES))
