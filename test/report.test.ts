// The report: robust inversions beat standard ones, the page's structure and files, and what headless Chromium shows.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { cpSync, existsSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { before, test } from "node:test";
import sharp from "sharp";
import { Model, type Tensor, invert, rmse, sliceBatch, ssim } from "robustlens";
import { loadNpy, nodeExecutor } from "robustlens/node";
import { cli, fixtureDir, mean, tmp } from "./helpers.js";

const fx = fixtureDir("fmnist_small");
const DATA = `npy:${join(fx, "x.npy")},${join(fx, "labels.npy")}`;
const ROBUST = "models/fashion-mnist-l2/model.onnx", STANDARD = "models/fashion-mnist-standard/model.onnx";

test("inversion from noise: the robust zoo model gets closer to the targets (RMSE, SSIM) than the standard one", async (t) => {
  const x = await loadNpy(join(fx, "x.npy"));
  const targets = sliceBatch(x as Tensor<"float32">, 0, 8);
  const res: Record<string, { rmse: number; ssim: number }> = {};
  for (const [name, path] of [["robust", ROBUST], ["standard", STANDARD]] as const) {
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
  run = cli(["report", "--models", `${STANDARD},${ROBUST}`, "--data", DATA, "--ood", "mnist:0-3", "--count", "4", "--scale", "0.02", "--out", dir]);
});

test("report: index.html has the metric table and every figure for each model; every image it references exists", () => {
  assert.equal(run.status, 0, run.stderr);
  assert.match(run.stdout, /report written to .*index\.html/);
  const html = readFileSync(join(dir, "index.html"), "utf8");
  assert.match(html, /^<!DOCTYPE html>/);
  const rows = html.match(/<tr>/g)?.length ?? 0;
  assert.ok(rows >= 10, `metric table has ${rows} rows`);
  for (const id of ["invert", "ood", "interpolate", "features", "add", "saliency", "generate", "inpaint"]) {
    const sec = new RegExp(`<section id="${id}">([\\s\\S]*?)</section>`).exec(html);
    assert.ok(sec, `section ${id}`);
    assert.equal(sec[1]!.match(/<img /g)?.length, 2, `section ${id}: one figure per model`);
  }
  const srcs = [...html.matchAll(/<img src="([^"]+)"/g)].map((m) => m[1]!);
  assert.equal(srcs.length, 16);
  for (const s of srcs) {
    assert.ok(!s.startsWith("/") && !s.includes(".."), `relative path ${s}`);
    assert.ok(existsSync(join(dir, s)), `missing ${s}`);
  }
  const metrics = JSON.parse(readFileSync(join(dir, "metrics.json"), "utf8")) as { models: { name: string; invert: { ssim: number; labelAgreement: number }; generate: { labelAgreement: number; judgeScore: number }; inpaint: { rmse: number; rmseCorrupted: number } }[] };
  assert.deepEqual(metrics.models.map((m) => m.name), ["fashion-mnist-standard", "fashion-mnist-l2"]);
  for (const m of metrics.models) {
    // NaN is written as null: a missing judge must fail here
    assert.equal(typeof m.invert.labelAgreement, "number");
    assert.ok(Number.isFinite(m.invert.ssim) && m.invert.labelAgreement >= 0 && m.invert.labelAgreement <= 1);
    assert.ok(m.generate.labelAgreement >= 0 && m.generate.labelAgreement <= 1 && m.generate.judgeScore >= 1 && m.generate.judgeScore <= 10, JSON.stringify(m.generate));
    assert.ok(m.inpaint.rmse > 0 && m.inpaint.rmseCorrupted > 0, JSON.stringify(m.inpaint));
  }
});

const CHROMIUM = ["/usr/bin/chromium", "/usr/bin/chromium-browser"].find(existsSync);

/** Screenshot of a page with headless Chromium; returns the fraction of dark pixels (the figures are mostly black). */
async function darkFraction(page: string): Promise<{ dark: number; width: number; height: number }> {
  const shot = join(tmp(), "shot.png");
  const r = spawnSync(CHROMIUM!, [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-extensions", "--no-first-run",
    `--user-data-dir=${tmp()}`, "--hide-scrollbars", "--window-size=1300,2400", `--screenshot=${shot}`, `file://${page}`,
  ], { encoding: "utf8", timeout: 90_000 });
  assert.ok(existsSync(shot), `chromium wrote no screenshot (status ${r.status}): ${String(r.stderr).split("\n").slice(-3).join(" ")}`);
  const { data, info } = await sharp(shot).greyscale().raw().toBuffer({ resolveWithObject: true });
  let dark = 0;
  for (const v of data) if (v < 60) dark++;
  return { dark: dark / data.length, width: info.width, height: info.height };
}

test("headless Chromium shows the figures: the page is far darker with its images than with them missing", { skip: !CHROMIUM && "chromium is not installed (apt-get install chromium; .ci/run installs it)" }, async (t) => {
  assert.equal(run.status, 0, run.stderr);
  const withImages = await darkFraction(join(dir, "index.html"));
  const broken = join(tmp(), "broken");
  cpSync(dir, broken, { recursive: true });
  rmSync(join(broken, "figures"), { recursive: true });
  const without = await darkFraction(join(broken, "index.html"));
  t.diagnostic(`dark pixels: ${(100 * withImages.dark).toFixed(1)}% with figures, ${(100 * without.dark).toFixed(1)}% without`);
  assert.equal(withImages.width, 1300);
  assert.ok(withImages.dark > 0.05, `figures cover ${(100 * withImages.dark).toFixed(1)}% of the screenshot`);
  assert.ok(withImages.dark > 4 * without.dark, `with ${withImages.dark}, without ${without.dark}`);
});
