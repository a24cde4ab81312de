import assert from "node:assert/strict";
import { test } from "node:test";
import { Builder } from "../builder/builder.js";
import { Graph } from "../ir/graph.js";
import { tensor } from "../ir/tensor.js";
import { nodeExecutor } from "./node.js";

test("Program.run never changes the caller's tensors (training-mode BatchNormalization without statistics outputs)", async () => {
  const graph = new Graph();
  const g = new Builder(graph);
  const x = graph.addInput("x", "float32", [2, 3, 2, 2]);
  const [scale, bias, mean, vr] = ["scale", "bias", "mean", "var"].map((n) => graph.addInput(n, "float32", [3]));
  const [y] = g.add(
    "BatchNormalization",
    [x, scale!, bias!, mean!, vr!],
    { epsilon: 1e-5, momentum: 0.9, training_mode: 1 },
    { name: "bn", outputs: 3 },
  );
  graph.outputs = [y!];
  const prog = await nodeExecutor.compile(graph);
  const feeds = {
    x: tensor(
      "float32",
      [2, 3, 2, 2],
      Float32Array.from({ length: 24 }, (_, i) => Math.sin(i) * 3 + 1),
    ),
    scale: tensor("float32", [3], [1, 2, 3]),
    bias: tensor("float32", [3], [0, 0.5, 1]),
    mean: tensor("float32", [3], [0.1, 0.2, 0.3]),
    var: tensor("float32", [3], [1, 1.5, 2]),
  };
  const before = Object.fromEntries(Object.entries(feeds).map(([k, t]) => [k, Array.from(t.data as Float32Array)]));
  const first = Array.from((await prog.run(feeds))[y!.name]!.data as Float32Array);
  const second = Array.from((await prog.run(feeds))[y!.name]!.data as Float32Array);
  await prog.dispose();
  for (const [k, t] of Object.entries(feeds))
    assert.deepEqual(Array.from(t.data as Float32Array), before[k], `input "${k}" was changed by the run`);
  assert.deepEqual(second, first, "a second run with the same feeds gives another result");
});
