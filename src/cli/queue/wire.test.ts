import assert from "node:assert/strict";
import { test } from "node:test";
import { fromWire, toWire } from "./wire.js";

test("queue results round-trip exactly through JSON: typed arrays by their bytes, NaN, ±Infinity and -0 kept, undefined dropped", () => {
  const value = {
    rows: [{ dtype: "float32", shape: [1, 2], data: new Float32Array([0.1, -3e38]) }],
    labels: new BigInt64Array([7n, -1n]),
    metrics: { distance: NaN, worst: -Infinity, best: Infinity, zero: -0, list: [1.5, NaN] },
    note: undefined,
    nested: { a: [null, "x", true] },
  };
  const back = fromWire(JSON.parse(JSON.stringify(toWire(value)))) as typeof value;
  const { note, ...defined } = value;
  assert.equal(note, undefined);
  // strict deep equality: no "note" key, and NaN equals NaN
  assert.deepEqual(back, defined);
  assert.ok(back.rows[0]!.data instanceof Float32Array && back.labels instanceof BigInt64Array);
  assert.ok(Object.is(back.metrics.zero, -0));
  // a slice of a larger buffer travels as its own bytes only
  const view = new Float32Array([1, 2, 3, 4]).subarray(1, 3);
  assert.deepEqual(fromWire(JSON.parse(JSON.stringify(toWire(view)))), new Float32Array([2, 3]));
});

test("toWire refuses what would not come back the same (class instances, functions), naming where it is", () => {
  assert.throws(() => toWire({ a: { b: new Map() } }), /^Error: internal: result\.a\.b is a Map, not plain data$/);
  assert.throws(() => toWire({ f: () => 1 }), /^Error: internal: result\.f is a function, not plain data$/);
});
