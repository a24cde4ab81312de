// Opsets 7–10: pytorch-converted CNN layers (opset 6) upgraded by ONNX's own version converter (python3-onnx) import and
// match their references, and their gradients match finite differences.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { importOnnxDetailed } from "../src/builder/onnx-import.js";
import { TESTDATA, runConformanceTest } from "../src/testing/conformance.js";
import { runGradTest } from "../src/testing/conformance-grad.js";

const MODELS = [
  "test_Conv2d",
  "test_Conv2d_depthwise_strided",
  "test_BatchNorm2d_eval",
  "test_MaxPool2d",
  "test_AvgPool2d",
  "test_Linear",
  "test_PReLU_2d",
  "test_ConstantPad2d",
  "test_ZeroPad2d",
  "test_Softmax",
  "test_LogSoftmax",
  "test_PixelShuffle",
  "test_LeakyReLU",
  "test_ELU",
];
const OPSETS = [7, 8, 9, 10];

// converts each model to each opset (onnx.version_converter, then onnx.checker), next to a link to its test data
const CONVERT = `
import onnx, os, sys
from onnx import version_converter
src, out, names, opsets = sys.argv[1], sys.argv[2], sys.argv[3].split(","), [int(v) for v in sys.argv[4].split(",")]
for n in names:
    m = onnx.load(os.path.join(src, n, "model.onnx"))
    for v in opsets:
        c = version_converter.convert_version(m, v)
        onnx.checker.check_model(c)
        d = os.path.join(out, f"{n}_opset{v}")
        os.makedirs(d)
        onnx.save(c, os.path.join(d, "model.onnx"))
        os.symlink(os.path.join(src, n, "test_data_set_0"), os.path.join(d, "test_data_set_0"))
`;

test("pytorch-converted layers re-stamped at opsets 7, 8, 9 and 10 import, match their references and their gradients", async (t) => {
  const out = mkdtempSync(join(tmpdir(), "opsets-"));
  try {
    const src = join(TESTDATA, "pytorch-converted");
    const r = spawnSync("/usr/bin/python3", ["-c", CONVERT, src, out, MODELS.join(","), OPSETS.join(",")], { encoding: "utf8" });
    assert.equal(r.status, 0, `onnx.version_converter (python3-onnx): ${r.stderr}`);
    const bad: string[] = [];
    let gradients = 0;
    for (const m of MODELS) {
      for (const v of OPSETS) {
        const dir = join(out, `${m}_opset${v}`);
        const { opset } = importOnnxDetailed(new Uint8Array(readFileSync(join(dir, "model.onnx"))));
        if (opset !== v) bad.push(`${m} opset ${v}: the converted model says opset ${opset}`);
        const fwd = await runConformanceTest(dir);
        if (fwd.status !== "pass") bad.push(`${m} opset ${v}: forward ${fwd.status} ${fwd.detail ?? ""}`);
        else if (v === 9) {
          const g = await runGradTest(dir, fwd);
          if (g.status === "pass") gradients++;
          else if (g.status !== "skip") bad.push(`${m} opset ${v}: gradient ${g.status} ${g.detail ?? ""}`);
        }
      }
    }
    t.diagnostic(`${MODELS.length * OPSETS.length} re-stamped models; ${gradients} gradient checks at opset 9 pass`);
    assert.deepEqual(bad, []);
    assert.equal(gradients, MODELS.length);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});
