// One look for every robustlens plot (browser-safe): a colour-blind-safe palette, readable fonts, light grids.
import type { Config } from "vega-lite";

/** Okabe & Ito's palette, reordered for lines on white (yellow last: weak contrast), distinguishable under common colour-vision deficiencies. */
export const PALETTE = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#F0E442"] as const;

/** Dash patterns for a second series channel, so series stay apart in grayscale too. */
export const DASHES: number[][] = [
  [1, 0],
  [6, 3],
  [2, 2],
  [8, 3, 2, 3],
  [1, 3],
];

export const FONT = "DejaVu Sans, Verdana, Helvetica, Arial, sans-serif";

export const CONFIG: Config = {
  background: "white",
  font: FONT,
  padding: 8,
  view: { stroke: null, continuousWidth: 360, continuousHeight: 240 },
  range: { category: [...PALETTE] },
  axis: {
    labelFontSize: 11,
    titleFontSize: 12,
    titleFontWeight: "normal",
    gridColor: "#e6e6e6",
    domainColor: "#888",
    tickColor: "#888",
    labelColor: "#333",
    titleColor: "#222",
  },
  legend: { labelFontSize: 11, titleFontSize: 12, titleFontWeight: "normal", symbolStrokeWidth: 2.5, labelLimit: 260 },
  title: { fontSize: 14, subtitleFontSize: 11, subtitleColor: "#555", anchor: "start", fontWeight: "bold" },
  header: { labelFontSize: 12, titleFontSize: 12 },
  line: { strokeWidth: 2.2 },
  point: { size: 36, filled: true },
};
