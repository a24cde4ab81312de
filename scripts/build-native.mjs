// Builds the glibc malloc addon (native/malloc.c → dist/native/malloc.node) with the system C compiler against Node's own
// headers. Optional: where it cannot be built (no compiler, no headers, not Linux/glibc), robustlens runs without it.
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const src = join(root, "native", "malloc.c"),
  out = join(root, "dist", "native", "malloc.node");
const glibc = process.platform === "linux" && !!process.report?.getReport().header.glibcVersionRuntime;
const include = [join(dirname(dirname(process.execPath)), "include", "node"), "/usr/include/node"].find((d) =>
  existsSync(join(d, "node_api.h")),
);
const skip = !glibc ? "not Linux with glibc" : !include ? "Node's headers (node_api.h) not found" : undefined;
if (skip) {
  console.warn(`build-native: malloc addon not built (${skip}); large models keep glibc's default memory behaviour`);
  process.exit(0);
}
mkdirSync(dirname(out), { recursive: true });
const args = ["-O2", "-shared", "-fPIC", "-Wall", "-Werror", `-I${include}`, "-o", out, src];
const tried = [];
for (const cc of [process.env.CC, "cc", "gcc", "clang"].filter(Boolean)) {
  try {
    execFileSync(cc, args, { stdio: ["ignore", "inherit", "inherit"] });
    process.exit(0);
  } catch (e) {
    tried.push(`${cc}: ${e instanceof Error ? e.message.split("\n")[0] : e}`);
  }
}
console.warn(`build-native: malloc addon not built (${tried.join("; ")}); large models keep glibc's default memory behaviour`);
