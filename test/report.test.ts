// The report: robust inversions beat standard ones, the page's structure and files, and what headless Chromium shows.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { cpSync, existsSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { before, test } from "node:test";
import sharp from "sharp";
import { Model, type Tensor, invert, rmse, sliceBatch, ssim } from "robustlens";
import { chromium } from "playwright-core";
import { TRAINING_SERIES, loadNpy, nodeExecutor, readPlotSpec, specValues } from "robustlens/node";
import { cli, fixtureDir, mean, tmp } from "./helpers.js";
import { chromiumArgs } from "../src/testing/chromium.js";

const fx = fixtureDir("fmnist_small");
const DATA = `npy:${join(fx, "x.npy")},${join(fx, "labels.npy")}`;
const ROBUST = "models/fashion-mnist-l2/model.onnx",
  STANDARD = "models/fashion-mnist-standard/model.onnx";

test("inversion from noise: the robust zoo model gets closer to the targets (RMSE, SSIM) than the standard one", async (t) => {
  const x = await loadNpy(join(fx, "x.npy"));
  const targets = sliceBatch(x as Tensor<"float32">, 0, 8);
  const res: Record<string, { rmse: number; ssim: number }> = {};
  for (const [name, path] of [
    ["robust", ROBUST],
    ["standard", STANDARD],
  ] as const) {
    const model = new Model(new Uint8Array(readFileSync(path)), path);
    const inv = await invert(nodeExecutor, model, targets, { steps: 200 });
    res[name] = { rmse: mean(rmse(inv.x, targets)), ssim: mean(ssim(inv.x, targets)) };
  }
  t.diagnostic(JSON.stringify(res));
  assert.ok(res.robust!.rmse < 0.8 * res.standard!.rmse, JSON.stringify(res));
  assert.ok(res.robust!.ssim > res.standard!.ssim + 0.1, JSON.stringify(res));
});

let dir = "";
let run: ReturnType<typeof cli>;
before(() => {
  dir = join(tmp(), "report");
  run = cli([
    "report",
    "--models",
    `${STANDARD},${ROBUST}`,
    "--data",
    DATA,
    "--ood",
    "mnist:0-3",
    "--count",
    "4",
    "--scale",
    "0.02",
    "--out",
    dir,
  ]);
});

test("report: index.html has the metric table and every figure for each model; every image it references exists", () => {
  assert.equal(run.status, 0, run.stderr);
  assert.match(run.stdout, /report written to .*index\.html/);
  const html = readFileSync(join(dir, "index.html"), "utf8");
  assert.match(html, /^<!DOCTYPE html>/);
  const rows = html.match(/<tr>/g)?.length ?? 0;
  assert.ok(rows >= 10, `metric table has ${rows} rows`);
  const plotsIn: Record<string, number> = {
    invert: 1,
    ood: 1,
    interpolate: 1,
    features: 2,
    add: 1,
    saliency: 0,
    generate: 0,
    inpaint: 0,
    superResolve: 0,
    translate: 0,
    sketch: 0,
  };
  for (const id of Object.keys(plotsIn)) {
    const sec = new RegExp(`<section id="${id}">([\\s\\S]*?)</section>`).exec(html);
    assert.ok(sec, `section ${id}`);
    assert.equal(sec[1]!.match(/<figure><figcaption>/g)?.length, 2, `section ${id}: one figure per model`);
    assert.equal(
      sec[1]!.match(/<figure class="plot"><img src="figures\/objective-[a-z]+-[a-z]+\.svg"/g)?.length ?? 0,
      plotsIn[id],
      `section ${id}: objective plots`,
    );
  }
  // the accuracy-vs-ε curves come first, before the metric table; the training curves after the figures
  assert.ok(html.indexOf('<section id="robustness">') < html.indexOf('id="metrics"'));
  assert.ok(html.indexOf('<section id="training">') > html.indexOf('<section id="saliency">'));
  const srcs = [...html.matchAll(/<img src="([^"]+)"/g)].map((m) => m[1]!);
  // 11 experiments with figures × 2 models, 6 objective plots, the robustness and training plots
  assert.equal(srcs.length, 22 + 6 + 2);
  for (const s of srcs) {
    assert.ok(!s.startsWith("/") && !s.includes(".."), `relative path ${s}`);
    assert.ok(existsSync(join(dir, s)), `missing ${s}`);
  }
  const metrics = JSON.parse(readFileSync(join(dir, "metrics.json"), "utf8")) as {
    models: {
      name: string;
      invert: { ssim: number; labelAgreement: number };
      generate: { labelAgreement: number; judgeScore: number };
      inpaint: { rmse: number; rmseCorrupted: number };
      superResolve: { rmse: number; rmseUpsampled: number; labelAgreement: number };
      translate: { labelAgreement: number; labelAgreementBaseline: number };
      sketch: { labelAgreement: number; labelAgreementBaseline: number };
    }[];
  };
  assert.deepEqual(
    metrics.models.map((m) => m.name),
    ["fashion-mnist-standard", "fashion-mnist-l2"],
  );
  for (const m of metrics.models) {
    // NaN is written as null: a missing judge must fail here
    assert.equal(typeof m.invert.labelAgreement, "number");
    assert.ok(Number.isFinite(m.invert.ssim) && m.invert.labelAgreement >= 0 && m.invert.labelAgreement <= 1);
    assert.ok(
      m.generate.labelAgreement >= 0 && m.generate.labelAgreement <= 1 && m.generate.judgeScore >= 1 && m.generate.judgeScore <= 10,
      JSON.stringify(m.generate),
    );
    assert.ok(m.inpaint.rmse > 0 && m.inpaint.rmseCorrupted > 0, JSON.stringify(m.inpaint));
    assert.ok(m.superResolve.rmse > 0 && m.superResolve.rmseUpsampled > 0, JSON.stringify(m.superResolve));
    for (const e of [m.translate, m.sketch, m.superResolve]) assert.ok(e.labelAgreement >= 0 && e.labelAgreement <= 1, JSON.stringify(e));
    for (const e of [m.translate, m.sketch]) assert.ok(e.labelAgreementBaseline >= 0 && e.labelAgreementBaseline <= 1, JSON.stringify(e));
  }
});

test("report plots: accuracy vs ε from the shipped eval.json, each model's objective per step, the zoo's training curves", async () => {
  assert.equal(run.status, 0, run.stderr);
  const rob = specValues(await readPlotSpec(join(dir, "figures/robustness.svg")));
  for (const name of ["fashion-mnist-standard", "fashion-mnist-l2"]) {
    const ev = JSON.parse(readFileSync(`models/${name}/eval.json`, "utf8")) as {
      clean_accuracy: number;
      results: { eps: number; attack: string; robust_accuracy: number }[];
    };
    const pgd = rob.filter((v) => v.model === name && v.attack === "PGD-20");
    assert.deepEqual(
      pgd.map((v) => v.eps),
      [0, ...ev.results.filter((r) => r.attack === "pgd").map((r) => r.eps)],
    );
    assert.equal(pgd[0]!.accuracy, Number((100 * ev.clean_accuracy).toPrecision(4)));
    assert.equal(rob.filter((v) => v.model === name && v.attack === "APGD-CE-20").length, pgd.length);
  }
  const metrics = JSON.parse(readFileSync(join(dir, "metrics.json"), "utf8")) as {
    steps: { invert: number };
    models: { name: string; invert: { distance: number } }[];
  };
  const inv = specValues(await readPlotSpec(join(dir, "figures/objective-invert-distance.svg")));
  for (const m of metrics.models) {
    const curve = inv.filter((v) => v.model === m.name).map((v) => Number(v.value));
    assert.equal(curve.length, metrics.steps.invert, m.name);
    // the search lowers its objective, and the kept (best) iterate is at least as good as every traced one
    assert.ok(Math.min(...curve) < 0.9 * curve[0]!, `${m.name}: ${curve[0]} → ${Math.min(...curve)}`);
    assert.ok(m.invert.distance <= Math.min(...curve) + 1e-4, `${m.name}: best ${m.invert.distance}, curve min ${Math.min(...curve)}`);
  }
  const vis = specValues(await readPlotSpec(join(dir, "figures/objective-features-visualize.svg")));
  assert.deepEqual([...new Set(vis.map((v) => v.model))], ["fashion-mnist-standard", "fashion-mnist-l2"]);
  const tr = specValues(await readPlotSpec(join(dir, "figures/training.svg")));
  assert.equal(tr.filter((v) => v.run === "fashion-mnist-l2" && v.series === TRAINING_SERIES.adv).length, 10);
  assert.equal(tr.filter((v) => v.run === "fashion-mnist-standard" && v.series === TRAINING_SERIES.clean).length, 10);
});

const CHROMIUM = ["/usr/bin/chromium", "/usr/bin/chromium-browser"].find(existsSync);

/** Screenshot of a page with headless Chromium; returns the fraction of dark pixels (the figures are mostly black). */
async function darkFraction(page: string): Promise<{ dark: number; width: number; height: number }> {
  const shot = join(tmp(), "shot.png");
  const r = spawnSync(
    CHROMIUM!,
    [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-extensions",
      "--no-first-run",
      `--user-data-dir=${tmp()}`,
      "--hide-scrollbars",
      "--window-size=1300,8000",
      `--screenshot=${shot}`,
      `file://${page}`,
    ],
    { encoding: "utf8", timeout: 90_000 },
  );
  assert.ok(existsSync(shot), `chromium wrote no screenshot (status ${r.status}): ${String(r.stderr).split("\n").slice(-3).join(" ")}`);
  const { data, info } = await sharp(shot).greyscale().raw().toBuffer({ resolveWithObject: true });
  let dark = 0;
  for (const v of data) if (v < 60) dark++;
  return { dark: dark / data.length, width: info.width, height: info.height };
}

test(
  "headless Chromium shows the figures: the page is far darker with its images than with them missing",
  { skip: !CHROMIUM && "chromium is not installed (apt-get install chromium; .ci/run installs it)" },
  async (t) => {
    assert.equal(run.status, 0, run.stderr);
    const withImages = await darkFraction(join(dir, "index.html"));
    const broken = join(tmp(), "broken");
    cpSync(dir, broken, { recursive: true });
    rmSync(join(broken, "figures"), { recursive: true });
    const without = await darkFraction(join(broken, "index.html"));
    t.diagnostic(`dark pixels: ${(100 * withImages.dark).toFixed(1)}% with figures, ${(100 * without.dark).toFixed(1)}% without`);
    assert.equal(withImages.width, 1300);
    // the page also holds mostly-white plots and the synthesis sections now, so the grids are a smaller share of it
    assert.ok(withImages.dark > 0.03, `figures cover ${(100 * withImages.dark).toFixed(1)}% of the screenshot`);
    // the text is the same on both pages: the difference is the grids' share
    assert.ok(withImages.dark - without.dark > 0.02, `with ${withImages.dark}, without ${without.dark}`);
  },
);

/** Fraction of strongly coloured pixels (the plots' palette; the image grids are gray) in a region of an RGB screenshot. */
function colouredFraction(
  img: { data: Buffer; width: number; channels: number },
  box: { x: number; y: number; width: number; height: number },
): number {
  let hit = 0,
    all = 0;
  for (let y = Math.max(0, Math.floor(box.y)); y < Math.floor(box.y + box.height); y++) {
    for (let x = Math.max(0, Math.floor(box.x)); x < Math.min(img.width, Math.floor(box.x + box.width)); x++) {
      const i = (y * img.width + x) * img.channels;
      const r = img.data[i]!,
        g = img.data[i + 1]!,
        b = img.data[i + 2]!;
      if (Math.max(r, g, b) - Math.min(r, g, b) > 60) hit++;
      all++;
    }
  }
  return hit / Math.max(1, all);
}

test(
  "headless Chromium shows every plot: each plot's box on the full-page screenshot holds coloured curves; the first is accuracy vs ε",
  { skip: !CHROMIUM && "chromium is not installed" },
  async (t) => {
    assert.equal(run.status, 0, run.stderr);
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: chromiumArgs(),
    });
    try {
      const page = await browser.newPage({ viewport: { width: 1300, height: 900 } });
      await page.goto(`file://${join(dir, "index.html")}`, { waitUntil: "load" });
      const boxes = await page.$$eval("figure.plot img", (imgs) =>
        imgs.map((i) => {
          const r = (i as HTMLImageElement).getBoundingClientRect();
          return {
            src: i.getAttribute("src")!,
            loaded: (i as HTMLImageElement).complete && (i as HTMLImageElement).naturalWidth > 0,
            x: r.x + scrollX,
            y: r.y + scrollY,
            width: r.width,
            height: r.height,
          };
        }),
      );
      const firstHeading = await page.$eval("h2", (h) => h.textContent);
      const shot = join(tmp(), "report.png");
      await page.screenshot({ path: shot, fullPage: true });
      t.diagnostic(`screenshot ${shot}`);
      const { data, info } = await sharp(shot).removeAlpha().raw().toBuffer({ resolveWithObject: true });
      const img = { data, width: info.width, channels: info.channels };
      assert.equal(firstHeading, "Accuracy under attack");
      assert.equal(boxes.length, 8);
      assert.equal(boxes[0]!.src, "figures/robustness.svg");
      for (const b of boxes) {
        assert.ok(b.loaded, `${b.src} did not load`);
        assert.ok(b.width > 250 && b.height > 150, `${b.src}: ${b.width}×${b.height}`);
        const c = colouredFraction(img, b);
        assert.ok(c > 0.005, `${b.src}: only ${(100 * c).toFixed(2)}% coloured pixels in its box`);
      }
      // and the grids around them are not: colour on the page comes from the plots
      const grid = await page.$eval("#invert figure img", (i) => {
        const r = i.getBoundingClientRect();
        return { x: r.x + scrollX, y: r.y + scrollY, width: r.width, height: r.height };
      });
      assert.ok(colouredFraction(img, grid) < 0.001);
    } finally {
      await browser.close();
    }
  },
);
