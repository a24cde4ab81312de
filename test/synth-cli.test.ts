// The synthesis commands end to end: grid PNG + .npy, the class-Gaussian cache, summaries, one-line errors.
import assert from "node:assert/strict";
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { loadNpy } from "robustlens/node";
import { cli, fixtureDir, tmp } from "./helpers.js";

const fx = fixtureDir("fmnist_small");
const DATA = `npy:${join(fx, "x.npy")},${join(fx, "labels.npy")}`;
const ROBUST = "models/fashion-mnist-l2/model.onnx",
  STANDARD = "models/fashion-mnist-standard/model.onnx";

test("generate: N per class, class by class in --classes order; Gaussians fitted once and cached in the output folder", async () => {
  const dir = tmp(),
    out = join(dir, "gen.png");
  const args = [
    "generate",
    "--model",
    ROBUST,
    "--data",
    DATA,
    "--classes",
    "2,0",
    "--count",
    "2",
    "--factor",
    "2",
    "--steps",
    "3",
    "--out",
    out,
  ];
  const r = cli([...args, "--judge", STANDARD]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /fitting class Gaussians to 256 images/);
  assert.match(
    r.stdout,
    /4 images \(2 per class: Pullover, T-shirt\/top\); ε 15\.155, α 0\.2526, 3 steps; loss [\d.]+ → [\d.]+; .*label agreement \(fashion-mnist-standard\) [\d.]+%  judge score [\d.]+/,
  );
  assert.ok(existsSync(out));
  const x = await loadNpy(out.replace(/\.png$/, ".npy"));
  assert.deepEqual(x.shape, [4, 1, 28, 28]);
  const cache = readdirSync(join(dir, "class-gaussians"));
  assert.equal(cache.filter((f) => f.endsWith(".json")).length, 1);
  const again = cli(args);
  assert.equal(again.status, 0, again.stderr);
  assert.doesNotMatch(again.stderr, /fitting/);
  assert.match(again.stderr, /class Gaussians from .*class-gaussians/);
  const y = await loadNpy(out.replace(/\.png$/, ".npy"));
  assert.deepEqual(y.data, x.data, "the cached fit gives the same images");
});

test("inpaint and super-resolve: three-row grids, region/whole-image scores against the corrupted or upsampled input", async () => {
  const dir = tmp();
  const ip = cli(["inpaint", "--model", ROBUST, "--images", `${DATA}:0-1`, "--steps", "5", "--out", join(dir, "ip.png")]);
  assert.equal(ip.status, 0, ip.stderr);
  assert.match(
    ip.stdout,
    /2 images inpainted \(classes from dataset labels\); .*masked region vs original: RMSE [\d.]+ \(corrupted [\d.]+\), SSIM [-\d.]+ \(corrupted [-\d.]+\)/,
  );
  assert.deepEqual((await loadNpy(join(dir, "ip.npy"))).shape, [2, 1, 28, 28]);
  const sr = cli(["super-resolve", "--model", ROBUST, "--images", `${DATA}:0-1`, "--steps", "5", "--out", join(dir, "sr.png")]);
  assert.equal(sr.status, 0, sr.stderr);
  assert.match(sr.stdout, /2 images, 4× down and up .*RMSE [\d.]+ \(nearest upsampling [\d.]+\)/);
});

test("synthesis commands: bad classes, factors and masks fail with one line naming the option", () => {
  const bad = [
    [
      ["translate", "--model", ROBUST, "--images", `${DATA}:0`, "--to", "Nope"],
      /--to "Nope": "Nope" is not a class index or one of T-shirt/,
    ],
    [
      ["sketch", "--model", ROBUST, "--images", `${DATA}:0`, "--class", "12"],
      /--class "12": class 12 is out of range \(model has 10 classes/,
    ],
    [["super-resolve", "--model", ROBUST, "--images", `${DATA}:0`, "--factor", "3"], /28×28 images are not divisible by factor 3/],
    [["paint", "--model", ROBUST, "--images", `${DATA}:0`, "--feature", "1", "--mask", "missing.png"], /missing\.png: no such file/],
  ] as const;
  for (const [args, msg] of bad) {
    const r = cli(args);
    assert.equal(r.status, 1, `${args.join(" ")}: ${r.stdout}`);
    assert.match(r.stderr, msg);
    assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
  }
});
