// Shared by integration tests: fixture paths, the CLI runner and tensor comparisons.
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Tensor } from "robustlens";

export const FIXTURES = "test/fixtures";
export const GEN = "test/fixtures/.gen";

export const tmp = (): string => mkdtempSync(join(tmpdir(), "robustlens-test-"));

export const mean = (a: ArrayLike<number>): number => Array.from(a).reduce((s, v) => s + v, 0) / a.length;

export function cli(args: readonly string[]): { status: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ["bin/robustlens.js", ...args], { encoding: "utf8" });
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** ‖a − b‖ / ‖b‖ over all elements. */
export function relErr(a: Tensor, b: Tensor): number {
  let num = 0,
    den = 0;
  for (let i = 0; i < b.data.length; i++) {
    const d = Number(a.data[i]) - Number(b.data[i]);
    num += d * d;
    den += Number(b.data[i]) ** 2;
  }
  return Math.sqrt(num / den);
}

/** The torchvision ResNet-18 fixture is ~45 MB, so it is generated here (Debian python3-torch) instead of committed. */
export function fixtureDir(name: string): string {
  if (name !== "resnet18_tv") return join(FIXTURES, name);
  const dir = join(GEN, name);
  if (!existsSync(join(dir, "grad_rep.npy"))) {
    try {
      execFileSync("/usr/bin/python3", ["scripts/make_fixtures.py", "--only", name, "--out", GEN], { stdio: "pipe" });
    } catch (e) {
      throw new Error(
        `generating ${name} needs Debian's python3-torch python3-torchvision python3-onnx (apt-get install them): ${String(
          (e as { stderr?: Buffer }).stderr ?? e,
        )
          .split("\n")
          .slice(-2)
          .join(" ")}`,
      );
    }
  }
  return dir;
}
