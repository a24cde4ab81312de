// CIFAR-10 binary version: records of one label byte and 3072 pixel bytes (R, G, B planes of 32×32) — browser-safe.

export const CIFAR_RECORD = 1 + 3 * 32 * 32;

/** Parses one batch file's records; `source` prefixes every error. */
export function parseCifarBatch(bytes: Uint8Array, source = "<cifar batch>", classes = 10): { images: Uint8Array; labels: Int32Array } {
  const n = Math.floor(bytes.length / CIFAR_RECORD);
  const extra = bytes.length - n * CIFAR_RECORD;
  if (bytes.length === 0) throw new Error(`${source}: empty file, expected ${CIFAR_RECORD}-byte CIFAR-10 records`);
  if (extra !== 0)
    throw new Error(
      `${source}: truncated or corrupt: ${bytes.length} bytes is ${n} whole ${CIFAR_RECORD}-byte records and ${extra} more bytes`,
    );
  const images = new Uint8Array(n * (CIFAR_RECORD - 1));
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const off = i * CIFAR_RECORD;
    const y = bytes[off]!;
    // A label byte ≥ classes means the records are misaligned or the file is not CIFAR-10.
    if (y >= classes) throw new Error(`${source}: corrupt: record ${i} has label ${y}, expected 0..${classes - 1}`);
    labels[i] = y;
    images.set(bytes.subarray(off + 1, off + CIFAR_RECORD), i * (CIFAR_RECORD - 1));
  }
  return { images, labels };
}

/** Class names from batches.meta.txt: one per line, blank lines ignored. */
export function parseCifarMeta(text: string, source = "<batches.meta.txt>", classes = 10): string[] {
  const names = text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter(Boolean);
  if (names.length !== classes) throw new Error(`${source}: ${names.length} class names, expected ${classes}`);
  return names;
}

/** Encodes records in the same layout (for fixtures and exports). */
export function serializeCifarBatch(images: Uint8Array, labels: ArrayLike<number>): Uint8Array {
  const per = CIFAR_RECORD - 1;
  if (images.length !== labels.length * per) throw new Error(`serializeCifarBatch: ${images.length} pixels for ${labels.length} records`);
  const out = new Uint8Array(labels.length * CIFAR_RECORD);
  for (let i = 0; i < labels.length; i++) {
    out[i * CIFAR_RECORD] = labels[i]!;
    out.set(images.subarray(i * per, (i + 1) * per), i * CIFAR_RECORD + 1);
  }
  return out;
}
