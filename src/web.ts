// Browser additions: the onnxruntime-web executor (pass it the onnxruntime-web module your bundle loads).
export * from "./index.js";
export { WebExecutor, canUseThreads, hasWebGpuAdapter, type WebBackend, type WebExecutorOptions } from "./runtime/web.js";
