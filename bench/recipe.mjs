// Time to a robust model: the zoo's fast Fashion-MNIST recipe and its PGD-7 recipe (robustlens CLI), and a PyTorch PGD-7
// loop on the same data and schedule; wall time of each training and the PGD-20 accuracy of its model (evaluate.sh).
// node bench/recipe.mjs [--images N] [--sides fast,pgd7,torch] [--eval N]   (npm run bench -- --only recipe [...])
// The full recipes take ~15 min (fast), ~45 min (PGD-7) and ~1.5 h (PyTorch) on 2 cores; --images N trains on the first N.
// node bench/recipe.mjs --interleave [--rounds R] [--chunk N]: the two robustlens recipes' cost per epoch, measured in
// alternation (ABBA) on a shared machine: one pass over the first N images (training throughput) plus the recipe's real
// per-epoch evaluation, extrapolated to each recipe's full schedule.
import { execFileSync, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { availableParallelism, cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { buildModel, tensor, toOnnxBytes } from "robustlens";
import { loadDataset, loadNpy, saveNpy } from "robustlens/node";

const PY = "/usr/bin/python3";
const { values: opt } = parseArgs({
  options: {
    images: { type: "string" },
    sides: { type: "string", default: "fast,pgd7,torch" },
    eval: { type: "string", default: "1000" },
    out: { type: "string", default: "bench/recipe-results.json" },
    only: { type: "string" },
    interleave: { type: "boolean", default: false },
    rounds: { type: "string", default: "4" },
    chunk: { type: "string", default: "3840" },
    "fast-recipe": { type: "string", default: "models/recipes/fashion-mnist-l2-fast.sh" },
  },
  strict: false,
});
const EPS = 1.25;
const sides = opt.sides.split(",");
const threads = availableParallelism();

/** The `robustlens train` arguments of a zoo recipe, read from its script (the one place they are written). */
export function recipeArgs(file) {
  const text = readFileSync(file, "utf8").replace(/\\\n/g, " ");
  const line = text.split("\n").find((l) => l.includes("bin/robustlens.js train"));
  if (!line) throw new Error(`${file}: no "bin/robustlens.js train" line`);
  const words = line.trim().split(/\s+/).slice(3);
  const args = [];
  for (let i = 0; i < words.length; i++) {
    if (words[i] === "--out") i++;
    else if (words[i] !== "--resume") args.push(words[i]);
  }
  return args;
}

const flag = (args, name) => {
  const i = args.indexOf(name);
  if (i < 0) throw new Error(`recipe has no ${name}`);
  return args[i + 1];
};
const dataSpec = (args) => (opt.images ? `${flag(args, "--data")}?limit=${opt.images}` : flag(args, "--data"));

/** PGD-20 at ε 1.25 on the first N test images, as models/recipes/evaluate.sh (eval.json's results[0]). */
function evaluate(model, data, dir) {
  const out = join(dir, "eval.json");
  const r = spawnSync(
    process.execPath,
    ["bin/robustlens.js", "eval", "--model", model, "--data", `${data}?limit=${opt.eval}`, "--threat", "l2", "--eps", String(EPS)].concat([
      "--attacks",
      "pgd",
      "--steps",
      "20",
      "--batch-size",
      "250",
      "--out",
      out,
    ]),
    { encoding: "utf8" },
  );
  if (r.status !== 0) throw new Error(`eval ${model}: ${r.stderr.trim().split("\n").pop()}`);
  const e = JSON.parse(readFileSync(out, "utf8"));
  return { clean: e.clean_accuracy, pgd20: e.results[0].robust_accuracy };
}

function robustlensSide(name, recipe, dir) {
  const args = recipeArgs(recipe);
  const out = join(dir, name);
  const t0 = performance.now();
  const r = spawnSync(process.execPath, ["bin/robustlens.js", "train", ...args, "--data", dataSpec(args), "--out", out], {
    encoding: "utf8",
  });
  const seconds = (performance.now() - t0) / 1000;
  if (r.status !== 0) throw new Error(`${name}: ${r.stderr.trim().split("\n").pop()}`);
  const epochs = readFileSync(join(out, "metrics.jsonl"), "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l));
  return {
    side: name,
    recipe,
    args,
    seconds,
    epoch_seconds: epochs.map((m) => +m.seconds.toFixed(1)),
    ...evaluate(join(out, "model.onnx"), flag(args, "--data"), out),
  };
}

/** PyTorch PGD-7 from the PGD-7 recipe's settings, on the same images and initial weights; evaluated by robustlens eval. */
async function torchSide(recipe, dir) {
  const args = recipeArgs(recipe);
  const d = join(dir, "torch");
  mkdirSync(d, { recursive: true });
  const train = await loadDataset(dataSpec(args), "train"),
    test = await loadDataset(flag(args, "--data"), "test");
  for (const [tag, ds] of [
    ["train", train],
    ["test", test],
  ]) {
    const [C, H, W] = ds.shape;
    await saveNpy(
      join(d, `${tag}_x.npy`),
      tensor(
        "float32",
        [ds.size, C, H, W],
        Float32Array.from(ds.images, (v) => (ds.images instanceof Uint8Array ? v / 255 : v)),
      ),
    );
    await saveNpy(join(d, `${tag}_y.npy`), tensor("int64", [ds.size], BigInt64Array.from(ds.labels, BigInt)));
  }
  const arch = {
    arch: flag(args, "--arch"),
    inChannels: 1,
    imageSize: 28,
    classes: 10,
    mean: train.norm.mean,
    std: train.norm.std,
    seed: Number(flag(args, "--seed")),
  };
  const init = buildModel({ ...arch, mode: "train" });
  const names = [...init.params, ...init.buffers];
  for (const v of init.graph.initializers) if (names.includes(v.name)) await saveNpy(join(d, `init_${v.name}.npy`), v.data);
  const settings = {
    epochs: Number(flag(args, "--epochs")),
    batch_size: Number(flag(args, "--batch-size")),
    lr: Number(flag(args, "--lr")),
    momentum: Number(flag(args, "--momentum")),
    weight_decay: Number(flag(args, "--weight-decay")),
    schedule: flag(args, "--schedule"),
    eps: Number(flag(args, "--eps")),
    steps: Number(flag(args, "--steps")),
    eval_limit: Number(opt.eval),
    params: names,
    flip: train.hflip,
    threads,
  };
  const r = JSON.parse(
    execFileSync(PY, ["bench/torch_recipe.py", d, JSON.stringify(settings)], { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] }),
  );
  const weights = new Map();
  for (const n of names) weights.set(n, await loadNpy(join(d, `best_${n}.npy`)));
  const model = join(d, "model.onnx");
  writeFileSync(model, toOnnxBytes(buildModel({ ...arch, weights, mode: "eval" }).graph));
  return {
    side: "pytorch-pgd7",
    recipe,
    seconds: r.seconds,
    epoch_seconds: r.epoch_seconds,
    torch: r.torch,
    ...evaluate(model, flag(args, "--data"), d),
  };
}

const RECIPES = { fast: opt["fast-recipe"], pgd7: "models/recipes/fashion-mnist-l2.sh" };

/** One pass of a recipe over the first `chunk` images with its real per-epoch evaluation: training s/image and eval s. */
function chunkRun(recipe, dir, k) {
  const args = recipeArgs(recipe);
  const out = join(dir, `chunk-${k}`);
  // Free makes epochs/replays passes: one pass is --epochs = --replays
  const epochs = args.includes("--replays") ? flag(args, "--replays") : "1";
  const r = spawnSync(
    process.execPath,
    ["bin/robustlens.js", "train", ...args, "--data", `${flag(args, "--data")}?limit=${opt.chunk}`, "--epochs", epochs, "--out", out],
    { encoding: "utf8" },
  );
  if (r.status !== 0) throw new Error(`${recipe}: ${r.stderr.trim().split("\n").pop()}`);
  const m = JSON.parse(readFileSync(join(out, "metrics.jsonl"), "utf8").trim().split("\n")[0]);
  const trainS =
    (Math.floor(Number(opt.chunk) / Number(flag(args, "--batch-size"))) * Number(flag(args, "--batch-size"))) / m.images_per_second;
  return { perImage: trainS / Math.floor(Number(opt.chunk)), evalS: m.seconds - trainS };
}

async function interleave() {
  const dir = mkdtempSync(join(tmpdir(), "rl-recipe-"));
  const samples = { fast: [], pgd7: [] };
  try {
    for (let r = 0; r < Number(opt.rounds); r++) {
      const order = r % 2 === 0 ? ["fast", "pgd7"] : ["pgd7", "fast"];
      for (const s of order) samples[s].push(chunkRun(RECIPES[s], dir, `${s}-${r}`));
      console.log(
        `round ${r + 1}: ${order.map((s) => `${s} ${(1e3 * samples[s].at(-1).perImage).toFixed(2)} ms/image, eval ${samples[s].at(-1).evalS.toFixed(1)} s`).join("; ")}`,
      );
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const med = (a) => [...a].sort((p, q) => p - q)[a.length >> 1];
  const est = {};
  for (const s of ["fast", "pgd7"]) {
    const args = recipeArgs(RECIPES[s]);
    const bs = Number(flag(args, "--batch-size"));
    const passes = Number(flag(args, "--epochs")) / (args.includes("--replays") ? Number(flag(args, "--replays")) : 1);
    const perImage = med(samples[s].map((x) => x.perImage)),
      evalS = med(samples[s].map((x) => x.evalS));
    const images = Math.floor(60000 / bs) * bs;
    est[s] = {
      passes,
      ms_per_image: +(1e3 * perImage).toFixed(3),
      eval_s: +evalS.toFixed(1),
      estimated_s: Math.round(passes * (images * perImage + evalS)),
    };
  }
  const ratio = est.fast.estimated_s / est.pgd7.estimated_s;
  const result = {
    measured: new Date().toISOString(),
    cpu: cpus()[0]?.model,
    threads,
    rounds: Number(opt.rounds),
    chunk: Number(opt.chunk),
    est,
    fast_over_pgd7: +ratio.toFixed(3),
  };
  writeFileSync(opt.out.replace(/\.json$/, "-interleaved.json"), JSON.stringify(result, null, 2) + "\n");
  console.log(JSON.stringify(result, null, 2));
}

if (opt.interleave) {
  await interleave();
  process.exit(0);
}

const dir = mkdtempSync(join(tmpdir(), "rl-recipe-"));
const rows = [];
try {
  for (const s of sides) {
    const row =
      s === "fast"
        ? robustlensSide("robustlens-fast", RECIPES.fast, dir)
        : s === "pgd7"
          ? robustlensSide("robustlens-pgd7", "models/recipes/fashion-mnist-l2.sh", dir)
          : s === "torch"
            ? await torchSide("models/recipes/fashion-mnist-l2.sh", dir)
            : null;
    if (!row) throw new Error(`--sides: unknown side "${s}" (expected fast, pgd7, torch)`);
    console.log(
      `${row.side}: ${row.seconds.toFixed(0)} s, clean ${(100 * row.clean).toFixed(1)}%, PGD-20 ε=${EPS} ${(100 * row.pgd20).toFixed(1)}%`,
    );
    rows.push(row);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
const result = {
  measured: new Date().toISOString(),
  cpu: cpus()[0]?.model,
  threads,
  images: opt.images ? Number(opt.images) : "all",
  eval_images: Number(opt.eval),
  rows,
};
writeFileSync(opt.out, JSON.stringify(result, null, 2) + "\n");
console.log("| side | training wall time | clean | PGD-20 ε=1.25 |\n|---|---|---|---|");
for (const r of rows)
  console.log(`| ${r.side} | ${(r.seconds / 60).toFixed(1)} min | ${(100 * r.clean).toFixed(1)}% | ${(100 * r.pgd20).toFixed(1)}% |`);
console.log(`wrote ${opt.out}`);
