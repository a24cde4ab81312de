#!/usr/bin/python3
"""PyTorch twins of the robustlens model zoo (src/nn/), with the same parameter names, for reference checks.

Run with Debian's Python (python3-torch, python3-onnx):

    /usr/bin/python3 scripts/nn_reference.py --count
        prints JSON {arch: trainable parameter count} at width 1, 10 classes, 3x32x32 (small-cnn: 1x28x28)
    /usr/bin/python3 scripts/nn_reference.py --onnx M.onnx --x X.npy --logits L.npy --rep R.npy
        builds the torch model described by M.onnx's metadata (arch, classes, width, mean, std), loads every
        initializer by name (strict: names and shapes must match exactly), runs x in eval mode, saves logits and rep
        [--u U.npy --grad-input GX.npy --grad-weight GW.npy] [--train]
        also saves the gradients of sum(u * logits) with respect to x and conv1.weight; --train: BN batch statistics
"""
import argparse
import json
import re

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


def scaled(c, w):
    return max(1, int(np.floor(c * w + 0.5)))  # JS Math.round (half up) for the positive channel counts here


class Normalize(nn.Module):
    def __init__(self, mean, std):
        super().__init__()
        c = len(mean)
        self.register_buffer("mean", torch.tensor(mean, dtype=torch.float32).view(1, c, 1, 1))
        self.register_buffer("std", torch.tensor(std, dtype=torch.float32).view(1, c, 1, 1))

    def forward(self, x):
        return (x - self.mean) / self.std


def conv(cin, cout, k, stride=1, bias=False):
    return nn.Conv2d(cin, cout, k, stride, k // 2, bias=bias)


class Basic(nn.Module):
    def __init__(self, cin, planes, stride):
        super().__init__()
        self.conv1, self.bn1 = conv(cin, planes, 3, stride), nn.BatchNorm2d(planes)
        self.conv2, self.bn2 = conv(planes, planes, 3), nn.BatchNorm2d(planes)
        self.shortcut = nn.Sequential()
        if stride != 1 or cin != planes:
            self.shortcut = nn.Sequential(conv(cin, planes, 1, stride), nn.BatchNorm2d(planes))
        self.cout = planes

    def forward(self, x):
        h = F.relu(self.bn1(self.conv1(x)))
        return F.relu(self.bn2(self.conv2(h)) + self.shortcut(x))


class Bottleneck(nn.Module):
    def __init__(self, cin, planes, stride):
        super().__init__()
        out = 4 * planes
        self.conv1, self.bn1 = conv(cin, planes, 1), nn.BatchNorm2d(planes)
        self.conv2, self.bn2 = conv(planes, planes, 3, stride), nn.BatchNorm2d(planes)
        self.conv3, self.bn3 = conv(planes, out, 1), nn.BatchNorm2d(out)
        self.shortcut = nn.Sequential()
        if stride != 1 or cin != out:
            self.shortcut = nn.Sequential(conv(cin, out, 1, stride), nn.BatchNorm2d(out))
        self.cout = out

    def forward(self, x):
        h = F.relu(self.bn1(self.conv1(x)))
        h = F.relu(self.bn2(self.conv2(h)))
        return F.relu(self.bn3(self.conv3(h)) + self.shortcut(x))


class PreAct(nn.Module):
    """Pre-activation block; also the WideResNet block (same layout, shortcut conv on the activated input)."""

    def __init__(self, cin, planes, stride):
        super().__init__()
        self.bn1, self.conv1 = nn.BatchNorm2d(cin), conv(cin, planes, 3, stride)
        self.bn2, self.conv2 = nn.BatchNorm2d(planes), conv(planes, planes, 3)
        self.shortcut = None
        if stride != 1 or cin != planes:
            self.shortcut = nn.Sequential(conv(cin, planes, 1, stride))
        self.cout = planes

    def forward(self, x):
        o = F.relu(self.bn1(x))
        sc = self.shortcut(o) if self.shortcut is not None else x
        return self.conv2(F.relu(self.bn2(self.conv1(o)))) + sc


class Net(nn.Module):
    def __init__(self, arch, cin, classes, width, mean, std, image=28):
        super().__init__()
        self.normalize = Normalize(mean, std)
        self.arch = arch
        if arch == "small-cnn":
            self.conv1 = conv(cin, scaled(32, width), 3, bias=True)
            self.conv2 = conv(scaled(32, width), scaled(64, width), 3, bias=True)
            feat = scaled(64, width) * (image // 4) ** 2
            self.fc1 = nn.Linear(feat, scaled(128, width))
            self.linear = nn.Linear(scaled(128, width), classes)
            return
        wrn = re.fullmatch(r"wrn-(\d+)-(\d+)", arch)
        if arch in ("resnet18", "resnet50"):
            block, counts = (Basic, [2, 2, 2, 2]) if arch == "resnet18" else (Bottleneck, [3, 4, 6, 3])
            chans, c = [scaled(64 * 2 ** i, width) for i in range(4)], scaled(64, width)
            self.conv1, self.bn1 = conv(cin, c, 3), nn.BatchNorm2d(c)
            groups = "layer"
        elif arch == "preact-resnet18":
            block, counts = PreAct, [2, 2, 2, 2]
            chans, c = [scaled(64 * 2 ** i, width) for i in range(4)], scaled(64, width)
            self.conv1 = conv(cin, c, 3)
            groups = "layer"
        elif wrn:
            depth, k = int(wrn.group(1)), int(wrn.group(2))
            block, counts = PreAct, [(depth - 4) // 6] * 3
            chans, c = [scaled(16 * k * 2 ** i, width) for i in range(3)], scaled(16, width)
            self.conv1 = conv(cin, c, 3)
            groups = "block"
        else:
            raise SystemExit(f"unknown arch {arch}")
        self.stages = []
        for i, (n, planes) in enumerate(zip(counts, chans)):
            blocks = []
            for j in range(n):
                blocks.append(block(c, planes, 2 if j == 0 and i > 0 else 1))
                c = blocks[-1].cout
            setattr(self, f"{groups}{i + 1}", nn.Sequential(*blocks))
            self.stages.append(f"{groups}{i + 1}")
        if block is PreAct:
            self.bn = nn.BatchNorm2d(c)
        self.linear = nn.Linear(c, classes)

    def features(self, x):
        x = self.normalize(x)
        if self.arch == "small-cnn":
            x = F.max_pool2d(F.relu(self.conv1(x)), 2)
            x = F.max_pool2d(F.relu(self.conv2(x)), 2)
            return F.relu(self.fc1(torch.flatten(x, 1)))
        x = self.conv1(x)
        if hasattr(self, "bn1"):
            x = F.relu(self.bn1(x))
        for s in self.stages:
            x = getattr(self, s)(x)
        if hasattr(self, "bn"):
            x = F.relu(self.bn(x))
        return torch.flatten(F.adaptive_avg_pool2d(x, 1), 1)

    def forward(self, x):
        rep = self.features(x)
        return self.linear(rep), rep


def count(model):
    return sum(p.numel() for p in model.parameters())


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--count", action="store_true")
    ap.add_argument("--onnx")
    ap.add_argument("--x")
    ap.add_argument("--logits")
    ap.add_argument("--rep")
    ap.add_argument("--u", help="with --grad-input/--grad-weight: gradients of sum(u * logits)")
    ap.add_argument("--grad-input")
    ap.add_argument("--grad-weight", help="gradient with respect to conv1.weight")
    ap.add_argument("--train", action="store_true", help="BN with batch statistics (running stats not saved)")
    a = ap.parse_args()
    cifar = ([0.4914, 0.4822, 0.4465], [0.2023, 0.1994, 0.2010])
    if a.count:
        out = {arch: count(Net(arch, 3, 10, 1, *cifar)) for arch in ["resnet18", "resnet50", "preact-resnet18", "wrn-28-10"]}
        out["small-cnn"] = count(Net("small-cnn", 1, 10, 1, [0.5], [0.5], 28))
        print(json.dumps(out))
        return
    import onnx
    from onnx import numpy_helper
    m = onnx.load(a.onnx)
    meta = {p.key: json.loads(p.value) for p in m.metadata_props}
    dims = m.graph.input[0].type.tensor_type.shape.dim
    net = Net(meta["arch"], dims[1].dim_value, meta["classes"], meta["width"], meta["mean"], meta["std"], dims[2].dim_value)
    inits = {t.name: torch.from_numpy(numpy_helper.to_array(t).copy()) for t in m.graph.initializer}
    state = net.state_dict()
    sd = {k: (v if k.endswith("num_batches_tracked") else inits.pop(k)) for k, v in state.items() if k in inits or k.endswith("num_batches_tracked")}
    missing = [k for k in state if k not in sd]
    if missing:
        raise SystemExit(f"missing in ONNX: {missing[:5]}")
    net.load_state_dict(sd, strict=True)
    net.train(a.train)
    x = torch.from_numpy(np.load(a.x)).requires_grad_(a.u is not None)
    logits, rep = net(x)
    np.save(a.logits, logits.detach().numpy())
    np.save(a.rep, rep.detach().numpy())
    if a.u:
        gx, gw = torch.autograd.grad((torch.from_numpy(np.load(a.u)) * logits).sum(), [x, net.conv1.weight])
        np.save(a.grad_input, gx.numpy())
        np.save(a.grad_weight, gw.numpy())
    print(json.dumps({"params": count(net), "leftover_initializers": sorted(inits)[:5]}))


if __name__ == "__main__":
    main()
