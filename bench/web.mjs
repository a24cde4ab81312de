// `npm run bench:web`: the explorer's step times in Chromium (onnxruntime-web wasm, 2 threads) next to onnxruntime-node in
// the same run, for the Fashion-MNIST CNN (PGD step and inversion step, batch 1 and 10), page load to first step, bundle size.
// Options: --rounds R (default 3; the best median and best 10th percentile per side are kept) --steps K (default 60) --threads T
import { readFileSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { gzipSync } from "node:zlib";
import { chromium } from "playwright-core";
import { Model, sliceBatch } from "robustlens";
import { loadNpy, nodeExecutor } from "robustlens/node";
import { startExplore } from "../dist/src/cli/explore.js";
import { runExperiment } from "../dist/web/src/experiments.js";
import { CHROMIUM_PATH, chromiumArgs } from "../dist/src/testing/chromium.js";

const { values: opt } = parseArgs({
  options: {
    rounds: { type: "string", default: "3" },
    steps: { type: "string", default: "60" },
    threads: { type: "string", default: "2" },
  },
});
const rounds = Number(opt.rounds),
  steps = Number(opt.steps),
  threads = Number(opt.threads);
const MODEL = "fashion-mnist-l2";

const x = await loadNpy("test/fixtures/fmnist_small/x.npy");
const labels = Array.from((await loadNpy("test/fixtures/fmnist_small/labels.npy")).data, Number);
const model = new Model(new Uint8Array(readFileSync(`models/${MODEL}/model.onnx`)), MODEL);

const WORKLOADS = [1, 10].flatMap((n) => [
  {
    name: `inversion step, batch ${n}`,
    query: `experiment=invert&targets=0-${n - 1}`,
    spec: { kind: "invert", targets: sliceBatch(x, 0, n), seed: "noise", rngSeed: 0, steps, stepSize: 1, eps: 1000 },
  },
  {
    name: `PGD step (L2), batch ${n}`,
    query: `experiment=attack&threat=l2&eps=1&targets=0-${n - 1}`,
    spec: {
      kind: "attack",
      images: sliceBatch(x, 0, n),
      labels: labels.slice(0, n),
      threat: "l2",
      eps: 1,
      stepSize: 2.5 / steps,
      steps,
      randomStart: false,
      rngSeed: 0,
    },
  },
]);

const quantile = (a, f) => {
  const s = [...a].sort((p, q) => p - q);
  return s[Math.floor(f * (s.length - 1))];
};

/** Median and 10th-percentile ms per step on onnxruntime-node: the same runner the page uses, steps after the first. */
async function nodeStep(spec) {
  const ticks = [];
  await runExperiment(nodeExecutor, [model], spec, {
    onStep: () => {
      ticks.push(performance.now());
    },
  });
  const gaps = ticks.slice(1).map((t, i) => t - ticks[i]);
  return { median: quantile(gaps, 0.5), p10: quantile(gaps, 0.1) };
}

const server = await startExplore({ port: 0 });
const browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: chromiumArgs() });

/** The page's own timing (worker-side median ms per step) from a fresh page load with autorun. */
async function webStep(query) {
  const page = await browser.newPage();
  await page.goto(`${server.url}?${query}&models=${MODEL}&steps=${steps}&threads=${threads}&autorun=1`);
  await page.waitForFunction(() => ["done", "error"].includes(document.body.dataset.status ?? ""), null, { timeout: 600_000 });
  const r = await page.evaluate(() => ({ error: document.body.dataset.error, result: window.robustlensResult }));
  await page.close();
  if (r.error) throw new Error(`bench web: ${query}: ${r.error}`);
  return r.result;
}

const rows = [];
try {
  for (const w of WORKLOADS) {
    let web = Infinity,
      webP10 = Infinity,
      node = Infinity,
      nodeP10 = Infinity,
      load = Infinity,
      used;
    for (let r = 0; r < rounds; r++) {
      const res = await webStep(w.query);
      web = Math.min(web, res.timing.stepMs);
      webP10 = Math.min(webP10, res.timing.stepMsP10);
      load = Math.min(load, res.timing.pageToFirstStepMs);
      used = res.threads;
      const n = await nodeStep(w.spec);
      node = Math.min(node, n.median);
      nodeP10 = Math.min(nodeP10, n.p10);
    }
    const row = {
      workload: w.name,
      webMs: web,
      webP10Ms: webP10,
      webStepsPerS: 1000 / web,
      nodeMs: node,
      nodeP10Ms: nodeP10,
      ratio: web / node,
      ratioP10: webP10 / nodeP10,
      pageToFirstStepMs: load,
      threads: used,
    };
    rows.push(row);
    const f = (v) => v.toFixed(2).padStart(7);
    console.log(
      `${w.name.padEnd(26)} web ${f(web)} ms (p10 ${f(webP10)}; ${(1000 / web).toFixed(1)} steps/s, ${used} threads)  node ${f(node)} ms (p10 ${f(nodeP10)})  web/node ${(web / node).toFixed(2)} (p10 ${(webP10 / nodeP10).toFixed(2)})  page load → first step ${(load / 1000).toFixed(2)} s`,
    );
  }
} finally {
  await browser.close();
  await server.close();
}

const files = (d) => readdirSync(d).flatMap((f) => (statSync(join(d, f)).isDirectory() ? files(join(d, f)) : [join(d, f)]));
const size = (list) => ({
  bytes: list.reduce((s, f) => s + statSync(f).size, 0),
  gzip: list.reduce((s, f) => s + gzipSync(readFileSync(f)).length, 0),
});
const js = size(files("web/dist/assets").filter((f) => f.endsWith(".js")));
const wasm = size(["web/dist/ort/ort-wasm-simd-threaded.wasm", "web/dist/ort/ort-wasm-simd-threaded.mjs"]);
const jsep = size(["web/dist/ort/ort-wasm-simd-threaded.jsep.wasm", "web/dist/ort/ort-wasm-simd-threaded.jsep.mjs"]);
const bundle = { js, wasmRuntime: wasm, webgpuRuntime: jsep };
const mb = (b) => `${(b / 1e6).toFixed(2)} MB`;
console.log(
  `bundle: JS ${mb(js.bytes)} (gzip ${mb(js.gzip)}); wasm runtime ${mb(wasm.bytes)} (gzip ${mb(wasm.gzip)}); WebGPU (JSEP) runtime ${mb(jsep.bytes)} (gzip ${mb(jsep.gzip)}), loaded only for backend=webgpu`,
);
writeFileSync(
  "bench/web-results.json",
  `${JSON.stringify({ date: new Date().toISOString(), steps, rounds, threads, rows, bundle }, null, 1)}\n`,
);
