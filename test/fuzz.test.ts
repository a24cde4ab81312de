// Bounded mutation fuzzing of the file readers; the long run is `node scripts/fuzz.mjs --minutes 10`.
import assert from "node:assert/strict";
import { test } from "node:test";
import { fuzz } from "./fuzz-harness.js";

test("mutated ONNX, .npy, IDX (raw and gzip) and checkpoint files give success or one clean line naming the file", async () => {
  const r = await fuzz({ seed: 13, cases: 2500, millis: 25_000 });
  assert.ok(r.cases >= 500, `only ${r.cases} cases ran`);
  for (const [t, s] of Object.entries(r.byTarget))
    assert.ok(s.rejected > 0, `${t}: no mutation was rejected, so the mutations are not reaching the reader`);
  assert.deepEqual(r.failures.slice(0, 10), [], `${r.failures.length} bad outcomes in ${r.cases} cases`);
});
