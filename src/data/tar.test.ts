import { test } from "node:test";
import assert from "node:assert/strict";
import { parseTar, writeTar } from "./tar.js";

const enc = (s: string) => new TextEncoder().encode(s);

test("tar round-trips regular files, sizes off the 512-byte grid included", () => {
  const entries = [
    { name: "d/a.txt", data: enc("hello") },
    { name: "d/b.bin", data: new Uint8Array(1030).fill(7) },
    { name: "empty", data: new Uint8Array(0) },
  ];
  const back = parseTar(writeTar(entries), "t.tar");
  assert.deepEqual(
    back.map((e) => e.name),
    ["d/a.txt", "d/b.bin", "empty"],
  );
  assert.deepEqual(
    back.map((e) => [...e.data]),
    entries.map((e) => [...e.data]),
  );
});

test("corrupt and truncated archives are one-line errors", () => {
  const bytes = writeTar([{ name: "a", data: new Uint8Array(2000) }]);
  const bad = bytes.slice();
  bad[0] = 0x62;
  assert.throws(() => parseTar(bad, "t.tar"), /^Error: t\.tar: corrupt tar header at byte 0 \(checksum mismatch\)$/);
  assert.throws(() => parseTar(bytes.subarray(0, 1024), "t.tar"), /^Error: t\.tar: truncated: "a" needs 2000 bytes, archive has 512 left$/);
  assert.throws(() => parseTar(bytes.subarray(0, 100), "t.tar"), /^Error: t\.tar: truncated tar archive/);
});
