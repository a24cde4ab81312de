// Bench output: the console table, bench/results.json and the markdown table in bench/README.md and README.md (between markers).
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { cpus, totalmem } from "node:os";
import { tmpdir } from "node:os";
import { join } from "node:path";

export function machine() {
  const c = cpus();
  return `${c[0]?.model.trim() ?? "unknown CPU"}, ${c.length} cores, ${Math.round(totalmem() / 2 ** 30)} GiB, ${process.platform}`;
}

const ort = () => JSON.parse(readFileSync("node_modules/onnxruntime-node/package.json", "utf8")).version;

export function printTable(results, ceiling, threads) {
  const rows = results.map((r) =>
    [
      r.name,
      r.robustlens_ms,
      r.pytorch_ms,
      `${r.ratio}x`,
      r.gflops ?? "",
      `${r.rss_mb.robustlens}/${r.rss_mb.pytorch}`,
      r.robustlens_user_ms ?? "",
      r.check.ok ? "ok" : "FAILED",
    ].map(String),
  );
  const head = ["workload", "robustlens ms", "PyTorch ms", "PT/RL", "GFLOPS", "RSS MB RL/PT", "user path ms", "check"];
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (r) => r.map((v, i) => (i === 0 ? v.padEnd(w[i]) : v.padStart(w[i]))).join("  ");
  console.log(`\n${threads} threads; ORT MatMul ceiling ${ceiling.ceiling_gflops} GFLOPS\n${line(head)}\n${rows.map(line).join("\n")}`);
}

/** The README table (markdown). */
export function markdown(res) {
  const ceil = res.ceiling_gflops;
  const lines = [
    `Measured ${res.date.slice(0, 10)} on ${res.machine}; ${res.threads} threads on both sides; onnxruntime-node ${res.onnxruntime}, PyTorch ${res.torch}.`,
    `Medians of ≥ 5 timed runs per side (warm-up excluded), alternating robustlens and PyTorch; ORT's own square MatMul reaches ${ceil} GFLOPS (the best of sizes ${res.ceiling_sizes.join(", ")}).`,
    "ORT's NCHWc convolution kernels (used when the weights are constants) run faster than its MatMul, so ResNet-18 workloads can exceed that figure.",
    "",
    "| workload | robustlens | PyTorch | PyTorch / robustlens | GFLOPS (RL / PT; ceiling " + ceil + ") | peak RSS RL / PT | user path |",
    "|---|---|---|---|---|---|---|",
    ...res.workloads.map(
      (r) =>
        `| ${r.name} | ${r.robustlens_ms} ms | ${r.pytorch_ms} ms | ${r.ratio.toFixed(2)}× | ${r.gflops ? `${r.gflops} / ${r.pytorch_gflops}` : "–"} | ${r.rss_mb.robustlens} / ${r.rss_mb.pytorch} MB | ${r.robustlens_user_ms ? `${r.robustlens_user_ms} ms` : "–"} |`,
    ),
  ];
  return lines.join("\n");
}

const START = "<!-- bench-table -->",
  END = "<!-- /bench-table -->";

/** Writes results.json (a full run) or a temporary file (--quick / --only), and the README tables for full runs. */
export function writeResults({ results, ceiling, threads, torchVersion, quick, partial, seconds }) {
  const res = {
    machine: machine(),
    date: new Date().toISOString(),
    threads,
    onnxruntime: ort(),
    torch: torchVersion,
    node: process.version,
    seconds: Math.round(seconds),
    ceiling_gflops: ceiling.ceiling_gflops,
    ceiling_size: ceiling.size,
    ceiling_sizes: ceiling.sizes,
    workloads: results.map(({ torch: _t, ...r }) => r),
  };
  const full = !quick && !partial;
  const path = full ? "bench/results.json" : join(tmpdir(), `robustlens-bench-${quick ? "quick" : "partial"}.json`);
  writeFileSync(path, JSON.stringify(res, null, 2) + "\n");
  if (full) writeTables(res);
  return path;
}

/** The results table in bench/README.md and the project README, between the markers. */
export function writeTables(res) {
  for (const file of ["bench/README.md", "README.md"]) {
    if (!existsSync(file)) continue;
    const md = readFileSync(file, "utf8");
    const i = md.indexOf(START),
      j = md.indexOf(END);
    if (i >= 0 && j > i) writeFileSync(file, md.slice(0, i + START.length) + "\n" + markdown(res) + "\n" + md.slice(j));
  }
}
