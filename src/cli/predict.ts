// `robustlens predict`: forward pass in batches, first output or a named value.
import { saveNpy } from "../data/node/npy-file.js";
import { forward } from "../model/forward.js";
import { session } from "./session.js";
import { readImages, readModel } from "./io.js";
import { concatBatch, sliceBatch } from "../ir/batch.js";

export interface PredictOptions { model: string; input: string; out: string; output?: string; batchSize: string }

export async function predict(o: PredictOptions): Promise<void> {
  const model = await readModel(o.model);
  const x = await readImages(o.input);
  model.checkInput(x, o.input);
  const bs = Number(o.batchSize);
  if (!Number.isInteger(bs) || bs < 1) throw new Error(`--batch-size must be a positive integer, got "${o.batchSize}"`);
  const n = x.shape[0]!;
  const parts = [];
  for (let i = 0; i < n; i += bs) parts.push(await forward(session, model, sliceBatch(x, i, Math.min(n, i + bs)), o.output));
  const y = concatBatch(parts);
  await saveNpy(o.out, y);
  process.stderr.write(`wrote ${o.out} ${y.dtype}[${y.shape.join(",")}]\n`);
}
