// The shipped Fashion-MNIST model's PGD-step and inversion-step programs built for the webgpu profile: only ops WebGPU runs,
// and the same iterates as the CPU-profile programs when both run on ORT CPU.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import {
  type Executor,
  type Graph,
  Model,
  PROFILES,
  Session,
  type Tensor,
  WEBGPU_PROFILE,
  attackPrograms,
  buildModel,
  ceLoss,
  compileTrainStep,
  fitGraph,
  invert,
  pgd,
  sliceBatch,
  stateFeeds,
  tensor,
  threatModel,
  validateGraph,
} from "robustlens";
import { NodeExecutor, loadNpy, nodeExecutor } from "robustlens/node";
import { fixtureDir } from "./helpers.js";

const MODEL = "models/fashion-mnist-l2/model.onnx";
const model = new Model(new Uint8Array(readFileSync(MODEL)), MODEL);
const fx = fixtureDir("fmnist_small");

/** The webgpu profile on ORT CPU, recording the op types of every graph it compiles (after fitting). */
function recordingWebgpu(): { exec: Executor; ops: Set<string>[] } {
  const inner = new NodeExecutor({ profile: WEBGPU_PROFILE });
  const ops: Set<string>[] = [];
  const exec: Executor = {
    profile: WEBGPU_PROFILE,
    compile: (g: Graph, o) => {
      const fitted = fitGraph(g, WEBGPU_PROFILE);
      ops.push(new Set(fitted.nodes.map((n) => `${n.op}${n.outputs.length > 1 ? `/${n.outputs.length}` : ""}`)));
      return inner.compile(g, o);
    },
  };
  return { exec, ops };
}

const FORBIDDEN = ["Sign", "LogSoftmax", "MaxUnpool", "ScatterElements", "MaxPool/2", "Max", "Min", "Sum", "BatchNormalization/3"];

async function images(n: number): Promise<{ x: Tensor<"float32">; y: Tensor<"int64"> }> {
  const x = sliceBatch((await loadNpy(join(fx, "x.npy"))) as Tensor<"float32">, 0, n);
  const y = sliceBatch((await loadNpy(join(fx, "labels.npy"))) as Tensor<"int64">, 0, n);
  return { x, y };
}

const maxAbsDiff = (a: Tensor, b: Tensor) => {
  let m = 0;
  for (let i = 0; i < a.data.length; i++) m = Math.max(m, Math.abs(Number(a.data[i]) - Number(b.data[i])));
  return m;
};

for (const threat of [
  { kind: "l2", eps: 1.5 },
  { kind: "linf", eps: 0.1 },
] as const) {
  test(`PGD ${threat.kind}: the webgpu-profile step graph runs only WebGPU ops and gives the CPU iterates`, async () => {
    const { x, y } = await images(16);
    const { exec, ops } = recordingWebgpu();
    const o = { threat, loss: ceLoss(y), steps: 10, keep: "last" as const };
    const cpu = await pgd(nodeExecutor, model, x, o);
    const gpu = await pgd(exec, model, x, o);
    assert.ok(ops.length >= 2, "step and evaluate programs compiled");
    for (const s of ops) for (const f of FORBIDDEN) assert.ok(!s.has(f), `a compiled graph contains ${f}: ${[...s].join(" ")}`);
    assert.ok(
      ops.some((s) => s.has("ConvTranspose") && s.has("Equal")),
      "the step graph has the mask formulation of MaxPool's gradient",
    );
    // the attack moved the images, by the same amount on both
    assert.ok(maxAbsDiff(cpu.x, x) > 0.05);
    const d = maxAbsDiff(cpu.x, gpu.x);
    if (threat.kind === "l2") assert.ok(d < 1e-5, `max |x_cpu − x_webgpu| = ${d}`);
    else {
      // a sign step can flip where a gradient component is ~0 and the two log-softmax roundings differ: allow a few pixels
      let differ = 0;
      for (let i = 0; i < x.data.length; i++) if (Math.abs(cpu.x.data[i]! - gpu.x.data[i]!) > 1e-6) differ++;
      assert.ok(differ <= x.data.length * 1e-3, `${differ} of ${x.data.length} pixels differ`);
    }
    cpu.loss.forEach((v, i) =>
      assert.ok(Math.abs(v - gpu.loss[i]!) <= 1e-4 * Math.max(1, Math.abs(v)), `loss ${i}: ${v} vs ${gpu.loss[i]}`),
    );
  });
}

test("inversion: the webgpu-profile step graph runs only WebGPU ops and gives the CPU iterates", async () => {
  const { x } = await images(8);
  const { exec, ops } = recordingWebgpu();
  const cpu = await invert(nodeExecutor, model, x, { steps: 20 });
  const gpu = await invert(exec, model, x, { steps: 20 });
  for (const s of ops) for (const f of FORBIDDEN) assert.ok(!s.has(f), `a compiled graph contains ${f}: ${[...s].join(" ")}`);
  const d = maxAbsDiff(cpu.x, gpu.x);
  assert.ok(d < 1e-4, `max |x_cpu − x_webgpu| = ${d}`);
  cpu.distance.forEach((v, i) => assert.ok(Math.abs(v - gpu.distance[i]!) < 1e-5, `distance ${i}: ${v} vs ${gpu.distance[i]}`));
  assert.ok(
    Array.from(cpu.distance).every((v) => v < 1),
    "the inversion made progress",
  );
});

test("the CPU-profile PGD step graph is refused by the webgpu profile, naming the op and node", async () => {
  const graphs: Graph[] = [];
  // records what attackPrograms builds for the CPU profile, compiles nothing
  const rec: Executor = {
    compile: async (g) => {
      graphs.push(g);
      return { inputNames: [], outputNames: [], run: async () => ({}), dispose: async () => {} };
    },
  };
  const { y } = await images(4);
  await attackPrograms(new Session(rec), model, 4, ceLoss(y), threatModel({ kind: "linf", eps: 0.1 }));
  const step = graphs[1]!;
  assert.ok(
    step.nodes.some((n) => n.op === "MaxUnpool"),
    "CPU step graph uses MaxUnpool",
  );
  assert.throws(
    () => validateGraph(step, WEBGPU_PROFILE),
    /^Error: webgpu: op LogSoftmax \(node "logsoftmax"\) has no kernel in ONNX Runtime's WebGPU .*cannot run either \(MaxPool, MaxUnpool, Sign, Max\)$/,
  );
  // fitting rewrites LogSoftmax, Sign and Max but not MaxPool's Indices: grad must be told the profile
  assert.throws(
    () => fitGraph(step, WEBGPU_PROFILE),
    /^Error: webgpu: op MaxPool \(node "[^"]+"\) with the Indices output fails at run time .*cannot run either \(MaxUnpool, MaxPool\)$/,
  );
});

test("a ResNet training step (training-mode BN, SGD momentum) on the webgpu profile: WebGPU ops only, the CPU step's loss, weights and running stats", async () => {
  const tr = buildModel({
    arch: "resnet18",
    inChannels: 1,
    imageSize: 28,
    classes: 10,
    mean: [0.286],
    std: [0.353],
    seed: 0,
    width: 0.25,
    mode: "train",
  });
  const m = {
    trainGraph: tr.graph,
    evalGraph: tr.graph,
    params: tr.params,
    buffers: tr.buffers,
    runningStatOutputs: tr.runningStatOutputs,
  };
  const n = 8;
  const { x, y } = await images(n);
  const { exec, ops } = recordingWebgpu();
  const weights = new Map(tr.graph.initializers.map((v) => [v.name, v.data!]));
  const momentum = new Map<string, Tensor>(m.params.map((p) => [p, tensor("float32", weights.get(p)!.shape)]));
  const feeds = { ...stateFeeds(m, weights, momentum), input: x, labels: y, lr: tensor("float32", [], [0.05]) };
  const outs = [];
  // the reference is the plain CPU formulation: NCHWc's blocked step is compared with plain Conv in src/runtime/nchwc.test.ts
  const plainCpu = new NodeExecutor({ profile: PROFILES.cpu });
  for (const e of [plainCpu, exec]) {
    const step = await compileTrainStep(e, m, n, { momentum: 0.9, weightDecay: 5e-4 });
    try {
      outs.push({ step, out: await step.program.run(feeds) });
    } finally {
      await step.program.dispose();
    }
  }
  for (const s of ops) for (const f of FORBIDDEN) assert.ok(!s.has(f), `the train step contains ${f}`);
  assert.ok(
    ops.some((s) => s.has("ReduceMean") && !s.has("BatchNormalization/3")),
    "BN batch statistics by ReduceMean",
  );
  const [a, b] = outs as [(typeof outs)[0], (typeof outs)[0]];
  const la = Number(a.out[a.step.loss]!.data[0]),
    lb = Number(b.out[b.step.loss]!.data[0]);
  assert.ok(Math.abs(la - lb) < 1e-5 * Math.max(1, la), `loss ${la} vs ${lb}`);
  for (const names of ["params", "buffers"] as const) {
    a.step[names].forEach((name, k) => {
      const ta = a.out[name]!,
        tb = b.out[b.step[names][k]!]!;
      const d = maxAbsDiff(ta, tb);
      assert.ok(d < 1e-4, `${names} ${name}: max diff ${d}`);
    });
  }
});
