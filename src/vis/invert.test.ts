import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { loadNpy } from "../data/node/npy-file.js";
import { type Tensor, tensor } from "../ir/tensor.js";
import { Model } from "../model/model.js";
import { nodeExecutor as exec } from "../runtime/node.js";
import { interpolate, invert, invertRepresentation } from "./invert.js";
import { relativeRepDistance } from "./metrics.js";
import { makeSeeds, representationOf } from "./representation.js";
import { sliceBatch } from "../ir/batch.js";
import { countingExecutor } from "../testing/counting.js";
import { VIS_DEFAULTS, targetRepresentation } from "./search.js";

async function fixture(name: string) {
  const path = `test/fixtures/${name}/model.onnx`;
  const model = new Model(new Uint8Array(readFileSync(path)), path);
  const x = (await loadNpy(`test/fixtures/${name}/x.npy`)) as Tensor<"float32">;
  return { model, x };
}

const inBox = (x: Tensor) => (x.data as Float32Array).every((v) => v >= 0 && v <= 1);
const maxAbsDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => Array.from(a).reduce((m, v, i) => Math.max(m, Math.abs(v - b[i]!)), 0);

test("invert (fmnist_small): from gray noise the relative distance to R(target) falls, and the reported distance is R's", async () => {
  const { model, x } = await fixture("fmnist_small");
  const targets = sliceBatch(x, 0, 3);
  const seed = makeSeeds(model, "noise", 3, 11);
  const rt = await representationOf(exec, model, targets);
  const before = relativeRepDistance(await representationOf(exec, model, seed), rt);
  const t0 = performance.now();
  const res = await invert(exec, model, targets, { seed: "noise", rngSeed: 11, steps: 30 });
  const ms = performance.now() - t0;
  assert.deepEqual(res.x.shape, [3, 1, 28, 28]);
  assert.ok(inBox(res.x));
  const after = relativeRepDistance(await representationOf(exec, model, res.x), rt);
  for (let i = 0; i < 3; i++) {
    assert.ok(after[i]! < 0.7 * before[i]!, `example ${i}: ${before[i]} → ${after[i]}`);
    assert.ok(Math.abs(after[i]! - res.distance[i]!) < 1e-4, `reported ${res.distance[i]} vs recomputed ${after[i]}`);
  }
  console.log(
    `# invert fmnist 3×30 steps: ${ms.toFixed(0)} ms; distance ${Array.from(before, (v) => v.toFixed(3))} → ${Array.from(after, (v) => v.toFixed(3))}`,
  );
});

test("invert: chunking never changes the result; onStep counts every step of every chunk", async () => {
  const { model, x } = await fixture("fmnist_small");
  const targets = sliceBatch(x, 10, 13);
  const seed = sliceBatch(x, 20, 23);
  const whole = await invert(exec, model, targets, { seed, steps: 6 });
  const calls: [number, number][] = [];
  const chunked = await invert(exec, model, targets, { seed, steps: 6, batchSize: 2, onStep: (d, t) => calls.push([d, t]) });
  assert.ok(maxAbsDiff(whole.x.data, chunked.x.data) < 1e-4);
  assert.ok(maxAbsDiff(whole.distance, chunked.distance) < 1e-5);
  assert.equal(calls.length, 12);
  assert.deepEqual(calls.at(-1), [12, 12]);
  assert.ok(calls.every(([d], i) => d === i + 1));
});

test("invert seeded at the target: the image stays put (zero gradient, no NaN); bad options are refused", async () => {
  const { model, x } = await fixture("fmnist_small");
  const targets = sliceBatch(x, 0, 2);
  // seeded at the target the distance is 0 and its gradient (ReduceL2 at 0) is 0: the image must not move or turn NaN
  const res = await invert(exec, model, targets, { seed: targets, steps: 3, keep: "last" });
  assert.ok(maxAbsDiff(res.x.data, targets.data) === 0);
  assert.ok(Array.from(res.distance).every((d) => d < 1e-6));
  await assert.rejects(invert(exec, model, targets, { steps: 0 }), /steps must be a positive integer/);
  await assert.rejects(
    invertRepresentation(exec, model, tensor("float32", [2, 63]) as Tensor<"float32">),
    /target representation \[2,63\] does not match/,
  );
});

test("interpolate (cifar_bottleneck): pair-major frames, λ = j/(frames−1), endpoints seeded by the images, distances fall", async () => {
  const { model, x } = await fixture("cifar_bottleneck");
  const a = sliceBatch(x, 0, 2),
    b = sliceBatch(x, 2, 4);
  const frames = 3;
  const t0 = performance.now();
  const res = await interpolate(exec, model, a, b, { frames, steps: 8, stepSize: 0.1 });
  const ms = performance.now() - t0;
  assert.deepEqual(res.lambdas, [0, 0.5, 1]);
  assert.deepEqual(res.x.shape, [2 * frames, 3, 32, 32]);
  assert.ok(inBox(res.x));
  // recompute each frame's target and seed by hand: pair i, frame j at i·frames + j
  const ra = await representationOf(exec, model, a),
    rb = await representationOf(exec, model, b);
  const d = ra.data.length / 2,
    p = a.data.length / 2;
  const target = new Float32Array(2 * frames * d),
    seed = new Float32Array(2 * frames * p);
  for (let i = 0; i < 2; i++) {
    res.lambdas.forEach((l, j) => {
      for (let k = 0; k < d; k++) target[(i * frames + j) * d + k] = (1 - l) * ra.data[i * d + k]! + l * rb.data[i * d + k]!;
      for (let k = 0; k < p; k++) seed[(i * frames + j) * p + k] = (1 - l) * a.data[i * p + k]! + l * b.data[i * p + k]!;
    });
  }
  const t = tensor("float32", [2 * frames, d], target) as Tensor<"float32">;
  const before = relativeRepDistance(await representationOf(exec, model, tensor("float32", res.x.shape, seed) as Tensor<"float32">), t);
  const after = relativeRepDistance(await representationOf(exec, model, res.x), t);
  for (let k = 0; k < 2 * frames; k++) {
    assert.ok(Math.abs(after[k]! - res.distance[k]!) < 1e-4, `frame ${k}: reported ${res.distance[k]} vs ${after[k]}`);
    if (res.lambdas[k % frames] === 0.5) assert.ok(after[k]! < 0.9 * before[k]!, `middle frame ${k}: ${before[k]} → ${after[k]}`);
    else assert.ok(after[k]! <= before[k]! + 1e-5, `endpoint frame ${k}: ${before[k]} → ${after[k]}`);
  }
  console.log(
    `# interpolate cifar_bottleneck 2 pairs × ${frames} frames × 8 steps: ${ms.toFixed(0)} ms; middle ${before[1]!.toFixed(3)} → ${after[1]!.toFixed(3)}`,
  );
});

test("invert takes R(target) from its search's evaluation program: two programs compiled, not three, and the same R", async () => {
  const { model, x } = await fixture("fmnist_small");
  const targets = sliceBatch(x, 0, 4);
  const { exec: counting, counts } = countingExecutor();
  const res = await invert(counting, model, targets, { seed: "gray", steps: 2 });
  assert.equal(counts.compiled, 2, "step and evaluation programs only");
  assert.equal(counts.disposed, 2);
  const viaSearch = await targetRepresentation(exec, model, targets, { eps: VIS_DEFAULTS.invert.eps, batchSize: 3 });
  const viaForward = await representationOf(exec, model, targets);
  assert.deepEqual(viaSearch.shape, viaForward.shape);
  assert.ok(maxAbsDiff(viaSearch.data, viaForward.data) < 1e-5, "R(t) differs between the two programs");
  assert.ok(res.distance.every(Number.isFinite));
});
