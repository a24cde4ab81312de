// Runs the ONNX backend test data through robustlens and prints the counts per suite (and, with --list, each outcome).
// usage: node scripts/conformance.mjs [--suite node,pytorch-converted,...] [--list] [--json FILE]
import { writeFileSync } from "node:fs";
import { basename } from "node:path";
import { runConformanceTest, suiteTests } from "../dist/src/testing/conformance.js";

const arg = (k) => {
  const i = process.argv.indexOf(k);
  return i > 0 ? process.argv[i + 1] : undefined;
};
const suites = (arg("--suite") ?? "node,pytorch-converted,pytorch-operator,simple,real").split(",");
const all = {};
for (const s of suites) {
  const counts = { pass: 0, fail: 0, refused: 0, crash: 0, reference: 0 };
  const refusals = new Map();
  all[s] = [];
  for (const dir of suiteTests(s)) {
    const r = await runConformanceTest(dir);
    counts[r.status]++;
    all[s].push({ test: basename(dir), ...r });
    if (process.argv.includes("--list")) console.log(`${s}/${basename(dir)}: ${r.status}${r.detail ? ` (${r.detail.slice(0, 160)})` : ""}`);
    if (r.status === "refused") {
      const k = r.detail?.replace(/^.*?: /, "").slice(0, 90) ?? "?";
      refusals.set(k, (refusals.get(k) ?? 0) + 1);
    }
  }
  const runnable = counts.pass + counts.fail + counts.refused + counts.crash;
  console.log(
    `${s}: ${counts.pass}/${runnable} pass of the tests onnxruntime passes (${counts.fail} fail, ${counts.refused} refused, ${counts.crash} crash; ${counts.reference} not counted: onnxruntime fails them)`,
  );
  for (const [k, n] of [...refusals].sort((a, b) => b[1] - a[1]).slice(0, 12)) console.log(`  refused ×${n}: ${k}`);
}
const out = arg("--json");
if (out) writeFileSync(out, JSON.stringify(all, null, 2));
