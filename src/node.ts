// Node-only additions: the onnxruntime-node executor and .npy files.
export * from "./index.js";
export { NodeExecutor, nodeExecutor } from "./runtime/node.js";
export { loadNpy, saveNpy } from "./data/node/npy-file.js";
export { checkGradient, randomTensor, distinctTensor } from "./testing/gradcheck.js";
