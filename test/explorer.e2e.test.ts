// The explorer in Debian's Chromium (playwright-core): page load, URL autorun, inversion against the Node library,
// attacks, sketches and painting drawn with the mouse, dropped models, and WebGPU against wasm.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { after, before, test } from "node:test";
import { Model, type Tensor, invert, sliceBatch } from "robustlens";
import { loadNpy, nodeExecutor } from "robustlens/node";
import type { Browser, Page } from "playwright-core";
import { type Served, launch, serveExplorer } from "./explorer-helpers.js";

interface Result {
  experiment: string;
  steps: number;
  models: { name: string; metrics: Record<string, number | number[]> }[];
}

let s: Served;
let browser: Browser;
before(async () => {
  s = await serveExplorer();
  browser = await launch();
});
after(async () => {
  await browser?.close();
  await s?.stop();
});

/** Opens the page with a query, collecting console errors and uncaught exceptions. */
async function open(query: string): Promise<{ page: Page; errors: string[] }> {
  const page = await browser.newPage();
  const errors: string[] = [];
  page.on("console", (m) => {
    if (m.type() === "error") errors.push(m.text());
  });
  page.on("pageerror", (e) => errors.push(e.message));
  await page.goto(`${s.url}?${query}`);
  return { page, errors };
}

/** Waits for the autorun (or a clicked run) to end and returns status, error and result. */
async function finished(page: Page, timeout = 240_000): Promise<{ status: string; error?: string; result?: Result }> {
  await page.waitForFunction(() => ["done", "error"].includes(document.body.dataset.status ?? ""), null, { timeout });
  return page.evaluate(() => ({
    status: document.body.dataset.status!,
    error: document.body.dataset.error,
    result: (window as unknown as { robustlensResult?: Result }).robustlensResult,
  }));
}

const metric = (r: Result, k: number, name: string) => r.models[k]!.metrics[name] as number;

test("the explorer loads cross-origin isolated with 2 wasm threads, lists the zoo, and logs no console errors", async () => {
  const { page, errors } = await open("");
  await page.waitForFunction(() => document.body.dataset.status === "ready", null, { timeout: 120_000 });
  assert.equal(await page.evaluate(() => crossOriginIsolated), true);
  assert.match(await page.locator("#backendInfo").innerText(), /^wasm, 2 thread\(s\), cross-origin isolated$/);
  assert.deepEqual(await page.locator("#modelA option").allInnerTexts(), [
    "fashion-mnist-l2",
    "fashion-mnist-l2-fast",
    "fashion-mnist-standard",
    "mnist-l2",
    "mnist-standard",
  ]);
  assert.deepEqual(errors, []);
  await page.close();
});

// Same graph, other backend: ORT-web's wasm kernels round differently from ORT-node's, and 40 steps amplify that a little.
const TOLERANCE = 0.05;

test(`autorun inversion reproduces the Node library's relative rep distance within ${TOLERANCE * 100}% (same seed and steps), robust better than standard`, async (t) => {
  const steps = 40;
  const { page, errors } = await open(
    `experiment=invert&models=fashion-mnist-standard,fashion-mnist-l2&targets=0-4&steps=${steps}&seed=3&autorun=1`,
  );
  const { status, error, result } = await finished(page);
  assert.equal(status, "done", error);
  assert.equal(result!.steps, steps);
  const targets = sliceBatch((await loadNpy("test/fixtures/fmnist_small/x.npy")) as Tensor<"float32">, 0, 5);
  for (const [k, name] of ["fashion-mnist-standard", "fashion-mnist-l2"].entries()) {
    assert.equal(result!.models[k]!.name, name);
    const model = new Model(new Uint8Array(readFileSync(`models/${name}/model.onnx`)), name);
    const lib = await invert(nodeExecutor, model, targets, { seed: "noise", rngSeed: 3, steps });
    const want = lib.distance.reduce((a, b) => a + b, 0) / 5,
      got = metric(result!, k, "relDistance");
    t.diagnostic(`${name}: relDistance browser ${got.toFixed(5)}, node ${want.toFixed(5)}`);
    assert.ok(Math.abs(got - want) <= TOLERANCE * want, `${name}: browser ${got} vs node ${want}`);
    for (const m of ["ssim", "labelAgreement"]) assert.ok(Number.isFinite(metric(result!, k, m)), `${name} ${m}`);
  }
  // the paper's observation: the robust model's inversions look like the targets, the standard model's do not
  assert.ok(metric(result!, 1, "ssim") > metric(result!, 0, "ssim") + 0.05, JSON.stringify(result!.models.map((m) => m.metrics.ssim)));
  assert.deepEqual(errors, []);
  await page.close();
});

test("an L2 attack run lowers accuracy, far more for the standard model than for the robust one", async () => {
  const { page } = await open(
    "experiment=attack&models=fashion-mnist-standard,fashion-mnist-l2&targets=0-19&threat=l2&eps=1.5&steps=10&autorun=1",
  );
  const { status, error, result } = await finished(page);
  assert.equal(status, "done", error);
  const [std, rob] = [0, 1].map((k) => ({ clean: metric(result!, k, "cleanAccuracy"), adv: metric(result!, k, "advAccuracy") }));
  assert.ok(std!.adv < std!.clean - 0.3, JSON.stringify(std));
  assert.ok(rob!.adv > std!.adv, `robust ${rob!.adv} vs standard ${std!.adv}`);
  // per-step class probabilities were drawn
  assert.ok(
    (await page
      .locator(".panel canvas")
      .nth(2)
      .evaluate((c) => (c as HTMLCanvasElement).height)) > 0,
  );
  await page.close();
});

/** Drags the mouse along points given as fractions of a canvas's box. */
async function drag(page: Page, selector: string, points: [number, number][]): Promise<void> {
  const box = (await page.locator(selector).boundingBox())!;
  const at = ([fx, fy]: [number, number]) => [box.x + box.width * fx, box.y + box.height * fy] as const;
  await page.mouse.move(...at(points[0]!));
  await page.mouse.down();
  for (const p of points.slice(1)) await page.mouse.move(...at(p), { steps: 4 });
  await page.mouse.up();
}

/** Per panel: lit pixels of the reference canvas (the start) and pixels where the result canvas differs from it. */
const canvasChange = (page: Page) =>
  page.evaluate(() =>
    [...document.querySelectorAll(".panel")].map((panel) => {
      const [now, ref] = [...panel.querySelectorAll("canvas")].slice(0, 2) as HTMLCanvasElement[];
      const px = (c: HTMLCanvasElement) => c.getContext("2d")!.getImageData(0, 0, c.width, c.height).data;
      const a = px(now!),
        b = px(ref!);
      let lit = 0,
        changed = 0;
      for (let i = 0; i < b.length; i += 4) {
        if (b[i]! > 128) lit++;
        if (Math.abs(a[i]! - b[i]!) > 8) changed++;
      }
      return { lit, changed, same: now!.width === ref!.width && now!.height === ref!.height };
    }),
  );

test("sketch: a stroke drawn with the mouse is turned into class 8 step by step by both models, side by side", async () => {
  const { page, errors } = await open("experiment=sketch&models=mnist-standard,mnist-l2&class=8");
  await page.waitForFunction(() => document.body.dataset.status === "ready", null, { timeout: 120_000 });
  assert.equal(await page.locator("#source").inputValue(), "draw");
  assert.equal(await page.locator("#cls").inputValue(), "8");
  // a vertical bar (a "1"), to become an 8
  await drag(page, "#drawHolder canvas", [
    [0.5, 0.2],
    [0.5, 0.5],
    [0.5, 0.8],
  ]);
  await page.locator("#run").click();
  const { status, error, result } = await finished(page);
  assert.equal(status, "done", error);
  assert.equal(result!.steps, 60);
  for (const [k, name] of ["mnist-standard", "mnist-l2"].entries()) {
    const m = result!.models[k]!.metrics as Record<string, number>;
    assert.equal(result!.models[k]!.name, name);
    assert.ok(m.targetProbAfter! > m.targetProbBefore! + 0.3, `${name}: p(8) ${m.targetProbBefore} → ${m.targetProbAfter}`);
    assert.ok(Number.isFinite(m.judgeTargetProb!), `${name}: judge`);
  }
  // the class bars were drawn per step, and each result canvas differs from the drawing it started from
  assert.ok(
    (await page
      .locator(".panel canvas")
      .nth(2)
      .evaluate((c) => (c as HTMLCanvasElement).height)) > 0,
  );
  for (const c of await canvasChange(page)) {
    assert.ok(c.same && c.lit >= 10, `drawing shown: ${JSON.stringify(c)}`);
    assert.ok(c.changed >= 20, `result differs from the drawing: ${JSON.stringify(c)}`);
  }
  assert.deepEqual(errors, []);
  await page.close();
});

test("painting with features: a region brushed with the mouse gets the feature, both models side by side, nothing outside changes", async () => {
  const { page, errors } = await open("experiment=paint&models=mnist-standard,mnist-l2&targets=0");
  await page.waitForFunction(() => document.body.dataset.status === "ready", null, { timeout: 120_000 });
  await page.locator("#clearBrush").click();
  // a stroke across the middle of the image
  await drag(
    page,
    "#brushHolder canvas",
    Array.from({ length: 11 }, (_, i) => [0.25 + 0.05 * i, 0.5] as [number, number]),
  );
  await page.locator("#run").click();
  const { status, error, result } = await finished(page);
  assert.equal(status, "done", error);
  assert.equal(result!.steps, 140);
  for (const [k, name] of ["mnist-standard", "mnist-l2"].entries()) {
    const m = result!.models[k]!.metrics as Record<string, number>;
    assert.ok(m.featureAfter! > m.featureBefore! + 0.1, `${name} feature ${m.feature}: ${m.featureBefore} → ${m.featureAfter}`);
    assert.ok(m.maxChangeInside! > 0.01, `${name}: inside ${m.maxChangeInside}`);
    assert.equal(m.maxChangeOutside, 0, name);
  }
  for (const c of await canvasChange(page)) assert.ok(c.same && c.changed >= 5, `painted pixels: ${JSON.stringify(c)}`);
  assert.deepEqual(errors, []);
  await page.close();
});

test("a dropped PyTorch ONNX classifier (CIFAR-shaped, 3×32×32) is inverted next to a zoo model", async () => {
  const { page } = await open("experiment=invert&models=fashion-mnist-l2,fashion-mnist-l2&targets=0-1&steps=5");
  await page.waitForFunction(() => document.body.dataset.status === "ready", null, { timeout: 120_000 });
  await page.locator("#drop1").setInputFiles("test/fixtures/cifar_bottleneck/model.onnx");
  await page.waitForFunction(
    () => document.body.dataset.status === "ready" && /loaded model\.onnx/.test(document.getElementById("status")!.textContent!),
    null,
    { timeout: 60_000 },
  );
  await page.locator("#run").click();
  const { status, error, result } = await finished(page);
  assert.equal(status, "done", error);
  assert.equal(result!.models[1]!.name, "model.onnx");
  const d = metric(result!, 1, "relDistance");
  assert.ok(Number.isFinite(d) && d > 0 && d < 1.5, `relDistance ${d}`);
  await page.close();
});

test("WebGPU (SwiftShader adapter): inversion agrees with wasm, or is refused naming the op WebGPU cannot run", async (t) => {
  const { page } = await open("experiment=invert&models=fashion-mnist-l2&targets=0-1&steps=5&seed=1&backend=webgpu&autorun=1");
  assert.equal(
    await page.evaluate(
      async () => (await (navigator as unknown as { gpu?: { requestAdapter(): Promise<unknown> } }).gpu?.requestAdapter()) != null,
    ),
    true,
    "no WebGPU adapter",
  );
  const gpu = await finished(page);
  await page.close();
  if (gpu.status === "error") {
    // the webgpu profile rewrites what it can; anything left is refused naming the op and node
    assert.match(gpu.error!, /^webgpu: op \w+ \(node "[^"]*"\)/);
    t.diagnostic(`webgpu refused: ${gpu.error}`);
    return;
  }
  const wasm = await open("experiment=invert&models=fashion-mnist-l2&targets=0-1&steps=5&seed=1&autorun=1");
  const ref = await finished(wasm.page);
  await wasm.page.close();
  const [a, b] = [metric(gpu.result!, 0, "relDistance"), metric(ref.result!, 0, "relDistance")];
  t.diagnostic(`webgpu relDistance ${a} vs wasm ${b}`);
  assert.ok(Math.abs(a - b) <= 0.02 * b, `webgpu ${a} vs wasm ${b}`);
});
