#!/usr/bin/python3
"""Train a small CNN on Fashion-MNIST and write a "trained model" fixture for robustlens tests.

Run with Debian's Python (torch 1.13, onnx 1.12) after `apt-get install dataset-fashion-mnist`:

    /usr/bin/python3 scripts/make_trained_fixture.py            # -> test/fixtures/fmnist_small

Training is on CPU with 2 threads and deterministic algorithms; with the same torch build and
seed the output is reproducible.

Writes OUT/ containing:

  model.onnx          torch.onnx.export (eval mode, opset 17, input "input" [batch,1,28,28],
                      output "logits" [batch,10], dynamic batch axis, constant folding on).
                      Normalization (x - 0.2860) / 0.3530 is the first op inside the model.
  x.npy               float32 [256,1,28,28]  first 256 test images, pixel/255 in [0,1]
  labels.npy          int64   [256]          their labels
  target_labels.npy   int64   [256]          (labels + 1) % 10, for targeted attacks
  meta.json           accuracies, training settings, timing, torch version, ONNX op types,
                      PGD settings, float64 cross-check of the robust accuracies
  robust_acc.json     {"l2": {eps: acc}, "linf": {eps: acc}, "clean": acc} on the 256 examples
                      under untargeted PGD (see pgd_l2 / pgd_linf below)
"""

import argparse
import gzip
import hashlib
import json
import os
import struct
import sys
import time
import warnings

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

# the reference PGD (same semantics as the committed PGD fixtures) lives in one place
from make_fixtures import pgd_l2, pgd_linf  # noqa: E402

OPSET = 17
N_FIXTURE = 256
FMNIST_MEAN = 0.2860
FMNIST_STD = 0.3530

PGD_STEPS = 20
PGD_STEP_FACTOR = 2.5  # step size = 2.5 * eps / steps
L2_EPS = [0.25, 0.5, 1.0, 2.0]
LINF_EPS = [0.02, 0.05, 0.1]

TRAIN = {
    "optimizer": "Adam",
    "lr": 1e-3,
    "lr_schedule": "cosine over all steps (per step), to 0",
    "weight_decay": 0.0,
    "batch_size": 128,
    "epochs": 3,
    "loss": "mean cross-entropy",
    "augmentation": "none",
    "shuffle": "torch.randperm with torch.Generator seeded with --seed, per epoch",
    "threads": 2,
    "device": "cpu",
    "deterministic_algorithms": True,
}


# --------------------------------------------------------------------------
# Data: IDX reader (http://yann.lecun.com/exdb/mnist/ format)
# --------------------------------------------------------------------------

def _open_maybe_gz(path):
    with open(path, "rb") as f:
        head = f.read(2)
    return gzip.open(path, "rb") if head == b"\x1f\x8b" else open(path, "rb")


def read_idx(path):
    """Read an IDX file: 2 zero bytes, type code, ndims, then ndims big-endian uint32 sizes, data."""
    with _open_maybe_gz(path) as f:
        data = f.read()
    if len(data) < 4 or data[0] != 0 or data[1] != 0:
        raise ValueError(f"{path}: bad IDX magic {data[:4]!r}")
    dtypes = {0x08: np.uint8, 0x09: np.int8, 0x0B: np.dtype(">i2"), 0x0C: np.dtype(">i4"),
              0x0D: np.dtype(">f4"), 0x0E: np.dtype(">f8")}
    code, ndim = data[2], data[3]
    if code not in dtypes:
        raise ValueError(f"{path}: unknown IDX type code 0x{code:02x}")
    dims = struct.unpack(">" + "I" * ndim, data[4:4 + 4 * ndim])
    dt = np.dtype(dtypes[code])
    count = int(np.prod(dims))
    off = 4 + 4 * ndim
    if len(data) - off != count * dt.itemsize:
        raise ValueError(f"{path}: expected {count * dt.itemsize} data bytes, got {len(data) - off}")
    return np.frombuffer(data, dtype=dt, count=count, offset=off).reshape(dims)


def find_file(data_dir, stem):
    for name in (stem, stem + ".gz"):
        p = os.path.join(data_dir, name)
        if os.path.exists(p):
            return p
    raise FileNotFoundError(f"{stem}[.gz] not found in {data_dir} (apt-get install dataset-fashion-mnist)")


def load_split(data_dir, prefix):
    imgs = read_idx(find_file(data_dir, f"{prefix}-images-idx3-ubyte"))
    labels = read_idx(find_file(data_dir, f"{prefix}-labels-idx1-ubyte"))
    assert imgs.ndim == 3 and imgs.shape[1:] == (28, 28), imgs.shape
    assert labels.ndim == 1 and labels.shape[0] == imgs.shape[0]
    x = torch.from_numpy(imgs.astype(np.float32) / np.float32(255.0)).unsqueeze(1)  # [N,1,28,28]
    y = torch.from_numpy(labels.astype(np.int64))
    return x, y


# --------------------------------------------------------------------------
# Model
# --------------------------------------------------------------------------

class FmnistSmall(nn.Module):
    def __init__(self):
        super().__init__()
        self.register_buffer("mean", torch.tensor(FMNIST_MEAN, dtype=torch.float32).view(1, 1, 1, 1))
        self.register_buffer("std", torch.tensor(FMNIST_STD, dtype=torch.float32).view(1, 1, 1, 1))
        self.conv1 = nn.Conv2d(1, 16, 3, padding=1)
        self.conv2 = nn.Conv2d(16, 32, 3, padding=1)
        self.flatten = nn.Flatten()
        self.fc1 = nn.Linear(32 * 7 * 7, 64)
        self.fc2 = nn.Linear(64, 10)

    def forward(self, x):
        x = (x - self.mean) / self.std
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = F.relu(self.fc1(self.flatten(x)))
        return self.fc2(x)


DESCRIPTION = ("Fashion-MNIST CNN, input [B,1,28,28] in [0,1]: (x-0.2860)/0.3530, "
               "Conv(1->16,3,pad1)-ReLU-MaxPool2, Conv(16->32,3,pad1)-ReLU-MaxPool2, Flatten, "
               "Linear(1568->64)-ReLU, Linear(64->10). Trained (standard, non-robust).")


# --------------------------------------------------------------------------
# Training / evaluation
# --------------------------------------------------------------------------

def train(model, x, y, seed, log):
    gen = torch.Generator().manual_seed(seed)
    opt = torch.optim.Adam(model.parameters(), lr=TRAIN["lr"], weight_decay=TRAIN["weight_decay"])
    bs, epochs = TRAIN["batch_size"], TRAIN["epochs"]
    n = x.shape[0]
    steps_per_epoch = (n + bs - 1) // bs
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=epochs * steps_per_epoch)
    history = []
    for ep in range(epochs):
        model.train()
        perm = torch.randperm(n, generator=gen)
        t0 = time.time()
        tot_loss, tot_correct = 0.0, 0
        for i in range(steps_per_epoch):
            idx = perm[i * bs:(i + 1) * bs]
            xb, yb = x[idx], y[idx]
            out = model(xb)
            loss = F.cross_entropy(out, yb)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            tot_loss += loss.item() * xb.shape[0]
            tot_correct += (out.argmax(1) == yb).sum().item()
        rec = {"epoch": ep + 1, "train_loss": tot_loss / n, "train_acc": tot_correct / n,
               "seconds": round(time.time() - t0, 2)}
        history.append(rec)
        log(f"  epoch {ep + 1}: loss {rec['train_loss']:.4f}  train acc {rec['train_acc']:.4f}  ({rec['seconds']} s)")
    return history


@torch.no_grad()
def predict(model, x, bs=1000):
    model.eval()
    return torch.cat([model(x[i:i + bs]).argmax(1) for i in range(0, x.shape[0], bs)])


# --------------------------------------------------------------------------
# PGD (untargeted; gradient of the SUM of cross-entropy; no random start; keep last iterate)
# --------------------------------------------------------------------------

def margins(model, x, labels):
    """logit[label] - max other logit, per example (> 0 <=> correct)."""
    with torch.no_grad():
        z = model(x)
        zt = z.gather(1, labels[:, None])[:, 0]
        other = z.clone()
        other.scatter_(1, labels[:, None], -float("inf"))
        return zt - other.max(1).values


def robust_eval(model, x, labels):
    """Returns (robust_acc dict, detail dict) for the configured eps lists."""
    model.eval()
    res = {"l2": {}, "linf": {}}
    detail = {"l2": {}, "linf": {}}
    m0 = margins(model, x, labels)
    res["clean"] = (m0 > 0).double().mean().item()
    for norm, epss, fn in (("l2", L2_EPS, pgd_l2), ("linf", LINF_EPS, pgd_linf)):
        for eps in epss:
            alpha = PGD_STEP_FACTOR * eps / PGD_STEPS
            xa = pgd_l2(model, x, labels, eps, alpha, PGD_STEPS) if norm == "l2" else \
                pgd_linf(model, x, labels, eps, alpha, PGD_STEPS)
            m = margins(model, xa, labels)
            key = str(eps)
            res[norm][key] = (m > 0).double().mean().item()
            delta = (xa - x).flatten(1)
            detail[norm][key] = {
                "step_size": alpha,
                "n_correct": int((m > 0).sum().item()),
                "min_abs_margin": float(m.abs().min().item()),
                "n_abs_margin_below_0.01": int((m.abs() < 0.01).sum().item()),
                "n_abs_margin_below_0.1": int((m.abs() < 0.1).sum().item()),
                "max_delta_norm": float((delta.norm(dim=1) if norm == "l2" else delta.abs().max(1).values).max().item()),
            }
    return res, detail


# --------------------------------------------------------------------------
# Export
# --------------------------------------------------------------------------

def export_onnx(model, example, path):
    torch.onnx.export(
        model, (example,), path,
        export_params=True,
        opset_version=OPSET,
        do_constant_folding=True,
        input_names=["input"],
        output_names=["logits"],
        dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}},
    )


def onnx_info(path):
    import onnx
    m = onnx.load(path)
    onnx.checker.check_model(m)
    nodes = [n.op_type for n in m.graph.node]
    return sorted(set(nodes)), nodes


def save_npy(path, arr):
    np.save(path, np.ascontiguousarray(arr))


def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default="test/fixtures/fmnist_small")
    ap.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()

    def log(msg):
        print(msg, flush=True)

    t_start = time.time()
    torch.set_num_threads(2)
    torch.use_deterministic_algorithms(True)
    torch.manual_seed(args.seed)
    np.random.seed(args.seed)
    os.makedirs(args.out, exist_ok=True)

    log(f"loading Fashion-MNIST from {args.data}")
    x_train, y_train = load_split(args.data, "train")
    x_test, y_test = load_split(args.data, "t10k")
    log(f"  train {tuple(x_train.shape)}  test {tuple(x_test.shape)}")

    model = FmnistSmall()
    n_params = sum(p.numel() for p in model.parameters())
    log(f"training ({n_params} parameters)")
    t0 = time.time()
    history = train(model, x_train, y_train, args.seed, log)
    train_seconds = time.time() - t0
    model.eval()
    for p in model.parameters():
        p.requires_grad_(False)

    test_acc = (predict(model, x_test) == y_test).double().mean().item()
    x = x_test[:N_FIXTURE].contiguous()
    labels = y_test[:N_FIXTURE].contiguous()
    target_labels = (labels + 1) % 10
    fixture_acc = (predict(model, x) == labels).double().mean().item()
    log(f"test accuracy {test_acc:.4f} (full 10k), {fixture_acc:.4f} (first {N_FIXTURE})")

    log("PGD (float32)")
    t0 = time.time()
    robust, detail = robust_eval(model, x, labels)
    pgd_seconds = time.time() - t0
    for norm in ("l2", "linf"):
        for k, v in robust[norm].items():
            log(f"  {norm:4s} eps {k:>5s}: {v:.4f}   {detail[norm][k]}")

    # Cross-check: the same attacks in float64 (a float32 reimplementation may flip borderline examples).
    model64 = FmnistSmall().double()
    model64.load_state_dict({k: v.double() for k, v in model.state_dict().items()})
    model64.eval()
    robust64, _ = robust_eval(model64, x.double(), labels)
    log(f"  float64 cross-check: {robust64}")

    path = os.path.join(args.out, "model.onnx")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        export_onnx(model, x[:2], path)
    op_types, nodes = onnx_info(path)
    log(f"onnx ops: {' -> '.join(nodes)}")

    save_npy(os.path.join(args.out, "x.npy"), x.numpy().astype(np.float32))
    save_npy(os.path.join(args.out, "labels.npy"), labels.numpy().astype(np.int64))
    save_npy(os.path.join(args.out, "target_labels.npy"), target_labels.numpy().astype(np.int64))

    with open(os.path.join(args.out, "robust_acc.json"), "w") as f:
        json.dump(robust, f, indent=2)
        f.write("\n")

    total_seconds = time.time() - t_start
    meta = {
        "name": "fmnist_small",
        "description": DESCRIPTION,
        "input_shape": [1, 28, 28],
        "input_range": [0.0, 1.0],
        "num_classes": 10,
        "classes": ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"],
        "normalization": {"mean": FMNIST_MEAN, "std": FMNIST_STD, "inside_model": True},
        "num_parameters": n_params,
        "n_fixture": N_FIXTURE,
        "fixture_examples": "first 256 images of t10k, pixel/255",
        "target_labels": "(labels + 1) % 10",
        "test_accuracy": test_acc,
        "fixture_accuracy": fixture_acc,
        "training": dict(TRAIN, seed=args.seed, history=history, seconds=round(train_seconds, 2)),
        "pgd": {
            "targeted": False,
            "loss": "sum over batch of cross_entropy(logits, labels)",
            "steps": PGD_STEPS,
            "step_size": "2.5 * eps / steps",
            "random_start": False,
            "keep": "last",
            "l2_update": "x <- x + a*g/(||g||_2 + 1e-12) per example; d = x - x0; d <- d*min(1, eps/||d||_2); x <- clamp(x0 + d, 0, 1)",
            "linf_update": "x <- x + a*sign(g); x <- clamp(x0 + clamp(x - x0, -eps, eps), 0, 1)",
            "l2_eps": L2_EPS,
            "linf_eps": LINF_EPS,
            "detail_float32": detail,
            "robust_acc_float64": robust64,
            "seconds": round(pgd_seconds, 2),
        },
        "opset": OPSET,
        "onnx_op_types": op_types,
        "onnx_nodes": nodes,
        "torch_version": torch.__version__,
        "numpy_version": np.__version__,
        "python_version": sys.version.split()[0],
        "seconds_total": round(total_seconds, 2),
    }
    with open(os.path.join(args.out, "meta.json"), "w") as f:
        json.dump(meta, f, indent=2)
        f.write("\n")

    for name in sorted(os.listdir(args.out)):
        p = os.path.join(args.out, name)
        if name != "README.md":
            log(f"  {name:20s} {os.path.getsize(p):9d} B  sha256 {sha256(p)[:16]}")
    log(f"done in {total_seconds:.1f} s")


if __name__ == "__main__":
    main()
