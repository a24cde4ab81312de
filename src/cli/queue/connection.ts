// The Redis connection of queue submitters and workers: URL checks, credentials kept out of messages, one-line failures.
import { readFileSync } from "node:fs";
import type { ConnectionOptions } from "node:tls";
import { Redis } from "ioredis";
import { UsageError } from "../options.js";

/** The BullMQ queue every robustlens command and worker shares (jobs carry their kind as the job name). */
export const QUEUE_NAME = "robustlens";

export interface QueueTarget {
  url: string;
  /** The URL without user or password, for messages and reports. */
  display: string;
}

/** Checks `--queue URL`: redis://[[user]:password@]host[:port][/db] or rediss:// (TLS). */
export function queueTarget(url: string, flag = "--queue"): QueueTarget {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new UsageError(`${flag} "${redact(url)}": not a URL (expected redis://[:password@]host[:port][/db] or rediss://...)`);
  }
  if (u.protocol !== "redis:" && u.protocol !== "rediss:")
    throw new UsageError(`${flag}: ${u.protocol}// is not a Redis URL (expected redis:// or rediss:// for TLS)`);
  if (!u.hostname) throw new UsageError(`${flag}: the URL names no host`);
  const db = u.pathname.replace(/^\//, "");
  if (db !== "" && !/^\d+$/.test(db)) throw new UsageError(`${flag}: database "${db}" must be a number, e.g. redis://host:6379/0`);
  return { url, display: `${u.protocol}//${u.host}${db ? `/${db}` : ""}` };
}

const redact = (url: string): string => url.replace(/\/\/[^@/]*@/, "//***@");

/** The reason of a Redis failure, one line (ioredis wraps some in AggregateError). */
export function redisReason(e: unknown): string {
  const err = e as Error & { code?: string; errors?: Error[] };
  const inner = (err.errors?.[0] ?? err) as Error & { code?: string };
  // system errors by their code (ECONNREFUSED); TLS ones by their message too (the code alone says little)
  const why = inner.code && /CERT|SSL|TLS/.test(inner.code) ? `${inner.message} (${inner.code})` : (inner.code ?? inner.message ?? inner);
  return String(why).split("\n")[0]!;
}

/** Environment variables naming PEM files for rediss:// (a private CA; a client certificate for Redis's tls-auth-clients). */
export const TLS_ENV = { ca: "ROBUSTLENS_QUEUE_CA", cert: "ROBUSTLENS_QUEUE_CERT", key: "ROBUSTLENS_QUEUE_KEY" } as const;

/** TLS settings from TLS_ENV: for rediss:// only (set for a redis:// URL they are a mistake worth naming). */
export function tlsOptions(t: QueueTarget, env: NodeJS.ProcessEnv = process.env): ConnectionOptions | undefined {
  const set = Object.entries(TLS_ENV).filter(([, name]) => env[name]);
  if (!t.display.startsWith("rediss:")) {
    if (set.length) throw new UsageError(`${set[0]![1]} is set but --queue ${t.display} is not TLS (use rediss://)`);
    return undefined;
  }
  const o: Record<string, Buffer> = {};
  for (const [field, name] of set) {
    try {
      o[field] = readFileSync(env[name]!);
    } catch (e) {
      throw new Error(`${name} ${env[name]}: cannot read it (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
    }
  }
  if (!o.cert !== !o.key) throw new UsageError(`${TLS_ENV.cert} and ${TLS_ENV.key} go together (a client certificate and its key)`);
  return o;
}

/** A refusal that retrying cannot fix (wrong credentials, TLS refused). */
const fatal = (reason: string): boolean => /NOAUTH|WRONGPASS|NOPERM|invalid password|ERR AUTH|certificate|CERT_|SSL|TLS/i.test(reason);

export interface Connection {
  redis: Redis;
  /** The reason of the last error since the last successful command, if any. */
  lastError(): string | undefined;
  close(): Promise<void>;
}

/** How long connecting may take before it fails (a submitter with a shorter --queue-timeout uses that). */
export const CONNECT_TIMEOUT_MS = 10_000;

/**
 * Connects and waits until Redis answers (PING), failing after `timeoutMs` with one line naming the URL (never the
 * password). Workers get unlimited retries per command (BullMQ needs them for blocking reads); submitters get one, so
 * a lost Redis shows up as an error their poll loop can time.
 */
export async function connect(t: QueueTarget, role: "submitter" | "worker", timeoutMs = CONNECT_TIMEOUT_MS): Promise<Connection> {
  let last: string | undefined;
  const tls = tlsOptions(t);
  const redis = new Redis(t.url, {
    lazyConnect: true,
    maxRetriesPerRequest: role === "worker" ? null : 1,
    retryStrategy: (times) => Math.min(100 * times, 1000),
    connectTimeout: timeoutMs,
    // a Redis that stops answering (frozen, a half-open connection) fails the submitter's commands instead of hanging
    // them; a worker's blocking reads wait by design
    ...(role === "submitter" ? { commandTimeout: timeoutMs } : {}),
    ...(tls ? { tls } : {}),
  });
  redis.on("error", (e) => (last = redisReason(e)));
  redis.on("ready", () => (last = undefined));
  const close = async () => {
    redis.disconnect();
  };
  const started = Date.now(),
    deadline = started + timeoutMs;
  for (;;) {
    try {
      // bounded: a server that accepts the connection but never answers (not Redis, TLS spoken to a plain port) would hang
      await within(
        (async () => {
          if (redis.status === "wait") await redis.connect();
          await redis.ping();
        })(),
        // in slices: a worker's PING waits through reconnections, and the reasons they fail arrive meanwhile
        Math.max(1, Math.min(1000, deadline - Date.now())),
        `no answer within ${timeoutMs / 1000} s (not a Redis server, or TLS on one side only: rediss:// needs a TLS port)`,
      );
      return { redis, lastError: () => last, close };
    } catch (e) {
      const noAnswer = e instanceof NoAnswer;
      const why = last ?? (noAnswer ? e.message : redisReason(e));
      // nobody listening: give it a moment (a Redis restarting), not the whole timeout
      const refused = /ECONNREFUSED|ENOTFOUND|EHOSTUNREACH/.test(why) && Date.now() > started + 2000;
      if (fatal(last ?? "") || (!noAnswer && fatal(why)) || refused || Date.now() >= deadline) {
        await close();
        const reason = fatal(last ?? "") ? last! : why;
        const hint = /NOAUTH|WRONGPASS/.test(reason) ? " (put the password in the URL: redis://[user]:PASSWORD@host:port)" : "";
        throw new Error(`queue ${t.display}: cannot connect: ${reason}${hint}`);
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

class NoAnswer extends Error {}

/** `p`, or a NoAnswer rejection after `ms`. */
export function within<T>(p: Promise<T>, ms: number, why: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new NoAnswer(why)), ms);
    p.then(
      (v) => (clearTimeout(t), resolve(v)),
      (e) => (clearTimeout(t), reject(e)),
    );
  });
}
