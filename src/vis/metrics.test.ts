import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { loadNpy, saveNpy } from "../data/node/npy-file.js";
import { type Tensor, tensor } from "../ir/tensor.js";
import { Rng } from "../util/rng.js";
import { gaussianWindow1d, labelAgreement, relativeRepDistance, rmse, ssim } from "./metrics.js";

const PY = "/usr/bin/python3";

/** x + σ·N(0,1), clamped to [0,1]. */
function noisy(x: Tensor<"float32">, sigma: number, seed: number): Tensor<"float32"> {
  const rng = new Rng(seed);
  return tensor(
    "float32",
    x.shape,
    x.data.map((v) => Math.min(1, Math.max(0, v + sigma * rng.normal()))),
  ) as Tensor<"float32">;
}

const random = (shape: number[], seed: number) => {
  const r = new Rng(seed);
  return tensor(
    "float32",
    shape,
    Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => r.next()),
  ) as Tensor<"float32">;
};

const firstImages = async (k: number) => {
  const x = (await loadNpy("test/fixtures/fmnist_small/x.npy")) as Tensor<"float32">;
  return tensor("float32", [k, 1, 28, 28], x.data.slice(0, k * 784)) as Tensor<"float32">;
};

test("rmse, relative representation distance and label agreement on hand-computed cases", () => {
  const a = tensor("float32", [2, 1, 1, 2], [0, 0, 1, 1]),
    b = tensor("float32", [2, 1, 1, 2], [0, 1, 1, 1]);
  assert.deepEqual(Array.from(rmse(a, b)), [Math.sqrt(0.5), 0]);
  const r = tensor("float32", [1, 2], [3, 4]),
    t = tensor("float32", [1, 2], [0, 4]);
  assert.deepEqual(Array.from(relativeRepDistance(r, t)), [3 / 4]);
  assert.deepEqual(labelAgreement([1, 2, 3, 4], [1n, 2n, 0n, 4n]), { rate: 0.75, agree: [true, true, false, true] });
  assert.throws(() => rmse(a, r), /shapes/);
});

test("the Gaussian window is normalized, symmetric and peaks at the centre (11 taps, σ = 1.5)", () => {
  const w = gaussianWindow1d(11, 1.5);
  assert.ok(Math.abs(w.reduce((s, v) => s + v, 0) - 1) < 1e-12);
  for (let i = 0; i < 5; i++) assert.equal(w[i], w[10 - i]);
  assert.equal(Math.max(...w), w[5]);
});

test("SSIM of constant 11×11 images matches the formula by hand: (2ab + C1)/(a² + b² + C1)", () => {
  // one window position, σ terms all 0 so the contrast-structure factor is C2/C2 = 1
  const a = tensor("float32", [1, 1, 11, 11], new Float32Array(121).fill(0.25));
  const b = tensor("float32", [1, 1, 11, 11], new Float32Array(121).fill(0.75));
  const c1 = 1e-4;
  assert.ok(Math.abs(ssim(a, b)[0]! - (2 * 0.25 * 0.75 + c1) / (0.25 ** 2 + 0.75 ** 2 + c1)) < 1e-12);
  assert.throws(() => ssim(tensor("float32", [1, 1, 10, 10]), tensor("float32", [1, 1, 10, 10])), /smaller than the 11×11 window/);
});

test("SSIM is 1 for identical images and decreases as noise grows (Fashion-MNIST 28×28, RGB 32×32)", async () => {
  for (const x of [await firstImages(4), random([3, 3, 32, 32], 7)]) {
    for (const v of ssim(x, x)) assert.ok(Math.abs(v - 1) < 1e-12, `ssim(x, x) = ${v}`);
    const levels = [0.02, 0.05, 0.1, 0.2, 0.4].map((s, i) => ssim(x, noisy(x, s, 100 + i)));
    for (let i = 0; i < x.shape[0]!; i++) {
      for (let k = 1; k < levels.length; k++)
        assert.ok(levels[k]![i]! < levels[k - 1]![i]!, `image ${i}: SSIM at noise level ${k} does not fall`);
      assert.ok(levels[0]![i]! < 1 && levels[levels.length - 1]![i]! > -1);
    }
  }
});

// Wang et al. written directly in numpy: full (non-separable) 11×11 window over every valid position, per channel, then averaged
const NUMPY_SSIM = `
import sys, json, numpy as np
from numpy.lib.stride_tricks import sliding_window_view as sw
a = np.load(sys.argv[1]).astype(np.float64); b = np.load(sys.argv[2]).astype(np.float64)
ax = np.arange(11) - 5.0
g = np.exp(-(ax[:, None] ** 2 + ax[None, :] ** 2) / (2 * 1.5 ** 2)); g /= g.sum()
C1, C2 = 0.01 ** 2, 0.03 ** 2
out = []
for i in range(a.shape[0]):
    vals = []
    for c in range(a.shape[1]):
        A, B = sw(a[i, c], (11, 11)), sw(b[i, c], (11, 11))
        f = lambda P: (P * g).sum(axis=(-1, -2))
        m1, m2 = f(A), f(B)
        s11, s22, s12 = f(A * A) - m1 ** 2, f(B * B) - m2 ** 2, f(A * B) - m1 * m2
        vals.append((((2 * m1 * m2 + C1) * (2 * s12 + C2)) / ((m1 ** 2 + m2 ** 2 + C1) * (s11 + s22 + C2))).mean())
    out.append(float(np.mean(vals)))
print(json.dumps(out))
`;

test(
  "SSIM matches an independent numpy implementation of Wang et al. (2004)",
  { skip: !existsSync(PY) && "no /usr/bin/python3" },
  async (t) => {
    const dir = mkdtempSync(join(tmpdir(), "ssim-"));
    try {
      const cases: [string, Tensor<"float32">, Tensor<"float32">][] = [];
      const f = await firstImages(3);
      cases.push(["fmnist 28×28", f, noisy(f, 0.1, 1)]);
      const c = random([2, 3, 32, 32], 3);
      cases.push(["rgb 32×32", c, noisy(c, 0.05, 2)]);
      cases.push(["rgb 13×17 vs unrelated", random([2, 3, 13, 17], 4), random([2, 3, 13, 17], 5)]);
      for (const [name, a, b] of cases) {
        await saveNpy(join(dir, "a.npy"), a);
        await saveNpy(join(dir, "b.npy"), b);
        let ref: number[];
        try {
          ref = JSON.parse(execFileSync(PY, ["-c", NUMPY_SSIM, join(dir, "a.npy"), join(dir, "b.npy")], { encoding: "utf8" }));
        } catch (e) {
          t.skip(`numpy reference unavailable: ${String(e).split("\n")[0]}`);
          return;
        }
        const ours = ssim(a, b);
        ref.forEach((r, i) => assert.ok(Math.abs(ours[i]! - r) < 1e-9, `${name} #${i}: ${ours[i]} vs numpy ${r}`));
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
);
