// ImageNet scale: a ResNet-50 (torchvision layout, seeded random weights) in the robustness library's checkpoint format,
// converted by `robustlens convert`; the workload is one L2 PGD step (forward, input gradient, step, projection) at batch 8.
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { Model, Rng, Session, attackPrograms, ceLoss, tensor, threatModel } from "robustlens";
import { loadNpy, saveNpy } from "robustlens/node";

export const R50 = { label: "ResNet-50 (ImageNet, 3×224×224)", batch: 8, eps: 3, classes: 1000 };
const PY = "/usr/bin/python3";

/** Writes dir/r50.pt (robustness format), dir/r50.onnx (converted) and dir/r50_x.npy, r50_y.npy (batch 8). */
export async function prepareR50(dir) {
  const ckpt = join(dir, "r50.pt");
  execFileSync(PY, ["scripts/make_robustness_checkpoint.py", "--arch", "resnet50", "--dataset", "imagenet", "--out", ckpt, "--seed", "5"]);
  const out = join(dir, "r50-model");
  execFileSync(process.execPath, [
    "bin/robustlens.js",
    "convert",
    "--from",
    "robustness",
    ckpt,
    "--arch",
    "resnet50",
    "--dataset",
    "imagenet",
    "--out",
    out,
  ]);
  execFileSync("cp", [join(out, "model.onnx"), join(dir, "r50.onnx")]);
  const rng = new Rng(50),
    n = R50.batch,
    size = n * 3 * 224 * 224;
  await saveNpy(
    join(dir, "r50_x.npy"),
    tensor(
      "float32",
      [n, 3, 224, 224],
      Float32Array.from({ length: size }, () => rng.next()),
    ),
  );
  await saveNpy(
    join(dir, "r50_y.npy"),
    tensor(
      "int64",
      [n],
      Array.from({ length: n }, () => Math.floor(rng.next() * R50.classes)),
    ),
  );
}

/** The robustlens side: the step program the attacks run, compiled once on a Session. */
export async function makeR50Workload({ exec, assets }) {
  const file = join(assets, "r50.onnx");
  const model = new Model(new Uint8Array((await import("node:fs")).readFileSync(file)), file);
  const x = await loadNpy(join(assets, "r50_x.npy")),
    y = await loadNpy(join(assets, "r50_y.npy"));
  const n = R50.batch,
    loss = ceLoss(y),
    session = new Session(exec);
  const p = await attackPrograms(session, model, n, loss, threatModel({ kind: "l2", eps: R50.eps }));
  const feeds = {
    ...loss.feeds,
    [model.inputName]: x,
    x0: x,
    best_x: x,
    best_obj: tensor("float32", [n], new Float32Array(n).fill(-Infinity)),
    alpha: tensor("float32", [n, 1, 1, 1], new Float32Array(n).fill((2.5 * R50.eps) / 10)),
  };
  return {
    check: async () => {
      const o = await p.step.run(feeds);
      return { x_next: o[p.names.xNext], obj: o[p.names.obj], logits: o[p.names.logits] };
    },
    run: () => p.step.run(feeds),
    dispose: () => session.dispose(),
  };
}
