// The executor CLI commands run models on, chosen once per process by the global --device option.
import type { Executor } from "../runtime/executor.js";
import { NodeExecutor, nodeExecutor } from "../runtime/node.js";
import { parseBackend } from "../ops/profile.js";

let current: NodeExecutor = nodeExecutor;

/** Sets the device from `--device cpu|webgpu`; webgpu fails at the first model run when no GPU adapter is found. */
export function selectDevice(name: string): void {
  const device = parseBackend(name);
  current = device === "cpu" ? nodeExecutor : new NodeExecutor({ device });
}

/** Runs on the selected device (the CLI session wraps this one object, so its program cache spans the command). */
export const deviceExecutor: Executor = {
  get profile() {
    return current.profile;
  },
  compile: (graph, options) => current.compile(graph, options),
};
