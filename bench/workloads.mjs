// The robustlens side of every workload, through the library's entry points. `run` is the steady state (programs compiled
// once on a Session, as training, the CLI and the visualization tools run them); `user` is the public call as a user makes
// it with a bare executor, so that call compiles its own programs (forward(), pgd(), invert()).
import { readFileSync } from "node:fs";
import { join } from "node:path";
import {
  Model,
  Session,
  argmaxRows,
  attackPrograms,
  buildModel,
  ceLoss,
  compileTrainStep,
  exampleNoise,
  forward,
  invert,
  makeSeeds,
  pgd,
  pgdIterate,
  repTargetLoss,
  resolveRepresentation,
  targetRepresentation,
  sliceBatch,
  stateFeeds,
  tensor,
  threatModel,
  withSession,
} from "robustlens";
import { loadNpy } from "robustlens/node";
import { BATCH, EVAL_BATCH, MODELS, archOptions } from "./assets.mjs";
import { makeR50Workload } from "./r50.mjs";

/** Workload names and what each computes; `models` lists where it runs. */
export const WORKLOADS = {
  forward: { what: "forward, batch 32", models: ["r18", "fm"] },
  "pgd-step": { what: "one L2 PGD step (forward, input gradient, step, projection, keep-best), batch 32", models: ["r18", "fm"] },
  "pgd-10": { what: "10-step L2 PGD attack (keep best), batch 32", models: ["r18", "fm"] },
  "adv-train-step": {
    what: "adversarial training step (PGD-7 random start, then SGD step with BN in training mode), batch 32",
    models: ["r18", "fm"],
  },
  "invert-100": { what: "100 steps of representation inversion (L2, step 1, fake ReLU, keep best), batch 32", models: ["r18"] },
  "eval-1000": { what: "clean evaluation of 1000 images (batches of 64, as `robustlens eval`)", models: ["r18", "fm"] },
  "r50-step": { what: "ResNet-50 224×224 forward + PGD step, batch 8", models: ["r50"] },
};

// BENCH_INVERT_STEPS: a shorter inversion for trying the bench out (both sides read it)
const INVERT_STEPS = Number(process.env.BENCH_INVERT_STEPS ?? 100);

/** Forward FLOPs (2·MACs of Conv, Gemm and MatMul) of a model graph for a batch of n. */
export function forwardFlops(model, n) {
  let macs = 0;
  for (const node of model.graph(n).nodes) {
    const out = node.outputs[0]?.staticShape;
    if (!out) continue;
    const size = out.reduce((a, b) => a * b, 1);
    if (node.op === "Conv") {
      const w = node.inputs[1].staticShape;
      macs += size * w.slice(1).reduce((a, b) => a * b, 1);
    } else if (node.op === "Gemm" || node.op === "MatMul") {
      const a = node.inputs[0].staticShape;
      const k = node.op === "Gemm" && node.attrs.transA ? a[0] : a[a.length - 1];
      macs += size * k;
    }
  }
  return 2 * macs;
}

/**
 * FLOPs of a workload in forward passes F of batch 32 (input gradient ≈ F; input + weight gradients ≈ 2F): pgd-step 2F;
 * pgd-10 10·2F + 2F (the last iterate and the kept one are evaluated); adv-train-step 7·2F + 3F (both sides: the final
 * iterate is not evaluated); invert-100 F (target
 * representations) + 100·2F + 2F; eval-1000 1000/32·F.
 */
export function workloadFlops(name, f32) {
  const per = {
    forward: 1,
    "pgd-step": 2,
    "pgd-10": 22,
    "adv-train-step": 17,
    "train-step": 3,
    "invert-100": 1 + 2 * INVERT_STEPS + 2,
    "eval-1000": 1000 / BATCH,
    "r50-step": 2,
  };
  return per[name] * f32;
}

/** Eval-mode model whose weights are graph inputs, as the trainer attacks it (src/train/node/train.ts). */
function liftedTarget(evalGraph, names) {
  const lifted = evalGraph.clone().graph;
  lifted.liftInitializers(names);
  const stableInputs = process.env.BENCH_NO_HOIST === "1" ? undefined : names;
  return { inputName: lifted.inputs[0].name, graph: () => lifted.clone().graph, checkInput: (x) => x.shape[0], stableInputs };
}

/**
 * The training workloads, in a function of their own so that their closures keep only what `robustlens train` keeps (the
 * model's graphs, weights, momentum), not the ONNX bytes and the imported Model of the other workloads.
 */
async function makeTrainWorkload(name, key, { exec, assets, save }) {
  const arch = archOptions(readFileSync(join(assets, `${key}.onnx`)));
  const x = await loadNpy(join(assets, `${key}_x.npy`)),
    y = await loadNpy(join(assets, `${key}_y.npy`));
  const spec = { kind: "l2", eps: MODELS[key].eps };
  const names = buildModel({ ...arch, weights: undefined, mode: "train" });
  const keep = new Set([...names.params, ...names.buffers]);
  const weightsIn = new Map([...arch.weights].filter(([k]) => keep.has(k)));
  const tr = buildModel({ ...arch, weights: weightsIn, mode: "train" });
  const ev = buildModel({ ...arch, weights: weightsIn, mode: "eval" });
  const m = {
    trainGraph: tr.graph,
    evalGraph: ev.graph,
    params: tr.params,
    buffers: tr.buffers,
    runningStatOutputs: tr.runningStatOutputs,
  };
  const target = liftedTarget(ev.graph, [...m.params, ...m.buffers]);
  const sgd = { momentum: 0.9, weightDecay: 5e-4 };
  const steps = await compileTrainStep(exec, m, BATCH, sgd);
  const session = new Session(exec);
  await attackPrograms(session, target, BATCH, ceLoss(y), threatModel(spec));
  const weights = new Map(weightsIn),
    momentum = new Map(m.params.map((p) => [p, tensor("float32", weights.get(p).shape)]));
  const lr = tensor("float32", [], [MODELS[key].lr]);
  let k = 0;
  const step = async (seed, pgdSteps = 7) => {
    const wf = Object.fromEntries([...m.params, ...m.buffers].map((n) => [n, weights.get(n)]));
    // train-step (profiling only): the update alone, on the clean batch
    // as the trainer: the last iterate, not evaluated
    const r =
      name === "train-step"
        ? { x }
        : {
            x: await pgdIterate(session, target, x, {
              threat: spec,
              steps: pgdSteps,
              stepSize: MODELS[key].trainStep,
              loss: ceLoss(y),
              randomStart: true,
              seed,
              feeds: wf,
            }),
          };
    await session.dropStable(target); // as the trainer does before the update
    const out = await steps.program.run({ ...stateFeeds(m, weights, momentum), [target.inputName]: r.x, labels: y, lr });
    m.params.forEach((p, i) => {
      weights.set(p, out[steps.params[i]]);
      momentum.set(p, out[steps.momentum[i]]);
    });
    m.buffers.forEach((b, i) => weights.set(b, out[steps.buffers[i]]));
    return { x_adv: r.x, loss: out[steps.loss] };
  };
  if (name === "attack-step") {
    // (profiling and A/B only) one PGD iteration of the training attack on the current weights, as pgd() calls it
    const p = await attackPrograms(session, target, BATCH, ceLoss(y), threatModel(spec));
    const start = threatModel(spec).randomStart(x, exampleNoise(0, 0, 0));
    const wf = Object.fromEntries([...m.params, ...m.buffers].map((n) => [n, weights.get(n)]));
    const feeds = {
      ...ceLoss(y).feeds,
      ...wf,
      [target.inputName]: start,
      x0: x,
      best_x: start,
      best_obj: tensor("float32", [BATCH], new Float32Array(BATCH).fill(-Infinity)),
      alpha: tensor("float32", [BATCH, 1, 1, 1], new Float32Array(BATCH).fill(MODELS[key].trainStep)),
    };
    return {
      check: async () => {
        const o = await p.step.run(feeds);
        return { x_next: o[p.names.xNext], obj: o[p.names.obj] };
      },
      run: () => p.step.run(feeds),
      dispose: async () => {
        await steps.program.dispose();
        await session.dispose();
      },
    };
  }
  return {
    check: async () => {
      // the PyTorch side starts from the same random start (pgd() draws example i's from (seed, restart 0, i) exactly so)
      await save("start", threatModel(spec).randomStart(x, exampleNoise(0, 0, 0)));
      const r = await step(0, 1); // the first PGD iteration, then the update
      // the first conv, the classifier and (ResNet) the first BN's running mean after the update
      const shown = ["conv1.weight", "linear.weight", "bn1.running_mean"].filter((k) => weights.has(k));
      return { x_adv: r.x_adv, loss: r.loss, ...Object.fromEntries(shown.map((k) => [k, weights.get(k)])) };
    },
    run: () => step(++k),
    dispose: async () => {
      await steps.program.dispose();
      await session.dispose();
    },
  };
}

/** Sets up workload `name` on model `key`; returns { check(), run(), user?(), dispose() }. `save(name, tensor)` shares files with the PyTorch side. */
export async function makeWorkload(name, key, { exec, assets, save }) {
  if (name === "r50-step") return makeR50Workload({ exec, assets });
  if (name === "adv-train-step" || name === "train-step" || name === "attack-step")
    return makeTrainWorkload(name, key, { exec, assets, save });
  const bytes = readFileSync(join(assets, `${key}.onnx`));
  const model = new Model(bytes, `${key}.onnx`);
  const load = (f) => loadNpy(join(assets, `${key}_${f}.npy`));
  const x = await load("x"),
    y = await load("y");
  const spec = { kind: "l2", eps: MODELS[key].eps };
  const alpha = (2.5 * spec.eps) / 10;

  if (name === "forward") {
    const g = model.graph(BATCH);
    g.outputs = [g.outputs[0]];
    const prog = await exec.compile(g.prune());
    const out = g.outputs[0].name;
    const userSession = new Session(exec);
    return {
      check: async () => ({ logits: (await prog.run({ [model.inputName]: x }))[out] }),
      run: () => prog.run({ [model.inputName]: x }),
      // a user's session (the CLI keeps one per command): forward() compiles once, then runs the cached program
      user: () => forward(userSession, model, x),
      dispose: async () => {
        await prog.dispose();
        await userSession.dispose();
      },
    };
  }

  if (name === "pgd-step") {
    const session = new Session(exec),
      loss = ceLoss(y);
    const p = await attackPrograms(session, model, BATCH, loss, threatModel(spec));
    const feeds = {
      ...loss.feeds,
      [model.inputName]: x,
      x0: x,
      best_x: x,
      best_obj: tensor("float32", [BATCH], new Float32Array(BATCH).fill(-Infinity)),
      alpha: tensor("float32", [BATCH, 1, 1, 1], new Float32Array(BATCH).fill(alpha)),
    };
    return {
      check: async () => {
        const o = await p.step.run(feeds);
        return { x_next: o[p.names.xNext], obj: o[p.names.obj], logits: o[p.names.logits] };
      },
      run: () => p.step.run(feeds),
      dispose: () => session.dispose(),
    };
  }

  if (name === "pgd-10") {
    const o = { threat: spec, loss: ceLoss(y), steps: 10, stepSize: alpha, keep: "best" };
    const session = new Session(exec);
    await attackPrograms(session, model, BATCH, o.loss, threatModel(spec));
    return {
      // the first iteration (and the final evaluations): later iterates drift apart by float32 noise at ReLU/MaxPool ties
      check: async () => {
        const r = await pgd(session, model, x, { ...o, steps: 1 });
        return { x: r.x, loss: tensor("float32", [BATCH], r.loss), logits: r.logits };
      },
      run: () => pgd(session, model, x, o),
      user: () => pgd(exec, model, x, o),
      dispose: () => session.dispose(),
    };
  }

  if (name === "invert-100") {
    const targets = await load("targets");
    const { rep, fakeRelu } = resolveRepresentation(model.graph(BATCH));
    const straightThrough = fakeRelu ? [fakeRelu.name] : [];
    const threat = { kind: "l2", eps: 1000 };
    const zeros = tensor("float32", [BATCH, ...rep.staticShape.slice(1)]);
    const session = new Session(exec);
    await attackPrograms(session, model, BATCH, repTargetLoss(rep.name, zeros), threatModel(threat), { straightThrough });
    const steady = async (steps) => {
      // as invert(): R(t) from the search's own evaluation program (no forward session of its own)
      const targetRep = await targetRepresentation(session, model, targets, { eps: threat.eps });
      const loss = repTargetLoss(rep.name, targetRep);
      const x0 = makeSeeds(model, "noise", BATCH, 0);
      return pgd(session, model, x0, { threat, loss, steps, stepSize: 1, keep: "best", straightThrough });
    };
    return {
      check: async () => {
        await save("seed", makeSeeds(model, "noise", BATCH, 0));
        const r = await steady(1);
        return { x: r.x, distance: tensor("float32", [BATCH], r.loss) };
      },
      run: () => steady(INVERT_STEPS),
      user: () => invert(exec, model, targets, { steps: INVERT_STEPS, rngSeed: 0 }),
      dispose: () => session.dispose(),
    };
  }

  if (name === "eval-1000") {
    const xe = await load("x_eval"),
      ye = await load("y_eval");
    const n = xe.shape[0];
    // the steady state: one session kept across calls (forward() runs the last, smaller batch padded on the full one's program)
    const steady = new Session(exec);
    await forward(steady, model, sliceBatch(xe, 0, Math.min(n, EVAL_BATCH)));
    // the CLI's clean-accuracy loop; `logitsOf` is forward() (user path) or a cached program (steady state)
    const loop = async (logitsOf, keepLogits) => {
      let correct = 0;
      const all = [];
      for (let i = 0; i < n; i += EVAL_BATCH) {
        const j = Math.min(n, i + EVAL_BATCH);
        const logits = await logitsOf(sliceBatch(xe, i, j));
        if (keepLogits) all.push(logits);
        correct += argmaxRows(logits).filter((p, k) => p === Number(ye.data[i + k])).length;
      }
      return { correct, all };
    };
    const cached = (xb) => forward(steady, model, xb);
    return {
      check: async () => {
        const { correct, all } = await loop(cached, true);
        const c = all[0].shape[1],
          data = new Float32Array(n * c);
        all.forEach((t, i) => data.set(t.data, i * EVAL_BATCH * c));
        return { logits: tensor("float32", [n, c], data), correct: tensor("float32", [1], [correct]) };
      },
      run: () => loop(cached, false),
      // the CLI's loop: one session per command, so its program compiles once per call
      user: () => withSession(exec, (s) => loop((xb) => forward(s, model, xb), false)),
      dispose: () => steady.dispose(),
    };
  }
  throw new Error(`unknown workload "${name}"`);
}
