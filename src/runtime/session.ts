// One program cache: a Session is an executor plus the programs compiled on it, kept until release() or dispose().
import type { Graph } from "../ir/graph.js";
import type { CompileOptions, Executor, Program } from "./executor.js";
import type { BackendProfile } from "../ops/profile.js";

/** Anything a session caches: a program or a bundle of programs. */
export interface Disposable {
  dispose(): Promise<void>;
}

/**
 * Compiles once per (owner, key): the owner is the model or attack target the programs belong to, the key names everything
 * baked into the graph (batch size, loss structure, threat, straight-through nodes). Entries live until the owner is
 * released or the session disposed; a failed compile is not kept, so the next call reports the error again.
 */
export class Session implements Executor {
  private readonly entries = new Map<object, Map<string, Promise<Disposable>>>();
  private closed = false;

  constructor(readonly exec: Executor) {}

  /** The underlying executor's backend profile (graphs built for this session must fit it). */
  get profile(): BackendProfile | undefined {
    return this.exec.profile;
  }

  /** Uncached compile on the underlying executor (the caller owns the program). */
  compile(graph: Graph, options?: CompileOptions): Promise<Program> {
    if (this.closed) throw new Error("session: used after dispose()");
    return this.exec.compile(graph, options);
  }

  /** The cached value for (owner, key), built by `build` on first use. */
  cached<T extends Disposable>(owner: object, key: string, build: (exec: Executor) => Promise<T>): Promise<T> {
    if (this.closed) throw new Error("session: used after dispose()");
    let byKey = this.entries.get(owner);
    if (!byKey) this.entries.set(owner, (byKey = new Map()));
    let p = byKey.get(key) as Promise<T> | undefined;
    if (!p) {
      p = build(this.exec);
      byKey.set(key, p);
      const keys = byKey;
      p.catch(() => {
        if (keys.get(key) === p) keys.delete(key);
      });
    }
    return p;
  }

  /** Number of cached entries (all owners, or one). */
  size(owner?: object): number {
    if (owner) return this.entries.get(owner)?.size ?? 0;
    let s = 0;
    for (const m of this.entries.values()) s += m.size;
    return s;
  }

  /** Lets the programs of one owner drop what they keep for their stable inputs (see `Program.dropStable`). */
  async dropStable(owner: object): Promise<void> {
    for (const p of this.entries.get(owner)?.values() ?? []) {
      const v = (await p.catch(() => undefined)) as { dropStable?: () => void | Promise<void> } | undefined;
      await v?.dropStable?.();
    }
  }

  /** The keys cached for one owner, in the order they were first asked for. */
  keys(owner: object): string[] {
    return [...(this.entries.get(owner)?.keys() ?? [])];
  }

  /** Disposes the programs of one owner (e.g. a model the user closed). */
  async release(owner: object): Promise<void> {
    const byKey = this.entries.get(owner);
    if (!byKey) return;
    this.entries.delete(owner);
    await disposeAll([...byKey.values()]);
  }

  /** Disposes every cached program; the session cannot be used afterwards. */
  async dispose(): Promise<void> {
    this.closed = true;
    const all = [...this.entries.values()].flatMap((m) => [...m.values()]);
    this.entries.clear();
    await disposeAll(all);
  }
}

async function disposeAll(ps: Promise<Disposable>[]): Promise<void> {
  for (const p of ps)
    await p.then(
      (d) => d.dispose(),
      () => {},
    );
}

/** What compute functions take: a Session (programs cached across calls) or a bare Executor (compiled per call). */
export type Runner = Session | Executor;

/** Runs `fn` on `r` as a session; a bare executor gets a session of its own for this call only. */
export async function withSession<T>(r: Runner, fn: (s: Session) => Promise<T>): Promise<T> {
  if (r instanceof Session) return fn(r);
  const s = new Session(r);
  try {
    return await fn(s);
  } finally {
    await s.dispose();
  }
}
