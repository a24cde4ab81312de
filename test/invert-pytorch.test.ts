// Inversion with the paper's settings (L2 step 1, ε 1000, use_best) against a PyTorch run of the same procedure on the same ONNX file.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { promisify } from "node:util";
import { Model, type Tensor, invert, makeSeeds, relativeRepDistance, representationOf, sliceBatch } from "robustlens";
import { loadNpy, nodeExecutor, saveNpy } from "robustlens/node";
import { FIXTURES, mean, tmp } from "./helpers.js";

const run = promisify(execFile);
const STEPS = 100;
// the first steps are deterministic enough for a per-example comparison (measured ≤ 6e-6 apart at step 10)
const LOCKSTEP = 10;

interface Reference {
  distance: number[];
  initial: number[];
  best_by_step: number[][];
}

const relDev = (a: number, b: number) => Math.abs(a - b) / b;
const fmt = (a: ArrayLike<number>) => Array.from(a, (v) => v.toFixed(4)).join(" ");

// Step 1 on [0,1] images never settles: after ~20 steps the iterate bounces around the optimum and float32 rounding decides
// where, so per example the 100-step distance is chaotic (PyTorch against itself, x0 moved by 1e-6: 10–20% spread, up to 1.8×).
// Hence: per example in lockstep for the first steps, and the 100-step distance averaged over many examples.
const cases = [
  {
    name: "fashion-mnist-l2 (shipped robust model)",
    model: "models/fashion-mnist-l2/model.onnx",
    targets: join(FIXTURES, "fmnist_small/x.npy"),
    n: 32,
  },
  {
    name: "cifar_bottleneck (fixture)",
    model: join(FIXTURES, "cifar_bottleneck/model.onnx"),
    targets: join(FIXTURES, "cifar_bottleneck/target.npy"),
    n: 4,
  },
];

for (const c of cases) {
  test(`invert ${c.name}: ${STEPS} steps reach PyTorch's relative representation distance within 10%`, async (t) => {
    const model = new Model(new Uint8Array(readFileSync(c.model)), c.model);
    const targets = sliceBatch((await loadNpy(c.targets)) as Tensor<"float32">, 0, c.n);
    const seed = makeSeeds(model, "noise", c.n, 7);
    const info = model.representation();
    assert.ok(info.fakeRelu, `no fake ReLU found before "${info.name}"`);
    const dir = tmp();
    await saveNpy(join(dir, "targets.npy"), targets);
    await saveNpy(join(dir, "seed.npy"), seed);
    const args = [
      "scripts/invert_reference.py",
      "--model",
      c.model,
      "--targets",
      join(dir, "targets.npy"),
      "--seed",
      join(dir, "seed.npy"),
      "--steps",
      String(STEPS),
      "--step-size",
      "1",
      "--eps",
      "1000",
      "--rep",
      info.name,
      "--fake-relu",
      info.fakeRelu,
      "--threads",
      "1",
      "--out",
      join(dir, "ref.json"),
    ];
    const settings = { seed, stepSize: 1, eps: 1000 };
    // PyTorch runs in its own process while ONNX Runtime works here
    const started = performance.now();
    const [, mine, early] = await Promise.all([
      run("/usr/bin/python3", args).catch((e: { stderr?: string }) => {
        throw new Error(`invert_reference.py failed: ${e.stderr ?? e}`);
      }),
      invert(nodeExecutor, model, targets, { ...settings, steps: STEPS }),
      invert(nodeExecutor, model, targets, { ...settings, steps: LOCKSTEP }),
    ]);
    const seconds = (performance.now() - started) / 1000;
    const ref = JSON.parse(readFileSync(join(dir, "ref.json"), "utf8")) as Reference;
    const before = relativeRepDistance(
      await representationOf(nodeExecutor, model, seed),
      await representationOf(nodeExecutor, model, targets),
    );
    const perExample = Array.from(mine.distance, (d, i) => relDev(d, ref.distance[i]!));
    const meanDev = relDev(mean(mine.distance), mean(ref.distance));
    const lockDev = Math.max(...Array.from(early.distance, (d, i) => relDev(d, ref.best_by_step[LOCKSTEP]![i]!)));
    t.diagnostic(`rep "${info.name}", fake ReLU "${info.fakeRelu}"; mean seed distance ${mean(before).toFixed(4)}`);
    t.diagnostic(`robustlens ${fmt(mine.distance)} (mean ${mean(mine.distance).toFixed(4)})`);
    t.diagnostic(`PyTorch    ${fmt(ref.distance)} (mean ${mean(ref.distance).toFixed(4)})`);
    t.diagnostic(
      `mean distance ${(100 * meanDev).toFixed(2)}% apart; per example max ${(100 * Math.max(...perExample)).toFixed(1)}%, ` +
        `median ${(100 * perExample.sort((a, b) => a - b)[c.n >> 1]!).toFixed(1)}%; after ${LOCKSTEP} steps max ${lockDev.toExponential(1)}; ${seconds.toFixed(1)} s`,
    );
    for (let i = 0; i < c.n; i++) {
      // the same forward pass, then the same steps: per example agreement while the trajectories are still deterministic
      assert.ok(relDev(before[i]!, ref.initial[i]!) <= 1e-3, `example ${i}: seed distance ${before[i]} vs PyTorch ${ref.initial[i]}`);
      const lock = ref.best_by_step[LOCKSTEP]![i]!;
      assert.ok(relDev(early.distance[i]!, lock) <= 1e-3, `example ${i}: after ${LOCKSTEP} steps ${early.distance[i]} vs PyTorch ${lock}`);
      for (const [who, d] of [
        ["robustlens", mine.distance[i]!],
        ["PyTorch", ref.distance[i]!],
      ] as const) {
        assert.ok(d < 0.3 * before[i]!, `example ${i}: ${who} only reached ${d} from the seed's ${before[i]}`);
      }
    }
    assert.ok(meanDev <= 0.1, `mean distance after ${STEPS} steps: ${mean(mine.distance)} vs PyTorch ${mean(ref.distance)}`);
  });
}
