// Forward runs of an imported model: any value of its graph for a batch, compiled once per session and batch size.
import { sliceBatch } from "../ir/batch.js";
import { type Tensor, tensor } from "../ir/tensor.js";
import type { Program } from "../runtime/executor.js";
import { type Runner, type Session, withSession } from "../runtime/session.js";
import type { Model } from "./model.js";

const key = (n: number, valueName: string | undefined) => `forward|${n}|${valueName ?? ""}`;

/** x with its last example repeated up to m rows. */
function padRows(x: Tensor, m: number): Tensor {
  const n = x.shape[0]!,
    per = x.data.length / n;
  const data = new (x.data.constructor as Float32ArrayConstructor)(m * per);
  data.set(x.data as Float32Array);
  for (let i = n; i < m; i++) data.copyWithin(i * per, (n - 1) * per, n * per);
  return tensor(x.dtype, [m, ...x.shape.slice(1)], data as never);
}

/**
 * The smallest batch m > n whose program this session already holds and whose value has one row per example: a last,
 * smaller batch (1000 images in 64s end with 40) runs on it padded, not on a second ORT session of the same weights.
 */
function largerCompiled(s: Session, model: Model, n: number, valueName: string | undefined): number | undefined {
  let best: number | undefined;
  for (const k of s.keys(model)) {
    const [kind, m, v] = k.split("|");
    const b = Number(m);
    if (kind === "forward" && v === (valueName ?? "") && b > n && (best === undefined || b < best)) best = b;
  }
  return best;
}

/** Runs the model and returns the named value (default: first output) for batch x; cached on a session. */
export async function forward(runner: Runner, model: Model, x: Tensor, valueName?: string): Promise<Tensor> {
  const n = model.checkInput(x);
  return withSession(runner, async (s) => {
    const compile = (b: number) =>
      s.cached(model, key(b, valueName), async (exec) => {
        const graph = model.graph(b);
        const out = valueName ? graph.value(valueName) : graph.outputs[0]!;
        graph.outputs = [out];
        graph.prune();
        const prog: Program = await exec.compile(graph);
        // rows of the value are examples only if its first axis is the batch (not e.g. a weight or a pooled batch statistic)
        return Object.assign(prog, { out: out.name, perExample: out.shape?.[0] === b });
      });
    // a program of this very size, once compiled, stays the one to use
    const m = s.keys(model).includes(key(n, valueName)) ? undefined : largerCompiled(s, model, n, valueName);
    if (m !== undefined) {
      const p = await compile(m);
      if (p.perExample) return sliceBatch((await p.run({ [model.inputName]: padRows(x, m) }))[p.out]!, 0, n);
    }
    const p = await compile(n);
    return (await p.run({ [model.inputName]: x }))[p.out]!;
  });
}
