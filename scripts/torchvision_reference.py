#!/usr/bin/python3
"""Exports torchvision classifiers with random weights to ONNX at an old and a new opset, with PyTorch's references.

    /usr/bin/python3 scripts/torchvision_reference.py --out DIR [--only NAME,...] [--opsets 9,17]

For each network NAME (mobilenet_v3_small, efficientnet_b0, densenet121, convnext_tiny, vit_small) writes
DIR/NAME_opsetK.onnx for each opset K (input "input" [2,3,H,W], output "logits"), DIR/NAME_x.npy (two images in [0,1]),
DIR/NAME_y.npy (int64 labels), DIR/NAME_logits.npy and DIR/NAME_grad.npy (d(sum of cross-entropies)/dx), and DIR/index.json
listing what was written and the opset each export used (and DIR/NAME.json as each network is done). Weights are seeded random; BN running statistics and ConvNeXt's
layer scales are drawn too, so that no part of the network is an identity that would hide a mistake. Examples where float32 is ill-conditioned
(a kink within rounding) are redrawn.
"""
import argparse
import copy
import json
import os

import sys

import numpy as np
import torch
import torch.nn.functional as F
import torchvision

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_robustness_checkpoint import well_conditioned  # noqa: E402

CLASSES = 10
BATCH = 2


def vit_small():
    from torchvision.models.vision_transformer import VisionTransformer
    return VisionTransformer(image_size=32, patch_size=8, num_layers=2, num_heads=2, hidden_dim=32, mlp_dim=64,
                             num_classes=CLASSES)


# the network and the smallest input side each accepts down to a 1x1 final feature map (stride 32)
NETS = {
    "mobilenet_v3_small": (lambda: torchvision.models.mobilenet_v3_small(num_classes=CLASSES), 32),
    "efficientnet_b0": (lambda: torchvision.models.efficientnet_b0(num_classes=CLASSES), 32),
    "densenet121": (lambda: torchvision.models.densenet121(num_classes=CLASSES), 32),
    "convnext_tiny": (lambda: torchvision.models.convnext_tiny(num_classes=CLASSES), 32),
    "vit_small": (vit_small, 32),
}


def randomize(net, g):
    for name, m in net.named_modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            n = m.num_features
            m.running_mean.copy_(0.1 * torch.randn(n, generator=g))
            m.running_var.copy_(0.5 + torch.rand(n, generator=g))
            m.weight.data.copy_(0.8 + 0.4 * torch.rand(n, generator=g))
            m.bias.data.copy_(0.1 * torch.randn(n, generator=g))
        if isinstance(m, torch.nn.LayerNorm) and m.elementwise_affine:
            m.weight.data.copy_(0.8 + 0.4 * torch.rand(m.weight.shape, generator=g))
            m.bias.data.copy_(0.1 * torch.randn(m.bias.shape, generator=g))
        for p in m.parameters(recurse=False):
            if not p.detach().any():  # zero-initialized parts (ViT's head and class token, biases) get values too
                p.data.copy_(0.02 * torch.randn(p.shape, generator=g))
        if hasattr(m, "layer_scale"):
            m.layer_scale.data.copy_(0.1 + 0.4 * torch.rand(m.layer_scale.shape, generator=g))


def export(net, x, path, opset):
    # attention in train mode (its dropout is 0) keeps nn.MultiheadAttention off its fused fast path, which has no ONNX form
    for m in net.modules():
        if isinstance(m, torch.nn.MultiheadAttention):
            m.train()
    torch.onnx.export(net, x, path, opset_version=opset, input_names=["input"], output_names=["logits"],
                      do_constant_folding=True, training=torch.onnx.TrainingMode.PRESERVE)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--only")
    ap.add_argument("--opsets", default="9,17")
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    os.makedirs(a.out, exist_ok=True)
    names = a.only.split(",") if a.only else list(NETS)
    opsets = [int(v) for v in a.opsets.split(",")]
    index = {}
    for i, name in enumerate(names):
        make, size = NETS[name]
        torch.manual_seed(100 + i)
        net = make()
        randomize(net, torch.Generator().manual_seed(200 + i))
        net.eval()
        for p in net.parameters():
            p.requires_grad_(False)
        g = torch.Generator().manual_seed(300 + i)
        x = torch.rand(BATCH, 3, size, size, generator=g)
        y = torch.randint(0, CLASSES, (BATCH,), generator=g)
        x = well_conditioned(net, copy.deepcopy(net).double(), x, y, g)
        xg = x.clone().requires_grad_(True)
        logits = net(xg)
        (grad,) = torch.autograd.grad(F.cross_entropy(logits, y, reduction="sum"), xg)
        for k, v in {"x": x, "y": y, "logits": logits.detach(), "grad": grad}.items():
            np.save(os.path.join(a.out, f"{name}_{k}.npy"), v.numpy())
        done = []
        for opset in opsets:
            # an exporter that cannot write opset 9 for a net gets the next one, recorded in index.json
            for k in range(opset, opset + 3):
                try:
                    export(net, x, os.path.join(a.out, f"{name}_opset{opset}.onnx"), k)
                    done.append({"asked": opset, "opset": k})
                    break
                except Exception as e:  # noqa: BLE001 - the exporter's errors are of many kinds
                    err = f"{type(e).__name__}: {str(e).splitlines()[0][:200]}"
            else:
                raise SystemExit(f"error: {name}: torch.onnx.export fails at opsets {opset}..{opset + 2}: {err}")
        index[name] = {"size": size, "exports": done}
        # NAME.json marks NAME complete, so that a caller can start on it while later networks export
        with open(os.path.join(a.out, f"{name}.json"), "w") as f:
            json.dump(index[name], f)
    with open(os.path.join(a.out, "index.json"), "w") as f:
        json.dump(index, f, indent=1)


if __name__ == "__main__":
    main()
