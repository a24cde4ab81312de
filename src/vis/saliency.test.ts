import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { argmaxRows } from "../attack/losses.js";
import { loadNpy } from "../data/node/npy-file.js";
import { type Tensor, tensor } from "../ir/tensor.js";
import { forward } from "../model/forward.js";
import { Model } from "../model/model.js";
import { nodeExecutor as exec } from "../runtime/node.js";
import { sliceBatch } from "../ir/batch.js";
import { channelMaxNormalized, saliency } from "./saliency.js";

async function fixture(name: string) {
  const path = `test/fixtures/${name}/model.onnx`;
  const model = new Model(new Uint8Array(readFileSync(path)), path);
  const x = (await loadNpy(`test/fixtures/${name}/x.npy`)) as Tensor<"float32">;
  return { model, x };
}

/** Per image: values in [0,1] and a maximum of exactly 1 (some gradient is never all zero on these models). */
function checkNormalized(map: Tensor<"float32">) {
  const n = map.shape[0]!,
    per = map.data.length / n;
  for (let i = 0; i < n; i++) {
    const v = map.data.subarray(i * per, (i + 1) * per);
    assert.ok(
      v.every((u) => u >= 0 && u <= 1),
      `image ${i} leaves [0,1]`,
    );
    assert.equal(Math.max(...v), 1);
  }
}

test("saliency (fmnist_small): [N,1,H,W] in [0,1], default label = prediction, explicit labels used", async () => {
  const { model, x } = await fixture("fmnist_small");
  const images = sliceBatch(x, 0, 4);
  const t0 = performance.now();
  const res = await saliency(exec, model, images);
  const ms = performance.now() - t0;
  assert.deepEqual(res.map.shape, [4, 1, 28, 28]);
  checkNormalized(res.map);
  assert.deepEqual(res.labels, argmaxRows(await forward(exec, model, images)));
  const other = res.labels.map((y) => (y + 1) % 10);
  const res2 = await saliency(exec, model, images, tensor("int64", [4], other));
  assert.deepEqual(res2.labels, other);
  checkNormalized(res2.map);
  assert.notDeepEqual(Array.from(res2.map.data), Array.from(res.map.data));
  await assert.rejects(saliency(exec, model, images, [0, 1]), /2 labels for 4 images/);
  await assert.rejects(saliency(exec, model, images, [0, 1, 2, 10]), /label 10 is out of range/);
  console.log(`# saliency fmnist 4 images: ${ms.toFixed(0)} ms`);
});

test("saliency is |∂ logit_y / ∂x| up to scale: finite differences of the logit at two pixels have the map's ratio", async () => {
  const { model, x } = await fixture("fmnist_small");
  const img = sliceBatch(x, 5, 6);
  const { map, labels } = await saliency(exec, model, img);
  const m = map.data;
  // pixels inside the garment: the uniform background ties MaxPool windows, where the logit has no derivative
  const inside = Array.from(m.keys()).filter((i) => img.data[i]! > 0.1 && img.data[i]! < 0.9);
  const p = inside.reduce((a, i) => (m[i]! > m[a]! ? i : a));
  const q = inside.sort((i, j) => Math.abs(m[i]! / m[p]! - 0.5) - Math.abs(m[j]! / m[p]! - 0.5))[0]!;
  const h = 3e-3,
    batch = new Float32Array(3 * 784);
  for (let k = 0; k < 3; k++) batch.set(img.data, k * 784);
  batch[784 + p]! += h;
  batch[2 * 784 + q]! += h;
  const z = (await forward(exec, model, tensor("float32", [3, 1, 28, 28], batch))).data as Float32Array;
  const y = labels[0]!,
    dp = Math.abs(z[10 + y]! - z[y]!),
    dq = Math.abs(z[20 + y]! - z[y]!);
  console.log(`# saliency FD ratio ${dq / dp} vs map ${m[q]! / m[p]!}`);
  assert.ok(Math.abs(dq / dp - m[q]! / m[p]!) < 0.02, `finite-difference ratio ${dq / dp} vs map ${m[q]! / m[p]!}`);
});

test("saliency (cifar_bottleneck): 3 channels reduce to one map by the channel-wise max of |gradient|", async () => {
  const { model, x } = await fixture("cifar_bottleneck");
  const res = await saliency(exec, model, sliceBatch(x, 0, 2), [3, 7]);
  assert.deepEqual(res.map.shape, [2, 1, 32, 32]);
  checkNormalized(res.map);
});

test("channelMaxNormalized by hand: max |g| over channels, divided per image; an all-zero gradient stays 0", () => {
  const g = tensor("float32", [2, 2, 1, 2], [1, -4, -2, 2, 0, 0, 0, 0]);
  assert.deepEqual(Array.from(channelMaxNormalized(g).data), [0.5, 1, 0, 0]);
});
