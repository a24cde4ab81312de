import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { Graph } from "../../ir/graph.js";
import { tensor } from "../../ir/tensor.js";
import { MALLOC_RULE, mallocAddonAvailable, weightBytes } from "./malloc.js";

const glibc =
  process.platform === "linux" &&
  !!(process.report?.getReport() as { header?: { glibcVersionRuntime?: string } }).header?.glibcVersionRuntime;
const here = (f: string): string => JSON.stringify(fileURLToPath(new URL(f, import.meta.url)));

/** tuneMallocFor's state in a fresh process (it is process-wide and set once) for graphs of these weight sizes, in order. */
function statesInChild(sizes: number[], env: Record<string, string> = {}): string[] {
  const script = `
    import { Graph } from ${here("../../ir/graph.js")};
    import { tuneMallocFor } from ${here("./malloc.js")};
    const out = [];
    for (const n of ${JSON.stringify(sizes)}) {
      const g = new Graph();
      g.addInput("w", "float32", [n / 4]);
      out.push(String(tuneMallocFor(g)));
    }
    console.log(JSON.stringify(out));`;
  const clean = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !k.startsWith("MALLOC_") && k !== "ROBUSTLENS_MALLOC" && k !== "GLIBC_TUNABLES"),
  );
  const stdout = execFileSync(process.execPath, ["--input-type=module", "-e", script], {
    env: { ...clean, ...env },
    encoding: "utf8",
  });
  return JSON.parse(stdout) as string[];
}

test("weightBytes counts float initializers and static float inputs, not symbolic or integer ones", () => {
  const g = new Graph();
  g.addInput("x", "float32", ["batch", 3, 32, 32]);
  g.addInput("w", "float32", [64, 3, 3, 3]);
  g.addInput("y", "int64", [32]);
  g.addInitializer("b", tensor("float64", [10], new Float64Array(10)));
  assert.equal(weightBytes(g), 64 * 27 * 4 + 80);
});

test("the malloc addon is built and loads on Linux with glibc", { skip: !glibc && "not Linux with glibc" }, () => {
  assert.ok(mallocAddonAvailable(), "dist/native/malloc.node missing: `npm run build` runs scripts/build-native.mjs");
});

test(
  "the mmap threshold is fixed once, at the first model of the rule's size; small models and user settings leave glibc alone",
  { skip: !glibc && "not Linux with glibc" },
  () => {
    const big = MALLOC_RULE.minWeightBytes,
      small = 1 << 20;
    assert.deepEqual(statesInChild([small, small]), ["undefined", "undefined"]);
    assert.deepEqual(statesInChild([small, big, small]), ["undefined", "fixed", "fixed"]);
    assert.deepEqual(statesInChild([big], { MALLOC_TRIM_THRESHOLD_: "131072" }), ["user"]);
    assert.deepEqual(statesInChild([big], { GLIBC_TUNABLES: "glibc.malloc.mmap_threshold=65536" }), ["user"]);
    assert.deepEqual(statesInChild([big], { ROBUSTLENS_MALLOC: "default" }), ["default"]);
  },
);
