// ImageNet scale, end to end through the CLI: a ResNet-50 224×224 (torchvision layout, random weights) in the robustness
// library's checkpoint format → convert → attack (PGD) → invert → report, each command's wall time and peak RSS.
// Usage: node scripts/imagenet-scale.mjs [--batch 8] [--steps 10] [--invert-steps 100] [--report-scale 0.02] [--keep DIR]
// Not part of npm test (minutes per command on 2 cores); needs Debian's python3-torch/torchvision.
import { execFileSync, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import sharp from "sharp";
import { Rng, tensor } from "robustlens";
import { saveNpy } from "robustlens/node";

const { values: o } = parseArgs({
  options: {
    batch: { type: "string", default: "8" },
    steps: { type: "string", default: "10" },
    "invert-steps": { type: "string", default: "100" },
    "report-scale": { type: "string", default: "0.02" },
    keep: { type: "string" },
  },
});
const n = Number(o.batch);
const dir = o.keep ?? mkdtempSync(join(tmpdir(), "rl-imagenet-"));
mkdirSync(dir, { recursive: true });
const rows = [];

/** Runs a command under GNU time; returns wall seconds and peak RSS (MiB) of the process. */
function timed(label, cmd, args) {
  const r = spawnSync("/usr/bin/time", ["-f", "RLTIME %e %M", cmd, ...args], { encoding: "utf8", maxBuffer: 64 << 20 });
  const m = /RLTIME ([\d.]+) (\d+)/.exec(r.stderr);
  if (r.status !== 0 || !m) throw new Error(`${label} failed (${r.status}): ${r.stderr.trim().split("\n").slice(-3).join(" | ")}`);
  const row = { step: label, seconds: Number(m[1]), peak_rss_mib: Math.round(Number(m[2]) / 1024) };
  rows.push(row);
  console.log(`${label}: ${row.seconds} s, peak RSS ${row.peak_rss_mib} MiB`);
  return r.stdout;
}

const rl = (label, args) => timed(label, process.execPath, ["bin/robustlens.js", ...args]);
const ckpt = join(dir, "r50.pt"),
  modelDir = join(dir, "r50"),
  model = join(modelDir, "model.onnx");
execFileSync("/usr/bin/python3", ["scripts/make_robustness_checkpoint.py", "--arch", "resnet50", "--dataset", "imagenet", "--out", ckpt]);
rl("convert", ["convert", "--from", "robustness", ckpt, "--arch", "resnet50", "--dataset", "imagenet", "--out", modelDir, "--overwrite"]);

// smooth random images (blurred noise), so the inversion and report have structure to work with
const rng = new Rng(3);
const images = [];
for (let i = 0; i < n; i++) {
  const raw = Buffer.from(Array.from({ length: 28 * 28 * 3 }, () => Math.floor(rng.next() * 256)));
  images.push(
    await sharp(raw, { raw: { width: 28, height: 28, channels: 3 } })
      .resize(224, 224, { kernel: "cubic" })
      .png()
      .toBuffer(),
  );
}
const folder = join(dir, "images");
for (let i = 0; i < n; i++) {
  mkdirSync(join(folder, `class${i % 2}`), { recursive: true });
  await sharp(images[i]).toFile(join(folder, `class${i % 2}`, `${i}.png`));
}
const x = new Float32Array(n * 3 * 224 * 224);
for (let i = 0; i < n; i++) {
  const { data } = await sharp(images[i]).raw().toBuffer({ resolveWithObject: true });
  for (let p = 0; p < 224 * 224; p++) for (let c = 0; c < 3; c++) x[i * 3 * 224 * 224 + c * 224 * 224 + p] = data[p * 3 + c] / 255;
}
await saveNpy(join(dir, "x.npy"), tensor("float32", [n, 3, 224, 224], x));
await saveNpy(
  join(dir, "y.npy"),
  tensor(
    "int64",
    [n],
    Array.from({ length: n }, (_, i) => i),
  ),
);

const bs = String(n);
rl(`attack (L2 PGD-${o.steps}, eps 3, batch ${n})`, [
  "attack",
  "--model",
  model,
  "--input",
  join(dir, "x.npy"),
  "--labels",
  join(dir, "y.npy"),
  "--out",
  join(dir, "adv.npy"),
  "--eps",
  "3",
  "--steps",
  o.steps,
  "--batch-size",
  bs,
]);
rl(`invert (${o["invert-steps"]} steps, batch ${n})`, [
  "invert",
  "--model",
  model,
  "--target",
  join(dir, "x.npy"),
  "--steps",
  o["invert-steps"],
  "--batch-size",
  bs,
  "--out",
  join(dir, "invert.png"),
]);
rl(`report (--scale ${o["report-scale"]}, --count 4)`, [
  "report",
  "--models",
  model,
  "--data",
  `folder:${folder}?size=224`,
  "--out",
  join(dir, "report"),
  "--scale",
  o["report-scale"],
  "--count",
  "4",
  "--robustness",
  "none",
]);
console.log(JSON.stringify({ batch: n, rows }, null, 1));
if (!o.keep) rmSync(dir, { recursive: true, force: true });
