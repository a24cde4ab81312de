// `robustlens worker`: runs queue shards (eval, visualize, report) on this machine until stopped (SIGINT/SIGTERM).
import { hostname } from "node:os";
import { Worker } from "bullmq";
import { escapeControl } from "../util/text.js";
import { QUEUE_NAME, connect, queueTarget, redisReason } from "./queue/connection.js";
import { AllowedRoots } from "./queue/inputs.js";
import { ShardThreads } from "./queue/threads.js";

export interface WorkerFlags {
  queue: string;
  allow: string;
  concurrency: number;
  lockDuration: number;
  /** The global --device, for the shard threads. */
  device: string;
}

export async function workerCommand(f: WorkerFlags): Promise<void> {
  const target = queueTarget(f.queue);
  const allow = f.allow.split(",").filter(Boolean);
  await AllowedRoots.of(allow); // refuses a missing folder here, before connecting
  const conn = await connect(target, "worker");
  const name = `${hostname()}:${process.pid}`;
  const log = (line: string) => process.stderr.write(`robustlens worker ${name}: ${line}\n`);
  const threads = new ShardThreads({ allow, device: f.device });
  await threads.warm(f.concurrency);
  const worker = new Worker(
    QUEUE_NAME,
    async (job) => {
      log(`${job.id} started (attempt ${job.attemptsStarted})`);
      const t0 = performance.now();
      try {
        const result = await threads.run(job.name, job.data);
        log(`${job.id} done in ${((performance.now() - t0) / 1000).toFixed(2)} s`);
        return result;
      } catch (e) {
        const msg = escapeControl(String((e as Error).message ?? e).split("\n")[0]!);
        log(`${job.id} failed: ${msg}`);
        throw new Error(`worker ${name}: ${msg}`);
      }
    },
    // a killed worker's shard goes back to the queue once its lock expires (BullMQ's stalled-job check)
    {
      connection: conn.redis,
      concurrency: f.concurrency,
      lockDuration: f.lockDuration,
      stalledInterval: f.lockDuration,
      maxStalledCount: 2,
      name,
    },
  );
  let lost = false;
  worker.on("error", (e) => {
    if (!lost) log(`queue ${target.display}: connection lost (${conn.lastError() ?? redisReason(e)}); retrying`);
    lost = true;
  });
  conn.redis.on("ready", () => {
    if (lost) log(`queue ${target.display}: reconnected`);
    lost = false;
  });
  await worker.waitUntilReady();
  log(`waiting for shards on ${target.display} (concurrency ${f.concurrency})`);
  await new Promise<void>((resolve) => {
    process.once("SIGINT", resolve);
    process.once("SIGTERM", resolve);
  });
  log("stopping: finishing the shards in progress (signal again to stop at once)");
  const now = () => {
    log("stopped at once: its shards in progress run again elsewhere after --lock-duration");
    process.exit(130);
  };
  process.once("SIGINT", now);
  process.once("SIGTERM", now);
  await worker.close();
  await threads.close();
  await conn.close();
}
