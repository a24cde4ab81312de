// `robustlens attack`: adversarial examples for a batch of images, with a summary of what the attack achieved.
import { saveNpy } from "../data/node/npy-file.js";
import { argmaxRows } from "../attack/losses.js";
import { type AttackResult } from "../attack/pgd.js";
import { type AttackMethod, effectiveStepSize, runAttack } from "../attack/method.js";
import { THREATS, type ThreatSpec, threatModel } from "../attack/threat.js";
import type { Tensor } from "../ir/tensor.js";
import { forward } from "../model/forward.js";
import { session } from "./session.js";
import { modelClasses, readImages, readLabels, readModel } from "./io.js";
import { UsageError, requireWith } from "./options.js";
import { checkOutputs } from "./paths.js";
import { concatBatch, sliceBatch } from "../ir/batch.js";
import { progress } from "./progress.js";

/** The attack flags `attack` and `eval` share, as commander parsed them. */
export interface AttackFlags {
  threat: ThreatSpec["kind"];
  stepSize?: number;
  steps: number;
  randomStart?: boolean;
  restarts: number;
  batchSize: number;
  seed: number;
}

export interface AttackOptions extends AttackFlags {
  model: string;
  input: string;
  labels: string;
  out: string;
  eps?: number;
  targeted?: boolean;
  targetLabels?: string;
  keep: "best" | "last";
  method: AttackMethod;
}

/** The threat of one eps, refusing flag combinations that would be ignored or cannot work. */
export function threatOf(
  kind: ThreatSpec["kind"],
  eps: number | undefined,
  methods: readonly AttackMethod[],
  stepSize: number | undefined,
): ThreatSpec {
  if (kind === "unconstrained") {
    requireWith(eps, "--eps", false, "does not apply to --threat unconstrained (it has no radius)");
    if (stepSize === undefined) throw new UsageError("--threat unconstrained needs --step-size");
  } else if (eps === undefined) throw new UsageError(`--threat ${kind} needs --eps`);
  if (kind !== "linf" && methods.includes("fgsm")) throw new UsageError(`fgsm is an L∞ attack; got --threat ${kind}`);
  return kind === "unconstrained" ? { kind } : { kind, eps: eps! };
}

export async function attackCommand(o: AttackOptions): Promise<void> {
  const { method, steps, restarts, batchSize: bs, stepSize } = o;
  const threat = threatOf(o.threat, o.eps, [method], stepSize);
  requireWith(o.targetLabels, "--target-labels", !!o.targeted, "needs --targeted");
  if (o.targeted && !o.targetLabels) throw new UsageError("--targeted needs --target-labels T.npy");
  if (o.targeted && method.startsWith("apgd")) throw new UsageError(`${method}: targeted attacks are not supported; use --method pgd`);
  await checkOutputs([{ flag: "--out", path: o.out }], [o.model, o.input, o.labels, o.targetLabels]);
  const model = await readModel(o.model);
  const x = await readImages(o.input);
  const n = model.checkInput(x, o.input);
  if (n === 0) throw new Error(`${o.input}: no images (batch of 0)`);
  const classes = modelClasses(model);
  const labels = await readLabels(o.labels, n, classes);
  const targets = o.targeted ? await readLabels(o.targetLabels!, n, classes) : undefined;
  const req = { method, threat, steps, stepSize, randomStart: !!o.randomStart, restarts, keep: o.keep, seed: o.seed };
  const alpha = effectiveStepSize(req);
  process.stderr.write(
    `attack ${method} ${threat.kind}${"eps" in threat ? ` eps=${threat.eps}` : ""} steps=${steps}${alpha !== undefined ? ` step-size=${alpha.toPrecision(4)}` : ""} restarts=${restarts} keep=${o.keep}${targets ? " targeted" : ""}\n`,
  );
  const tm = threatModel(threat);
  const advParts: Tensor[] = [];
  let clean = 0,
    adv = 0,
    reached = 0,
    normSum = 0;
  for (let i = 0, b = 1; i < n; i += bs, b++) {
    const j = Math.min(n, i + bs);
    const xb = sliceBatch(x, i, j),
      yb = sliceBatch(labels, i, j),
      tb = targets && sliceBatch(targets, i, j);
    const bar = progress(steps * restarts, `batch ${b}`);
    const r: AttackResult = await runAttack(session, model, xb, {
      ...req,
      labels: yb,
      targetLabels: tb,
      exampleOffset: i,
      onStep: (d) => bar.update(d),
    });
    bar.stop();
    const cleanPred = argmaxRows(await forward(session, model, xb));
    const advPred = argmaxRows(r.logits);
    const per = xb.data.length / (j - i);
    for (let k = 0; k < j - i; k++) {
      const y = Number(yb.data[k]);
      if (cleanPred[k] === y) clean++;
      if (advPred[k] === y) adv++;
      if (tb && advPred[k] === Number(tb.data[k])) reached++;
      const d = Array.from({ length: per }, (_, q) => r.x.data[k * per + q]! - xb.data[k * per + q]!);
      normSum += tm.norm(d);
    }
    advParts.push(r.x);
    process.stderr.write(`batch ${b}: ${j}/${n} images, adversarial accuracy so far ${((100 * adv) / j).toFixed(2)}%\n`);
  }
  await saveNpy(o.out, concatBatch(advParts));
  const normName = THREATS[threat.kind].normName;
  console.log(
    `clean accuracy ${((100 * clean) / n).toFixed(2)}%  adversarial accuracy ${((100 * adv) / n).toFixed(2)}%` +
      `${targets ? `  target reached ${((100 * reached) / n).toFixed(2)}%` : ""}  mean ${normName} perturbation ${(normSum / n).toFixed(4)}  (${n} images; wrote ${o.out})`,
  );
}
