// `robustlens plot eval|train`: registration only; the work is imported when a command runs.
import type { Command } from "commander";

export function registerPlotCommands(program: Command): void {
  const plot = program.command("plot").description("plots of eval reports and training runs, as SVG or PNG");
  plot
    .command("eval <reports...>")
    .description("robust accuracy vs eps of one or more `robustlens eval` JSON reports, one line per model and attack")
    .requiredOption("--out <file>", "plot file, .svg or .png")
    .option("--names <list>", "legend names, comma-separated, one per report (default: the models' names)")
    .option("--title <text>", "plot title")
    .action(async (files: string[], o) => (await import("./plot.js")).plotEvalCommand(files, o));
  plot
    .command("train <dirs...>")
    .description("training curves of one or more `robustlens train` run directories (their metrics.jsonl), overlaid")
    .requiredOption("--out <file>", "plot file, .svg or .png")
    .option("--names <list>", "legend names, comma-separated, one per run (default: the directories' names)")
    .option("--title <text>", "plot title")
    .action(async (dirs: string[], o) => (await import("./plot.js")).plotTrainCommand(dirs, o));
}
