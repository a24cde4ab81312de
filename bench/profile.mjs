// Where the time of a workload goes: ORT kernel time by op type (ORT's own profiler), ORT's framework time, and the
// JS time around session.run (robustlens' Program wrapper, the pgd() loop). Writes bench/profile-<workload>-<model>.json.
// Usage: node bench/profile.mjs [--workload pgd-step] [--model r18] [--threads T] [--reps 5] [--op Slice (its top nodes)]
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import * as ort from "onnxruntime-node";
import onnxProto from "onnx-proto";
import { importOnnx } from "robustlens";
import { nodeExecutor } from "robustlens/node";
import { DnnlSession } from "../dist/src/runtime/node/dnnl.js";
import { prepareAssets } from "./assets.mjs";
import { makeWorkload } from "./workloads.mjs";

const { values: a } = parseArgs({
  options: {
    workload: { type: "string", default: "pgd-step" },
    model: { type: "string", default: "r18" },
    threads: { type: "string" },
    reps: { type: "string", default: "5" },
    op: { type: "string" },
    assets: { type: "string" },
  },
});
const threads = Number(a.threads ?? availableParallelism()),
  reps = Number(a.reps);
const dir = mkdtempSync(join(tmpdir(), "rl-profile-"));
const assets = a.assets ?? dir;
if (!a.assets) await prepareAssets(dir);

// every session the library creates gets ORT's profiler (or none, for the timing pass); runs are timed at the binding
let profiling = false;
const sessions = [];
const create = ort.InferenceSession.create.bind(ort.InferenceSession);
const createDnnl = DnnlSession.create.bind(DnnlSession);
const timed = (s) => {
  const run = s.run.bind(s);
  s.run = async (...args) => {
    const t0 = performance.now();
    try {
      return await run(...args);
    } finally {
      ortMs += performance.now() - t0;
    }
  };
  sessions.push(s);
  return s;
};
ort.InferenceSession.create = async (bytes, o) => {
  if (profiling) roles.push(convRoles(bytes));
  return timed(await create(bytes, profiling ? { ...o, enableProfiling: true, profileFilePrefix: join(dir, `p${sessions.length}`) } : o));
};
// the oneDNN backend's sessions (ROBUSTLENS_DNNL) are ORT sessions too, made by the addon
DnnlSession.create = (bytes, o) => {
  if (profiling) roles.push(convRoles(bytes));
  return timed(createDnnl(bytes, profiling ? { ...o, profilePrefix: join(dir, `p${sessions.length}`) } : o));
};
let ortMs = 0;
const roles = [];

/**
 * Conv nodes by role: forward (a node of the model itself, also when ORT fused it into a Conv named after its BN), weight
 * gradient (a Conv over the batch axis, or the MatMuls of an im2col formulation), else input gradient.
 */
function convRoles(bytes) {
  const forwardNames = new Set(importOnnx(readFileSync(join(assets, `${a.model}.onnx`))).nodes.map((n) => n.name));
  // read as a proto: the compiled model may hold com.microsoft.nchwc nodes, which importOnnx refuses
  const nodes = onnxProto.onnx.ModelProto.decode(bytes).graph.node;
  const producer = new Map(nodes.flatMap((n) => n.output.map((o) => [o, n])));
  const role = new Map();
  for (const n of nodes) {
    if (forwardNames.has(n.name)) role.set(n.name, "forward");
    else if (n.opType === "ConvGradWeight") role.set(n.name, "weight gradient");
    else if (n.opType === "Conv" && producer.get(n.input[0])?.opType === "Transpose") role.set(n.name, "weight gradient");
    else role.set(n.name, "input gradient");
  }
  return role;
}
// the profile too: grad() picks its formulations by it (oneDNN weight gradients)
const exec = { profile: nodeExecutor.profile, compile: (g, o = {}) => nodeExecutor.compile(g, { ...o, intraOpThreads: threads }) };
const noSave = async () => {};

/** Wall time per run and the part spent inside session.run (the rest is JS: feeds, checks, outputs, loop). */
async function timing() {
  const w = await makeWorkload(a.workload, a.model, { exec, assets, save: noSave });
  await w.run();
  await w.run();
  const wall = [],
    inOrt = [];
  for (let i = 0; i < reps; i++) {
    ortMs = 0;
    const t0 = performance.now();
    await w.run();
    wall.push(performance.now() - t0);
    inOrt.push(ortMs);
  }
  await w.dispose();
  const med = (v) => [...v].sort((p, q) => p - q)[v.length >> 1];
  return { wall_ms: med(wall), session_run_ms: med(inOrt), js_ms: med(wall.map((t, i) => t - inOrt[i])) };
}

/** ORT profile of `reps` runs: kernel time by op type, and model_run time (kernels + ORT's own scheduling/allocation). */
async function kernels() {
  profiling = true;
  const first = sessions.length;
  const w = await makeWorkload(a.workload, a.model, { exec, assets, save: noSave });
  await w.run();
  for (let i = 0; i < reps; i++) await w.run();
  for (const s of sessions.slice(first)) s.endProfiling();
  await w.dispose();
  profiling = false;
  const byOp = {},
    byNode = {},
    byRole = {};
  const roleOf = (name) => {
    // ORT renames fused/relayouted nodes: "<name>_nchwc", fused Conv+BN/Relu keep the Conv's or the BN's name
    for (const r of roles) {
      const v = r.get(name) ?? r.get(name.replace(/_nchwc$/, ""));
      if (v) return v;
    }
    return "unknown";
  };
  let modelRun = 0,
    runs = 0;
  for (const f of readdirSync(dir).filter((n) => n.startsWith("p") && n.endsWith(".json"))) {
    for (const e of JSON.parse(readFileSync(join(dir, f), "utf8"))) {
      if (e.cat === "Session" && e.name === "model_run") {
        modelRun += e.dur;
        runs++;
      }
      if (e.cat === "Node" && e.name.endsWith("_kernel_time")) {
        const op = e.args.op_name;
        byOp[op] = (byOp[op] ?? 0) + e.dur;
        const key = `${op} ${e.name.replace(/_kernel_time$/, "")}`;
        byNode[key] = (byNode[key] ?? 0) + e.dur;
        if (op === "Conv" || op === "ConvTranspose" || op === "FusedConv") {
          const r = roleOf(e.name.replace(/_kernel_time$/, ""));
          byRole[r] = (byRole[r] ?? 0) + e.dur;
        }
      }
    }
  }
  // per workload run (the warm-up run is in the files too)
  const per = (us) => +(us / 1000 / (reps + 1)).toFixed(2);
  const total = Object.values(byOp).reduce((s, v) => s + v, 0);
  const ops = Object.entries(byOp)
    .sort((p, q) => q[1] - p[1])
    .map(([op, us]) => ({ op, ms: per(us), share: +(us / total).toFixed(3) }));
  const nodes = Object.entries(byNode)
    .sort((p, q) => q[1] - p[1])
    .slice(0, 25)
    .map(([node, us]) => ({ node, ms: per(us) }));
  const ofOp = a.op
    ? Object.entries(byNode)
        .filter(([node]) => node.startsWith(`${a.op} `))
        .sort((p, q) => q[1] - p[1])
        .slice(0, 20)
        .map(([node, us]) => ({ node, ms: per(us) }))
    : undefined;
  const conv = Object.fromEntries(Object.entries(byRole).map(([r, us]) => [r, per(us)]));
  return {
    kernel_ms: per(total),
    model_run_ms: per(modelRun),
    session_runs: runs / (reps + 1),
    conv_by_role_ms: conv,
    ops,
    top_nodes: nodes,
    ...(ofOp ? { top_nodes_of_op: ofOp } : {}),
  };
}

const t = await timing();
const k = await kernels();
const out = {
  workload: a.workload,
  model: a.model,
  threads,
  reps,
  ...t,
  js_share: +(t.js_ms / t.wall_ms).toFixed(4),
  ort_framework_ms: +(k.model_run_ms - k.kernel_ms).toFixed(2),
  ...k,
};
rmSync(dir, { recursive: true, force: true });
const path = `bench/profile-${a.workload}-${a.model}.json`;
writeFileSync(path, JSON.stringify(out, null, 2) + "\n");
console.log(
  `${a.workload} · ${a.model}, ${threads} threads: ${t.wall_ms.toFixed(1)} ms per run, ${t.session_run_ms.toFixed(1)} ms in session.run, JS ${t.js_ms.toFixed(2)} ms (${(100 * out.js_share).toFixed(2)}%)`,
);
console.log(`ORT kernels ${k.kernel_ms} ms, ORT framework ${out.ort_framework_ms} ms per run (profiled)`);
console.log(`conv time by role (ms per run): ${JSON.stringify(k.conv_by_role_ms)}`);
for (const o of k.ops.slice(0, 15)) console.log(`  ${o.op.padEnd(22)} ${String(o.ms).padStart(9)} ms  ${(100 * o.share).toFixed(1)}%`);
if (k.top_nodes_of_op) for (const n of k.top_nodes_of_op) console.log(`    ${n.node.padEnd(48)} ${String(n.ms).padStart(9)} ms`);
console.log(`wrote ${path}`);
