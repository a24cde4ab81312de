// Node-only file access for dataset readers: whole files, gzip detected by magic, one-line errors naming the path.
import { access, readFile } from "node:fs/promises";
import { join } from "node:path";
import { gunzip } from "node:zlib";
import { promisify } from "node:util";

const gunzipAsync = promisify(gunzip);

export function fsReason(e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  switch (err?.code) {
    case "ENOENT": return "no such file";
    case "EACCES": case "EPERM": return "permission denied";
    case "EISDIR": return "is a directory";
    case "ENOTDIR": return "not a directory";
    default: return (err?.code ?? String(err?.message ?? e)).split("\n")[0]!;
  }
}

/** Reads a file whole, decompressing it when it starts with the gzip magic (whatever its name). */
export async function readDataFile(path: string): Promise<Uint8Array> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (e) {
    throw new Error(`cannot read ${path}: ${fsReason(e)}`);
  }
  if (bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b) {
    try {
      return new Uint8Array(await gunzipAsync(bytes));
    } catch (e) {
      throw new Error(`${path}: corrupt gzip data (${String((e as Error).message).split("\n")[0]})`);
    }
  }
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

export async function exists(path: string): Promise<boolean> {
  return access(path).then(() => true, () => false);
}

/** The first of `names` present in `dir` (e.g. a file or its .gz), or undefined. */
export async function findFile(dir: string, names: readonly string[]): Promise<string | undefined> {
  for (const n of names) if (await exists(join(dir, n))) return join(dir, n);
  return undefined;
}
