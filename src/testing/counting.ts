// An executor that counts compiles, runs and disposals, for tests of program caching and of the work a call does.
import type { Graph } from "../ir/graph.js";
import type { CompileOptions, Executor, Program } from "../runtime/executor.js";
import { nodeExecutor } from "../runtime/node.js";

/** nodeExecutor, counting the programs it compiles, their runs and the ones disposed. */
export function countingExecutor(): { exec: Executor; counts: { compiled: number; runs: number; disposed: number } } {
  const counts = { compiled: 0, runs: 0, disposed: 0 };
  const exec: Executor = {
    compile: async (g: Graph, o?: CompileOptions): Promise<Program> => {
      counts.compiled++;
      const p = await nodeExecutor.compile(g, o);
      return {
        inputNames: p.inputNames,
        outputNames: p.outputNames,
        run: (f, fetch) => {
          counts.runs++;
          return p.run(f, fetch);
        },
        dispose: async () => {
          counts.disposed++;
          await p.dispose();
        },
      };
    },
  };
  return { exec, counts };
}
