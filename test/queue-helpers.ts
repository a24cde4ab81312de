// Queue tests' processes: a private redis-server on a free port, robustlens workers and submitters run asynchronously.
import { type ChildProcess, spawn } from "node:child_process";
import { createServer, connect as tcpConnect } from "node:net";

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

const canConnect = (port: number): Promise<boolean> =>
  new Promise((resolve) => {
    const c = tcpConnect(port, "127.0.0.1");
    c.once("connect", () => (c.destroy(), resolve(true)));
    c.once("error", () => resolve(false));
  });

export interface RedisServer {
  port: number;
  pid: number;
  url: string;
  stop(): Promise<void>;
}

/** PEM files of a TLS Redis: its certificate and key, and the CA that clients must present certificates from. */
export interface RedisTls {
  cert: string;
  key: string;
  ca: string;
}

/** redis-server on 127.0.0.1 without persistence (a restart loses everything), optionally with a password, or TLS only. */
export async function startRedis(o: { port?: number; password?: string; tls?: RedisTls } = {}): Promise<RedisServer> {
  const port = o.port ?? (await freePort());
  const args = o.tls
    ? [
        "--port",
        "0",
        "--tls-port",
        String(port),
        "--tls-cert-file",
        o.tls.cert,
        "--tls-key-file",
        o.tls.key,
        "--tls-ca-cert-file",
        o.tls.ca,
      ]
    : ["--port", String(port)];
  args.push("--bind", "127.0.0.1", "--save", "", "--appendonly", "no");
  if (o.password) args.push("--requirepass", o.password);
  const p = spawn("redis-server", args, { stdio: "ignore" });
  for (let i = 0; !(await canConnect(port)); i++) {
    if (i > 100 || p.exitCode !== null) throw new Error(`redis-server on port ${port} did not start`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    port,
    pid: p.pid!,
    url: `${o.tls ? "rediss" : "redis"}://${o.password ? `:${o.password}@` : ""}127.0.0.1:${port}`,
    stop: () => stop(p, "SIGKILL"),
  };
}

export function stop(p: ChildProcess, signal: NodeJS.Signals = "SIGTERM"): Promise<void> {
  if (p.exitCode !== null || p.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    p.once("exit", () => resolve());
    p.kill(signal);
  });
}

export interface Proc {
  p: ChildProcess;
  stderr(): string;
  /** Resolves when stderr written after this call matches `re` (with the match), rejects after `ms`. */
  waitFor(re: RegExp, ms?: number): Promise<RegExpMatchArray>;
  done: Promise<{ status: number | null; stdout: string; stderr: string }>;
}

/** `robustlens ARGS` as a child process (with `env` added to this one's), its output collected. */
export function robustlens(args: readonly string[], env: Record<string, string> = {}): Proc {
  const p = spawn(process.execPath, ["bin/robustlens.js", ...args], { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, ...env } });
  let out = "",
    err = "";
  const waiters: { re: RegExp; from: number; resolve: (m: RegExpMatchArray) => void }[] = [];
  p.stdout!.on("data", (d) => (out += d));
  p.stderr!.on("data", (d) => {
    err += d;
    for (const w of waiters.splice(0)) {
      const m = err.slice(w.from).match(w.re);
      if (m) w.resolve(m);
      else waiters.push(w);
    }
  });
  const done = new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) =>
    p.once("close", (status) => resolve({ status, stdout: out, stderr: err })),
  );
  return {
    p,
    stderr: () => err,
    done,
    waitFor: (re, ms = 30_000) =>
      new Promise((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`timed out waiting for ${re} in:\n${err}`)), ms);
        waiters.push({ re, from: err.length, resolve: (x) => (clearTimeout(t), resolve(x)) });
      }),
  };
}

/** A worker on `url` reading only under `allow`, with a short lock so a killed worker's shard comes back quickly. */
export async function startWorker(url: string, allow: readonly string[], env: Record<string, string> = {}): Promise<Proc> {
  const w = robustlens(["worker", "--queue", url, "--allow", allow.join(","), "--lock-duration", "3000"], env);
  await w.waitFor(/waiting for shards/);
  return w;
}

/** The worker's host:pid as it names itself in shard records. */
export const workerName = (w: Proc): string => w.stderr().match(/robustlens worker (\S+):/)![1]!;
