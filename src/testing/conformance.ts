// The ONNX backend test data (Debian libonnx-testdata) through robustlens: import, export, run, compare with the references.
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import * as ort from "onnxruntime-node";
import { importOnnx } from "../builder/onnx-import.js";
import { onnx, protoToTensor } from "../builder/onnx-tensor.js";
import type { Tensor } from "../ir/tensor.js";
import { nodeExecutor } from "../runtime/node.js";

export const TESTDATA = "/usr/share/libonnx-testdata/data";

/** pass: our outputs match; fail: they do not; refused: a clean one-line import/compile error; crash: anything else;
 * reference: onnxruntime itself fails on the original model or its reference outputs (not counted against us). */
export type Outcome = { status: "pass" | "fail" | "refused" | "crash" | "reference"; detail?: string };

const readTensor = (p: string): Tensor => protoToTensor(onnx.TensorProto.decode(readFileSync(p)), p);

export function dataSet(dir: string): { inputs: Tensor[]; outputs: Tensor[] } | undefined {
  const set = join(dir, "test_data_set_0");
  if (!existsSync(set)) return undefined;
  const files = readdirSync(set).sort((a, b) => Number(a.match(/\d+/)?.[0]) - Number(b.match(/\d+/)?.[0]));
  return {
    inputs: files.filter((f) => f.startsWith("input_")).map((f) => readTensor(join(set, f))),
    outputs: files.filter((f) => f.startsWith("output_")).map((f) => readTensor(join(set, f))),
  };
}

/** Element-wise closeness as the ONNX backend tests define it (rtol 1e-3, atol 1e-7 widened to 1e-5 for float32). */
export function close(a: Tensor, b: Tensor, rtol = 1e-3, atol = 1e-5): string | undefined {
  if (a.shape.join() !== b.shape.join()) return `shape [${a.shape}] vs reference [${b.shape}]`;
  for (let i = 0; i < a.data.length; i++) {
    const x = Number(a.data[i]),
      y = Number(b.data[i]);
    if (Number.isNaN(x) && Number.isNaN(y)) continue;
    if (x === y) continue;
    if (!(Math.abs(x - y) <= atol + rtol * Math.abs(y))) return `element ${i}: ${x} vs reference ${y}`;
  }
  return undefined;
}

const toOrt = (t: Tensor) =>
  new ort.Tensor(t.dtype === "bool" ? "bool" : t.dtype, (t.dtype === "bool" ? Uint8Array.from(t.data as Uint8Array) : t.data) as never, [
    ...t.shape,
  ]);

/** Does onnxruntime itself run the original model and reproduce the references? */
async function ortPasses(bytes: Uint8Array, inputs: Tensor[], outputs: Tensor[]): Promise<boolean> {
  try {
    ort.env.logLevel = "fatal";
    const s = await ort.InferenceSession.create(bytes, { logSeverityLevel: 4 });
    try {
      const res = await s.run(Object.fromEntries(s.inputNames.map((n, i) => [n, toOrt(inputs[i]!)])));
      return s.outputNames.every((n, i) => {
        const t = res[n]!;
        const mine = { dtype: "float32", shape: [...t.dims], data: t.data } as unknown as Tensor;
        return close(mine, outputs[i]!) === undefined;
      });
    } finally {
      await s.release();
    }
  } catch {
    return false;
  }
}

/** Runs one backend test directory (model.onnx + test_data_set_0). */
export async function runConformanceTest(dir: string): Promise<Outcome> {
  const bytes = new Uint8Array(readFileSync(join(dir, "model.onnx")));
  let data;
  try {
    data = dataSet(dir);
  } catch (e) {
    // sequence and optional test data are not tensors: robustlens carries tensors only
    return { status: "refused", detail: `test data: ${String((e as Error).message ?? e).split("\n")[0]}` };
  }
  if (!data) return { status: "reference", detail: "no test data" };
  if (!(await ortPasses(bytes, data.inputs, data.outputs))) return { status: "reference", detail: "onnxruntime fails this test" };
  let graph;
  try {
    const first = importOnnx(bytes, { source: dir });
    // static shapes from the test's inputs (models declare symbolic ones)
    const shapes = Object.fromEntries(first.inputs.map((v, i) => [v.name, data.inputs[i]?.shape ?? []]));
    graph = importOnnx(bytes, { source: dir, inputShapes: shapes });
  } catch (e) {
    return classify(e);
  }
  let prog;
  try {
    prog = await nodeExecutor.compile(graph);
  } catch (e) {
    return classify(e);
  }
  try {
    const feeds = Object.fromEntries(graph.inputs.map((v, i) => [v.name, data.inputs[i]!]));
    const out = await prog.run(feeds);
    for (const [i, v] of graph.outputs.entries()) {
      const why = close(out[v.name]!, data.outputs[i]!);
      if (why) return { status: "fail", detail: `output ${i}: ${why}` };
    }
    return { status: "pass" };
  } catch (e) {
    return classify(e, "fail");
  } finally {
    await prog.dispose();
  }
}

function classify(e: unknown, clean: "refused" | "fail" = "refused"): Outcome {
  const msg = String((e as Error)?.message ?? e);
  const crash =
    !(e instanceof Error) || e instanceof TypeError || e instanceof RangeError || msg.startsWith("internal:") || msg.includes("\n    at ");
  return { status: crash ? "crash" : clean, detail: msg.split("\n")[0] };
}

/** The test directories of a suite ("node", "pytorch-converted", "pytorch-operator", "simple", "real"). */
export function suiteTests(suite: string): string[] {
  const d = join(TESTDATA, suite);
  return existsSync(d)
    ? readdirSync(d)
        .filter((n) => existsSync(join(d, n, "model.onnx")))
        .sort()
        .map((n) => join(d, n))
    : [];
}
