// The job kinds a worker runs, by BullMQ job name; each takes the job's data and returns its JSON result.
import { type EvalShard, evalShard } from "./eval-jobs.js";
import type { InputCache } from "./inputs.js";
import { type ReportShard, reportShard } from "./report-jobs.js";
import { type VisShard, visualizeShard } from "./vis-jobs.js";

export function handlers(inputs: InputCache): Record<string, (data: unknown) => Promise<unknown>> {
  return {
    eval: (d) => evalShard(d as EvalShard, inputs),
    visualize: (d) => visualizeShard(d as VisShard, inputs),
    report: (d) => reportShard(d as ReportShard, inputs),
  };
}
