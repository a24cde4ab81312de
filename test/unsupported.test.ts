// An ONNX model using an op robustlens does not support is refused in one line naming the op and node.
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import onnxProto from "onnx-proto";
import { importOnnx } from "robustlens";
import { cli, fixtureDir, tmp } from "./helpers.js";

const { onnx } = onnxProto;

function modelWith(op: string): Uint8Array {
  const vi = (name: string) => ({
    name,
    type: { tensorType: { elemType: 1, shape: { dim: [{ dimValue: 1 }, { dimValue: 1 }, { dimValue: 28 }, { dimValue: 28 }] } } },
  });
  return onnx.ModelProto.encode({
    irVersion: 8,
    opsetImport: [{ domain: "", version: 17 }],
    graph: { name: "g", input: [vi("input")], output: [vi("y")], node: [{ opType: op, name: "weird1", input: ["input"], output: ["y"] }] },
  }).finish();
}

test("importOnnx names the unsupported op, its node and the supported list", () => {
  assert.throws(
    () => importOnnx(modelWith("Hardmax"), { source: "m.onnx" }),
    (e: Error) =>
      /unsupported op "Hardmax"/.test(e.message) && /weird1/.test(e.message) && /Conv/.test(e.message) && !e.message.includes("\n"),
  );
});

test("CLI: unsupported op is a one-line error with non-zero exit", () => {
  const f = join(tmp(), "m.onnx");
  writeFileSync(f, modelWith("Hardmax"));
  const r = cli(["predict", "--model", f, "--input", join(fixtureDir("smallnet"), "x.npy"), "--out", join(tmp(), "y.npy")]);
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /unsupported op "Hardmax"/);
  assert.equal(r.stderr.trim().split("\n").length, 1);
});
