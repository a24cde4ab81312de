// Node-only file access for dataset readers: gzip detected by magic, reads bounded by what the caller needs, one-line errors naming the path.
import { access, open } from "node:fs/promises";
import { join } from "node:path";
import { createGunzip } from "node:zlib";

export function fsReason(e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  switch (err?.code) {
    case "ENOENT":
      return "no such file";
    case "EACCES":
    case "EPERM":
      return "permission denied";
    case "EISDIR":
      return "is a directory";
    case "ENOTDIR":
      return "not a directory";
    default:
      return (err?.code ?? String(err?.message ?? e)).split("\n")[0]!;
  }
}

/** Sequential reads from a file's (decompressed) bytes: nothing past what is asked for is inflated. */
export interface DataReader {
  /** The next n bytes; fewer only at the end of the data. */
  read(n: number): Promise<Uint8Array>;
  /** Whether the data has ended (reads one chunk ahead when needed). */
  atEnd(): Promise<boolean>;
  close(): Promise<void>;
}

/** Opens a file for bounded reads, decompressing it when it starts with the gzip magic (whatever its name). */
export async function openDataFile(path: string): Promise<DataReader> {
  let fh;
  try {
    fh = await open(path, "r");
  } catch (e) {
    throw new Error(`cannot read ${path}: ${fsReason(e)}`);
  }
  const magic = new Uint8Array(2);
  let gzip = false;
  try {
    const { bytesRead } = await fh.read(magic, 0, 2, 0);
    gzip = bytesRead === 2 && magic[0] === 0x1f && magic[1] === 0x8b;
  } catch (e) {
    await fh.close();
    throw new Error(`cannot read ${path}: ${fsReason(e)}`);
  }
  const raw = fh.createReadStream({ start: 0, autoClose: false });
  const stream = gzip ? raw.pipe(createGunzip()) : raw;
  if (gzip) raw.on("error", (e) => stream.destroy(e));
  const it = stream[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  let pending: Uint8Array[] = [],
    have = 0,
    ended = false;
  const pull = async (): Promise<boolean> => {
    if (ended) return false;
    let r: IteratorResult<Buffer>;
    try {
      r = await it.next();
    } catch (e) {
      ended = true;
      const why = String((e as Error).message ?? e).split("\n")[0];
      throw new Error(gzip ? `${path}: corrupt gzip data (${why})` : `cannot read ${path}: ${fsReason(e)}`);
    }
    if (r.done) {
      ended = true;
      return false;
    }
    pending.push(r.value);
    have += r.value.length;
    return true;
  };
  return {
    async read(n) {
      while (have < n && (await pull()));
      const out = new Uint8Array(Math.min(n, have));
      let at = 0;
      const rest: Uint8Array[] = [];
      for (const c of pending) {
        const take = Math.min(c.length, out.length - at);
        if (take > 0) out.set(c.subarray(0, take), at);
        at += take;
        if (take < c.length) rest.push(c.subarray(take));
      }
      pending = rest;
      have -= out.length;
      return out;
    },
    async atEnd() {
      while (have === 0) if (!(await pull())) return true;
      return false;
    },
    async close() {
      stream.destroy();
      raw.destroy();
      await fh.close().catch(() => undefined);
    },
  };
}

/** Files larger than this (after decompression) are refused unless a reader says how much it needs. */
export const MAX_DATA_FILE = 2 ** 30;

/** Reads a file whole (decompressed when gzipped), refusing data beyond `maxBytes`, so a gzip bomb stops early. */
export async function readDataFile(path: string, maxBytes = MAX_DATA_FILE): Promise<Uint8Array> {
  const r = await openDataFile(path);
  try {
    const bytes = await r.read(maxBytes);
    if (!(await r.atEnd()))
      throw new Error(`${path}: more than ${maxBytes} bytes of data (after decompression), more than a valid file of this kind holds`);
    return bytes;
  } finally {
    await r.close();
  }
}

export async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

/** The first of `names` present in `dir` (e.g. a file or its .gz), or undefined. */
export async function findFile(dir: string, names: readonly string[]): Promise<string | undefined> {
  for (const n of names) if (await exists(join(dir, n))) return join(dir, n);
  return undefined;
}
