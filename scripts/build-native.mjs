// Builds the native addons with the system C compiler against Node's own headers. Both are optional: where one cannot be
// built (no compiler, no headers, not Linux/glibc, no oneDNN), robustlens runs without it.
//   native/malloc.c                  → dist/native/malloc.node   glibc's mmap threshold for large models
//   native/ortdnnl.c, ort_kernels.c, ort_alloc.c, dnnl_conv.c → dist/native/ortdnnl.node  oneDNN convolutions in ORT
//                                    sessions (needs libdnnl-dev)
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const glibc = process.platform === "linux" && !!process.report?.getReport().header.glibcVersionRuntime;
const include = [join(dirname(dirname(process.execPath)), "include", "node"), "/usr/include/node"].find((d) =>
  existsSync(join(d, "node_api.h")),
);
const addons = [
  { name: "malloc", sources: ["malloc.c"], libs: [], without: "large models keep glibc's default memory behaviour" },
  {
    name: "ortdnnl",
    sources: ["ortdnnl.c", "ort_kernels.c", "ort_alloc.c", "dnnl_conv.c"],
    libs: ["-fopenmp", "-ldnnl", "-ldl", "-lpthread"],
    needs: { header: "/usr/include/dnnl.h", why: "oneDNN's headers (apt-get install libdnnl-dev) not found" },
    without: "convolutions run on ONNX Runtime's own kernels",
  },
];
const skip = !glibc ? "not Linux with glibc" : !include ? "Node's headers (node_api.h) not found" : undefined;
for (const a of addons) {
  const why = skip ?? (a.needs && !existsSync(a.needs.header) ? a.needs.why : undefined);
  if (why) {
    console.warn(`build-native: ${a.name} addon not built (${why}); ${a.without}`);
    continue;
  }
  const out = join(root, "dist", "native", `${a.name}.node`);
  mkdirSync(dirname(out), { recursive: true });
  const args = [
    "-O2",
    "-shared",
    "-fPIC",
    "-Wall",
    "-Werror",
    `-I${include}`,
    "-o",
    out,
    ...a.sources.map((s) => join(root, "native", s)),
    ...a.libs,
  ];
  const tried = [];
  let built = false;
  for (const cc of [process.env.CC, "cc", "gcc", "clang"].filter(Boolean)) {
    try {
      execFileSync(cc, args, { stdio: ["ignore", "inherit", "inherit"] });
      built = true;
      break;
    } catch (e) {
      tried.push(`${cc}: ${e instanceof Error ? e.message.split("\n")[0] : e}`);
    }
  }
  if (!built) console.warn(`build-native: ${a.name} addon not built (${tried.join("; ")}); ${a.without}`);
}
