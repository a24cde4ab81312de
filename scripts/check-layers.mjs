// Checks the layering of src/ (docs/design.md §2): a folder imports only from folders below it; type-only imports are
// exempt (they vanish at run time). Exits 1 naming each offending import.
import { readFileSync, readdirSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";

// lower rank = lower layer; folders of equal rank may not import each other
const RANK = {
  util: 0,
  ir: 0,
  ops: 1,
  builder: 2,
  autodiff: 3,
  runtime: 3,
  data: 3,
  image: 4,
  plot: 4,
  nn: 4,
  model: 4,
  attack: 5,
  train: 6,
  vis: 6,
  synth: 6.5,
  report: 7,
  testing: 8,
  cli: 9,
  web: 9,
};
const root = resolve("src");
const files = [];
const walk = (d) => {
  for (const n of readdirSync(d)) {
    const p = join(d, n);
    if (statSync(p).isDirectory()) walk(p);
    else if (p.endsWith(".ts") && !p.endsWith(".test.ts")) files.push(p);
  }
};
walk(root);
const folderOf = (p) => relative(root, p).split("/")[0];
const bad = [];
for (const f of files) {
  const from = folderOf(f);
  if (!(from in RANK) && from.endsWith(".ts")) continue; // src/index.ts, src/node.ts: the package surface
  const src = readFileSync(f, "utf8");
  for (const m of src.matchAll(/^(import|export)\s+(type\s+)?[^;]*?from\s+"(\.[^"]+)"/gms)) {
    if (m[2]) continue;
    const to = folderOf(resolve(dirname(f), m[3]));
    if (to === from) continue;
    if (!(from in RANK) || !(to in RANK)) {
      bad.push(`${relative(".", f)}: unknown layer for ${from} → ${to}`);
      continue;
    }
    if (RANK[to] >= RANK[from]) bad.push(`${relative(".", f)}: ${from} (layer ${RANK[from]}) imports ${m[3]} (${to}, layer ${RANK[to]})`);
  }
}
if (bad.length) {
  console.error(`layering: ${bad.length} import(s) go up or sideways (docs/design.md §2):\n${bad.join("\n")}`);
  process.exit(1);
}
console.log(`layering: ${files.length} files, every value import goes down`);
