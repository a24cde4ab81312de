// The Redis connection of queue submitters and workers: URL checks, credentials kept out of messages, one-line failures.
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
  const inner = err.errors?.[0] ?? err;
  return String((inner as { code?: string }).code ?? inner.message ?? inner).split("\n")[0]!;
}

/** A refusal that retrying cannot fix (wrong credentials, TLS refused). */
const fatal = (reason: string): boolean => /NOAUTH|WRONGPASS|NOPERM|invalid password|ERR AUTH|certificate|SSL|TLS/i.test(reason);

export interface Connection {
  redis: Redis;
  /** The reason of the last error since the last successful command, if any. */
  lastError(): string | undefined;
  close(): Promise<void>;
}

/**
 * Connects and waits until Redis answers (PING), failing after `timeoutMs` with one line naming the URL (never the
 * password). Workers get unlimited retries per command (BullMQ needs them for blocking reads); submitters get one, so
 * a lost Redis shows up as an error their poll loop can time.
 */
export async function connect(t: QueueTarget, role: "submitter" | "worker", timeoutMs = 10_000): Promise<Connection> {
  let last: string | undefined;
  const redis = new Redis(t.url, {
    lazyConnect: true,
    maxRetriesPerRequest: role === "worker" ? null : 1,
    retryStrategy: (times) => Math.min(100 * times, 1000),
    connectTimeout: timeoutMs,
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
      if (redis.status === "wait") await redis.connect();
      await redis.ping();
      return { redis, lastError: () => last, close };
    } catch (e) {
      const why = last ?? redisReason(e);
      // nobody listening: give it a moment (a Redis restarting), not the whole timeout
      const refused = /ECONNREFUSED|ENOTFOUND|EHOSTUNREACH/.test(last ?? why) && Date.now() > started + 2000;
      if (fatal(why) || fatal(last ?? "") || refused || Date.now() > deadline) {
        await close();
        const reason = fatal(last ?? "") ? last! : why;
        const hint = /NOAUTH|WRONGPASS/.test(reason) ? " (put the password in the URL: redis://[user]:PASSWORD@host:port)" : "";
        throw new Error(`queue ${t.display}: cannot connect: ${reason}${hint}`);
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}
