// Image-folder datasets (one subfolder per class, PNG/JPEG), decoded and resized with sharp.
import { readdir } from "node:fs/promises";
import { extname, join } from "node:path";
import { type Dataset, channelStats, holdout, makeDataset } from "../dataset.js";
import { exists, fsReason } from "./read.js";

export interface FolderOptions {
  /** Side of the square output images (default 32): resized to cover, then centre-cropped, keeping aspect ratio. */
  size?: number;
  channels?: 1 | 3;
  /** Without train/ and test/ subfolders: fraction held out (seeded) as the test split; otherwise both splits are the whole folder. */
  holdout?: number;
  /** Whether left-right flips keep the class (default true: natural photos). */
  flip?: boolean;
}

const IMAGE_EXT = new Set([".png", ".jpg", ".jpeg"]);
const PARALLEL = 16;

async function listDir(dir: string, what: "dirs" | "images"): Promise<string[]> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (e) {
    throw new Error(`folder: cannot read ${dir}: ${fsReason(e)}`);
  }
  // Hidden entries (.DS_Store, .git) are never classes or images; sorting fixes class indices across machines.
  return entries
    .filter(
      (e) => !e.name.startsWith(".") && (what === "dirs" ? e.isDirectory() : e.isFile() && IMAGE_EXT.has(extname(e.name).toLowerCase())),
    )
    .map((e) => e.name)
    .sort();
}

/** `folder:DIR` for one split: DIR/<split>/<class>/*.png when DIR has train/ and test/, else DIR/<class>/*.png. */
export async function loadFolder(dir: string, split: "train" | "test", o: FolderOptions = {}): Promise<Dataset> {
  const size = o.size ?? 32,
    channels = o.channels ?? 3;
  if (!(await exists(dir))) throw new Error(`folder: no directory ${dir}`);
  const hasSplits = (await exists(join(dir, "train"))) && (await exists(join(dir, "test")));
  if (hasSplits && o.holdout !== undefined) throw new Error(`folder: ${dir} already has train/ and test/; holdout does not apply`);
  // With split folders, classes are the union of both, so a class missing from one split keeps its index.
  const classes = hasSplits
    ? [...new Set([...(await listDir(join(dir, "train"), "dirs")), ...(await listDir(join(dir, "test"), "dirs"))])].sort()
    : await listDir(dir, "dirs");
  if (classes.length === 0) throw new Error(`folder: ${dir} has no class subfolders (expected DIR/<class>/*.png)`);
  const root = hasSplits ? join(dir, split) : dir;
  const files: { path: string; label: number }[] = [];
  for (const [label, cls] of classes.entries()) {
    const cdir = join(root, cls);
    if (!(await exists(cdir))) continue;
    for (const f of await listDir(cdir, "images")) files.push({ path: join(cdir, f), label });
  }
  if (files.length === 0) throw new Error(`folder: no PNG or JPEG images under ${root}/<class>/`);
  const { default: sharp } = await import("sharp");
  const per = channels * size * size;
  const images = new Uint8Array(files.length * per);
  const decode = async (i: number) => {
    const { path } = files[i]!;
    let raw: { data: Buffer; info: { channels: number } };
    try {
      const img = sharp(path, { failOn: "error" })
        .autoOrient()
        .resize(size, size, { fit: "cover" })
        .flatten({ background: "#000000" })
        .toColourspace("srgb");
      raw = await img.raw().toBuffer({ resolveWithObject: true });
    } catch (e) {
      throw new Error(`${path}: cannot decode image (${String((e as Error).message).split("\n")[0]})`);
    }
    const hw = size * size;
    if (raw.info.channels !== 3 || raw.data.length !== 3 * hw)
      throw new Error(`internal: ${path} decoded to ${raw.info.channels} channels, ${raw.data.length} bytes`);
    // sharp gives HWC; datasets are CHW.
    const out = images.subarray(i * per, (i + 1) * per);
    const d = raw.data;
    if (channels === 3) for (let p = 0; p < hw; p++) for (let c = 0; c < 3; c++) out[c * hw + p] = d[p * 3 + c]!;
    // Gray as PIL's convert("L") computes it (ITU-R 601 weights on sRGB values), so it matches torchvision pipelines.
    else for (let p = 0; p < hw; p++) out[p] = (d[3 * p]! * 19595 + d[3 * p + 1]! * 38470 + d[3 * p + 2]! * 7471 + 0x8000) >>> 16;
  };
  for (let i = 0; i < files.length; i += PARALLEL) {
    await Promise.all(files.slice(i, i + PARALLEL).map((_, k) => decode(i + k)));
  }
  const shape: [number, number, number] = [channels, size, size];
  const full = makeDataset({
    name: `folder:${dir} (${split})`,
    classes,
    shape,
    size: files.length,
    images,
    labels: Int32Array.from(files, (f) => f.label),
    norm: channelStats(images, shape),
    hflip: o.flip ?? true,
  });
  if (hasSplits || o.holdout === undefined) return full;
  const part = holdout(full, o.holdout, split);
  // Normalization comes from the training part only, and both splits must carry the same constants.
  const train = split === "train" ? part : holdout(full, o.holdout, "train");
  return { ...part, norm: channelStats(train.images, shape) };
}
