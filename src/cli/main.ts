// CLI entry: one file per command, imported lazily; every failure ends as one line on stderr and exit code 1.
import { Command } from "commander";
import { registerPlotCommands } from "./commands-plot.js";
import { escapeControl } from "../util/text.js";
import { registerSynthCommands } from "./commands-synth.js";
import { registerVisCommands } from "./commands-vis.js";
import { selectDevice } from "./device.js";
import { endCommand } from "./lifetime.js";
import { LIMITS, METHODS, UsageError, attackGroup, numberList, options, parse } from "./options.js";
import { ADV_KINDS, BALL_KINDS } from "../train/adv.js";
import { queueTimeoutOption } from "./queue/flags.js";

const DATA =
  "labelled images (test split): mnist, fashion-mnist, cifar10:DIR, folder:DIR, npy:X.npy,Y.npy; options after ?, e.g. fashion-mnist?limit=1000";

export async function main(argv: readonly string[]): Promise<void> {
  const program = new Command("robustlens")
    .description("adversarially robust image models and their representations")
    // commander's own error text is reprinted below as one line with a pointer to the command's help
    .configureOutput({ outputError: () => undefined })
    .exitOverride()
    // global, so every command that runs a model takes it (before or after the command name)
    .option("--device <device>", "where models run: cpu | webgpu (onnxruntime-node's WebGPU EP; needs a GPU)", "cpu")
    .hook("preAction", (root) => selectDevice(root.opts().device as string));
  program
    .command("predict")
    .description("write the model's first output (or a named value) for a batch of images")
    .addOption(options.model())
    .requiredOption("--input <file>", "images, .npy NCHW float32 in [0,1] (uint8 is scaled by 1/255)")
    .requiredOption("--out <file>", "output .npy")
    .option("--output <name>", "value to write instead of the first output")
    .addOption(options.batchSize("images per run", 128))
    .action(async (o) => (await import("./predict.js")).predict(o));
  program
    .command("grad")
    .description("write d(loss)/d(input) of a loss summed over the examples")
    .addOption(options.model())
    .requiredOption("--input <file>", "images, .npy NCHW float32 in [0,1]")
    .requiredOption("--out <file>", "output .npy (same shape as the input)")
    .addOption(options.choice("--loss <kind>", "ce | rep-distance", ["ce", "rep-distance"] as const, "ce"))
    .option("--labels <file>", "int64 labels .npy (for --loss ce)")
    .option("--target <file>", "target images .npy (for --loss rep-distance)")
    .option(
      "--rep <name>",
      'representation value (for --loss rep-distance; default: output "rep", else the input of the final Gemm/MatMul)',
    )
    .action(async (o) => (await import("./grad.js")).gradCommand(o));
  attackGroup(
    program
      .command("attack")
      .description("write adversarial examples for a batch of images and summarize the attack")
      .addOption(options.model())
      .requiredOption("--input <file>", "images, .npy NCHW in [0,1]")
      .requiredOption("--labels <file>", "int64 labels .npy")
      .requiredOption("--out <file>", "adversarial images .npy")
      .addOption(options.eps("radius of the threat set, in [0,1] pixel units"))
      .option("--targeted", "move towards --target-labels instead of away from --labels")
      .option("--target-labels <file>", "int64 target labels .npy")
      .addOption(options.choice("--keep <which>", "best | last iterate per example", ["best", "last"] as const, "best"))
      .addOption(options.choice("--method <m>", "pgd | fgsm | apgd-ce | apgd-dlr", METHODS, "pgd")),
    { steps: 10, batchSize: 64 },
  ).action(async (o) => (await import("./attack.js")).attackCommand(o));
  attackGroup(
    program
      .command("eval")
      .description("clean and robust accuracy per eps and attack, as a table and a JSON report")
      .addOption(options.model())
      .requiredOption("--data <spec>", DATA)
      .addOption(options.number("--eps <list>", "one or more radii, comma-separated", numberList(LIMITS.magnitude)))
      .option("--attacks <list>", "comma-separated: pgd, fgsm, apgd-ce, apgd-dlr", "pgd")
      .addOption(options.limit("evaluate only the first n images"))
      .option("--out <file>", "JSON report", "eval-report.json")
      .option("--plot <file>", "accuracy-vs-eps plot, .svg or .png (default: beside --out, .svg)")
      .option("--no-plot", "no plot")
      .option("--queue <url>", "run the images as shards on `robustlens worker`s: redis://[:PASSWORD@]HOST:PORT[/DB] or rediss:// (TLS)")
      .addOption(
        options.count("--shard-size <n>", "images per shard, a multiple of --batch-size (default 4 batches)", LIMITS.batchSize * 1024),
      )
      .addOption(queueTimeoutOption()),
    { steps: 20, batchSize: 64 },
  ).action(async (o) => (await import("./eval.js")).evalCommand(o));
  program
    .command("worker")
    .description("run queue shards (eval, visualize, report --queue) on this machine until stopped")
    .requiredOption("--queue <url>", "redis://[:PASSWORD@]HOST:PORT[/DB] or rediss:// (TLS), as the submitter's")
    .requiredOption("--allow <dirs>", "comma-separated folders whose models and data this worker may read (nothing else)")
    .addOption(options.count("--concurrency <c>", "shards run at once in this process", 64, 1))
    .addOption(options.count("--lock-duration <ms>", "a shard's lock; a killed worker's shard runs again after it", 3_600_000, 30_000))
    .action(async (o, cmd: Command) => (await import("./worker.js")).workerCommand({ ...o, device: cmd.optsWithGlobals().device }));
  program
    .command("data")
    .description("standard datasets: download them for --data")
    .command("fetch <name>")
    .description("download cifar10, mnist or fashion-mnist from the official locations and verify the published checksums")
    .option("--dir <dir>", "where to put the files (default data/<name>)")
    .option("--base-url <url>", "download from this URL prefix instead of the official locations")
    .option("--checksums <file>", 'JSON {"FILE": "md5:HEX" | "sha256:HEX"} replacing published checksums (for mirrors)')
    .action(async (name, o) => (await import("./data.js")).dataFetchCommand(name, o));
  program
    .command("train")
    .description("standard or adversarial training with checkpoints, metrics and an exported model")
    .requiredOption("--data <spec>", "training data (train split), e.g. fashion-mnist, cifar10:DIR")
    .requiredOption("--arch <name>", "small-cnn | resnet18 | resnet50 | preact-resnet18 | wrn-28-K")
    .requiredOption("--out <dir>", "run directory: checkpoint, metrics.jsonl, model.onnx")
    .addOption(options.count("--epochs <n>", "epochs", LIMITS.epochs, 10))
    .addOption(options.number("--width <w>", "channel width multiplier", parse.positive))
    .addOption(
      options.choice(
        "--adv <kind>",
        "adversarial training: l2 | linf (PGD) | fgsm-rs | free (Shafahi et al. 2019) | n-fgsm (de Jorge et al. 2022)",
        ADV_KINDS,
      ),
    )
    .addOption(options.choice("--threat <kind>", "threat of --adv free|n-fgsm: l2 | linf", BALL_KINDS))
    .addOption(options.eps("training eps (pixel units; with --adv)"))
    .addOption(options.steps("PGD steps for training (with --adv l2|linf; default 7)"))
    .addOption(options.stepSize("step size (--adv l2|linf: default 2.5·eps/steps; free, n-fgsm: default eps)"))
    .addOption(options.count("--replays <m>", "--adv free: replays of each batch (--epochs is divided by it)", LIMITS.steps))
    .addOption(options.number("--noise <k>", "--adv n-fgsm: noise U(-k·eps, k·eps) (L2: in the k·eps ball); default 2", parse.nonNegative))
    .addOption(options.number("--lr <lr>", "learning rate", parse.nonNegative, 0.1))
    .addOption(options.number("--momentum <m>", "SGD momentum", parse.nonNegative, 0.9))
    .addOption(options.number("--weight-decay <wd>", "weight decay", parse.nonNegative, 5e-4))
    .addOption(
      options.choice("--schedule <s>", "constant | step | cosine | cyclic", ["constant", "step", "cosine", "cyclic"] as const, "cosine"),
    )
    .addOption(options.batchSize("batch size", 128))
    .addOption(options.count("--eval-limit <n>", "test images for the per-epoch adversarial accuracy", Number.MAX_SAFE_INTEGER, 1000))
    .option("--no-augment", "no random crop / flip")
    .addOption(options.seed())
    .option("--resume", "continue the run in --out from its last checkpoint (options must match the run's)")
    .option("--overwrite", "start afresh in an --out that holds a run, replacing it")
    .action(async (o) => (await import("./train.js")).trainCommand(o));
  program
    .command("explore")
    .description("serve the explorer (live inversion, features, attacks in the browser) with the zoo and your models")
    .option("--port <p>", "port (0: any free one)", "8417")
    .option("--host <h>", "interface to listen on (default 127.0.0.1; give it explicitly to listen elsewhere)")
    .option("--models <dir>", "a folder of model folders (model.onnx, optional model.json) to list after the zoo")
    .option("--open", "open the page in the default browser")
    .action(async (o) => (await import("./explore.js")).exploreCommand(o));
  program
    .command("convert <checkpoint>")
    .description("convert a checkpoint from another library into model.onnx (normalization inside) and model.json")
    .addOption(
      options.choice("--from <library>", "robustness (MadryLab's robustness library, .pt)", ["robustness"] as const).makeOptionMandatory(),
    )
    .requiredOption("--arch <name>", "resnet18 | resnet50 | wrn-D-K (cifar, e.g. wrn-28-10) | vgg16 | vgg16_bn (imagenet)")
    .addOption(
      options.choice("--dataset <name>", "cifar (3×32×32) | imagenet (3×224×224)", ["cifar", "imagenet"] as const).makeOptionMandatory(),
    )
    .requiredOption("--out <dir>", "folder for model.onnx and model.json")
    .option("--overwrite", "replace model.onnx and model.json in --out")
    .option(
      "--trust-pickle",
      "let the checkpoint's pickle load any Python object (runs code from the file; default: tensors and containers only)",
    )
    .action(async (ckpt, o) => (await import("./convert.js")).convertCommand(ckpt, o));
  registerVisCommands(program);
  registerPlotCommands(program);
  registerSynthCommands(program);
  try {
    await program.parseAsync([...argv]);
  } catch (e) {
    const err = e as Error & { code?: string; exitCode?: number };
    if (err.code === "commander.helpDisplayed" || err.code === "commander.help" || err.code === "commander.version") {
      process.exitCode = err.exitCode ?? 0;
      return;
    }
    // the whole message, escaped: names from files may hold CR/ESC/newlines that would fake or split lines
    const msg = escapeControl(String(err.message ?? err).trimEnd()).replace(/^error: /, "");
    const usage = err.code?.startsWith("commander.") || err instanceof UsageError;
    process.stderr.write(`robustlens: ${msg}${usage ? ` (see robustlens ${commandPath(program, argv)}--help)` : ""}\n`);
    process.exitCode = 1;
  } finally {
    await endCommand();
  }
}

/** "attack " / "data fetch " / "" for the command a usage error belongs to. */
function commandPath(program: Command, argv: readonly string[]): string {
  let cmd = program,
    path = "";
  for (const a of argv.slice(2)) {
    const sub = cmd.commands.find((c) => c.name() === a);
    if (!sub) {
      if (a.startsWith("-")) continue;
      break;
    }
    cmd = sub;
    path += `${a} `;
  }
  return path;
}
