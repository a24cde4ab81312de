import assert from "node:assert/strict";
import { test } from "node:test";
import { type Tensor, tensor } from "../ir/tensor.js";
import { Rng } from "../util/rng.js";
import { cholesky, fitClassGaussians, sampleClassGaussians } from "./gaussian.js";
import { avgPoolDown, centerPatchMask, crop, fillMasked, maskBox, nearestUp, outlineSketch } from "./image-ops.js";
import { inceptionScore, maskedRmse } from "./scores.js";
import { PUBLISHED, gaussianFactor, scaleL2, synthSettings } from "./settings.js";

const f32 = (shape: number[], data: ArrayLike<number>) => tensor("float32", shape, Float32Array.from(data)) as Tensor<"float32">;

test("scaleL2: ε scales by sqrt(d / d_ref); 28×28 generation gets CIFAR's ε·sqrt(784/3072)", () => {
  assert.equal(scaleL2(30, 3072, "cifar"), 30);
  const s = synthSettings("generate", 784);
  assert.ok(Math.abs(s.eps - 30 * Math.sqrt(784 / 3072)) < 1e-12);
  assert.ok(Math.abs(s.stepSize - 0.5 * Math.sqrt(784 / 3072)) < 1e-12);
  assert.equal(s.steps, PUBLISHED.generate.steps);
  assert.ok(Math.abs(synthSettings("inpaint", 3 * 224 * 224).eps - 21.6) < 1e-12);
  assert.throws(() => scaleL2(1, 0, "cifar"), /positive integer/);
});

test("cholesky: L·Lᵀ reproduces an SPD matrix; a non-SPD one is refused", () => {
  const a = [4, 2, 0.4, 2, 5, 1, 0.4, 1, 3];
  const l = cholesky(Float64Array.from(a), 3);
  for (let i = 0; i < 3; i++)
    for (let j = 0; j < 3; j++) {
      let s = 0;
      for (let k = 0; k < 3; k++) s += l[i * 3 + k]! * l[j * 3 + k]!;
      assert.ok(Math.abs(s - a[i * 3 + j]!) < 1e-12, `(${i},${j}) ${s} vs ${a[i * 3 + j]}`);
    }
  assert.equal(l[1], 0, "upper triangle zeroed");
  assert.throws(() => cholesky(Float64Array.from([1, 2, 2, 1]), 2), /not positive definite/);
});

test("class Gaussians: samples reproduce each class's mean and covariance; seeded and class-by-class", () => {
  // two classes of 2×2 images with different means and a correlated pair of pixels
  const rng = new Rng(3),
    n = 4000,
    data: number[] = [],
    labels: number[] = [];
  for (let i = 0; i < n; i++) {
    const y = i % 2,
      z = rng.normal();
    const base = y === 0 ? 0.3 : 0.7;
    data.push(base + 0.05 * z, base + 0.05 * z + 0.02 * rng.normal(), 0.5 + 0.04 * rng.normal(), y === 0 ? 0.2 : 0.9);
    labels.push(y);
  }
  const g = fitClassGaussians(f32([n, 1, 2, 2], data), labels);
  assert.deepEqual(g.classes, [0, 1]);
  assert.deepEqual(g.counts, [1000, 1000], "maxPerClass default 1000");
  const s = sampleClassGaussians(g, [1, 0], 3000, 5);
  assert.deepEqual(s.labels.slice(0, 3), [1, 1, 1]);
  assert.equal(s.labels[3000], 0);
  const px = (i: number, j: number) => s.x.data[i * 4 + j]!;
  const mean = (lo: number, j: number) => {
    let t = 0;
    for (let i = lo; i < lo + 3000; i++) t += px(i, j);
    return t / 3000;
  };
  assert.ok(Math.abs(mean(0, 0) - 0.7) < 0.01 && Math.abs(mean(3000, 0) - 0.3) < 0.01, `${mean(0, 0)} ${mean(3000, 0)}`);
  let cov = 0;
  const m0 = mean(0, 0),
    m1 = mean(0, 1);
  for (let i = 0; i < 3000; i++) cov += (px(i, 0) - m0) * (px(i, 1) - m1);
  assert.ok(Math.abs(cov / 3000 - 0.0025) < 0.0004, `cov ${cov / 3000}`);
  assert.deepEqual(sampleClassGaussians(g, [1], 2, 5).x.data, s.x.data.slice(0, 8), "same seed → same samples");
  assert.throws(() => sampleClassGaussians(g, [7], 1), /class 7 was not fitted/);
  assert.throws(() => fitClassGaussians(f32([1, 1, 2, 2], [0, 0, 0, 0]), [0]), /class 0 has 1 image/);
});

test("class Gaussians with downsampling: fitted on pooled images, samples nearest-upsampled to the full size", () => {
  const rng = new Rng(1),
    x = f32(
      [40, 1, 4, 4],
      Array.from({ length: 640 }, () => rng.next()),
    );
  const g = fitClassGaussians(
    x,
    Array.from({ length: 40 }, (_, i) => i % 2),
    { factor: 2 },
  );
  assert.equal(g.dim, 4);
  const s = sampleClassGaussians(g, [0, 1], 2);
  assert.deepEqual(s.x.shape, [4, 1, 4, 4]);
  assert.equal(s.x.data[0], s.x.data[1]);
  assert.equal(s.x.data[0], s.x.data[5]);
});

test("class Gaussians at ImageNet size: pooled to ≤ 3·32·32 values by default; a full covariance too large is refused in one line", () => {
  assert.deepEqual(
    [
      [1, 28, 28],
      [3, 32, 32],
      [3, 64, 64],
      [3, 224, 224],
      [3, 225, 225],
    ].map(gaussianFactor),
    [1, 1, 2, 7, 9],
  );
  const big = tensor("float32", [2, 3, 224, 224], new Float32Array(2 * 3 * 224 * 224));
  assert.throws(
    () => fitClassGaussians(big, [0, 0], { factor: 1 }),
    /^Error: fitClassGaussians: images \[2,3,224,224\] pooled 1× have 150528 values, above 16384 .*factor 7 fits/,
  );
});

test("pooling and upsampling, masks, patch fill, crops", () => {
  const x = f32(
    [1, 1, 4, 4],
    Array.from({ length: 16 }, (_, i) => i),
  );
  assert.deepEqual(Array.from(avgPoolDown(x, 2).data), [2.5, 4.5, 10.5, 12.5]);
  assert.deepEqual(Array.from(nearestUp(f32([1, 1, 1, 2], [1, 2]), 2).data), [1, 1, 2, 2, 1, 1, 2, 2]);
  assert.throws(() => avgPoolDown(x, 3), /not divisible by factor 3/);
  const m = centerPatchMask(28, 28, 60 / 224);
  assert.equal(Array.from(m.data).filter((v) => v === 1).length, 64, "8×8 patch at 28×28");
  assert.deepEqual(maskBox(m, 1), { top: 10, left: 10, height: 8, width: 8 });
  assert.deepEqual(maskBox(m, 11), { top: 9, left: 9, height: 11, width: 11 });
  const img = f32(
    [1, 1, 28, 28],
    Array.from({ length: 784 }, (_, i) => (i % 28) / 27),
  );
  const c = fillMasked(img, m);
  const avg = Array.from(img.data).reduce((a, b) => a + b, 0) / 784;
  assert.ok(Math.abs(c.data[14 * 28 + 14]! - avg) < 1e-6);
  assert.equal(c.data[0], img.data[0]);
  assert.deepEqual(crop(x, { top: 1, left: 2, height: 2, width: 2 }).data, Float32Array.from([6, 7, 10, 11]));
  assert.throws(() => fillMasked(img, f32([1, 1, 28, 28], new Float32Array(784))), /empty/);
});

test("inceptionScore: 1 for identical predictions, C for confident ones spread over C classes; maskedRmse counts masked pixels only", () => {
  assert.ok(Math.abs(inceptionScore(tensor("float32", [3, 3], [1, 2, 3, 1, 2, 3, 1, 2, 3])) - 1) < 1e-9);
  const conf = tensor("float32", [4, 4], [50, 0, 0, 0, 0, 50, 0, 0, 0, 0, 50, 0, 0, 0, 0, 50]);
  assert.ok(Math.abs(inceptionScore(conf) - 4) < 1e-6);
  const a = f32([1, 1, 2, 2], [0, 0, 0, 0]),
    b = f32([1, 1, 2, 2], [1, 0.5, 0, 0]);
  assert.ok(Math.abs(maskedRmse(a, b, f32([1, 1, 2, 2], [1, 1, 0, 0]))[0]! - Math.sqrt((1 + 0.25) / 2)) < 1e-9);
});

test("outlineSketch: a filled square becomes its one-pixel border, white in every channel; dark images give blank drawings", () => {
  const x = new Float32Array(2 * 6 * 6);
  for (let ch = 0; ch < 2; ch++) for (let y = 1; y < 5; y++) for (let xx = 1; xx < 5; xx++) x[ch * 36 + y * 6 + xx] = 0.9;
  const s = outlineSketch(f32([1, 2, 6, 6], x));
  const border = (y: number, xx: number) => y >= 1 && y < 5 && xx >= 1 && xx < 5 && (y === 1 || y === 4 || xx === 1 || xx === 4);
  for (let ch = 0; ch < 2; ch++)
    for (let y = 0; y < 6; y++)
      for (let xx = 0; xx < 6; xx++) assert.equal(s.data[ch * 36 + y * 6 + xx], border(y, xx) ? 1 : 0, `(${ch},${y},${xx})`);
  assert.ok(outlineSketch(f32([1, 1, 4, 4], new Float32Array(16).fill(0.2))).data.every((v) => v === 0));
});
