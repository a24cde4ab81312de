// Reverse-mode gradients of the ONNX backend tests vs central finite differences (float64 where onnxruntime has double
// kernels): a bounded subset — the pytorch suites and the node tests of the ops image classifiers use. The full run is
// `npm run conformance:grad` (scripts/conformance-grad.mjs, a JSON summary by op).
import assert from "node:assert/strict";
import { basename } from "node:path";
import { test } from "node:test";
import { type GradSummaryRow, emptyRow, runGradTest, tally, testName } from "../src/testing/conformance-grad.js";
import { suiteTests } from "../src/testing/conformance.js";

// gradient refusals known and named: grad() declines these attribute forms in one line
const KNOWN_REFUSALS: readonly [RegExp, string][] = [
  [/Resize "resize": mode "(linear|cubic)" has no gradient rule/, "Resize linear/cubic VJPs are being added on branch ops"],
  [/Dropout "dropout" in training mode/, "training-mode Dropout is refused by design (export in eval mode)"],
];

// node tests of the ops CNN and ViT classifiers are built from
const IMAGE_OPS =
  /^test_(conv|convtranspose|maxpool|averagepool|globalaveragepool|batchnorm|instancenorm|layer_normalization|gemm|matmul|relu|leakyrelu|prelu|elu|hardsigmoid|hardswish|sigmoid|softmax|erf|clip|concat|reshape|transpose|flatten|pad|depthtospace)(_|$)/;

// inputs placed on the op's kink by construction (x = 0 under Elu/LeakyRelu/PRelu): one-sided slopes differ there
const KNOWN_KINKS = /^node\/test_(elu|leakyrelu|prelu|relu|clip)_example$/;

async function run(suite: string, filter?: RegExp): Promise<{ row: GradSummaryRow; refusals: string[]; kinks: string[] }> {
  const row = emptyRow();
  const refusals: string[] = [],
    kinks: string[] = [];
  for (const dir of suiteTests(suite)) {
    if (filter && !filter.test(basename(dir))) continue;
    const r = await runGradTest(dir);
    tally(row, testName(dir), r);
    if (r.status === "refused") refusals.push(`${testName(dir)}: ${r.detail}`);
    if (r.status === "inconclusive") kinks.push(testName(dir));
  }
  return { row, refusals, kinks };
}

function assertSuite(name: string, { row, refusals, kinks }: Awaited<ReturnType<typeof run>>, floor: number): void {
  assert.deepEqual(
    kinks.filter((k) => !KNOWN_KINKS.test(k)),
    [],
    `${name}: inconclusive outside the known kinks`,
  );
  const bad = row.errors.filter((e) => !refusals.some((r) => r === e && KNOWN_REFUSALS.some(([re]) => re.test(e))));
  assert.deepEqual(bad, [], `${name}: gradient failures, crashes or unknown refusals`);
  assert.equal(row.failed + row.crashed, 0);
  assert.ok(row.passed >= floor, `${name}: ${row.passed} gradient checks pass, floor ${floor}`);
}

test("gradients of pytorch-converted and pytorch-operator (opset 6 CNN layers): every check passes", async (t) => {
  const a = await run("pytorch-converted"),
    b = await run("pytorch-operator");
  t.diagnostic(`pytorch-converted ${JSON.stringify({ ...a.row, errors: undefined })}`);
  t.diagnostic(`pytorch-operator ${JSON.stringify({ ...b.row, errors: undefined })}`);
  for (const r of [...a.refusals, ...b.refusals]) t.diagnostic(`refused: ${r}`);
  assertSuite("pytorch-converted", a, 57);
  assertSuite("pytorch-operator", b, 23);
});

test("gradients of the node tests of image-model ops: no failure outside kinks, floor on passes", async (t) => {
  const r = await run("node", IMAGE_OPS);
  t.diagnostic(`node (image ops) ${JSON.stringify({ ...r.row, errors: undefined })}`);
  for (const x of r.refusals) t.diagnostic(`refused: ${x}`);
  for (const k of r.kinks) t.diagnostic(`inconclusive (kink): ${k}`);
  assertSuite("node", r, 177);
});
