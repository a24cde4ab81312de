// `robustlens grad`: input gradient of a summed cross-entropy or representation-distance loss.
import { loadNpy } from "../data/node/npy-file.js";
import { saveNpy } from "../data/node/npy-file.js";
import { imagesToFloat } from "../data/npy.js";
import { type LossSpec, inputGradient } from "../model/gradient.js";
import { nodeExecutor } from "../runtime/node.js";
import { modelClasses, readImages, readLabels, readModel } from "./io.js";
import { UsageError, requireWith } from "./options.js";
import { checkOutputs } from "./paths.js";

export interface GradOptions { model: string; input: string; out: string; loss: "ce" | "rep-distance"; labels?: string; target?: string; rep?: string }

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
  if (n === 0) throw new Error(`${o.input}: no images (batch of 0)`);
  const loss: LossSpec = o.loss === "ce"
    ? { kind: "ce", labels: await readLabels(o.labels!, n, modelClasses(model)) }
    : { kind: "rep-distance", target: imagesToFloat(await loadNpy(o.target!), o.target), rep: o.rep };
  const r = await inputGradient(nodeExecutor, model, x, loss);
  await saveNpy(o.out, r.grad);
  process.stderr.write(`loss ${r.loss.toFixed(6)}; wrote ${o.out} float32[${r.grad.shape.join(",")}]\n`);
}
