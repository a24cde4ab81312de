// `robustlens grad`: input gradient of a summed cross-entropy or representation-distance loss.
import { loadNpy } from "../data/node/npy-file.js";
import { saveNpy } from "../data/node/npy-file.js";
import { imagesToFloat } from "../data/npy.js";
import { inputGradient } from "../attack/gradient.js";
import { type AttackLoss, ceLoss } from "../attack/losses.js";
import { repTargetLoss } from "../vis/search.js";
import { representationOf } from "../vis/representation.js";
import { session } from "./session.js";
import { readImages, readLabels, readModel } from "./io.js";

export interface GradOptions { model: string; input: string; out: string; loss: string; labels?: string; target?: string; rep?: string }

export async function gradCommand(o: GradOptions): Promise<void> {
  const model = await readModel(o.model);
  const x = await readImages(o.input);
  const n = model.checkInput(x, o.input);
  let loss: AttackLoss;
  if (o.loss === "ce") {
    if (!o.labels) throw new Error("--loss ce needs --labels Y.npy");
    loss = ceLoss(await readLabels(o.labels, n));
  } else if (o.loss === "rep-distance") {
    if (!o.target) throw new Error("--loss rep-distance needs --target T.npy");
    const target = imagesToFloat(await loadNpy(o.target), o.target);
    if (target.shape.join() !== x.shape.join()) throw new Error(`--target ${o.target} [${target.shape}] does not match --input [${x.shape}]`);
    const rep = model.representation({ rep: o.rep }).name;
    loss = repTargetLoss(rep, await representationOf(session, model, target, { rep }));
  } else throw new Error(`unknown --loss "${o.loss}" (expected ce or rep-distance)`);
  const r = await inputGradient(session, model, x, loss);
  await saveNpy(o.out, r.grad);
  process.stderr.write(`loss ${r.loss.toFixed(6)}; wrote ${o.out} float32[${r.grad.shape.join(",")}]\n`);
}
