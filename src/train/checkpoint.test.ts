import assert from "node:assert/strict";
import { test } from "node:test";
import { tensor } from "../ir/tensor.js";
import { crc32, decodeCheckpoint, encodeCheckpoint } from "./checkpoint.js";
import { checkState } from "./node/check.js";

const history = [0, 1].map((epoch) => ({
  epoch,
  lr: 0.1,
  train_loss: 1,
  train_acc: 0.5,
  test_acc: 0.5,
  adv_acc: null,
  seconds: 1,
  images_per_second: 9,
}));
const ck = () => ({
  state: { epoch: 1, history, options: {} },
  tensors: new Map([
    ["w", tensor("float32", [2, 2], [1, 2, 3, 4])],
    ["b", tensor("float32", [2], [5, 6])],
  ]),
});

/** Re-encodes with the header text edited and a fresh checksum, so the field checks see the damage. */
function withHeader(edit: (h: string) => string): Uint8Array {
  const b = encodeCheckpoint(ck());
  const len = new DataView(b.buffer).getUint32(8, true);
  const text = new TextEncoder().encode(edit(new TextDecoder().decode(b.subarray(12, 12 + len))));
  const out = new Uint8Array(12 + text.length + (b.length - 12 - len));
  out.set(b.subarray(0, 12));
  new DataView(out.buffer).setUint32(8, text.length, true);
  out.set(text, 12);
  out.set(b.subarray(12 + len), 12 + text.length);
  new DataView(out.buffer).setUint32(out.length - 4, crc32(out.subarray(0, out.length - 4)), true);
  return out;
}

test("checkpoints round-trip and carry a CRC-32 that catches any flipped bit or truncation", () => {
  const b = encodeCheckpoint(ck());
  const back = decodeCheckpoint(b, "ck.rlck");
  assert.deepEqual(Array.from(back.tensors.get("w")!.data), [1, 2, 3, 4]);
  assert.equal(crc32(new TextEncoder().encode("123456789")), 0xcbf43926);
  for (const at of [13, 40, b.length - 6]) {
    const bad = Uint8Array.from(b);
    bad[at]! ^= 1;
    assert.throws(() => decodeCheckpoint(bad, "ck.rlck"), /^Error: ck\.rlck: checksum mismatch/);
  }
  assert.throws(() => decodeCheckpoint(b.subarray(0, b.length - 1), "ck.rlck"), /ck\.rlck: checksum mismatch/);
});

test("every header field is validated: offsets, shapes, names, structure (one line naming the file)", () => {
  const cases: [(h: string) => string, RegExp][] = [
    [(h) => h.replace('"offset":16', '"offset":-40'), /tensor "b": offset -40 is not 16/],
    [(h) => h.replace('"offset":16', '"offset":0'), /tensor "b": offset 0 is not 16/],
    [(h) => h.replace('"shape":[2,2]', '"shape":[-2,2]'), /tensor "w": bad shape \[-2,2\]/],
    [(h) => h.replace('"shape":[2]', '"shape":[1]'), /4 trailing bytes after the last tensor/],
    [(h) => h.replace('"shape":[2]', '"shape":[1e9]'), /truncated: tensor "b" \[1000000000\] runs past the end/],
    [(h) => h.replace('"name":"b"', '"name":"w"'), /tensor "w" appears twice/],
    [(h) => h.replace('"tensors":[', '"tensors":"x","old":['), /expected \{state: \{\.\.\.\}, tensors: \[\.\.\.\]\}/],
    [(h) => h.replace(/^\{"state":\{/, '{"state":7,"x":{'), /expected \{state/],
  ];
  for (const [edit, re] of cases) {
    assert.throws(
      () => decodeCheckpoint(withHeader(edit), "run/ck.rlck"),
      (e: Error) => {
        assert.equal(e.constructor, Error);
        assert.match(e.message, /^run\/ck\.rlck: /);
        assert.match(e.message, re);
        return true;
      },
    );
  }
});

test("the training state of a checkpoint is validated: epoch, history and its entries", () => {
  const state = (s: Record<string, unknown>) => ({ epoch: 1, history, options: {}, ...s });
  assert.deepEqual(checkState(state({}), 5, "ck").epoch, 1);
  const cases: [Record<string, unknown>, RegExp][] = [
    [{ epoch: "abc" }, /ck: bad epoch "abc"/],
    [{ epoch: -5 }, /ck: bad epoch -5/],
    [{ epoch: 1.5 }, /bad epoch 1\.5/],
    [{ history: { map: 1 } }, /history is not a list/],
    [{ epoch: 3 }, /history has 2 epochs, the checkpoint says 4/],
    [{ history: [history[1], history[0]] }, /history entry 0 is not epoch 0/],
    [{ history: [history[0], { ...history[1], test_acc: "x" }] }, /history entry 1: test_acc is "x"/],
  ];
  for (const [s, re] of cases) assert.throws(() => checkState(state(s), 5, "ck"), re);
  assert.throws(() => checkState(state({}), 1, "ck"), /already has 2 epochs, more than --epochs 1/);
});
