// Plain Conv vs NCHWc blocked Conv on fed weights, on the bench's ResNet-18 (the attack programs of training): the input
// gradient (relative L2 error, max |Δ|, sign flips), the objective, the logits and one PGD step's x_next, from the clean
// batch and from a random start. Usage: node bench/nchwc-agree.mjs [--threads T] [--threat l2|linf]
import { availableParallelism } from "node:os";
import { parseArgs } from "node:util";
import {
  Builder,
  PROFILES,
  Rng,
  attackPrograms,
  buildModel,
  ceLoss,
  exampleNoise,
  grad,
  objective,
  tensor,
  threatModel,
  withSession,
} from "robustlens";
import { NodeExecutor, nchwcBlockOfCpu } from "robustlens/node";
import { BATCH, CIFAR, MODELS } from "./assets.mjs";

const { values: a } = parseArgs({ options: { threads: { type: "string" }, threat: { type: "string", default: "l2" } } });
const threads = Number(a.threads ?? availableParallelism());
const block = nchwcBlockOfCpu();
if (!block) throw new Error("this CPU has no NCHWc block (neither AVX-512F nor AVX2+FMA): nothing to compare");

const rng = new Rng(1234);
const r18 = buildModel({ arch: "resnet18", inChannels: 3, imageSize: 32, classes: 10, ...CIFAR, seed: 7, mode: "eval" });
const x = tensor(
  "float32",
  [BATCH, 3, 32, 32],
  Float32Array.from({ length: BATCH * 3072 }, () => rng.next()),
);
const y = tensor(
  "int64",
  [BATCH],
  Array.from({ length: BATCH }, () => Math.floor(rng.next() * 10)),
);
const names = [...r18.params, ...r18.buffers];
const weights = Object.fromEntries(names.map((n) => [n, r18.graph.value(n).data]));
const lifted = r18.graph.clone().graph;
lifted.liftInitializers(names);
const target = { inputName: lifted.inputs[0].name, graph: () => lifted.clone().graph, checkInput: (t) => t.shape[0] };
const spec = { kind: a.threat, eps: a.threat === "l2" ? MODELS.r18.eps : 8 / 255 };
const threat = threatModel(spec);
const loss = ceLoss(y);

/** Objective, logits and input gradient of the lifted model (what the attack step differentiates). */
function gradGraph(profile) {
  const o = objective(target, BATCH, loss);
  const gr = grad(o.graph, { loss: new Builder(o.graph).reduceSum(o.obj, [], false), wrt: [target.inputName], profile });
  gr.graph.outputs = [gr.graph.value(o.obj.name), gr.graph.value(o.logits.name), gr.grads[0]];
  return gr.graph.prune();
}

const plainExec = new NodeExecutor({ profile: PROFILES.cpu });
const blockExec = new NodeExecutor({ profile: { ...PROFILES.cpu, nchwcBlock: block } });
const opts = { intraOpThreads: threads };
const wrap = (e) => ({ profile: e.profile, compile: (g, o = {}) => e.compile(g, { ...o, ...opts }) });

async function side(exec, x0) {
  const g = await exec.compile(gradGraph(exec.profile));
  const [obj, logits, dx] = g.outputNames;
  const r = await g.run({ ...weights, ...loss.feeds, [target.inputName]: x0 });
  await g.dispose();
  const step = await withSession(wrap(exec), async (s) => {
    const p = await attackPrograms(s, target, BATCH, loss, threat);
    const alpha = tensor("float32", [BATCH, 1, 1, 1], new Float32Array(BATCH).fill(MODELS.r18.trainStep));
    const best = tensor("float32", [BATCH], new Float32Array(BATCH).fill(-Infinity));
    const o = await p.step.run({ ...weights, ...loss.feeds, [target.inputName]: x0, x0: x, best_x: x0, best_obj: best, alpha });
    return o[p.names.xNext];
  });
  return { obj: r[obj], logits: r[logits], dx: r[dx], xNext: step };
}

function compare(a, b) {
  let d2 = 0,
    b2 = 0,
    maxAbs = 0,
    maxB = 0;
  for (let i = 0; i < a.data.length; i++) {
    const d = a.data[i] - b.data[i];
    d2 += d * d;
    b2 += b.data[i] * b.data[i];
    maxAbs = Math.max(maxAbs, Math.abs(d));
    maxB = Math.max(maxB, Math.abs(b.data[i]));
  }
  return { rel: Math.sqrt(d2 / b2), maxAbs, maxAbsRel: maxAbs / maxB };
}

/** Per example: relative L2 error of the gradient and its norm; sign flips over the whole batch. */
function perExample(a, b) {
  const per = a.data.length / BATCH;
  const rows = [];
  let flips = 0,
    zero = 0;
  for (let i = 0; i < BATCH; i++) {
    let d2 = 0,
      b2 = 0;
    for (let j = i * per; j < (i + 1) * per; j++) {
      d2 += (a.data[j] - b.data[j]) ** 2;
      b2 += b.data[j] ** 2;
      if (Math.sign(a.data[j]) !== Math.sign(b.data[j])) flips++;
      if (b.data[j] === 0) zero++;
    }
    rows.push({ rel: Math.sqrt(d2 / b2), norm: Math.sqrt(b2) });
  }
  return { rows, flips, zero };
}

/** Inputs of every ReLU of the forward pass (pre-activations), to count units whose sign differs between the two. */
async function preActivations(exec, x0) {
  const g = target.graph(BATCH);
  g.outputs = g.nodes.filter((n) => n.op === "Relu").map((n) => n.inputs[0]);
  const p = await exec.compile(g.prune(), opts);
  const r = await p.run({ ...weights, [target.inputName]: x0 });
  await p.dispose();
  return g.outputs.map((v) => r[v.name]);
}

function reluFlips(pa, pb) {
  const perEx = new Array(BATCH).fill(0);
  let nearest = Infinity;
  pa.forEach((t, k) => {
    const u = pb[k],
      per = t.data.length / BATCH;
    for (let j = 0; j < t.data.length; j++)
      if (t.data[j] > 0 !== u.data[j] > 0) {
        perEx[Math.floor(j / per)]++;
        nearest = Math.min(nearest, Math.max(Math.abs(t.data[j]), Math.abs(u.data[j])));
      }
  });
  return { perEx, nearest };
}

const fmt = (v) => v.toExponential(2);
for (const [startName, x0] of [
  ["clean", x],
  ["random start", threat.randomStart(x, exampleNoise(0, 0, 0))],
]) {
  const p = await side(plainExec, x0),
    q = await side(blockExec, x0);
  console.log(`\n${startName} (${spec.kind} ε ${spec.eps}, NCHWc block ${block}, ${threads} threads)`);
  for (const k of ["obj", "logits", "dx", "xNext"]) {
    const c = compare(q[k], p[k]);
    console.log(`  ${k.padEnd(7)} rel L2 ${fmt(c.rel)}  max |Δ| ${fmt(c.maxAbs)}  max |Δ|/max|plain| ${fmt(c.maxAbsRel)}`);
  }
  const e = perExample(q.dx, p.dx);
  const worst = e.rows.map((r, i) => ({ i, ...r })).sort((u, v) => v.rel - u.rel);
  const probs = [...p.obj.data].map((l) => Math.exp(-l));
  console.log(`  gradient sign flips ${e.flips} of ${q.dx.data.length} (plain zeros ${e.zero})`);
  console.log(
    `  worst examples (rel L2 of ∇ₓ, ‖∇ₓ‖, CE, p(label)): ` +
      worst
        .slice(0, 4)
        .map((r) => `#${r.i} ${fmt(r.rel)} ${fmt(r.norm)} ${p.obj.data[r.i].toPrecision(3)} ${probs[r.i].toPrecision(3)}`)
        .join("; "),
  );
  const f = reluFlips(await preActivations(plainExec, x0), await preActivations(blockExec, x0));
  const flipped = f.perEx.map((c, i) => [i, c]).filter(([, c]) => c > 0);
  console.log(
    `  ReLU units whose on/off differs: ${flipped.map(([i, c]) => `#${i}: ${c}`).join(", ") || "none"}` +
      (flipped.length ? ` (largest |pre-activation| among them ${fmt(f.nearest)})` : ""),
  );
  const others = e.rows.filter((_, i) => !f.perEx[i]).map((r) => r.rel);
  console.log(`  examples without a ReLU flip: max rel L2 of ∇ₓ ${fmt(Math.max(...others))}`);
  const med = [...e.rows].sort((u, v) => u.rel - v.rel)[BATCH >> 1];
  console.log(`  median example rel L2 of ∇ₓ ${fmt(med.rel)}, ‖∇ₓ‖ ${fmt(med.norm)}`);
}
