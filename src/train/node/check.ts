// Checks of a resumed checkpoint's state and tensors against the model being trained, and of weights after an epoch.
import type { Tensor } from "../../ir/tensor.js";
import { formatShape } from "../../ir/tensor.js";
import type { TrainableModel } from "../step.js";
import type { EpochMetrics } from "./train.js";

const METRIC_KEYS = ["lr", "train_loss", "train_acc", "test_acc", "seconds", "images_per_second"] as const;

/** The checkpoint's epoch and history, refused unless they describe `epoch + 1` completed epochs of at most `epochs`. */
export function checkState(state: Record<string, unknown>, epochs: number, source: string): { epoch: number; history: EpochMetrics[] } {
  const fail = (why: string): never => {
    throw new Error(`${source}: ${why}`);
  };
  const epoch = state.epoch;
  if (typeof epoch !== "number" || !Number.isSafeInteger(epoch) || epoch < 0)
    return fail(`bad epoch ${JSON.stringify(epoch)} (expected an integer >= 0)`);
  if (!Array.isArray(state.history)) return fail("history is not a list");
  const history = state.history as unknown[];
  if (history.length !== epoch + 1) fail(`history has ${history.length} epochs, the checkpoint says ${epoch + 1}`);
  history.forEach((h, i) => {
    const r = h as Record<string, unknown>;
    if (typeof h !== "object" || h === null || r.epoch !== i) fail(`history entry ${i} is not epoch ${i}`);
    for (const k of METRIC_KEYS)
      if (typeof r[k] !== "number" || !Number.isFinite(r[k])) fail(`history entry ${i}: ${k} is ${JSON.stringify(r[k])}`);
    if (r.adv_acc !== null && (typeof r.adv_acc !== "number" || !Number.isFinite(r.adv_acc)))
      fail(`history entry ${i}: adv_acc is ${JSON.stringify(r.adv_acc)}`);
  });
  if (epoch + 1 > epochs) fail(`already has ${epoch + 1} epochs, more than --epochs ${epochs}`);
  return { epoch, history: history as EpochMetrics[] };
}

/** Every parameter, buffer and momentum the model needs (and the run's `extra` state), with its shape and finite values; nothing else. */
export function checkTensors(
  m: TrainableModel & { init: Map<string, Tensor> },
  tensors: Map<string, Tensor<"float32">>,
  source: string,
  extra?: ReadonlyMap<string, readonly number[]>,
): void {
  const want = new Map<string, readonly number[]>(extra);
  for (const k of [...m.params, ...m.buffers]) want.set(k, m.init.get(k)!.shape);
  for (const p of m.params) want.set(`momentum:${p}`, m.init.get(p)!.shape);
  for (const [k, shape] of want) {
    const t = tensors.get(k);
    if (!t) throw new Error(`${source}: tensor "${k}" is missing (a checkpoint of another architecture?)`);
    if (t.shape.join() !== shape.join())
      throw new Error(`${source}: tensor "${k}" is ${formatShape(t.shape)}, the model needs ${formatShape(shape)}`);
    for (let i = 0; i < t.data.length; i++)
      if (!Number.isFinite(t.data[i]!)) throw new Error(`${source}: tensor "${k}" element ${i} is ${t.data[i]}`);
  }
  for (const k of tensors.keys())
    if (!want.has(k)) throw new Error(`${source}: unexpected tensor "${k}" (a checkpoint of another architecture?)`);
}

/** The name of the first weight holding NaN or ±Infinity, if any. */
export function nonFiniteWeight(weights: Map<string, Tensor>): string | undefined {
  for (const [k, t] of weights) {
    const d = t.data as ArrayLike<number>;
    for (let i = 0; i < d.length; i++) if (!Number.isFinite(d[i]!)) return k;
  }
  return undefined;
}
