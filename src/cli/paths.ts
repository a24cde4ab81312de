// Output paths checked before any work: writable, not a directory, and never one of the command's inputs.
import { constants } from "node:fs";
import { access, realpath, stat } from "node:fs/promises";
import { basename, dirname, join, resolve, sep } from "node:path";
import { fsReason } from "../data/node/read.js";

export interface OutputPath {
  flag: string;
  path: string;
  kind?: "file" | "dir";
  /** For a directory output: the entries it writes (files, or folders whose whole content it writes). */
  dirFiles?: readonly string[];
}

/** Where a path points: its realpath when it exists (symlinks followed), else its directory's realpath and its name. */
async function canonical(p: string): Promise<string | undefined> {
  try {
    return await realpath(p);
  } catch {
    /* not there yet */
  }
  try {
    return join(await realpath(dirname(resolve(p))), basename(p));
  } catch {
    return undefined;
  }
}

/** The paths an input argument may name: itself and its parts split at "," "?" and the first ":" (specs, X.npy:0-9). */
export function inputCandidates(arg: string): string[] {
  const out = new Set<string>([arg]);
  for (const piece of arg.split(/[,?]/)) {
    out.add(piece);
    const c = piece.indexOf(":");
    if (c >= 0) {
      out.add(piece.slice(0, c));
      out.add(piece.slice(c + 1));
    }
  }
  return [...out].filter(Boolean);
}

interface Input {
  arg: string;
  real: string;
  dir: boolean;
}

async function resolveInputs(args: readonly (string | undefined)[]): Promise<Input[]> {
  const out: Input[] = [];
  for (const arg of args) {
    if (!arg) continue;
    for (const c of inputCandidates(arg)) {
      try {
        const real = await realpath(c);
        out.push({ arg: c, real, dir: (await stat(real)).isDirectory() });
      } catch {
        /* not a path */
      }
    }
  }
  return out;
}

/**
 * Refuses outputs that are inputs (also through symlinks), that sit in an input folder and exist (they would be read
 * as inputs), that are directories, or whose directory is missing or read-only. Runs before any work.
 */
export async function checkOutputs(outputs: readonly OutputPath[], inputs: readonly (string | undefined)[]): Promise<void> {
  const ins = await resolveInputs(inputs);
  const seen = new Map<string, string>();
  for (const o of outputs) {
    const where = `${o.flag} ${o.path}`;
    let st: Awaited<ReturnType<typeof stat>> | undefined;
    try {
      st = await stat(o.path);
    } catch {
      /* created later */
    }
    if (o.kind !== "dir") {
      if (st?.isDirectory()) throw new Error(`${where}: is a directory`);
      const dir = dirname(resolve(o.path));
      let dst;
      try {
        dst = await stat(dir);
      } catch (e) {
        throw new Error(`${where}: directory ${dir}: ${fsReason(e)}`);
      }
      if (!dst.isDirectory()) throw new Error(`${where}: ${dir} is not a directory`);
      try {
        await access(dir, constants.W_OK);
      } catch {
        throw new Error(`${where}: directory ${dir} is not writable`);
      }
    } else if (st && !st.isDirectory()) throw new Error(`${where}: exists and is not a directory`);
    const real = await canonical(o.path);
    if (!real) continue;
    const other = seen.get(real);
    if (other) throw new Error(`${where}: the same file as ${other}`);
    seen.set(real, where);
    for (const i of ins) {
      if (i.real === real) throw new Error(`${where}: is the input ${i.arg}; refusing to overwrite an input (choose another output path)`);
      if (i.dir && st && o.kind !== "dir" && real.startsWith(i.real + sep))
        throw new Error(`${where}: exists inside the input folder ${i.arg}; refusing to overwrite an input (choose another output path)`);
      if (o.kind === "dir" && !i.dir && i.real.startsWith(real + sep)) {
        const rel = i.real.slice(real.length + 1);
        if (o.dirFiles?.some((f) => rel === f || rel.startsWith(f + sep))) throw new Error(`${where}: would overwrite the input ${i.arg}`);
      }
    }
  }
}
