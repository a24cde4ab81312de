// Checkpoint container (browser-safe encode/decode): magic, JSON header, raw float32 tensors, CRC-32. Writing is the caller's.
import { type Tensor, formatShape, tensor } from "../ir/tensor.js";
import { crc32 } from "../util/crc32.js";

// 02 adds the trailing CRC-32 of everything before it; 01 files (no checksum) still load
const MAGIC = "RLCKPT02";
const MAGIC_V1 = "RLCKPT01";
/** Headers beyond this are not ours (a flipped length byte must not allocate gigabytes). */
const MAX_HEADER = 64 * 1024 * 1024;

export interface Checkpoint {
  state: Record<string, unknown>;
  tensors: Map<string, Tensor<"float32">>;
}

export { crc32 };

export function encodeCheckpoint(c: Checkpoint): Uint8Array {
  const entries = [...c.tensors.entries()];
  let offset = 0;
  const index = entries.map(([name, t]) => {
    const e = { name, shape: [...t.shape], offset };
    offset += t.data.length * 4;
    return e;
  });
  const header = new TextEncoder().encode(JSON.stringify({ state: c.state, tensors: index }));
  const out = new Uint8Array(8 + 4 + header.length + offset + 4);
  out.set(new TextEncoder().encode(MAGIC), 0);
  const view = new DataView(out.buffer);
  view.setUint32(8, header.length, true);
  out.set(header, 12);
  const base = 12 + header.length;
  entries.forEach(([, t], i) => out.set(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength), base + index[i]!.offset));
  view.setUint32(out.length - 4, crc32(out.subarray(0, out.length - 4)), true);
  return out;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/** Decodes and validates every field; any damage is a one-line error naming `source`. */
export function decodeCheckpoint(bytes: Uint8Array, source: string): Checkpoint {
  const fail = (why: string): never => {
    throw new Error(`${source}: ${why}`);
  };
  const magic = bytes.length >= 8 ? String.fromCharCode(...bytes.subarray(0, 8)) : "";
  if (bytes.length < 12 || (magic !== MAGIC && magic !== MAGIC_V1)) fail("not a robustlens checkpoint");
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let end = bytes.length;
  if (magic === MAGIC) {
    if (bytes.length < 16) fail("truncated checkpoint");
    end -= 4;
    const want = view.getUint32(end, true),
      have = crc32(bytes.subarray(0, end));
    if (want !== have)
      fail(
        `checksum mismatch (stored ${want.toString(16).padStart(8, "0")}, computed ${have.toString(16).padStart(8, "0")}): the file is damaged or truncated`,
      );
  }
  const len = view.getUint32(8, true);
  if (len > MAX_HEADER || 12 + len > end) fail("truncated checkpoint header");
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes.subarray(12, 12 + len)));
  } catch {
    return fail("corrupt checkpoint header");
  }
  if (!isObject(header) || !isObject(header.state) || !Array.isArray(header.tensors))
    return fail("corrupt checkpoint header: expected {state: {...}, tensors: [...]}");
  const base = 12 + len,
    dataBytes = end - base;
  const tensors = new Map<string, Tensor<"float32">>();
  let expected = 0;
  for (const [i, e] of header.tensors.entries()) {
    if (!isObject(e) || typeof e.name !== "string" || e.name === "" || !Array.isArray(e.shape) || typeof e.offset !== "number")
      fail(`corrupt tensor entry ${i} in the header`);
    const { name, shape, offset } = e as { name: string; shape: unknown[]; offset: number };
    if (tensors.has(name)) fail(`tensor "${name}" appears twice`);
    if (shape.length > 8 || !shape.every((d): d is number => Number.isSafeInteger(d) && (d as number) >= 0))
      fail(`tensor "${name}": bad shape ${JSON.stringify(shape)}`);
    const n = (shape as number[]).reduce((a, d) => a * d, 1);
    // tensors are stored back to back in header order: any other offset is damage, never a second view of the bytes
    if (offset !== expected) fail(`tensor "${name}": offset ${offset} is not ${expected} (corrupt header)`);
    if (!Number.isSafeInteger(n) || offset + 4 * n > dataBytes)
      fail(`truncated: tensor "${name}" ${formatShape(shape as number[])} runs past the end`);
    const data = new Float32Array(n);
    new Uint8Array(data.buffer).set(bytes.subarray(base + offset, base + offset + 4 * n));
    tensors.set(name, tensor("float32", shape as number[], data));
    expected = offset + 4 * n;
  }
  if (expected !== dataBytes) fail(`${dataBytes - expected} trailing bytes after the last tensor`);
  return { state: header.state, tensors };
}
