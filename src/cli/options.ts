// CLI option groups declared once, with argument parsers that refuse bad numbers while commander parses.
import { type Command, InvalidArgumentError, Option } from "commander";
import { THREAT_HELP, THREAT_KINDS } from "../attack/threat.js";

/** Upper bounds of count options: large enough for any real run, small enough that a typo cannot exhaust memory. */
export const LIMITS = {
  steps: 1_000_000,
  restarts: 10_000,
  batchSize: 65_536,
  epochs: 100_000,
  frames: 1_000,
  count: 10_000,
  magnitude: 1e6,
} as const;

const fail = (why: string): never => {
  throw new InvalidArgumentError(why);
};

/** An integer in [min, max]; "1e3" is accepted, "abc", "1.5" and "1e308" are not. */
export function intIn(min: number, max: number): (v: string) => number {
  return (v) => {
    const n = Number(v);
    if (v.trim() === "" || !Number.isInteger(n)) fail(`It must be an integer in ${min}..${max}`);
    if (n < min || n > max) fail(`It must be in ${min}..${max}`);
    return n;
  };
}

/** A finite number in (0, max] (or [0, max] with `zero`). */
export function numberIn(max: number, o: { zero?: boolean } = {}): (v: string) => number {
  const range = `${o.zero ? "[0" : "(0"}, ${max}]`;
  return (v) => {
    const n = Number(v);
    if (v.trim() === "" || !Number.isFinite(n)) fail(`It must be a finite number in ${range}`);
    if (n < 0 || (n === 0 && !o.zero) || n > max) fail(`It must be in ${range}`);
    return n;
  };
}

/** A finite number (any sign). */
export const finite = (v: string): number => {
  const n = Number(v);
  if (v.trim() === "" || !Number.isFinite(n)) fail("It must be a finite number");
  return n;
};

/** Comma-separated positive numbers (eps lists). */
export const numberList =
  (max: number) =>
  (v: string): number[] => {
    const parts = v.split(",").map((s) => s.trim());
    if (parts.some((s) => s === "")) fail("It must be comma-separated numbers, e.g. 0.25,0.5,1");
    return parts.map(numberIn(max));
  };

/** One of `choices`. */
export const oneOf =
  <T extends string>(choices: readonly T[]) =>
  (v: string): T => {
    if (!(choices as readonly string[]).includes(v)) fail(`It must be one of ${choices.join(", ")}`);
    return v as T;
  };

export const parse = {
  count: (max: number) => intIn(1, max),
  seed: intIn(0, 2 ** 32 - 1),
  positive: numberIn(LIMITS.magnitude),
  nonNegative: numberIn(LIMITS.magnitude, { zero: true }),
};

const opt = (flags: string, desc: string, parser?: (v: string) => unknown, dflt?: unknown): Option => {
  const o = new Option(flags, desc);
  if (parser) o.argParser((v: string) => parser(v));
  if (dflt !== undefined) o.default(dflt);
  return o;
};

/** The declarations commands share; each returns a fresh Option (commander keeps options per command). */
export const options = {
  model: (desc = "ONNX model") => opt("--model <file>", desc).makeOptionMandatory(),
  batchSize: (desc: string, dflt?: number) => opt("--batch-size <n>", desc, parse.count(LIMITS.batchSize), dflt),
  seed: (desc = "random seed", flags = "--seed <s>") => opt(flags, desc, parse.seed, 0),
  steps: (desc: string, dflt?: number) => opt("--steps <k>", desc, parse.count(LIMITS.steps), dflt),
  stepSize: (desc = "step size (default 2.5·eps/steps)") => opt("--step-size <a>", desc, parse.positive),
  eps: (desc: string) => opt("--eps <e>", desc, parse.positive),
  limit: (desc = "use only the first n images") => opt("--limit <n>", desc, parse.count(Number.MAX_SAFE_INTEGER)),
  count: (flags: string, desc: string, max: number, dflt?: number) => opt(flags, desc, parse.count(max), dflt),
  number: (flags: string, desc: string, parser: (v: string) => unknown, dflt?: number) => opt(flags, desc, parser, dflt),
  choice: <T extends string>(flags: string, desc: string, choices: readonly T[], dflt?: T) => opt(flags, desc, oneOf(choices), dflt),
  plain: (flags: string, desc: string, dflt?: string) => opt(flags, desc, undefined, dflt),
};

export { ATTACK_METHODS as METHODS } from "../attack/method.js";

/** The attack flags `attack` and `eval` share (eps differs: one radius vs a list). */
export function attackGroup(cmd: Command, d: { steps: number; batchSize: number }): Command {
  return cmd
    .addOption(options.choice("--threat <kind>", THREAT_HELP, THREAT_KINDS, "l2"))
    .addOption(options.stepSize())
    .addOption(options.steps("iterations", d.steps))
    .addOption(opt("--random-start", "start from a random point of the threat set"))
    .addOption(options.count("--restarts <r>", "independent runs; a successful one is kept per example", LIMITS.restarts, 1))
    .addOption(options.batchSize("images per attack batch", d.batchSize))
    .addOption(options.seed());
}

/** The flags of every pixel-space search; defaults come from the paper (docs/design.md §4) per operation. */
export function searchGroup(cmd: Command, defaults: string): Command {
  return cmd
    .addOption(options.steps(`iterations (default ${defaults})`))
    .addOption(options.stepSize("L2 step α per iteration"))
    .addOption(options.eps("L2 radius around the seed (1000: only the [0,1] box binds)"))
    .addOption(opt("--rep <name>", 'representation value (default: output "rep", else the input of the final linear layer)'))
    .addOption(opt("--no-fake-relu", "backpropagate through the last ReLU before R as a real ReLU"))
    .addOption(options.batchSize("images optimized together"))
    .addOption(options.seed("seed of the noise start images", "--seed-rng <s>"));
}

/** Bytes a command may hold for one image batch it builds (the search keeps a few copies of it). */
export const MAX_BATCH_BYTES = 2 ** 30;

/** Refuses a batch of `images` float32 images of `perImage` values that would not fit in memory. */
export function checkBatchMemory(images: number, perImage: number, what: string): void {
  const bytes = images * perImage * 4;
  if (bytes > MAX_BATCH_BYTES)
    throw new UsageError(
      `${what}: ${images} images of ${perImage} values need ${(bytes / 2 ** 30).toFixed(1)} GiB, more than the ${MAX_BATCH_BYTES / 2 ** 30} GiB allowed; ask for fewer`,
    );
}

/** A usage error found after parsing (conflicting flags): one line, like commander's own. */
export class UsageError extends Error {}

/** Refuses `flag` when `given` is set but `needs` is not. */
export function requireWith(given: unknown, flag: string, needs: boolean, why: string): void {
  if (given !== undefined && given !== false && !needs) throw new UsageError(`${flag} ${why}`);
}
