// What a shard names as its inputs (absolute paths with content hashes) and how a worker loads them: only under its
// --allow folders, and only when the bytes are the submitter's (so every machine evaluates the same model and data).
import { createHash } from "node:crypto";
import { readFile, realpath } from "node:fs/promises";
import { resolve, sep } from "node:path";
import { parseDataSpec } from "../../data/spec.js";
import { Model } from "../../model/model.js";
import { type LabeledImages, loadDataSpec } from "../data-spec.js";

/** A model file as a job names it. */
export interface ModelRef {
  path: string;
  sha256: string;
}

/** A `--data` spec with absolute paths and the hash of the images and labels of its first n examples. */
export interface DataRef {
  spec: string;
  n: number;
  sha256: string;
}

export const sha256 = (b: Uint8Array | string): string => createHash("sha256").update(b).digest("hex");

/** Hashes the first n images and labels (their bytes, so any change to a pixel or label changes it). */
export function dataHash(d: LabeledImages, n: number): string {
  const per = d.images.data.length / d.images.shape[0]!;
  const h = createHash("sha256");
  h.update(JSON.stringify(d.images.shape.slice(1)));
  h.update(new Uint8Array(d.images.data.buffer, d.images.data.byteOffset, n * per * 4));
  h.update(new Uint8Array(d.labels.data.buffer, d.labels.data.byteOffset, n * 8));
  return h.digest("hex");
}

/** The spec with its paths made absolute against `cwd`, and those paths (empty for built-in datasets). */
export function absoluteSpec(spec: string, cwd: string): { spec: string; paths: string[] } {
  const s = parseDataSpec(spec);
  const q = spec.lastIndexOf("?");
  const query = q >= 0 ? spec.slice(q) : "";
  const paths = s.kind === "npy" ? [resolve(cwd, s.images), resolve(cwd, s.labels)] : s.dir ? [resolve(cwd, s.dir)] : [];
  return { spec: paths.length ? `${s.kind}:${paths.join(",")}${query}` : spec, paths };
}

/** An IMAGES argument (see loadImages: SPEC[:INDICES], X.npy[:INDICES], FILE_OR_DIR[,...]) with absolute paths, and those paths. */
export function absoluteImages(arg: string, cwd: string): { arg: string; paths: string[] } {
  // a last ":" segment of digits, commas and dashes is an index list (loadImages reads it so too)
  const colon = arg.lastIndexOf(":");
  const indexed = colon >= 0 && /^[\d,-]+$/.test(arg.slice(colon + 1));
  const source = indexed ? arg.slice(0, colon) : arg;
  const tail = indexed ? arg.slice(colon) : "";
  if (/^(mnist|fashion-mnist|cifar10|folder|npy)(:|\?|$)/.test(source)) {
    const s = absoluteSpec(source, cwd);
    return { arg: s.spec + tail, paths: s.paths };
  }
  const paths = source
    .split(",")
    .filter(Boolean)
    .map((p) => resolve(cwd, p));
  return { arg: paths.join(",") + tail, paths };
}

export async function modelRef(path: string): Promise<ModelRef> {
  const abs = resolve(path);
  return { path: abs, sha256: sha256(new Uint8Array(await readFile(abs))) };
}

/** The worker's view of what it may read. */
export class AllowedRoots {
  private constructor(
    private readonly roots: string[],
    private readonly given: string,
  ) {}

  static async of(dirs: readonly string[]): Promise<AllowedRoots> {
    const roots: string[] = [];
    for (const d of dirs) {
      try {
        roots.push(await realpath(d));
      } catch {
        throw new Error(`--allow ${d}: no such folder`);
      }
    }
    return new AllowedRoots(roots, dirs.join(","));
  }

  /** The real path of `path` when it lies under an allowed root (symlinks followed); else a one-line refusal. */
  async check(what: string, path: string): Promise<string> {
    let real: string;
    try {
      real = await realpath(path);
    } catch {
      throw new Error(`${what} ${path}: no such file on this worker`);
    }
    if (!this.roots.some((r) => real === r || real.startsWith(r.endsWith(sep) ? r : r + sep)))
      throw new Error(`${what} ${path} is outside the folders this worker may read (--allow ${this.given}); refusing it`);
    return real;
  }
}

/** Loads job inputs on a worker, keeping the last few models and datasets (shards of one job share them). */
export class InputCache {
  private models = new Map<string, Model>();
  private data = new Map<string, LabeledImages>();
  private other = new Map<string, unknown>();

  constructor(readonly allow: AllowedRoots) {}

  /** `load()`'s value, kept under `key` (a content hash) for the next shards. */
  async memo<V>(key: string, load: () => Promise<V>): Promise<V> {
    if (this.other.has(key)) return this.other.get(key) as V;
    const v = await load();
    keep(this.other, key, v);
    return v;
  }

  async model(ref: ModelRef): Promise<Model> {
    const key = `${ref.path}\0${ref.sha256}`;
    const hit = this.models.get(key);
    if (hit) return hit;
    const real = await this.allow.check("model", ref.path);
    const bytes: Uint8Array = await readFile(real);
    if (sha256(bytes) !== ref.sha256)
      throw new Error(
        `model ${ref.path} on this worker differs from the submitter's (sha256 ${sha256(bytes).slice(0, 12)}, expected ${ref.sha256.slice(0, 12)})`,
      );
    const m = new Model(bytes, ref.path);
    keep(this.models, key, m);
    return m;
  }

  async dataset(ref: DataRef): Promise<LabeledImages> {
    const key = `${ref.spec}\0${ref.sha256}`;
    const hit = this.data.get(key);
    if (hit) return hit;
    for (const p of absoluteSpec(ref.spec, "/").paths) await this.allow.check("data", p);
    const d = await loadDataSpec(ref.spec);
    if (d.images.shape[0]! < ref.n)
      throw new Error(`data "${ref.spec}" on this worker has ${d.images.shape[0]} images, the job needs ${ref.n}`);
    if (dataHash(d, ref.n) !== ref.sha256)
      throw new Error(`data "${ref.spec}" on this worker differs from the submitter's (hash of the first ${ref.n} images and labels)`);
    keep(this.data, key, d);
    return d;
  }
}

/** Inserts into a small cache, dropping the oldest entry beyond four. */
function keep<V>(m: Map<string, V>, k: string, v: V): void {
  m.set(k, v);
  if (m.size > 4) m.delete(m.keys().next().value!);
}
