#!/usr/bin/python3
"""robustness-library checkpoint -> ONNX with the normalizer inside, for `robustlens convert --from robustness`.

Run with Debian's Python (python3-torch, python3-onnx):

    /usr/bin/python3 scripts/robustness_convert.py --ckpt CKPT.pt --arch resnet50 --dataset imagenet --work DIR

writes DIR/model.onnx (input "input" N x 3 x H x W in [0,1], output "logits"), DIR/info.json (classes, mean, std, epoch,
input size), DIR/probe_x.npy and DIR/probe_logits.npy (PyTorch's logits for a few seeded images, for the caller's check).
Errors are one line on stderr starting with "error: " (exit 2). The checkpoint's pickle is
restricted to tensors and containers unless --trust-pickle is given, so a checkpoint cannot run code unless the user says it may.
"""
import argparse
import json
import os
import pickle
import sys
import types

import numpy as np
import torch
import torch.nn as nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from robustness_archs import HEAD, family  # noqa: E402

SIZES = {"cifar": 32, "imagenet": 224}
PREFIXES = ("module.model.", "model.")


class Failure(Exception):
    pass


def shape(t):
    return "[" + ", ".join(str(d) for d in t.shape) + "]"


class Normalized(nn.Module):
    """(x - mean) / std, then the classifier (the robustness library's InputNormalize without its [0,1] clamp)."""

    def __init__(self, net, mean, std):
        super().__init__()
        self.net = net
        self.register_buffer("mean", mean.reshape(1, -1, 1, 1).float())
        self.register_buffer("std", std.reshape(1, -1, 1, 1).float())

    def forward(self, x):
        return self.net((x - self.mean) / self.std)


class _Restricted(pickle.Unpickler):
    """Resolves only the globals a checkpoint of tensors needs (torch 1.13's weights_only loader refuses plain floats)."""

    ALLOWED = {("collections", "OrderedDict"), ("torch._utils", "_rebuild_tensor_v2"), ("torch._utils", "_rebuild_parameter"),
               ("torch", "Size"), ("torch", "device"), ("numpy.core.multiarray", "scalar"), ("numpy", "dtype"),
               ("builtins", "set"), ("builtins", "frozenset"), ("builtins", "slice")}

    def find_class(self, module, name):
        if (module, name) in self.ALLOWED or (module == "torch" and name.endswith("Storage")):
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"global {module}.{name} is not allowed")


RESTRICTED = types.SimpleNamespace(Unpickler=_Restricted, load=lambda f, **kw: _Restricted(f, **kw).load(), __name__="restricted")


def restricted_load(path):
    """torch.load through _Restricted (Debian's torch 1.13 ignores torch.load's pickle_module, hence its own loaders)."""
    ser = torch.serialization
    if not all(hasattr(ser, f) for f in ("_is_zipfile", "_open_zipfile_reader", "_load", "_legacy_load")):
        return torch.load(path, map_location="cpu", weights_only=True)
    with open(path, "rb") as f:
        if ser._is_zipfile(f):
            with ser._open_zipfile_reader(f) as z:
                return ser._load(z, "cpu", RESTRICTED, encoding="utf-8")
        return ser._legacy_load(f, "cpu", RESTRICTED, encoding="utf-8")


def load_checkpoint(path, trust):
    try:
        ck = torch.load(path, map_location="cpu") if trust else restricted_load(path)
    except FileNotFoundError:
        raise Failure(f"{path}: no such file")
    except IsADirectoryError:
        raise Failure(f"{path}: is a directory, not a checkpoint")
    except Exception as e:  # noqa: BLE001 - torch raises many kinds for a bad file
        msg = str(e).splitlines()[0] if str(e) else type(e).__name__
        if not trust and isinstance(e, pickle.UnpicklingError) and "is not allowed" in msg:
            raise Failure(f"{path}: holds pickled objects other than tensors and containers ({msg[:160]}); "
                          "if you trust the file, pass --trust-pickle")
        raise Failure(f"{path}: not a PyTorch checkpoint torch.load can read ({type(e).__name__}: {msg[:200]})")
    sd = ck.get("model", ck.get("state_dict")) if isinstance(ck, dict) else None
    if sd is None and isinstance(ck, dict) and any(isinstance(k, str) and k.startswith("module.") for k in ck):
        sd = ck
    if not isinstance(sd, dict):
        keys = ", ".join(map(str, list(ck)[:6])) if isinstance(ck, dict) else type(ck).__name__
        raise Failure(f"{path}: not a robustness-library checkpoint (expected a dict with 'model'; found {keys})")
    epoch = ck.get("epoch") if isinstance(ck, dict) else None
    return sd, (int(epoch) if isinstance(epoch, (int, float)) or torch.is_tensor(epoch) else None)


def split(sd, path):
    """The classifier's and the normalizer's tensors, prefixes stripped (attacker.* duplicates ignored)."""
    prefix = next((p for p in PREFIXES if any(k.startswith(p) for k in sd)), None)
    if prefix is None:
        some = ", ".join(list(sd)[:3])
        raise Failure(f"{path}: no module.model.* keys: not a robustness-library checkpoint (keys: {some}, ...)")
    norm = prefix.replace("model.", "normalizer.")
    model = {k[len(prefix):]: v for k, v in sd.items() if k.startswith(prefix)}
    for key in ("new_mean", "new_std"):
        if norm + key not in sd:
            raise Failure(f"{path}: key {norm}{key} is missing (the robustness library stores its normalizer there)")
    return prefix, model, sd[norm + "new_mean"].float().flatten(), sd[norm + "new_std"].float().flatten()


def fit(net, weights, prefix, path, what):
    """Loads weights into net after checking every key and shape; the first problem is one line naming key and shape."""
    want = {k: v for k, v in net.state_dict().items() if not k.endswith("num_batches_tracked")}
    for k, v in want.items():
        if k not in weights:
            raise Failure(f"{path}: {what} needs key {prefix}{k} {shape(v)}, which the checkpoint lacks "
                          f"(it has {len(weights)} keys under {prefix}; check --arch and --dataset)")
        if tuple(weights[k].shape) != tuple(v.shape):
            raise Failure(f"{path}: key {prefix}{k} has shape {shape(weights[k])}, {what} expects {shape(v)} "
                          "(check --arch and --dataset)")
    extra = [k for k in weights if k not in want and not k.endswith("num_batches_tracked")]
    if extra:
        raise Failure(f"{path}: key {prefix}{extra[0]} {shape(weights[extra[0]])} is not part of {what} "
                      f"({len(extra)} such keys; check --arch and --dataset)")
    for k, v in weights.items():
        if not torch.is_floating_point(v) and not k.endswith("num_batches_tracked"):
            raise Failure(f"{path}: key {prefix}{k} is {v.dtype}, expected floating point")
    net.load_state_dict({k: weights[k].float() for k in want}, strict=False)
    for k, v in net.state_dict().items():
        if torch.is_floating_point(v) and not torch.isfinite(v).all():
            raise Failure(f"{path}: key {prefix}{k} {shape(v)} holds non-finite values")


def class_names(dataset, n):
    if dataset == "imagenet" and n == 1000:
        try:
            from torchvision.models._meta import _IMAGENET_CATEGORIES
            return list(_IMAGENET_CATEGORIES)
        except ImportError:
            return None
    return None  # CIFAR-10's names come from robustlens' catalog; other class counts stay unnamed


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ckpt", required=True)
    ap.add_argument("--arch", required=True)
    ap.add_argument("--dataset", required=True, choices=sorted(SIZES))
    ap.add_argument("--work", required=True)
    ap.add_argument("--probe", type=int, default=2)
    ap.add_argument("--opset", type=int, default=17)
    ap.add_argument("--trust-pickle", action="store_true")
    a = ap.parse_args()
    torch.set_num_threads(max(1, min(4, os.cpu_count() or 1)))
    try:
        fam, build = family(a.arch, a.dataset)
    except ValueError as e:
        raise Failure(str(e))
    sd, epoch = load_checkpoint(a.ckpt, a.trust_pickle)
    prefix, weights, mean, std = split(sd, a.ckpt)
    head = weights.get(HEAD[fam])
    what = f"--arch {a.arch} --dataset {a.dataset}"
    if head is None or head.dim() != 2:
        raise Failure(f"{a.ckpt}: {what} needs key {prefix}{HEAD[fam]} (the final Linear), which the checkpoint lacks "
                      "(check --arch and --dataset)")
    classes = int(head.shape[0])
    if mean.numel() != 3 or std.numel() != 3 or not (std > 0).all():
        raise Failure(f"{a.ckpt}: normalizer new_mean {shape(mean)} / new_std {shape(std)} must be 3 values, std > 0")
    net = build(classes)
    fit(net, weights, prefix, a.ckpt, what)
    model = Normalized(net, mean, std).eval()
    size = SIZES[a.dataset]
    g = torch.Generator().manual_seed(0)
    x = torch.rand(a.probe, 3, size, size, generator=g)
    with torch.no_grad():
        logits = model(x)
    if not torch.isfinite(logits).all():
        raise Failure(f"{a.ckpt}: the converted model gives non-finite logits on random images")
    os.makedirs(a.work, exist_ok=True)
    torch.onnx.export(model, x[:1], os.path.join(a.work, "model.onnx"), opset_version=a.opset, input_names=["input"],
                      output_names=["logits"], dynamic_axes={"input": {0: "N"}, "logits": {0: "N"}},
                      do_constant_folding=True)
    np.save(os.path.join(a.work, "probe_x.npy"), x.numpy())
    np.save(os.path.join(a.work, "probe_logits.npy"), logits.numpy())
    info = {"classes": classes, "class_names": class_names(a.dataset, classes), "mean": mean.tolist(), "std": std.tolist(),
            "epoch": epoch, "input": [3, size, size], "torch": torch.__version__, "keys_prefix": prefix}
    with open(os.path.join(a.work, "info.json"), "w") as f:
        json.dump(info, f)


if __name__ == "__main__":
    try:
        main()
    except Failure as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(2)
