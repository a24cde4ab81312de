import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { chooseRobustness, evalReports } from "./report-plots.js";
import { loadModel } from "./vis-common.js";

test("robustness source: shipped eval.json only when every model has one; shipped without them is an error naming the model", () => {
  const d = mkdtempSync(join(tmpdir(), "rp-"));
  for (const m of ["a", "b"]) mkdirSync(join(d, m));
  writeFileSync(join(d, "a", "eval.json"), "{}");
  const a = join(d, "a", "model.onnx"),
    b = join(d, "b", "model.onnx");
  assert.equal(chooseRobustness("auto", [a]), "shipped");
  assert.equal(chooseRobustness("auto", [a, b]), "builtin");
  assert.equal(chooseRobustness("builtin", [a]), "builtin");
  assert.equal(chooseRobustness("none", [a, b]), "none");
  assert.throws(
    () => chooseRobustness("shipped", [a, b]),
    new RegExp(`--robustness shipped: no eval.json beside ${b.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}`),
  );
});

test("built-in eval: PGD-20 per model at the given radii, kept in DIR/eval as eval reports", async () => {
  const d = mkdtempSync(join(tmpdir(), "rp-"));
  const fx = "test/fixtures/fmnist_small";
  const m = await loadModel(`${fx}/model.onnx`);
  const [r] = await evalReports("builtin", [m], d, `npy:${fx}/x.npy,${fx}/labels.npy`, "0.5,2");
  assert.equal(r!.name, "fmnist_small");
  assert.equal(r!.report.images, 200);
  assert.deepEqual(
    r!.report.results.map((x) => [x.attack, x.steps, x.eps]),
    [
      ["pgd", 20, 0.5],
      ["pgd", 20, 2],
    ],
  );
  const [a, b] = r!.report.results.map((x) => x.robust_accuracy);
  assert.ok(r!.report.clean_accuracy > a! && a! > b!, `${r!.report.clean_accuracy} ${a} ${b}`);
  const onDisk = JSON.parse(readFileSync(join(d, "eval", "0-fmnist_small.json"), "utf8"));
  assert.equal(onDisk.clean_accuracy, r!.report.clean_accuracy);
});
