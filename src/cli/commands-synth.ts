// Registration of the synthesis commands (generate, inpaint, super-resolve, translate, sketch, paint): docs/design.md §9.
import type { Command } from "commander";
import { synthSettings } from "../synth/settings.js";
import { LIMITS, options, parse, searchGroup as searchFlags } from "./options.js";

const IMAGES =
  "PNG/JPEG files or folders (comma-separated), X.npy[:INDICES], or a dataset SPEC[:INDICES] (test split), e.g. fashion-mnist:0-9";

/** The default settings at 28×28 gray (as help text): the published ones, ε and α scaled by sqrt(784 / d_ref). */
const at28 = (task: Parameters<typeof synthSettings>[0]) => {
  const s = synthSettings(task, 784);
  return `${s.steps} steps, α = ${s.stepSize.toPrecision(3)}, ε = ${s.eps.toPrecision(3)} at 1×28×28 (published setting scaled by sqrt(d/d_ref))`;
};

const common = (cmd: Command, out: string) =>
  cmd.addOption(options.model()).option("--out <file>", "grid PNG; the images go to the same name .npy", out);

export function registerSynthCommands(program: Command): void {
  searchFlags(
    common(program.command("generate"), "generate.png")
      .description("class-conditional generation: Gaussian samples per class (fitted to --data), pushed to their class")
      .requiredOption("--data <spec>", "labelled training images for the class Gaussians (train split), e.g. fashion-mnist")
      .option("--classes <list>", "classes: indices, ranges or names (0-9, 0,3,5, Sneaker)", "0-9")
      .addOption(options.count("--count <n>", "images per class (the .npy holds them class by class in --classes order)", LIMITS.count, 10))
      .addOption(
        options.count(
          "--factor <f>",
          "average-pool images by f before fitting, nearest-upsample samples (default: the smallest f leaving ≤ 3·32·32 values; the paper's ImageNet: 4)",
          64,
        ),
      )
      .addOption(options.count("--fit-per-class <n>", "at most n training images per class for the fit", LIMITS.count * 10, 1000))
      .option("--judge <file>", "independent classifier: label agreement and Inception-style score"),
    at28("generate"),
  ).action(async (o) => (await import("./synth.js")).generateCommand(o));
  searchFlags(
    common(program.command("inpaint"), "inpaint.png")
      .description("inpainting: a masked region set to the per-channel mean, restored by minimizing CE(label) + λ·mean((x_c − x)² outside)")
      .requiredOption("--images <images>", IMAGES)
      .option("--mask <png>", "mask picture (white = missing), resized to the input (default: a centred square of 60/224 of the side)")
      .addOption(options.number("--lambda <l>", "weight of the penalty outside the mask", parse.nonNegative, 10))
      .addOption(
        options.choice(
          "--region <r>",
          "where steps move pixels: mask (only the missing ones) or image (the paper's form)",
          ["mask", "image"] as const,
          "mask",
        ),
      )
      .addOption(options.limit("use only the first n images"))
      .option("--judge <file>", "independent classifier for label agreement"),
    at28("inpaint"),
  ).action(async (o) => (await import("./synth.js")).inpaintCommand(o));
  searchFlags(
    common(program.command("super-resolve"), "super-resolve.png")
      .description("super-resolution: images average-pooled by --factor, nearest-upsampled, pushed towards their class")
      .requiredOption("--images <images>", IMAGES)
      .addOption(options.count("--factor <f>", "down/up factor (must divide the input size)", 64, 4))
      .addOption(options.limit("use only the first n images"))
      .option("--judge <file>", "independent classifier for label agreement"),
    at28("superResolve"),
  ).action(async (o) => (await import("./synth.js")).superResolveCommand(o));
  searchFlags(
    common(program.command("translate"), "translate.png")
      .description("image-to-image translation: images pushed to another class (targeted cross-entropy)")
      .requiredOption("--images <images>", IMAGES)
      .requiredOption("--to <class>", "target class: index or name")
      .addOption(options.limit("use only the first n images"))
      .option("--judge <file>", "independent classifier: fraction it assigns the target"),
    at28("translate"),
  ).action(async (o) => (await import("./synth.js")).towardsCommand("translate", o));
  searchFlags(
    common(program.command("sketch"), "sketch.png")
      .description("sketch-to-image: drawings pushed to a class (targeted cross-entropy)")
      .requiredOption("--images <images>", "drawings: " + IMAGES)
      .requiredOption("--class <class>", "target class: index or name")
      .addOption(options.limit("use only the first n drawings"))
      .option("--judge <file>", "independent classifier: fraction it assigns the class"),
    at28("sketch"),
  ).action(async (o) => (await import("./synth.js")).towardsCommand("sketch", o));
  searchFlags(
    common(program.command("paint"), "paint.png")
      .description("paint with features: raise unit K of R inside a mask (0.1·R_K − 90·‖x − x₀‖² outside), strokes one after another")
      .requiredOption("--images <images>", IMAGES)
      .requiredOption("--feature <k>", "feature index, or a comma-separated list of strokes")
      .requiredOption("--mask <png>", "mask picture (white = paint here); one, or one per feature (comma-separated)")
      .addOption(options.number("--feature-weight <a>", "weight of R_K", parse.nonNegative, 0.1))
      .addOption(options.number("--outside-weight <b>", "weight of ‖x − x₀‖² outside the mask", parse.nonNegative, 90))
      .addOption(options.limit("use only the first n images")),
    at28("paint"),
  ).action(async (o) => (await import("./synth.js")).paintCommand(o));
}
