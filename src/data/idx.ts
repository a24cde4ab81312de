// IDX files (MNIST, Fashion-MNIST): big-endian header, unsigned bytes — browser-safe parser and writer.

export interface Idx {
  dims: number[];
  data: Uint8Array;
}

const UBYTE = 0x08;
const TYPE_NAMES: Record<number, string> = { 0x08: "ubyte", 0x09: "byte", 0x0b: "short", 0x0c: "int", 0x0d: "float", 0x0e: "double" };

/** Bytes an IDX header of this rank takes (magic + one uint32 per dimension). */
export const idxHeaderLength = (rank: number): number => 4 + 4 * rank;

/**
 * Parses the header at the start of `bytes` (at least 4 bytes, and the whole header once the rank is known):
 * the dimensions and the header length. `source` prefixes every error.
 */
export function parseIdxHeader(bytes: Uint8Array, source = "<idx>"): { dims: number[]; headerLen: number } {
  const fail = (msg: string): never => {
    throw new Error(`${source}: ${msg}`);
  };
  if (bytes.length < 4) fail(`truncated: ${bytes.length} bytes, too short for an IDX header`);
  if (bytes[0] !== 0 || bytes[1] !== 0) fail(`not an IDX file (magic ${hex(bytes.subarray(0, 4))})`);
  const type = bytes[2]!,
    rank = bytes[3]!;
  if (type !== UBYTE)
    fail(
      `IDX element type 0x${type.toString(16).padStart(2, "0")} (${TYPE_NAMES[type] ?? "unknown"}) is not supported, only unsigned bytes (0x08)`,
    );
  if (rank < 1) fail("IDX file with no dimensions");
  const headerLen = idxHeaderLength(rank);
  if (bytes.length < headerLen) fail(`truncated: ${bytes.length} bytes, too short for an IDX header with ${rank} dimensions`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const dims: number[] = [];
  for (let i = 0; i < rank; i++) dims.push(view.getUint32(4 + 4 * i, false));
  if (!Number.isSafeInteger(dims.reduce((a, d) => a * d, 1))) fail(`dimensions ${dims.join("×")} are too large`);
  return { dims, headerLen };
}

/** Parses a whole (decompressed) IDX file of unsigned bytes; `source` prefixes every error. */
export function parseIdx(bytes: Uint8Array, source = "<idx>"): Idx {
  const { dims, headerLen } = parseIdxHeader(bytes, source);
  const want = dims.reduce((a, d) => a * d, 1);
  const have = bytes.length - headerLen;
  const what = `header says ${dims.join("×")} = ${want} bytes of data, file has ${have}`;
  if (have < want) throw new Error(`${source}: truncated: ${what}`);
  if (have > want) throw new Error(`${source}: trailing bytes: ${what}`);
  return { dims, data: bytes.slice(headerLen) };
}

/** Serializes unsigned bytes as an IDX file (the inverse of parseIdx). */
export function serializeIdx(dims: readonly number[], data: Uint8Array): Uint8Array {
  const n = dims.reduce((a, d) => a * d, 1);
  if (data.length !== n) throw new Error(`serializeIdx: ${data.length} bytes do not fill dimensions ${dims.join("×")}`);
  if (dims.length < 1 || dims.length > 255) throw new Error(`serializeIdx: ${dims.length} dimensions`);
  const out = new Uint8Array(4 + 4 * dims.length + n);
  const view = new DataView(out.buffer);
  out[2] = UBYTE;
  out[3] = dims.length;
  dims.forEach((d, i) => view.setUint32(4 + 4 * i, d, false));
  out.set(data, 4 + 4 * dims.length);
  return out;
}

function hex(b: Uint8Array): string {
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join(" ");
}
