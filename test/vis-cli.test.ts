// The representation commands end to end: files written, summaries that report progress on the objective, one-line errors.
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import sharp from "sharp";
import { loadNpy } from "robustlens/node";
import { cli, fixtureDir, tmp } from "./helpers.js";

const fx = fixtureDir("fmnist_small");
const DATA = `npy:${join(fx, "x.npy")},${join(fx, "labels.npy")}`;
const ROBUST = "models/fashion-mnist-l2/model.onnx",
  STANDARD = "models/fashion-mnist-standard/model.onnx";

const numbers = (s: string, label: string): number[] => {
  const m = new RegExp(`${label} ([-\\d., ]+)`).exec(s);
  assert.ok(m, `no "${label}" in: ${s}`);
  return m[1]!
    .split(",")
    .map((v) => Number(v.trim()))
    .filter((v) => !Number.isNaN(v));
};

async function pngSize(path: string): Promise<[number, number]> {
  const m = await sharp(path).metadata();
  return [m.width!, m.height!];
}

test("invert: grid PNG (targets above inversions), .npy of the inversions, distance/RMSE/SSIM and label agreement in the summary", async () => {
  const out = join(tmp(), "inv.png");
  const r = cli(["invert", "--model", ROBUST, "--target", `${DATA}:0-3`, "--steps", "30", "--judge", STANDARD, "--out", out]);
  assert.equal(r.status, 0, r.stderr);
  const x = await loadNpy(out.replace(/\.png$/, ".npy"));
  assert.deepEqual(x.shape, [4, 1, 28, 28]);
  const [w, h] = await pngSize(out);
  assert.ok(w > 4 * 28 * 2 && h > 2 * 28 * 2 && w > h, `grid ${w}×${h}`);
  assert.match(
    r.stdout,
    /4 inversions: relative rep distance [\d.]+ {2}RMSE [\d.]+ {2}SSIM [-\d.]+ {2}label agreement \(fashion-mnist-standard, true labels\) [\d.]+%/,
  );
  assert.ok(numbers(r.stdout, "relative rep distance")[0]! < 0.5, r.stdout);
});

test("interpolate: one row per pair, frames × pairs images; distances per λ", async () => {
  const out = join(tmp(), "itp.png");
  const r = cli([
    "interpolate",
    "--model",
    ROBUST,
    "--from",
    `${DATA}:0,2`,
    "--to",
    `${DATA}:1,3`,
    "--frames",
    "4",
    "--steps",
    "10",
    "--out",
    out,
  ]);
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual((await loadNpy(out.replace(/\.png$/, ".npy"))).shape, [8, 1, 28, 28]);
  assert.match(r.stdout, /2 pairs × 4 frames; relative rep distance to the mixed target λ=0\.00: [\d.]+, λ=0\.33/);
  // 4 columns × 2 rows of 28 px cells scaled ×3, 2 px padding around and between
  assert.deepEqual(await pngSize(out), [4 * 84 + 5 * 2, 2 * 84 + 3 * 2]);
});

test("visualize --top: activation reached above the seed's, and the dataset max/min of each feature", async () => {
  const out = join(tmp(), "vis.png");
  const r = cli(["visualize", "--model", ROBUST, "--features", "0,5", "--steps", "20", "--top", "3", "--data", DATA, "--out", out]);
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual((await loadNpy(out.replace(/\.png$/, ".npy"))).shape, [2, 1, 28, 28]);
  for (const f of [0, 5])
    assert.match(
      r.stdout,
      new RegExp(`feature ${f}: activation reached [\\d.]+; dataset max [\\d.]+ \\(.*#\\d+.*\\), min [\\d.]+; reached/max`),
    );
  const [w] = await pngSize(out);
  assert.ok(w > 7 * 28 * 3, `row = 1 visualization + 3 top + 3 bottom, got width ${w}`);
});

test("add-feature: the feature's activation never falls and rises overall", () => {
  const out = join(tmp(), "add.png");
  const r = cli([
    "add-feature",
    "--model",
    ROBUST,
    "--feature",
    "5",
    "--images",
    `${DATA}:0-2`,
    "--level",
    "50",
    "--steps",
    "30",
    "--out",
    out,
  ]);
  assert.equal(r.status, 0, r.stderr);
  const before = numbers(r.stdout, "activation before"),
    after = numbers(r.stdout, "\nafter");
  assert.equal(before.length, 3);
  assert.equal(after.length, 3);
  after.forEach((a, i) => assert.ok(a >= before[i]! - 1e-3, `image ${i}: ${before[i]} → ${a}`));
  assert.ok(after.reduce((s, v) => s + v, 0) > before.reduce((s, v) => s + v, 0) + 0.5, r.stdout);
  assert.ok(existsSync(out));
});

test("saliency --labels: [N,1,H,W] maps in [0,1] explaining the dataset labels", async () => {
  const out = join(tmp(), "sal.png");
  const r = cli(["saliency", "--model", ROBUST, "--images", `${DATA}:0-3`, "--labels", "--out", out]);
  assert.equal(r.status, 0, r.stderr);
  const m = await loadNpy(out.replace(/\.png$/, ".npy"));
  assert.deepEqual(m.shape, [4, 1, 28, 28]);
  assert.ok(Array.from(m.data as Float32Array).every((v) => v >= 0 && v <= 1));
  assert.match(r.stdout, /explains Ankle boot \(predicted /);
});

test("bad input fails with one line naming the problem", () => {
  const cases: [string[], RegExp][] = [
    [["invert", "--model", "nope.onnx", "--target", `${DATA}:0`], /cannot read nope\.onnx: no such file/],
    [["visualize", "--model", ROBUST, "--features", "a,b"], /--features must be comma-separated feature indices/],
    [["visualize", "--model", ROBUST, "--features", "1", "--top", "3"], /--top needs --data/],
    [["visualize", "--model", ROBUST, "--features", "100000"], /out of range/],
    [["invert", "--model", ROBUST, "--target", `${DATA}:0-999`], /index \d+ is out of range: .* has \d+ images/],
    [["interpolate", "--model", ROBUST, "--from", `${DATA}:0,1`, "--to", `${DATA}:2`], /--from gives 2 images, --to 1/],
    [["saliency", "--model", ROBUST, "--images", join(fx, "x.npy") + ":0", "--labels"], /has no labels/],
    [
      ["invert", "--model", ROBUST, "--target", `${DATA}:0`, "--steps", "0"],
      /option '--steps <k>' argument '0' is invalid\. It must be in 1\.\.1000000 \(see robustlens invert --help\)/,
    ],
  ];
  for (const [args, want] of cases) {
    const r = cli(args);
    assert.equal(r.status, 1, `${args.join(" ")}: ${r.stdout}`);
    assert.match(r.stderr, want);
    assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
  }
});
