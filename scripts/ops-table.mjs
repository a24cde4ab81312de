// Writes the README's table of supported ONNX ops from the op registry, the import normalizer and the backend profiles.
// usage: node scripts/ops-table.mjs [--readme FILE] [--check] [--print]
//   --check: exit 1 (naming the file) when the table in FILE differs from a fresh one; nothing is written.
import { readFileSync, writeFileSync } from "node:fs";
import { LEGACY_OPS } from "../dist/src/builder/onnx-normalize.js";
import { COMPOSED_OPS } from "../dist/src/builder/onnx-compose.js";
import { MAX_OPSET, MIN_OPSET } from "../dist/src/builder/onnx-import.js";
import { LOWERINGS } from "../dist/src/ops/lower.js";
import { OPS, SUPPORTED_OPS } from "../dist/src/ops/index.js";
import { WEBGPU_PROFILE } from "../dist/src/ops/profile.js";

const BEGIN = "<!-- ops-table:begin (npm run ops-table writes this table) -->";
const END = "<!-- ops-table:end -->";

// the default-domain opset each ONNX op first appeared in, where after opset 6 (ONNX's Operators.md / onnx.defs);
// Upsample was removed in opset 10
const INTRODUCED = {
  Mod: 10,
  Sign: 9,
  Round: 11,
  Erf: 9,
  Celu: 12,
  HardSwish: 14,
  ThresholdedRelu: 10,
  Shrink: 9,
  Sin: 7,
  Cos: 7,
  Where: 9,
  GreaterOrEqual: 12,
  LessOrEqual: 12,
  MaxUnpool: 9,
  LayerNormalization: 17,
  Resize: 10,
  Expand: 8,
  GatherElements: 11,
  ScatterElements: 11,
  ConstantOfShape: 9,
  Range: 11,
  Einsum: 12,
  NonZero: 9,
  CumSum: 11,
  GatherND: 11,
  ScatterND: 11,
  OneHot: 9,
  Trilu: 14,
  GridSample: 16,
  Gelu: 20,
  Mish: 18,
  GroupNormalization: 18,
  Upsample: 7,
  Col2Im: 18,
  Bernoulli: 15,
  Det: 11,
  ReverseSequence: 10,
  RoiAlign: 10,
};
const REMOVED = { Upsample: 9 };

/** The first comment (all its lines) after each `case "Op":` group of the normalizer's switch, by op; and the opset < 7
 * broadcast rewrite of the ops in BROADCAST_OPS. */
function normalizerNotes(src) {
  const notes = {};
  const body = src.slice(src.indexOf("switch (n.op) {"));
  let group = [],
    inCases = false,
    comment = [];
  const flush = () => {
    if (comment.length) for (const op of group) notes[op] ??= comment.join(" ");
    if (comment.length) group = [];
    comment = [];
  };
  for (const line of body.split("\n")) {
    const m = line.match(/^\s*case "(\w+)":/);
    const c = line.match(/^\s*\/\/ (.*)$/);
    if (m) {
      if (!inCases) group = [];
      group.push(m[1]);
      inCases = true;
    } else if (c && group.length) {
      inCases = false;
      comment.push(c[1]);
    } else {
      inCases = false;
      flush();
    }
  }
  const set = src.match(/const BROADCAST_OPS = new Set\(\[([^\]]*)\]\)/);
  for (const op of set ? [...set[1].matchAll(/"(\w+)"/g)].map((x) => x[1]) : []) {
    const rule = "opset < 7: the opt-in `broadcast` and `axis` attributes become numpy broadcasting";
    notes[op] = notes[op] ? `${rule}; ${notes[op]}` : rule;
  }
  return notes;
}

/** The comment line above each composed op's rewrite, by op. */
function composeNotes(src) {
  const notes = {};
  const lines = src.split("\n");
  lines.forEach((line, i) => {
    const m = line.match(/^ {2}(\w+): \(c\) =>/);
    if (m && /^\s*\/\//.test(lines[i - 1])) notes[m[1]] = lines[i - 1].replace(/^\s*\/\/ /, "");
  });
  return notes;
}

const cell = (s) => s.replace(/\|/g, "\\|").replace(/\s+/g, " ").trim();
// the refusal messages of a profile rule, read from its source: they name the attribute forms it refuses
const quoted = (fn) => [...fn.toString().matchAll(/"((?:with|without) [^"]*)"|'((?:with|without) [^']*)'/g)].map((m) => m[1] ?? m[2]);

function webgpu(op) {
  const rule = WEBGPU_PROFILE.ops[op];
  const lowered = LOWERINGS[op] !== undefined;
  if (rule === true) return "yes";
  if (typeof rule === "function") {
    const when = quoted(rule).join("; ");
    return lowered ? `yes (rewritten where: ${when})` : `partly (refused: ${when})`;
  }
  return lowered ? "rewritten" : "no";
}

function gradient(op) {
  const g = OPS[op].grad;
  if (g.kind === "vjp") return OPS[op].stopGradient?.length ? `yes (none to inputs ${OPS[op].stopGradient.join(", ")})` : "yes";
  if (g.kind === "none") return "zero (integer or piecewise constant)";
  return `no: ${g.why}`;
}

const opsets = (op) => {
  const from = Math.max(MIN_OPSET, INTRODUCED[op] ?? MIN_OPSET),
    to = Math.min(MAX_OPSET, REMOVED[op] ?? MAX_OPSET);
  return `${from}–${to}`;
};

export function opsTable() {
  const normalize = normalizerNotes(readFileSync(new URL("../src/builder/onnx-normalize.ts", import.meta.url), "utf8"));
  const composed = composeNotes(readFileSync(new URL("../src/builder/onnx-compose.ts", import.meta.url), "utf8"));
  const rows = [];
  for (const op of SUPPORTED_OPS) rows.push([op, opsets(op), gradient(op), webgpu(op), normalize[op] ?? ""]);
  for (const op of Object.keys(COMPOSED_OPS).sort())
    rows.push([op, opsets(op), "yes (through the composition)", "as its composition", `imported as opset-17 ops: ${composed[op] ?? ""}`]);
  for (const [op, to] of Object.entries(LEGACY_OPS)) rows.push([op, opsets(op), gradient(to), webgpu(to), `imported as ${to}`]);
  rows.sort((a, b) => a[0].localeCompare(b[0]));
  const head = "| op | opsets | gradient | WebGPU | notes |\n|---|---|---|---|---|\n";
  return head + rows.map((r) => `| ${r.map(cell).join(" | ")} |`).join("\n") + "\n";
}

function replaced(readme, table) {
  const a = readme.indexOf(BEGIN),
    b = readme.indexOf(END);
  if (a < 0 || b < a) return undefined;
  return `${readme.slice(0, a + BEGIN.length)}\n\n${table}\n${readme.slice(b)}`;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const i = process.argv.indexOf("--readme");
  const file = i > 0 ? process.argv[i + 1] : "README.md";
  const table = opsTable();
  if (process.argv.includes("--print")) process.stdout.write(table);
  else {
    const readme = readFileSync(file, "utf8");
    const next = replaced(readme, table);
    if (next === undefined) {
      console.error(`${file}: no ops table markers (${BEGIN} … ${END})`);
      process.exit(1);
    }
    if (process.argv.includes("--check")) {
      if (next !== readme) {
        console.error(`${file}: the ops table is stale; run npm run ops-table`);
        process.exit(1);
      }
    } else if (next !== readme) writeFileSync(file, next);
  }
}
