// Snapshot tests of printed gradient graphs: any change in what the VJPs emit shows up as a text diff.
// Regenerate after a reviewed change with UPDATE_SNAPSHOTS=1 npm test.
import assert from "node:assert/strict";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { test } from "node:test";
import { Builder } from "../builder/builder.js";
import { Graph, type Value } from "../ir/graph.js";
import { printGraph } from "../ir/print.js";
import { tensor } from "../ir/tensor.js";
import { grad } from "./grad.js";

function gradText(build: (g: Graph, b: Builder) => Value): string {
  const g = new Graph();
  const loss = build(g, new Builder(g));
  return printGraph(grad(g, { loss, wrt: [g.inputs[0]!] }).graph);
}

const cases: Record<string, (g: Graph, b: Builder) => Value> = {
  "linear-relu": (g, b) => {
    const x = g.addInput("x", "float32", ["N", 4]);
    const y = b.addv(b.matmul(x, g.addInitializer("w", tensor("float32", [4, 3]))), g.addInitializer("b", tensor("float32", [3])));
    return b.reduceSum(b.relu(y), [], false);
  },
  "conv-maxpool": (g, b) => {
    const x = g.addInput("x", "float32", [2, 1, 5, 5]);
    const y = b.conv(x, g.addInitializer("w", tensor("float32", [2, 1, 3, 3])), null, { pads: [1, 1, 1, 1], strides: [2, 2] });
    return b.reduceSum(b.one("MaxPool", [y], { kernel_shape: [2, 2], strides: [1, 1] }), [], false);
  },
  "softmax-fanout": (g, b) => {
    const s = b.softmax(g.addInput("x", "float32", [2, 3]), 1);
    return b.reduceSum(b.mul(s, s), [], false);
  },
};

for (const [name, build] of Object.entries(cases)) {
  test(`printed gradient graph: ${name}`, () => {
    const file = `src/autodiff/__snapshots__/${name}.txt`;
    const text = gradText(build);
    if (process.env.UPDATE_SNAPSHOTS) writeFileSync(file, text);
    assert.ok(existsSync(file), `missing snapshot ${file}: run with UPDATE_SNAPSHOTS=1 and review it`);
    assert.equal(text, readFileSync(file, "utf8"));
  });
}
