// `robustlens attack`: adversarial examples for a batch of images, with a summary of what the attack achieved.
import { saveNpy } from "../data/node/npy-file.js";
import { argmaxRows } from "../attack/losses.js";
import { type AttackResult } from "../attack/pgd.js";
import { effectiveStepSize, parseMethod, runAttack } from "../attack/method.js";
import { THREATS, parseThreat, threatModel } from "../attack/threat.js";
import type { Tensor } from "../ir/tensor.js";
import { forward } from "../model/forward.js";
import { session } from "./session.js";
import { readImages, readLabels, readModel } from "./io.js";
import { concatBatch, sliceBatch } from "../ir/batch.js";
import { progress } from "./progress.js";

export interface AttackOptions {
  model: string; input: string; labels: string; out: string; threat: string; eps?: string; stepSize?: string; steps: string;
  randomStart?: boolean; restarts: string; targeted?: boolean; targetLabels?: string; keep: string; method: string;
  batchSize: string; seed: string;
}

export const positiveInt = (v: string, flag: string): number => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${flag} must be a positive integer, got "${v}"`);
  return n;
};
export const positiveNumber = (v: string | undefined, flag: string): number | undefined => {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`${flag} must be a positive number, got "${v}"`);
  return n;
};

export async function attackCommand(o: AttackOptions): Promise<void> {
  const method = parseMethod(o.method);
  const threat = parseThreat(o.threat, o.eps === undefined ? undefined : Number(o.eps));
  const steps = positiveInt(o.steps, "--steps"), restarts = positiveInt(o.restarts, "--restarts"), bs = positiveInt(o.batchSize, "--batch-size");
  const stepSize = positiveNumber(o.stepSize, "--step-size");
  if (o.keep !== "best" && o.keep !== "last") throw new Error(`--keep must be best or last, got "${o.keep}"`);
  if (threat.kind === "unconstrained" && stepSize === undefined) throw new Error("--threat unconstrained needs --step-size");
  if (o.targeted && !o.targetLabels) throw new Error("--targeted needs --target-labels T.npy");
  const model = await readModel(o.model);
  const x = await readImages(o.input);
  const n = model.checkInput(x, o.input);
  const labels = await readLabels(o.labels, n);
  const targets = o.targeted ? await readLabels(o.targetLabels!, n) : undefined;
  const req = { method, threat, steps, stepSize, randomStart: !!o.randomStart, restarts, keep: o.keep as "best" | "last", seed: Number(o.seed) };
  const alpha = effectiveStepSize(req);
  process.stderr.write(`attack ${method} ${threat.kind}${"eps" in threat ? ` eps=${threat.eps}` : ""} steps=${steps}${alpha !== undefined ? ` step-size=${alpha.toPrecision(4)}` : ""} restarts=${restarts} keep=${o.keep}${targets ? " targeted" : ""}\n`);
  const tm = threatModel(threat);
  const advParts: Tensor[] = [];
  let clean = 0, adv = 0, reached = 0, normSum = 0;
  for (let i = 0, b = 1; i < n; i += bs, b++) {
    const j = Math.min(n, i + bs);
    const xb = sliceBatch(x, i, j), yb = sliceBatch(labels, i, j), tb = targets && sliceBatch(targets, i, j);
    const bar = progress(steps * restarts, `batch ${b}`);
    const r: AttackResult = await runAttack(session, model, xb, { ...req, labels: yb, targetLabels: tb, exampleOffset: i, onStep: (d) => bar.update(d) });
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
  console.log(`clean accuracy ${((100 * clean) / n).toFixed(2)}%  adversarial accuracy ${((100 * adv) / n).toFixed(2)}%` +
    `${targets ? `  target reached ${((100 * reached) / n).toFixed(2)}%` : ""}  mean ${normName} perturbation ${(normSum / n).toFixed(4)}  (${n} images; wrote ${o.out})`);
}
