#!/usr/bin/python3
"""The PyTorch side of `npm run bench`: the same workloads as bench/workloads.mjs, on the same weights and images.

Run with Debian's Python (python3-torch, python3-onnx). A worker for one workload on one model, driven over stdin:

    /usr/bin/python3 bench/torch_workloads.py --workload pgd-step --model r18 --assets DIR --check DIR --threads 2
        sets up, runs the check (the first iteration; outputs saved as DIR/torch_<name>.npy) and one untimed warm-up run,
        prints "READY"
        stdin "run K"  -> runs K timed repetitions, prints {"times": [ms, ...]}
        stdin "quit"   -> prints {"maxrss_mb": peak RSS of this process} and exits

Models are the robustlens twins of scripts/nn_reference.py, every parameter loaded by name from the ONNX initializers.
"""
import argparse
import json
import os
import resource
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "scripts"))
from nn_reference import Net  # noqa: E402
from onnx_torch import FakeReLU  # noqa: E402

BATCH, EVAL_BATCH = 32, 64
INVERT_STEPS = int(os.environ.get("BENCH_INVERT_STEPS", "100"))  # a shorter inversion for trying the bench out
# keep in step with MODELS in bench/assets.mjs
SETTINGS = {"r18": {"eps": 0.5, "train_step": 0.1, "lr": 0.1}, "fm": {"eps": 1.25, "train_step": 2.5 * 1.25 / 7, "lr": 0.05}}


def load_net(path):
    import onnx
    from onnx import numpy_helper
    m = onnx.load(path)
    meta = {p.key: json.loads(p.value) for p in m.metadata_props if p.key in ("arch", "classes", "width", "mean", "std")}
    dims = m.graph.input[0].type.tensor_type.shape.dim
    net = Net(meta["arch"], dims[1].dim_value, meta["classes"], meta["width"], meta["mean"], meta["std"], dims[2].dim_value)
    inits = {t.name: torch.from_numpy(numpy_helper.to_array(t).copy()) for t in m.graph.initializer}
    state = net.state_dict()
    sd = {k: (v if k.endswith("num_batches_tracked") else inits[k]) for k, v in state.items()}
    net.load_state_dict(sd, strict=True)
    return net.eval()


def fake_relu_last_block(net):
    """The last ReLU before the representation becomes a fake ReLU (as robustlens' straightThrough on that node)."""
    blk = getattr(net, net.stages[-1])[-1]

    def forward(x):
        h = F.relu(blk.bn1(blk.conv1(x)))
        return FakeReLU.apply(blk.bn2(blk.conv2(h)) + blk.shortcut(x))
    blk.forward = forward


def view4(v):
    return v.view(-1, 1, 1, 1)


def l2_step(x, g, alpha):
    """x + α·g/‖g‖₂ per example."""
    return x + alpha * g / (view4(g.flatten(1).norm(dim=1)) + 1e-12)


def l2_project(x, x0, eps):
    """δ·min(1, ε/‖δ‖₂), then clamp x0 + δ to [0,1]."""
    d = x - x0
    return torch.clamp(x0 + d * torch.clamp(eps / view4(d.flatten(1).norm(dim=1)), max=1), 0, 1)


def attack_step(objective, x, x0, best_x, best_obj, alpha, eps):
    """One PGD iteration as robustlens' step program: objective J at x, ∇J, step, projection, keep-best bookkeeping."""
    x = x.detach().requires_grad_(True)
    obj, logits = objective(x)
    (g,) = torch.autograd.grad(obj.sum(), x)
    x = x.detach()
    obj = obj.detach()
    x_next = l2_project(l2_step(x, g, alpha), x0, eps)
    best_x = torch.where(view4(obj > best_obj), x, best_x)
    return x_next, obj, logits.detach(), best_x, torch.maximum(obj, best_obj)


def pgd_best(objective, x0, start, steps, alpha, eps):
    """PGD keeping per example the iterate with the highest objective (evaluated before each step and after the last)."""
    x, best_x = start, start
    best_obj = torch.full((x0.shape[0],), -float("inf"))
    for _ in range(steps):
        x, _, _, best_x, best_obj = attack_step(objective, x, x0, best_x, best_obj, alpha, eps)
    with torch.no_grad():
        last, _ = objective(x)
        chosen = torch.where(view4(last > best_obj), x, best_x)
        obj, logits = objective(chosen)
    return chosen, obj, logits


def l2_random_start(x0, eps):
    n = torch.randn_like(x0)
    return torch.clamp(x0 + eps * n / view4(n.flatten(1).norm(dim=1)), 0, 1)


def make_r50(assets):
    """The robustness-format checkpoint bench/r50.mjs converted, as a native torch ResNet-50 with its normalizer."""
    from robustness_archs import family
    from robustness_convert import Normalized, fit, load_checkpoint, split
    path = os.path.join(assets, "r50.pt")
    sd, _ = load_checkpoint(path, False)
    prefix, weights, mean, std = split(sd, path)
    net = family("resnet50", "imagenet")[1](1000)
    fit(net, weights, prefix, path, "resnet50")
    model = Normalized(net, mean, std).eval()
    for p in model.parameters():
        p.requires_grad_(False)
    x = torch.from_numpy(np.load(os.path.join(assets, "r50_x.npy")))
    y = torch.from_numpy(np.load(os.path.join(assets, "r50_y.npy")))
    eps = 3.0  # R50.eps in bench/r50.mjs
    ce = lambda x_: (lambda out: (F.cross_entropy(out, y, reduction="none"), out))(model(x_))  # noqa: E731
    best_obj = torch.full((x.shape[0],), -float("inf"))

    def run():
        x_next, obj, logits, _, _ = attack_step(ce, x, x, x, best_obj, 2.5 * eps / 10, eps)
        return {"x_next": x_next, "obj": obj, "logits": logits}
    return run, run


def make(name, key, assets, check_dir):
    if name == "r50-step":
        return make_r50(assets)
    net = load_net(os.path.join(assets, f"{key}.onnx"))
    ld = lambda f: torch.from_numpy(np.load(os.path.join(assets, f"{key}_{f}.npy")))  # noqa: E731
    x, y = ld("x"), ld("y")
    eps = SETTINGS[key]["eps"]
    alpha = 2.5 * eps / 10
    shared = lambda f: torch.from_numpy(np.load(os.path.join(check_dir, f"rl_{f}.npy")))  # noqa: E731
    ce = lambda x_: (lambda out: (F.cross_entropy(out[0], y, reduction="none"), out[0]))(net(x_))  # noqa: E731
    if name in ("pgd-step", "pgd-10", "invert-100", "forward", "eval-1000"):
        for p in net.parameters():
            p.requires_grad_(False)

    if name == "forward":
        def run():
            with torch.no_grad():
                return {"logits": net(x)[0]}
        return run, run

    if name == "pgd-step":
        best_obj = torch.full((BATCH,), -float("inf"))

        def run():
            x_next, obj, logits, _, _ = attack_step(ce, x, x, x, best_obj, alpha, eps)
            return {"x_next": x_next, "obj": obj, "logits": logits}
        return run, run

    if name == "pgd-10":
        def run(steps=10):
            adv, obj, logits = pgd_best(ce, x, x, steps, alpha, eps)
            return {"x": adv, "loss": obj, "logits": logits}
        return (lambda: run(1)), run

    if name == "adv-train-step":
        s = SETTINGS[key]
        opt = torch.optim.SGD(net.parameters(), lr=s["lr"], momentum=0.9, weight_decay=5e-4)

        def step(start, pgd_steps=7):
            # PGD-7, keep last, model in eval mode and its weights frozen for the attack (as the robustness library)
            net.eval()
            for p in net.parameters():
                p.requires_grad_(False)
            xa = start
            for _ in range(pgd_steps):
                xa = xa.detach().requires_grad_(True)
                (g,) = torch.autograd.grad(ce(xa)[0].sum(), xa)
                xa = l2_project(l2_step(xa.detach(), g, s["train_step"]), x, eps)
            for p in net.parameters():
                p.requires_grad_(True)
            net.train()
            loss = F.cross_entropy(net(xa)[0], y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sd = net.state_dict()
            shown = {k: sd[k] for k in ("conv1.weight", "linear.weight", "bn1.running_mean") if k in sd}
            return {"x_adv": xa, "loss": loss.detach().view(1), **shown}
        return (lambda: step(shared("start"), 1)), (lambda: step(l2_random_start(x, eps)))

    if name == "invert-100":
        targets = ld("targets")
        fake_relu_last_block(net)

        def invert(seed, steps=INVERT_STEPS):
            with torch.no_grad():
                t = net(targets)[1]
            tn = t.norm(dim=1)

            def objective(x_):
                logits, rep = net(x_)
                return -(rep - t).norm(dim=1) / tn, logits
            adv, obj, _ = pgd_best(objective, seed, seed, steps, 1.0, 1000.0)
            return {"x": adv, "distance": -obj}
        noise = lambda: torch.clamp(0.5 + 0.05 * torch.randn_like(targets), 0, 1)  # noqa: E731
        return (lambda: invert(shared("seed"), 1)), (lambda: invert(noise()))

    if name == "eval-1000":
        xe, ye = ld("x_eval"), ld("y_eval")

        def run():
            correct, logits = 0, []
            with torch.no_grad():
                for i in range(0, xe.shape[0], EVAL_BATCH):
                    out = net(xe[i:i + EVAL_BATCH])[0]
                    logits.append(out)
                    correct += int((out.argmax(1) == ye[i:i + EVAL_BATCH]).sum())
            return {"logits": torch.cat(logits), "correct": torch.tensor([float(correct)])}
        return run, run
    raise SystemExit(f"unknown workload {name}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--workload", required=True)
    ap.add_argument("--model", required=True)
    ap.add_argument("--assets", required=True)
    ap.add_argument("--check", required=True)
    ap.add_argument("--threads", type=int, required=True)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    check, run = make(a.workload, a.model, a.assets, a.check)
    for k, v in check().items():
        np.save(os.path.join(a.check, f"torch_{k}.npy"), v.detach().numpy())
    run()  # warm-up, untimed
    print("READY", flush=True)
    for line in sys.stdin:
        cmd = line.split()
        if cmd and cmd[0] == "run":
            times = []
            for _ in range(int(cmd[1])):
                t0 = time.perf_counter()
                run()
                times.append((time.perf_counter() - t0) * 1000)
            print(json.dumps({"times": times}), flush=True)
        elif cmd and cmd[0] == "quit":
            print(json.dumps({"maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "torch": torch.__version__}), flush=True)
            return


if __name__ == "__main__":
    main()
