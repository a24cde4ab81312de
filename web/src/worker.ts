// The explorer's worker: onnxruntime-web, the loaded model pair, and the experiment loop (the page never blocks on ORT).
import type * as OrtWeb from "onnxruntime-web";
import { Model, type Tensor, tensor } from "../../src/index.js";
import { WebExecutor } from "../../src/runtime/web.js";
import { type ExperimentSpec, describe, runExperiment } from "./experiments.js";
import type { FromWorker, ToWorker, WireTensor } from "./protocol.js";

const post = (m: FromWorker, transfer: Transferable[] = []) =>
  (self as unknown as { postMessage(m: unknown, t: Transferable[]): void }).postMessage(m, transfer);

let exec: WebExecutor | undefined;
const models: Model[] = [];
let paused = false,
  stopped = false;
let wake: (() => void) | undefined;

const toTensor = (w: WireTensor): Tensor<"float32"> => tensor("float32", w.shape, w.data) as Tensor<"float32">;
const toWire = (t: Tensor): WireTensor => ({ shape: [...t.shape], data: Float32Array.from(t.data as Float32Array) });

/** Wire tensors in a spec back to Tensors (any field holding { shape, data: Float32Array }). */
function fromWire(spec: Record<string, unknown>): ExperimentSpec {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(spec)) {
    const w = v as WireTensor | undefined;
    out[k] = w && typeof w === "object" && "shape" in w && w.data instanceof Float32Array ? toTensor(w) : v;
  }
  return out as unknown as ExperimentSpec;
}

async function init(backend: Extract<ToWorker, { type: "init" }>["backend"], base: string): Promise<void> {
  // the WebGPU build (JSEP) is twice the size of the plain wasm one: load only what the backend needs
  const ort = (backend.kind === "webgpu" ? await import("onnxruntime-web") : await import("onnxruntime-web/wasm")) as typeof OrtWeb;
  exec = new WebExecutor(ort, { backend, wasmPaths: new URL("ort/", base).href });
  const isolated = (self as unknown as { crossOriginIsolated: boolean }).crossOriginIsolated;
  post({ type: "ready", backend, threads: isolated && backend.kind === "wasm" ? backend.threads : 1, isolated });
}

// a macrotask turn lets pause/stop messages arrive between steps; a MessageChannel is not clamped like nested setTimeout (4 ms)
const channel = new MessageChannel();
const yieldToMessages = () =>
  new Promise<void>((r) => {
    channel.port1.onmessage = () => r();
    channel.port2.postMessage(0);
  });

async function run(id: number, spec: ExperimentSpec): Promise<void> {
  if (!exec) throw new Error("worker: not initialized");
  const pair = models.filter(Boolean);
  if (pair.length === 0) throw new Error("no model loaded");
  paused = false;
  stopped = false;
  const t0 = performance.now();
  const ticks: number[] = [];
  const res = await runExperiment(exec, pair, spec, {
    gate: async () => {
      await yieldToMessages();
      while (paused && !stopped)
        await new Promise<void>((r) => {
          wake = r;
        });
      return stopped ? "stop" : "go";
    },
    onStep: (step, total, views) => {
      ticks.push(performance.now());
      const ms = views.map((v) => ({ x: toWire(v.x), loss: v.loss, probs: v.probs }));
      post(
        { type: "step", id, step, total, models: ms },
        ms.map((m) => m.x.data.buffer),
      );
    },
  });
  const outs = res.models.map((o) => ({
    x: toWire(o.x),
    reference: o.reference && toWire(o.reference),
    map: o.map && toWire(o.map),
    metrics: o.metrics,
  }));
  // per step of the pair (all models), median over the steps after the first (which also pays for warm-up)
  const gaps = ticks
    .slice(1)
    .map((t, i) => t - ticks[i]!)
    .sort((a, b) => a - b);
  // p10: what a step costs when nothing else competes for the cores (shared machines make medians noisy)
  const q = (f: number) => (gaps.length ? gaps[Math.floor(f * (gaps.length - 1))]! : NaN);
  const timing = { stepMs: q(0.5), stepMsP10: q(0.1), firstStepMs: ticks.length ? ticks[0]! - t0 : NaN };
  post({ type: "done", id, steps: res.steps, models: outs, ms: performance.now() - t0, timing });
}

self.onmessage = async (ev: MessageEvent<ToWorker>) => {
  const m = ev.data;
  try {
    switch (m.type) {
      case "init":
        await init(m.backend, m.base);
        break;
      case "load": {
        const model = new Model(new Uint8Array(m.onnx), m.name);
        models[m.slot] = model;
        const d = describe(model);
        post({
          type: "loaded",
          slot: m.slot,
          info: { name: m.name, inputShape: [...model.inputShape], rep: d.rep, units: d.units, classes: d.classes },
        });
        break;
      }
      case "run":
        await run(m.id, fromWire(m.spec));
        break;
      case "pause":
        paused = true;
        break;
      case "resume":
        paused = false;
        wake?.();
        break;
      case "stop":
        stopped = true;
        wake?.();
        break;
    }
  } catch (e) {
    post({ type: "error", id: m.type === "run" ? m.id : undefined, message: String((e as Error)?.message ?? e).split("\n")[0]! });
  }
};
