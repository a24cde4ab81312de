// Input gradients of a loss on an imported model: forward/representation runs and the compiled gradient program.
import { grad } from "../autodiff/grad.js";
import { Builder } from "../ir/builder.js";
import type { Tensor } from "../ir/tensor.js";
import { formatShape } from "../ir/tensor.js";
import type { Executor } from "../runtime/executor.js";
import { crossEntropy, repDistance, sumOverBatch } from "./losses.js";
import { type Model, defaultRepresentation } from "./model.js";

export type LossSpec =
  | { kind: "ce"; labels: Tensor<"int64"> }
  | { kind: "rep-distance"; target: Tensor<"float32">; rep?: string };

/** Runs the model and returns the named value (default: first output) for batch x. */
export async function forward(exec: Executor, model: Model, x: Tensor, valueName?: string): Promise<Tensor> {
  const n = model.checkInput(x);
  const graph = model.graph(n);
  const out = valueName ? graph.value(valueName) : graph.outputs[0]!;
  graph.outputs = [out];
  graph.prune();
  const prog = await exec.compile(graph);
  try {
    return (await prog.run({ [model.inputName]: x }))[out.name]!;
  } finally {
    await prog.dispose();
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
  const gr = grad(graph, { loss: total, wrt: [model.inputName], keepOutputs: false });
  const prog = await exec.compile(gr.graph);
  try {
    const out = await prog.run(feeds);
    return { grad: out[gr.grads[0]!.name]!, loss: Number(out[gr.loss.name]!.data[0]) };
  } finally {
    await prog.dispose();
  }
}
