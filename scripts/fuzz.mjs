// Long mutation-fuzz run of the file readers: node scripts/fuzz.mjs [--minutes M] [--seed S] (after npm run build).
import { fuzz } from "../dist/test/fuzz-harness.js";

const arg = (name, dflt) => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
};
const minutes = arg("--minutes", 10),
  seed = arg("--seed", 1);
if (!(minutes > 0) || !Number.isInteger(seed)) {
  console.error("usage: node scripts/fuzz.mjs [--minutes M] [--seed S]");
  process.exit(2);
}
const r = await fuzz({ seed, millis: minutes * 60_000 });
console.log(
  JSON.stringify({ minutes, seed, cases: r.cases, byTarget: r.byTarget, slowestMs: r.slowestMs, failures: r.failures.length }, null, 1),
);
for (const f of r.failures.slice(0, 50)) console.log(`${f.target}: ${f.mutation}: ${f.error}`);
process.exit(r.failures.length ? 1 : 0);
