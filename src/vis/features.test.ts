import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { loadNpy } from "../data/node/npy-file.js";
import type { Tensor } from "../ir/tensor.js";
import { Model } from "../model/model.js";
import { nodeExecutor as exec } from "../runtime/node.js";
import { addFeature, topActivating, visualizeFeature } from "./features.js";
import { featureActivations, makeSeeds, representationOf, unitMask } from "./representation.js";
import { sliceBatch } from "../ir/batch.js";

async function fixture(name: string) {
  const path = `test/fixtures/${name}/model.onnx`;
  const model = new Model(new Uint8Array(readFileSync(path)), path);
  const x = (await loadNpy(`test/fixtures/${name}/x.npy`)) as Tensor<"float32">;
  return { model, x };
}

/** Activation of features[k] in R at image k. */
async function activations(model: Model, x: Tensor<"float32">, features: number[], rep?: string): Promise<Float32Array> {
  const r = await representationOf(exec, model, x, { rep });
  return featureActivations(r, unitMask(r.shape.slice(1), features));
}

test("visualizeFeature (fmnist_small): one output per (seed image, feature), seed-major, and every activation rises", async () => {
  const { model, x } = await fixture("fmnist_small");
  const seeds = sliceBatch(x, 0, 2);
  // two units alive on both seeds (a dead one only moves its pre-activation, checked in the fake-ReLU test)
  const r = await representationOf(exec, model, seeds);
  const d = r.shape[1]!;
  const alive = Array.from({ length: d }, (_, u) => u).filter((u) => r.data[u]! > 0 && r.data[d + u]! > 0);
  const fs = [alive[0]!, alive[alive.length - 1]!];
  const t0 = performance.now();
  const res = await visualizeFeature(exec, model, fs, seeds, { steps: 10 });
  const ms = performance.now() - t0;
  assert.deepEqual(res.x.shape, [4, 1, 28, 28]);
  assert.deepEqual(res.features, [fs[0], fs[1], fs[0], fs[1]]);
  assert.deepEqual(res.seedIndex, [0, 0, 1, 1]);
  const before = await activations(model, makeRepeated(seeds), res.features);
  const after = await activations(model, res.x, res.features);
  for (let k = 0; k < 4; k++) {
    assert.ok(after[k]! > before[k]! + 0.1, `output ${k}: feature ${res.features[k]} ${before[k]} → ${after[k]}`);
    assert.ok(Math.abs(after[k]! - res.objective[k]!) < 1e-4);
  }
  const noise = await visualizeFeature(exec, model, [5, 6], "noise", { steps: 5, rngSeed: 3 });
  assert.deepEqual(noise.x.shape, [2, 1, 28, 28]);
  assert.deepEqual(noise.seedIndex, [0, 0]);
  const noiseBefore = await activations(model, makeSeeds(model, "noise", 2, 3), [5, 6]);
  for (let k = 0; k < 2; k++) assert.ok(noise.objective[k]! > noiseBefore[k]!, `noise seed, feature ${noise.features[k]}`);
  console.log(
    `# visualizeFeature fmnist 4 outputs × 10 steps: ${ms.toFixed(0)} ms; ${Array.from(before, (v) => v.toFixed(2))} → ${Array.from(after, (v) => v.toFixed(2))}`,
  );
});

/** Seeds [2,...] → [s0, s0, s1, s1] (the layout visualizeFeature uses for two features). */
function makeRepeated(s: Tensor<"float32">): Tensor<"float32"> {
  const per = s.data.length / 2,
    out = new Float32Array(4 * per);
  for (let k = 0; k < 4; k++) out.set(s.data.subarray(Math.floor(k / 2) * per, (Math.floor(k / 2) + 1) * per), k * per);
  return { dtype: "float32", shape: [4, ...s.shape.slice(1)], data: out };
}

test("fake ReLU: a unit dead on gray is pushed only with the straight-through Relu (cifar_bottleneck and fmnist_small)", async () => {
  for (const [name, pre] of [
    ["fmnist_small", "/fc1/Gemm_output_0"],
    ["cifar_bottleneck", "/layers/layers.2/layers.2.0/Add_output_0"],
  ] as const) {
    const { model } = await fixture(name);
    const gray = makeSeeds(model, "gray", 1);
    // the dead unit (pre-activation < 0) closest to life, so a few steps can show it moving
    const p = await representationOf(exec, model, gray, { rep: pre });
    const units = p.shape[1]!,
      spatial = p.data.length / units;
    const preAct = Array.from({ length: units }, (_, c) => Math.max(...Array.from(p.data.subarray(c * spatial, (c + 1) * spatial))));
    const dead = preAct
      .map((v, c) => [v, c] as const)
      .filter(([v]) => v < 0)
      .sort((u, v) => v[0] - u[0])[0];
    assert.ok(dead, `${name}: no unit is dead on a gray image`);
    const f = dead[1];
    const off = await visualizeFeature(exec, model, [f], "gray", { steps: 5, fakeRelu: false });
    assert.ok(
      off.x.data.every((v) => v === 0.5),
      `${name}: without fake ReLU the gradient is 0 and the image must not move`,
    );
    const on = await visualizeFeature(exec, model, [f], "gray", { steps: 5 });
    const q = await representationOf(exec, model, on.x, { rep: pre });
    const moved = Math.max(...Array.from(q.data.subarray(f * spatial, (f + 1) * spatial)));
    assert.ok(moved > dead[0] + 1e-3, `${name}: pre-activation of unit ${f} ${dead[0]} → ${moved}`);
  }
});

test("topActivating (fmnist_small, 256 images): top-k highest first, bottom-k lowest first, from the forward activations", async () => {
  const { model, x } = await fixture("fmnist_small");
  const res = await topActivating(exec, model, x, 7, 5, { batchSize: 100 });
  const acts = await activations(model, x, new Array(256).fill(7));
  assert.ok(Array.from(acts).every((v, i) => Math.abs(v - res.activations[i]!) < 1e-5));
  const sorted = [...acts].sort((u, v) => v - u);
  assert.deepEqual(
    res.top.map((i) => acts[i]),
    sorted.slice(0, 5),
  );
  assert.deepEqual(
    res.bottom.map((i) => acts[i]),
    sorted.slice(-5).reverse(),
  );
  assert.equal(new Set([...res.top, ...res.bottom]).size, 10);
});

test("addFeature (fmnist_small): min(R_f − level, 0) rises towards 0 and stops: images already past the level do not move", async () => {
  const { model, x } = await fixture("fmnist_small");
  const images = sliceBatch(x, 30, 33);
  const f = 12;
  const before = await activations(model, images, [f, f, f]);
  const level = Math.max(...before) + 10;
  const t0 = performance.now();
  const res = await addFeature(exec, model, images, f, { level, steps: 20 });
  const ms = performance.now() - t0;
  const after = await activations(model, res.x, [f, f, f]);
  for (let i = 0; i < 3; i++) {
    assert.ok(after[i]! > before[i]! + 0.5, `image ${i}: ${before[i]} → ${after[i]}`);
    assert.ok(Math.abs(Math.min(after[i]! - level, 0) - res.objective[i]!) < 1e-4);
  }
  // a level below the current activations: the objective is already 0 and its gradient 0
  const done = await addFeature(exec, model, images, [f, f, f], { level: Math.min(...before) - 1, steps: 5, keep: "last" });
  assert.ok(done.x.data.every((v, i) => v === images.data[i]));
  assert.deepEqual(Array.from(done.objective), [0, 0, 0]);
  console.log(
    `# addFeature fmnist 3 images × 20 steps: ${ms.toFixed(0)} ms; unit ${f}: ${Array.from(before, (v) => v.toFixed(2))} → ${Array.from(after, (v) => v.toFixed(2))} (level ${level.toFixed(2)})`,
  );
});
