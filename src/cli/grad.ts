// `robustlens grad`: input gradient of a summed cross-entropy or representation-distance loss.
import { loadNpy } from "../data/node/npy-file.js";
import { saveNpy } from "../data/node/npy-file.js";
import { imagesToFloat } from "../data/npy.js";
import { inputGradient } from "../attack/gradient.js";
import { type AttackLoss, ceLoss } from "../attack/losses.js";
import { checkTargetRep } from "../model/losses.js";
import { repTargetLoss } from "../vis/search.js";
import { representationOf } from "../vis/representation.js";
import { session } from "./session.js";
import { modelClasses, readImages, readLabels, readModel } from "./io.js";
import { UsageError, requireWith } from "./options.js";
import { checkOutputs } from "./paths.js";

export interface GradOptions {
  model: string;
  input: string;
  out: string;
  loss: "ce" | "rep-distance";
  labels?: string;
  target?: string;
  rep?: string;
}

export async function gradCommand(o: GradOptions): Promise<void> {
  requireWith(o.labels, "--labels", o.loss === "ce", "applies to --loss ce only");
  requireWith(o.target, "--target", o.loss === "rep-distance", "applies to --loss rep-distance only");
  requireWith(o.rep, "--rep", o.loss === "rep-distance", "applies to --loss rep-distance only");
  if (o.loss === "ce" && !o.labels) throw new UsageError("--loss ce needs --labels Y.npy");
  if (o.loss === "rep-distance" && !o.target) throw new UsageError("--loss rep-distance needs --target T.npy");
  await checkOutputs([{ flag: "--out", path: o.out }], [o.model, o.input, o.labels, o.target]);
  const model = await readModel(o.model);
  const x = await readImages(o.input);
  const n = model.checkInput(x, o.input);
  let loss: AttackLoss;
  if (o.loss === "ce") {
    loss = ceLoss(await readLabels(o.labels!, n, modelClasses(model)));
  } else {
    const target = imagesToFloat(await loadNpy(o.target!), o.target);
    if (target.shape.join() !== x.shape.join())
      throw new Error(`--target ${o.target} [${target.shape}] does not match --input [${x.shape}]`);
    const rep = model.representation({ rep: o.rep }).name;
    const targetRep = await representationOf(session, model, target, { rep });
    checkTargetRep(targetRep, `--target ${o.target}: image`);
    loss = repTargetLoss(rep, targetRep);
  }
  const r = await inputGradient(session, model, x, loss);
  await saveNpy(o.out, r.grad);
  process.stderr.write(`loss ${r.loss.toFixed(6)}; wrote ${o.out} float32[${r.grad.shape.join(",")}]\n`);
}
