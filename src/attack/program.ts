// Compiled attack programs: one call = objective, input gradient, step, projection and best-iterate bookkeeping.
import { grad } from "../autodiff/grad.js";
import { Builder } from "../ir/builder.js";
import type { Tensor } from "../ir/tensor.js";
import type { Graph } from "../ir/graph.js";
import { type Executor, type Program, profileOf } from "../runtime/executor.js";
import type { AttackLoss } from "./losses.js";
import type { ThreatModel } from "./threat.js";

export interface AttackPrograms {
  /** (input, x0, best_x, best_obj, alpha, feeds) → x_next, obj (at input), logits, best_x, best_obj. */
  step: Program;
  /** (input, feeds) → obj, logits. */
  evaluate: Program;
  feeds: Record<string, Tensor>;
  /** Output names of `step` and `evaluate`. */
  names: { xNext: string; obj: string; logits: string; bestX: string; bestObj: string };
  dispose(): Promise<void>;
}

/** What an attack runs on: an imported Model, or a model being trained whose weights are fed as inputs. */
export interface AttackTarget {
  readonly inputName: string;
  /** A fresh graph for a batch of n whose first output is the logits. */
  graph(n: number): Graph;
  /** Checks an image batch and returns its size. */
  checkInput(x: Tensor, what?: string): number;
}

/** The objective J = ±loss per example, oriented so the attack always ascends it. */
export function objective(model: AttackTarget, n: number, loss: AttackLoss) {
  const graph = model.graph(n);
  const g = new Builder(graph);
  const logits = graph.outputs[0]!;
  const built = loss.build(g, { graph, logits, n });
  const obj = g.identity(loss.goal === "max" ? built.loss : g.neg(built.loss), "objective");
  graph.outputs = [obj, logits];
  return { graph, obj, logits, feeds: built.feeds };
}

export async function compileAttack(exec: Executor, model: AttackTarget, n: number, loss: AttackLoss, threat: ThreatModel, options: { straightThrough?: string[] } = {}): Promise<AttackPrograms> {
  const ev = objective(model, n, loss);
  const evaluate = await exec.compile(ev.graph.prune());
  const st = objective(model, n, loss);
  const total = st.graph.outputs[0]!;
  const b0 = new Builder(st.graph);
  const sum = b0.reduceSum(total, [], false);
  const gr = grad(st.graph, { loss: sum, wrt: [model.inputName], straightThrough: options.straightThrough, profile: profileOf(exec) });
  const graph = gr.graph;
  const g = new Builder(graph);
  const x = graph.inputs.find((v) => v.name === model.inputName)!;
  const x0 = graph.addInput("x0", "float32", x.shape);
  const bestX = graph.addInput("best_x", "float32", x.shape);
  const bestObj = graph.addInput("best_obj", "float32", [n]);
  const alpha = graph.addInput("alpha", "float32", [n, ...Array((x.rank ?? 4) - 1).fill(1)]);
  const obj = graph.value(st.obj.name);
  const logits = graph.value(st.logits.name);
  const xNext = g.identity(threat.project(g, threat.step(g, x, gr.grads[0]!, alpha), x0), "x_next");
  const improved = g.unsqueeze(g.greater(obj, bestObj), Array.from({ length: (x.rank ?? 4) - 1 }, (_, i) => i + 1));
  const keepX = g.identity(g.where(improved, x, bestX), "best_x_next");
  const keepObj = g.identity(g.one("Max", [obj, bestObj], {}), "best_obj_next");
  graph.outputs = [xNext, obj, logits, keepX, keepObj];
  graph.prune();
  const step = await exec.compile(graph);
  return {
    step, evaluate, feeds: ev.feeds,
    names: { xNext: xNext.name, obj: obj.name, logits: logits.name, bestX: keepX.name, bestObj: keepObj.name },
    dispose: async () => { await step.dispose(); await evaluate.dispose(); },
  };
}

