// Node-only additions: the onnxruntime-node executor and .npy files.
export * from "./index.js";
export { NodeExecutor, nodeExecutor, nchwcBlockOfCpu, type NodeExecutorOptions } from "./runtime/node.js";
export { loadNpy, saveNpy } from "./data/node/npy-file.js";
export { checkGradient, randomTensor, distinctTensor } from "./testing/gradcheck.js";
export { loadDataset } from "./data/node/load.js";
export { readIdx } from "./data/node/idx-file.js";
export { checkState as checkCheckpointState } from "./train/node/check.js";
export { openRun, type RunDir } from "./train/node/run-dir.js";
export { fetchDataset, SOURCES } from "./data/node/fetch.js";
export { train, type TrainOptions, type EpochMetrics, type AdvSpec } from "./train/node/train.js";
export { encodePng, writePng, readImageFile } from "./image/node/png.js";
export { loadImages, type ImageSet } from "./image/node/load-images.js";
export { renderSvg, renderPng, writePlot, readPlotSpec, plotFormat, SPEC_KEY } from "./plot/node/render.js";
export { readEvalReport, readTrainingRun, writeEvalPlot, writeTrainingPlot } from "./plot/node/files.js";
