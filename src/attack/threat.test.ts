import assert from "node:assert/strict";
import { test } from "node:test";
import { Builder } from "../builder/builder.js";
import { Graph } from "../ir/graph.js";
import { type Tensor, tensor } from "../ir/tensor.js";
import { nodeExecutor } from "../runtime/node.js";
import { Rng } from "../util/rng.js";
import { THREAT_HELP, THREAT_KINDS, type ThreatSpec, defaultStepSize, parseThreat, threatModel } from "./threat.js";

const shape = [3, 2, 4, 4];
const rand = (seed: number, lo: number, hi: number): Tensor<"float32"> => {
  const r = new Rng(seed);
  return tensor(
    "float32",
    shape,
    Float32Array.from({ length: 96 }, () => r.uniform(lo, hi)),
  ) as Tensor<"float32">;
};

/** Runs project(x, x0) and step(x, grad, alpha) of a threat model on ORT. */
async function apply(spec: ThreatSpec, x: Tensor, x0: Tensor, grad: Tensor, alpha: number) {
  const tm = threatModel(spec);
  const graph = new Graph();
  const g = new Builder(graph);
  const vx = graph.addInput("x", "float32", shape),
    v0 = graph.addInput("x0", "float32", shape),
    vg = graph.addInput("g", "float32", shape);
  const proj = g.identity(tm.project(g, vx, v0), "proj");
  const stepped = g.identity(tm.step(g, vx, vg, g.scalar(alpha)), "stepped");
  graph.outputs = [proj, stepped];
  const p = await nodeExecutor.compile(graph);
  const out = await p.run({ x, x0, g: grad });
  await p.dispose();
  return { proj: out.proj!.data as Float32Array, stepped: out.stepped!.data as Float32Array, tm };
}

const perEx = (a: ArrayLike<number>, b: ArrayLike<number>, i: number) =>
  Array.from({ length: 32 }, (_, k) => a[i * 32 + k]! - b[i * 32 + k]!);

for (const spec of [{ kind: "l2", eps: 0.5 }, { kind: "linf", eps: 0.1 }, { kind: "unconstrained" }] as ThreatSpec[]) {
  test(`${spec.kind}: projection lands in the set and the box, and is idempotent`, async () => {
    const x0 = rand(1, 0, 1),
      x = rand(2, -0.5, 1.5),
      grad = rand(3, -1, 1);
    const { proj, tm } = await apply(spec, x, x0, grad, 0.1);
    for (const v of proj) assert.ok(v >= 0 && v <= 1);
    if ("eps" in spec) for (let i = 0; i < 3; i++) assert.ok(tm.norm(perEx(proj, x0.data, i)) <= spec.eps * (1 + 1e-5));
    const again = await apply(spec, tensor("float32", shape, proj), x0, grad, 0.1);
    for (let i = 0; i < proj.length; i++) assert.ok(Math.abs(again.proj[i]! - proj[i]!) < 1e-6);
  });

  test(`${spec.kind}: step moves by alpha in the threat model's norm, per example`, async () => {
    const x = rand(4, 0, 1),
      grad = rand(5, -1, 1);
    const { stepped, tm } = await apply(spec, x, x, grad, 0.1);
    for (let i = 0; i < 3; i++) {
      const moved = tm.norm(perEx(stepped, x.data, i));
      if (spec.kind === "unconstrained") assert.ok(Math.abs(moved - 0.1 * tm.norm(perEx(grad.data, new Float32Array(96), i))) < 1e-5);
      else assert.ok(Math.abs(moved - 0.1) < 1e-5, `moved ${moved}`);
    }
  });

  test(`${spec.kind}: random start lies in the set and the box`, () => {
    const tm = threatModel(spec);
    const x0 = rand(6, 0, 1);
    const s = tm.randomStart(x0, (i) => new Rng(9 + i));
    for (const v of s.data) assert.ok(v >= 0 && v <= 1);
    if ("eps" in spec) for (let i = 0; i < 3; i++) assert.ok(tm.norm(perEx(s.data, x0.data, i)) <= spec.eps * (1 + 1e-5));
  });
}

test("bad threat options are one-line errors", () => {
  assert.throws(() => parseThreat("l3", 1), /unknown threat model "l3"/);
  assert.throws(() => parseThreat("l2", -0.5), /--eps must be a positive number for --threat l2, got -0.5/);
  assert.throws(() => threatModel({ kind: "linf", eps: Number.NaN }), /eps must be a positive number/);
  assert.throws(() => parseThreat("unconstrained", 0.5), /--eps does not apply to --threat unconstrained/);
  assert.throws(() => defaultStepSize({ kind: "unconstrained" }, 10), /unconstrained attacks need an explicit step size/);
  assert.equal(defaultStepSize({ kind: "l2", eps: 0.5 }, 10), 0.125);
});

test("the threat table drives parsing and help, and a ThreatModel of one's own passes through", () => {
  for (const k of THREAT_KINDS) assert.match(THREAT_HELP, new RegExp(`${k}: `));
  assert.equal(threatModel(parseThreat("linf", 0.1)).key, "linf:0.1");
  const own = { ...threatModel({ kind: "l2", eps: 1 }), name: "mine", key: "mine" };
  assert.equal(threatModel(own), own);
});
