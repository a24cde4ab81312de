// Registration of the representation commands (invert, interpolate, visualize, add-feature, saliency, report).
import type { Command } from "commander";
import { LIMITS, finite, options, parse, searchGroup as search } from "./options.js";
import { queueTimeoutOption } from "./queue/flags.js";

const IMAGES =
  "PNG/JPEG files or folders (comma-separated), X.npy[:INDICES], or a dataset SPEC[:INDICES] (test split), e.g. fashion-mnist:0-9";

export function registerVisCommands(program: Command): void {
  search(
    program
      .command("invert")
      .description("invert representations: find images x with R(x) ≈ R(target), from noise or other images")
      .addOption(options.model())
      .requiredOption("--target <images>", IMAGES)
      .option("--seed <images>", "start: noise (gray 0.5 + N(0, 0.05²)), gray, or IMAGES (one per target, or one)", "noise")
      .option("--judge <file>", "independent classifier for label agreement")
      .addOption(options.limit("use only the first n targets"))
      .option(
        "--out <file>",
        "grid PNG (targets above inversions) and the images as .npy beside it (or X.npy: the images there, the grid as X.png)",
        "invert.png",
      ),
    "1000 steps, α = 1",
  ).action(async (o) => (await import("./invert.js")).invertCommand(o));
  search(
    program
      .command("interpolate")
      .description("interpolate in representation space: invert (1−λ)R(a) + λR(b), seeded by the pixel blend")
      .addOption(options.model())
      .requiredOption("--from <images>", IMAGES)
      .requiredOption("--to <images>", "as many images as --from")
      .addOption(options.count("--frames <n>", "frames per pair (at least 2), λ = j/(frames−1)", LIMITS.frames, 10))
      .option("--out <file>", "grid PNG (one row per pair) and .npy", "interpolate.png"),
    "1000 steps, α = 0.1",
  ).action(async (o) => (await import("./invert.js")).interpolateCommand(o));
  search(
    program
      .command("visualize")
      .description("feature visualization: maximize units R(x)_i, with the most and least activating dataset images")
      .addOption(options.model())
      .requiredOption("--features <list>", "feature indices, comma-separated, or all (every unit of the representation)")
      .option("--seed <images>", "start: noise, gray, or IMAGES (one visualization per image and feature)", "noise")
      .option("--maximizing", "the paper's maximizing inputs: gray start, ε = 500, α = 0.5, 1500 steps")
      .addOption(options.count("--top <k>", "also show the k most and k least activating images of --data", LIMITS.count))
      .option("--data <spec>", "images to rank for --top (test split), e.g. fashion-mnist?limit=2000")
      .option("--out <file>", "grid PNG (one row per feature) and .npy", "visualize.png")
      .option("--queue <url>", "run the searches as shards on `robustlens worker`s: redis://[:PASSWORD@]HOST:PORT[/DB] or rediss://")
      .addOption(
        options.count("--shard-size <n>", "features per shard, a multiple of --batch-size (default: one batch)", LIMITS.batchSize * 1024),
      )
      .addOption(queueTimeoutOption()),
    "200 steps, α = 1",
  ).action(async (o) => (await import("./features.js")).visualizeCommand(o));
  search(
    program
      .command("add-feature")
      .description("feature addition: push unit i of R up to a level in each image (maximize min(R(x)_i − level, 0))")
      .addOption(options.model())
      .requiredOption("--feature <i>", "feature index")
      .requiredOption("--images <images>", IMAGES)
      .addOption(options.number("--level <v>", "activation at which the push stops", finite, 1))
      .option("--out <file>", "grid PNG (originals above results) and .npy", "add-feature.png"),
    "800 steps, α = 0.1",
  ).action(async (o) => (await import("./features.js")).addFeatureCommand(o));
  program
    .command("saliency")
    .description("saliency maps: |∂ logit_y / ∂ x|, max over channels, per image")
    .addOption(options.model())
    .requiredOption("--images <images>", IMAGES)
    .option("--labels", "explain the dataset label instead of the predicted class")
    .addOption(options.limit())
    .option("--out <file>", "grid PNG (images above maps) and the maps as .npy", "saliency.png")
    .action(async (o) => (await import("./saliency.js")).saliencyCommand(o));
  program
    .command("report")
    .description("HTML report: the paper's figures for each model side by side, with the metric table")
    .requiredOption("--models <list>", "ONNX models, comma-separated (e.g. a standard and a robust one)")
    .requiredOption("--data <spec>", "dataset (test split) for targets, top/bottom images and accuracy, e.g. fashion-mnist")
    .requiredOption("--out <dir>", "report directory (index.html, figures/, metrics.json)")
    .option("--ood <images>", "out-of-distribution targets (default: synthetic shapes)")
    .option("--judge <file>", "independent classifier for label agreement (default: for each model, the next one in --models)")
    .option("--title <text>", "report title")
    .addOption(options.number("--scale <f>", "multiply every step count by f (e.g. 0.1 for a quick look)", parse.positive, 1))
    .addOption(options.count("--count <n>", "targets per figure (at least 4)", LIMITS.count, 10))
    .option(
      "--robustness <source>",
      "accuracy-vs-eps curves: auto (each model's eval.json when all have one, else built-in) | shipped | builtin | none",
      "auto",
    )
    .option("--eval-eps <list>", "L2 radii of the built-in eval (PGD-20, first 200 images)", "0.25,0.5,1,2")
    .option(
      "--queue <url>",
      "run the experiments (one shard per model and experiment) and the built-in eval on `robustlens worker`s: redis://[:PASSWORD@]HOST:PORT[/DB] or rediss://",
    )
    .addOption(queueTimeoutOption())
    .action(async (o) => (await import("./report.js")).reportCommand(o));
}
