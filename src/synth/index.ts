// Image synthesis with a robust classifier (browser-safe): settings, class Gaussians, pixel ops, losses, tasks, scores.
export {
  PUBLISHED,
  REFERENCE_DIMS,
  SYNTH_CONSTANTS,
  gaussianFactor,
  scaleL2,
  synthSettings,
  type SynthTask,
  type TaskSetting,
  type PublishedSetting,
} from "./settings.js";
export { cholesky, fitClassGaussians, sampleClassGaussians, type ClassGaussians, type FitOptions } from "./gaussian.js";
export {
  avgPoolDown,
  nearestUp,
  patchMask,
  centerPatchMask,
  maskBatch,
  fillMasked,
  invertMask,
  maskBox,
  crop,
  outlineSketch,
} from "./image-ops.js";
export { inpaintLoss, paintLoss } from "./losses.js";
export {
  generate,
  inpaint,
  superResolve,
  translate,
  sketch,
  paint,
  classCount,
  defaultInpaintMask,
  type SynthOptions,
  type SynthResult,
  type GenerateRequest,
  type InpaintOptions,
  type SuperResolveOptions,
  type PaintStroke,
  type PaintOptions,
} from "./synth.js";
export { inceptionScore, softmaxRows, maskedRmse, restorationScores, imageScores } from "./scores.js";
export { regionL2Threat, REGION_INPUT } from "./threat.js";
