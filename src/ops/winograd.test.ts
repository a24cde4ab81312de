import assert from "node:assert/strict";
import { test } from "node:test";
import { grad } from "../autodiff/grad.js";
import { Builder } from "../builder/builder.js";
import { Graph } from "../ir/graph.js";
import type { Tensor } from "../ir/tensor.js";
import { type BackendProfile, PROFILES } from "./profile.js";
import { checkGradient, randomTensor } from "../testing/gradcheck.js";
import { fitGraph } from "../runtime/fit.js";
import { type WinogradTile, winogradConv, winogradEligible } from "./winograd.js";
import { maxRelDiff, runOnProfile } from "../testing/agree.js";

const rand = (shape: number[], seed: number, lo = -1, hi = 1): Tensor => randomTensor("float32", shape, { lo, hi, seed, gap: 0 });
const PLAIN: BackendProfile = PROFILES.cpu;
const everywhere = (tile: WinogradTile): BackendProfile => ({ ...PROFILES.cpu, winograd: { tile, minChannels: 1, maxPixels: 1 << 20 } });

for (const tile of [2, 4] as const) {
  test(`Winograd F(${tile}×${tile}, 3×3) equals Conv: sizes not a multiple of the tile, bias, symbolic batch`, async () => {
    for (const [c, k, h, w] of [
      [3, 8, 7, 5],
      [16, 4, 8, 8],
      [5, 6, 4, 9],
    ] as const) {
      const graph = new Graph();
      const g = new Builder(graph);
      const x = graph.addInput("x", "float32", ["batch", c, h, w]);
      const wv = graph.addInput("w", "float32", [k, c, 3, 3]);
      const b = graph.addInput("b", "float32", [k]);
      const direct = g.conv(x, wv, b, { pads: [1, 1, 1, 1] });
      const wino = winogradConv(g, x, wv, b, tile);
      graph.outputs = [direct, wino];
      const out = await runOnProfile(PLAIN, graph, { x: rand([2, c, h, w], 1), w: rand([k, c, 3, 3], 2), b: rand([k], 3) });
      const e = maxRelDiff(out[direct.name]!, out[wino.name]!);
      assert.ok(e < (tile === 2 ? 1e-5 : 1e-4), `C ${c} K ${k} ${h}×${w}: max rel diff ${e.toExponential(2)}`);
    }
  });
}

test("only 3×3 stride-1 pad-1 ungrouped Convs qualify", () => {
  const graph = new Graph();
  const g = new Builder(graph);
  const x = graph.addInput("x", "float32", [1, 4, 8, 8]);
  const w3 = graph.addInput("w3", "float32", [4, 4, 3, 3]),
    w1 = graph.addInput("w1", "float32", [4, 4, 1, 1]),
    wg = graph.addInput("wg", "float32", [4, 2, 3, 3]);
  const convs = [
    g.conv(x, w3, null, { pads: [1, 1, 1, 1] }),
    g.conv(x, w3, null, { pads: [1, 1, 1, 1], strides: [2, 2] }),
    g.conv(x, w3, null, { pads: [0, 0, 0, 0] }),
    g.conv(x, w1, null, {}),
    g.conv(x, wg, null, { pads: [1, 1, 1, 1], group: 2 }),
    g.conv(x, w3, null, { pads: [2, 2, 2, 2], dilations: [2, 2] }),
  ].map((v) => winogradEligible(v.producer!));
  assert.deepEqual(convs, [true, false, false, false, false, false]);
});

test("fitGraph's Winograd rule: forward, input and weight gradients agree with direct Conv (≤ 2e-4 relative)", async () => {
  const graph = new Graph();
  const g = new Builder(graph);
  const x = graph.addInput("x", "float32", [2, 8, 6, 6]);
  const w1 = graph.addInput("w1", "float32", [8, 8, 3, 3]),
    w2 = graph.addInput("w2", "float32", [8, 8, 3, 3]);
  const y = g.conv(g.relu(g.conv(x, w1, null, { pads: [1, 1, 1, 1] })), w2, null, { pads: [1, 1, 1, 1] });
  const loss = g.reduceSum(g.mul(y, y), [], false);
  graph.outputs = [y, loss];
  const gr = grad(graph, { loss, wrt: ["x", "w1", "w2"] });
  const fitted = fitGraph(gr.graph, everywhere(4));
  // forward convs and the stride-1 input gradients run as Winograd: no 3×3 Conv is left
  assert.equal(
    fitted.nodes.filter((n) => n.op === "Conv" && n.inputs[1]!.staticShape?.[2] === 3).length,
    0,
    "a 3×3 Conv was not rewritten",
  );
  const feeds = { x: rand([2, 8, 6, 6], 4), w1: rand([8, 8, 3, 3], 5, -0.3, 0.3), w2: rand([8, 8, 3, 3], 6, -0.3, 0.3) };
  const [a, b] = [await runOnProfile(PLAIN, gr.graph, feeds), await runOnProfile(everywhere(4), gr.graph, feeds)];
  for (const v of [y, ...gr.grads]) {
    const e = maxRelDiff(a[v.name]!, b[v.name]!);
    assert.ok(e < 2e-4, `${v.name}: Winograd vs direct max rel diff ${e.toExponential(2)}`);
  }
});

test("Winograd gradients pass a numerical gradient check", async () => {
  await checkGradient({
    inputs: { x: rand([1, 4, 5, 5], 7), w: rand([6, 4, 3, 3], 8, -0.5, 0.5) },
    build: (g, v) => g.conv(v.x!, v.w!, null, { pads: [1, 1, 1, 1] }),
    profile: everywhere(4),
  });
});
