// `robustlens data fetch`: the official dataset files, checksum-verified, written atomically (temp file + rename).
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { mkdir, open, readFile, rename, unlink } from "node:fs/promises";
import { basename, join } from "node:path";
import { gunzip } from "node:zlib";
import { promisify } from "node:util";
import { CIFAR10_FILES, KNOWN_DATASETS, type KnownDataset } from "../catalog.js";
import { parseCifarBatch } from "../cifar.js";
import { parseTar } from "../tar.js";
import { tempPath, writeAtomic } from "./atomic.js";
import { exists, fsReason } from "./read.js";

interface Source {
  /** Tried in order; every mirror must serve byte-identical files. */
  mirrors: string[];
  /** File name → "md5:HEX" or "sha256:HEX" as published by the dataset's authors. */
  files: Record<string, string>;
  /** Archive to unpack into the directory instead of keeping it (its checksum is the published one). */
  extract?: "cifar10";
}

// Published checksums (all three publish MD5 only): MNIST as torchvision lists them for LeCun's files,
// Fashion-MNIST from its README, CIFAR-10 (binary version) from its page.
export const SOURCES: Record<KnownDataset, Source> = {
  mnist: {
    // LeCun's own site often refuses scripted downloads, so PyTorch's byte-identical copy comes first.
    mirrors: ["https://ossci-datasets.s3.amazonaws.com/mnist/", "http://yann.lecun.com/exdb/mnist/"],
    files: {
      "train-images-idx3-ubyte.gz": "md5:f68b3c2dcbeaaa9fbdd348bbdeb94873",
      "train-labels-idx1-ubyte.gz": "md5:d53e105ee54ea40749a09fcbcd1e9432",
      "t10k-images-idx3-ubyte.gz": "md5:9fb629c4189551a2d022fa330f9573f3",
      "t10k-labels-idx1-ubyte.gz": "md5:ec29112dd5afa0611ce80d1b7f02629c",
    },
  },
  "fashion-mnist": {
    mirrors: [
      "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/",
      "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
    ],
    files: {
      "train-images-idx3-ubyte.gz": "md5:8d4fb7e6c68d591d4c3dfef9ec88bf0d",
      "train-labels-idx1-ubyte.gz": "md5:25c81989df183df01b3e8a0aad5dffbe",
      "t10k-images-idx3-ubyte.gz": "md5:bef4ecab320f06d8554ea6380940ec79",
      "t10k-labels-idx1-ubyte.gz": "md5:bb300cfdad3c16e7a12a480ee83cd310",
    },
  },
  cifar10: {
    mirrors: ["https://www.cs.toronto.edu/~kriz/"],
    files: { "cifar-10-binary.tar.gz": "md5:c32a1d4ab5d03f1284b67883e8d87530" },
    extract: "cifar10",
  },
};

export interface FetchEvent {
  file: string;
  status: "downloaded" | "present";
  url?: string;
  bytes?: number;
}

export interface FetchOptions {
  dir: string;
  /** Replaces the official mirrors (a local mirror, or a test server). */
  baseUrl?: string;
  /** File name → "md5:HEX" | "sha256:HEX", replacing the published checksum of that file (for mirrors that recompress). */
  checksums?: Record<string, string>;
  /** Give up on a connection that sends nothing for this long (default 60 s). */
  idleTimeoutMs?: number;
  onFile?: (e: FetchEvent) => void;
}

type Algo = "md5" | "sha256";

function parseChecksum(text: string, where: string): { algo: Algo; hex: string } {
  const m = /^(md5|sha256):([0-9a-fA-F]+)$/.exec(text);
  if (!m || m[2]!.length !== (m[1] === "md5" ? 32 : 64))
    throw new Error(`${where}: checksum "${text}" is not md5:<32 hex digits> or sha256:<64 hex digits>`);
  return { algo: m[1] as Algo, hex: m[2]!.toLowerCase() };
}

export async function fetchDataset(name: string, o: FetchOptions): Promise<{ dir: string; files: string[] }> {
  if (!(KNOWN_DATASETS as readonly string[]).includes(name))
    throw new Error(`fetch: unknown dataset "${name}" (one of ${KNOWN_DATASETS.join(", ")})`);
  const src = SOURCES[name as KnownDataset];
  for (const f of Object.keys(o.checksums ?? {}))
    if (!(f in src.files))
      throw new Error(`fetch ${name}: checksum given for "${f}", which is not one of its files (${Object.keys(src.files).join(", ")})`);
  const mirrors = o.baseUrl ? [o.baseUrl.endsWith("/") ? o.baseUrl : `${o.baseUrl}/`] : src.mirrors;
  try {
    await mkdir(o.dir, { recursive: true });
  } catch (e) {
    throw new Error(`fetch ${name}: cannot create ${o.dir}: ${fsReason(e)}`);
  }
  if (src.extract === "cifar10") {
    const wanted = [...CIFAR10_FILES.train, ...CIFAR10_FILES.test, CIFAR10_FILES.meta];
    const present = await Promise.all(wanted.map((f) => exists(join(o.dir, f))));
    if (present.every(Boolean)) {
      o.onFile?.({ file: "cifar-10-batches-bin", status: "present" });
      return { dir: o.dir, files: wanted };
    }
  }
  const written: string[] = [];
  for (const [file, published] of Object.entries(src.files)) {
    const sum = parseChecksum(o.checksums?.[file] ?? published, `fetch ${name}: ${file}`);
    const target = join(o.dir, file);
    if (!src.extract && (await exists(target)) && (await hashFile(target, sum.algo)) === sum.hex) {
      o.onFile?.({ file, status: "present" });
      written.push(file);
      continue;
    }
    const tmp = tempPath(target);
    const errors: string[] = [];
    let done: { url: string; bytes: number } | undefined;
    for (const base of mirrors) {
      const url = new URL(file, base).href;
      try {
        const r = await download(url, tmp, sum.algo, o.idleTimeoutMs ?? 60000);
        if (r.digest !== sum.hex) throw new Error(`${sum.algo} mismatch (expected ${sum.hex}, got ${r.digest})`);
        done = { url, bytes: r.bytes };
        break;
      } catch (e) {
        await unlink(tmp).catch(() => undefined);
        errors.push(`${url}: ${String((e as Error).message).split("\n")[0]}`);
      }
    }
    if (!done) throw new Error(`fetch ${name}: ${errors.join("; ")}; nothing written for ${file}`);
    try {
      if (src.extract === "cifar10") written.push(...(await extractCifar(tmp, o.dir, file)));
      else {
        await rename(tmp, target);
        written.push(file);
      }
    } finally {
      await unlink(tmp).catch(() => undefined);
    }
    o.onFile?.({ file, status: "downloaded", url: done.url, bytes: done.bytes });
  }
  return { dir: o.dir, files: written };
}

/** Streams `url` into `path`, hashing on the way; aborts after `idleMs` without data. */
async function download(url: string, path: string, algo: Algo, idleMs: number): Promise<{ digest: string; bytes: number }> {
  const ctl = new AbortController();
  let timer = setTimeout(() => ctl.abort(), idleMs);
  const hash = createHash(algo);
  let bytes = 0;
  try {
    let res: Response;
    try {
      res = await fetch(url, { signal: ctl.signal, redirect: "follow" });
    } catch (e) {
      const cause = (e as { cause?: { code?: string; message?: string } }).cause;
      throw new Error(ctl.signal.aborted ? `no response in ${idleMs / 1000} s` : (cause?.code ?? cause?.message ?? (e as Error).message));
    }
    if (!res.ok || !res.body) throw new Error(`HTTP ${res.status} ${res.statusText}`.trim());
    const fh = await open(path, "wx");
    try {
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        clearTimeout(timer);
        timer = setTimeout(() => ctl.abort(), idleMs);
        hash.update(chunk);
        bytes += chunk.length;
        await fh.write(chunk);
      }
      await fh.sync();
    } catch (e) {
      throw new Error(
        ctl.signal.aborted ? `stalled after ${bytes} bytes` : `download failed after ${bytes} bytes: ${(e as Error).message}`,
      );
    } finally {
      await fh.close();
    }
  } finally {
    clearTimeout(timer);
  }
  return { digest: hash.digest("hex"), bytes };
}

async function hashFile(path: string, algo: Algo): Promise<string> {
  const hash = createHash(algo);
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest("hex");
}

/** Unpacks the CIFAR-10 binary archive's batches into `dir` (flat), each file written atomically. */
async function extractCifar(archive: string, dir: string, source: string): Promise<string[]> {
  let entries;
  try {
    entries = parseTar(new Uint8Array(await promisify(gunzip)(await readFile(archive))), source);
  } catch (e) {
    throw new Error(`fetch cifar10: ${source}: ${String((e as Error).message).split("\n")[0]}`);
  }
  const wanted = [...CIFAR10_FILES.train, ...CIFAR10_FILES.test, CIFAR10_FILES.meta];
  const found = new Map(entries.filter((e) => /^(\.\/)?cifar-10-batches-bin\/[^/]+$/.test(e.name)).map((e) => [basename(e.name), e.data]));
  const missing = wanted.filter((f) => !found.has(f));
  if (missing.length) throw new Error(`fetch cifar10: ${source} lacks cifar-10-batches-bin/${missing.join(", ")}`);
  // Check the records before anything lands, so a bad archive leaves the directory as it was.
  for (const f of wanted) if (f.endsWith(".bin")) parseCifarBatch(found.get(f)!, `${source}:${f}`);
  for (const f of wanted) await writeAtomic(join(dir, f), found.get(f)!);
  return wanted;
}
