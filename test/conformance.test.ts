// The ONNX project's backend test data (Debian libonnx-testdata) through robustlens: floors on passes, no crashes.
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { basename } from "node:path";
import { test } from "node:test";
import { TESTDATA, runConformanceTest, suiteTests } from "../src/testing/conformance.js";

async function suite(name: string) {
  const counts = { pass: 0, fail: 0, refused: 0, crash: 0, reference: 0 };
  const bad: string[] = [];
  for (const dir of suiteTests(name)) {
    const r = await runConformanceTest(dir);
    counts[r.status]++;
    if (r.status === "crash" || r.status === "fail") bad.push(`${basename(dir)}: ${r.status} ${r.detail}`);
  }
  return { counts, runnable: counts.pass + counts.fail + counts.refused + counts.crash, bad };
}

test("libonnx-testdata is installed (apt-get install libonnx-testdata)", () => {
  assert.ok(existsSync(TESTDATA), `${TESTDATA} not found: apt-get install libonnx-testdata`);
});

test("pytorch-converted and pytorch-operator (opset 6 CNN layers and models): ≥ 95% of what onnxruntime passes, no crash", async (t) => {
  const a = await suite("pytorch-converted"),
    b = await suite("pytorch-operator");
  t.diagnostic(`pytorch-converted ${JSON.stringify(a.counts)}; pytorch-operator ${JSON.stringify(b.counts)}`);
  assert.deepEqual([...a.bad, ...b.bad], []);
  const pass = a.counts.pass + b.counts.pass,
    runnable = a.runnable + b.runnable;
  assert.ok(runnable >= 80, `only ${runnable} runnable tests`);
  assert.ok(pass / runnable >= 0.95, `${pass}/${runnable} pass`);
  // floors at the counts measured 2026-12-02 (every test onnxruntime passes)
  assert.ok(a.counts.pass >= 59, `pytorch-converted: ${a.counts.pass} pass, floor 59`);
  assert.ok(b.counts.pass >= 24, `pytorch-operator: ${b.counts.pass} pass, floor 24`);
});

test("node suite (one op each, opsets 6–21): every import is a pass or a clean refusal; at least 614 pass", async (t) => {
  const r = await suite("node");
  t.diagnostic(`node ${JSON.stringify(r.counts)}`);
  assert.deepEqual(r.bad, []);
  assert.ok(r.counts.pass >= 614, `${r.counts.pass} pass, floor 614 (measured 2026-12-02)`);
});
