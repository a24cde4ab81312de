// The explorer page: model pair, targets, settings and live results; all computation happens in the worker (worker.ts).
import {
  type Tensor,
  imagesToFloat,
  labelsToInt64,
  parseNpy,
  resizeBatch,
  serializeNpy,
  sliceBatch,
  syntheticShapes,
  tensor,
} from "../../src/index.js";
import type { Backend, FromWorker, ModelInfo, ToWorker, WireOutcome, WireSpec, WireTensor } from "./protocol.js";
import { EXPERIMENTS, type State, defaultsFor, formatRange, parseState, serializeState } from "./url.js";
import { Pad, amplified, asTensor, drawBars, drawCurve, drawGrid, el } from "./view.js";

interface IndexEntry {
  name: string;
  path: string;
  dataset: string | null;
  classes: string[] | null;
  robust: unknown;
}
interface Slot {
  name: string;
  info?: ModelInfo;
  classes: string[];
  dataset: string | null;
  robust: boolean;
}
interface Panel {
  root: HTMLElement;
  title: HTMLElement;
  now: HTMLCanvasElement;
  ref: HTMLCanvasElement;
  bars: HTMLCanvasElement;
  extra: HTMLElement;
  metrics: HTMLElement;
  last?: WireTensor;
}

const COLORS = ["#d62", "#27c"];
/** Dropped models are parsed in the worker's memory, twice (import + per-batch graphs): keep them to classifier sizes. */
const MAX_DROP_BYTES = 512 * 2 ** 20;
const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const status = (s: "loading" | "ready" | "running" | "done" | "error", msg = "") => {
  document.body.dataset.status = s;
  if (s === "error") document.body.dataset.error = msg;
  $("status").textContent = s === "error" ? `error: ${msg}` : msg || s;
};

let state: State;
let index: IndexEntry[] = [];
const slots: Slot[] = [];
const panels: Panel[] = [];
const data = new Map<string, { x: Tensor<"float32">; labels: number[] }>();
let worker: Worker;
let runId = 0,
  running = false,
  paused = false,
  threadsUsed = 1;
let curves: number[][] = [[], []];
let tFirst = 0;
/** ms from navigation start to the first step shown (page load, ORT start, model load, compilation). */
let pageToFirstStep: number | undefined;
let drawPad: Pad | undefined, brushPad: Pad | undefined;
let lastRun: { spec: WireSpec; targets: Tensor<"float32">; labels?: number[] } | undefined;
const pending = new Map<string, (m: FromWorker) => void>();

function call(msg: ToWorker, until: FromWorker["type"]): Promise<FromWorker> {
  return new Promise((ok, fail) => {
    pending.set(until, ok);
    pending.set("error", (m) => fail(new Error((m as { message: string }).message)));
    worker.postMessage(msg, msg.type === "load" ? [msg.onnx] : []);
  });
}

async function fetchBytes(url: string): Promise<ArrayBuffer> {
  const r = await fetch(url);
  if (!r.ok) throw new Error(`${url}: HTTP ${r.status}`);
  return r.arrayBuffer();
}

/** The shipped test subset of a dataset (data/<name>.x.npy, labels), the Fashion-MNIST one for unknown datasets. */
async function subset(dataset: string | null): Promise<{ x: Tensor<"float32">; labels: number[] }> {
  const name = dataset === "mnist" ? "mnist" : "fashion-mnist";
  let d = data.get(name);
  if (!d) {
    const x = imagesToFloat(parseNpy(new Uint8Array(await fetchBytes(`data/${name}.x.npy`)), `${name}.x.npy`));
    const y = labelsToInt64(parseNpy(new Uint8Array(await fetchBytes(`data/${name}.labels.npy`)), `${name}.labels.npy`));
    d = { x, labels: Array.from(y.data, Number) };
    data.set(name, d);
  }
  return d;
}

function pick(d: { x: Tensor<"float32">; labels: number[] }, idx: number[], what: string): { x: Tensor<"float32">; labels: number[] } {
  const n = d.x.shape[0]!,
    per = d.x.data.length / n;
  const bad = idx.find((i) => i >= n);
  if (bad !== undefined) throw new Error(`${what}: index ${bad} is outside the shipped subset (0-${n - 1})`);
  const out = new Float32Array(idx.length * per);
  idx.forEach((i, k) => out.set(d.x.data.subarray(i * per, (i + 1) * per), k * per));
  return { x: tensor("float32", [idx.length, ...d.x.shape.slice(1)], out) as Tensor<"float32">, labels: idx.map((i) => d.labels[i]!) };
}

async function loadSlot(
  k: number,
  name: string,
  bytes?: ArrayBuffer,
  meta?: { classes?: string[]; dataset?: string; training?: { adv?: unknown } },
): Promise<void> {
  const entry = index.find((e) => e.name === name);
  if (!bytes) {
    if (!entry) throw new Error(`model "${name}" is not in models/index.json (${index.map((e) => e.name).join(", ")})`);
    bytes = await fetchBytes(`${entry.path}model.onnx`);
  }
  const m = (await call({ type: "load", slot: k, name, onnx: bytes }, "loaded")) as Extract<FromWorker, { type: "loaded" }>;
  const classes = meta?.classes ?? entry?.classes ?? Array.from({ length: m.info.classes ?? 0 }, (_, i) => String(i));
  slots[k] = {
    name,
    info: m.info,
    classes,
    dataset: meta?.dataset ?? entry?.dataset ?? null,
    robust: Boolean(meta?.training?.adv ?? entry?.robust),
  };
  panels[k]!.title.textContent = `${name} ${slots[k]!.robust ? "(robust)" : "(standard)"} · R = ${m.info.rep} [${m.info.units}]`;
}

/** Targets per the source selector: the shipped subset, uploaded images, or the drawing pad. */
async function targetImages(): Promise<{ x: Tensor<"float32">; labels?: number[] }> {
  const src = ($("source") as HTMLSelectElement).value;
  const [, , h, w] = slots[0]!.info!.inputShape.map(Number) as number[];
  if (src === "draw") return { x: tensor("float32", [1, 1, h!, w!], drawPad!.image.slice()) as Tensor<"float32"> };
  if (src === "upload") {
    const files = [...(($("upload") as HTMLInputElement).files ?? [])];
    if (!files.length) throw new Error("targets: choose image files to upload first");
    const parts = await Promise.all(
      files.map(async (f) => {
        const bmp = await createImageBitmap(f);
        const c = new OffscreenCanvas(w!, h!),
          ctx = c.getContext("2d")!;
        ctx.drawImage(bmp, 0, 0, w!, h!);
        const px = ctx.getImageData(0, 0, w!, h!).data,
          gray = new Float32Array(w! * h!);
        // ITU-R 601 luma, as resizeBatch converts RGB to gray
        for (let i = 0; i < gray.length; i++) gray[i] = (0.299 * px[i * 4]! + 0.587 * px[i * 4 + 1]! + 0.114 * px[i * 4 + 2]!) / 255;
        return gray;
      }),
    );
    const x = new Float32Array(parts.length * w! * h!);
    parts.forEach((p, i) => x.set(p, i * p.length));
    return { x: tensor("float32", [parts.length, 1, h!, w!], x) as Tensor<"float32"> };
  }
  if (state.experiment === "ood") return { x: syntheticShapes(state.targets.length, 1, h!, w!).x };
  return pick(await subset(slots[0]!.dataset), state.targets, "targets");
}

async function buildSpec(): Promise<{ spec: WireSpec; targets: Tensor<"float32">; labels?: number[] }> {
  const s = state;
  const t = await targetImages();
  const wire = (x: Tensor<"float32">): WireTensor => ({ shape: [...x.shape], data: Float32Array.from(x.data) });
  const base = { steps: s.steps, stepSize: s.stepSize, eps: s.eps };
  const first = sliceBatch(t.x, 0, 1);
  switch (s.experiment) {
    case "invert":
    case "ood": {
      const from = s.from.length ? pick(await subset(slots[0]!.dataset), s.from, "from").x : undefined;
      return {
        targets: t.x,
        labels: t.labels,
        spec: {
          kind: s.experiment,
          ...base,
          targets: wire(t.x),
          labels: t.labels,
          seed: from ? "images" : s.start,
          seedImages: from && wire(from),
          rngSeed: s.seed,
        },
      };
    }
    case "interpolate": {
      if (t.x.shape[0]! < 2) throw new Error("interpolate: give two targets (e.g. targets=0,1)");
      return { targets: t.x, spec: { kind: "interpolate", ...base, a: wire(first), b: wire(sliceBatch(t.x, 1, 2)), frames: s.frames } };
    }
    case "feature": {
      const d = await subset(slots[0]!.dataset);
      return {
        targets: t.x,
        spec: { kind: "feature", ...base, feature: s.feature, seed: s.start, count: s.count, rngSeed: s.seed, data: wire(d.x), topK: 5 },
      };
    }
    case "paint":
      return {
        targets: first,
        spec: {
          kind: "paint",
          ...base,
          image: wire(first),
          feature: s.feature,
          region: brushPad!.region.slice(),
          data: wire((await subset(slots[0]!.dataset)).x),
        },
      };
    case "sketch":
      return { targets: t.x, spec: { kind: "sketch", ...base, drawing: wire(t.x), target: s.cls } };
    case "attack": {
      const labels = t.labels ?? [];
      if (!t.labels) throw new Error("attack: uploaded and drawn images have no labels; use the shipped subset");
      return {
        targets: t.x,
        labels,
        spec: {
          kind: "attack",
          images: wire(t.x),
          labels,
          threat: s.threat,
          eps: s.eps,
          steps: s.steps,
          stepSize: s.stepSize,
          target: s.target >= 0 ? s.target : undefined,
          randomStart: s.randomStart,
          rngSeed: s.seed,
        },
      };
    }
    case "saliency":
      return { targets: t.x, labels: t.labels, spec: { kind: "saliency", images: wire(t.x), labels: t.labels } };
  }
}

function onStep(m: Extract<FromWorker, { type: "step" }>): void {
  m.models.forEach((v, k) => {
    const p = panels[k]!;
    p.last = v.x;
    drawGrid(p.now, asTensor(v.x));
    curves[k]!.push(v.loss);
    if (state.experiment === "attack" && lastRun) {
      drawGrid(
        p.ref,
        amplified(asTensor(v.x), resizeBatch(lastRun.targets, { channels: v.x.shape[1]!, height: v.x.shape[2]!, width: v.x.shape[3]! })),
      );
      if (v.probs) drawBars(p.bars, v.probs.subarray(0, slots[k]!.classes.length), slots[k]!.classes, lastRun.labels?.[0]);
    }
    // sketches: the first drawing's class probabilities, the target marked
    if (state.experiment === "sketch" && v.probs)
      drawBars(p.bars, v.probs.subarray(0, slots[k]!.classes.length), slots[k]!.classes, state.cls);
  });
  drawCurve($("curve"), curves, COLORS);
  // the rate counts from the first step, so program compilation does not dilute it
  if (m.step === 1) {
    tFirst = performance.now();
    pageToFirstStep ??= tFirst;
  }
  const rate = m.step > 1 ? ((m.step - 1) * 1000) / (performance.now() - tFirst) : NaN;
  $("counter").textContent = `step ${m.step} / ${m.total} · ${Number.isFinite(rate) ? rate.toFixed(1) : "…"} steps/s`;
}

const fmt = (v: number | number[]) =>
  Array.isArray(v)
    ? v.length > 12
      ? `[${v.length} values]`
      : v.map((u) => (Number.isInteger(u) ? u : u.toFixed(3))).join(", ")
    : v.toFixed(4);

async function onDone(m: Extract<FromWorker, { type: "done" }>): Promise<void> {
  running = false;
  const d = lastRun && state.experiment === "feature" ? await subset(slots[0]!.dataset) : undefined;
  m.models.forEach((o: WireOutcome, k) => {
    const p = panels[k]!;
    // what is drawn is what downloads: the saliency map, else the result images
    p.last = o.map ?? o.x;
    drawGrid(p.now, asTensor(p.last));
    if (o.reference && state.experiment !== "attack") drawGrid(p.ref, asTensor(o.reference));
    p.metrics.replaceChildren(
      ...Object.entries(o.metrics)
        .filter(([n]) => n !== "perExample")
        .map(([n, v]) => el("div", {}, `${n}: ${fmt(v)}`)),
    );
    p.extra.replaceChildren();
    if (d && Array.isArray(o.metrics.top)) {
      for (const which of ["top", "bottom"] as const) {
        const c = el("canvas", { className: "strip" });
        drawGrid(c, pick(d, o.metrics[which] as number[], which).x);
        p.extra.append(el("div", {}, `${which} activating (shipped subset)`), c);
      }
    }
  });
  const result = {
    experiment: state.experiment,
    steps: m.steps,
    ms: m.ms,
    backend: state.backend,
    threads: threadsUsed,
    seed: state.seed,
    timing: { ...m.timing, pageToFirstStepMs: pageToFirstStep ?? NaN },
    models: m.models.map((o, k) => ({ name: slots[k]!.name, metrics: o.metrics })),
  };
  (window as unknown as { robustlensResult: unknown }).robustlensResult = result;
  $("counter").textContent += ` · done in ${(m.ms / 1000).toFixed(1)} s`;
  status("done", `${state.experiment}: done (${m.steps} steps)`);
  syncButtons();
}

async function run(): Promise<void> {
  if (running) return;
  readForm();
  history.replaceState(null, "", `?${serializeState({ ...state, autorun: false })}`);
  delete document.body.dataset.error;
  (window as unknown as { robustlensResult?: unknown }).robustlensResult = undefined;
  lastRun = await buildSpec();
  curves = [[], []];
  panels.forEach((p) => {
    p.extra.replaceChildren();
    p.metrics.replaceChildren();
    p.bars.height = 0;
    // feature visualization starts from noise: no target to show
    p.ref.hidden = state.experiment === "feature";
    drawGrid(p.ref, lastRun!.targets);
  });
  running = true;
  paused = false;
  syncButtons();
  status("running", `${state.experiment}: running`);
  worker.postMessage({ type: "run", id: ++runId, spec: lastRun.spec } satisfies ToWorker);
}

function syncButtons(): void {
  ($("run") as HTMLButtonElement).disabled = running;
  ($("pause") as HTMLButtonElement).disabled = !running;
  ($("pause") as HTMLButtonElement).textContent = paused ? "resume" : "pause";
  ($("stop") as HTMLButtonElement).disabled = !running;
  document.querySelectorAll<HTMLElement>(".only").forEach((e) => {
    e.hidden = !e.dataset.for!.split(" ").includes(state.experiment);
  });
  const src = ($("source") as HTMLSelectElement).value;
  $("drawHolder").hidden = src !== "draw";
  $("uploadLabel").hidden = src !== "upload";
}

const FIELDS = ["steps", "stepSize", "eps", "seed", "frames", "feature", "count", "target"] as const;

function readForm(): void {
  const q = new URLSearchParams();
  q.set("experiment", ($("experiment") as HTMLSelectElement).value);
  q.set("models", [($("modelA") as HTMLSelectElement).value, ($("modelB") as HTMLSelectElement).value].join(","));
  for (const k of [...FIELDS, "targets", "from", "start", "threat", "backend", "threads"]) q.set(k, ($(k) as HTMLInputElement).value);
  if (($("randomStart") as HTMLInputElement).checked) q.set("randomStart", "1");
  q.set("class", ($("cls") as HTMLSelectElement).value || "0");
  q.set("region", state.region.join(","));
  state = parseState(q.toString());
}

function writeForm(): void {
  ($("experiment") as HTMLSelectElement).value = state.experiment;
  for (const k of FIELDS) ($(k) as HTMLInputElement).value = String(state[k] ?? "auto");
  ($("targets") as HTMLInputElement).value = formatRange(state.targets);
  ($("from") as HTMLInputElement).value = formatRange(state.from);
  for (const k of ["start", "threat", "backend"] as const) ($(k) as HTMLSelectElement).value = state[k];
  ($("threads") as HTMLInputElement).value = String(state.threads);
  ($("randomStart") as HTMLInputElement).checked = state.randomStart;
  ($("cls") as HTMLSelectElement).value = String(state.cls);
  // the ε slider spans what makes sense for the experiment: attack radii, or the vis searches' "box only" 1000
  const eps = $("eps") as HTMLInputElement,
    max = state.experiment !== "attack" ? 1000 : state.threat === "l2" ? 5 : 0.5;
  Object.assign(eps, { max: String(max), step: String(max / 500), min: String(max / 500) });
  eps.value = String(state.eps);
  $("epsValue").textContent = String(state.eps);
}

function download(name: string, blob: Blob): void {
  const a = el("a", { href: URL.createObjectURL(blob), download: name });
  a.click();
  setTimeout(() => URL.revokeObjectURL(a.href), 1000);
}

function makePanel(k: number): Panel {
  const p: Panel = {
    root: el("section", { className: "panel" }),
    title: el("h2"),
    now: el("canvas", { className: "grid" }),
    ref: el("canvas", { className: "grid small" }),
    bars: el("canvas", { width: 260, height: 0 }),
    extra: el("div"),
    metrics: el("div", { className: "metrics" }),
  };
  p.title.style.color = COLORS[k]!;
  const png = el("button", { textContent: "PNG" }),
    npy = el("button", { textContent: ".npy" });
  png.onclick = () => p.now.toBlob((b) => b && download(`${state.experiment}-${slots[k]?.name}.png`, b), "image/png");
  npy.onclick = () =>
    p.last && download(`${state.experiment}-${slots[k]?.name}.npy`, new Blob([serializeNpy(asTensor(p.last)) as BlobPart]));
  p.root.append(
    p.title,
    p.now,
    el("div", { className: "row" }, el("span", { className: "label" }, "target / perturbation ×"), png, npy),
    p.ref,
    p.bars,
    p.extra,
    p.metrics,
  );
  return p;
}

async function main(): Promise<void> {
  status("loading", "loading");
  state = parseState(location.search);
  ($("experiment") as HTMLSelectElement).replaceChildren(...EXPERIMENTS.map((e) => el("option", { value: e, textContent: e })));
  index = ((await (await fetch("models/index.json")).json()) as { models: IndexEntry[] }).models;
  for (const id of ["modelA", "modelB"])
    ($(id) as HTMLSelectElement).replaceChildren(...index.map((e) => el("option", { value: e.name, textContent: e.name })));
  writeForm();
  panels.push(makePanel(0), makePanel(1));
  $("panels").append(...panels.map((p) => p.root));
  worker = new Worker(new URL("./worker.js", import.meta.url), { type: "module" });
  worker.onmessage = (ev: MessageEvent<FromWorker>) => {
    const m = ev.data;
    if (m.type === "step" && m.id === runId) return onStep(m);
    if (m.type === "done" && m.id === runId) return void onDone(m);
    if (m.type === "error" && m.id !== undefined) {
      running = false;
      syncButtons();
      return status("error", m.message);
    }
    pending.get(m.type)?.(m);
  };
  worker.onerror = (e) => status("error", `worker: ${e.message}`);
  const backend: Backend = state.backend === "webgpu" ? { kind: "webgpu" } : { kind: "wasm", threads: state.threads };
  const ready = (await call({ type: "init", backend, base: new URL(".", location.href).href }, "ready")) as Extract<
    FromWorker,
    { type: "ready" }
  >;
  threadsUsed = ready.threads;
  $("backendInfo").textContent =
    `${ready.backend.kind}${ready.backend.kind === "wasm" ? `, ${ready.threads} thread(s)` : ""}${ready.isolated ? ", cross-origin isolated" : ", not isolated (1 thread)"}`;
  ($("modelA") as HTMLSelectElement).value = state.models[0]!;
  ($("modelB") as HTMLSelectElement).value = state.models[1] ?? state.models[0]!;
  for (const [k, name] of state.models.entries()) await loadSlot(k, name);
  if (state.models.length === 1) panels[1]!.root.hidden = true;
  ($("cls") as HTMLSelectElement).replaceChildren(
    ...slots[0]!.classes.map((c, i) => el("option", { value: String(i), textContent: `${i}: ${c}` })),
  );
  ($("cls") as HTMLSelectElement).value = String(state.cls);
  if (state.experiment === "sketch") ($("source") as HTMLSelectElement).value = "draw";
  const [, , h, w] = slots[0]!.info!.inputShape.map(Number) as number[];
  drawPad = new Pad(h!, w!, "draw");
  brushPad = new Pad(h!, w!, "brush");
  brushPad.setRect(...state.region);
  $("drawHolder").append(drawPad.canvas);
  $("brushHolder").append(brushPad.canvas);
  const refreshBrush = async () => {
    const d = await subset(slots[0]!.dataset);
    brushPad!.image = pick(d, [state.targets[0] ?? 0], "targets").x.data.slice();
    brushPad!.render();
  };
  await refreshBrush();
  wire(refreshBrush);
  syncButtons();
  status("ready", "ready");
  if (state.autorun) await run();
}

function wire(refreshBrush: () => Promise<void>): void {
  $("run").onclick = () =>
    run().catch((e) => {
      running = false;
      syncButtons();
      status("error", String(e.message ?? e));
    });
  $("pause").onclick = () => {
    paused = !paused;
    worker.postMessage({ type: paused ? "pause" : "resume" } satisfies ToWorker);
    syncButtons();
  };
  $("stop").onclick = () => {
    paused = false;
    worker.postMessage({ type: "stop" } satisfies ToWorker);
  };
  $("clearDraw").onclick = () => drawPad!.clear();
  $("clearBrush").onclick = () => brushPad!.clear();
  $("source").onchange = syncButtons;
  $("experiment").onchange = () => {
    const kind = ($("experiment") as HTMLSelectElement).value as State["experiment"];
    state = { ...state, experiment: kind, ...defaultsFor(kind, state.threat) };
    // a sketch starts from a drawing
    if (kind === "sketch") ($("source") as HTMLSelectElement).value = "draw";
    writeForm();
    syncButtons();
  };
  $("threat").onchange = () => {
    state = { ...state, threat: ($("threat") as HTMLSelectElement).value as State["threat"] };
    Object.assign(state, defaultsFor("attack", state.threat));
    writeForm();
  };
  $("eps").oninput = () => {
    if (state.experiment === "attack")
      ($("stepSize") as HTMLInputElement).value = String(
        (2.5 * Number(($("eps") as HTMLInputElement).value)) / Number(($("steps") as HTMLInputElement).value),
      );
    $("epsValue").textContent = ($("eps") as HTMLInputElement).value;
  };
  $("targets").onchange = () => {
    readForm();
    void refreshBrush();
  };
  $("copyLink").onclick = () => {
    readForm();
    const u = `${location.origin}${location.pathname}?${serializeState(state)}`;
    history.replaceState(null, "", u);
    void navigator.clipboard?.writeText(u);
  };
  for (const [k, id] of ["modelA", "modelB"].entries())
    $(id).onchange = () => loadSlot(k, ($(id) as HTMLSelectElement).value).catch((e) => status("error", e.message));
  for (const k of [0, 1]) {
    $(`drop${k}`).onchange = async (ev) => {
      const files = [...((ev.target as HTMLInputElement).files ?? [])];
      const onnx = files.find((f) => f.name.endsWith(".onnx")),
        json = files.find((f) => f.name.endsWith(".json"));
      if (!onnx) return status("error", "dropped files: choose a .onnx classifier (and optionally its model.json)");
      if (onnx.size > MAX_DROP_BYTES)
        return status(
          "error",
          `${onnx.name}: ${(onnx.size / 2 ** 20).toFixed(0)} MiB is over the ${MAX_DROP_BYTES / 2 ** 20} MiB the explorer loads`,
        );
      const meta = json ? JSON.parse(await json.text()) : undefined;
      await loadSlot(k, onnx.name, await onnx.arrayBuffer(), meta).then(
        () => status("ready", `loaded ${onnx.name}`),
        (e) => status("error", e.message),
      );
    };
  }
}

main().catch((e) => status("error", String((e as Error).message ?? e)));
