// The explorer's model list: folders holding model.onnx (and an optional model.json), as served or copied into web/dist.
import { existsSync, readFileSync, readdirSync, realpathSync, statSync } from "node:fs";
import { join, sep } from "node:path";

export interface ModelEntry {
  name: string;
  /** URL of the folder relative to the page, ending in "/". */
  path: string;
  dataset: string | null;
  classes: string[] | null;
  /** The adversarial training recipe (model.json training.adv), null for a standard model. */
  robust: unknown;
  hasMeta: boolean;
}

/** Model folders under `dir` (sorted by name), served under the URL prefix `prefix` (e.g. "models/"). */
export function listModels(dir: string, prefix: string): ModelEntry[] {
  if (!existsSync(dir)) return [];
  const base = realpathSync(dir);
  return readdirSync(dir)
    .sort()
    .flatMap((name) => {
      const d = join(dir, name);
      // a folder linked from elsewhere is not served (the server refuses symlinks out), so it is not listed either
      if (
        name.startsWith(".") ||
        !statSync(d).isDirectory() ||
        !realpathSync(d).startsWith(base + sep) ||
        !existsSync(join(d, "model.onnx"))
      )
        return [];
      const hasMeta = existsSync(join(d, "model.json"));
      let meta: { dataset?: string; classes?: string[]; training?: { adv?: unknown } } = {};
      if (hasMeta) {
        try {
          meta = JSON.parse(readFileSync(join(d, "model.json"), "utf8"));
        } catch (e) {
          throw new Error(`${join(d, "model.json")}: not valid JSON (${(e as Error).message})`);
        }
      }
      return [
        {
          name,
          path: `${prefix}${encodeURIComponent(name)}/`,
          dataset: meta.dataset ?? null,
          classes: meta.classes ?? null,
          robust: meta.training?.adv ?? null,
          hasMeta,
        },
      ];
    });
}
