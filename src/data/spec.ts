// `--data SPEC` parsing: KIND[:ARG][?key=value&...], checked up front so a typo fails before any file is read.
import type { KnownDataset } from "./catalog.js";

export interface SpecOptions {
  /** Keep only the first N examples of the split. */
  limit?: number;
  /** folder: side of the square images after resizing (default 32). */
  size?: number;
  /** folder: 1 (grayscale) or 3 (RGB, default). */
  channels?: 1 | 3;
  /** folder without train/ and test/ subfolders: fraction held out, seeded, as the test split. */
  holdout?: number;
  /** folder, npy: whether horizontal flips keep the class (folder default yes, npy default no). */
  flip?: boolean;
}

export type DataSpec =
  | { kind: Exclude<KnownDataset, "cifar10">; dir?: string; options: SpecOptions }
  | { kind: "cifar10" | "folder"; dir: string; options: SpecOptions }
  | { kind: "npy"; images: string; labels: string; options: SpecOptions };

export const DATA_SPEC_HELP =
  "mnist[:DIR], fashion-mnist[:DIR], cifar10:DIR, folder:DIR, npy:X.npy,Y.npy; options after '?', e.g. folder:DIR?size=64&channels=1&holdout=0.1, any?limit=N";

const ALLOWED: Record<DataSpec["kind"], readonly (keyof SpecOptions)[]> = {
  mnist: ["limit"],
  "fashion-mnist": ["limit"],
  cifar10: ["limit"],
  folder: ["limit", "size", "channels", "holdout", "flip"],
  npy: ["limit", "flip"],
};

export function parseDataSpec(spec: string): DataSpec {
  const bad = (why: string): never => {
    throw new Error(`--data "${spec}": ${why} (expected ${DATA_SPEC_HELP})`);
  };
  const q = spec.lastIndexOf("?");
  const head = q >= 0 ? spec.slice(0, q) : spec;
  const colon = head.indexOf(":");
  const kind = colon >= 0 ? head.slice(0, colon) : head;
  const arg = colon >= 0 ? head.slice(colon + 1) : undefined;
  if (!(kind in ALLOWED)) bad(`unknown dataset kind "${kind}"`);
  const options = parseOptions(q >= 0 ? spec.slice(q + 1) : "", ALLOWED[kind as DataSpec["kind"]], kind, bad);
  switch (kind) {
    case "mnist":
    case "fashion-mnist":
      if (arg === "") bad(`empty directory after "${kind}:"`);
      return { kind, dir: arg, options };
    case "cifar10":
    case "folder":
      return { kind, dir: arg || bad(`${kind} needs a directory: ${kind}:DIR`), options };
    default: {
      const m = /^([^,]+),([^,]+)$/.exec(arg ?? "");
      if (!m) return bad("npy needs two files: npy:X.npy,Y.npy");
      return { kind: "npy", images: m[1]!, labels: m[2]!, options };
    }
  }
}

function parseOptions(text: string, allowed: readonly (keyof SpecOptions)[], kind: string, bad: (why: string) => never): SpecOptions {
  const o: SpecOptions = {};
  for (const part of text.split("&").filter(Boolean)) {
    const eq = part.indexOf("=");
    const key = (eq >= 0 ? part.slice(0, eq) : part) as keyof SpecOptions;
    const value = eq >= 0 ? part.slice(eq + 1) : "";
    if (!allowed.includes(key)) bad(`option "${key}" does not apply to ${kind} (it takes ${allowed.join(", ")})`);
    if (key in o) bad(`option "${key}" is given twice`);
    const int = (): number => (/^[1-9]\d*$/.test(value) ? Number(value) : bad(`${key} must be a positive integer, got "${value}"`));
    switch (key) {
      case "limit":
        o.limit = int();
        break;
      case "size":
        o.size = int();
        break;
      case "channels":
        o.channels = value === "1" ? 1 : value === "3" ? 3 : bad(`channels must be 1 or 3, got "${value}"`);
        break;
      case "holdout": {
        const f = Number(value);
        o.holdout = value !== "" && f > 0 && f < 1 ? f : bad(`holdout must be a fraction in (0,1), got "${value}"`);
        break;
      }
      case "flip":
        o.flip =
          value === "1" || value === "yes" ? true : value === "0" || value === "no" ? false : bad(`flip must be yes or no, got "${value}"`);
        break;
    }
  }
  return o;
}
