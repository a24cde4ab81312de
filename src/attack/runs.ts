// The attack skeleton shared by PGD and APGD: runs from several starts, per example the best one kept, per-example noise.
import { type Tensor, tensor } from "../ir/tensor.js";
import { Rng } from "../util/rng.js";
import type { AttackLoss } from "./losses.js";
import type { NoiseSource } from "./threat.js";

/** One run's result per example: the kept iterate, its objective (oriented: higher is better) and logits. */
export interface Run {
  x: Tensor<"float32">;
  obj: Float32Array;
  logits: Tensor;
  success?: boolean[];
}

export interface AttackResult {
  x: Tensor<"float32">;
  /** The loss (not the oriented objective) per example at the result. */
  loss: Float32Array;
  logits: Tensor;
  /** Per example, whether the loss's aim was reached (when the loss defines it). */
  success?: boolean[];
}

/** State after each step, for live views: the new iterate and the loss per example at the iterate it came from. */
export interface StepInfo {
  x: Tensor<"float32">;
  loss: Float32Array;
}
export type OnStep = (done: number, total: number, info: StepInfo) => void;

/** Copies example i of `src` into `dst` (both flat, `per` values per example). */
export function copyRow(dst: { set(a: ArrayLike<number>, o: number): void }, src: Tensor, i: number, per: number): void {
  dst.set((src.data as Float32Array).subarray(i * per, (i + 1) * per), i * per);
}

/** Per example: keep a successful run (the earlier one), else the higher objective. */
export function keepBetter(a: Run, b: Run): Run {
  const n = a.obj.length,
    per = a.x.data.length / n,
    c = a.logits.shape[1]!;
  const x = Float32Array.from(a.x.data),
    obj = Float32Array.from(a.obj),
    logits = Float32Array.from(a.logits.data as Float32Array);
  const success = a.success ? [...a.success] : undefined;
  for (let i = 0; i < n; i++) {
    const takeB = a.success && b.success ? !a.success[i] && (b.success[i] || b.obj[i]! > a.obj[i]!) : b.obj[i]! > a.obj[i]!;
    if (!takeB) continue;
    copyRow(x, b.x, i, per);
    copyRow(logits, b.logits, i, c);
    obj[i] = b.obj[i]!;
    if (success) success[i] = b.success![i]!;
  }
  return { x: tensor("float32", a.x.shape, x) as Tensor<"float32">, obj, logits: tensor("float32", a.logits.shape, logits), success };
}

/** The random stream of example `offset + i` in restart r: the same draws at any batch size or chunking. */
export const exampleNoise =
  (seed: number, restart: number, offset: number): NoiseSource =>
  (i) =>
    Rng.derive(seed, restart, offset + i);

/** Runs `once` for restarts 0..R−1 (stopping when every example succeeded) and returns the per-example best as a result. */
export async function bestOfRestarts(restarts: number, loss: AttackLoss, once: (r: number) => Promise<Run>): Promise<AttackResult> {
  let best: Run | undefined;
  for (let r = 0; r < restarts; r++) {
    const res = await once(r);
    const run = { ...res, success: loss.success?.(res.logits) };
    best = best ? keepBetter(best, run) : run;
    if (best.success?.every(Boolean)) break;
  }
  const sign = loss.goal === "max" ? 1 : -1;
  return { x: best!.x, loss: best!.obj.map((v) => sign * v), logits: best!.logits, success: best!.success };
}

/** Throws when a caller's signal asks to stop (checked between steps). */
export function checkAbort(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw signal.reason instanceof Error ? signal.reason : new Error("attack stopped");
}
