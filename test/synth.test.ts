// Synthesis with the shipped Fashion-MNIST pair: each task lowers its objective; robust generations and inpaintings win.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import {
  Model,
  Session,
  type Tensor,
  argmaxRows,
  defaultInpaintMask,
  fitClassGaussians,
  forward,
  generate,
  inceptionScore,
  inpaint,
  paint,
  patchMask,
  restorationScores,
  sketch,
  sliceBatch,
  superResolve,
  translate,
} from "robustlens";
import { loadNpy, nodeExecutor } from "robustlens/node";
import { fixtureDir, mean } from "./helpers.js";

const fx = fixtureDir("fmnist_small");
const ROBUST = "models/fashion-mnist-l2/model.onnx",
  STANDARD = "models/fashion-mnist-standard/model.onnx";
const load = (p: string) => new Model(new Uint8Array(readFileSync(p)), p);
const session = new Session(nodeExecutor);
const data = async () => ({
  x: (await loadNpy(join(fx, "x.npy"))) as Tensor<"float32">,
  labels: Array.from((await loadNpy(join(fx, "labels.npy"))).data, Number),
});
const lowered = (r: { lossBefore: Float32Array; loss: Float32Array }, what: string) => {
  for (let i = 0; i < r.loss.length; i++) assert.ok(r.loss[i]! < r.lossBefore[i]!, `${what} ${i}: ${r.lossBefore[i]} → ${r.loss[i]}`);
};

test("every synthesis task lowers its objective (robust model, few images, few steps); images stay in [0,1]", async () => {
  const m = load(ROBUST),
    { x, labels } = await data();
  const imgs = sliceBatch(x, 0, 3),
    ys = labels.slice(0, 3);
  const g = fitClassGaussians(x, labels);
  const few = { steps: 10 };
  const gen = await generate(session, m, g, { classes: [0, 7], count: 2 }, few);
  assert.deepEqual(gen.labels, [0, 0, 7, 7]);
  lowered(gen, "generate");
  const ip = await inpaint(session, m, imgs, ys, defaultInpaintMask(28, 28), { steps: 10, stepSize: 0.05 });
  lowered(ip, "inpaint");
  // the default confines steps to the hole; the paper's unconfined form also moves the known pixels
  const outsideChange = (r: typeof ip) =>
    Math.max(...Array.from(r.x.data, (v, i) => (r.mask.data[i]! > 0 ? 0 : Math.abs(v - r.corrupted.data[i]!))));
  assert.equal(outsideChange(ip), 0);
  const free = await inpaint(session, m, imgs, ys, defaultInpaintMask(28, 28), { steps: 10, stepSize: 0.05, region: "image" });
  lowered(free, "inpaint (unconfined)");
  assert.ok(outsideChange(free) > 1e-3, `unconfined: outside change ${outsideChange(free)}`);
  lowered(await superResolve(session, m, imgs, ys, few), "super-resolve");
  const tr = await translate(session, m, imgs, 8, few);
  lowered(tr, "translate");
  lowered(await sketch(session, m, imgs, 1, few), "sketch");
  const p = await paint(session, m, imgs, [{ feature: 9, mask: patchMask(28, 28, { top: 4, left: 4, size: 10 }) }], { steps: 40 });
  // painting maximizes its objective (the reported loss is the objective itself); a unit dead in an image may stay at 0
  for (let i = 0; i < 3; i++) assert.ok(p.loss[i]! >= p.lossBefore[i]!, `paint ${i}: ${p.lossBefore[i]} → ${p.loss[i]}`);
  assert.ok(mean(p.loss) > mean(p.lossBefore) + 0.01, `paint: ${p.lossBefore} → ${p.loss}`);
  // outside the mask nothing moves
  const outside = Array.from(p.x.data).filter((v, j) => {
    const pix = j % 784,
      r = Math.floor(pix / 28),
      c = pix % 28;
    return !(r >= 4 && r < 14 && c >= 4 && c < 14) && v !== imgs.data[j]!;
  }).length;
  assert.equal(outside, 0, `${outside} pixels outside the mask changed`);
  for (const r of [gen, ip, tr, p]) assert.ok(Array.from(r.x.data).every((v) => v >= 0 && v <= 1));
});

test("generation: the robust model's images get a higher judge label agreement and score than the standard model's", async (t) => {
  const robust = load(ROBUST),
    standard = load(STANDARD),
    { x, labels } = await data();
  const g = fitClassGaussians(x, labels);
  const classes = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
  const res: Record<string, { agree: number; score: number }> = {};
  for (const [name, m, judge] of [
    ["standard", standard, robust],
    ["robust", robust, standard],
  ] as const) {
    const r = await generate(session, m, g, { classes, count: 2, seed: 1 });
    const logits = await forward(session, judge, r.x);
    res[name] = { agree: mean(argmaxRows(logits).map((p, i) => (p === r.labels[i] ? 1 : 0))), score: inceptionScore(logits) };
  }
  t.diagnostic(JSON.stringify(res));
  assert.ok(res.robust!.agree > res.standard!.agree, JSON.stringify(res));
  assert.ok(res.robust!.score > res.standard!.score, JSON.stringify(res));
});

test("inpainting: the robust model restores the masked region closer to the original than the corrupted input is", async (t) => {
  const m = load(ROBUST),
    { x, labels } = await data();
  const imgs = sliceBatch(x, 0, 8);
  // fewer, larger steps than the published 720 × 0.0072 (same radius)
  const r = await inpaint(session, m, imgs, labels.slice(0, 8), defaultInpaintMask(28, 28), { steps: 150, stepSize: 0.035 });
  const s = restorationScores(imgs, r.x, r.corrupted, r.mask);
  t.diagnostic(JSON.stringify(s));
  assert.ok(s.rmse < 0.99 * s.rmseCorrupted, JSON.stringify(s));
  assert.ok(s.ssim > s.ssimCorrupted, JSON.stringify(s));
  await session.dispose();
});
