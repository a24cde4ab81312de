import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { loadNpy } from "../data/node/npy-file.js";
import { Builder } from "../builder/builder.js";
import { Graph } from "../ir/graph.js";
import { type Tensor, tensor } from "../ir/tensor.js";
import { forward } from "../model/forward.js";
import { Model } from "../model/model.js";
import { nodeExecutor } from "../runtime/node.js";
import { checkGradient, distinctTensor } from "../testing/gradcheck.js";
import { apgd, apgdCheckpoints, shouldRestart } from "./apgd.js";
import { dlr, dlrLoss } from "./dlr.js";
import { argmaxRows, ceLoss } from "./losses.js";
import { pgd } from "./pgd.js";
import { threatModel } from "./threat.js";

async function fixture(name: string) {
  const dir = join("test/fixtures", name);
  const path = join(dir, "model.onnx");
  const model = new Model(new Uint8Array(readFileSync(path)), path);
  const x = (await loadNpy(join(dir, "x.npy"))) as Tensor<"float32">;
  const labels = (await loadNpy(join(dir, "labels.npy"))) as Tensor<"int64">;
  return { model, x, labels };
}

/** The largest perturbation norm and the farthest distance outside [0,1] over the examples. */
function extent(kind: "l2" | "linf", x: Tensor, x0: Tensor): { norm: number; outside: number } {
  const tm = threatModel({ kind, eps: 1 });
  const n = x0.shape[0]!,
    per = x0.data.length / n;
  let norm = 0,
    outside = 0;
  for (let i = 0; i < n; i++) {
    const d = Array.from({ length: per }, (_, j) => Number(x.data[i * per + j]) - Number(x0.data[i * per + j]));
    norm = Math.max(norm, tm.norm(d));
  }
  for (const v of x.data as Float32Array) outside = Math.max(outside, -v, v - 1);
  return { norm, outside };
}

const sum = (a: ArrayLike<number>) => Array.from(a).reduce((s, v) => s + v, 0);
const accuracy = (logits: Tensor, labels: Tensor) =>
  argmaxRows(logits).filter((p, i) => p === Number(labels.data[i])).length / labels.shape[0]!;

test("checkpoints follow the paper's definition (N = 100 gives 0, 22, 41, 57, 70, 80, 87, 93, 99)", () => {
  // p0 = 0, p1 = 0.22, p_{j+1} = p_j + max(p_j − p_{j−1} − 0.03, 0.06); w_j = ceil(p_j·N) (float rounding tolerated)
  const fromDefinition = (steps: number) => {
    const p = [0, 0.22];
    while (p[p.length - 1]! < 1) p.push(p[p.length - 1]! + Math.max(p[p.length - 1]! - p[p.length - 2]! - 0.03, 0.06));
    return [...new Set(p.map((v) => Math.ceil(v * steps - 1e-9)).filter((w) => w <= steps))];
  };
  assert.deepEqual(apgdCheckpoints(100), fromDefinition(100));
  assert.deepEqual(apgdCheckpoints(100), [0, 22, 41, 57, 70, 80, 87, 93, 99]);
  for (const n of [1, 5, 20, 37, 250, 1000]) assert.deepEqual(apgdCheckpoints(n), fromDefinition(n), `N = ${n}`);
});

test("checkpoint conditions: too few increases, or η and the best objective both unchanged", () => {
  const base = { window: 22, eta: 0.5, etaAtCheck: 0.5, best: 2, bestAtCheck: 1 };
  assert.equal(shouldRestart({ ...base, ups: 16 }, 0.75), true); // 16 < 0.75·22 = 16.5
  assert.equal(shouldRestart({ ...base, ups: 17 }, 0.75), false);
  assert.equal(shouldRestart({ ...base, ups: 22, best: 1 }, 0.75), true); // stuck: same η, same f_max
  assert.equal(shouldRestart({ ...base, ups: 22, best: 1, etaAtCheck: 1 }, 0.75), false); // η was halved at the last checkpoint
});

test("DLR loss matches a JS computation on the fixture's logits (label on top and not)", async () => {
  const { model, x, labels } = await fixture("cifar_bottleneck");
  const logits = await forward(nodeExecutor, model, x);
  const [n, c] = logits.shape as [number, number];
  const top = argmaxRows(logits);
  for (const ys of [labels, tensor("int64", [n], top) as Tensor<"int64">]) {
    const graph = model.graph(n);
    const g = new Builder(graph);
    const loss = dlrLoss(ys);
    graph.outputs = [g.identity(loss.build(g, { graph, logits: graph.outputs[0]!, n }), "dlr")];
    const prog = await nodeExecutor.compile(graph.prune());
    const got = (await prog.run({ [model.inputName]: x, ...loss.feeds })).dlr!.data as Float32Array;
    await prog.dispose();
    for (let i = 0; i < n; i++) {
      const z = Array.from(logits.data as Float32Array).slice(i * c, (i + 1) * c);
      const y = Number(ys.data[i]);
      const s = [...z].sort((a, b) => b - a);
      const other = Math.max(...z.filter((_, j) => j !== y));
      const want = -(z[y]! - other) / (s[0]! - s[2]! + 1e-12);
      assert.ok(Math.abs(got[i]! - want) <= 1e-5 * Math.max(1, Math.abs(want)), `example ${i}: ${got[i]} vs ${want}`);
    }
  }
});

test("DLR gradient (TopK, Where, one-hot) passes a random-direction check", async () => {
  const labels = tensor("int64", [4], [0, 3, 5, 1]);
  await checkGradient({
    inputs: { z: distinctTensor("float32", [4, 6], 5), y: labels },
    fixed: ["y"],
    eps: 1e-3,
    build: (g, v) => dlr(g, v.z!, v.y!),
  });
});

test("APGD-CE (L∞ 8/255, 20 steps) reaches at least PGD-20's summed CE and stays in the ball and box", async () => {
  const { model, x, labels } = await fixture("cifar_bottleneck");
  const eps = 8 / 255,
    loss = ceLoss(labels);
  const p = await pgd(nodeExecutor, model, x, { threat: { kind: "linf", eps }, loss, steps: 20, keep: "best" });
  const ticks: number[] = [];
  const a = await apgd(nodeExecutor, model, x, { threat: { kind: "linf", eps }, loss, steps: 20, seed: 1, onStep: (d) => ticks.push(d) });
  console.log(
    `# cifar_bottleneck linf 8/255: CE sum pgd-20 ${sum(p.loss).toFixed(3)} (acc ${accuracy(p.logits, labels)}), apgd-ce-20 ${sum(a.loss).toFixed(3)} (acc ${accuracy(a.logits, labels)})`,
  );
  assert.ok(sum(a.loss) >= sum(p.loss), `apgd ${sum(a.loss)} < pgd ${sum(p.loss)}`);
  assert.equal(ticks.length, 20);
  const e = extent("linf", a.x, x);
  assert.ok(e.norm <= eps + 1e-6 && e.outside <= 0, `‖δ‖∞ ${e.norm}, outside ${e.outside}`);
  // the reported loss and logits belong to the returned point
  const again = await forward(nodeExecutor, model, a.x);
  for (let i = 0; i < again.data.length; i++) assert.ok(Math.abs(Number(again.data[i]) - Number(a.logits.data[i])) < 1e-4);
  assert.deepEqual(
    a.success,
    argmaxRows(a.logits).map((q, i) => q !== Number(labels.data[i])),
  );
});

test("APGD-DLR runs at L2 ε = 0.5, respects the ball, and more restarts only add successes", async () => {
  const { model, x, labels } = await fixture("cifar_bottleneck");
  const o = { threat: { kind: "l2", eps: 0.5 } as const, loss: dlrLoss(labels), steps: 10, seed: 3 };
  const one = await apgd(nodeExecutor, model, x, o);
  const three = await apgd(nodeExecutor, model, x, { ...o, restarts: 3 });
  for (const r of [one, three]) {
    const e = extent("l2", r.x, x);
    assert.ok(e.norm <= 0.5 + 1e-5 && e.outside <= 0, `‖δ‖₂ ${e.norm}, outside ${e.outside}`);
    assert.ok(Array.from(r.loss).every(Number.isFinite));
  }
  one.success!.forEach((s, i) => assert.ok(!s || three.success![i], `example ${i} lost its success with restarts`));
});

test("fmnist_small (trained): APGD-CE beats PGD-20 at L∞ 0.05; APGD-DLR lowers accuracy at L2 1.0", async () => {
  const { model, x, labels } = await fixture("fmnist_small");
  const clean = accuracy(await forward(nodeExecutor, model, x), labels);
  const linf = { kind: "linf", eps: 0.05 } as const,
    l2 = { kind: "l2", eps: 1 } as const;
  const p = await pgd(nodeExecutor, model, x, { threat: linf, loss: ceLoss(labels), steps: 20, keep: "best" });
  const ce = await apgd(nodeExecutor, model, x, { threat: linf, loss: ceLoss(labels), steps: 20, seed: 1 });
  const d = await apgd(nodeExecutor, model, x, { threat: l2, loss: dlrLoss(labels), steps: 20, seed: 1 });
  console.log(
    `# fmnist_small: clean acc ${clean}; linf 0.05: pgd-20 CE sum ${sum(p.loss).toFixed(1)} acc ${accuracy(p.logits, labels)}, apgd-ce-20 CE sum ${sum(ce.loss).toFixed(1)} acc ${accuracy(ce.logits, labels)}; l2 1.0: apgd-dlr-20 acc ${accuracy(d.logits, labels)}`,
  );
  assert.ok(sum(ce.loss) >= sum(p.loss), `apgd ${sum(ce.loss)} < pgd ${sum(p.loss)}`);
  assert.ok(accuracy(ce.logits, labels) <= accuracy(p.logits, labels));
  assert.ok(accuracy(d.logits, labels) < clean - 0.3, `apgd-dlr accuracy ${accuracy(d.logits, labels)} vs clean ${clean}`);
  assert.ok(extent("linf", ce.x, x).norm <= 0.05 + 1e-6 && extent("l2", d.x, x).norm <= 1 + 1e-5);
});

test("errors: an unconstrained threat and fewer than 3 classes are refused in one line", async () => {
  const { model, x, labels } = await fixture("cifar_bottleneck");
  await assert.rejects(
    apgd(nodeExecutor, model, x, { threat: { kind: "unconstrained" }, loss: ceLoss(labels) }),
    (e: Error) => /apgd needs an l2 or linf threat/.test(e.message) && !e.message.includes("\n"),
  );
  await assert.rejects(
    apgd(nodeExecutor, model, x, { threat: { kind: "linf", eps: 0.1 }, loss: ceLoss(labels), steps: 0 }),
    /steps must be a positive integer/,
  );
  const graph = new Graph();
  const g = new Builder(graph);
  const z = graph.addInput("z", "float32", [4, 2]);
  assert.throws(
    () => dlr(g, z, graph.addInput("y", "int64", [4])),
    (e: Error) => /needs at least 3 classes/.test(e.message) && !e.message.includes("\n"),
  );
});
