import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { chooseRobustness } from "./report-plots.js";

test("robustness source: shipped eval.json only when every model has one; shipped without them is an error naming the model", () => {
  const d = mkdtempSync(join(tmpdir(), "rp-"));
  for (const m of ["a", "b"]) mkdirSync(join(d, m));
  writeFileSync(join(d, "a", "eval.json"), "{}");
  const a = join(d, "a", "model.onnx"), b = join(d, "b", "model.onnx");
  assert.equal(chooseRobustness("auto", [a]), "shipped");
  assert.equal(chooseRobustness("auto", [a, b]), "builtin");
  assert.equal(chooseRobustness("builtin", [a]), "builtin");
  assert.equal(chooseRobustness("none", [a, b]), "none");
  assert.throws(() => chooseRobustness("shipped", [a, b]), new RegExp(`--robustness shipped: no eval.json beside ${b.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}`));
});
