import assert from "node:assert/strict";
import { test } from "node:test";
import { type Tensor, tensor } from "../ir/tensor.js";
import { pickFeatures, reportSteps, traceSearch } from "./experiments.js";
import { readFileSync } from "node:fs";
import { loadNpy } from "../data/node/npy-file.js";
import { sliceBatch } from "../ir/batch.js";
import { Model } from "../model/model.js";
import { nodeExecutor as exec } from "../runtime/node.js";
import { invert } from "../vis/invert.js";
import { relativeRepDistance } from "../vis/metrics.js";
import { makeSeeds, representationOf } from "../vis/representation.js";
import { reportWork } from "./run.js";
import { escapeHtml, renderReport } from "./html.js";
import { inversionMetrics } from "./measure.js";
import { syntheticShapes } from "./shapes.js";
import { onePerClass } from "../cli/report.js";

test("renderReport escapes every text field and lays out one figure per model", () => {
  const html = renderReport({
    title: "a <b> & c",
    subtitle: "s",
    models: [
      { name: 'm"1', detail: "p" },
      { name: "m2", detail: "q" },
    ],
    metrics: [{ label: "x < y", values: ["1", "<2>"], help: "h&" }],
    figures: [
      { id: "invert", title: "Inv", caption: "c", cells: [{ src: "figures/0-invert.png" }, { src: "figures/1-invert.png", note: "n" }] },
    ],
    notes: ["n1"],
  });
  assert.match(html, /<title>a &lt;b&gt; &amp; c<\/title>/);
  assert.match(html, /<th>x &lt; y<small>h&amp;<\/small><\/th><td class="v">1<\/td><td class="v">&lt;2&gt;<\/td>/);
  assert.equal(html.match(/<img /g)?.length, 2);
  assert.match(html, /<figcaption>m&quot;1<\/figcaption><img src="figures\/0-invert.png"/);
  assert.equal(escapeHtml(`'"&<>`), "&#39;&quot;&amp;&lt;&gt;");
});

test("renderReport puts plot sections first or last and objective plots beside a figure's grids", () => {
  const html = renderReport({
    title: "t",
    subtitle: "s",
    models: [
      { name: "a", detail: "p" },
      { name: "b", detail: "q" },
    ],
    metrics: [],
    notes: [],
    figures: [
      {
        id: "invert",
        title: "Inv",
        caption: "c",
        cells: [{ src: "0.png" }, { src: "1.png" }],
        plots: [{ src: "figures/objective-invert.svg", alt: "obj <a>" }],
      },
    ],
    plots: [
      { id: "training", title: "Training", caption: "c", position: "end", plot: { src: "figures/training.svg", alt: "t" } },
      { id: "robustness", title: "Accuracy", caption: "c", position: "top", plot: { src: "figures/robustness.svg", alt: "r", note: "n&" } },
    ],
  });
  const at = (s: string) => html.indexOf(s);
  assert.ok(at('<section id="robustness">') > 0 && at('<section id="robustness">') < at('id="metrics"'));
  assert.ok(at('<section id="training">') > at('<section id="invert">') && at('<section id="training">') < at('id="settings"'));
  assert.match(
    html,
    /<img src="1.png"[^>]*><\/figure><figure class="plot"><img src="figures\/objective-invert.svg" alt="obj &lt;a&gt;"><\/figure><\/div><\/section>/,
  );
  assert.match(html, /<div class="note">n&amp;<\/div>/);
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
  assert.deepEqual(reportSteps(1), {
    invert: 1000,
    ood: 1000,
    interpolate: 1000,
    visualize: 200,
    maximizing: 1500,
    add: 800,
    generate: 60,
    inpaint: 720,
    superResolve: 40,
    translate: 200,
    sketch: 60,
  });
  assert.equal(reportSteps(0.0001).visualize, 1);
  assert.equal(reportWork({ scale: 0.1, features: 5, topK: 5, addCount: 5 }), 100 + 100 + 100 + 20 + 150 + 80 + 6 + 72 + 4 + 20 + 6);
});

test("inversionMetrics: perfect inversions have RMSE 0 and SSIM 1; the distance is the mean passed in", () => {
  const t = tensor(
    "float32",
    [2, 1, 12, 12],
    Float32Array.from({ length: 288 }, (_, i) => (i % 7) / 7),
  ) as Tensor<"float32">;
  const m = inversionMetrics(t, t, [0.1, 0.3]);
  assert.equal(m.rmse, 0);
  assert.ok(Math.abs(m.ssim - 1) < 1e-9);
  assert.ok(Math.abs(m.distance - 0.2) < 1e-12);
  assert.equal(m.perExample.ssim.length, 2);
});

test("traceSearch: per step the loss of every example (placed by chunk) at the step's starting iterate; the kept result is no worse", async () => {
  const path = "test/fixtures/fmnist_small/model.onnx";
  const model = new Model(new Uint8Array(readFileSync(path)), path);
  const targets = sliceBatch((await loadNpy("test/fixtures/fmnist_small/x.npy")) as Tensor<"float32">, 0, 5);
  let ticks = 0;
  // batchSize 2: three chunks, so the offsets must place each chunk's examples
  const tr = traceSearch(
    {
      steps: 8,
      batchSize: 2,
      onStep: () => {
        ticks++;
      },
    },
    5,
  );
  const res = await invert(exec, model, targets, { ...tr.options, seed: "noise", rngSeed: 3 });
  assert.equal(ticks, 24, "the caller's onStep still sees every step");
  const byExample = (i: number) => tr.mean((v, k) => (k === i ? 5 * v : 0));
  const curve = tr.mean();
  assert.equal(curve.length, 8);
  assert.ok(curve.every(Number.isFinite));
  const start = relativeRepDistance(
    await representationOf(exec, model, makeSeeds(model, "noise", 5, 3)),
    await representationOf(exec, model, targets),
  );
  for (let i = 0; i < 5; i++) {
    const c = byExample(i);
    assert.ok(Math.abs(c[0]! - start[i]!) < 1e-4, `example ${i}: step 0 ${c[0]} vs the seed's ${start[i]}`);
    assert.ok(res.distance[i]! <= Math.min(...c) + 1e-5, `example ${i}: kept ${res.distance[i]} vs traced min ${Math.min(...c)}`);
  }
  assert.ok(curve[7]! < curve[0]!, `${curve}`);
  assert.throws(() => traceSearch({}, 3), /internal: traceSearch needs/);
});
