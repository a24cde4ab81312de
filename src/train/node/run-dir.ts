// A training run directory: one trainer at a time (lock file, stale locks taken over), no run replaced by accident,
// resumed only with the options it was started with, and no temp files left by killed writers.
import { hostname } from "node:os";
import { open, readFile, readdir, rm, stat, unlink } from "node:fs/promises";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { fsReason } from "../../data/node/read.js";
import { type Checkpoint, decodeCheckpoint } from "../checkpoint.js";

export const CHECKPOINT = "checkpoint.rlck";
export const LOCK = ".lock";
/** Files a run writes; --overwrite removes them. */
const RUN_FILES = [CHECKPOINT, "metrics.jsonl", "model.onnx", "model.json", "curves.svg"];
/** writeAtomic's temp names: .NAME.PID.HEX.tmp */
const TEMP = /^\..+\.\d+\.[0-9a-f]{12}\.tmp$/;

export interface RunDir {
  dir: string;
  /** The decoded checkpoint when resuming one. */
  checkpoint?: Checkpoint;
  /** Removes the lock (only if it is still this process's). */
  release(): Promise<void>;
}

export interface OpenRunOptions {
  resume: boolean;
  overwrite: boolean;
  /** Options of this run, compared with the checkpoint's on resume (every key must match). */
  options: Record<string, unknown>;
  /** Messages such as a stale-lock takeover (default: stderr). */
  log?: (line: string) => void;
}

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
};

async function takeLock(dir: string, log: (l: string) => void): Promise<string> {
  const path = join(dir, LOCK);
  const me = `${process.pid} ${hostname()} ${new Date().toISOString()}\n`;
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fh = await open(path, "wx");
      try {
        await fh.writeFile(me);
      } finally {
        await fh.close();
      }
      return me;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw new Error(`cannot lock ${dir}: ${fsReason(e)}`);
    }
    const text = await readFile(path, "utf8").catch(() => "");
    const [pidText, host] = text.trim().split(" ");
    const pid = Number(pidText);
    const sameHost = host === undefined || host === hostname();
    if (Number.isSafeInteger(pid) && pid > 0 && (alive(pid) || !sameHost)) {
      throw new Error(
        `${dir} is in use by training process ${pid}${sameHost ? "" : ` on ${host}`} (lock ${path}); wait for it, or delete the lock if that process is gone`,
      );
    }
    log(`robustlens: taking over the stale lock ${path} (process ${pidText || "?"} is gone)`);
    await unlink(path).catch(() => undefined);
  }
  throw new Error(`cannot lock ${dir}: another process keeps taking ${join(dir, LOCK)}`);
}

/** Where and how a run is opened, not what it trains. */
const NOT_COMPARED = new Set(["out", "resume", "overwrite", "run"]);

/** The options a run must keep across resumes (epochs included: the learning-rate schedule depends on it). */
function compareOptions(stored: unknown, now: Record<string, unknown>, source: string): void {
  if (typeof stored !== "object" || stored === null) throw new Error(`${source}: checkpoint has no stored options`);
  const s = stored as Record<string, unknown>;
  for (const k of new Set([...Object.keys(s), ...Object.keys(now)])) {
    if (NOT_COMPARED.has(k)) continue;
    const a = JSON.stringify(s[k] ?? null),
      b = JSON.stringify(now[k] ?? null);
    if (a !== b)
      throw new Error(
        `--resume: option ${k} differs from the run in ${source}: it was ${a}, now ${b}; resume with the same options or start a new run (--overwrite or another --out)`,
      );
  }
}

export async function openRun(dir: string, o: OpenRunOptions): Promise<RunDir> {
  const log = o.log ?? ((l: string) => process.stderr.write(`${l}\n`));
  const st = await stat(dir).catch(() => undefined);
  if (st && !st.isDirectory()) throw new Error(`--out ${dir}: exists and is not a directory`);
  try {
    await mkdir(dir, { recursive: true });
  } catch (e) {
    throw new Error(`cannot create ${dir}: ${fsReason(e)}`);
  }
  const mine = await takeLock(dir, log);
  const release = async () => {
    const text = await readFile(join(dir, LOCK), "utf8").catch(() => "");
    if (text === mine) await unlink(join(dir, LOCK)).catch(() => undefined);
  };
  try {
    const entries = await readdir(dir);
    // we hold the lock, so every temp file here belongs to a writer that was killed
    for (const name of entries.filter((n) => TEMP.test(n))) await rm(join(dir, name), { force: true });
    const held = RUN_FILES.filter((f) => entries.includes(f));
    let checkpoint: Checkpoint | undefined;
    if (held.length > 0) {
      if (o.overwrite) {
        for (const f of held) await rm(join(dir, f), { force: true });
      } else if (!o.resume) {
        throw new Error(
          `--out ${dir} holds a training run (${held.join(", ")}); pass --resume to continue it or --overwrite to replace it`,
        );
      } else if (entries.includes(CHECKPOINT)) {
        const path = join(dir, CHECKPOINT);
        let bytes: Uint8Array;
        try {
          bytes = new Uint8Array(await readFile(path));
        } catch (e) {
          throw new Error(`cannot read ${path}: ${fsReason(e)}`);
        }
        checkpoint = decodeCheckpoint(bytes, path);
        compareOptions(checkpoint.state.options, o.options, path);
      }
    }
    return { dir, checkpoint, release };
  } catch (e) {
    await release();
    throw e;
  }
}
