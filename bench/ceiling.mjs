// ORT's own large-MatMul throughput with the bench's thread count: the practical GFLOPS ceiling on this machine.
// Usage: node bench/ceiling.mjs --threads T [--sizes 1024,2048,3072] [--reps 7]  → prints {"ceiling_gflops", "size", "ms", "sizes"}
// The best of a few square sizes: one size alone swings with cache effects and the machine's other load.
import { parseArgs } from "node:util";
import { Builder, Graph, tensor } from "robustlens";
import { nodeExecutor } from "robustlens/node";

const { values: a } = parseArgs({
  options: { threads: { type: "string" }, sizes: { type: "string", default: "1024,2048,3072" }, reps: { type: "string", default: "7" } },
});
const sizes = a.sizes.split(",").map(Number);
let best = { ceiling_gflops: 0, size: 0, ms: 0 };
for (const n of sizes) {
  const g = new Graph();
  const b = new Builder(g);
  const x = g.addInput("a", "float32", [n, n]),
    y = g.addInput("b", "float32", [n, n]);
  g.outputs = [b.matmul(x, y)];
  const prog = await nodeExecutor.compile(g, { intraOpThreads: Number(a.threads) });
  const rand = () =>
    tensor(
      "float32",
      [n, n],
      Float32Array.from({ length: n * n }, () => Math.random() - 0.5),
    );
  const feeds = { a: rand(), b: rand() };
  for (let i = 0; i < 2; i++) await prog.run(feeds);
  const times = [];
  for (let i = 0; i < Number(a.reps); i++) {
    const t0 = performance.now();
    await prog.run(feeds);
    times.push(performance.now() - t0);
  }
  await prog.dispose();
  times.sort((p, q) => p - q);
  const ms = times[times.length >> 1];
  const gflops = (2 * n ** 3) / (ms * 1e6);
  if (gflops > best.ceiling_gflops) best = { ceiling_gflops: +gflops.toFixed(1), size: n, ms: +ms.toFixed(1) };
}
console.log(JSON.stringify({ ...best, sizes }));
