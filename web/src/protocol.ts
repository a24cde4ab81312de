// Messages between the page and its worker (structured-clone data only: tensors travel as { shape, data }).
import type { ExperimentKind, Metrics } from "./experiments.js";

export interface WireTensor {
  shape: number[];
  data: Float32Array;
}
export type Backend = { kind: "wasm"; threads: number } | { kind: "webgpu" };

/** What the worker is told to run (the page's ExperimentSpec with wire tensors). */
export type WireSpec = Record<string, unknown> & { kind: ExperimentKind };

export type ToWorker =
  | { type: "init"; backend: Backend; base: string }
  | { type: "load"; slot: number; name: string; onnx: ArrayBuffer }
  | { type: "run"; id: number; spec: WireSpec }
  | { type: "pause" }
  | { type: "resume" }
  | { type: "stop" };

export interface ModelInfo {
  name: string;
  inputShape: (number | string)[];
  rep: string;
  units: number;
  classes?: number;
}

export interface WireOutcome {
  x: WireTensor;
  reference?: WireTensor;
  map?: WireTensor;
  metrics: Metrics;
}

export type FromWorker =
  | { type: "ready"; backend: Backend; threads: number; isolated: boolean }
  | { type: "loaded"; slot: number; info: ModelInfo }
  | { type: "step"; id: number; step: number; total: number; models: { x: WireTensor; loss: number; probs?: Float32Array }[] }
  /** timing: median and 10th-percentile ms per step of the whole pair, ms from the run request to the first step (compilation included). */
  | {
      type: "done";
      id: number;
      steps: number;
      models: WireOutcome[];
      ms: number;
      timing: { stepMs: number; stepMsP10: number; firstStepMs: number };
    }
  | { type: "error"; id?: number; message: string };
