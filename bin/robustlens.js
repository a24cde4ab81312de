#!/usr/bin/env node
// Tiny shim → dist/src/cli/main.js. In a fresh clone (no dist/ yet) it compiles once with the project's own TypeScript,
// so `npm ci && npx robustlens explore` works without a separate build step.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
if (
  !existsSync(`${root}dist/src/cli/main.js`) &&
  existsSync(`${root}tsconfig.json`) &&
  existsSync(`${root}node_modules/typescript/bin/tsc`)
) {
  process.stderr.write("robustlens: first run in a source checkout: compiling (tsc) once...\n");
  const r = spawnSync(process.execPath, [`${root}node_modules/typescript/bin/tsc`, "-p", `${root}tsconfig.json`], {
    stdio: ["ignore", "inherit", "inherit"],
  });
  if (r.status !== 0) {
    process.stderr.write("robustlens: compiling failed (npm run build shows why)\n");
    process.exit(1);
  }
}
import("../dist/src/cli/main.js").then((m) => m.main(process.argv));
