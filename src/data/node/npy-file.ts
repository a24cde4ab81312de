// Node-only .npy file I/O: one-line errors on read, atomic replace on write.

import { readFile } from "node:fs/promises";
import type { Tensor } from "../../ir/tensor.js";
import { parseNpy, serializeNpy } from "../npy.js";
import { writeAtomic } from "./atomic.js";
import { fsReason } from "./read.js";

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

/** Writes a .npy file atomically (see writeAtomic). */
export async function saveNpy(path: string, t: Tensor): Promise<void> {
  await writeAtomic(path, serializeNpy(t));
}
