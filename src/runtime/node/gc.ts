// A full V8 collection on request: large ArrayBuffers that a program let go of (Program.dropStable) are freed before the
// next ORT run, not at V8's next collection, which native work does not trigger (bench/README.md, "Memory, 2026-12-03").
import { setImmediate as tick } from "node:timers/promises";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";

/** Dropping at least this much makes a program collect (ResNet-18's hoisted weight reorders: 89 MB; the small CNN's: ~3 MB). */
export const COLLECT_AFTER_BYTES = 16 << 20;

let gc: (() => void) | null | undefined;

/** Runs a full collection; false where V8's gc() cannot be had. A few ms on robustlens' small JS heaps. */
export function collectGarbage(): boolean {
  if (gc === undefined) {
    const exposed = (globalThis as { gc?: () => void }).gc;
    try {
      // --expose-gc set at run time takes effect for contexts made after it: a fresh one hands out its gc()
      gc = exposed ?? (setFlagsFromString("--expose-gc"), runInNewContext("gc") as () => void);
    } catch {
      gc = null;
    }
  }
  gc?.();
  return gc !== null;
}

/** Collects once the current task is over: buffers the finished runs' closures still held are unreachable by then. */
export async function collectSoon(): Promise<boolean> {
  await tick();
  return collectGarbage();
}
