// Prints the model zoo's markdown table from models/*/model.json and eval.json.
import { existsSync, readFileSync, readdirSync } from "node:fs";

const rows = [];
for (const name of readdirSync("models").sort()) {
  const meta = `models/${name}/model.json`,
    ev = `models/${name}/eval.json`;
  if (!existsSync(meta) || !existsSync(ev)) continue;
  const m = JSON.parse(readFileSync(meta, "utf8")),
    e = JSON.parse(readFileSync(ev, "utf8"));
  const cells = e.results.map((r) => `${r.attack} ε=${r.eps}: ${(100 * r.robust_accuracy).toFixed(1)}%`);
  rows.push(
    `| ${name} | ${m.arch} | ${m.training.adv ? `${m.training.adv.kind} ε=${m.training.adv.eps}` : "standard"} | ${(100 * m.clean_accuracy).toFixed(2)}% | ${(100 * e.clean_accuracy).toFixed(1)}% | ${cells.join("<br>")} | ${e.images} |`,
  );
}
console.log(
  "| model | arch | training | clean (full test set) | clean (first N) | robust accuracy (L2, 20 steps, first N) | N |\n|---|---|---|---|---|---|---|\n" +
    rows.join("\n"),
);
