import { test } from "node:test";
import assert from "node:assert/strict";
import { parseIdx, serializeIdx } from "./idx.js";

const pixels = Uint8Array.from({ length: 2 * 3 * 4 }, (_, i) => (i * 37) % 256);

test("IDX round-trips dims and bytes, big-endian header", () => {
  const bytes = serializeIdx([2, 3, 4], pixels);
  assert.deepEqual([...bytes.subarray(0, 8)], [0, 0, 8, 3, 0, 0, 0, 2]);
  const back = parseIdx(bytes, "x.idx");
  assert.deepEqual(back.dims, [2, 3, 4]);
  assert.deepEqual(back.data, pixels);
  assert.deepEqual(parseIdx(serializeIdx([300], new Uint8Array(300))).dims, [300]);
});

test("IDX errors are one line naming the file", () => {
  const good = serializeIdx([2, 3, 4], pixels);
  const cases: [Uint8Array, RegExp][] = [
    [good.subarray(0, good.length - 5), /^f\.idx: truncated: header says 2×3×4 = 24 bytes of data, file has 19$/],
    [good.subarray(0, 10), /^f\.idx: truncated: 10 bytes, too short for an IDX header with 3 dimensions$/],
    [good.subarray(0, 2), /^f\.idx: truncated: 2 bytes/],
    [Uint8Array.from([...good, 1, 2]), /^f\.idx: trailing bytes: header says .* file has 26$/],
    [Uint8Array.from([0x89, 0x50, 0x4e, 0x47, ...good]), /^f\.idx: not an IDX file \(magic 89 50 4e 47\)$/],
    [Uint8Array.from([0, 0, 0x0d, 1, 0, 0, 0, 0]), /^f\.idx: IDX element type 0x0d \(float\) is not supported/],
    [Uint8Array.from([0, 0, 8, 0]), /^f\.idx: IDX file with no dimensions$/],
  ];
  for (const [bytes, re] of cases) {
    assert.throws(
      () => parseIdx(bytes, "f.idx"),
      (e: Error) => {
        assert.match(e.message, re);
        assert.ok(!e.message.includes("\n"));
        return true;
      },
    );
  }
  assert.throws(() => serializeIdx([2, 2], new Uint8Array(3)), /do not fill/);
});
