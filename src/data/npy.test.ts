import { test } from "node:test";
import assert from "node:assert/strict";
import { type DType, type Tensor, tensor } from "../ir/tensor.js";
import { imagesToFloat, labelsToInt64, parseNpy, serializeNpy } from "./npy.js";

const enc = (s: string): Uint8Array => Uint8Array.from(s, (c) => c.charCodeAt(0));

// Builds a .npy by hand so the tests do not depend on serializeNpy being right.
function rawNpy(dict: string, data: Uint8Array, opts: { major?: number; align?: number; utf8?: boolean } = {}): Uint8Array {
  const major = opts.major ?? 1;
  const align = opts.align ?? 64;
  const lenSize = major === 1 ? 2 : 4;
  let head = opts.utf8 ? new TextEncoder().encode(dict) : enc(dict);
  const total = Math.ceil((8 + lenSize + head.length + 1) / align) * align;
  const padded = new Uint8Array(total - 8 - lenSize).fill(0x20);
  padded.set(head);
  padded[padded.length - 1] = 0x0a;
  head = padded;
  const out = new Uint8Array(8 + lenSize + head.length + data.length);
  out.set([0x93, ...enc("NUMPY"), major, 0]);
  const view = new DataView(out.buffer);
  if (major === 1) view.setUint16(8, head.length, true);
  else view.setUint32(8, head.length, true);
  out.set(head, 8 + lenSize);
  out.set(data, 8 + lenSize + head.length);
  return out;
}

const bytesOf = (a: ArrayBufferView): Uint8Array => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

function headerOf(file: Uint8Array): string {
  const len = new DataView(file.buffer, file.byteOffset).getUint16(8, true);
  return String.fromCharCode(...file.subarray(10, 10 + len));
}

function sample(dtype: DType, shape: number[]): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const vals = Array.from({ length: n }, (_, i) => i * 7 - 5);
  switch (dtype) {
    case "float32":
      return tensor(
        "float32",
        shape,
        vals.map((v) => v / 3),
      );
    case "float64":
      return tensor(
        "float64",
        shape,
        vals.map((v) => v / 3 + 1e-12),
      );
    case "int64":
      return tensor(
        "int64",
        shape,
        BigInt64Array.from(vals, (v) => BigInt(v) * 10_000_000_000n),
      );
    case "int32":
      return tensor(
        "int32",
        shape,
        vals.map((v) => v * 100_000),
      );
    case "uint8":
      return tensor(
        "uint8",
        shape,
        vals.map((v) => (v + 256) % 256),
      );
    case "bool":
      return tensor(
        "bool",
        shape,
        vals.map((v) => (v % 3 === 0 ? 1 : 0)),
      );
  }
}

// Asserts the error is one line, starts with the source name and matches `re`.
function throwsOneLine(fn: () => unknown, source: string, re: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof Error);
    assert.ok(!/[\r\n]/.test(e.message), `multi-line message: ${JSON.stringify(e.message)}`);
    assert.ok(e.message.startsWith(`${source}: `), `message does not name ${source}: ${e.message}`);
    assert.match(e.message, re);
    return true;
  });
}

const DTYPES: DType[] = ["float32", "float64", "int64", "int32", "uint8", "bool"];
const DESCR: Record<DType, string> = { float32: "<f4", float64: "<f8", int64: "<i8", int32: "<i4", uint8: "|u1", bool: "|b1" };

for (const dtype of DTYPES) {
  for (const shape of [[], [5], [2, 3, 4, 5], [0, 3]]) {
    test(`round-trip ${dtype} shape (${shape.join(",")})`, () => {
      const t = sample(dtype, shape);
      const file = serializeNpy(t);
      const back = parseNpy(file, "rt.npy");
      assert.equal(back.dtype, dtype);
      assert.deepEqual(back.shape, shape);
      assert.deepEqual(back.data, t.data);
      assert.equal(back.data.constructor, t.data.constructor);
    });
  }
}

test("serializeNpy writes a 64-byte-aligned version 1.0 header with Python tuple syntax", () => {
  const cases: [number[], string][] = [
    [[], "()"],
    [[3], "(3,)"],
    [[4, 3, 32, 32], "(4, 3, 32, 32)"],
  ];
  for (const dtype of DTYPES) {
    for (const [shape, tuple] of cases) {
      const file = serializeNpy(sample(dtype, shape));
      assert.deepEqual([...file.subarray(0, 8)], [0x93, ...enc("NUMPY"), 1, 0]);
      const header = headerOf(file);
      assert.equal((10 + header.length) % 64, 0);
      assert.ok(header.endsWith("\n"));
      assert.equal(header.trimEnd(), `{'descr': '${DESCR[dtype]}', 'fortran_order': False, 'shape': ${tuple}, }`);
    }
  }
});

test("serializeNpy switches to version 2.0 when the header exceeds 65535 bytes", () => {
  const shape = new Array<number>(30_000).fill(1);
  const file = serializeNpy(tensor("float32", shape, [2.5]));
  assert.equal(file[6], 2);
  const len = new DataView(file.buffer).getUint32(8, true);
  assert.ok(len > 0xffff);
  assert.equal((12 + len) % 64, 0);
  const back = parseNpy(file);
  assert.equal(back.shape.length, 30_000);
  assert.deepEqual([...back.data], [2.5]);
});

test("serializeNpy normalises bool bytes and rejects data that does not fill the shape", () => {
  const file = serializeNpy(tensor("bool", [3], new Uint8Array([0, 7, 1])));
  assert.deepEqual([...file.subarray(file.length - 3)], [0, 1, 1]);
  assert.throws(() => serializeNpy({ dtype: "float32", shape: [2, 2], data: new Float32Array(3) }), /3 values do not fill shape \[2,2\]/);
});

test("reads a hand-made version 2.0 header", () => {
  const data = bytesOf(new Float64Array([1.5, -2, 3e300]));
  const file = rawNpy("{'descr': '<f8', 'fortran_order': False, 'shape': (3,), }", data, { major: 2 });
  assert.equal(file[6], 2);
  const t = parseNpy(file, "v2.npy");
  assert.equal(t.dtype, "float64");
  assert.deepEqual(t.shape, [3]);
  assert.deepEqual([...t.data], [1.5, -2, 3e300]);
});

test("reads a version 3.0 (utf-8) header, 16-byte alignment, double quotes and odd spacing", () => {
  const data = bytesOf(new Int32Array([1, 2, 3, 4, 5, 6]));
  const v3 = rawNpy("{'descr':'<i4','fortran_order':False,'shape':(2,3)} ", data, { major: 3, utf8: true });
  assert.deepEqual([...parseNpy(v3).data], [1, 2, 3, 4, 5, 6]);
  const a16 = rawNpy('{"shape": ( 2 , 3 ), "fortran_order": False, "descr": "<i4"}', data, { align: 16 });
  assert.notEqual(a16.length % 64, 0);
  const t = parseNpy(a16);
  assert.deepEqual(t.shape, [2, 3]);
  assert.deepEqual([...t.data], [1, 2, 3, 4, 5, 6]);
});

test("reads data at an unaligned offset into an aligned typed array", () => {
  for (const dtype of ["float64", "int64", "float32", "int32"] as const) {
    const file = serializeNpy(sample(dtype, [3, 2]));
    const buf = new Uint8Array(file.length + 1);
    buf.set(file, 1);
    const view = buf.subarray(1); // every data byte now sits one past its natural alignment
    const t = parseNpy(view);
    assert.equal(t.data.byteOffset % t.data.BYTES_PER_ELEMENT, 0);
    assert.deepEqual(t.data, sample(dtype, [3, 2]).data);
    buf.fill(0); // the tensor owns its copy
    assert.deepEqual(t.data, sample(dtype, [3, 2]).data);
  }
});

test("a Node Buffer from the shared pool yields tensors that own exactly their data", () => {
  const file = Buffer.from(serializeNpy(sample("int32", [3])));
  const pooled = Buffer.concat([Buffer.from([1, 2, 3]), file]).subarray(3);
  for (const input of [file, pooled]) {
    const t = parseNpy(input);
    assert.equal(t.data.buffer.byteLength, 12);
    assert.deepEqual(t.data, sample("int32", [3]).data);
  }
  const u = parseNpy(Buffer.from(serializeNpy(sample("uint8", [2]))));
  assert.equal(u.data.constructor, Uint8Array);
  assert.equal(u.data.buffer.byteLength, 2);
});

test("reads big-endian data by swapping bytes", () => {
  const be = new Uint8Array(8);
  new DataView(be.buffer).setFloat32(0, 1.25, false);
  new DataView(be.buffer).setFloat32(4, -7, false);
  assert.deepEqual([...parseNpy(rawNpy("{'descr': '>f4', 'fortran_order': False, 'shape': (2,), }", be)).data], [1.25, -7]);
  const bi = new Uint8Array(8);
  new DataView(bi.buffer).setBigInt64(0, -123456789012n, false);
  assert.deepEqual([...parseNpy(rawNpy("{'descr': '>i8', 'fortran_order': False, 'shape': (), }", bi)).data], [-123456789012n]);
});

test("accepts <u1, |b1 with nonzero bytes normalised, and 0-d shapes", () => {
  const u = parseNpy(rawNpy("{'descr': '<u1', 'fortran_order': False, 'shape': (), }", new Uint8Array([200])));
  assert.equal(u.dtype, "uint8");
  assert.deepEqual(u.shape, []);
  assert.deepEqual([...u.data], [200]);
  const b = parseNpy(rawNpy("{'descr': '|b1', 'fortran_order': False, 'shape': (3,), }", new Uint8Array([0, 2, 1])));
  assert.equal(b.dtype, "bool");
  assert.deepEqual([...b.data], [0, 1, 1]);
});

const F4 = (shape: string): string => `{'descr': '<f4', 'fortran_order': False, 'shape': ${shape}, }`;

test("error: bad magic", () => {
  throwsOneLine(() => parseNpy(enc("PK\x03\x04 definitely a zip"), "x.npy"), "x.npy", /^x\.npy: not a \.npy file \(bad magic\)$/);
  throwsOneLine(() => parseNpy(new Uint8Array(0), "x.npy"), "x.npy", /bad magic/);
});

test("error: truncated preamble and truncated header", () => {
  throwsOneLine(() => parseNpy(enc("\x93NUMPY\x01"), "x.npy"), "x.npy", /truncated/);
  const file = serializeNpy(sample("float32", [2]));
  throwsOneLine(() => parseNpy(file.subarray(0, 40), "x.npy"), "x.npy", /truncated header: header says 118 bytes, file has 30/);
  const v2 = rawNpy(F4("(1,)"), new Uint8Array(4), { major: 2 });
  throwsOneLine(() => parseNpy(v2.subarray(0, 11), "x.npy"), "x.npy", /truncated/);
});

test("error: truncated data names shape, dtype and byte counts", () => {
  const file = rawNpy(F4("(4, 3, 32, 32)"), new Uint8Array(1000));
  throwsOneLine(
    () => parseNpy(file, "x.npy"),
    "x.npy",
    /^x\.npy: truncated: header says shape \[4,3,32,32\] float32 = 49152 bytes of data, file has 1000$/,
  );
});

test("error: trailing bytes after the data", () => {
  const file = serializeNpy(sample("int32", [3]));
  const longer = new Uint8Array(file.length + 2);
  longer.set(file);
  throwsOneLine(() => parseNpy(longer, "x.npy"), "x.npy", /trailing bytes: header says shape \[3\] int32 = 12 bytes of data, file has 14/);
});

test("error: fortran order", () => {
  const file = rawNpy("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }", new Uint8Array(16));
  throwsOneLine(() => parseNpy(file, "x.npy"), "x.npy", /fortran_order=True/);
});

test("error: unsupported descr", () => {
  for (const descr of ["<c8", "<f2", "<u2", "|i1", "<U5", "|O", "=f4", "|f4"]) {
    const file = rawNpy(`{'descr': '${descr}', 'fortran_order': False, 'shape': (), }`, new Uint8Array(8));
    throwsOneLine(() => parseNpy(file, "x.npy"), "x.npy", new RegExp(`^x\\.npy: unsupported dtype '${descr.replace(/[|]/g, "\\|")}'`));
  }
  const structured = rawNpy("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (1,), }", new Uint8Array(4));
  throwsOneLine(() => parseNpy(structured, "x.npy"), "x.npy", /unsupported dtype: structured/);
  const nl = rawNpy("{'descr': '<f4\n\n', 'fortran_order': False, 'shape': (), }", new Uint8Array(4));
  throwsOneLine(() => parseNpy(nl, "x.npy"), "x.npy", /unsupported dtype '<f4\\u000a\\u000a'/);
});

test("error: malformed header dict", () => {
  const cases: [string, RegExp][] = [
    ["{'descr': '<f4', 'fortran_order': False, 'shape': (3,), ", /malformed header: unexpected end/],
    ["{'descr': '<f4', 'fortran_order': False}", /malformed header: keys are \{descr,fortran_order\}/],
    ["{'descr': '<f4', 'fortran_order': False, 'shape': (3,), 'extra': 1}", /malformed header: keys are/],
    ["{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (3,)}", /duplicate key/],
    ["['descr', '<f4']", /malformed header: not a dict/],
    ["{'descr': '<f4', 'fortran_order': False, 'shape': (3)}", /'\(n\)' is not a tuple/],
    ["{'descr': '<f4', 'fortran_order': False, 'shape': [3]}", /'shape' is not a tuple/],
    ["{'descr': '<f4', 'fortran_order': False, 'shape': (-3,)}", /bad dimension -3/],
    ["{'descr': '<f4', 'fortran_order': 0, 'shape': (3,)}", /'fortran_order' is not True\/False/],
    ["{'descr': '<f4', 'fortran_order': False, 'shape': (3,)} junk", /unexpected text after the dict/],
    ["{'descr: '<f4', 'fortran_order': False, 'shape': (3,)}", /malformed header/],
    ["{'descr': '<f4', 'fortran_order': Nope, 'shape': (3,)}", /unexpected 'N'/],
  ];
  for (const [dict, re] of cases) {
    throwsOneLine(() => parseNpy(rawNpy(dict, new Uint8Array(12)), "x.npy"), "x.npy", re);
  }
});

test("error: header without newline, misaligned preamble, unknown version", () => {
  const noNl = rawNpy(F4("(1,)"), new Uint8Array(4));
  noNl[noNl.length - 4 - 1] = 0x20; // the newline just before the 4 data bytes
  throwsOneLine(() => parseNpy(noNl, "x.npy"), "x.npy", /malformed header: does not end with a newline/);
  const mis = new Uint8Array(10 + 60 + 4);
  mis.set([0x93, ...enc("NUMPY"), 1, 0, 60, 0]);
  mis.set(enc(F4("(1,)").padEnd(59, " ") + "\n"), 10);
  throwsOneLine(() => parseNpy(mis, "x.npy"), "x.npy", /data offset 70 is not a multiple of 16/);
  const v9 = serializeNpy(sample("uint8", [1]));
  v9[6] = 9;
  throwsOneLine(() => parseNpy(v9, "x.npy"), "x.npy", /unsupported \.npy format version 9\.0/);
});

test("default source name is <bytes>", () => {
  throwsOneLine(() => parseNpy(enc("nope")), "<bytes>", /bad magic/);
});

test("imagesToFloat scales uint8 by 1/255 and narrows float64", () => {
  const u = imagesToFloat(tensor("uint8", [1, 3], [0, 255, 51]));
  assert.equal(u.dtype, "float32");
  assert.deepEqual(u.shape, [1, 3]);
  assert.deepEqual([...u.data], [0, 1, Math.fround(0.2)]);
  const d = imagesToFloat(tensor("float64", [2], [0.5, 0.1]));
  assert.equal(d.dtype, "float32");
  assert.deepEqual([...d.data], [0.5, Math.fround(0.1)]);
  const f = tensor("float32", [2], [0.25, 2]);
  assert.equal(imagesToFloat(f), f);
  throwsOneLine(
    () => imagesToFloat(tensor("int64", [2, 2]), "imgs.npy"),
    "imgs.npy",
    /images must be uint8, float32 or float64, got int64 \[2,2\]/,
  );
  throwsOneLine(() => imagesToFloat(tensor("bool", [1])), "<images>", /got bool/);
});

test("labelsToInt64 widens integers and accepts whole-valued floats only", () => {
  assert.deepEqual([...labelsToInt64(tensor("int32", [3], [0, -1, 9])).data], [0n, -1n, 9n]);
  assert.deepEqual([...labelsToInt64(tensor("uint8", [2], [3, 255])).data], [3n, 255n]);
  assert.deepEqual([...labelsToInt64(tensor("float32", [2], [4, 7])).data], [4n, 7n]);
  assert.deepEqual([...labelsToInt64(tensor("float64", [1], [2])).data], [2n]);
  const i = tensor("int64", [1], [5]);
  assert.equal(labelsToInt64(i), i);
  assert.deepEqual(labelsToInt64(tensor("int32", [2, 1], [1, 2])).shape, [2, 1]);
  throwsOneLine(() => labelsToInt64(tensor("float32", [3], [1, 1.5, 2]), "y.npy"), "y.npy", /element 1 of float32 \[3\] is 1\.5/);
  throwsOneLine(() => labelsToInt64(tensor("float64", [1], [NaN]), "y.npy"), "y.npy", /is NaN/);
  throwsOneLine(() => labelsToInt64(tensor("bool", [1]), "y.npy"), "y.npy", /labels must be integers/);
});

test("a deeply nested header is a one-line error naming the file, not a stack overflow", () => {
  const header = `{'descr': '<f4', 'fortran_order': False, 'shape': ${"(".repeat(100000)}`;
  const text = header.padEnd(Math.ceil((header.length + 13) / 64) * 64 - 13, " ") + "\n";
  const withLen = new Uint8Array(12 + text.length);
  withLen.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 2, 0]);
  new DataView(withLen.buffer).setUint32(8, text.length, true);
  for (let i = 0; i < text.length; i++) withLen[12 + i] = text.charCodeAt(i);
  assert.throws(() => parseNpy(withLen, "deep.npy"), /^Error: deep\.npy: malformed header: nested deeper than 32 levels/);
});
