// Public, browser-safe API: IR, builder, ops registry, autodiff, losses, models, npy.
export { Graph, Node, Value, type Dim, type Shape } from "./ir/graph.js";
export { Builder } from "./builder/builder.js";
export { type DType, type Tensor, tensor, sizeOf } from "./ir/tensor.js";
export { sliceBatch, concatBatch } from "./ir/batch.js";
export { importOnnx } from "./builder/onnx-import.js";
export { toOnnxBytes, OPSET } from "./builder/onnx-export.js";
export { printGraph } from "./ir/print.js";
export { OPS, SUPPORTED_OPS } from "./ops/index.js";
export type { OpType, OpAttrMap } from "./ops/attrs.js";
export type { OpDef, GradRule, VjpRule } from "./ops/types.js";
export { grad, unbroadcast, type GradOptions, type GradResult } from "./autodiff/grad.js";
export { type Executor, type Program, type CompileOptions, profileOf } from "./runtime/executor.js";
export {
  CPU_PROFILE,
  WEBGPU_PROFILE,
  PROFILES,
  unsupported,
  runs,
  parseBackend,
  type BackendProfile,
  type BackendName,
  type OpRule,
} from "./ops/profile.js";
export { fitGraph, validateGraph } from "./runtime/fit.js";
export { Session, withSession, type Runner, type Disposable } from "./runtime/session.js";
export { Model } from "./model/model.js";
export {
  defaultRepresentation,
  resolveRepresentation,
  fakeReluNode,
  representationIn,
  type RepChoice,
  type RepresentationInfo,
} from "./model/representation.js";
export { crossEntropy, repDistance, sumOverBatch } from "./model/losses.js";
export { forward } from "./model/forward.js";
export { inputGradient } from "./attack/gradient.js";
export { parseNpy, serializeNpy, imagesToFloat, labelsToInt64 } from "./data/npy.js";
export { Rng } from "./util/rng.js";
export {
  threatModel,
  parseThreat,
  defaultStepSize,
  THREATS,
  THREAT_KINDS,
  THREAT_HELP,
  type ThreatSpec,
  type ThreatModel,
  type ThreatKind,
  type ThreatDef,
  type NoiseSource,
} from "./attack/threat.js";
export { pgd, pgdIterate, fgsm, type PgdOptions } from "./attack/pgd.js";
export { keepBetter, bestOfRestarts, exampleNoise, type AttackResult, type Run, type StepInfo, type OnStep } from "./attack/runs.js";
export { ceLoss, targetedCeLoss, argmaxRows, checkBatch, lossKey, type AttackLoss, type LossContext } from "./attack/losses.js";
export {
  attackPrograms,
  objective,
  PGD_RULE,
  type AttackTarget,
  type AttackPrograms,
  type UpdateRule,
  type UpdateContext,
} from "./attack/program.js";
export { runAttack, parseMethod, effectiveStepSize, ATTACK_METHODS, type AttackMethod, type AttackRequest } from "./attack/method.js";
export { apgd, APGD_RULE, type ApgdOptions } from "./attack/apgd.js";
export { dlrLoss } from "./attack/dlr.js";
export { buildModel, parseArch, ARCH_NAMES, type ArchName, type BuiltModel, type ModelOptions } from "./nn/archs.js";
export { compileTrainStep, stateFeeds, type TrainableModel, type TrainStepProgram } from "./train/step.js";
export { sgdUpdate, learningRate, SCHEDULES, type Schedule } from "./train/optimizer.js";
export { encodeCheckpoint, decodeCheckpoint, type Checkpoint } from "./train/checkpoint.js";
export { type Dataset, type Batch, type BatchOptions, batches, makeDataset, subset, take, holdout } from "./data/dataset.js";
export { DATASET_INFO } from "./data/catalog.js";
export { parseDataSpec, DATA_SPEC_HELP } from "./data/spec.js";
export { parseIdx, serializeIdx, type Idx } from "./data/idx.js";
export { buildInto, type ArchSpec, type BuiltValues } from "./nn/archs.js";
export { Layers, nameValue, BN_MOMENTUM, BN_EPSILON } from "./nn/layers.js";
export { representationOf, makeSeeds, unitMask, featureActivations, type Seed } from "./vis/representation.js";
export { VIS_DEFAULTS, repTargetLoss, featureLoss, targetRepresentation, type SearchOptions } from "./vis/search.js";
export {
  invert,
  invertRepresentation,
  interpolate,
  type InvertOptions,
  type InvertResult,
  type InterpolateOptions,
  type InterpolateResult,
} from "./vis/invert.js";
export {
  visualizeFeature,
  topActivating,
  rankByFeature,
  addFeature,
  type FeatureResult,
  type TopActivating,
  type AddFeatureOptions,
} from "./vis/features.js";
export { saliency, type SaliencyResult } from "./vis/saliency.js";
export { rmse, ssim, relativeRepDistance, labelAgreement, type SsimOptions, type NumericTensor } from "./vis/metrics.js";
export { gridImage, gridRows, resizeBatch, type RawImage, type GridOptions } from "./image/grid.js";
export { renderReport, escapeHtml, type ReportDoc, type MetricRow, type Figure } from "./report/html.js";
export {
  EXPERIMENTS,
  reportSteps,
  pickFeatures,
  classify,
  type Experiment,
  type ExperimentContext,
  type ExperimentResult,
  type ReportInputs,
  type ReportConfig,
  type ReportSteps,
} from "./report/experiments.js";
export {
  runModel,
  runReport,
  reportWork,
  metricRows,
  reportFigures,
  reportNumbers,
  METRICS,
  type MetricDef,
  type ModelRun,
  type ReportModel,
} from "./report/run.js";
export { inversionMetrics, type InversionMetrics } from "./report/measure.js";
export { syntheticShapes } from "./report/shapes.js";
export {
  robustnessSpec,
  trainingSpec,
  objectiveSpec,
  specValues,
  epsTitle,
  TRAINING_SERIES,
  type TrainingRun,
  type ObjectivePoint,
  type RobustnessPlotOptions,
} from "./plot/specs.js";
export {
  robustnessPoints,
  parseEvalReport,
  parseMetricsJsonl,
  attackLabel,
  modelDisplayName,
  type EvalReport,
  type EvalResult,
  type EpochRecord,
  type RobustnessPoint,
} from "./plot/data.js";
export { PALETTE } from "./plot/style.js";
export * from "./synth/index.js";
