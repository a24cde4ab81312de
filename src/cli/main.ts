// CLI entry: one file per command, imported lazily; every failure ends as one line on stderr and exit code 1.
import { Command } from "commander";

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
    .option("--rep <name>", "representation value (default: input of the final Gemm/MatMul)")
    .action(async (o) => (await import("./grad.js")).gradCommand(o));
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
  }
}
