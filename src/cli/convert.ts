// `robustlens convert --from robustness`: a robustness-library checkpoint → model.onnx (normalizer inside) + model.json.
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rename, rm, stat } from "node:fs/promises";
import { basename, dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { writeAtomic } from "../data/node/atomic.js";
import { loadNpy } from "../data/node/npy-file.js";
import { CIFAR10_CLASSES } from "../data/catalog.js";
import { forward } from "../model/forward.js";
import { Model } from "../model/model.js";
import { checkOutputs } from "./paths.js";
import { session } from "./session.js";

export const CONVERT_SOURCES = ["robustness"] as const;
export const CONVERT_DATASETS = ["cifar", "imagenet"] as const;

export interface ConvertOptions {
  from: (typeof CONVERT_SOURCES)[number];
  arch: string;
  dataset: (typeof CONVERT_DATASETS)[number];
  out: string;
  overwrite?: boolean;
  trustPickle?: boolean;
  /** The Python with PyTorch that reads the checkpoint (default: $ROBUSTLENS_PYTHON, else /usr/bin/python3). */
  python?: string;
}

/** What the Python helper reports beside model.onnx (scripts/robustness_convert.py). */
interface HelperInfo {
  classes: number;
  class_names: string[] | null;
  mean: number[];
  std: number[];
  epoch: number | null;
  input: number[];
  torch: string;
  keys_prefix: string;
}

const OUTPUTS = ["model.onnx", "model.json"];
// float32 logits of the same graph in two runtimes: measured ≤ 1e-6 apart, so 1e-4 only catches a wrong conversion
const LOGIT_TOLERANCE = 1e-4;
const SCRIPT = resolve(dirname(fileURLToPath(import.meta.url)), "../../../scripts/robustness_convert.py");
const DATASET_NAME = { cifar: "cifar10", imagenet: "imagenet" } as const;

const f32 = (v: number) => Number(v.toPrecision(7));
const python = (o: ConvertOptions) => o.python ?? process.env.ROBUSTLENS_PYTHON ?? "/usr/bin/python3";

function runHelper(py: string, args: string[]): Promise<void> {
  const missing = `convert needs Python 3 with PyTorch and ONNX at ${py} (Debian: apt-get install python3-torch python3-onnx; or set ROBUSTLENS_PYTHON)`;
  return new Promise((done, fail) => {
    execFile(py, [SCRIPT, ...args], { maxBuffer: 16 << 20 }, (err, _stdout, stderr) => {
      if (!err) return done();
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return fail(new Error(missing));
      if (/No module named '(torch|onnx|numpy)'/.test(stderr))
        return fail(new Error(`${missing}: ${stderr.match(/No module named '\w+'/)![0]}`));
      const line = stderr.split("\n").find((l) => l.startsWith("error: "));
      const last = stderr.trim().split("\n").slice(-1)[0] ?? "";
      fail(new Error(line ? line.slice("error: ".length) : `convert: ${basename(SCRIPT)} failed (${err.code ?? err.signal}): ${last}`));
    });
  });
}

/** max |a − b| / max |b|: the logits agree as vectors, not only where they are large. */
function maxRelative(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let num = 0,
    den = 0;
  for (let i = 0; i < b.length; i++) {
    num = Math.max(num, Math.abs(a[i]! - b[i]!));
    den = Math.max(den, Math.abs(b[i]!));
  }
  return num / (den || 1);
}

export async function convertCommand(checkpoint: string, o: ConvertOptions): Promise<void> {
  const ckpt = resolve(checkpoint);
  let st;
  try {
    st = await stat(ckpt);
  } catch {
    throw new Error(`cannot read checkpoint ${ckpt}: no such file`);
  }
  if (!st.isFile()) throw new Error(`checkpoint ${ckpt}: not a file`);
  await checkOutputs([{ flag: "--out", path: o.out, kind: "dir", dirFiles: OUTPUTS }], [ckpt]);
  const held = OUTPUTS.filter((f) => existsSync(join(o.out, f)));
  if (held.length && !o.overwrite)
    throw new Error(`--out ${o.out} holds a model (${held.join(", ")}); pass --overwrite to replace it or choose another --out`);
  await mkdir(o.out, { recursive: true });
  // the helper writes into a folder beside the outputs, so nothing there changes until the result has been checked
  const work = await mkdtemp(join(o.out, ".convert-"));
  try {
    const args = ["--ckpt", ckpt, "--arch", o.arch, "--dataset", o.dataset, "--work", work];
    await runHelper(python(o), o.trustPickle ? [...args, "--trust-pickle"] : args);
    const info = JSON.parse(await readFile(join(work, "info.json"), "utf8")) as HelperInfo;
    const onnxPath = join(work, "model.onnx");
    const model = new Model(await readFile(onnxPath), join(o.out, "model.onnx"));
    const probe = await loadNpy(join(work, "probe_x.npy"));
    const want = await loadNpy(join(work, "probe_logits.npy"));
    const got = await forward(session, model, probe);
    const err = maxRelative(got.data as Float32Array, want.data as Float32Array);
    if (!(err <= LOGIT_TOLERANCE))
      throw new Error(
        `convert: ${o.arch} from ${ckpt}: robustlens' logits differ from PyTorch's by ${err.toExponential(2)} (relative) on ${probe.shape[0]} probe images; the conversion is wrong`,
      );
    const rep = model.representation();
    const classes = info.class_names ?? (o.dataset === "cifar" && info.classes === 10 ? CIFAR10_CLASSES : undefined);
    const meta = {
      dataset: DATASET_NAME[o.dataset],
      ...(classes ? { classes } : {}),
      num_classes: info.classes,
      // float32 values printed as the decimals they came from (0.4914, not 0.49140000343322754)
      normalization: { mean: info.mean.map(f32), std: info.std.map(f32) },
      arch: o.arch,
      width: 1,
      source: {
        from: o.from,
        checkpoint: ckpt,
        sha256: createHash("sha256")
          .update(await readFile(ckpt))
          .digest("hex"),
        keys: `${info.keys_prefix}*`,
        torch: info.torch,
      },
      epoch: info.epoch,
      representation: { name: rep.name, shape: rep.shape, fakeRelu: rep.fakeRelu ?? null },
      check: { probe_images: probe.shape[0], max_relative_logit_error: err },
    };
    await rename(onnxPath, join(o.out, "model.onnx"));
    await writeAtomic(join(o.out, "model.json"), JSON.stringify(meta, null, 2) + "\n");
    process.stdout.write(
      `converted ${basename(ckpt)} (${o.arch}, ${o.dataset}, ${info.classes} classes${info.epoch === null ? "" : `, epoch ${info.epoch}`}) → ${join(o.out, "model.onnx")}, model.json; ` +
        `logits match PyTorch within ${err.toExponential(1)} on ${probe.shape[0]} images; R = "${rep.name}" [${rep.shape.join(",")}]\n`,
    );
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
