import assert from "node:assert/strict";
import { test } from "node:test";
import { Builder } from "../builder/builder.js";
import { Graph, type Value } from "../ir/graph.js";
import { type Tensor, tensor, toNumbers } from "../ir/tensor.js";
import { nodeExecutor } from "../runtime/node.js";
import { checkGradient, randomTensor } from "../testing/gradcheck.js";
import { grad } from "./grad.js";

const POOL = { kernel_shape: [2, 2], strides: [2, 2] };

/** 2x → relu → (identity →) maxpool → weighted sum; `block` puts an Identity between relu and pool, which stops the swap. */
function model(block: boolean, extraOutput = false): { graph: Graph; loss: Value } {
  const graph = new Graph();
  const b = new Builder(graph);
  const x = graph.addInput("x", "float32", [2, 3, 8, 8]);
  let h = b.relu(b.mul(x, b.scalarLike(2, x)));
  if (extraOutput) graph.outputs.push(h);
  if (block) h = b.identity(h);
  const p = b.one("MaxPool", [h], POOL);
  const loss = b.reduceSum(b.mul(p, b.constant(randomTensor("float32", [2, 3, 4, 4], { seed: 3 }), "u")), [], false);
  return { graph, loss };
}

async function gradients(block: boolean, x: Tensor): Promise<{ order: string[]; dx: number[]; loss: number }> {
  const { graph, loss } = model(block);
  const r = grad(graph, { loss, wrt: [graph.inputs[0]!] });
  const prog = await nodeExecutor.compile(r.graph);
  try {
    const out = await prog.run({ x });
    return {
      // the forward pair (the MaxPool VJP adds a MaxPool with indices later)
      order: r.graph.nodes
        .map((n) => n.op)
        .filter((op) => op === "Relu" || op === "MaxPool")
        .slice(0, 2),
      dx: toNumbers(out[r.grads[0]!.name]!),
      loss: Number(out[r.loss.name]!.data[0]),
    };
  } finally {
    await prog.dispose();
  }
}

test("poolBeforeRelu: Relu → MaxPool runs as MaxPool → Relu, with the same loss and input gradient", async () => {
  // shifted down so that many 2×2 windows are all negative (their gradient must stay 0)
  const x = tensor(
    "float32",
    [2, 3, 8, 8],
    toNumbers(randomTensor("float32", [2, 3, 8, 8], { seed: 5 })).map((v) => v - 0.6),
  );
  const swapped = await gradients(false, x),
    kept = await gradients(true, x);
  assert.deepEqual(swapped.order, ["MaxPool", "Relu"]);
  assert.deepEqual(kept.order, ["Relu", "MaxPool"]);
  assert.ok(Math.abs(swapped.loss - kept.loss) <= 1e-6 * Math.abs(kept.loss));
  // windows whose four inputs are all negative exist, and get no gradient
  const xs = toNumbers(x);
  // the four flat input indices of each 2×2 window of the [2·3, 8, 8] input
  const windows = [...Array(2 * 3 * 4 * 4).keys()].map((k) => {
    const base = Math.floor(k / 16) * 64 + Math.floor((k % 16) / 4) * 16 + (k % 4) * 2;
    return [0, 1, 8, 9].map((o) => base + o);
  });
  const dead = windows.filter((w) => w.every((i) => xs[i]! < 0));
  assert.ok(dead.length >= 5, `only ${dead.length} all-negative windows`);
  for (const w of dead) for (const i of w) assert.ok(swapped.dx[i] === 0);
  swapped.dx.forEach((v, i) => assert.ok(Math.abs(v - kept.dx[i]!) <= 1e-6, `dx[${i}]: ${v} vs ${kept.dx[i]}`));
});

test("poolBeforeRelu: a ReLU output that is a graph output, or pooled in ceil mode, stays where it is", () => {
  const { graph, loss } = model(false, true);
  const ops = grad(graph, { loss, wrt: [graph.inputs[0]!] }).graph.nodes.map((n) => n.op);
  assert.ok(ops.indexOf("Relu") < ops.indexOf("MaxPool"));
  const g2 = new Graph();
  const b = new Builder(g2);
  const x = g2.addInput("x", "float32", [1, 1, 5, 5]);
  const l = b.reduceSum(b.one("MaxPool", [b.relu(x)], { ...POOL, ceil_mode: 1 }), [], false);
  const ops2 = grad(g2, { loss: l, wrt: [x] }).graph.nodes.map((n) => n.op);
  assert.ok(ops2.indexOf("Relu") < ops2.indexOf("MaxPool"));
});

test("poolBeforeRelu: the swapped gradient passes the numerical check (float64, overlapping windows)", async () => {
  await checkGradient({
    inputs: { x: randomTensor("float64", [1, 2, 7, 7], { seed: 9, avoid: [0.2] }) },
    build: (g, { x }) =>
      g.one("MaxPool", [g.relu(g.addv(x!, g.scalarLike(-0.2, x!)))], { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] }),
  });
});

/** conv → inference BN (random statistics) → relu → weighted sum, weights fed as inputs; `block` stops the fold. */
async function bnGradients(block: boolean): Promise<{ ops: string[]; dx: number[]; loss: number; withW: string[] }> {
  const graph = new Graph();
  const b = new Builder(graph);
  const x = graph.addInput("x", "float32", [2, 3, 6, 6]);
  const w = graph.addInput("w", "float32", [4, 3, 3, 3]);
  const stats = ["gamma", "beta", "mean", "var"].map((n) => graph.addInput(n, "float32", [4]));
  let y = b.conv(x, w, graph.addInitializer("bias", randomTensor("float32", [4], { seed: 8 })), { pads: [1, 1, 1, 1] });
  if (block) y = b.identity(y);
  const bn = b.one("BatchNormalization", [y, ...stats], { epsilon: 1e-3 });
  const loss = b.reduceSum(b.mul(b.relu(bn), b.constant(randomTensor("float32", [2, 4, 6, 6], { seed: 6 }), "u")), [], false);
  const r = grad(graph, { loss, wrt: [x] });
  const prog = await nodeExecutor.compile(r.graph);
  try {
    const feeds = {
      x: randomTensor("float32", [2, 3, 6, 6], { seed: 1 }),
      w: randomTensor("float32", [4, 3, 3, 3], { seed: 2 }),
      gamma: randomTensor("float32", [4], { seed: 3 }),
      beta: randomTensor("float32", [4], { seed: 4 }),
      mean: randomTensor("float32", [4], { seed: 5 }),
      var: randomTensor("float32", [4], { lo: 0.5, hi: 2, seed: 7 }),
    };
    const out = await prog.run(feeds);
    return {
      ops: r.graph.nodes.map((n) => n.op),
      dx: toNumbers(out[r.grads[0]!.name]!),
      loss: Number(out[r.loss.name]!.data[0]),
      // differentiated weights keep their BN (a folded weight would carry no gradient back to w)
      withW: grad(graph, { loss, wrt: [x, w] }).graph.nodes.map((n) => n.op),
    };
  } finally {
    await prog.dispose();
  }
}

test("foldBatchNorm: Conv → inference BN runs as one Conv on folded weights, with the same loss and gradients", async () => {
  const folded = await bnGradients(false),
    kept = await bnGradients(true);
  assert.ok(!folded.ops.includes("BatchNormalization"));
  assert.ok(kept.ops.includes("BatchNormalization"));
  assert.ok(folded.withW.includes("BatchNormalization"));
  assert.ok(Math.abs(folded.loss - kept.loss) <= 1e-5 * Math.abs(kept.loss));
  const scale = Math.max(...kept.dx.map(Math.abs));
  folded.dx.forEach((v, i) => assert.ok(Math.abs(v - kept.dx[i]!) <= 1e-5 * scale, `dx[${i}]: ${v} vs ${kept.dx[i]}`));
});

test("foldBatchNorm: training-mode BN is left alone", () => {
  const graph = new Graph();
  const b = new Builder(graph);
  const x = graph.addInput("x", "float32", [2, 3, 4, 4]);
  const w = graph.addInitializer("w", randomTensor("float32", [4, 3, 3, 3], { seed: 2 }));
  const s = [1, 0, 0, 1].map((v, i) => graph.addInitializer(`s${i}`, tensor("float32", [4], new Array(4).fill(v))));
  const y = b.one("BatchNormalization", [b.conv(x, w, null, { pads: [1, 1, 1, 1] }), ...s], { training_mode: 1 });
  const ops = grad(graph, { loss: b.reduceSum(b.mul(y, y), [], false), wrt: [x] }).graph.nodes.map((n) => n.op);
  assert.ok(ops.includes("BatchNormalization"));
});
