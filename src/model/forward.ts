// Forward runs of an imported model: any value of its graph for a batch, compiled once per session and batch size.
import type { Tensor } from "../ir/tensor.js";
import type { Program } from "../runtime/executor.js";
import { type Runner, withSession } from "../runtime/session.js";
import type { Model } from "./model.js";

/** Runs the model and returns the named value (default: first output) for batch x; cached on a session. */
export async function forward(runner: Runner, model: Model, x: Tensor, valueName?: string): Promise<Tensor> {
  const n = model.checkInput(x);
  return withSession(runner, async (s) => {
    const p = await s.cached(model, `forward|${n}|${valueName ?? ""}`, async (exec) => {
      const graph = model.graph(n);
      const out = valueName ? graph.value(valueName) : graph.outputs[0]!;
      graph.outputs = [out];
      graph.prune();
      const prog: Program = await exec.compile(graph);
      return Object.assign(prog, { out: out.name });
    });
    return (await p.run({ [model.inputName]: x }))[p.out]!;
  });
}
