// The executor CLI commands run models on, chosen once per process by the global --device option.
import { NodeExecutor, nodeExecutor } from "../runtime/node.js";
import { parseBackend } from "../runtime/profile.js";

let current: NodeExecutor = nodeExecutor;

/** Sets the device from `--device cpu|webgpu`; webgpu fails at the first model run when no GPU adapter is found. */
export function selectDevice(name: string): void {
  const device = parseBackend(name);
  current = device === "cpu" ? nodeExecutor : new NodeExecutor({ device });
}

/** The executor of the selected device (the same object for the whole run, so program caches work). */
export const executor = (): NodeExecutor => current;
