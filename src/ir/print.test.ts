import assert from "node:assert/strict";
import { test } from "node:test";
import { Builder } from "../builder/builder.js";
import { Graph } from "./graph.js";
import { printGraph } from "./print.js";
import { tensor } from "./tensor.js";

function small(): Graph {
  const graph = new Graph();
  graph.name = "small";
  const g = new Builder(graph);
  const x = graph.addInput("x", "float32", ["N", 4]);
  const w = graph.addInitializer("w", tensor("float32", [4, 3], new Float32Array(12).fill(0.5)));
  const h = g.relu(g.matmul(x, w));
  const s = g.reduceSum(g.mul(h, g.scalar(0.1)), [1], false);
  graph.outputs.push(g.identity(s, "out"));
  graph.metadata = { zeta: "last", alpha: "first" };
  // fixed value names, so the snapshot does not depend on how the builder derives them
  graph.nodes.forEach((n, i) => {
    n.outputs[0]!.name = ["mm", "h", "scaled", "s", "out"][i]!;
  });
  return graph;
}

test("printGraph: one line per input, tensor, node and output; tiny constants inline", () => {
  assert.equal(
    printGraph(small()),
    [
      'graph "small"',
      "input %x : float32[N,4]",
      "init %w : float32[4,3]",
      "%mm = MatMul(%x, %w [4,3]) : float32[N,3]",
      "%h = Relu(%mm) : float32[N,3]",
      "%scaled = Mul(%h, float32[] {0.1}) : float32[N,3]",
      "%s = ReduceSum(%scaled, int64[1] {1}) {keepdims=0} : float32[N]",
      "%out = Identity(%s) : float32[N]",
      "output %out : float32[N]",
      'meta "alpha" = "first"',
      'meta "zeta" = "last"',
      "",
    ].join("\n"),
  );
});

test("printGraph is deterministic and survives clone", () => {
  const g = small();
  assert.equal(printGraph(g), printGraph(g));
  assert.equal(printGraph(g.clone().graph), printGraph(g));
});

test("printGraph: sorted attributes, omitted inputs, odd names, large constants by name, node names on request", () => {
  const graph = new Graph();
  const g = new Builder(graph);
  const x = graph.addInput("in put", "float32", null);
  const big = g.constant(tensor("int64", [9], [1, 2, 3, 4, 5, 6, 7, 8, 9]), "big");
  const y = g.one("Clip", [x, null, g.scalar(6)], {}, "clip6");
  y.name = "clip6";
  const z = g.add("ArgMax", [y], { select_last_index: 0, keepdims: 1, axis: 0 }, { name: "am" })[0]!;
  z.name = "argmax_out";
  const m = g.one("Mul", [z, big], {}, "m");
  m.name = "m";
  graph.outputs.push(m);
  const text = printGraph(graph, { nodeNames: true });
  assert.match(text, /^input %"in put" : float32\[\?\]$/m);
  assert.match(text, /^%clip6 = Clip\(%"in put", _, float32\[\] \{6\}\) : float32\[\?\]$/m);
  assert.match(text, /^%argmax_out = ArgMax\(%clip6\) \{axis=0, keepdims=1, select_last_index=0\} : int64\[\?\]  # "am"$/m);
  // a 9-element constant is too big to inline
  assert.match(text, /^init %big : int64\[9\]$/m);
  assert.match(text, /^%m = Mul\(%argmax_out, %big \[9\]\) : int64\[\?\]$/m);
  assert.doesNotMatch(text, /\{1,2,3,4,5,6,7,8,9\}/);
});
