// Input gradients of any per-example loss on a model: ∇ₓ Σᵢ lossᵢ, compiled once per session and loss structure.
import { grad } from "../autodiff/grad.js";
import { Builder } from "../builder/builder.js";
import type { Tensor } from "../ir/tensor.js";
import type { Model } from "../model/model.js";
import { type Program, profileOf } from "../runtime/executor.js";
import { type Runner, withSession } from "../runtime/session.js";
import { type AttackLoss, checkLossFeeds, lossKey } from "./losses.js";

/** Gradient with respect to the input of the loss summed over examples (so each example's gradient is its own), and that sum. */
export async function inputGradient(
  runner: Runner,
  model: Model,
  x: Tensor,
  loss: AttackLoss,
  o: { straightThrough?: readonly string[] } = {},
): Promise<{ grad: Tensor; loss: number }> {
  const n = model.checkInput(x);
  checkLossFeeds(loss, n);
  const st = [...(o.straightThrough ?? [])];
  return withSession(runner, async (s) => {
    const p = await s.cached(model, `grad|${n}|${lossKey(loss)}|${st.join(",")}`, async (exec) => {
      const graph = model.graph(n);
      const g = new Builder(graph);
      const total = g.reduceSum(loss.build(g, { graph, logits: graph.outputs[0]!, n }), [], false);
      const gr = grad(graph, { loss: total, wrt: [model.inputName], keepOutputs: false, straightThrough: st, profile: profileOf(exec) });
      const prog: Program = await exec.compile(gr.graph);
      return Object.assign(prog, { gradName: gr.grads[0]!.name, lossName: gr.loss.name });
    });
    const out = await p.run({ ...loss.feeds, [model.inputName]: x });
    return { grad: out[p.gradName]!, loss: Number(out[p.lossName]!.data[0]) };
  });
}
