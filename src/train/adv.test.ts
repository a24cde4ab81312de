import assert from "node:assert/strict";
import { test } from "node:test";
import { tensor } from "../ir/tensor.js";
import { Rng } from "../util/rng.js";
import { checkAdv, nfgsmThreat, passesOf } from "./adv.js";

const gray = (n: number, d: number) => tensor("float32", [n, 1, 1, d], new Float32Array(n * d).fill(0.5));
const noise = (i: number) => Rng.derive(7, 0, i);

test("N-FGSM noise: L∞ uniform in the k·ε box (beyond ε), L2 uniform in the k·ε ball", () => {
  const eps = 0.1,
    d = 400;
  const linf = nfgsmThreat({ kind: "n-fgsm", threat: "linf", eps }).threat.randomStart(gray(4, d), noise);
  const dl = Array.from(linf.data, (v) => v - 0.5);
  assert.ok(Math.max(...dl.map(Math.abs)) <= 2 * eps + 1e-6);
  assert.ok(dl.filter((v) => Math.abs(v) > eps).length > 0.4 * dl.length, "about half the coordinates lie beyond ε");
  const r = nfgsmThreat({ kind: "n-fgsm", threat: "l2", eps: 0.5, noise: 2 }).threat.randomStart(gray(200, d), noise);
  const radii = Array.from({ length: 200 }, (_, i) => Math.hypot(...Array.from(r.data.subarray(i * d, (i + 1) * d), (v) => v - 0.5)));
  assert.ok(Math.max(...radii) <= 1 + 1e-5, `max radius ${Math.max(...radii)}`);
  // uniform in a 400-dimensional ball: radius 1·U^(1/400), mean d/(d+1)
  const mean = radii.reduce((a, b) => a + b, 0) / radii.length;
  assert.ok(Math.abs(mean - d / (d + 1)) < 0.01, `mean radius ${mean}`);
  const none = nfgsmThreat({ kind: "n-fgsm", threat: "l2", eps: 0.5, noise: 0 }).threat.randomStart(gray(1, d), noise);
  assert.ok(none.data.every((v) => v === 0.5));
});

test("N-FGSM defaults: step α = ε, key names threat, ε and k", () => {
  const a = nfgsmThreat({ kind: "n-fgsm", threat: "l2", eps: 1.25 });
  assert.equal(a.stepSize, 1.25);
  assert.equal(a.threat.key, "n-fgsm:l2:1.25:2");
  assert.equal(nfgsmThreat({ kind: "n-fgsm", threat: "linf", eps: 0.1, noise: 1, stepSize: 0.05 }).stepSize, 0.05);
});

test("Free divides the epochs by its replays; other modes keep them", () => {
  assert.equal(passesOf(12, { kind: "free", threat: "l2", eps: 1, replays: 4 }), 3);
  assert.equal(passesOf(12, { kind: "n-fgsm", threat: "l2", eps: 1 }), 12);
  assert.equal(passesOf(12, undefined), 12);
  assert.throws(() => checkAdv({ kind: "free", threat: "linf", eps: 0.1, replays: 5 }, 12), {
    message: /^adv free: epochs 12 is not a multiple of replays 5/,
  });
  assert.throws(() => checkAdv({ kind: "pgd" } as never, 1), { message: /^adv: unknown kind "pgd"/ });
  assert.throws(() => checkAdv({ kind: "free", threat: "l2", eps: 1, replays: 2, stepSize: 0 }, 2), {
    message: /^adv free: stepSize must be a positive/,
  });
});
