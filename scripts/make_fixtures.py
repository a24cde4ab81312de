#!/usr/bin/python3
"""Generate PyTorch reference fixtures for robustlens tests.

Run with Debian's Python (torch 1.13, torchvision 0.14, onnx 1.12):

    /usr/bin/python3 scripts/make_fixtures.py                      # committed fixtures
    /usr/bin/python3 scripts/make_fixtures.py --only resnet18_tv --out test/fixtures/.gen

For every model NAME this writes DIR/NAME/ containing:

  model.onnx     torch.onnx.export (eval mode, opset 17, input "input",
                 output "logits", dynamic batch axis, constant folding on)
  x.npy          float32 [B,C,H,W] clean inputs, uniform in [0,1]
  labels.npy     int64   [B] labels in [0, num_classes)
  target.npy     float32 [B,C,H,W] target images, uniform in [0,1]
  logits.npy     float32 [B,K] model(x)
  grad_ce.npy    float32 [B,C,H,W] d/dx sum_i CE(model(x)_i, labels_i)
  grad_rep.npy   float32 [B,C,H,W] d/dx sum_i ||R(x_i)-R(t_i)||_2 / ||R(t_i)||_2,
                 R = input of the final nn.Linear, R(t) detached
  pgd_l2.npy     float32 [B,C,H,W] final L2 PGD iterate (eps 0.5, step 0.1, 10 steps)
  pgd_linf.npy   float32 [B,C,H,W] final Linf PGD iterate (eps 8/255, step 2/255, 10 steps)
  meta.json      description, shapes, torch version, PGD settings
"""

import argparse
import json
import os
import sys
import time
import warnings

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

BATCH = 4
OPSET = 17

PGD_L2 = {"norm": "l2", "eps": 0.5, "step_size": 0.1, "steps": 10,
          "random_start": False, "loss": "ce_sum", "keep": "last",
          "grad_normalize_eps": 1e-12, "clamp": [0.0, 1.0]}
PGD_LINF = {"norm": "linf", "eps": 8.0 / 255.0, "step_size": 2.0 / 255.0, "steps": 10,
            "random_start": False, "loss": "ce_sum", "keep": "last",
            "clamp": [0.0, 1.0]}

CIFAR_MEAN = (0.4914, 0.4822, 0.4465)
CIFAR_STD = (0.2023, 0.1994, 0.2010)


# --------------------------------------------------------------------------
# Models
# --------------------------------------------------------------------------

class Bottleneck(nn.Module):
    expansion = 4

    def __init__(self, in_planes, planes, stride=1):
        super().__init__()
        out = planes * self.expansion
        self.conv1 = nn.Conv2d(in_planes, planes, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride=stride, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, out, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(out)
        self.shortcut = nn.Sequential()
        if stride != 1 or in_planes != out:
            self.shortcut = nn.Sequential(
                nn.Conv2d(in_planes, out, 1, stride=stride, bias=False),
                nn.BatchNorm2d(out),
            )

    def forward(self, x):
        h = F.relu(self.bn1(self.conv1(x)))
        h = F.relu(self.bn2(self.conv2(h)))
        h = self.bn3(self.conv3(h))
        return F.relu(h + self.shortcut(x))


class CifarBottleneckResNet(nn.Module):
    """CIFAR-style bottleneck ResNet with input normalization inside the model."""

    def __init__(self, num_blocks=(1, 1, 1), width=16, num_classes=10):
        super().__init__()
        self.register_buffer("mean", torch.tensor(CIFAR_MEAN, dtype=torch.float32).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(CIFAR_STD, dtype=torch.float32).view(1, 3, 1, 1))
        self.conv1 = nn.Conv2d(3, width, 3, stride=1, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.in_planes = width
        layers = []
        for i, n in enumerate(num_blocks):
            planes = width * (2 ** i)
            stride = 1 if i == 0 else 2
            blocks = []
            for j in range(n):
                blocks.append(Bottleneck(self.in_planes, planes, stride if j == 0 else 1))
                self.in_planes = planes * Bottleneck.expansion
            layers.append(nn.Sequential(*blocks))
        self.layers = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.linear = nn.Linear(self.in_planes, num_classes)

    def forward(self, x):
        x = (x - self.mean) / self.std
        h = F.relu(self.bn1(self.conv1(x)))
        h = self.layers(h)
        h = torch.flatten(self.avgpool(h), 1)
        return self.linear(h)


class SmallNet(nn.Module):
    """Tiny net on 1x28x28 exercising pooling variants, concat and a dynamic Pad."""

    def __init__(self, num_classes=10):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 8, 3, padding=1)
        self.bn1 = nn.BatchNorm2d(8)                                   # fused into conv1 on export
        self.act1 = nn.LeakyReLU(0.1)
        self.pool1 = nn.MaxPool2d(3, stride=2, padding=1)              # overlapping: 28 -> 14
        self.avg_branch = nn.AvgPool2d(3, stride=1, padding=1, count_include_pad=False)
        self.conv_branch = nn.Conv2d(8, 8, 3, padding=1)
        self.bn_cat = nn.BatchNorm2d(16)                               # standalone BN (not after conv)
        self.pool2 = nn.AvgPool2d(3, stride=2, padding=1, count_include_pad=True)  # 16 -> 8
        self.conv2 = nn.Conv2d(16, 16, 3, padding=1)
        self.gap = nn.AdaptiveAvgPool2d(1)
        self.fc1 = nn.Linear(16, 32)
        self.fc2 = nn.Linear(32, num_classes)

    def forward(self, x):
        h = self.act1(self.bn1(self.conv1(x)))
        h = self.pool1(h)
        h = torch.cat([self.avg_branch(h), self.conv_branch(h)], dim=1)
        h = self.bn_cat(h)
        # dynamic pad: p is computed from the runtime shape (14 -> p = 2)
        p = (4 - h.shape[-1] % 4) % 4
        h = F.pad(h, (0, p, 0, p))
        h = self.pool2(h)
        h = F.relu(self.conv2(h))
        h = torch.flatten(self.gap(h), 1)
        h = F.relu(self.fc1(h))
        return self.fc2(h)


def build_resnet18_tv():
    import torchvision
    return torchvision.models.resnet18(num_classes=10)


MODELS = {
    "resnet18_tv": {
        "build": build_resnet18_tv,
        "input_shape": [3, 32, 32],
        "description": "torchvision.models.resnet18(num_classes=10), random weights, "
                       "3x32x32 input (ImageNet stem: 7x7/2 conv + maxpool), no input normalization.",
    },
    "cifar_bottleneck": {
        "build": lambda: CifarBottleneckResNet(num_blocks=(1, 1, 1), width=16, num_classes=10),
        "input_shape": [3, 32, 32],
        "description": "CIFAR-style bottleneck ResNet (3x3 stem, no maxpool, Bottleneck x[1,1,1], "
                       "width 16, expansion 4, 1x1 conv+BN shortcuts, GAP, Linear 256->10) with "
                       "(x-mean)/std CIFAR normalization inside the model. Random weights.",
    },
    "smallnet": {
        "build": lambda: SmallNet(num_classes=10),
        "input_shape": [1, 28, 28],
        "description": "Tiny net on 1x28x28: Conv-BN-LeakyReLU(0.1), MaxPool(3,2,1), "
                       "cat[AvgPool(3,1,1,count_include_pad=False), Conv], BN, dynamic F.pad(0,p,0,p) "
                       "with p from runtime shape, AvgPool(3,2,1,count_include_pad=True), Conv-ReLU, "
                       "GAP, Linear-ReLU, Linear(32->10). Random weights.",
    },
}


# --------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------

def final_linear(model):
    last = None
    for m in model.modules():
        if isinstance(m, nn.Linear):
            last = m
    assert last is not None
    return last


def randomize_bn(model, gen):
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            c = m.num_features
            with torch.no_grad():
                m.running_mean.copy_(torch.randn(c, generator=gen) * 0.1)
                m.running_var.copy_(torch.rand(c, generator=gen) + 0.5)
                m.weight.copy_(torch.rand(c, generator=gen) + 0.5)
                m.bias.copy_(torch.randn(c, generator=gen) * 0.1)


class RepCapture:
    """Forward pre-hook on the final Linear that records its input."""

    def __init__(self, linear):
        self.value = None
        self.handle = linear.register_forward_pre_hook(self._hook)

    def _hook(self, module, inputs):
        self.value = inputs[0]

    def remove(self):
        self.handle.remove()


def scale_final_linear(model, x, target_std=4.0):
    """Scale the final Linear so that logits on x have std ~ target_std."""
    lin = final_linear(model)
    with torch.no_grad():
        lin.bias.mul_(0.1)
        logits = model(x)
        s = float(logits.std())
        if s > 0:
            lin.weight.mul_(target_std / s)
            lin.bias.mul_(target_std / s)


def ce_sum_grad(model, x, labels):
    x = x.detach().clone().requires_grad_(True)
    loss = F.cross_entropy(model(x), labels, reduction="sum")
    (g,) = torch.autograd.grad(loss, x)
    return g


def rep_grad(model, x, t):
    cap = RepCapture(final_linear(model))
    try:
        with torch.no_grad():
            model(t)
            rt = cap.value.detach().flatten(1).clone()
        xr = x.detach().clone().requires_grad_(True)
        model(xr)
        rx = cap.value.flatten(1)
    finally:
        cap.remove()
    loss = ((rx - rt).norm(dim=1) / rt.norm(dim=1)).sum()
    (g,) = torch.autograd.grad(loss, xr)
    return g, rt.shape[1]


def per_example_norm(v):
    return v.flatten(1).norm(dim=1).view(-1, *([1] * (v.dim() - 1)))


def pgd_l2(model, x0, labels, eps, alpha, steps):
    x0 = x0.detach()
    x = x0.clone()
    for _ in range(steps):
        g = ce_sum_grad(model, x, labels)
        x = x + alpha * g / (per_example_norm(g) + 1e-12)
        d = x - x0
        factor = torch.clamp(eps / per_example_norm(d), max=1.0)  # min(1, eps/||d||); ||d||=0 -> 1
        d = d * factor
        x = torch.clamp(x0 + d, 0.0, 1.0).detach()
    return x


def pgd_linf(model, x0, labels, eps, alpha, steps):
    x0 = x0.detach()
    x = x0.clone()
    for _ in range(steps):
        g = ce_sum_grad(model, x, labels)
        x = x + alpha * torch.sign(g)
        x = torch.clamp(x0 + torch.clamp(x - x0, -eps, eps), 0.0, 1.0).detach()
    return x


def export_onnx(model, example, path):
    # torch 1.13 warns about prim::Constant shape inference for the dynamic-pad subgraph; harmless.
    warnings.filterwarnings("ignore", message="The shape inference of prim::Constant", category=UserWarning)
    torch.onnx.export(
        model, (example,), path,
        export_params=True,
        opset_version=OPSET,
        do_constant_folding=True,
        input_names=["input"],
        output_names=["logits"],
        dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}},
    )


def inspect_onnx(path, name):
    import onnx
    m = onnx.load(path)
    onnx.checker.check_model(m)
    ops = sorted({n.op_type for n in m.graph.node})
    print(f"  [{name}] onnx op types: {', '.join(ops)}")
    # "static" = an initializer or the output of a Constant node
    static = {i.name for i in m.graph.initializer}
    static |= {o for n in m.graph.node if n.op_type == "Constant" for o in n.output}
    pads = [n for n in m.graph.node if n.op_type == "Pad"]
    dynamic_pads = [n for n in pads if len(n.input) > 1 and n.input[1] not in static]
    return ops, pads, dynamic_pads


def verify_onnxruntime(path, x, logits):
    try:
        import onnxruntime as ort  # optional
    except Exception:
        return
    sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    out = sess.run(["logits"], {"input": x})[0]
    err = float(np.abs(out - logits).max())
    print(f"  onnxruntime max |diff| vs torch logits: {err:.3e}")


def save(path, arr):
    arr = np.ascontiguousarray(arr)
    if arr.dtype.byteorder == ">":
        arr = arr.astype(arr.dtype.newbyteorder("<"))
    np.save(path, arr)


# --------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------

def make_one(name, out_dir, seed):
    spec = MODELS[name]
    t0 = time.time()
    torch.manual_seed(seed)
    np.random.seed(seed)
    gen = torch.Generator().manual_seed(seed + 1)

    model = spec["build"]().float()
    randomize_bn(model, gen)
    model.eval()
    for p in model.parameters():
        p.requires_grad_(False)

    c, h, w = spec["input_shape"]
    rng = np.random.RandomState(seed)
    x_np = rng.uniform(0.0, 1.0, size=(BATCH, c, h, w)).astype(np.float32)
    t_np = rng.uniform(0.0, 1.0, size=(BATCH, c, h, w)).astype(np.float32)
    num_classes = final_linear(model).out_features
    labels_np = rng.randint(0, num_classes, size=(BATCH,)).astype(np.int64)

    x = torch.from_numpy(x_np)
    t = torch.from_numpy(t_np)
    labels = torch.from_numpy(labels_np)

    scale_final_linear(model, x)

    with torch.no_grad():
        logits = model(x)
    g_ce = ce_sum_grad(model, x, labels)
    g_rep, rep_dim = rep_grad(model, x, t)
    x_l2 = pgd_l2(model, x, labels, PGD_L2["eps"], PGD_L2["step_size"], PGD_L2["steps"])
    x_linf = pgd_linf(model, x, labels, PGD_LINF["eps"], PGD_LINF["step_size"], PGD_LINF["steps"])

    d = os.path.join(out_dir, name)
    os.makedirs(d, exist_ok=True)
    onnx_path = os.path.join(d, "model.onnx")
    export_onnx(model, x, onnx_path)
    ops, pads, dyn_pads = inspect_onnx(onnx_path, name)
    if name == "smallnet":
        if not dyn_pads:
            raise RuntimeError("smallnet export has no Pad with a non-initializer pads input "
                               f"(Pad nodes: {len(pads)})")
        print(f"  [{name}] dynamic Pad nodes: {len(dyn_pads)} (pads input computed at runtime from Shape)")

    arrays = {
        "x": x_np,
        "labels": labels_np,
        "target": t_np,
        "logits": logits.numpy().astype(np.float32),
        "grad_ce": g_ce.numpy().astype(np.float32),
        "grad_rep": g_rep.numpy().astype(np.float32),
        "pgd_l2": x_l2.numpy().astype(np.float32),
        "pgd_linf": x_linf.numpy().astype(np.float32),
    }
    for k, v in arrays.items():
        save(os.path.join(d, k + ".npy"), v)

    verify_onnxruntime(onnx_path, x_np, arrays["logits"])

    with torch.no_grad():
        ce_clean = float(F.cross_entropy(logits, labels, reduction="sum"))
        ce_l2 = float(F.cross_entropy(model(x_l2), labels, reduction="sum"))
        ce_linf = float(F.cross_entropy(model(x_linf), labels, reduction="sum"))

    meta = {
        "name": name,
        "input_shape": [c, h, w],
        "batch": BATCH,
        "num_classes": num_classes,
        "rep_dim": rep_dim,
        "torch_version": torch.__version__,
        "opset": OPSET,
        "seed": seed,
        "description": spec["description"],
        "onnx_op_types": ops,
        "input_range": [0.0, 1.0],
        "loss_ce": "sum over batch of cross_entropy(logits, labels)",
        "loss_rep": "sum_i ||R(x_i)-R(t_i)||_2 / ||R(t_i)||_2, R = input of final Linear, R(t) detached",
        "pgd_l2": PGD_L2,
        "pgd_linf": PGD_LINF,
        "ce_sum": {"clean": ce_clean, "pgd_l2": ce_l2, "pgd_linf": ce_linf},
    }
    with open(os.path.join(d, "meta.json"), "w") as f:
        json.dump(meta, f, indent=2)
        f.write("\n")

    sizes = {fn: os.path.getsize(os.path.join(d, fn)) for fn in sorted(os.listdir(d))}
    total = sum(sizes.values())
    print(f"{name}: {d} total {total / 1024:.1f} KiB in {time.time() - t0:.1f}s | "
          + ", ".join(f"{fn}={sz / 1024:.1f}K" for fn, sz in sizes.items()))
    print(f"  [{name}] logits std {float(logits.std()):.2f}, CE-sum clean {ce_clean:.3f}, "
          f"after PGD-L2 {ce_l2:.3f}, after PGD-Linf {ce_linf:.3f}, rep_dim {rep_dim}")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default="test/fixtures", help="output directory (default test/fixtures)")
    ap.add_argument("--only", default=None,
                    help="comma-separated subset of: " + ",".join(MODELS)
                         + " (default: cifar_bottleneck,smallnet; resnet18_tv is only generated when named)")
    ap.add_argument("--all", action="store_true", help="generate every model including resnet18_tv")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)

    if args.only:
        names = [n.strip() for n in args.only.split(",") if n.strip()]
        unknown = [n for n in names if n not in MODELS]
        if unknown:
            ap.error(f"unknown model(s): {', '.join(unknown)}; known: {', '.join(MODELS)}")
    elif args.all:
        names = list(MODELS)
    else:
        names = ["cifar_bottleneck", "smallnet"]

    torch.set_num_threads(max(1, min(torch.get_num_threads(), os.cpu_count() or 1)))
    os.makedirs(args.out, exist_ok=True)
    for n in names:
        make_one(n, args.out, args.seed)
    return 0


if __name__ == "__main__":
    sys.exit(main())
