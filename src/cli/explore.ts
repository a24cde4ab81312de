// `robustlens explore`: serves the explorer bundle (web/dist), the zoo and a user's models folder, cross-origin isolated.
// Only GET/HEAD of files under those roots; anything else (traversal, symlinks out, bodies, long URLs) is refused.
import { spawn, spawnSync } from "node:child_process";
import { existsSync, realpathSync, statSync, createReadStream } from "node:fs";
import { type IncomingMessage, type Server, type ServerResponse, createServer } from "node:http";
import { dirname, extname, join, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { listModels } from "./explore-models.js";

/** The package root (dist/src/cli/explore.js → three levels up). */
const PKG = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..", "..");

export const LIMITS = { urlBytes: 4096, bodyBytes: 0, fileBytes: 256 * 1024 * 1024 } as const;

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json; charset=utf-8",
  ".wasm": "application/wasm",
  ".onnx": "application/octet-stream",
  ".npy": "application/octet-stream",
  ".png": "image/png",
  ".map": "application/json; charset=utf-8",
  ".svg": "image/svg+xml",
};

// wasm needs 'wasm-unsafe-eval'; ORT starts its thread workers from its own module URL (self) and the page draws via blob:/data: images
const CSP =
  "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; worker-src 'self' blob:; img-src 'self' data: blob:; style-src 'self'; connect-src 'self' data: blob:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'";

export const SECURITY_HEADERS: Record<string, string> = {
  "Cross-Origin-Opener-Policy": "same-origin",
  "Cross-Origin-Embedder-Policy": "require-corp",
  "Cross-Origin-Resource-Policy": "same-origin",
  "Content-Security-Policy": CSP,
  "X-Content-Type-Options": "nosniff",
  "Referrer-Policy": "no-referrer",
};

export interface ExploreOptions {
  port?: number;
  host?: string;
  /** A folder of model folders (each with model.onnx, optional model.json), listed after the zoo. */
  models?: string;
  /** The built explorer (default: the package's web/dist, built on demand). */
  dist?: string;
  zoo?: string;
}

/** Resolves a URL path under `root`, or null for anything outside it (after decoding, normalizing and following symlinks). */
export function safeResolve(root: string, urlPath: string): string | null {
  let decoded: string;
  try {
    decoded = decodeURIComponent(urlPath);
  } catch {
    return null;
  }
  if (decoded.includes("\0") || decoded.includes("\\")) return null;
  const parts = decoded.split("/").filter((p) => p !== "");
  if (parts.some((p) => p === ".." || p === "." || p.startsWith("."))) return null;
  let real: string, base: string;
  try {
    base = realpathSync(root);
    real = realpathSync(join(base, ...parts));
  } catch {
    return null;
  }
  return real === base || real.startsWith(base + sep) ? real : null;
}

/** Builds web/dist when it is missing (a fresh clone): tsc output is needed first, then scripts/build-web.mjs. */
export function ensureBundle(dist: string): void {
  if (existsSync(join(dist, "index.html"))) return;
  const script = join(PKG, "scripts", "build-web.mjs");
  if (dist !== join(PKG, "web", "dist") || !existsSync(script))
    throw new Error(`explore: no explorer bundle at ${dist} (run npm run build:web)`);
  process.stderr.write("explore: building the explorer (web/dist) once...\n");
  const r = spawnSync(process.execPath, [script], { cwd: PKG, stdio: ["ignore", "inherit", "inherit"] });
  if (r.status !== 0 || !existsSync(join(dist, "index.html")))
    throw new Error("explore: building web/dist failed (npm run build:web shows why)");
}

function send(res: ServerResponse, code: number, body: string, type = "text/plain; charset=utf-8"): void {
  res.writeHead(code, {
    ...SECURITY_HEADERS,
    "Content-Type": type,
    "Content-Length": Buffer.byteLength(body),
    "Cache-Control": "no-store",
  });
  res.end(body);
}

export function exploreHandler(o: Required<Pick<ExploreOptions, "dist" | "zoo">> & { models?: string }) {
  const roots: [string, string][] = [
    ["/models/", o.zoo],
    ...(o.models ? [["/user-models/", o.models] as [string, string]] : []),
    ["/", o.dist],
  ];
  return (req: IncomingMessage, res: ServerResponse): void => {
    const url = req.url ?? "/";
    if (Buffer.byteLength(url) > LIMITS.urlBytes) return send(res, 414, "URL too long\n");
    const declared = Number(req.headers["content-length"] ?? 0);
    if (declared > LIMITS.bodyBytes || req.headers["transfer-encoding"]) {
      // no route takes a body: refuse before reading it
      res.setHeader("Connection", "close");
      return send(res, 413, "request body not accepted\n");
    }
    if (req.method !== "GET" && req.method !== "HEAD") return send(res, 405, "only GET and HEAD\n");
    const path = url.split("?")[0]!.split("#")[0]!;
    if (path === "/models/index.json") {
      const models = [...listModels(o.zoo, "models/"), ...(o.models ? listModels(o.models, "user-models/") : [])];
      return send(res, 200, JSON.stringify({ models }), TYPES[".json"]);
    }
    const [prefix, root] = roots.find(([p]) => path.startsWith(p))!;
    let file = safeResolve(root, path.slice(prefix.length));
    if (file && statSync(file).isDirectory()) file = prefix === "/" ? safeResolve(root, `${path.slice(1)}/index.html`) : null;
    // model folders serve model files only (never, e.g., a training run's checkpoints)
    if (file && prefix !== "/" && ![".onnx", ".json"].includes(extname(file))) file = null;
    if (!file || !statSync(file).isFile()) return send(res, 404, "not found\n");
    const size = statSync(file).size;
    if (size > LIMITS.fileBytes) return send(res, 413, "file too large to serve\n");
    res.writeHead(200, {
      ...SECURITY_HEADERS,
      "Content-Type": TYPES[extname(file)] ?? "application/octet-stream",
      "Content-Length": size,
      "Cache-Control": "no-cache",
    });
    if (req.method === "HEAD") return void res.end();
    createReadStream(file).pipe(res);
  };
}

/** Starts the server; resolves with its URL once listening. */
export async function startExplore(o: ExploreOptions = {}): Promise<{ url: string; server: Server; close(): Promise<void> }> {
  const dist = resolve(o.dist ?? join(PKG, "web", "dist"));
  const zoo = resolve(o.zoo ?? join(PKG, "models"));
  const models = o.models === undefined ? undefined : resolve(o.models);
  if (models && !(existsSync(models) && statSync(models).isDirectory())) throw new Error(`explore: --models ${o.models} is not a folder`);
  const port = o.port ?? 8417;
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`explore: --port must be an integer in 0..65535, got ${o.port}`);
  ensureBundle(dist);
  const server = createServer(exploreHandler({ dist, zoo, models }));
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000;
  const host = o.host ?? "127.0.0.1";
  await new Promise<void>((ok, fail) => {
    server.once("error", fail);
    server.listen(port, host, () => ok());
  });
  const addr = server.address() as { port: number };
  const url = `http://${host.includes(":") ? `[${host}]` : host}:${addr.port}/`;
  return { url, server, close: () => new Promise((ok) => server.close(() => ok())) };
}

export async function exploreCommand(o: { port?: string; host?: string; models?: string; open?: boolean }): Promise<void> {
  const port = o.port === undefined ? undefined : Number(o.port);
  const s = await startExplore({ port, host: o.host, models: o.models });
  process.stdout.write(`robustlens explorer at ${s.url} (Ctrl-C stops it)\n`);
  if (o.open) {
    const opener = spawn(process.platform === "darwin" ? "open" : "xdg-open", [s.url], { stdio: "ignore", detached: true });
    opener.on("error", () => process.stderr.write(`explore: could not open a browser; visit ${s.url}\n`));
    opener.unref();
  }
  await new Promise<void>((ok) => {
    process.once("SIGINT", () => {
      void s.close().then(ok);
    });
    process.once("SIGTERM", () => {
      void s.close().then(ok);
    });
  });
}
