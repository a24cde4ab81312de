// Vega-Lite specs to SVG (vega's SVG string renderer, no canvas) and PNG (the SVG through sharp), offline: no loader may fetch.
import { readFile } from "node:fs/promises";
import { extname } from "node:path";
import sharp from "sharp";
import { View, parse } from "vega";
import { type TopLevelSpec, compile } from "vega-lite";
import { writeAtomic } from "../../data/node/atomic.js";
import { addPngText, readPngText } from "./png-text.js";

/** Keyword of the PNG text chunk and id of the SVG metadata element that hold the plot's Vega-Lite spec. */
export const SPEC_KEY = "vega-lite-spec";

/** A loader that refuses every request: robustlens plots carry their data inline and must never touch the network or disk. */
const offline = {
  load: async (uri: string) => {
    throw new Error(`plot: data must be inline, refusing to load "${uri}"`);
  },
  sanitize: async (uri: string) => {
    throw new Error(`plot: data must be inline, refusing to load "${uri}"`);
  },
  http: async (uri: string) => {
    throw new Error(`plot: refusing to fetch "${uri}"`);
  },
  file: async (uri: string) => {
    throw new Error(`plot: refusing to read "${uri}"`);
  },
};

/** Throws if any data source or image in the spec refers to a URL (they would be fetched at render time). */
function checkInline(spec: unknown, path = "spec"): void {
  if (!spec || typeof spec !== "object") return;
  for (const [k, v] of Object.entries(spec)) {
    if (k === "url" && typeof v === "string")
      throw new Error(`plot: ${path}.url = "${v}": data must be inline (values), nothing is fetched`);
    checkInline(v, `${path}.${k}`);
  }
}

/** SVG text of a Vega-Lite spec, with the spec itself in a <metadata> element. */
export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  checkInline(spec);
  // vega tags data rows in place: render a copy so the caller's spec stays as it was
  const view = new View(parse(compile(structuredClone(spec)).spec), { renderer: "none", loader: offline as never, logLevel: 1 });
  try {
    const svg = await view.toSVG();
    const json = JSON.stringify(spec).replaceAll("]]>", "]]]]><![CDATA[>");
    const open = svg.indexOf(">") + 1;
    return `${svg.slice(0, open)}<metadata id="${SPEC_KEY}"><![CDATA[${json}]]></metadata>${svg.slice(open)}`;
  } finally {
    view.finalize();
  }
}

/** PNG bytes of a Vega-Lite spec at `scale` × the SVG's CSS pixels (2 = sharp on high-DPI screens), spec in an iTXt chunk. */
export async function renderPng(spec: TopLevelSpec, o: { scale?: number } = {}): Promise<Uint8Array> {
  const scale = o.scale ?? 2;
  const svg = await renderSvg(spec);
  const png = await sharp(Buffer.from(svg), { density: 72 * scale })
    .png({ compressionLevel: 9 })
    .toBuffer();
  return addPngText(new Uint8Array(png), SPEC_KEY, JSON.stringify(spec));
}

export type PlotFormat = "svg" | "png";

/** The plot format a file name asks for (.svg or .png); anything else is an error naming the option. */
export function plotFormat(path: string, option = "--out"): PlotFormat {
  const ext = extname(path).toLowerCase();
  if (ext === ".svg" || ext === ".png") return ext.slice(1) as PlotFormat;
  throw new Error(`${option} ${path}: a plot is written as .svg or .png, got "${ext || "no extension"}"`);
}

/** Renders a spec to `path` (.svg or .png), atomically: a reader never sees a torn plot. */
export async function writePlot(path: string, spec: TopLevelSpec, option = "--out"): Promise<void> {
  const data = plotFormat(path, option) === "svg" ? await renderSvg(spec) : await renderPng(spec);
  await writeAtomic(path, data);
}

/** The Vega-Lite spec a plot file written by writePlot was drawn from. */
export async function readPlotSpec(path: string): Promise<TopLevelSpec> {
  const bytes = new Uint8Array(await readFile(path));
  let text: string | undefined;
  if (plotFormat(path, "plot") === "png") text = readPngText(bytes, SPEC_KEY, path);
  else {
    const svg = new TextDecoder().decode(bytes);
    const m = new RegExp(`<metadata id="${SPEC_KEY}"><!\\[CDATA\\[([\\s\\S]*?)\\]\\]></metadata>`).exec(svg);
    text = m?.[1]?.replaceAll("]]]]><![CDATA[>", "]]>");
  }
  if (text === undefined) throw new Error(`${path}: holds no robustlens plot spec`);
  return JSON.parse(text) as TopLevelSpec;
}
