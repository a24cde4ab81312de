// Shards run in worker threads, so the worker's own event loop stays free to renew BullMQ's job locks while a shard
// computes (a synchronous stretch longer than --lock-duration, e.g. a large covariance fit, would look like a dead worker).
import { Worker as Thread } from "node:worker_threads";
import { escapeControl } from "../../util/text.js";

/** What a shard thread sets up before its first shard. */
export interface ThreadInit {
  allow: string[];
  device: string;
}

export type ThreadReply = { ok: true; value: unknown } | { ok: false; message: string };

export const oneLine = (e: unknown): string => escapeControl(String((e as Error)?.message ?? e).split("\n")[0]!);

/** A pool of threads, one per shard in progress; idle ones are kept with their loaded models and data. */
export class ShardThreads {
  private idle: Thread[] = [];
  private all = new Set<Thread>();

  constructor(private readonly init: ThreadInit) {}

  /** Starts `n` threads now (imports, runtime start-up), so the first shards do not wait for them. */
  async warm(n: number): Promise<void> {
    const ts = await Promise.all(Array.from({ length: n }, () => this.spawn()));
    this.idle.push(...ts);
  }

  async run(kind: string, data: unknown): Promise<unknown> {
    const t = this.idle.pop() ?? (await this.spawn());
    return new Promise((resolve, reject) => {
      const settle = (then: () => void) => {
        t.off("message", onMessage);
        t.off("error", onError);
        t.off("exit", onExit);
        then();
      };
      const onMessage = (m: ThreadReply) =>
        settle(() => {
          this.idle.push(t);
          if (m.ok) resolve(m.value);
          else reject(new Error(m.message));
        });
      const onError = (e: Error) =>
        settle(() => {
          this.all.delete(t);
          void t.terminate();
          reject(new Error(`the shard's thread failed: ${oneLine(e)}`));
        });
      const onExit = (code: number) =>
        settle(() => {
          this.all.delete(t);
          reject(new Error(`the shard's thread exited with code ${code} (out of memory?)`));
        });
      t.on("message", onMessage);
      t.on("error", onError);
      t.on("exit", onExit);
      t.postMessage({ kind, data });
    });
  }

  /** A new thread, once it has set up (its first message). */
  private spawn(): Promise<Thread> {
    const t = new Thread(new URL("./thread-main.js", import.meta.url), { workerData: this.init });
    this.all.add(t);
    return new Promise((resolve, reject) => {
      const fail = (why: string) => {
        this.all.delete(t);
        reject(new Error(`a shard thread did not start: ${why}`));
      };
      t.once("message", () => {
        t.removeAllListeners("error").removeAllListeners("exit");
        // for good: a thread that dies while idle leaves the pool (a shard's own listeners report it mid-shard)
        t.on("error", () => undefined);
        t.on("exit", () => {
          this.all.delete(t);
          this.idle = this.idle.filter((x) => x !== t);
        });
        resolve(t);
      });
      t.once("error", (e) => fail(oneLine(e)));
      t.once("exit", (code) => fail(`it exited with code ${code}`));
    });
  }

  async close(): Promise<void> {
    await Promise.all([...this.all].map((t) => t.terminate()));
    this.all.clear();
    this.idle = [];
  }
}
