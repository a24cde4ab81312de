// NumPy .npy reader/writer (format 1.0/2.0/3.0), browser-safe: bytes in, Tensor out, no Node built-ins.

import { escapeControl } from "../util/text.js";
import { type DType, type Tensor, formatShape, sizeOf, tensor } from "../ir/tensor.js";

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // "\x93NUMPY"
const WRITE_ALIGN = 64;
const READ_ALIGN = 16; // numpy < 1.14 padded to 16; accept both on read

// File byte order vs. host byte order decides whether we must swap.
const HOST_LE = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

interface DescrInfo {
  dtype: DType;
  itemSize: number;
  littleEndian: boolean;
}

const WRITE_DESCR: Record<DType, string> = {
  float32: "<f4",
  float64: "<f8",
  int64: "<i8",
  int32: "<i4",
  uint8: "|u1",
  bool: "|b1",
};

const ITEM_SIZE: Record<DType, number> = { float32: 4, float64: 8, int64: 8, int32: 4, uint8: 1, bool: 1 };

function descrInfo(descr: string): DescrInfo | undefined {
  const m = /^([<>|=])([fiub])(\d+)$/.exec(descr);
  if (!m) return undefined;
  const [, order, kind, sizeText] = m as unknown as [string, string, string, string];
  const key = `${kind}${sizeText}`;
  const dtype: DType | undefined = (
    { f4: "float32", f8: "float64", i8: "int64", i4: "int32", u1: "uint8", b1: "bool" } as Record<string, DType>
  )[key];
  if (!dtype) return undefined;
  const itemSize = ITEM_SIZE[dtype];
  // '=' is native order, which we cannot know for the writer's machine; only single bytes are safe.
  if (order === "=" && itemSize > 1) return undefined;
  if (order === "|" && itemSize > 1) return undefined;
  return { dtype, itemSize, littleEndian: order !== ">" };
}

// --- a tiny parser for the Python literal subset numpy writes in headers ---

type PyValue = string | number | boolean | null | PyValue[] | { tuple: PyValue[] } | Map<string, PyValue>;

class HeaderSyntaxError extends Error {}

/** Nesting deeper than this is no .npy header (and would exhaust the stack). */
const MAX_DEPTH = 32;

class LiteralParser {
  private pos = 0;
  private depth = 0;
  constructor(private readonly text: string) {}

  parseTop(): PyValue {
    const v = this.value();
    this.skipWs();
    if (this.pos !== this.text.length) this.fail("unexpected text after the dict");
    return v;
  }

  private fail(what: string): never {
    throw new HeaderSyntaxError(`${what} at offset ${this.pos}`);
  }

  private skipWs(): void {
    while (this.pos < this.text.length && " \t\r\n".includes(this.text[this.pos]!)) this.pos++;
  }

  private peek(): string {
    this.skipWs();
    return this.text[this.pos] ?? "";
  }

  private expect(ch: string): void {
    if (this.peek() !== ch) this.fail(`expected '${ch}'`);
    this.pos++;
  }

  private value(): PyValue {
    const c = this.peek();
    if (c === "{" || c === "(" || c === "[") {
      if (++this.depth > MAX_DEPTH) this.fail(`nested deeper than ${MAX_DEPTH} levels`);
      try {
        return c === "{" ? this.dict() : c === "(" ? { tuple: this.sequence("(", ")") } : this.sequence("[", "]");
      } finally {
        this.depth--;
      }
    }
    if (c === "'" || c === '"') return this.string();
    if (/[-+0-9]/.test(c)) return this.integer();
    const word = /^[A-Za-z_]\w*/.exec(this.text.slice(this.pos))?.[0];
    if (word === "True" || word === "False" || word === "None") {
      this.pos += word.length;
      return word === "None" ? null : word === "True";
    }
    return this.fail(c === "" ? "unexpected end" : `unexpected '${c}'`);
  }

  private dict(): Map<string, PyValue> {
    this.expect("{");
    const out = new Map<string, PyValue>();
    while (this.peek() !== "}") {
      const key = this.value();
      if (typeof key !== "string") this.fail("dict key is not a string");
      if (out.has(key)) this.fail(`duplicate key '${key}'`);
      this.expect(":");
      out.set(key, this.value());
      if (this.peek() !== ",") break;
      this.pos++;
    }
    this.expect("}");
    return out;
  }

  private sequence(open: string, close: string): PyValue[] {
    this.expect(open);
    const out: PyValue[] = [];
    let sawComma = false;
    while (this.peek() !== close) {
      out.push(this.value());
      sawComma = this.peek() === ",";
      if (!sawComma) break;
      this.pos++;
    }
    this.expect(close);
    // Python needs "(n,)" for a 1-tuple; "(n)" is just a parenthesised int.
    if (open === "(" && out.length === 1 && !sawComma) this.fail("'(n)' is not a tuple, expected '(n,)'");
    return out;
  }

  private string(): string {
    const q = this.text[this.pos]!;
    const end = this.text.indexOf(q, this.pos + 1);
    if (end < 0) this.fail("unterminated string");
    const s = this.text.slice(this.pos + 1, end);
    if (s.includes("\\")) this.fail("escapes in strings are not supported");
    this.pos = end + 1;
    return s;
  }

  private integer(): number {
    const m = /^[-+]?\d+L?/.exec(this.text.slice(this.pos)); // 'L' suffix: Python 2 longs in old files
    if (!m) return this.fail("bad number");
    this.pos += m[0].length;
    return Number(m[0].replace("L", ""));
  }
}

// Keeps header snippets in messages short; JSON escaping keeps them on one line.
function quote(s: string, max = 80): string {
  return JSON.stringify(s.length > max ? `${s.slice(0, max)}...` : s);
}

function decodeHeader(bytes: Uint8Array, utf8: boolean): string {
  if (utf8) return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  let s = "";
  for (const b of bytes) s += String.fromCharCode(b); // latin-1, byte for char
  return s;
}

function swapInPlace(buf: Uint8Array, itemSize: number): void {
  if (itemSize === 1) return;
  for (let i = 0; i < buf.length; i += itemSize) {
    for (let a = i, b = i + itemSize - 1; a < b; a++, b--) {
      const t = buf[a]!;
      buf[a] = buf[b]!;
      buf[b] = t;
    }
  }
}

/** Parses a whole .npy file; `source` prefixes every error message. */
export function parseNpy(bytes: Uint8Array, source = "<bytes>"): Tensor {
  const fail = (msg: string): never => {
    throw new Error(escapeControl(`${source}: ${msg}`));
  };
  if (bytes.length < MAGIC.length || MAGIC.some((b, i) => bytes[i] !== b)) fail("not a .npy file (bad magic)");
  if (bytes.length < 10) fail(`truncated: file has ${bytes.length} bytes, too short for a .npy preamble`);
  const major = bytes[6]!;
  const minor = bytes[7]!;
  if (major < 1 || major > 3 || minor !== 0) fail(`unsupported .npy format version ${major}.${minor}`);
  const lenSize = major === 1 ? 2 : 4;
  if (bytes.length < 8 + lenSize) fail(`truncated: file has ${bytes.length} bytes, too short for a version ${major}.0 preamble`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLen = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  const dataOffset = 8 + lenSize + headerLen;
  if (dataOffset > bytes.length)
    fail(`truncated header: header says ${headerLen} bytes, file has ${bytes.length - 8 - lenSize} after the preamble`);
  if (dataOffset % READ_ALIGN !== 0) fail(`malformed header: data offset ${dataOffset} is not a multiple of ${READ_ALIGN}`);

  let text: string;
  try {
    text = decodeHeader(bytes.subarray(8 + lenSize, dataOffset), major === 3);
  } catch {
    return fail("malformed header: not valid UTF-8");
  }
  if (!text.endsWith("\n")) fail("malformed header: does not end with a newline");

  let parsed: PyValue;
  try {
    parsed = new LiteralParser(text).parseTop();
  } catch (e) {
    if (!(e instanceof HeaderSyntaxError)) throw e;
    return fail(`malformed header: ${e.message} in ${quote(text.trimEnd())}`);
  }
  if (!(parsed instanceof Map)) return fail(`malformed header: not a dict: ${quote(text.trimEnd())}`);
  const keys = [...parsed.keys()].sort().join(",");
  if (keys !== "descr,fortran_order,shape") fail(`malformed header: keys are {${keys}}, expected {descr,fortran_order,shape}`);

  const descr = parsed.get("descr");
  if (typeof descr !== "string") return fail("unsupported dtype: structured or non-string descr");
  const info = descrInfo(descr);
  if (!info) return fail(`unsupported dtype '${descr}' (supported: <f4 <f8 <i8 <i4 |u1 |b1)`);
  const fortran = parsed.get("fortran_order");
  if (typeof fortran !== "boolean") fail("malformed header: 'fortran_order' is not True/False");
  if (fortran) fail("fortran_order=True arrays are not supported; save a C-ordered array (np.ascontiguousarray)");
  const shapeVal = parsed.get("shape");
  if (shapeVal === null || typeof shapeVal !== "object" || !("tuple" in shapeVal)) return fail("malformed header: 'shape' is not a tuple");
  const shape = shapeVal.tuple.map((d) =>
    typeof d === "number" && Number.isSafeInteger(d) && d >= 0 ? d : fail(`malformed header: bad dimension ${String(d)} in shape`),
  );

  const count = sizeOf(shape);
  const want = count * info.itemSize;
  const have = bytes.length - dataOffset;
  const what = `shape ${formatShape(shape)} ${info.dtype} = ${want} bytes of data, file has ${have}`;
  if (have < want) fail(`truncated: header says ${what}`);
  if (have > want) fail(`trailing bytes: header says ${what}`);

  // Fresh, exactly-sized buffer: the data offset may be unaligned, and Node's Buffer.slice would alias the pool.
  const copy = new Uint8Array(want);
  copy.set(bytes.subarray(dataOffset, dataOffset + want));
  if (info.littleEndian !== HOST_LE) swapInPlace(copy, info.itemSize);
  const buf = copy.buffer;
  switch (info.dtype) {
    case "float32":
      return tensor("float32", shape, new Float32Array(buf));
    case "float64":
      return tensor("float64", shape, new Float64Array(buf));
    case "int64":
      return tensor("int64", shape, new BigInt64Array(buf));
    case "int32":
      return tensor("int32", shape, new Int32Array(buf));
    case "uint8":
      return tensor("uint8", shape, copy);
    case "bool":
      for (let i = 0; i < copy.length; i++) copy[i] = copy[i] ? 1 : 0;
      return tensor("bool", shape, copy);
  }
}

function headerText(t: Tensor): string {
  const dims = t.shape.map(String);
  const shape = dims.length === 1 ? `(${dims[0]},)` : `(${dims.join(", ")})`;
  return `{'descr': '${WRITE_DESCR[t.dtype]}', 'fortran_order': False, 'shape': ${shape}, }`;
}

/** Serializes a tensor as a C-ordered little-endian .npy (version 1.0, or 2.0 for huge headers). */
export function serializeNpy(t: Tensor): Uint8Array {
  const itemSize = ITEM_SIZE[t.dtype];
  if (itemSize === undefined) throw new Error(`serializeNpy: unsupported dtype '${String(t.dtype)}'`);
  for (const d of t.shape) {
    if (!Number.isSafeInteger(d) || d < 0) throw new Error(`serializeNpy: bad shape ${formatShape(t.shape)}`);
  }
  const count = sizeOf(t.shape);
  if (t.data.length !== count) throw new Error(`serializeNpy: ${t.data.length} values do not fill shape ${formatShape(t.shape)}`);

  const dict = headerText(t);
  let major = 1;
  let lenSize = 2;
  const padded = (pre: number): number => Math.ceil((pre + dict.length + 1) / WRITE_ALIGN) * WRITE_ALIGN - pre;
  let headerLen = padded(8 + lenSize);
  if (headerLen > 0xffff) {
    major = 2;
    lenSize = 4;
    headerLen = padded(8 + lenSize);
  }
  const dataOffset = 8 + lenSize + headerLen;
  const out = new Uint8Array(dataOffset + count * itemSize);
  out.set(MAGIC, 0);
  out[6] = major;
  out[7] = 0;
  const view = new DataView(out.buffer);
  if (major === 1) view.setUint16(8, headerLen, true);
  else view.setUint32(8, headerLen, true);
  const header = dict.padEnd(headerLen - 1, " ") + "\n";
  for (let i = 0; i < header.length; i++) out[8 + lenSize + i] = header.charCodeAt(i);

  const src = new Uint8Array(t.data.buffer, t.data.byteOffset, count * itemSize);
  const body = out.subarray(dataOffset);
  body.set(src);
  if (!HOST_LE) swapInPlace(body, itemSize);
  if (t.dtype === "bool") for (let i = 0; i < body.length; i++) body[i] = body[i] ? 1 : 0;
  return out;
}

/** Images as float32: uint8 scales by 1/255, float64 narrows, float32 passes through. */
export function imagesToFloat(t: Tensor, source = "<images>"): Tensor<"float32"> {
  switch (t.dtype) {
    case "float32":
    case "float64": {
      const out = t.dtype === "float32" ? (t as Tensor<"float32">) : tensor("float32", t.shape, Float32Array.from(t.data as Float64Array));
      const bad = firstNonFinite(out.data);
      if (bad >= 0)
        throw new Error(`${source}: images must be finite, element ${bad} of ${t.dtype} ${formatShape(t.shape)} is ${out.data[bad]}`);
      return out;
    }
    case "uint8": {
      const src = t.data as Uint8Array;
      const out = new Float32Array(src.length);
      for (let i = 0; i < src.length; i++) out[i] = src[i]! / 255;
      return tensor("float32", t.shape, out);
    }
    default:
      throw new Error(`${source}: images must be uint8, float32 or float64, got ${t.dtype} ${formatShape(t.shape)}`);
  }
}

/** Class labels as int64: integer dtypes widen; floats must hold whole numbers. */
export function labelsToInt64(t: Tensor, source = "<labels>"): Tensor<"int64"> {
  switch (t.dtype) {
    case "int64":
      return t as Tensor<"int64">;
    case "int32":
    case "uint8": {
      const src = t.data as Int32Array | Uint8Array;
      const out = new BigInt64Array(src.length);
      for (let i = 0; i < src.length; i++) out[i] = BigInt(src[i]!);
      return tensor("int64", t.shape, out);
    }
    case "float32":
    case "float64": {
      const src = t.data as Float32Array | Float64Array;
      const out = new BigInt64Array(src.length);
      for (let i = 0; i < src.length; i++) {
        const v = src[i]!;
        if (!Number.isSafeInteger(v))
          throw new Error(`${source}: labels must be whole numbers, element ${i} of ${t.dtype} ${formatShape(t.shape)} is ${v}`);
        out[i] = BigInt(v);
      }
      return tensor("int64", t.shape, out);
    }
    default:
      throw new Error(
        `${source}: labels must be integers (int64, int32, uint8) or whole-valued floats, got ${t.dtype} ${formatShape(t.shape)}`,
      );
  }
}

/** Index of the first NaN or ±Infinity, or -1. */
export function firstNonFinite(a: ArrayLike<number>): number {
  for (let i = 0; i < a.length; i++) if (!Number.isFinite(a[i]!)) return i;
  return -1;
}
