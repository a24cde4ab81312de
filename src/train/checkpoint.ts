// Checkpoint container (browser-safe encode/decode): magic, JSON header, raw float32 tensors. Writing is the caller's.
import { type Tensor, formatShape, sizeOf, tensor } from "../ir/tensor.js";

const MAGIC = "RLCKPT01";

export interface Checkpoint { state: Record<string, unknown>; tensors: Map<string, Tensor<"float32">> }

export function encodeCheckpoint(c: Checkpoint): Uint8Array {
  const entries = [...c.tensors.entries()];
  let offset = 0;
  const index = entries.map(([name, t]) => { const e = { name, shape: [...t.shape], offset }; offset += t.data.length * 4; return e; });
  const header = new TextEncoder().encode(JSON.stringify({ state: c.state, tensors: index }));
  const out = new Uint8Array(8 + 4 + header.length + offset);
  out.set(new TextEncoder().encode(MAGIC), 0);
  new DataView(out.buffer).setUint32(8, header.length, true);
  out.set(header, 12);
  const base = 12 + header.length;
  entries.forEach(([, t], i) => out.set(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength), base + index[i]!.offset));
  return out;
}

export function decodeCheckpoint(bytes: Uint8Array, source: string): Checkpoint {
  if (bytes.length < 12 || new TextDecoder().decode(bytes.subarray(0, 8)) !== MAGIC) throw new Error(`${source}: not a robustlens checkpoint`);
  const len = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(8, true);
  if (12 + len > bytes.length) throw new Error(`${source}: truncated checkpoint header`);
  let header: { state: Record<string, unknown>; tensors: { name: string; shape: number[]; offset: number }[] };
  try { header = JSON.parse(new TextDecoder().decode(bytes.subarray(12, 12 + len))); } catch { throw new Error(`${source}: corrupt checkpoint header`); }
  const base = 12 + len;
  const tensors = new Map<string, Tensor<"float32">>();
  for (const e of header.tensors) {
    const n = sizeOf(e.shape);
    if (base + e.offset + 4 * n > bytes.length) throw new Error(`${source}: truncated: tensor "${e.name}" ${formatShape(e.shape)} runs past the end`);
    const data = new Float32Array(n);
    new Uint8Array(data.buffer).set(bytes.subarray(base + e.offset, base + e.offset + 4 * n));
    tensors.set(e.name, tensor("float32", e.shape, data));
  }
  return { state: header.state, tensors };
}
