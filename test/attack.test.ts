// `robustlens attack` against PyTorch PGD iterates, plus batch-size independence and option errors.
import assert from "node:assert/strict";
import { join } from "node:path";
import { test } from "node:test";
import { tensor } from "robustlens";
import { loadNpy, saveNpy } from "robustlens/node";
import { cli, fixtureDir, tmp } from "./helpers.js";

const settings = [
  { threat: "l2", eps: "0.5", step: "0.1", ref: "pgd_l2.npy" },
  { threat: "linf", eps: String(8 / 255), step: String(2 / 255), ref: "pgd_linf.npy" },
];

for (const name of ["cifar_bottleneck", "smallnet", "resnet18_tv"]) {
  for (const s of settings) {
    test(`${name}: attack --threat ${s.threat} (10 steps, keep last) matches PyTorch's PGD iterate`, async () => {
      const dir = fixtureDir(name);
      const out = join(tmp(), "adv.npy");
      const r = cli([
        "attack",
        "--model",
        join(dir, "model.onnx"),
        "--input",
        join(dir, "x.npy"),
        "--labels",
        join(dir, "labels.npy"),
        "--threat",
        s.threat,
        "--eps",
        s.eps,
        "--step-size",
        s.step,
        "--steps",
        "10",
        "--keep",
        "last",
        "--out",
        out,
      ]);
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stdout, /clean accuracy [\d.]+%\s+adversarial accuracy [\d.]+%\s+mean (L2|L∞) perturbation/);
      const mine = await loadNpy(out),
        ref = await loadNpy(join(dir, s.ref));
      const n = ref.shape[0]!,
        per = ref.data.length / n;
      let equal = 0;
      const perExample = Array.from({ length: n }, (_, k) => {
        let m = 0;
        for (let i = k * per; i < (k + 1) * per; i++) {
          const d = Math.abs(Number(mine.data[i]) - Number(ref.data[i]));
          m = Math.max(m, d);
          if (d <= 1e-5) equal++;
        }
        return m;
      });
      if (s.threat === "l2") {
        // float32 ties at ReLU/MaxPool can split one trajectory (seen: 1 of 4 torchvision ResNet-18 examples by 1.1e-3,
        // the others within 1.2e-7, on one CPU): most examples must match to 1e-5 and every one to 5e-3
        assert.ok(
          perExample.filter((d) => d < 1e-5).length >= Math.ceil(0.75 * n),
          `per-example max abs differences ${perExample.join(", ")}`,
        );
        assert.ok(Math.max(...perExample) < 5e-3, `per-example max abs differences ${perExample.join(", ")}`);
      } else assert.ok(equal / ref.data.length >= 0.99, `only ${(100 * equal) / ref.data.length}% of pixels equal`);
    });
  }
}

test("attack results do not depend on the batch size", async () => {
  const dir = fixtureDir("cifar_bottleneck");
  const outs = [];
  for (const bs of ["4", "1"]) {
    const out = join(tmp(), `adv${bs}.npy`);
    const r = cli([
      "attack",
      "--model",
      join(dir, "model.onnx"),
      "--input",
      join(dir, "x.npy"),
      "--labels",
      join(dir, "labels.npy"),
      "--threat",
      "l2",
      "--eps",
      "0.5",
      "--steps",
      "5",
      "--batch-size",
      bs,
      "--out",
      out,
    ]);
    assert.equal(r.status, 0, r.stderr);
    outs.push(await loadNpy(out));
  }
  let maxAbs = 0;
  for (let i = 0; i < outs[0]!.data.length; i++) maxAbs = Math.max(maxAbs, Math.abs(Number(outs[0]!.data[i]) - Number(outs[1]!.data[i])));
  assert.ok(maxAbs < 1e-4, `batch 4 vs batch 1 differ by ${maxAbs}`);
});

test("bad attack options give one-line errors", async () => {
  const dir = fixtureDir("smallnet");
  const three = join(tmp(), "three.npy");
  await saveNpy(three, tensor("int64", [3], [1, 2, 3]));
  const base = ["attack", "--model", join(dir, "model.onnx"), "--input", join(dir, "x.npy"), "--out", join(tmp(), "a.npy")];
  const cases: [string[], RegExp][] = [
    [
      [...base, "--labels", join(dir, "labels.npy"), "--threat", "l2", "--eps", "-1"],
      /option '--eps <e>' argument '-1' is invalid\. It must be in \(0, 1000000\] \(see robustlens attack --help\)/,
    ],
    [
      [...base, "--labels", join(dir, "labels.npy"), "--threat", "l7", "--eps", "1"],
      /argument 'l7' is invalid\. It must be one of l2, linf, unconstrained/,
    ],
    [[...base, "--labels", three, "--threat", "l2", "--eps", "1"], /labels shape \[3\] does not match a batch of 4 images/],
    [
      [...base, "--labels", join(dir, "labels.npy"), "--threat", "l2", "--eps", "1", "--method", "cw"],
      /argument 'cw' is invalid\. It must be one of pgd, fgsm, apgd-ce, apgd-dlr/,
    ],
    [[...base, "--labels", join(dir, "labels.npy"), "--threat", "l2", "--eps", "1", "--targeted"], /--targeted needs --target-labels/],
  ];
  for (const [args, re] of cases) {
    const r = cli(args);
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, re);
    assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
  }
});

test("attack --method fgsm / apgd-ce / apgd-dlr run from the CLI and stay in the threat set", async () => {
  const dir = fixtureDir("fmnist_small");
  const x = await loadNpy(join(dir, "x.npy"));
  for (const [method, threat, eps] of [
    ["fgsm", "linf", 0.05],
    ["apgd-ce", "linf", 0.05],
    ["apgd-dlr", "l2", 1],
  ] as const) {
    const out = join(tmp(), `${method}.npy`);
    const r = cli([
      "attack",
      "--model",
      join(dir, "model.onnx"),
      "--input",
      join(dir, "x.npy"),
      "--labels",
      join(dir, "labels.npy"),
      "--method",
      method,
      "--threat",
      threat,
      "--eps",
      String(eps),
      "--steps",
      "10",
      "--batch-size",
      "256",
      "--out",
      out,
    ]);
    assert.equal(r.status, 0, r.stderr);
    const adv = Number(/adversarial accuracy ([\d.]+)%/.exec(r.stdout)?.[1]);
    assert.ok(adv < 80, `${method}: adversarial accuracy ${adv}% (clean 90.6%)`);
    const a = await loadNpy(out);
    const per = a.data.length / 256;
    for (let i = 0; i < 256; i++) {
      let l2 = 0,
        linf = 0;
      for (let k = i * per; k < (i + 1) * per; k++) {
        const d = Number(a.data[k]) - Number(x.data[k]);
        l2 += d * d;
        linf = Math.max(linf, Math.abs(d));
        assert.ok(Number(a.data[k]) >= 0 && Number(a.data[k]) <= 1);
      }
      assert.ok((threat === "l2" ? Math.sqrt(l2) : linf) <= eps * (1 + 1e-5));
    }
  }
});
