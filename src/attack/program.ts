// Compiled attack programs: one call = objective, input gradient, an update rule (PGD's step + projection + best-iterate
// bookkeeping, or APGD's momentum step), cached on the session per target, batch size, loss structure, threat and rule.
import { grad } from "../autodiff/grad.js";
import { Builder } from "../builder/builder.js";
import type { Graph, Value } from "../ir/graph.js";
import type { Tensor } from "../ir/tensor.js";
import { type Program, profileOf } from "../runtime/executor.js";
import type { Session } from "../runtime/session.js";
import { type AttackLoss, checkLossFeeds, lossKey } from "./losses.js";
import type { ThreatModel } from "./threat.js";

/** What an attack runs on: an imported Model, or a model being trained whose weights are fed as inputs. */
export interface AttackTarget {
  readonly inputName: string;
  /** A fresh graph for a batch of n whose first output is the logits. */
  graph(n: number): Graph;
  /** Checks an image batch and returns its size. */
  checkInput(x: Tensor, what?: string): number;
  /** Inputs fed the same tensors at every step of an attack (weights fed as inputs): see CompileOptions.stableInputs. */
  readonly stableInputs?: readonly string[];
}

/** What the update rule sees in the step graph. */
export interface UpdateContext {
  graph: Graph;
  x: Value;
  grad: Value;
  x0: Value;
  obj: Value;
  n: number;
  threat: ThreatModel;
}

/** An attack's update: extra inputs it adds and the outputs it returns (by role); `xNext` is required. */
export interface UpdateRule {
  readonly name: string;
  build(g: Builder, c: UpdateContext): { xNext: Value } & Record<string, Value>;
}

/** Per-example [N,1,...] scalar input broadcasting over an example. */
export const perExampleInput = (graph: Graph, name: string, x: Value, n: number) =>
  graph.addInput(name, "float32", [n, ...Array((x.rank ?? 4) - 1).fill(1)]);

/** PGD: x_next = P(step(x, ∇J, α)); keeps the best iterate (objective evaluated at the input, before the step). */
export const PGD_RULE: UpdateRule = {
  name: "pgd",
  build: (g, { graph, x, grad: dx, x0, obj, n, threat }) => {
    const bestX = graph.addInput("best_x", "float32", x.shape);
    const bestObj = graph.addInput("best_obj", "float32", [n]);
    const alpha = perExampleInput(graph, "alpha", x, n);
    const xNext = g.identity(threat.project(g, threat.step(g, x, dx, alpha), x0), "x_next");
    const improved = g.unsqueeze(
      g.greater(obj, bestObj),
      Array.from({ length: (x.rank ?? 4) - 1 }, (_, i) => i + 1),
    );
    return {
      xNext,
      bestX: g.identity(g.where(improved, x, bestX), "best_x_next"),
      bestObj: g.identity(g.one("Max", [obj, bestObj], {}), "best_obj_next"),
    };
  },
};

export interface AttackPrograms {
  /** (input, x0, rule inputs, loss feeds) → x_next, obj (at input), logits and the rule's other outputs. */
  step: Program;
  /** (input, loss feeds) → obj, logits and the loss's `outputs`. */
  evaluate: Program;
  /** Output names by role: xNext, obj, logits and the rule's own. */
  names: Record<string, string> & { xNext: string; obj: string; logits: string };
  dispose(): Promise<void>;
  /** The step's `Program.dropStable` (its hoisted weight-only results). */
  dropStable(): void | Promise<void>;
}

/** The objective J = ±loss per example, oriented so the attack always ascends it. */
export function objective(model: AttackTarget, n: number, loss: AttackLoss) {
  const graph = model.graph(n);
  const g = new Builder(graph);
  const logits = graph.outputs[0]!;
  const built = loss.build(g, { graph, logits, n });
  const obj = g.identity(loss.goal === "max" ? built : g.neg(built), "objective");
  const extra = (loss.outputs ?? []).filter((n) => n !== logits.name).map((n) => graph.value(n));
  graph.outputs = [obj, logits, ...extra];
  return { graph, obj, logits };
}

export interface AttackProgramOptions {
  /** Nodes whose gradient passes straight through (fake ReLU), by name. */
  straightThrough?: readonly string[];
  /** Default PGD_RULE. */
  rule?: UpdateRule;
}

/** The step and evaluation programs of an attack, compiled once per session and structure. */
export async function attackPrograms(
  session: Session,
  target: AttackTarget,
  n: number,
  loss: AttackLoss,
  threat: ThreatModel,
  o: AttackProgramOptions = {},
): Promise<AttackPrograms> {
  checkLossFeeds(loss, n);
  const rule = o.rule ?? PGD_RULE;
  const st = [...(o.straightThrough ?? [])];
  const key = `attack|${rule.name}|${n}|${lossKey(loss)}|${threat.key}|${st.join(",")}`;
  return session.cached(target, key, async (exec) => {
    const ev = objective(target, n, loss);
    const evaluate = await exec.compile(ev.graph.prune());
    try {
      const sg = objective(target, n, loss);
      const gr = grad(sg.graph, {
        loss: new Builder(sg.graph).reduceSum(sg.obj, [], false),
        wrt: [target.inputName],
        straightThrough: st,
        profile: profileOf(exec),
      });
      const graph = gr.graph;
      const g = new Builder(graph);
      const x = graph.inputs.find((v) => v.name === target.inputName)!;
      const x0 = graph.addInput("x0", "float32", x.shape);
      const obj = graph.value(sg.obj.name),
        logits = graph.value(sg.logits.name);
      const outs = rule.build(g, { graph, x, grad: gr.grads[0]!, x0, obj, n, threat });
      const extra = Object.entries(outs).filter(([role]) => role !== "xNext");
      graph.outputs = [outs.xNext, obj, logits, ...extra.map(([, v]) => v)];
      graph.prune();
      const step = await exec.compile(graph, { stableInputs: target.stableInputs });
      const names = {
        xNext: outs.xNext.name,
        obj: obj.name,
        logits: logits.name,
        ...Object.fromEntries(extra.map(([r, v]) => [r, v.name])),
      };
      return {
        step,
        evaluate,
        names,
        dispose: async () => {
          await step.dispose();
          await evaluate.dispose();
        },
        dropStable: () => step.dropStable?.(),
      };
    } catch (e) {
      await evaluate.dispose();
      throw e;
    }
  });
}
