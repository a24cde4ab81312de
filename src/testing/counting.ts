// An executor that counts compiles and disposals, for tests of program caching.
import type { Graph } from "../ir/graph.js";
import type { CompileOptions, Executor, Program } from "../runtime/executor.js";
import { nodeExecutor } from "../runtime/node.js";

/** nodeExecutor, counting the programs it compiles and the ones disposed. */
export function countingExecutor(): { exec: Executor; counts: { compiled: number; disposed: number } } {
  const counts = { compiled: 0, disposed: 0 };
  const exec: Executor = {
    compile: async (g: Graph, o?: CompileOptions): Promise<Program> => {
      counts.compiled++;
      const p = await nodeExecutor.compile(g, o);
      return {
        inputNames: p.inputNames,
        outputNames: p.outputNames,
        run: (f, fetch) => p.run(f, fetch),
        dispose: async () => {
          counts.disposed++;
          await p.dispose();
        },
      };
    },
  };
  return { exec, counts };
}
