// Job results as JSON that round-trips exactly: typed arrays (tensor data) as base64 bytes; NaN, ±Infinity and -0 tagged.
type Typed = Float32Array | Float64Array | Int32Array | Uint8Array | BigInt64Array;
const ARRAYS = { Float32Array, Float64Array, Int32Array, Uint8Array, BigInt64Array } as const;

const isTyped = (v: unknown): v is Typed => ArrayBuffer.isView(v) && !(v instanceof DataView);

/** `value` as plain JSON; undefined fields are dropped (as JSON does). Anything but plain data is an internal error. */
export function toWire(value: unknown, at = "result"): unknown {
  if (typeof value === "number") {
    if (Number.isFinite(value) && !Object.is(value, -0)) return value;
    return { $n: Object.is(value, -0) ? "-0" : String(value) };
  }
  if (value === null || typeof value === "string" || typeof value === "boolean") return value;
  if (Array.isArray(value)) return value.map((v: unknown, i) => toWire(v ?? null, `${at}[${i}]`));
  if (isTyped(value)) {
    const name = value.constructor.name;
    if (!(name in ARRAYS)) throw new Error(`internal: ${at} is a ${name}, which queue results do not carry`);
    return { $a: name, b: Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString("base64") };
  }
  if (typeof value === "object" && Object.getPrototypeOf(value) === Object.prototype) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) if (v !== undefined) out[k] = toWire(v, `${at}.${k}`);
    return out;
  }
  throw new Error(`internal: ${at} is ${typeof value === "object" ? `a ${value.constructor.name}` : `a ${typeof value}`}, not plain data`);
}

/** The inverse of toWire. */
export function fromWire(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(fromWire);
  if (value === null || typeof value !== "object") return value;
  const o = value as Record<string, unknown>;
  if (typeof o.$n === "string") return o.$n === "-0" ? -0 : Number(o.$n);
  if (typeof o.$a === "string") {
    const Ctor = ARRAYS[o.$a as keyof typeof ARRAYS];
    if (!Ctor) throw new Error(`internal: queue result holds an unknown array type ${o.$a}`);
    const b = Buffer.from(String(o.b), "base64");
    // a copy: a Buffer's offset in its pool need not be aligned to the element size
    return new Ctor(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
  }
  return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, fromWire(v)]));
}
