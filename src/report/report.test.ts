import assert from "node:assert/strict";
import { test } from "node:test";
import { type Tensor, tensor } from "../ir/tensor.js";
import { pickFeatures, reportSteps } from "./experiments.js";
import { reportWork } from "./run.js";
import { escapeHtml, renderReport } from "./html.js";
import { inversionMetrics } from "./measure.js";
import { syntheticShapes } from "./shapes.js";
import { onePerClass } from "../cli/report.js";

test("renderReport escapes every text field and lays out one figure per model", () => {
  const html = renderReport({
    title: "a <b> & c", subtitle: "s", models: [{ name: "m\"1", detail: "p" }, { name: "m2", detail: "q" }],
    metrics: [{ label: "x < y", values: ["1", "<2>"], help: "h&" }],
    figures: [{ id: "invert", title: "Inv", caption: "c", cells: [{ src: "figures/0-invert.png" }, { src: "figures/1-invert.png", note: "n" }] }],
    notes: ["n1"],
  });
  assert.match(html, /<title>a &lt;b&gt; &amp; c<\/title>/);
  assert.match(html, /<th>x &lt; y<small>h&amp;<\/small><\/th><td class="v">1<\/td><td class="v">&lt;2&gt;<\/td>/);
  assert.equal(html.match(/<img /g)?.length, 2);
  assert.match(html, /<figcaption>m&quot;1<\/figcaption><img src="figures\/0-invert.png"/);
  assert.equal(escapeHtml(`'"&<>`), "&#39;&quot;&amp;&lt;&gt;");
});

test("synthetic OOD shapes: [k,C,H,W] in [0,1], distinct, gray or coloured", () => {
  const g = syntheticShapes(10, 1, 28, 28);
  assert.deepEqual(g.x.shape, [8, 1, 28, 28]);
  assert.equal(g.names.length, 8);
  assert.ok(Array.from(g.x.data).every((v) => v >= 0 && v <= 1));
  const per = 28 * 28;
  const images = g.names.map((_, i) => Array.from(g.x.data.subarray(i * per, (i + 1) * per), (v) => v.toFixed(3)).join());
  assert.equal(new Set(images).size, 8, "every shape differs");
  const c = syntheticShapes(2, 3, 32, 32);
  assert.deepEqual(c.x.shape, [2, 3, 32, 32]);
  assert.notEqual(c.x.data[16 * 32 + 16], c.x.data[1024 + 16 * 32 + 16], "the disk is coloured, not gray");
});

test("onePerClass takes each class's first image in class order, then fills up", () => {
  assert.deepEqual(onePerClass([3, 1, 1, 0, 3, 2], 4), [3, 1, 5, 0]);
  assert.deepEqual(onePerClass([1, 1, 1, 0], 3), [3, 0, 1]);
  assert.deepEqual(onePerClass([0, 0], 5), [0, 1]);
});

test("pickFeatures ranks units by activation variance over the data; step counts scale and stay ≥ 1", () => {
  // 3 units over 4 images: unit 2 varies most, unit 0 is constant
  const rep = tensor("float32", [4, 3], new Float32Array([1, 0, 0, 1, 1, 4, 1, 0, -4, 1, 1, 0])) as Tensor<"float32">;
  assert.deepEqual(pickFeatures(rep, [3], 2), [2, 1]);
  assert.deepEqual(reportSteps(1), { invert: 1000, ood: 1000, interpolate: 1000, visualize: 200, maximizing: 1500, add: 800, generate: 60, inpaint: 720 });
  assert.equal(reportSteps(0.0001).visualize, 1);
  assert.equal(reportWork({ scale: 0.1, features: 5, topK: 5, addCount: 5 }), 100 + 100 + 100 + 20 + 150 + 80 + 6 + 72);
});

test("inversionMetrics: perfect inversions have RMSE 0 and SSIM 1; the distance is the mean passed in", () => {
  const t = tensor("float32", [2, 1, 12, 12], Float32Array.from({ length: 288 }, (_, i) => (i % 7) / 7)) as Tensor<"float32">;
  const m = inversionMetrics(t, t, [0.1, 0.3]);
  assert.equal(m.rmse, 0);
  assert.ok(Math.abs(m.ssim - 1) < 1e-9);
  assert.ok(Math.abs(m.distance - 0.2) < 1e-12);
  assert.equal(m.perExample.ssim.length, 2);
});
