#!/usr/bin/python3
"""PyTorch twin of the zoo's PGD-7 recipe for bench/recipe.mjs (the "time to a robust model" row).

    /usr/bin/python3 bench/torch_recipe.py DIR SETTINGS_JSON

DIR holds train_x/train_y/test_x/test_y.npy and init_<param>.npy (robustlens' seeded initial weights). The loop is the
recipe's: SGD (momentum, weight decay), per-batch cosine learning rate, random crop (pad 2) and flips, L2 PGD-k with a
random start on the ε-sphere (step 2.5·ε/k, keep last), per-epoch clean accuracy on the test set and PGD-10 accuracy
on the first eval_limit test images; the best epoch's weights are saved as DIR/best_<param>.npy. Prints one JSON line.
"""
import json
import math
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_workloads import l2_project, l2_random_start, l2_step, pgd_best  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "scripts"))
from nn_reference import Net  # noqa: E402


def augment(x, flip, gen):
    """Random crop of the zero-padded (2 px) image and, where the data allows it, horizontal flips."""
    n, _, h, w = x.shape
    p = F.pad(x, (2, 2, 2, 2))
    dy = torch.randint(0, 5, (n,), generator=gen)
    dx = torch.randint(0, 5, (n,), generator=gen)
    out = torch.stack([p[i, :, dy[i]:dy[i] + h, dx[i]:dx[i] + w] for i in range(n)])
    if flip:
        f = torch.rand(n, generator=gen) < 0.5
        out[f] = out[f].flip(3)
    return out


def main():
    d, s = sys.argv[1], json.loads(sys.argv[2])
    torch.set_num_threads(s["threads"])
    ld = lambda f: torch.from_numpy(np.load(os.path.join(d, f)))  # noqa: E731
    xtr, ytr, xte, yte = ld("train_x.npy"), ld("train_y.npy"), ld("test_x.npy"), ld("test_y.npy")
    net = Net("small-cnn", 1, 10, 1, [0.286], [0.353], 28)
    sd = net.state_dict()
    sd.update({k: ld(f"init_{k}.npy") for k in s["params"]})
    net.load_state_dict(sd, strict=True)
    opt = torch.optim.SGD(net.parameters(), lr=s["lr"], momentum=s["momentum"], weight_decay=s["weight_decay"])
    eps, steps, bs, epochs = s["eps"], s["steps"], s["batch_size"], s["epochs"]
    per_epoch = xtr.shape[0] // bs
    gen = torch.Generator().manual_seed(0)

    def ce(x_, y_):
        out = net(x_)
        return F.cross_entropy(out[0], y_, reduction="none"), out[0]

    def lr_at(t):
        assert s["schedule"] == "cosine", "the zoo recipes use the cosine schedule"
        return s["lr"] * 0.5 * (1 + math.cos(math.pi * t))

    best, best_score, epoch_seconds = None, -1.0, []
    t_start = time.perf_counter()
    for epoch in range(epochs):
        t0 = time.perf_counter()
        order = torch.randperm(xtr.shape[0], generator=gen)
        for k in range(per_epoch):
            idx = order[k * bs:(k + 1) * bs]
            x0, y = augment(xtr[idx], s["flip"], gen), ytr[idx]
            for g in opt.param_groups:
                g["lr"] = lr_at((epoch + k / per_epoch) / epochs)
            for p in net.parameters():
                p.requires_grad_(False)
            xa = l2_random_start(x0, eps)
            for _ in range(steps):
                xa = xa.detach().requires_grad_(True)
                (grad,) = torch.autograd.grad(ce(xa, y)[0].sum(), xa)
                xa = l2_project(l2_step(xa.detach(), grad, 2.5 * eps / steps), x0, eps)
            for p in net.parameters():
                p.requires_grad_(True)
            loss = F.cross_entropy(net(xa.detach())[0], y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        for p in net.parameters():
            p.requires_grad_(False)
        with torch.no_grad():
            clean = sum(int((net(xte[i:i + bs])[0].argmax(1) == yte[i:i + bs]).sum()) for i in range(0, xte.shape[0], bs))
        n_adv, hits = min(s["eval_limit"], xte.shape[0]), 0
        for i in range(0, n_adv, bs):
            xe, ye = xte[i:min(i + bs, n_adv)], yte[i:min(i + bs, n_adv)]
            _, _, logits = pgd_best(lambda x_: ce(x_, ye), xe, xe, 10, 2.5 * eps / 10, eps)
            hits += int((logits.argmax(1) == ye).sum())
        for p in net.parameters():
            p.requires_grad_(True)
        score = hits / n_adv
        if score > best_score:
            best_score, best = score, {k: v.detach().clone() for k, v in net.state_dict().items()}
        epoch_seconds.append(round(time.perf_counter() - t0, 1))
        print(f"pytorch epoch {epoch + 1}/{epochs}: clean {clean / xte.shape[0]:.4f} PGD-10 {score:.4f} {epoch_seconds[-1]} s", file=sys.stderr, flush=True)
    seconds = time.perf_counter() - t_start
    for k in s["params"]:
        np.save(os.path.join(d, f"best_{k}.npy"), best[k].numpy())
    print(json.dumps({"seconds": seconds, "epoch_seconds": epoch_seconds, "torch": torch.__version__}))


if __name__ == "__main__":
    main()
