// Mutation fuzzing of the file readers (ONNX, .npy, IDX raw and gzipped, checkpoints): the only allowed outcomes are
// success or one clean line naming the file. Shared by test/fuzz.test.ts (bounded) and scripts/fuzz.mjs (long runs).
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { Model, Rng, decodeCheckpoint, encodeCheckpoint, parseNpy, serializeIdx, serializeNpy, tensor } from "robustlens";
import { checkCheckpointState, nodeExecutor, readIdx } from "robustlens/node";

export type Target = "onnx" | "npy" | "idx" | "idx.gz" | "checkpoint";
export const TARGETS: readonly Target[] = ["onnx", "npy", "idx", "idx.gz", "checkpoint"];

export interface FuzzOptions {
  seed: number;
  /** Stop after this many cases in total, or … */
  cases?: number;
  /** … after this many milliseconds (whichever comes first). */
  millis?: number;
  /** Also build an onnxruntime session for mutated models that import (slower; default every 8th). */
  compileEvery?: number;
  targets?: readonly Target[];
}

export interface FuzzReport {
  cases: number;
  byTarget: Record<string, { cases: number; ok: number; rejected: number }>;
  /** Bad outcomes: multi-line, internal, stack traces, TypeError/RangeError, messages without the file name, slow cases. */
  failures: { target: Target; mutation: string; error: string }[];
  slowestMs: number;
}

const SLOW_MS = 5000;

function corpus(dir: string): Record<Target, Uint8Array[]> {
  const fx = (p: string) => new Uint8Array(readFileSync(join("test/fixtures", p)));
  const idxImages = serializeIdx(
    [6, 4, 5],
    Uint8Array.from({ length: 120 }, (_, i) => (i * 37) % 256),
  );
  const idxLabels = serializeIdx([6], Uint8Array.from([0, 1, 2, 3, 4, 5]));
  const ck = encodeCheckpoint({
    state: {
      epoch: 1,
      history: [0, 1].map((e) => ({
        epoch: e,
        lr: 0.1,
        train_loss: 1,
        train_acc: 0.5,
        test_acc: 0.5,
        adv_acc: null,
        seconds: 1,
        images_per_second: 10,
      })),
      options: { arch: "small-cnn" },
    },
    tensors: new Map([
      ["w", tensor("float32", [2, 3], [1, 2, 3, 4, 5, 6])],
      ["momentum:w", tensor("float32", [2, 3])],
      ["b", tensor("float32", [2], [0.5, -0.5])],
    ]),
  });
  void dir;
  return {
    onnx: [fx("smallnet/model.onnx")],
    npy: [fx("smallnet/labels.npy"), fx("smallnet/logits.npy"), serializeNpy(tensor("uint8", [2, 1, 2, 2], [0, 1, 2, 3, 4, 5, 6, 7]))],
    idx: [idxImages, idxLabels],
    "idx.gz": [new Uint8Array(gzipSync(idxImages)), new Uint8Array(gzipSync(idxLabels))],
    checkpoint: [ck],
  };
}

const INTERESTING = [0, 1, 0x7f, 0x80, 0xff, 0xfe, 0x3f, 0x40, 0x20, 0x0a, 0x0d, 0x1b, 0x28, 0x5b, 0x7b];

/** One random mutation of `b`: bit flips, interesting bytes, truncation, growth, chunk copies/removals, header edits. */
function mutate(b: Uint8Array, rng: Rng, target: Target): { bytes: Uint8Array; what: string } {
  const pos = () => rng.int(Math.max(1, b.length));
  // mutations mostly near the start, where the headers are
  const headPos = () => (rng.next() < 0.7 ? rng.int(Math.min(b.length, 256) || 1) : pos());
  const kind = rng.int(9);
  const out = Uint8Array.from(b);
  switch (kind) {
    case 0: {
      const n = 1 + rng.int(8);
      for (let i = 0; i < n; i++) {
        const p = headPos();
        out[p] = out[p]! ^ (1 << rng.int(8));
      }
      return { bytes: out, what: `flip ${n} bits` };
    }
    case 1: {
      const p = headPos();
      out[p] = INTERESTING[rng.int(INTERESTING.length)]!;
      return { bytes: out, what: `byte ${p} = ${out[p]}` };
    }
    case 2: {
      const n = rng.int(b.length + 1);
      return { bytes: b.slice(0, n), what: `truncate to ${n}` };
    }
    case 3: {
      const n = 1 + rng.int(64);
      const g = new Uint8Array(b.length + n);
      g.set(b);
      for (let i = b.length; i < g.length; i++) g[i] = rng.int(256);
      return { bytes: g, what: `append ${n}` };
    }
    case 4: {
      const p = headPos(),
        n = 1 + rng.int(16);
      const g = new Uint8Array(b.length + n);
      g.set(b.subarray(0, p));
      for (let i = 0; i < n; i++) g[p + i] = rng.int(256);
      g.set(b.subarray(p), p + n);
      return { bytes: g, what: `insert ${n} at ${p}` };
    }
    case 5: {
      const p = headPos(),
        n = 1 + rng.int(32);
      const g = new Uint8Array(Math.max(0, b.length - n));
      g.set(b.subarray(0, p).subarray(0, g.length));
      if (p + n < b.length) g.set(b.subarray(p + n), p);
      return { bytes: g, what: `delete ${n} at ${p}` };
    }
    case 6: {
      const p = headPos(),
        q = headPos(),
        n = 1 + rng.int(16);
      out.copyWithin(p, q, q + n);
      return { bytes: out, what: `copy ${n} from ${q} to ${p}` };
    }
    case 7: {
      const p = headPos();
      const v = [0xff, 0xff, 0xff, 0x7f];
      for (let i = 0; i < 4 && p + i < out.length; i++) out[p + i] = v[i]!;
      return { bytes: out, what: `max int at ${p}` };
    }
    default:
      // structural edits need a well-formed input (the seed); on an already mutated one, fall back to byte edits
      try {
        return structural(b, rng, target);
      } catch {
        return mutate(b, rng, target === "npy" ? "idx" : "npy");
      }
  }
}

/** Edits that keep the container valid so the checks behind it run: .npy header text, checkpoint JSON (re-checksummed), gzip of edited IDX. */
function structural(b: Uint8Array, rng: Rng, target: Target): { bytes: Uint8Array; what: string } {
  const pick = <T>(a: readonly T[]) => a[rng.int(a.length)]!;
  if (target === "npy") {
    const t = parseNpy(b);
    const shape = t.shape.map((d) => (rng.next() < 0.5 ? d : pick([-1, 0, 2 ** 31, 2 ** 53, 1e300, d + 1])));
    const nest = rng.next() < 0.2 ? "(".repeat(100 + rng.int(5000)) : "";
    const text = `{'descr': '${pick(["<f4", "<f8", "|u1", "<i8", "<c8", ">f4", "|O"])}', 'fortran_order': ${pick(["False", "True", "0"])}, 'shape': ${nest}(${shape.join(", ")},), }`;
    const header = text.padEnd(Math.ceil((text.length + 11) / 64) * 64 - 11, " ") + "\n";
    const body = b.subarray(b.length - t.data.byteLength);
    const out = new Uint8Array(10 + header.length + body.length);
    out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]);
    new DataView(out.buffer).setUint16(8, header.length, true);
    for (let i = 0; i < header.length; i++) out[10 + i] = header.charCodeAt(i) & 0xff;
    out.set(body, 10 + header.length);
    return { bytes: out, what: `npy header ${text.slice(0, 80)}` };
  }
  if (target === "checkpoint") {
    const ck = decodeCheckpoint(b, "seed");
    const state: Record<string, unknown> = JSON.parse(JSON.stringify(ck.state));
    const tensors = new Map(ck.tensors);
    const bad = pick([-5, "abc", null, 1e300, 2 ** 53, {}, [], 0.5]);
    const edit = rng.int(4);
    if (edit === 0) state.epoch = bad;
    else if (edit === 1) state.history = pick([bad, [bad], "x"]);
    else if (edit === 2) (state.history as Record<string, unknown>[])[0]![pick(["epoch", "lr", "test_acc", "adv_acc"])] = bad;
    else tensors.set("w", tensor("float32", [2, 3], [NaN, Infinity, 0, 0, 0, 0]));
    // re-encode, then damage the index and fix the checksum, so the field checks (not the CRC) see it
    let bytes = encodeCheckpoint({ state, tensors });
    if (rng.next() < 0.5) {
      const len = new DataView(bytes.buffer).getUint32(8, true);
      const text = new TextDecoder()
        .decode(bytes.subarray(12, 12 + len))
        .replace(/"offset":(\d+)/, (_, o) => `"offset":${pick([-40, Number(o) + 4, 1e12, -1])}`)
        .replace(/"shape":\[2,3\]/, rng.next() < 0.5 ? '"shape":[-2,3]' : '"shape":[2,3]');
      const enc = new TextEncoder().encode(text);
      const out = new Uint8Array(12 + enc.length + (bytes.length - 12 - len));
      out.set(bytes.subarray(0, 12));
      new DataView(out.buffer).setUint32(8, enc.length, true);
      out.set(enc, 12);
      out.set(bytes.subarray(12 + len), 12 + enc.length);
      bytes = withCrc(out);
    }
    return { bytes, what: `checkpoint field edit ${edit}` };
  }
  if (target === "idx.gz") {
    const raw = new Uint8Array(gzipUnzip(b));
    const out = Uint8Array.from(raw);
    const p = rng.int(Math.min(out.length, 16));
    out[p] = pick([0, 1, 0xff, 0x08, 0x0d]);
    if (rng.next() < 0.3) {
      out[4] = 0x7f;
      out[5] = 0xff;
    }
    const grown = rng.next() < 0.2 ? concat(out, new Uint8Array(1 << 16)) : out;
    return { bytes: new Uint8Array(gzipSync(grown)), what: `gzip of IDX with byte ${p} edited` };
  }
  const out = Uint8Array.from(b);
  for (let i = 0; i < 4 && i < out.length; i++) out[rng.int(Math.min(out.length, 24))] = rng.int(256);
  return { bytes: out, what: "header bytes" };
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const o = new Uint8Array(a.length + b.length);
  o.set(a);
  o.set(b, a.length);
  return o;
}

function withCrc(withOld: Uint8Array): Uint8Array {
  // the trailing 4 bytes are the CRC of everything before them
  const body = withOld.subarray(0, withOld.length - 4);
  let c = 0xffffffff;
  for (const byte of body) {
    c ^= byte;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  }
  const out = Uint8Array.from(withOld);
  new DataView(out.buffer).setUint32(out.length - 4, (c ^ 0xffffffff) >>> 0, true);
  return out;
}

import { gunzipSync } from "node:zlib";
const gzipUnzip = (b: Uint8Array) => gunzipSync(b);

/** Why an error is not a clean one-line refusal naming `source`, or undefined when it is. */
export function badError(e: unknown, source: string): string | undefined {
  if (!(e instanceof Error)) return `threw a non-Error ${String(e)}`;
  if (e.constructor !== Error) return `${e.constructor.name}: ${e.message}`;
  const m = e.message;
  if (m.includes("\n")) return `multi-line: ${JSON.stringify(m.slice(0, 200))}`;
  if (/internal|Maximum call stack|is not a function|Cannot read prop|undefined|Invalid typed array|Array buffer allocation|NaN/.test(m))
    return `leaks: ${m.slice(0, 200)}`;
  if (/[\x00-\x1f\x7f-\x9f]/.test(m)) return `control characters: ${JSON.stringify(m.slice(0, 200))}`;
  if (!m.includes(source)) return `does not name the file: ${m.slice(0, 200)}`;
  return undefined;
}

async function readAs(target: Target, bytes: Uint8Array, path: string, compile: boolean): Promise<void> {
  switch (target) {
    case "onnx": {
      const m = new Model(bytes, path);
      if (compile) {
        const p = await nodeExecutor.compile(m.graph(1)).catch((e: Error) => {
          throw new Error(`${path}: ${e.message}`);
        });
        await p.dispose();
      }
      return;
    }
    case "npy":
      parseNpy(bytes, path);
      return;
    case "idx":
    case "idx.gz":
      writeFileSync(path, bytes);
      await readIdx(path, bytes.length % 2 ? 3 : undefined);
      return;
    case "checkpoint": {
      const ck = decodeCheckpoint(bytes, path);
      checkCheckpointState(ck.state, 10, path);
      for (const [k, t] of ck.tensors)
        for (const v of t.data) if (!Number.isFinite(v)) throw new Error(`${path}: tensor "${k}" is not finite`);
    }
  }
}

export async function fuzz(o: FuzzOptions): Promise<FuzzReport> {
  const dir = mkdtempSync(join(tmpdir(), "robustlens-fuzz-"));
  const seeds = corpus(dir);
  const rng = new Rng(o.seed);
  const targets = o.targets ?? TARGETS;
  const report: FuzzReport = { cases: 0, byTarget: {}, failures: [], slowestMs: 0 };
  const t0 = Date.now();
  const compileEvery = o.compileEvery ?? 8;
  try {
    while ((o.cases === undefined || report.cases < o.cases) && (o.millis === undefined || Date.now() - t0 < o.millis)) {
      const target = targets[report.cases % targets.length]!;
      const pool = seeds[target];
      const seed = pool[rng.int(pool.length)]!;
      let m = mutate(seed, rng, target);
      if (rng.next() < 0.3) m = { bytes: mutate(m.bytes, rng, target).bytes, what: `${m.what} + more` };
      const path = join(dir, `case-${report.cases}.${target}`);
      const stat = (report.byTarget[target] ??= { cases: 0, ok: 0, rejected: 0 });
      stat.cases++;
      report.cases++;
      const s0 = Date.now();
      try {
        await readAs(target, m.bytes, path, target === "onnx" && stat.cases % compileEvery === 0);
        stat.ok++;
      } catch (e) {
        stat.rejected++;
        const why = badError(e, path);
        if (why) report.failures.push({ target, mutation: m.what, error: why });
      }
      const ms = Date.now() - s0;
      report.slowestMs = Math.max(report.slowestMs, ms);
      if (ms > SLOW_MS) report.failures.push({ target, mutation: m.what, error: `took ${ms} ms` });
      rmSync(path, { force: true });
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return report;
}
