#!/usr/bin/python3
"""A small, self-written ONNX -> PyTorch evaluator: runs an ONNX classifier with torch ops, differentiable by autograd.

Used as an independent reference for robustlens (scripts/invert_reference.py). Run with Debian's Python (python3-torch,
python3-onnx):

    from onnx_torch import OnnxModule
    m = OnnxModule("model.onnx", outputs=["logits", "rep"], fake_relu={"rep"})
    out = m(x)          # {"logits": tensor, "rep": tensor}

`fake_relu` holds Relu output value names (or Relu node names) whose backward is the identity (the robustness library's
FakeReLU). Initializers become float32 (integer ones int64) constants. Any op outside the table raises an error naming it.
"""
import math

import numpy as np
import onnx
import torch
import torch.nn.functional as F
from onnx import helper, numpy_helper


class FakeReLU(torch.autograd.Function):
    """relu forward, identity backward (dead units still receive gradient)."""

    @staticmethod
    def forward(ctx, x):
        return x.clamp(min=0)

    @staticmethod
    def backward(ctx, g):
        return g


def _const(arr):
    """numpy -> torch: floats as float32, integers as int64, bools kept."""
    arr = np.asarray(arr)
    if arr.dtype.kind == "f":
        return torch.from_numpy(np.array(arr, dtype=np.float32))
    if arr.dtype.kind in "iu":
        return torch.from_numpy(np.array(arr, dtype=np.int64))
    if arr.dtype.kind == "b":
        return torch.from_numpy(np.array(arr, dtype=np.bool_))
    raise ValueError(f"unsupported constant dtype {arr.dtype}")


def _ints(t):
    """A shape-like tensor (or None) as a list of Python ints."""
    return [int(v) for v in t.reshape(-1).tolist()]


def _spatial_pads(pads, k):
    """ONNX pads [b1..bk, e1..ek] -> (begins, ends); default zeros."""
    pads = list(pads) if pads else [0] * (2 * k)
    return pads[:k], pads[k:]


def _torch_pad_list(begins, ends):
    """(begins, ends) per spatial axis -> F.pad's list, last axis first."""
    out = []
    for b, e in zip(reversed(begins), reversed(ends)):
        out += [b, e]
    return out


def _check_auto_pad(node, a):
    mode = a.get("auto_pad", b"NOTSET")
    mode = mode.decode() if isinstance(mode, bytes) else mode
    if mode not in ("NOTSET", "VALID"):
        raise NotImplementedError(f'{node.op_type} "{node.name}": auto_pad={mode} is not supported')


def _conv(node, a, x, w, b=None):
    _check_auto_pad(node, a)
    k = w.dim() - 2
    begins, ends = _spatial_pads(a.get("pads"), k)
    strides = a.get("strides", [1] * k)
    dil = a.get("dilations", [1] * k)
    fn = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}.get(k)
    if fn is None:
        raise NotImplementedError(f'Conv "{node.name}": {k}-d convolution is not supported')
    if begins != ends:  # asymmetric padding: pad explicitly with zeros
        x = F.pad(x, _torch_pad_list(begins, ends))
        begins = [0] * k
    return fn(x, w, b, stride=strides, padding=begins, dilation=dil, groups=a.get("group", 1))


def _pool_fns(k, kind):
    return {1: (F.max_pool1d, F.avg_pool1d), 2: (F.max_pool2d, F.avg_pool2d), 3: (F.max_pool3d, F.avg_pool3d)}[k][kind]


def _pool_window(node, a):
    """kernel, spatial rank, begin/end pads, strides and ceil mode of a MaxPool/AveragePool node."""
    _check_auto_pad(node, a)
    ks = a["kernel_shape"]
    k = len(ks)
    begins, ends = _spatial_pads(a.get("pads"), k)
    return ks, k, begins, ends, a.get("strides", [1] * k), bool(a.get("ceil_mode", 0))


def _maxpool(node, a, x):
    ks, k, begins, ends, strides, ceil = _pool_window(node, a)
    dil = a.get("dilations", [1] * k)
    # torch pads at most half a kernel and symmetrically; otherwise pad with -inf explicitly
    if begins != ends or any(2 * p > kk for p, kk in zip(begins, ks)):
        x = F.pad(x, _torch_pad_list(begins, ends), value=-math.inf)
        begins = [0] * k
    return _pool_fns(k, 0)(x, ks, strides, begins, dil, ceil_mode=ceil)


def _avgpool(node, a, x):
    ks, k, begins, ends, strides, ceil = _pool_window(node, a)
    include = bool(a.get("count_include_pad", 0))
    avg = _pool_fns(k, 1)
    if begins == ends and all(2 * p <= kk for p, kk in zip(begins, ks)):
        return avg(x, ks, strides, begins, ceil_mode=ceil, count_include_pad=include)
    # general padding: window sums of the zero-padded input over window counts of (padded or real) elements
    pl = _torch_pad_list(begins, ends)
    xs = avg(F.pad(x, pl), ks, strides, 0, ceil_mode=ceil, count_include_pad=True)
    if include:
        return xs
    ones = F.pad(torch.ones_like(x[:1, :1]), pl)
    return xs / avg(ones, ks, strides, 0, ceil_mode=ceil, count_include_pad=True)


def _gemm(node, a, A, B, C=None):
    if a.get("transA", 0):
        A = A.t()
    if a.get("transB", 0):
        B = B.t()
    y = a.get("alpha", 1.0) * (A @ B)
    return y if C is None else y + a.get("beta", 1.0) * C


def _reshape(node, a, x, shape):
    shape = _ints(shape)
    if not a.get("allowzero", 0):  # 0 copies the input's dim
        shape = [x.shape[i] if s == 0 else s for i, s in enumerate(shape)]
    return x.reshape(shape)


def _flatten(node, a, x):
    axis = a.get("axis", 1)
    axis = axis + x.dim() if axis < 0 else axis
    lead = int(np.prod(x.shape[:axis])) if axis > 0 else 1
    return x.reshape(lead, -1)


def _axes_of(node, a, inputs, rank):
    """Axes from opset-13+ input 1 or the older attribute; normalized to non-negative."""
    axes = _ints(inputs[1]) if len(inputs) > 1 and inputs[1] is not None else a.get("axes")
    return None if axes is None else sorted(ax + rank if ax < 0 else ax for ax in axes)


def _unsqueeze(node, a, *inputs):
    x = inputs[0]
    raw = _ints(inputs[1]) if len(inputs) > 1 else list(a["axes"])
    rank = x.dim() + len(raw)  # axes refer to the output's rank
    for ax in sorted(v + rank if v < 0 else v for v in raw):
        x = x.unsqueeze(ax)
    return x


def _squeeze(node, a, *inputs):
    x = inputs[0]
    axes = _axes_of(node, a, inputs, x.dim())
    if axes is None:
        return x.reshape([d for d in x.shape if d != 1])
    return x.reshape([d for i, d in enumerate(x.shape) if i not in axes])


def _gather(node, a, data, idx):
    axis = a.get("axis", 0)
    axis = axis + data.dim() if axis < 0 else axis
    idx = torch.where(idx < 0, idx + data.shape[axis], idx)
    out = torch.index_select(data, axis, idx.reshape(-1))
    return out.reshape(list(data.shape[:axis]) + list(idx.shape) + list(data.shape[axis + 1:]))


def _shape(node, a, x):
    dims = list(x.shape)
    start, end = a.get("start", 0), a.get("end", len(dims))
    return torch.tensor(dims[start:end], dtype=torch.int64)


def _pad(node, a, *inputs):
    x = inputs[0]
    mode = a.get("mode", b"constant")
    mode = mode.decode() if isinstance(mode, bytes) else mode
    if mode != "constant":
        raise NotImplementedError(f'Pad "{node.name}": mode "{mode}" is not supported (only constant)')
    if len(inputs) > 1:  # opset 11+: pads, constant_value, axes as inputs
        pads = _ints(inputs[1])
        value = float(inputs[2].reshape(-1)[0]) if len(inputs) > 2 and inputs[2] is not None else 0.0
        axes = _ints(inputs[3]) if len(inputs) > 3 and inputs[3] is not None else list(range(x.dim()))
    else:
        pads, value, axes = list(a["pads"]), a.get("value", 0.0), list(range(x.dim()))
    axes = [ax + x.dim() if ax < 0 else ax for ax in axes]
    n = len(axes)
    begins, ends = [0] * x.dim(), [0] * x.dim()
    for i, ax in enumerate(axes):
        begins[ax], ends[ax] = pads[i], pads[n + i]
    return F.pad(x, _torch_pad_list(begins, ends), value=value)


def _clip(node, a, *inputs):
    x = inputs[0]
    lo = inputs[1] if len(inputs) > 1 and inputs[1] is not None else a.get("min")
    hi = inputs[2] if len(inputs) > 2 and inputs[2] is not None else a.get("max")
    if lo is not None:
        x = torch.maximum(x, torch.as_tensor(lo, dtype=x.dtype))
    if hi is not None:
        x = torch.minimum(x, torch.as_tensor(hi, dtype=x.dtype))
    return x


def _softmax(node, a, x, opset):
    if opset >= 13:
        return torch.softmax(x, a.get("axis", -1))
    axis = a.get("axis", 1)  # older opsets: softmax over the flattened trailing dims
    axis = axis + x.dim() if axis < 0 else axis
    return torch.softmax(x.reshape(int(np.prod(x.shape[:axis])), -1), 1).reshape(x.shape)


def _div(node, a, x, y):
    if x.dtype.is_floating_point or y.dtype.is_floating_point:
        return x / y
    return torch.div(x, y, rounding_mode="trunc")  # ONNX integer division truncates


def _mod(node, a, x, y):
    return torch.fmod(x, y) if a.get("fmod", 0) else torch.remainder(x, y)


def _constant(node, a):
    for key in ("value", "value_float", "value_floats", "value_int", "value_ints"):
        if key in a:
            v = a[key]
            return _const(numpy_helper.to_array(v) if key == "value" else np.array(v))
    raise NotImplementedError(f'Constant "{node.name}": only value/value_float(s)/value_int(s) are supported')


_ONNX_TO_TORCH = {1: torch.float32, 6: torch.int64, 7: torch.int64, 9: torch.bool, 11: torch.float32, 10: torch.float32}


def _cast(node, a, x):
    to = a["to"]
    if to not in _ONNX_TO_TORCH:
        raise NotImplementedError(f'Cast "{node.name}": target type {to} is not supported')
    return x.to(_ONNX_TO_TORCH[to])  # int32 -> int64 and float64/16 -> float32: shape math and float32 compute only


def _slice(node, a, x, starts, ends, axes=None, steps=None):
    starts, ends = _ints(starts), _ints(ends)
    axes = [ax + x.dim() if ax < 0 else ax for ax in _ints(axes)] if axes is not None else list(range(len(starts)))
    steps = _ints(steps) if steps is not None else [1] * len(starts)
    for s, e, ax, st in zip(starts, ends, axes, steps):
        n = x.shape[ax]
        s, e = (s + n if s < 0 else s), (e + n if e < 0 else e)
        # ONNX clamping: [0, n] for positive steps, start [0, n-1] and end [-1, n-1] for negative ones
        s, e = (max(0, min(n, s)), max(0, min(n, e))) if st > 0 else (max(0, min(n - 1, s)), max(-1, min(n - 1, e)))
        x = torch.index_select(x, ax, torch.tensor(list(range(s, e, st)), dtype=torch.int64))
    return x


def _reduce_mean(node, a, *inputs):
    x = inputs[0]
    axes = _axes_of(node, a, inputs, x.dim())
    keep = bool(a.get("keepdims", 1))
    return x.mean(dim=axes if axes is not None else list(range(x.dim())), keepdim=keep)


def _constant_of_shape(node, a, shape):
    v = _const(numpy_helper.to_array(a["value"])) if "value" in a else torch.zeros(1)
    return torch.full(_ints(shape), v.reshape(-1)[0].item(), dtype=v.dtype)


# op -> fn(node, attrs, *inputs); missing optional inputs arrive as None
_OPS = {
    "Conv": _conv,
    "BatchNormalization": None,  # needs the training-mode check, handled in _run_node
    "LeakyRelu": lambda n, a, x: F.leaky_relu(x, a.get("alpha", 0.01)),
    "Add": lambda n, a, x, y: x + y,
    "Sub": lambda n, a, x, y: x - y,
    "Mul": lambda n, a, x, y: x * y,
    "Div": _div,
    "Mod": _mod,
    "MaxPool": _maxpool,
    "AveragePool": _avgpool,
    "GlobalAveragePool": lambda n, a, x: x.mean(dim=list(range(2, x.dim())), keepdim=True),
    "Gemm": _gemm,
    "MatMul": lambda n, a, x, y: torch.matmul(x, y),
    "Flatten": _flatten,
    "Reshape": _reshape,
    "Concat": lambda n, a, *xs: torch.cat(xs, dim=a["axis"]),
    "Identity": lambda n, a, x: x,
    "Shape": _shape,
    "Gather": _gather,
    "Unsqueeze": _unsqueeze,
    "Squeeze": _squeeze,
    "Pad": _pad,
    "Clip": _clip,
    "Sigmoid": lambda n, a, x: torch.sigmoid(x),
    "Tanh": lambda n, a, x: torch.tanh(x),
    "Cast": _cast,
    "ConstantOfShape": _constant_of_shape,
    "Slice": _slice,
    "Transpose": lambda n, a, x: x.permute(a["perm"]) if "perm" in a else x.permute(list(reversed(range(x.dim())))),
    "ReduceMean": _reduce_mean,
}


class OnnxModule(torch.nn.Module):
    """Evaluates an ONNX graph with torch; forward(x) returns {name: tensor} for the requested value names."""

    def __init__(self, path, outputs=None, fake_relu=None):
        super().__init__()
        model = onnx.load(path)
        self.opset = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), 17)
        g = model.graph
        self.nodes = list(g.node)
        self.consts = {t.name: _const(numpy_helper.to_array(t)) for t in g.initializer}
        self.input_name = next(i.name for i in g.input if i.name not in self.consts)
        self.graph_outputs = [o.name for o in g.output]
        self.outputs = list(outputs) if outputs else self.graph_outputs
        produced = {o for n in self.nodes for o in n.output} | set(self.consts) | {self.input_name}
        for name in self.outputs:
            if name not in produced:
                raise KeyError(f'value "{name}" is not in the model graph ({path})')
        self.fake_relu = self._resolve_fake_relu(set(fake_relu or ()))
        self.plan = self._prune()
        for n in self.plan:
            if n.op_type not in _OPS and n.op_type not in ("Constant", "Relu", "Softmax"):
                raise NotImplementedError(f'onnx_torch: unsupported op {n.op_type}' + (f' (node "{n.name}")' if n.name else ''))
        self.attrs = [{a.name: helper.get_attribute_value(a) for a in n.attribute} for n in self.plan]

    def _resolve_fake_relu(self, names):
        """Relu output value names, accepting node names too; anything else is an error."""
        out = set()
        for name in names:
            node = next((n for n in self.nodes if name in n.output or n.name == name), None)
            if node is None or node.op_type != "Relu":
                raise KeyError(f'fake ReLU "{name}" is not a Relu node or Relu output of the graph')
            out.add(node.output[0])
        return out

    def _prune(self):
        """The nodes needed for the requested outputs, in graph (topological) order."""
        need = set(self.outputs)
        keep = []
        for n in reversed(self.nodes):
            if any(o in need for o in n.output):
                keep.append(n)
                need.update(i for i in n.input if i)
        return list(reversed(keep))

    def _run_node(self, n, a, ins):
        op = n.op_type
        if op == "Constant":
            return _constant(n, a)
        if op == "Relu":
            return FakeReLU.apply(ins[0]) if n.output[0] in self.fake_relu else F.relu(ins[0])
        if op == "Softmax":
            return _softmax(n, a, ins[0], self.opset)
        if op == "BatchNormalization":
            if a.get("training_mode", 0):
                raise NotImplementedError(f'BatchNormalization "{n.name}": training_mode=1 is not supported (inference only)')
            x, scale, bias, mean, var = ins[:5]
            return F.batch_norm(x, mean, var, scale, bias, False, 0.0, a.get("epsilon", 1e-5))
        return _OPS[op](n, a, *ins)

    def forward(self, x):
        env = dict(self.consts)
        env[self.input_name] = x
        for n, a in zip(self.plan, self.attrs):
            ins = [env[i] if i else None for i in n.input]
            while ins and ins[-1] is None:  # trailing optional inputs left out
                ins.pop()
            try:
                y = self._run_node(n, a, ins)
            except (NotImplementedError, KeyError):
                raise
            except Exception as e:  # name the node whose evaluation failed
                raise RuntimeError(f'{n.op_type} "{n.name}": {e}') from e
            if len(n.output) > 1 and any(n.output[1:]):
                raise NotImplementedError(f'{n.op_type} "{n.name}": only its first output is supported')
            env[n.output[0]] = y
        return {name: env[name] for name in self.outputs}
