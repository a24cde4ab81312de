"""CIFAR-style ResNet-18 (3x3 stem, no max pool) and a timed PyTorch L2 PGD step, for comparison with robustlens.

Usage: /usr/bin/python3 bench/cifar_resnet18.py --export M.onnx --x X.npy --labels Y.npy --time [--batch 32 --threads 2]
"""
import argparse, json, statistics, time
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


class Block(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.c1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.b1 = nn.BatchNorm2d(cout)
        self.c2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.b2 = nn.BatchNorm2d(cout)
        self.short = nn.Sequential()
        if stride != 1 or cin != cout:
            self.short = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        y = F.relu(self.b1(self.c1(x)))
        return F.relu(self.b2(self.c2(y)) + self.short(x))


class ResNet18(nn.Module):
    def __init__(self, classes=10):
        super().__init__()
        self.register_buffer("mean", torch.tensor([0.4914, 0.4822, 0.4465]).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor([0.2023, 0.1994, 0.2010]).view(1, 3, 1, 1))
        self.stem = nn.Sequential(nn.Conv2d(3, 64, 3, 1, 1, bias=False), nn.BatchNorm2d(64), nn.ReLU())
        layers, cin = [], 64
        for cout, stride in [(64, 1), (128, 2), (256, 2), (512, 2)]:
            layers += [Block(cin, cout, stride), Block(cout, cout, 1)]
            cin = cout
        self.layers = nn.Sequential(*layers)
        self.fc = nn.Linear(512, classes)

    def forward(self, x):
        h = self.layers(self.stem((x - self.mean) / self.std))
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(h, 1), 1))


def pgd_step(model, x, x0, y, eps, alpha):
    x = x.clone().requires_grad_(True)
    loss = F.cross_entropy(model(x), y, reduction="sum")
    (g,) = torch.autograd.grad(loss, x)
    n = g.flatten(1).norm(dim=1).view(-1, 1, 1, 1) + 1e-12
    x = x.detach() + alpha * g / n
    d = x - x0
    d = d * torch.clamp(eps / d.flatten(1).norm(dim=1).view(-1, 1, 1, 1), max=1)
    return torch.clamp(x0 + d, 0, 1)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--export")
    ap.add_argument("--x")
    ap.add_argument("--labels")
    ap.add_argument("--time", action="store_true")
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--reps", type=int, default=7)
    a = ap.parse_args()
    torch.manual_seed(0)
    torch.set_num_threads(a.threads)
    model = ResNet18().eval()
    x = torch.rand(a.batch, 3, 32, 32)
    y = torch.randint(0, 10, (a.batch,))
    if a.export:
        torch.onnx.export(model, x, a.export, opset_version=17, input_names=["input"], output_names=["logits"],
                          dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}})
        np.save(a.x, x.numpy())
        np.save(a.labels, y.numpy().astype(np.int64))
    if a.time:
        for p in model.parameters():
            p.requires_grad_(False)
        out = pgd_step(model, x, x, y, 0.5, 0.1)
        times = []
        for _ in range(a.reps):
            t0 = time.perf_counter()
            out = pgd_step(model, out, x, y, 0.5, 0.1)
            times.append((time.perf_counter() - t0) * 1000)
        print(json.dumps({"pytorch_ms": statistics.median(times), "torch": torch.__version__, "threads": a.threads}))


if __name__ == "__main__":
    main()
