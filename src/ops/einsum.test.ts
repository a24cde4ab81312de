import assert from "node:assert/strict";
import { test } from "node:test";
import { grad } from "../autodiff/grad.js";
import { Builder } from "../builder/builder.js";
import { Graph } from "../ir/graph.js";
import { checkGradient, randomTensor } from "../testing/gradcheck.js";
import { parseEinsum } from "./einsum.js";

const f64 = (shape: number[], seed: number) => randomTensor("float64", shape, { seed });

// attention, linear layers, inner products, transposes, sums and batch broadcasting
const CASES: [string, number[][]][] = [
  [
    "bij,bjk->bik",
    [
      [2, 3, 4],
      [2, 4, 5],
    ],
  ],
  [
    "bhid,bhjd->bhij",
    [
      [2, 2, 3, 4],
      [2, 2, 5, 4],
    ],
  ],
  [
    "bhij,bhjd->bhid",
    [
      [2, 2, 3, 5],
      [2, 2, 5, 4],
    ],
  ],
  [
    "ij,jk->ik",
    [
      [3, 4],
      [4, 2],
    ],
  ],
  [
    "bi,bi->b",
    [
      [3, 4],
      [3, 4],
    ],
  ],
  ["bij->bji", [[2, 3, 4]]],
  [
    "bij,jk->bik",
    [
      [2, 3, 4],
      [4, 5],
    ],
  ],
  [
    "bnd,dh->bnh",
    [
      [2, 3, 4],
      [4, 6],
    ],
  ],
  [
    "ij,kj->ik",
    [
      [3, 4],
      [2, 4],
    ],
  ],
  ["ij", [[3, 4]]],
  [
    "ij,jk",
    [
      [3, 4],
      [4, 2],
    ],
  ],
  ["ij->i", [[3, 4]]],
  ["ij->", [[3, 4]]],
  ["i,i->", [[5], [5]]],
  [
    "bij,bij->bi",
    [
      [2, 3, 4],
      [2, 3, 4],
    ],
  ],
  ["ij,k->ijk", [[2, 3], [4]]],
  [
    "bij,bjk,bkl->bil",
    [
      [2, 3, 4],
      [2, 4, 2],
      [2, 2, 3],
    ],
  ],
  [
    "...ij,...jk->...ik",
    [
      [2, 3, 4, 5],
      [2, 3, 5, 2],
    ],
  ],
  [
    "...ij,...jk->...ik",
    [
      [2, 3, 4, 5],
      [1, 3, 5, 2],
    ],
  ],
  [
    "...ij,jk->...ik",
    [
      [2, 3, 4, 5],
      [5, 2],
    ],
  ],
  [
    "b...d,b...d->b...",
    [
      [2, 3, 4],
      [2, 3, 4],
    ],
  ],
  ["...ij->...ji", [[2, 3, 4]]],
];

for (const [eq, shapes] of CASES) {
  test(`Einsum "${eq}" ${JSON.stringify(shapes)}: shape rule and gradient of every operand`, async () => {
    const inputs = Object.fromEntries(shapes.map((s, k) => [`x${k}`, f64(s, 30 + k)]));
    await checkGradient({
      inputs,
      build: (g, v) =>
        g.one(
          "Einsum",
          shapes.map((_, k) => v[`x${k}`]!),
          { equation: eq },
        ),
    });
  });
}

test("Einsum shape rule: output dims, implicit output order, broadcast ellipsis", () => {
  const g = new Builder(new Graph());
  const x = (s: (number | string)[]) => g.graph.addInput(`v${g.graph.inputs.length}`, "float32", s);
  assert.deepEqual(g.one("Einsum", [x(["N", 3, 4]), x([4, 5])], { equation: "bij,jk->bik" }).shape, ["N", 3, 5]);
  assert.deepEqual(g.one("Einsum", [x([2, 3]), x([3, 4])], { equation: "ba,ac" }).shape, [2, 4]);
  assert.deepEqual(g.one("Einsum", [x([7, 2, 3]), x([1, 3, 4])], { equation: "...ij,...jk" }).shape, [7, 2, 4]);
  assert.throws(
    () => g.one("Einsum", [x([7, 2, 3]), x([3, 4])], { equation: "...ij,...jk" }, "e"),
    /^Error: Einsum "e": equation "...ij,...jk": the ellipsis of operand 1 covers 0 axes, another covers 1; ONNX needs equal counts$/,
  );
  assert.deepEqual(parseEinsum("E", "b...i , i -> ...b", [4, 1]).output.length, 3);
});

test("Einsum errors: one line naming the node and equation", () => {
  const g = new Builder(new Graph());
  const a = g.graph.addInput("a", "float32", [2, 3]),
    b = g.graph.addInput("b", "float32", [4, 5]);
  const cases: [string, RegExp][] = [
    ["ij,jk->ik", /^Einsum "e(_\d+)?": subscript "j" is 3 in one operand and 4 in operand 1 \[4,5\]$/],
    ["ij,kl->iz", /^Einsum "e(_\d+)?": equation "ij,kl->iz": the output's "z" is in no operand$/],
    ["ij->ii", /^Einsum "e(_\d+)?": equation "ij->ii": the output repeats "i"$/],
    ["ij,k1->i", /^Einsum "e(_\d+)?": equation "ij,k1->i": operand 1 has "1"; subscripts are letters a-z, A-Z and one "..."$/],
    ["ijk,kl->il", /^Einsum "e(_\d+)?": equation "ijk,kl->il": operand 0 has 3 subscripts for rank 2$/],
    ["ij->i->j", /^Einsum "e(_\d+)?": equation "ij->i->j": has more than one "->"$/],
  ];
  for (const [equation, re] of cases) {
    assert.throws(
      () => g.one("Einsum", equation.startsWith("ij->") ? [a] : [a, b], { equation }, "e"),
      (e: Error) => {
        assert.match(e.message, re);
        assert.ok(!e.message.includes("\n"));
        return true;
      },
    );
  }
});

test("Einsum diagonal runs forward but refuses a gradient, naming node and equation", () => {
  const graph = new Graph();
  const g = new Builder(graph);
  const x = graph.addInput("x", "float32", [2, 3, 3]);
  const y = g.one("Einsum", [x], { equation: "bii->bi" }, "diag");
  assert.deepEqual(y.shape, [2, 3]);
  graph.outputs = [g.reduceSum(y, [], false)];
  assert.throws(
    () => grad(graph, { loss: graph.outputs[0]!, wrt: [x] }),
    /^Error: grad: cannot differentiate Einsum "diag": equation "bii->bi": operand 0 repeats "i" \(a diagonal\), which has no gradient rule$/,
  );
});
