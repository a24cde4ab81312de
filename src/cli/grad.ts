// `robustlens grad`: input gradient of a summed cross-entropy or representation-distance loss.
import { loadNpy } from "../data/node/npy-file.js";
import { saveNpy } from "../data/node/npy-file.js";
import { imagesToFloat } from "../data/npy.js";
import { type LossSpec, inputGradient } from "../model/gradient.js";
import { executor } from "./device.js";
import { readImages, readLabels, readModel } from "./io.js";

export interface GradOptions { model: string; input: string; out: string; loss: string; labels?: string; target?: string; rep?: string }

export async function gradCommand(o: GradOptions): Promise<void> {
  const model = await readModel(o.model);
  const x = await readImages(o.input);
  const n = model.checkInput(x, o.input);
  let loss: LossSpec;
  if (o.loss === "ce") {
    if (!o.labels) throw new Error("--loss ce needs --labels Y.npy");
    loss = { kind: "ce", labels: await readLabels(o.labels, n) };
  } else if (o.loss === "rep-distance") {
    if (!o.target) throw new Error("--loss rep-distance needs --target T.npy");
    loss = { kind: "rep-distance", target: imagesToFloat(await loadNpy(o.target), o.target), rep: o.rep };
  } else throw new Error(`unknown --loss "${o.loss}" (expected ce or rep-distance)`);
  const r = await inputGradient(executor(), model, x, loss);
  await saveNpy(o.out, r.grad);
  process.stderr.write(`loss ${r.loss.toFixed(6)}; wrote ${o.out} float32[${r.grad.shape.join(",")}]\n`);
}
