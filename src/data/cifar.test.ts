import { test } from "node:test";
import assert from "node:assert/strict";
import { CIFAR_RECORD, parseCifarBatch, parseCifarMeta, serializeCifarBatch } from "./cifar.js";

test("CIFAR-10 records: label byte then R, G, B planes", () => {
  const images = Uint8Array.from({ length: 3 * 3072 }, (_, i) => (i * 7) % 251);
  const bytes = serializeCifarBatch(images, [3, 0, 9]);
  assert.equal(bytes.length, 3 * CIFAR_RECORD);
  assert.equal(bytes[CIFAR_RECORD], 0);
  assert.equal(bytes[1], images[0]);
  const back = parseCifarBatch(bytes, "b.bin");
  assert.deepEqual([...back.labels], [3, 0, 9]);
  assert.deepEqual(back.images, images);
});

test("CIFAR-10 truncated or corrupt batches fail in one line naming the file", () => {
  const bytes = serializeCifarBatch(new Uint8Array(2 * 3072), [1, 2]);
  assert.throws(
    () => parseCifarBatch(bytes.subarray(0, bytes.length - 100), "b.bin"),
    /^Error: b\.bin: truncated or corrupt: 6046 bytes is 1 whole 3073-byte records and 2973 more bytes$/,
  );
  assert.throws(() => parseCifarBatch(new Uint8Array(0), "b.bin"), /^Error: b\.bin: empty file/);
  const bad = bytes.slice();
  bad[CIFAR_RECORD] = 200;
  assert.throws(() => parseCifarBatch(bad, "b.bin"), /^Error: b\.bin: corrupt: record 1 has label 200, expected 0\.\.9$/);
});

test("batches.meta.txt gives ten class names", () => {
  const names = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"];
  assert.deepEqual(parseCifarMeta(names.join("\n") + "\n\n"), names);
  assert.throws(() => parseCifarMeta("a\nb\n", "m.txt"), /^Error: m\.txt: 2 class names, expected 10$/);
});
