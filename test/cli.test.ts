// The CLI against PyTorch references: forward outputs and input gradients of exported models.
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { loadNpy } from "robustlens/node";
import { cli, fixtureDir, relErr, tmp } from "./helpers.js";

for (const name of ["cifar_bottleneck", "smallnet", "resnet18_tv"]) {
  test(`${name}: predict reproduces PyTorch logits`, async () => {
    const dir = fixtureDir(name);
    const out = join(tmp(), "y.npy");
    const r = cli(["predict", "--model", join(dir, "model.onnx"), "--input", join(dir, "x.npy"), "--out", out]);
    assert.equal(r.status, 0, r.stderr);
    assert.ok(relErr(await loadNpy(out), await loadNpy(join(dir, "logits.npy"))) < 1e-5);
  });

  test(`${name}: grad --loss ce matches PyTorch autograd (rel err < 1e-4)`, async () => {
    const dir = fixtureDir(name);
    const out = join(tmp(), "g.npy");
    const r = cli([
      "grad",
      "--model",
      join(dir, "model.onnx"),
      "--input",
      join(dir, "x.npy"),
      "--labels",
      join(dir, "labels.npy"),
      "--loss",
      "ce",
      "--out",
      out,
    ]);
    assert.equal(r.status, 0, r.stderr);
    const e = relErr(await loadNpy(out), await loadNpy(join(dir, "grad_ce.npy")));
    assert.ok(e < 1e-4, `relative error ${e}`);
  });

  test(`${name}: grad --loss rep-distance matches PyTorch autograd (rel err < 1e-4)`, async () => {
    const dir = fixtureDir(name);
    const out = join(tmp(), "g.npy");
    const r = cli([
      "grad",
      "--model",
      join(dir, "model.onnx"),
      "--input",
      join(dir, "x.npy"),
      "--target",
      join(dir, "target.npy"),
      "--loss",
      "rep-distance",
      "--out",
      out,
    ]);
    assert.equal(r.status, 0, r.stderr);
    const e = relErr(await loadNpy(out), await loadNpy(join(dir, "grad_rep.npy")));
    assert.ok(e < 1e-4, `relative error ${e}`);
  });
}

test("bad inputs give one line on stderr and a non-zero exit", async () => {
  const d = tmp();
  const dir = fixtureDir("smallnet");
  const garbage = join(d, "bad.onnx");
  writeFileSync(garbage, "this is not an onnx model");
  const badNpy = join(d, "bad.npy");
  writeFileSync(badNpy, "\x93NUMPY nope");
  const cases: [string[], RegExp][] = [
    [["predict", "--model", garbage, "--input", join(dir, "x.npy"), "--out", join(d, "y.npy")], /bad\.onnx/],
    [["predict", "--model", join(dir, "model.onnx"), "--input", badNpy, "--out", join(d, "y.npy")], /bad\.npy/],
    [
      ["predict", "--model", join(dir, "model.onnx"), "--input", join(fixtureDir("cifar_bottleneck"), "x.npy"), "--out", join(d, "y.npy")],
      /\[4,3,32,32\] does not match model input "input"/,
    ],
    [
      ["predict", "--model", join(d, "missing.onnx"), "--input", join(dir, "x.npy"), "--out", join(d, "y.npy")],
      /missing\.onnx: no such file/,
    ],
    [["grad", "--model", join(dir, "model.onnx"), "--input", join(dir, "x.npy"), "--out", join(d, "g.npy")], /--labels/],
  ];
  for (const [args, re] of cases) {
    const r = cli(args);
    assert.notEqual(r.status, 0, args.join(" "));
    assert.match(r.stderr, re);
    assert.equal(r.stderr.trim().split("\n").length, 1, `not one line: ${r.stderr}`);
    assert.doesNotMatch(r.stderr, /\n\s+at /);
  }
});
