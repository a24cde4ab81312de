// Shared by the explorer tests: `robustlens explore` as a child process and Debian's Chromium driven by playwright-core.
import { type ChildProcess, spawn } from "node:child_process";
import { type Browser, chromium } from "playwright-core";
import { CHROMIUM_PATH, chromiumArgs } from "../src/testing/chromium.js";

export interface Served {
  url: string;
  child: ChildProcess;
  stop(): Promise<void>;
}

/** Starts `robustlens explore --port 0 [args]` and resolves with the URL it prints. */
export async function serveExplorer(args: readonly string[] = []): Promise<Served> {
  const child = spawn(process.execPath, ["bin/robustlens.js", "explore", "--port", "0", ...args], { stdio: ["ignore", "pipe", "pipe"] });
  let err = "";
  child.stderr!.on("data", (d) => {
    err += d;
  });
  const url = await new Promise<string>((ok, fail) => {
    let out = "";
    child.stdout!.on("data", (d) => {
      out += d;
      const m = /explorer at (http:\/\/\S+)/.exec(out);
      if (m) ok(m[1]!);
    });
    child.once("exit", (code) => fail(new Error(`robustlens explore exited with ${code}: ${err.trim()}`)));
  });
  return {
    url,
    child,
    stop: () =>
      new Promise((ok) => {
        child.once("exit", () => ok());
        child.kill("SIGTERM");
      }),
  };
}

/** The shared Chromium flags, with WebGPU through SwiftShader. */
export const CHROMIUM_ARGS = chromiumArgs({ webgpu: true });

export const launch = (): Promise<Browser> => chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS });
