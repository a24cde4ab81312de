#!/usr/bin/python3
"""PyTorch reference of representation inversion (docs/design.md section 4, the robustness library's procedure) on any ONNX model.

The model runs through scripts/onnx_torch.py (our own ONNX -> torch evaluator), so robustlens can be checked against an
independent implementation on the same exported file. Run with Debian's Python (python3-torch, python3-onnx, numpy):

    /usr/bin/python3 scripts/invert_reference.py --model M.onnx --targets T.npy --seed S.npy --steps 100 \\
        --step-size 1 --eps 1000 [--rep NAME] [--fake-relu NAME|none] [--threads 1] --out result.json [--x-out X.npy]

Per example: loss L = ||R(x) - R(t)||_2 / ||R(t)||_2 (R flattened, R(t) a constant), minimized with L2 steps
x <- x - a*g/(||g||_2 + 1e-12), g = grad of sum_i L_i (each example's gradient is its own); then delta = x - x0 is
rescaled to ||delta||_2 <= eps and x = clamp(x0 + delta, 0, 1). use_best: the loss is checked before every step and once
after the last; per example the iterate with the strictly lowest loss is returned. The fake ReLU (identity backward) is
the Relu feeding R. Defaults mirror robustlens: R = graph output "rep", else the input of the final Gemm/MatMul; the
fake ReLU = the last Relu before R through reshapes and pooling only.
The JSON holds per example "distance" (at the returned iterate), "initial" (at the seed), "last" (after the last step),
and "best_by_step" [steps+1][N]: the distance use_best would return had the run stopped after k steps.
"""
import argparse
import json
import os
import sys

import numpy as np
import onnx
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from onnx_torch import OnnxModule  # noqa: E402

# ops that move or pool activations without changing their sign pattern (src/vis/representation.ts PASS_THROUGH)
PASS_THROUGH = {"Flatten", "Reshape", "GlobalAveragePool", "AveragePool", "Identity", "ReduceMean", "Squeeze", "MaxPool"}


def default_rep(graph):
    """Graph output "rep", else the input of the final Gemm/MatMul producing output 0 (src/model/model.ts)."""
    if any(o.name == "rep" for o in graph.output):
        return "rep"
    producer = {o: n for n in graph.node for o in n.output}
    v = graph.output[0].name
    for _ in range(8):
        n = producer.get(v)
        if n is None:
            break
        if n.op_type in ("Gemm", "MatMul"):
            return n.input[0]
        if n.op_type in ("Identity", "Flatten", "Reshape"):
            v = n.input[0]
            continue
        if n.op_type == "Add":
            other = next((i for i in n.input if i in producer), None)
            if other:
                v = other
                continue
        break
    raise SystemExit(f'cannot find the representation: "{graph.output[0].name}" does not come from a final Gemm/MatMul; give --rep')


def default_fake_relu(graph, rep):
    """The output of the last Relu before `rep`, walking back through PASS_THROUGH ops only (None if none)."""
    producer = {o: n for n in graph.node for o in n.output}
    v = rep
    for _ in range(64):
        n = producer.get(v)
        if n is None:
            return None
        if n.op_type == "Relu":
            return n.output[0]
        if n.op_type not in PASS_THROUGH:
            return None
        v = n.input[0]
    return None


def rep_distance(r, rt):
    """Per-example ||r - rt||_2 / ||rt||_2 over flattened representations."""
    r, rt = r.flatten(1), rt.flatten(1)
    return torch.linalg.vector_norm(r - rt, dim=1) / torch.linalg.vector_norm(rt, dim=1)


def invert(module, rep, targets, x0, steps, step_size, eps):
    """The robustness library's targeted L2 PGD with use_best on the inversion loss.

    Returns (best x, its loss, the loss at every iterate x_0..x_steps [steps+1, N])."""
    axes = tuple(range(1, x0.dim()))
    view = (-1,) + (1,) * (x0.dim() - 1)
    with torch.no_grad():
        rt = module(targets)[rep].detach()
    loss_of = lambda x: rep_distance(module(x)[rep], rt)  # noqa: E731
    x = x0.clone()
    best_x, best_loss, trace = x0.clone(), torch.full((x0.shape[0],), float("inf")), []
    for _ in range(steps):
        x = x.detach().requires_grad_(True)
        loss = loss_of(x)
        g, = torch.autograd.grad(loss.sum(), [x])
        with torch.no_grad():
            trace.append(loss.detach().clone())
            better = loss < best_loss  # strict: an equal loss keeps the earlier iterate
            best_x[better] = x[better]
            best_loss = torch.where(better, loss, best_loss)
            gn = torch.linalg.vector_norm(g, dim=axes).view(view) + 1e-12
            x = x - step_size * g / gn  # minimizing: a step against the gradient
            d = x - x0
            dn = torch.linalg.vector_norm(d, dim=axes).view(view)
            x = torch.clamp(x0 + d * torch.clamp(eps / dn, max=1.0), 0, 1)  # eps/0 = inf keeps delta = 0
    with torch.no_grad():
        last = loss_of(x)  # the iterate after the last step competes too
        trace.append(last)
        better = last < best_loss
        best_x[better] = x[better]
        return best_x, torch.where(better, last, best_loss), torch.stack(trace)


def main():
    p = argparse.ArgumentParser(description="PyTorch reference of representation inversion on an ONNX model")
    p.add_argument("--model", required=True)
    p.add_argument("--targets", required=True, help="float32 [N,C,H,W] target images in [0,1]")
    p.add_argument("--seed", required=True, help="float32 [N,C,H,W] starting images x0 (or one image for all)")
    p.add_argument("--steps", type=int, default=100)
    p.add_argument("--step-size", type=float, default=1.0)
    p.add_argument("--eps", type=float, default=1000.0)
    p.add_argument("--rep", default=None, help='value name of R (default: output "rep", else the input of the final Gemm/MatMul)')
    p.add_argument("--fake-relu", default=None, help='Relu output value or node name passed straight through, or "none" (default: found)')
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--out", required=True, help="result JSON")
    p.add_argument("--x-out", default=None, help="returned images as float32 .npy")
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    graph = onnx.load(a.model).graph
    rep = a.rep or default_rep(graph)
    fake = default_fake_relu(graph, rep) if a.fake_relu is None else (None if a.fake_relu == "none" else a.fake_relu)
    module = OnnxModule(a.model, outputs=[rep], fake_relu={fake} if fake else None).eval()
    targets = torch.from_numpy(np.load(a.targets).astype(np.float32))
    x0 = torch.from_numpy(np.load(a.seed).astype(np.float32))
    if x0.shape[0] == 1 and targets.shape[0] != 1:
        x0 = x0.expand(targets.shape[0], *x0.shape[1:]).clone()
    if x0.shape != targets.shape:
        raise SystemExit(f"seed {list(x0.shape)} does not match targets {list(targets.shape)}")
    x, dist, trace = invert(module, rep, targets, x0, a.steps, a.step_size, a.eps)
    best_by_step = torch.cummin(trace, dim=0).values  # what use_best returns when stopped after k steps
    result = {
        "model": a.model, "rep": rep, "fake_relu": fake, "steps": a.steps, "step_size": a.step_size, "eps": a.eps,
        "torch_version": torch.__version__, "distance": dist.tolist(), "initial": trace[0].tolist(), "last": trace[-1].tolist(),
        "best_by_step": best_by_step.tolist(),
    }
    with open(a.out, "w") as f:
        json.dump(result, f, indent=1)
    if a.x_out:
        np.save(a.x_out, x.numpy().astype(np.float32))


if __name__ == "__main__":
    main()
