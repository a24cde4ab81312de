// The main job: the paper's figures and numbers for the shipped zoo models, as HTML reports (standard vs robust side by side).
// usage: npm run demo [-- --scale F]   (F multiplies the paper's step counts; default 1)
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { resolve } from "node:path";

const arg = process.argv.indexOf("--scale");
const scale = arg > 0 ? process.argv[arg + 1] : "1";
const FMNIST_SYSTEM = "/usr/share/datasets/fashion-mnist";
// a fresh machine without Debian's dataset-fashion-mnist still has the first 256 test images shipped as a fixture
const FMNIST_SUBSET = "npy:test/fixtures/fmnist_small/x.npy,test/fixtures/fmnist_small/labels.npy";
const fmnist = existsSync(FMNIST_SYSTEM) ? "fashion-mnist" : FMNIST_SUBSET;

const reports = [
  { name: "fashion-mnist", models: ["fashion-mnist-standard", "fashion-mnist-l2"], data: fmnist, ood: "mnist:0-9" },
  // digits' OOD targets: clothes from the shipped Fashion-MNIST subset
  { name: "mnist", models: ["mnist-standard", "mnist-l2"], data: "mnist", ood: "test/fixtures/fmnist_small/x.npy:0-9" },
];

const t0 = performance.now();
const written = [];
for (const r of reports) {
  const models = r.models.map((m) => `models/${m}/model.onnx`);
  const missing = models.filter((m) => !existsSync(m));
  if (missing.length) {
    console.log(`demo: skipping the ${r.name} report: ${missing.join(", ")} not found (train it with models/recipes/)`);
    continue;
  }
  const out = resolve("runs/demo", r.name);
  console.log(
    `\n== ${r.name}: ${r.models.join(" vs ")} on ${r.data === FMNIST_SUBSET ? "the shipped 256-image Fashion-MNIST subset" : r.data} ==`,
  );
  const p = spawnSync(
    process.execPath,
    ["bin/robustlens.js", "report", "--models", models.join(","), "--data", r.data, "--ood", r.ood, "--scale", scale, "--out", out],
    { stdio: ["ignore", "inherit", "inherit"] },
  );
  if (p.status !== 0) process.exit(p.status ?? 1);
  written.push(`${out}/index.html`);
}
console.log(
  `\ndemo finished in ${((performance.now() - t0) / 1000).toFixed(0)} s; open:\n${written.map((w) => `  file://${w}`).join("\n")}`,
);
