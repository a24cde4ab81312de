// Finite-difference gradient check of every ONNX backend test whose forward test passes; writes a JSON summary.
// usage: node scripts/conformance-grad.mjs [--suite node,pytorch-converted,...] [--only REGEX] [--json FILE] [--list]
import { mkdirSync, writeFileSync } from "node:fs";
import { basename, dirname } from "node:path";
import { GRAD_TOLERANCES, emptyRow, runGradTest, tally, testName } from "../dist/src/testing/conformance-grad.js";
import { suiteTests } from "../dist/src/testing/conformance.js";

const arg = (k) => {
  const i = process.argv.indexOf(k);
  return i > 0 ? process.argv[i + 1] : undefined;
};
const suites = (arg("--suite") ?? "node,pytorch-converted,pytorch-operator,simple,real").split(",");
const only = arg("--only") ? new RegExp(arg("--only")) : undefined;
const out = arg("--json") ?? "runs/conformance-grad.json";
const list = process.argv.includes("--list");

const bySuite = {},
  byOp = {},
  skipReasons = {},
  tests = [];
const t0 = Date.now();
for (const s of suites) {
  bySuite[s] = emptyRow();
  for (const dir of suiteTests(s)) {
    if (only && !only.test(basename(dir))) continue;
    const name = testName(dir);
    const r = await runGradTest(dir);
    tally(bySuite[s], name, r);
    // a model of one op type counts for that op; a model of several for their combination
    const op = s === "node" || r.ops.length <= 2 ? r.ops.join("+") : `(model) ${s}`;
    tally((byOp[op] ??= emptyRow()), name, r);
    if (r.status === "skip") {
      const k = r.detail?.replace(/"[^"]*"/g, '"…"').slice(0, 120) ?? "?";
      skipReasons[k] = (skipReasons[k] ?? 0) + 1;
    }
    const { checks, ...rest } = r;
    tests.push({
      test: name,
      ...rest,
      ...(checks
        ? {
            checks: checks.map(({ input, analytic, numeric, relErr, eps, verdict }) => ({
              input,
              analytic,
              numeric,
              relErr,
              eps,
              verdict,
            })),
          }
        : {}),
    });
    if (list)
      console.log(
        `${name}: ${r.status}${r.precision ? ` ${r.precision}` : ""}${r.worstRelErr !== undefined ? ` rel err ${r.worstRelErr.toExponential(2)}` : ""}${r.detail ? ` (${r.detail.slice(0, 200)})` : ""}`,
      );
  }
  const b = bySuite[s];
  console.log(
    `${s}: ${b.passed}/${b.checked} gradient checks pass (${b.failed} fail, ${b.refused} refused, ${b.inconclusive} inconclusive at kinks, ${b.crashed} crash; ${b.skipped} skipped; ${b.constantOperands} with run-time operands made constant); worst rel err ${b.worstRelErr.toExponential(2)}`,
  );
  for (const e of b.errors) console.log(`  ${e.slice(0, 300)}`);
}
const precision = {
  float64: tests.filter((t) => t.precision === "float64").length,
  float32: tests.filter((t) => t.precision === "float32").length,
};
mkdirSync(dirname(out), { recursive: true });
writeFileSync(
  out,
  JSON.stringify(
    { tolerances: GRAD_TOLERANCES, seconds: Math.round((Date.now() - t0) / 1000), precision, bySuite, byOp, skipReasons, tests },
    null,
    2,
  ) + "\n",
);
console.log(`checked in float64: ${precision.float64}, float32: ${precision.float32}; summary in ${out}`);
