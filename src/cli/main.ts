// CLI entry: one file per command, imported lazily; every failure ends as one line on stderr and exit code 1.
import { Command } from "commander";
import { registerSynthCommands } from "./commands-synth.js";
import { registerVisCommands } from "./commands-vis.js";
import { endCommand } from "./lifetime.js";

export async function main(argv: readonly string[]): Promise<void> {
  const program = new Command("robustlens")
    .description("adversarially robust image models and their representations")
    .showHelpAfterError()
    .exitOverride();
  program.command("predict")
    .description("write the model's first output (or a named value) for a batch of images")
    .requiredOption("--model <file>", "ONNX model")
    .requiredOption("--input <file>", "images, .npy NCHW float32 in [0,1] (uint8 is scaled by 1/255)")
    .requiredOption("--out <file>", "output .npy")
    .option("--output <name>", "value to write instead of the first output")
    .option("--batch-size <n>", "images per run", "128")
    .action(async (o) => (await import("./predict.js")).predict(o));
  program.command("grad")
    .description("write d(loss)/d(input) of a loss summed over the examples")
    .requiredOption("--model <file>", "ONNX model")
    .requiredOption("--input <file>", "images, .npy NCHW float32 in [0,1]")
    .requiredOption("--out <file>", "output .npy (same shape as the input)")
    .option("--loss <kind>", "ce | rep-distance", "ce")
    .option("--labels <file>", "int64 labels .npy (for --loss ce)")
    .option("--target <file>", "target images .npy (for --loss rep-distance)")
    .option("--rep <name>", "representation value (default: output \"rep\", else the input of the final Gemm/MatMul)")
    .action(async (o) => (await import("./grad.js")).gradCommand(o));
  program.command("attack")
    .description("write adversarial examples for a batch of images and summarize the attack")
    .requiredOption("--model <file>", "ONNX model")
    .requiredOption("--input <file>", "images, .npy NCHW in [0,1]")
    .requiredOption("--labels <file>", "int64 labels .npy")
    .requiredOption("--out <file>", "adversarial images .npy")
    .option("--threat <kind>", "l2 | linf | unconstrained", "l2")
    .option("--eps <e>", "radius of the threat set, in [0,1] pixel units")
    .option("--step-size <a>", "step size (default 2.5·eps/steps)")
    .option("--steps <k>", "iterations", "10")
    .option("--random-start", "start from a random point of the threat set")
    .option("--restarts <r>", "independent runs; a successful one is kept per example", "1")
    .option("--targeted", "move towards --target-labels instead of away from --labels")
    .option("--target-labels <file>", "int64 target labels .npy")
    .option("--keep <which>", "best | last iterate per example", "best")
    .option("--method <m>", "pgd | fgsm | apgd-ce | apgd-dlr", "pgd")
    .option("--batch-size <n>", "images per attack batch", "64")
    .option("--seed <s>", "random seed", "0")
    .action(async (o) => (await import("./attack.js")).attackCommand(o));
  program.command("eval")
    .description("clean and robust accuracy per eps and attack, as a table and a JSON report")
    .requiredOption("--model <file>", "ONNX model")
    .requiredOption("--data <spec>", "labelled images (test split): mnist, fashion-mnist, cifar10:DIR, folder:DIR, npy:X.npy,Y.npy; options after ?, e.g. fashion-mnist?limit=1000")
    .option("--threat <kind>", "l2 | linf | unconstrained", "l2")
    .option("--eps <list>", "one or more radii, comma-separated")
    .option("--attacks <list>", "comma-separated: pgd, fgsm, apgd-ce, apgd-dlr", "pgd")
    .option("--steps <k>", "iterations per attack", "20")
    .option("--step-size <a>", "PGD step size (default 2.5·eps/steps)")
    .option("--restarts <r>", "runs per attack", "1")
    .option("--random-start", "random start for PGD")
    .option("--limit <n>", "evaluate only the first n images")
    .option("--batch-size <n>", "images per batch", "64")
    .option("--seed <s>", "random seed", "0")
    .option("--out <file>", "JSON report", "eval-report.json")
    .action(async (o) => (await import("./eval.js")).evalCommand(o));
  program.command("data")
    .description("standard datasets: download them for --data")
    .command("fetch <name>")
    .description("download cifar10, mnist or fashion-mnist from the official locations and verify the published checksums")
    .option("--dir <dir>", "where to put the files (default data/<name>)")
    .option("--base-url <url>", "download from this URL prefix instead of the official locations")
    .option("--checksums <file>", "JSON {\"FILE\": \"md5:HEX\" | \"sha256:HEX\"} replacing published checksums (for mirrors)")
    .action(async (name, o) => (await import("./data.js")).dataFetchCommand(name, o));
  program.command("train")
    .description("standard or adversarial training with checkpoints, metrics and an exported model")
    .requiredOption("--data <spec>", "training data (train split), e.g. fashion-mnist, cifar10:DIR")
    .requiredOption("--arch <name>", "small-cnn | resnet18 | resnet50 | preact-resnet18 | wrn-28-K")
    .requiredOption("--out <dir>", "run directory: checkpoint, metrics.jsonl, model.onnx")
    .option("--epochs <n>", "epochs", "10")
    .option("--width <w>", "channel width multiplier")
    .option("--adv <kind>", "adversarial training: l2 | linf (PGD) | fgsm-rs")
    .option("--eps <e>", "training eps (pixel units)")
    .option("--steps <k>", "PGD steps for training", "7")
    .option("--step-size <a>", "PGD step size (default 2.5·eps/steps)")
    .option("--lr <lr>", "learning rate", "0.1")
    .option("--momentum <m>", "SGD momentum", "0.9")
    .option("--weight-decay <wd>", "weight decay", "5e-4")
    .option("--schedule <s>", "constant | step | cosine | cyclic", "cosine")
    .option("--batch-size <n>", "batch size", "128")
    .option("--eval-limit <n>", "test images for the per-epoch adversarial accuracy", "1000")
    .option("--no-augment", "no random crop / flip")
    .option("--seed <s>", "random seed", "0")
    .option("--resume", "continue the run in --out from its last checkpoint")
    .action(async (o) => (await import("./train.js")).trainCommand(o));
  registerVisCommands(program);
  registerSynthCommands(program);
  try {
    await program.parseAsync([...argv]);
  } catch (e) {
    const err = e as Error & { code?: string; exitCode?: number };
    if (err.code?.startsWith("commander.")) {
      process.exitCode = err.exitCode ?? 1;
      return;
    }
    process.stderr.write(`robustlens: ${String(err.message ?? err).split("\n")[0]}\n`);
    process.exitCode = 1;
  } finally {
    await endCommand();
  }
}
