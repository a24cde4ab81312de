// Node-only .npy file I/O: one-line errors on read, atomic replace on write.

import { open, readFile, rename, unlink } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { randomBytes } from "node:crypto";
import type { Tensor } from "../../ir/tensor.js";
import { parseNpy, serializeNpy } from "../npy.js";

function fsReason(e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  switch (err?.code) {
    case "ENOENT": return "no such file";
    case "EACCES": case "EPERM": return "permission denied";
    case "EISDIR": return "is a directory";
    default: return (err?.code ?? String(err?.message ?? e)).split("\n")[0]!;
  }
}

/** Reads and parses a .npy file; errors are one line naming the path. */
export async function loadNpy(path: string): Promise<Tensor> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (e) {
    throw new Error(`cannot read ${path}: ${fsReason(e)}`);
  }
  return parseNpy(bytes, path);
}

/** Writes a .npy file atomically: temp file in the same directory, fsync, rename over the target. */
export async function saveNpy(path: string, t: Tensor): Promise<void> {
  const bytes = serializeNpy(t);
  const dir = dirname(path);
  const tmp = join(dir, `.${basename(path)}.${process.pid}.${randomBytes(6).toString("hex")}.tmp`);
  try {
    const fh = await open(tmp, "wx");
    try {
      await fh.writeFile(bytes);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, path);
  } catch (e) {
    await unlink(tmp).catch(() => undefined);
    throw new Error(`cannot write ${path}: ${fsReason(e)}`);
  }
  // Persist the rename itself; directories cannot be opened for fsync on every platform, so best effort.
  try {
    const dh = await open(dir, "r");
    try {
      await dh.sync();
    } finally {
      await dh.close();
    }
  } catch {
    /* not supported here (e.g. Windows) */
  }
}
