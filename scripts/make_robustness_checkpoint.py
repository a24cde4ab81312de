#!/usr/bin/python3
"""Writes a checkpoint in the robustness library's format with random weights, for tests and the bench.

    /usr/bin/python3 scripts/make_robustness_checkpoint.py --arch resnet18 --dataset cifar --out CKPT.pt [--seed S]
        [--classes N] [--x X.npy --logits L.npy]

The dict holds 'model' (module.model.*, module.normalizer.new_mean/new_std and the module.attacker.* duplicates), 'optimizer',
'schedule' and 'epoch', as robustness.train saves it. ImageNet ResNets and VGG16 come from torchvision (the same layout,
written independently of scripts/robustness_archs.py); the CIFAR ones from robustness_archs. BN running statistics are
random so that folding them is tested. With --x, writes PyTorch's logits for those [0,1] images (normalizer applied; with --y/--grad the
cross-entropy input gradient too; examples where
float32 is ill-conditioned are redrawn and --x rewritten).
"""
import argparse
import copy
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from robustness_archs import family  # noqa: E402

NORM = {"cifar": ([0.4914, 0.4822, 0.4465], [0.2023, 0.1994, 0.2010]), "imagenet": ([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])}


def build(arch, dataset, classes):
    if dataset == "imagenet" and arch in ("resnet18", "resnet50", "vgg16", "vgg16_bn"):
        import torchvision
        return getattr(torchvision.models, arch)(num_classes=classes)
    return family(arch, dataset)[1](classes)


def randomize(net, g):
    for m in net.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            n = m.num_features
            m.running_mean.copy_(0.1 * torch.randn(n, generator=g))
            m.running_var.copy_(0.5 + torch.rand(n, generator=g))
            m.weight.data.copy_(0.8 + 0.4 * torch.rand(n, generator=g))
            m.bias.data.copy_(0.1 * torch.randn(n, generator=g))
            m.num_batches_tracked.fill_(100)


def ce_grad(f, x, y):
    x = x.clone().requires_grad_(True)
    return torch.autograd.grad(torch.nn.functional.cross_entropy(f(x), y, reduction="sum"), x)[0]


def well_conditioned(f32, f64, x, y, g, tries=8):
    """Redraws examples whose float32 input gradient differs from float64's by > 1e-5 relative, or whose float64
    gradient jumps by > 1e-4 relative when the input moves by a nudge of norm 1e-6·√3072: a ReLU or max within rounding of its kink there makes
    any float32 reference arbitrary (seen: 4e-4 between PyTorch's own f32 and f64), and kernels that round differently
    (oneDNN's Winograd: ~1e-6 relative per layer) flip such a unit where PyTorch's direct convolution does not."""
    x = x.clone()
    for _ in range(tries):
        a, b = ce_grad(f32, x, y), ce_grad(f64, x.double(), y).float()
        # the nudge's norm per example is that of 1e-6 per pixel of a 3×32×32 image, at any size
        scale = 1e-6 * (3072 / x[0].numel()) ** 0.5
        nudged = x.double() + scale * torch.randn(x.shape, generator=g, dtype=torch.float64)
        c = ce_grad(f64, nudged, y).float()
        bad = [
            i
            for i in range(x.shape[0])
            if (a[i] - b[i]).norm() > 1e-5 * b[i].norm() or (c[i] - b[i]).norm() > 1e-4 * b[i].norm()
        ]
        if not bad:
            return x
        for i in bad:
            x[i] = torch.rand(x[i].shape, generator=g)
    raise SystemExit(f"error: no well-conditioned inputs after {tries} draws")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--arch", required=True)
    ap.add_argument("--dataset", required=True, choices=sorted(NORM))
    ap.add_argument("--out", required=True)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--classes", type=int)
    ap.add_argument("--epoch", type=int, default=7)
    ap.add_argument("--x")
    ap.add_argument("--logits")
    ap.add_argument("--y", help="int64 labels: with --grad, writes d(sum of cross-entropies)/dx")
    ap.add_argument("--grad")
    a = ap.parse_args()
    torch.manual_seed(a.seed)
    classes = a.classes or (1000 if a.dataset == "imagenet" else 10)
    net = build(a.arch, a.dataset, classes)
    randomize(net, torch.Generator().manual_seed(a.seed + 1))
    net.eval()
    mean, std = (torch.tensor(v).view(3, 1, 1) for v in NORM[a.dataset])
    sd = {}
    for who in ("module.", "module.attacker."):
        sd.update({f"{who}model.{k}": v.clone() for k, v in net.state_dict().items()})
        sd[f"{who}normalizer.new_mean"], sd[f"{who}normalizer.new_std"] = mean.clone(), std.clone()
    opt = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9)
    torch.save({"model": sd, "optimizer": opt.state_dict(), "schedule": None, "epoch": a.epoch}, a.out)
    if a.x:
        x = torch.from_numpy(np.load(a.x)).float()
        for p in net.parameters():
            p.requires_grad_(False)
        y = torch.from_numpy(np.load(a.y)).long() if a.y else None
        f = lambda m, v: m((v - mean.to(v.dtype)) / std.to(v.dtype))  # noqa: E731
        if y is not None:
            net64 = copy.deepcopy(net).double()
            x = well_conditioned(lambda v: f(net, v), lambda v: f(net64, v), x, y, torch.Generator().manual_seed(a.seed + 2))
            np.save(a.x, x.numpy())
        xg = x.clone().requires_grad_(True)
        logits = f(net, xg)
        np.save(a.logits, logits.detach().numpy())
        if a.grad:
            (g,) = torch.autograd.grad(torch.nn.functional.cross_entropy(logits, y, reduction="sum"), xg)
            np.save(a.grad, g.numpy())

if __name__ == "__main__":
    main()
