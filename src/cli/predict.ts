// `robustlens predict`: forward pass in batches, first output or a named value.
import { saveNpy } from "../data/node/npy-file.js";
import { forward } from "../model/forward.js";
import { session } from "./session.js";
import { readImages, readModel } from "./io.js";
import { checkOutputs } from "./paths.js";
import { concatBatch, sliceBatch } from "../ir/batch.js";

export interface PredictOptions {
  model: string;
  input: string;
  out: string;
  output?: string;
  batchSize: number;
}

export async function predict(o: PredictOptions): Promise<void> {
  await checkOutputs([{ flag: "--out", path: o.out }], [o.model, o.input]);
  const model = await readModel(o.model);
  const x = await readImages(o.input);
  const n = model.checkInput(x, o.input);
  if (n === 0) throw new Error(`${o.input}: no images (batch of 0)`);
  const parts = [];
  for (let i = 0; i < n; i += o.batchSize)
    parts.push(await forward(session, model, sliceBatch(x, i, Math.min(n, i + o.batchSize)), o.output));
  const y = concatBatch(parts);
  await saveNpy(o.out, y);
  process.stderr.write(`wrote ${o.out} ${y.dtype}[${y.shape.join(",")}]\n`);
}
