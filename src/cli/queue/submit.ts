// Submitting work as BullMQ jobs (one per shard, ids from a content hash) and waiting for all of them with a progress bar.
import { hostname } from "node:os";
import { type Job, Queue } from "bullmq";
import { escapeControl } from "../../util/text.js";
import { progress } from "../progress.js";
import { CONNECT_TIMEOUT_MS, QUEUE_NAME, type QueueTarget, connect, queueTarget, redisReason, within } from "./connection.js";
import { QUEUE_TIMEOUT_S } from "./flags.js";
import { sha256 } from "./inputs.js";

export interface ShardSpec<D> {
  /** Where the shard sits in the whole (e.g. "images 0-256"), for messages and the report. */
  label: string;
  /** Identifies the shard's inputs within the job (e.g. "0-256"). */
  key: string;
  data: D;
}

/** One finished shard as the report records it. */
export interface ShardRecord<R> {
  label: string;
  key: string;
  job: string;
  /** The worker that finished it (host:pid). */
  worker: string | null;
  /** Times a worker started it (more than 1: a worker died or stalled and it ran again). */
  attempts: number;
  /** Finished by an earlier submission of the same work. */
  reused: boolean;
  result: R;
}

export interface SubmitOptions {
  /** What the progress bar says. */
  label: string;
  /** Seconds Redis may stay unreachable before the submitter gives up. */
  downTimeoutS?: number;
  /** Poll period in ms. */
  pollMs?: number;
}

/** Finished and failed jobs stay a week: a resubmission within it reuses them. */
const KEEP = { age: 7 * 24 * 3600 };

/** The job id of a shard: the work kind, a hash of what fixes its result, and its key (BullMQ ids may not hold ':'). */
export const shardJobId = (kind: string, content: unknown, key: string): string =>
  `${kind}-${sha256(JSON.stringify(content)).slice(0, 32)}-${key}`.replace(/:/g, "_");

/**
 * Enqueues the shards of `kind` (reusing finished ones, retrying failed ones) and waits until every one finished. A
 * shard that fails ends the wait with its one-line error; a shard that vanished (Redis restarted empty) is added again.
 */
export async function runShards<D, R>(
  url: string,
  kind: string,
  content: unknown,
  shards: readonly ShardSpec<D>[],
  o: SubmitOptions,
): Promise<{ queue: string; shards: ShardRecord<R>[] }> {
  const target = queueTarget(url);
  const limit = o.downTimeoutS ?? QUEUE_TIMEOUT_S;
  const conn = await connect(target, "submitter", Math.min(CONNECT_TIMEOUT_MS, limit * 1000));
  const queue = new Queue(QUEUE_NAME, { connection: conn.redis });
  queue.on("error", () => undefined); // reported by the poll loop below
  const ids = shards.map((s) => shardJobId(kind, content, s.key));
  const add = (k: number) => queue.add(kind, shards[k]!.data, { jobId: ids[k], attempts: 1, removeOnComplete: KEEP, removeOnFail: KEEP });
  const done = new Map<number, ShardRecord<R>>();
  try {
    const reused = new Set<number>();
    // shards looked at in this run: the first look reuses finished ones and retries failed ones
    const seen = new Set<number>();
    const bar = progress(shards.length, o.label);
    const submitter = `${hostname()}:${process.pid}`;
    let down: { since: number; why: string } | undefined;
    for (;;) {
      try {
        for (let k = 0; k < shards.length; k++) {
          if (done.has(k)) continue;
          // state first, then the job: a job read before its state could miss a result that arrived in between
          const state = await queue.getJobState(ids[k]!);
          if (state !== "unknown" && state !== "completed" && state !== "failed") {
            seen.add(k);
            continue;
          }
          const job = state === "unknown" ? undefined : ((await queue.getJob(ids[k]!)) as Job<D, R> | undefined);
          if (!job) {
            if (seen.has(k))
              process.stderr.write(
                `robustlens: queue: shard ${shards[k]!.label} vanished from Redis (restarted without persistence?); submitting it again\n`,
              );
            await add(k);
            seen.add(k);
            continue;
          }
          if (!seen.has(k)) {
            seen.add(k);
            if (state === "completed") reused.add(k);
            if (state === "failed") {
              await job.retry("failed");
              continue;
            }
          }
          if (state === "failed") {
            bar.stop();
            throw new ShardFailed(`shard ${shards[k]!.label} failed: ${escapeControl(String(job.failedReason).split("\n")[0]!)}`);
          }
          done.set(k, {
            label: shards[k]!.label,
            key: shards[k]!.key,
            job: ids[k]!,
            worker: job.processedBy ?? null,
            attempts: job.attemptsStarted,
            reused: reused.has(k),
            result: job.returnvalue,
          });
        }
        if (down) process.stderr.write(`robustlens: queue ${target.display}: reachable again\n`);
        down = undefined;
      } catch (e) {
        if (e instanceof ShardFailed) throw e;
        down ??= { since: Date.now(), why: conn.lastError() ?? redisReason(e) };
        if (Date.now() - down.since > limit * 1000) {
          bar.stop();
          throw new Error(
            `queue ${target.display}: unreachable for ${limit} s (${down.why}); shards finished so far stay in Redis if it keeps its data — rerun the command to resume (submitter ${submitter})`,
          );
        }
      }
      bar.update(done.size, { shards: `${done.size}/${shards.length}` });
      if (done.size === shards.length) break;
      await new Promise((r) => setTimeout(r, o.pollMs ?? 250));
    }
    bar.stop();
    return { queue: target.display, shards: shards.map((_, k) => done.get(k)!) };
  } finally {
    // bounded: closing waits on Redis, which may be the thing that went away
    await within(queue.close(), 2000, "").catch(() => undefined);
    await conn.close();
  }
}

class ShardFailed extends Error {}

export type { QueueTarget };
