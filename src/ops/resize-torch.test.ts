// Resize linear/cubic outputs and input gradients against PyTorch's F.interpolate (Debian python3-torch), references made here.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { test } from "node:test";
import { promisify } from "node:util";
import { grad } from "../autodiff/grad.js";
import { Builder } from "../builder/builder.js";
import { Graph } from "../ir/graph.js";
import { tensor } from "../ir/tensor.js";
import { nodeExecutor } from "../runtime/node.js";
import type { ResizeAttrs } from "./attrs.js";

const run = promisify(execFile);
const PYTHON = process.env.ROBUSTLENS_PYTHON ?? "/usr/bin/python3";

interface Ref {
  name: string;
  torch: { mode: string; align_corners: boolean; size?: number[]; scale?: number };
  x: number[];
  dy: number[];
  y: number[];
  dx: number[];
  yshape: number[];
}

const SHAPE = [2, 3, 5, 7];
const CONFIGS = [
  { mode: "bilinear", align_corners: false, size: [9, 12] },
  { mode: "bilinear", align_corners: false, size: [3, 4] },
  { mode: "bilinear", align_corners: false, scale: 2 },
  { mode: "bilinear", align_corners: true, size: [9, 12] },
  { mode: "bilinear", align_corners: true, size: [3, 4] },
  { mode: "bicubic", align_corners: false, size: [9, 12] },
  { mode: "bicubic", align_corners: false, size: [4, 5] },
  { mode: "bicubic", align_corners: true, size: [9, 12] },
];

// float64 in PyTorch for the reference; the graph runs in float32
const SCRIPT = `
import json, sys, torch
import torch.nn.functional as F
torch.manual_seed(0)
shape, configs = json.loads(sys.argv[1])
out = []
for c in configs:
    x = torch.randn(*shape, dtype=torch.float64, requires_grad=True)
    kw = {"size": tuple(c["size"])} if "size" in c else {"scale_factor": c["scale"]}
    y = F.interpolate(x, mode=c["mode"], align_corners=c["align_corners"], **kw)
    dy = torch.randn_like(y)
    (y * dy).sum().backward()
    out.append({"name": json.dumps(c), "torch": c, "x": x.detach().flatten().tolist(), "dy": dy.flatten().tolist(),
                "y": y.detach().flatten().tolist(), "dx": x.grad.flatten().tolist(), "yshape": list(y.shape)})
print(json.dumps(out))
`;

async function references(): Promise<Ref[]> {
  const { stdout } = await run(PYTHON, ["-c", SCRIPT, JSON.stringify([SHAPE, CONFIGS])], { maxBuffer: 1 << 26 }).catch(
    (e: { stderr?: string }) => {
      throw new Error(
        `PyTorch reference failed (${PYTHON}, needs python3-torch): ${String(e.stderr ?? e)
          .split("\n")
          .slice(-2)
          .join(" ")}`,
      );
    },
  );
  return JSON.parse(stdout) as Ref[];
}

/** How torch.onnx exports F.interpolate: pytorch_half_pixel unless align_corners; bicubic is cubic with A = −0.75, edges clamped. */
function onnxAttrs(t: Ref["torch"]): ResizeAttrs {
  return {
    mode: t.mode === "bilinear" ? "linear" : "cubic",
    coordinate_transformation_mode: t.align_corners ? "align_corners" : "pytorch_half_pixel",
    ...(t.mode === "bicubic" ? { cubic_coeff_a: -0.75, exclude_outside: 0 } : {}),
  };
}

/** Largest |a − b| relative to the largest |b|. */
const relErr = (a: ArrayLike<number>, b: readonly number[]): number => {
  const scale = Math.max(...b.map(Math.abs));
  let worst = 0;
  for (let i = 0; i < b.length; i++) worst = Math.max(worst, Math.abs(Number(a[i]) - b[i]!));
  return worst / scale;
};

test("Resize linear and cubic match F.interpolate bilinear/bicubic (align_corners true and false): outputs and input gradients", async () => {
  const refs = await references();
  assert.equal(refs.length, CONFIGS.length);
  for (const r of refs) {
    const graph = new Graph();
    const g = new Builder(graph);
    const x = graph.addInput("x", "float32", SHAPE);
    const target = r.torch.size
      ? [null, g.int64s([SHAPE[0]!, SHAPE[1]!, ...r.torch.size])]
      : [g.constant(tensor("float32", [4], [1, 1, r.torch.scale!, r.torch.scale!])), null];
    const y = g.one("Resize", [x, null, ...target], onnxAttrs(r.torch));
    assert.deepEqual(y.shape, r.yshape, r.name);
    const loss = g.reduceSum(g.mul(y, g.constant(tensor("float32", r.yshape, r.dy))), [], false);
    graph.outputs = [y, loss];
    const gr = grad(graph, { loss, wrt: [x] });
    const prog = await nodeExecutor.compile(gr.graph);
    try {
      const out = await prog.run({ x: tensor("float32", SHAPE, r.x) });
      const ey = relErr(out[y.name]!.data as Float32Array, r.y),
        edx = relErr(out[gr.grads[0]!.name]!.data as Float32Array, r.dx);
      assert.ok(ey < 1e-4, `${r.name}: output relative error ${ey}`);
      assert.ok(edx < 1e-4, `${r.name}: input gradient relative error ${edx}`);
    } finally {
      await prog.dispose();
    }
  }
});
