import assert from "node:assert/strict";
import { test } from "node:test";
import { grad } from "../autodiff/grad.js";
import { Builder } from "../builder/builder.js";
import { Graph, type Value } from "../ir/graph.js";
import { type Tensor, tensor, toNumbers } from "../ir/tensor.js";
import { checkGradient, randomTensor } from "../testing/gradcheck.js";
import { fitGraph, validateGraph } from "./fit.js";
import { NodeExecutor, nodeExecutor } from "./node.js";
import { CPU_PROFILE, WEBGPU_PROFILE, parseBackend, runs } from "../ops/profile.js";
import { Rng } from "../util/rng.js";

const webgpuOnCpu = new NodeExecutor({ profile: WEBGPU_PROFILE });

/** A graph of the given inputs whose single output `build` makes. */
function graphOf(inputs: Record<string, Tensor>, build: (g: Builder, x: Record<string, Value>) => Value): Graph {
  const graph = new Graph();
  const g = new Builder(graph);
  const xs: Record<string, Value> = {};
  for (const [k, t] of Object.entries(inputs)) xs[k] = graph.addInput(k, t.dtype, [...t.shape]);
  graph.outputs = [g.identity(build(g, xs), "out")];
  return graph;
}

async function runOn(exec: NodeExecutor, graph: Graph, feeds: Record<string, Tensor>): Promise<number[]> {
  const p = await exec.compile(graph);
  try {
    return toNumbers((await p.run(feeds)).out!);
  } finally {
    await p.dispose();
  }
}

const x = tensor("float32", [2, 5], [0, -0, 1.5, -2, 3e-8, 1000, 998, -1000, 0.5, 999]);
const y = tensor("float32", [1, 5], [0.5, 0, 1.5, -3, 4]);
const z = tensor("float32", [2, 1], [-1, 2]);
const LOWERED: [string, (g: Builder, v: Record<string, Value>) => Value, number][] = [
  ["Sign", (g, v) => g.sign(v.x!), 0],
  ["LogSoftmax axis 1 (logits near 1000: shifted, no overflow)", (g, v) => g.logSoftmax(v.x!, 1), 1e-6],
  ["LogSoftmax axis 0", (g, v) => g.logSoftmax(v.x!, 0), 1e-6],
  ["Max of three, broadcast", (g, v) => g.one("Max", [v.x!, v.y!, v.z!], {}), 0],
  ["Min of two, broadcast", (g, v) => g.one("Min", [v.x!, v.y!], {}), 0],
  ["Sum of three, broadcast", (g, v) => g.sum([v.x!, v.y!, v.z!]), 0],
  ["Mean of two", (g, v) => g.one("Mean", [v.x!, v.y!], {}), 1e-7],
  ["Clip with only a lower bound", (g, v) => g.clip(v.x!, g.scalar(0.5), null), 0],
];

test("webgpu lowerings compute what the CPU ops compute, on ORT CPU", async () => {
  for (const [what, build, tol] of LOWERED) {
    const graph = graphOf({ x, y, z }, build);
    const fitted = fitGraph(graph, WEBGPU_PROFILE);
    const op = graph.nodes[0]!.op;
    assert.ok(
      fitted !== graph && !fitted.nodes.some((n) => n.op === op && n.inputs.length === graph.nodes[0]!.inputs.length),
      `${what}: ${op} is rewritten`,
    );
    assert.deepEqual(
      fitted.outputs.map((v) => v.name),
      ["out"],
      `${what}: output names kept`,
    );
    const a = await runOn(nodeExecutor, graph, { x, y, z });
    const b = await runOn(webgpuOnCpu, graph, { x, y, z });
    assert.ok(a.every(Number.isFinite), `${what}: finite on CPU`);
    a.forEach((v, i) => assert.ok(Math.abs(v - b[i]!) <= tol * Math.max(1, Math.abs(v)), `${what} element ${i}: ${v} vs ${b[i]}`));
  }
});

test("training-mode BatchNormalization rewritten from batch statistics gives ORT's outputs and running statistics", async () => {
  const rng = new Rng(3);
  const [n, c, h, w] = [4, 3, 5, 5];
  const xb = tensor(
    "float32",
    [n, c, h, w],
    Array.from({ length: n * c * h * w }, () => 2 * rng.normal() + 1),
  );
  const graph = new Graph();
  const g = new Builder(graph);
  const xv = graph.addInput("x", "float32", [n, c, h, w]);
  const p = (v: number[]) => g.constant(tensor("float32", [c], v));
  graph.outputs = g.add(
    "BatchNormalization",
    [xv, p([1, 2, 0.5]), p([0, 1, -1]), p([0.1, 0.2, 0.3]), p([1, 2, 3])],
    { training_mode: 1, momentum: 0.8, epsilon: 1e-3 },
    { outputs: 3 },
  );
  assert.ok(!fitGraph(graph, WEBGPU_PROFILE).nodes.some((m) => m.op === "BatchNormalization"));
  const [a, b] = await Promise.all(
    [nodeExecutor, webgpuOnCpu].map(async (e) => {
      const q = await e.compile(graph);
      try {
        return await q.run({ x: xb });
      } finally {
        await q.dispose();
      }
    }),
  );
  for (const v of graph.outputs) {
    const ta = toNumbers(a![v.name]!),
      tb = toNumbers(b![v.name]!);
    ta.forEach((u, i) => assert.ok(Math.abs(u - tb[i]!) <= 1e-5 * Math.max(1, Math.abs(u)), `${v.name}[${i}]: ${u} vs ${tb[i]}`));
  }
});

test("a lowered node that is itself a graph output keeps its name", async () => {
  const graph = new Graph();
  const g = new Builder(graph);
  const xv = graph.addInput("x", "float32", [2, 5]);
  graph.outputs = [g.one("Sign", [xv], {}, "sign_out")];
  const fitted = fitGraph(graph, WEBGPU_PROFILE);
  assert.deepEqual(
    fitted.outputs.map((v) => v.name),
    ["sign_out"],
  );
  const p = await webgpuOnCpu.compile(graph);
  try {
    assert.deepEqual(
      toNumbers((await p.run({ x })).sign_out!),
      toNumbers(x).map((v) => (v > 0 ? 1 : v < 0 ? -1 : 0)),
    );
  } finally {
    await p.dispose();
  }
});

test("gradients through lowered ops (cross-entropy's LogSoftmax, the Sum of fan-out) pass finite differences", async () => {
  const logits = randomTensor("float32", [3, 4], { lo: -3, hi: 3, seed: 4 });
  await checkGradient({
    inputs: { a: logits },
    build: (g, v) => {
      const ls = g.logSoftmax(v.a!, 1);
      return g.one("Max", [g.mul(ls, ls), g.addv(ls, v.a!)], {});
    },
    profile: WEBGPU_PROFILE,
    eps: 1e-3,
  });
});

test("the CPU profile leaves graphs untouched (same object, so CPU programs are bit-identical)", () => {
  const graph = graphOf({ x }, (g, v) => g.logSoftmax(g.sign(v.x!), 1));
  assert.equal(fitGraph(graph, CPU_PROFILE), graph);
});

test("validation names the op, the node and why: no kernel, Indices, training-mode BN without its rewrite", async () => {
  const unpool = graphOf({ x: tensor("float32", [1, 1, 4, 4], new Array(16).fill(1)) }, (g, v) => {
    const [y, idx] = g.add("MaxPool", [v.x!], { kernel_shape: [2, 2], strides: [2, 2] }, { outputs: 2 });
    return g.one("MaxUnpool", [y!, idx!], { kernel_shape: [2, 2], strides: [2, 2] }, "unpool");
  });
  assert.throws(
    () => validateGraph(unpool, WEBGPU_PROFILE),
    /^Error: webgpu: op MaxPool \(node "maxpool"\) with the Indices output fails at run time .*1 more node\(s\) cannot run either \(MaxUnpool\)/,
  );
  await assert.rejects(webgpuOnCpu.compile(unpool), /webgpu: op MaxPool \(node "maxpool"\)/);
  const justUnpool = graphOf(
    { x: tensor("float32", [1, 1, 2, 2], [1, 2, 3, 4]), i: tensor("int64", [1, 1, 2, 2], [0, 3, 8, 15]) },
    (g, v) => g.one("MaxUnpool", [v.x!, v.i!], { kernel_shape: [2, 2], strides: [2, 2] }, "unpool"),
  );
  assert.throws(
    () => validateGraph(justUnpool, WEBGPU_PROFILE),
    /^Error: webgpu: op MaxUnpool \(node "unpool"\) has no kernel in ONNX Runtime's WebGPU/,
  );
  const c = 2,
    p = (v: number[]) => tensor("float32", [c], v);
  const bn = graphOf(
    { x: tensor("float32", [2, c, 1, 1], [1, 2, 3, 4]) },
    (g, v) =>
      g.add(
        "BatchNormalization",
        [v.x!, g.constant(p([1, 1])), g.constant(p([0, 0])), g.constant(p([0, 0])), g.constant(p([1, 1]))],
        { training_mode: 1 },
        { name: "bn1", outputs: 3 },
      )[0]!,
  );
  assert.throws(
    () => validateGraph(bn, WEBGPU_PROFILE),
    /webgpu: op BatchNormalization \(node "bn1"\) with training_mode=1 fails at run time/,
  );
  for (const gr of [unpool, justUnpool, bn]) validateGraph(gr, CPU_PROFILE);
});

test("profile queries and device names", () => {
  assert.ok(runs(CPU_PROFILE, "MaxPool", { kernel_shape: [2, 2] }, 2));
  assert.ok(runs(WEBGPU_PROFILE, "MaxPool", { kernel_shape: [2, 2] }, 1));
  assert.ok(!runs(WEBGPU_PROFILE, "MaxPool", { kernel_shape: [2, 2] }, 2));
  for (const op of ["Sign", "LogSoftmax", "MaxUnpool", "ScatterElements", "TopK", "Max", "Sum"] as const)
    assert.ok(!runs(WEBGPU_PROFILE, op), op);
  assert.equal(parseBackend("webgpu"), "webgpu");
  assert.throws(() => parseBackend("cuda"), /--device must be cpu or webgpu, got "cuda"/);
});

test("grad on the webgpu profile builds a MaxPool gradient that validates (no Indices, no MaxUnpool)", () => {
  const graph = graphOf({ x: tensor("float32", [1, 1, 4, 4], new Array(16).fill(0)) }, (g, v) =>
    g.reduceSum(g.one("MaxPool", [v.x!], { kernel_shape: [2, 2], strides: [2, 2] }), [], false),
  );
  const gr = grad(graph, { loss: graph.outputs[0]!, wrt: ["x"], profile: WEBGPU_PROFILE });
  validateGraph(fitGraph(gr.graph, WEBGPU_PROFILE), WEBGPU_PROFILE);
  const cpu = grad(graph, { loss: graph.outputs[0]!, wrt: ["x"] });
  assert.throws(() => validateGraph(cpu.graph, WEBGPU_PROFILE), /op MaxPool .* with the Indices output/);
});
