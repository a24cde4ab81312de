// Input gradients of a loss on an imported model: forward/representation runs and the compiled gradient program.
import { grad } from "../autodiff/grad.js";
import { Builder } from "../ir/builder.js";
import type { Tensor } from "../ir/tensor.js";
import { formatShape } from "../ir/tensor.js";
import { type Executor, type Program, profileOf } from "../runtime/executor.js";
import { crossEntropy, repDistance, sumOverBatch } from "./losses.js";
import { type Model, defaultRepresentation } from "./model.js";

export type LossSpec =
  | { kind: "ce"; labels: Tensor<"int64"> }
  | { kind: "rep-distance"; target: Tensor<"float32">; rep?: string };

interface CachedForward { prog: Promise<Program>; out: string; busy: number; evicted: boolean }

/** Forward programs kept per executor and model (a few, most recently used): batch loops call forward() per batch. */
const forwardCache = new WeakMap<Executor, WeakMap<Model, Map<string, CachedForward>>>();
export const FORWARD_CACHE_SIZE = 4;

function cachedForward(exec: Executor, model: Model, n: number, valueName: string | undefined): CachedForward {
  let byModel = forwardCache.get(exec);
  if (!byModel) forwardCache.set(exec, (byModel = new WeakMap()));
  let entries = byModel.get(model);
  if (!entries) byModel.set(model, (entries = new Map()));
  const key = `${n}:${valueName ?? ""}`;
  let e = entries.get(key);
  if (e) {
    // re-insert: Map order is the recency order
    entries.delete(key);
    entries.set(key, e);
    return e;
  }
  const graph = model.graph(n);
  const out = valueName ? graph.value(valueName) : graph.outputs[0]!;
  graph.outputs = [out];
  graph.prune();
  e = { prog: exec.compile(graph), out: out.name, busy: 0, evicted: false };
  entries.set(key, e);
  // a failed compile is not kept, so the next call reports the error again
  e.prog.catch(() => entries.delete(key));
  while (entries.size > FORWARD_CACHE_SIZE) {
    const [oldKey, old] = entries.entries().next().value!;
    entries.delete(oldKey);
    old.evicted = true;
    if (old.busy === 0) void old.prog.then((p) => p.dispose(), () => {});
  }
  return e;
}

/** Disposes the forward programs cached for `model` on `exec` (they are otherwise kept while the model lives). */
export async function releaseForward(exec: Executor, model: Model): Promise<void> {
  const entries = forwardCache.get(exec)?.get(model);
  if (!entries) return;
  const all = [...entries.values()];
  entries.clear();
  for (const e of all) {
    e.evicted = true;
    if (e.busy === 0) await e.prog.then((p) => p.dispose(), () => {});
  }
}

/** Runs the model and returns the named value (default: first output) for batch x; the compiled program is cached. */
export async function forward(exec: Executor, model: Model, x: Tensor, valueName?: string): Promise<Tensor> {
  const n = model.checkInput(x);
  const e = cachedForward(exec, model, n, valueName);
  e.busy++;
  try {
    return (await (await e.prog).run({ [model.inputName]: x }))[e.out]!;
  } finally {
    // an entry evicted while this call ran is disposed by its last user
    if (--e.busy === 0 && e.evicted) await e.prog.then((p) => p.dispose(), () => {});
  }
}

/** Gradient with respect to the input of the loss summed over examples, and that loss. */
export async function inputGradient(exec: Executor, model: Model, x: Tensor, loss: LossSpec): Promise<{ grad: Tensor; loss: number }> {
  const n = model.checkInput(x);
  const graph = model.graph(n);
  const g = new Builder(graph);
  const feeds: Record<string, Tensor> = { [model.inputName]: x };
  let perExample;
  if (loss.kind === "ce") {
    if (loss.labels.shape.length !== 1 || loss.labels.shape[0] !== n) throw new Error(`labels ${formatShape(loss.labels.shape)} do not match a batch of ${n}`);
    const labels = graph.addInput("labels", "int64", [n]);
    feeds.labels = loss.labels;
    perExample = crossEntropy(g, graph.outputs[0]!, labels);
  } else {
    if (loss.target.shape.join() !== x.shape.join()) throw new Error(`target ${formatShape(loss.target.shape)} does not match input ${formatShape(x.shape)}`);
    model.checkInput(loss.target, "target");
    const rep = loss.rep ? graph.value(loss.rep) : defaultRepresentation(graph);
    const targetRep = await forward(exec, model, loss.target, rep.name);
    const t = graph.addInput("target_rep", targetRep.dtype, [...targetRep.shape]);
    feeds.target_rep = targetRep;
    perExample = repDistance(g, rep, t);
  }
  const total = sumOverBatch(g, perExample);
  const gr = grad(graph, { loss: total, wrt: [model.inputName], keepOutputs: false, profile: profileOf(exec) });
  const prog = await exec.compile(gr.graph);
  try {
    const out = await prog.run(feeds);
    return { grad: out[gr.grads[0]!.name]!, loss: Number(out[gr.loss.name]!.data[0]) };
  } finally {
    await prog.dispose();
  }
}
