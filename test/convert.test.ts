// `robustlens convert --from robustness`: checkpoints in the robustness library's format (random weights, written here by
// Debian's PyTorch) convert to model.onnx + model.json whose logits and input gradients match PyTorch's; bad input fails cleanly.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { promisify } from "node:util";
import { Model, Rng, type Tensor, ceLoss, forward, inputGradient, tensor } from "robustlens";
import { loadNpy, nodeExecutor, saveNpy } from "robustlens/node";
import { cli, relErr, tmp } from "./helpers.js";

const run = promisify(execFile);
const PY = "/usr/bin/python3";
const dir = tmp();

// ‖a − b‖ / ‖b‖ over the batch
const maxRel = (a: Tensor, b: Tensor) => (assert.deepEqual(a.shape, b.shape), relErr(a, b));

async function makeCheckpoint(name: string, arch: string, dataset: string, size: number, classes = 10) {
  const rng = new Rng(name.length);
  const n = 2;
  const x = tensor(
    "float32",
    [n, 3, size, size],
    Float32Array.from({ length: n * 3 * size * size }, () => rng.next()),
  );
  const y = tensor("int64", [n], [3, 7]);
  const p = (f: string) => join(dir, `${name}_${f}`);
  await saveNpy(p("x.npy"), x);
  await saveNpy(p("y.npy"), y);
  const args = ["--arch", arch, "--dataset", dataset, "--classes", String(classes), "--out", p("ckpt.pt")];
  const io = ["--x", p("x.npy"), "--logits", p("logits.npy"), "--y", p("y.npy"), "--grad", p("grad.npy")];
  await run(PY, ["scripts/make_robustness_checkpoint.py", ...args, ...io]);
  // the maker redraws examples where float32 is ill-conditioned (a kink within rounding), so x is read back
  return {
    ckpt: p("ckpt.pt"),
    x: await loadNpy(p("x.npy")),
    y,
    logits: await loadNpy(p("logits.npy")),
    grad: await loadNpy(p("grad.npy")),
  };
}

const cases = [
  { name: "r18c", arch: "resnet18", dataset: "cifar", size: 32, fakeRelu: true },
  { name: "wrn", arch: "wrn-16-2", dataset: "cifar", size: 32, fakeRelu: true },
  // VGG16 converts in ~30 s on the shared machine: with ROBUSTLENS_LONG_TESTS=1
  ...(process.env.ROBUSTLENS_LONG_TESTS ? [{ name: "vggc", arch: "vgg16", dataset: "cifar", size: 32, fakeRelu: true }] : []),
  // torchvision's resnet18 writes this checkpoint: the same layout, built independently of the converter's architectures
  { name: "r18i", arch: "resnet18", dataset: "imagenet", size: 224, fakeRelu: true, classes: 1000 },
];

for (const c of cases) {
  test(`convert --from robustness ${c.arch} ${c.dataset}: logits and input gradients match PyTorch within 1e-4`, async () => {
    const made = await makeCheckpoint(c.name, c.arch, c.dataset, c.size, c.classes);
    const out = join(dir, `${c.name}_out`);
    const r = cli(["convert", "--from", "robustness", made.ckpt, "--arch", c.arch, "--dataset", c.dataset, "--out", out]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /logits match PyTorch within/);
    assert.deepEqual(readdirSync(out).sort(), ["model.json", "model.onnx"], "no work folder is left behind");
    const model = new Model(new Uint8Array(readFileSync(join(out, "model.onnx"))), "model.onnx");
    assert.deepEqual(model.inputShape.slice(1), [3, c.size, c.size]);
    const logits = await forward(nodeExecutor, model, made.x);
    const g = await inputGradient(nodeExecutor, model, made.x, ceLoss(made.y as Tensor<"int64">));
    const le = maxRel(logits, made.logits),
      ge = maxRel(g.grad, made.grad);
    assert.ok(le <= 1e-4, `logits ${le}`);
    assert.ok(ge <= 1e-4, `input gradient ${ge}`);
    const meta = JSON.parse(readFileSync(join(out, "model.json"), "utf8"));
    assert.equal(meta.dataset, c.dataset === "cifar" ? "cifar10" : "imagenet");
    assert.equal(meta.classes.length, c.classes ?? 10);
    assert.equal(meta.epoch, 7);
    assert.deepEqual(meta.normalization.mean, c.dataset === "cifar" ? [0.4914, 0.4822, 0.4465] : [0.485, 0.456, 0.406]);
    assert.equal(meta.source.from, "robustness");
    // R is the final Linear's input (as with_latent), with the last ReLU before it as the fake ReLU
    const rep = model.representation();
    assert.equal(meta.representation.name, rep.name);
    assert.equal(!!rep.fakeRelu, c.fakeRelu);
  });
}

test("convert: a missing checkpoint, a wrong --arch, a non-checkpoint: one line each, exit 1, the user's model untouched", async () => {
  const r0 = cli([
    "convert",
    "--from",
    "robustness",
    join(dir, "nope.pt"),
    "--arch",
    "resnet18",
    "--dataset",
    "cifar",
    "--out",
    join(dir, "o0"),
  ]);
  assert.equal(r0.status, 1);
  assert.match(r0.stderr, /^robustlens: cannot read checkpoint .*nope\.pt: no such file\n$/);

  const ckpt = existsSync(join(dir, "r18c_ckpt.pt"))
    ? join(dir, "r18c_ckpt.pt")
    : (await makeCheckpoint("r18c", "resnet18", "cifar", 32)).ckpt;
  // a folder holding a user's model: refused without --overwrite, and kept when a conversion with --overwrite fails
  const user = join(dir, "user");
  mkdirSync(user);
  writeFileSync(join(user, "model.onnx"), "the user's model");
  writeFileSync(join(user, "model.json"), "{}");
  const r1 = cli(["convert", "--from", "robustness", ckpt, "--arch", "resnet18", "--dataset", "cifar", "--out", user]);
  assert.equal(r1.status, 1);
  assert.match(r1.stderr, /^robustlens: --out .*user holds a model \(model\.onnx, model\.json\); pass --overwrite/);
  const r2 = cli(["convert", "--from", "robustness", ckpt, "--arch", "resnet50", "--dataset", "cifar", "--out", user, "--overwrite"]);
  assert.equal(r2.status, 1);
  assert.equal(r2.stderr.trim().split("\n").length, 1, r2.stderr);
  assert.match(
    r2.stderr,
    /key module\.model\.layer1\.0\.conv1\.weight has shape \[64, 64, 3, 3\], --arch resnet50 --dataset cifar expects \[64, 64, 1, 1\]/,
  );
  const r3 = cli(["convert", "--from", "robustness", ckpt, "--arch", "wrn-28-10", "--dataset", "cifar", "--out", user, "--overwrite"]);
  assert.equal(r3.status, 1);
  assert.match(r3.stderr, /--arch wrn-28-10 --dataset cifar needs key module\.model\.fc\.weight/);
  assert.equal(readFileSync(join(user, "model.onnx"), "utf8"), "the user's model");
  assert.deepEqual(readdirSync(user).sort(), ["model.json", "model.onnx"]);

  const junk = join(dir, "junk.pt");
  writeFileSync(junk, "not a checkpoint");
  const r4 = cli(["convert", "--from", "robustness", junk, "--arch", "resnet18", "--dataset", "cifar", "--out", join(dir, "o4")]);
  assert.equal(r4.status, 1);
  assert.match(r4.stderr, /junk\.pt: not a PyTorch checkpoint/);
  const r5 = cli(["convert", "--from", "robustness", ckpt, "--arch", "wrn-27-10", "--dataset", "cifar", "--out", join(dir, "o5")]);
  assert.match(r5.stderr, /--arch wrn-27-10: WideResNet depth must be 6n\+4/);
  assert.ok(!existsSync(join(dir, "o5", "model.onnx")));

  // --overwrite replaces a converted model
  const r6 = cli(["convert", "--from", "robustness", ckpt, "--arch", "resnet18", "--dataset", "cifar", "--out", user, "--overwrite"]);
  assert.equal(r6.status, 0, r6.stderr);
  assert.notEqual(readFileSync(join(user, "model.onnx"), "utf8").slice(0, 16), "the user's model");
});

test("convert: a checkpoint holding arbitrary Python objects needs --trust-pickle", async () => {
  const ckpt = join(dir, "pickled.pt");
  await run(PY, ["-c", `import torch, argparse; torch.save({"model": {}, "args": argparse.Namespace(lr=0.1)}, ${JSON.stringify(ckpt)})`]);
  const r = cli(["convert", "--from", "robustness", ckpt, "--arch", "resnet18", "--dataset", "cifar", "--out", join(dir, "o6")]);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /global argparse\.Namespace is not allowed\); if you trust the file, pass --trust-pickle/);
  const t = cli([
    "convert",
    "--from",
    "robustness",
    ckpt,
    "--arch",
    "resnet18",
    "--dataset",
    "cifar",
    "--out",
    join(dir, "o6"),
    "--trust-pickle",
  ]);
  assert.match(t.stderr, /no module\.model\.\* keys: not a robustness-library checkpoint/);
});
