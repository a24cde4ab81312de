// Registration of the representation commands (invert, interpolate, visualize, add-feature, saliency, report).
import type { Command } from "commander";

const IMAGES = "PNG/JPEG files or folders (comma-separated), X.npy[:INDICES], or a dataset SPEC[:INDICES] (test split), e.g. fashion-mnist:0-9";

/** The flags of every pixel-space search; defaults come from the paper (docs/design.md §4) per operation. */
export function search(cmd: Command, defaults: string): Command {
  return cmd
    .option("--steps <k>", `iterations (default ${defaults})`)
    .option("--step-size <a>", "L2 step α per iteration")
    .option("--eps <e>", "L2 radius around the seed (1000: only the [0,1] box binds)")
    .option("--rep <name>", "representation value (default: output \"rep\", else the input of the final linear layer)")
    .option("--no-fake-relu", "backpropagate through the last ReLU before R as a real ReLU")
    .option("--batch-size <n>", "images optimized together")
    .option("--seed-rng <s>", "seed of the noise start images", "0");
}

export function registerVisCommands(program: Command): void {
  search(program.command("invert")
    .description("invert representations: find images x with R(x) ≈ R(target), from noise or other images")
    .requiredOption("--model <file>", "ONNX model")
    .requiredOption("--target <images>", IMAGES)
    .option("--seed <images>", "start: noise (gray 0.5 + N(0, 0.05²)), gray, or IMAGES (one per target, or one)", "noise")
    .option("--judge <file>", "independent classifier for label agreement")
    .option("--limit <n>", "use only the first n targets")
    .option("--out <file>", "grid PNG (targets above inversions); the images go to the same name .npy", "invert.png"), "1000 steps, α = 1")
    .action(async (o) => (await import("./invert.js")).invertCommand(o));
  search(program.command("interpolate")
    .description("interpolate in representation space: invert (1−λ)R(a) + λR(b), seeded by the pixel blend")
    .requiredOption("--model <file>", "ONNX model")
    .requiredOption("--from <images>", IMAGES)
    .requiredOption("--to <images>", "as many images as --from")
    .option("--frames <n>", "frames per pair, λ = j/(frames−1)", "10")
    .option("--out <file>", "grid PNG (one row per pair) and .npy", "interpolate.png"), "1000 steps, α = 0.1")
    .action(async (o) => (await import("./invert.js")).interpolateCommand(o));
  search(program.command("visualize")
    .description("feature visualization: maximize units R(x)_i, with the most and least activating dataset images")
    .requiredOption("--model <file>", "ONNX model")
    .requiredOption("--features <list>", "feature indices, comma-separated")
    .option("--seed <images>", "start: noise, gray, or IMAGES (one visualization per image and feature)", "noise")
    .option("--maximizing", "the paper's maximizing inputs: gray start, ε = 500, α = 0.5, 1500 steps")
    .option("--top <k>", "also show the k most and k least activating images of --data")
    .option("--data <spec>", "images to rank for --top (test split), e.g. fashion-mnist?limit=2000")
    .option("--out <file>", "grid PNG (one row per feature) and .npy", "visualize.png"), "200 steps, α = 1")
    .action(async (o) => (await import("./features.js")).visualizeCommand(o));
  search(program.command("add-feature")
    .description("feature addition: push unit i of R up to a level in each image (maximize min(R(x)_i − level, 0))")
    .requiredOption("--model <file>", "ONNX model")
    .requiredOption("--feature <i>", "feature index")
    .requiredOption("--images <images>", IMAGES)
    .option("--level <v>", "activation at which the push stops", "1")
    .option("--out <file>", "grid PNG (originals above results) and .npy", "add-feature.png"), "800 steps, α = 0.1")
    .action(async (o) => (await import("./features.js")).addFeatureCommand(o));
  program.command("saliency")
    .description("saliency maps: |∂ logit_y / ∂ x|, max over channels, per image")
    .requiredOption("--model <file>", "ONNX model")
    .requiredOption("--images <images>", IMAGES)
    .option("--labels", "explain the dataset label instead of the predicted class")
    .option("--limit <n>", "use only the first n images")
    .option("--out <file>", "grid PNG (images above maps) and the maps as .npy", "saliency.png")
    .action(async (o) => (await import("./saliency.js")).saliencyCommand(o));
  program.command("report")
    .description("HTML report: the paper's figures for each model side by side, with the metric table")
    .requiredOption("--models <list>", "ONNX models, comma-separated (e.g. a standard and a robust one)")
    .requiredOption("--data <spec>", "dataset (test split) for targets, top/bottom images and accuracy, e.g. fashion-mnist")
    .requiredOption("--out <dir>", "report directory (index.html, figures/, metrics.json)")
    .option("--ood <images>", "out-of-distribution targets (default: synthetic shapes)")
    .option("--judge <file>", "independent classifier for label agreement (default: for each model, the next one in --models)")
    .option("--title <text>", "report title")
    .option("--scale <f>", "multiply every step count by f (e.g. 0.1 for a quick look)", "1")
    .option("--count <n>", "targets per figure", "10")
    .action(async (o) => (await import("./report.js")).reportCommand(o));
}
