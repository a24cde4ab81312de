// Robustness evaluation on a small trained Fashion-MNIST model: agreement with PyTorch PGD, monotonic in ε, targeted success.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { readPlotSpec, specValues } from "robustlens/node";
import { cli, fixtureDir, tmp } from "./helpers.js";

const dir = fixtureDir("fmnist_small");
const ref = JSON.parse(readFileSync(join(dir, "robust_acc.json"), "utf8")) as {
  clean: number;
  l2: Record<string, number>;
  linf: Record<string, number>;
};
const data = `npy:${join(dir, "x.npy")},${join(dir, "labels.npy")}`;

for (const threat of ["l2", "linf"] as const) {
  test(`eval --threat ${threat}: PGD-20 robust accuracy matches PyTorch within 2 images and falls as ε grows; the plot beside holds the curve`, async () => {
    const epsList = Object.keys(ref[threat]);
    const out = join(tmp(), "report.json");
    const r = cli([
      "eval",
      "--model",
      join(dir, "model.onnx"),
      "--data",
      data,
      "--threat",
      threat,
      "--eps",
      epsList.join(","),
      "--steps",
      "20",
      "--out",
      out,
      "--batch-size",
      "128",
    ]);
    assert.equal(r.status, 0, r.stderr);
    const report = JSON.parse(readFileSync(out, "utf8")) as {
      clean_accuracy: number;
      images: number;
      results: { eps: number; robust_accuracy: number; step_size: number }[];
    };
    assert.equal(report.images, 256);
    assert.ok(Math.abs(report.clean_accuracy - ref.clean) < 0.5 / 256);
    const accs = report.results.map((x) => x.robust_accuracy);
    report.results.forEach((x, i) => {
      assert.ok(
        Math.abs(x.robust_accuracy - ref[threat][epsList[i]!]!) <= 2 / 256,
        `eps ${x.eps}: ${x.robust_accuracy} vs PyTorch ${ref[threat][epsList[i]!]}`,
      );
      assert.ok(Math.abs(x.step_size - (2.5 * x.eps) / 20) < 1e-12);
    });
    for (let i = 1; i < accs.length; i++) assert.ok(accs[i]! < accs[i - 1]!, `accuracy not decreasing: ${accs}`);
    assert.ok(accs[0]! < report.clean_accuracy);
    // the plot beside the report: the PGD-20 line starts at clean accuracy (ε = 0) and has every ε's robust accuracy
    const rows = specValues(await readPlotSpec(join(out, "..", "report.svg")));
    assert.deepEqual(
      rows.map((v) => [v.model, v.attack, v.eps]),
      [0, ...epsList.map(Number)].map((e) => ["fmnist_small", "PGD-20", e]),
    );
    assert.deepEqual(
      rows.map((v) => Number(v.accuracy)),
      [report.clean_accuracy, ...accs].map((a) => Number((100 * a).toPrecision(4))),
    );
    assert.match(r.stdout, /wrote .*report\.svg \(accuracy vs eps\)/);
  });
}

test("targeted PGD reaches the target class for most examples", () => {
  const out = join(tmp(), "adv.npy");
  const r = cli([
    "attack",
    "--model",
    join(dir, "model.onnx"),
    "--input",
    join(dir, "x.npy"),
    "--labels",
    join(dir, "labels.npy"),
    "--targeted",
    "--target-labels",
    join(dir, "target_labels.npy"),
    "--threat",
    "l2",
    "--eps",
    "3",
    "--steps",
    "40",
    "--out",
    out,
  ]);
  assert.equal(r.status, 0, r.stderr);
  const reached = Number(/target reached ([\d.]+)%/.exec(r.stdout)?.[1]);
  assert.ok(reached >= 90, `target reached only ${reached}%`);
});
