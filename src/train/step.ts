// The compiled training step: forward (BN in training mode), backward, SGD update and running statistics in one call.
import { grad } from "../autodiff/grad.js";
import { Builder } from "../builder/builder.js";
import type { Graph } from "../ir/graph.js";
import { type Tensor, formatShape } from "../ir/tensor.js";
import { crossEntropy } from "../model/losses.js";
import { type Executor, type Program, profileOf } from "../runtime/executor.js";
import type { ThreatModel } from "../attack/threat.js";
import { type SgdOptions, sgdUpdate } from "./optimizer.js";

/** A model as the trainer sees it: graphs built in either BN mode with the given parameter names. */
export interface TrainableModel {
  /** Graph with BN in training mode: outputs logits, rep, then the updated running statistics in `buffers` order. */
  trainGraph: Graph;
  /** Graph with BN in inference mode: outputs logits, rep. */
  evalGraph: Graph;
  params: readonly string[];
  buffers: readonly string[];
  /** Names of the train graph's outputs carrying the new running statistics, in `buffers` order. */
  runningStatOutputs: readonly string[];
}

export interface TrainStepProgram {
  program: Program;
  /** Output names: mean loss, number correct, new params / momentum / buffers in the model's order. */
  loss: string;
  correct: string;
  params: string[];
  momentum: string[];
  buffers: string[];
  /** With `inputStep`: the output holding the next replay's input, and the input taking the clean images. */
  next?: string;
  clean?: string;
}

export interface TrainStepOptions extends SgdOptions {
  /**
   * Free adversarial training: also differentiate with respect to the input x (same forward and backward pass) and
   * output x' = threat.project(threat.step(x, ∇ₓloss, stepSize), clean).
   */
  inputStep?: { threat: ThreatModel; stepSize: number };
}

export const CLEAN_INPUT = "clean";

export const momentumName = (p: string) => `${p}.momentum`;

/** Mean cross-entropy over the batch (the usual training objective, so lr matches PyTorch recipes). */
export async function compileTrainStep(exec: Executor, m: TrainableModel, n: number, sgd: TrainStepOptions): Promise<TrainStepProgram> {
  const { graph } = m.trainGraph.clone();
  const x = graph.inputs[0]!;
  if (x.shape?.[0] !== n && typeof x.shape?.[0] === "number")
    throw new Error(`internal: train graph batch ${formatShape(x.shape)} vs ${n}`);
  graph.liftInitializers([...m.params, ...m.buffers]);
  const g = new Builder(graph);
  const labels = graph.addInput("labels", "int64", [x.shape?.[0] ?? n]);
  const logits = graph.outputs[0]!;
  const loss = g.reduceMean(crossEntropy(g, logits, labels), [], false);
  const correct = g.reduceSum(g.cast(g.equal(g.one("ArgMax", [logits], { axis: 1, keepdims: 0 }), labels), "float32"), [], false);
  const stats = m.runningStatOutputs.map((name) => graph.value(name));
  graph.outputs = [correct, ...stats];
  const wrt = sgd.inputStep ? [...m.params, x.name] : m.params;
  const gr = grad(graph, { loss, wrt, profile: profileOf(exec) });
  const tg = gr.graph;
  const b = new Builder(tg);
  const lr = tg.addInput("lr", "float32", []);
  const newP: string[] = [],
    newM: string[] = [];
  m.params.forEach((p, i) => {
    const param = tg.value(p);
    const buf = tg.addInput(momentumName(p), "float32", param.shape);
    const u = sgdUpdate(b, param, gr.grads[i]!, buf, lr, sgd);
    newP.push(b.identity(u.p, `${p}.next`).name);
    newM.push(b.identity(u.buf, `${momentumName(p)}.next`).name);
  });
  const statNames = stats.map((s) => s.name);
  const extra: string[] = [];
  let next: string | undefined, clean: string | undefined;
  if (sgd.inputStep) {
    const { threat, stepSize } = sgd.inputStep;
    const xin = tg.value(x.name);
    const x0 = tg.addInput(CLEAN_INPUT, "float32", xin.shape);
    const stepped = threat.step(b, xin, gr.grads[m.params.length]!, b.scalarLike(stepSize, xin));
    next = b.identity(threat.project(b, stepped, x0), `${x.name}.next`).name;
    clean = x0.name;
    extra.push(next);
  }
  tg.outputs = [gr.loss.name, correct.name, ...statNames, ...newP, ...newM, ...extra].map((nm) => tg.value(nm));
  tg.prune();
  return {
    program: await exec.compile(tg),
    loss: gr.loss.name,
    correct: correct.name,
    params: newP,
    momentum: newM,
    buffers: statNames,
    next,
    clean,
  };
}

/** Feeds for one step: the current weights, momentum buffers and running statistics. */
export function stateFeeds(
  m: TrainableModel,
  weights: ReadonlyMap<string, Tensor>,
  momentum: ReadonlyMap<string, Tensor>,
): Record<string, Tensor> {
  const f: Record<string, Tensor> = {};
  for (const p of m.params) {
    f[p] = weights.get(p)!;
    f[momentumName(p)] = momentum.get(p)!;
  }
  for (const b of m.buffers) f[b] = weights.get(b)!;
  return f;
}
