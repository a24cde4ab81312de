// The README's supported-op table is generated (npm run ops-table): it must match a fresh one, and the check must catch drift.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";

const script = (...args: string[]) => spawnSync(process.execPath, ["scripts/ops-table.mjs", ...args], { encoding: "utf8" });

test("README ops table is current (npm run ops-table rewrites it)", () => {
  const r = script("--check");
  assert.equal(r.status, 0, r.stderr);
});

test("ops table: one row per supported, composed and legacy op, with gradient and WebGPU columns", () => {
  const r = script("--print");
  assert.equal(r.status, 0, r.stderr);
  const rows = new Map(
    r.stdout
      .split("\n")
      .slice(2)
      .filter((l) => l.startsWith("| "))
      .map((l) => {
        const c = l.split(" | ").map((s) => s.replace(/^\| |\|$/g, "").trim());
        return [c[0]!, c] as const;
      }),
  );
  assert.deepEqual(rows.get("Conv")?.slice(1, 4), ["6–21", "yes", "yes"]);
  assert.match(rows.get("HardSwish")![1]!, /^14–21$/);
  assert.equal(rows.get("Sign")![3], "rewritten");
  assert.match(rows.get("Floor")![2]!, /^zero/);
  assert.match(rows.get("MaxPool")![3]!, /^partly \(refused: with the Indices output/);
  assert.match(rows.get("Upsample")![4]!, /imported as Resize/);
  assert.match(rows.get("Gelu")![4]!, /erf/);
  assert.match(rows.get("Pad")![4]!, /pads and the constant value as attributes/);
});

test("ops table check fails on a stale README and rewriting fixes it", () => {
  const dir = mkdtempSync(join(tmpdir(), "ops-table-"));
  try {
    const f = join(dir, "README.md");
    writeFileSync(f, readFileSync("README.md", "utf8").replace(/^\| Conv \|.*$/m, "| Conv | 6–21 | no | no | |"));
    const stale = script("--readme", f, "--check");
    assert.equal(stale.status, 1);
    assert.match(stale.stderr, /README\.md: the ops table is stale; run npm run ops-table/);
    assert.equal(script("--readme", f).status, 0);
    assert.equal(script("--readme", f, "--check").status, 0);
    assert.equal(readFileSync(f, "utf8"), readFileSync("README.md", "utf8"));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
