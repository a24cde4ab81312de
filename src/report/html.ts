// The report page (browser-safe): a metric table and the paper's figures, one column per model, images beside the page.

export interface MetricRow {
  label: string;
  /** One formatted value per model. */
  values: string[];
  /** What the number means (shown under the label). */
  help?: string;
}

export interface Figure {
  id: string;
  title: string;
  /** How to read the grid (what the rows and columns are). */
  caption: string;
  /** Per model: the image path relative to the page, and a line under it. */
  cells: { src: string; note?: string }[];
  /** Plots beside the grids (e.g. the search's objective per step for every model), image paths relative to the page. */
  plots?: Plot[];
}

export interface Plot {
  src: string;
  alt: string;
  note?: string;
}

/** A plot section of its own: before the metrics ("top", the robustness curves) or after the figures ("end"). */
export interface PlotSection {
  id: string;
  title: string;
  caption: string;
  plot: Plot;
  position: "top" | "end";
}

export interface ReportDoc {
  title: string;
  subtitle: string;
  models: { name: string; detail: string }[];
  metrics: MetricRow[];
  figures: Figure[];
  plots?: PlotSection[];
  /** Settings and provenance, one line each. */
  notes: string[];
}

const ESC: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };
export const escapeHtml = (s: string): string => s.replace(/[&<>"']/g, (c) => ESC[c]!);

const STYLE = `
body{font-family:system-ui,-apple-system,"DejaVu Sans",sans-serif;margin:2rem auto;max-width:1400px;padding:0 1rem;color:#222;background:#fff}
h1{margin-bottom:.2rem}h2{margin-top:2.5rem;border-bottom:1px solid #ccc;padding-bottom:.3rem}
.sub{color:#666;margin-top:0}table.metrics{border-collapse:collapse;margin:1rem 0}
table.metrics th,table.metrics td{border:1px solid #ccc;padding:.35rem .7rem;text-align:left;vertical-align:top}
table.metrics td.v{font-variant-numeric:tabular-nums;text-align:right}table.metrics small{color:#666;display:block;max-width:38rem}
.row{display:flex;gap:1.5rem;flex-wrap:wrap;align-items:flex-start}
figure{margin:0;flex:1 1 0;min-width:260px}figure img{width:100%;image-rendering:pixelated;border:1px solid #ddd}
figcaption{font-weight:600;margin-bottom:.3rem}.note{color:#555;font-size:.9rem;margin-top:.3rem}.caption{color:#444}
ul.notes{color:#555;font-size:.9rem}
figure.plot{flex:0 1 auto;min-width:0}figure.plot img{width:auto;max-width:100%;image-rendering:auto;border:none}
`;

const plotHtml = (p: Plot): string =>
  `<figure class="plot"><img src="${escapeHtml(p.src)}" alt="${escapeHtml(p.alt)}">${p.note ? `<div class="note">${escapeHtml(p.note)}</div>` : ""}</figure>`;

export function renderReport(doc: ReportDoc): string {
  const e = escapeHtml;
  const head = `<tr><th>metric</th>${doc.models.map((m) => `<th>${e(m.name)}<small>${e(m.detail)}</small></th>`).join("")}</tr>`;
  const rows = doc.metrics
    .map(
      (r) =>
        `<tr><th>${e(r.label)}${r.help ? `<small>${e(r.help)}</small>` : ""}</th>${r.values.map((v) => `<td class="v">${e(v)}</td>`).join("")}</tr>`,
    )
    .join("\n");
  const figures = doc.figures
    .map(
      (f) =>
        `<section id="${e(f.id)}"><h2>${e(f.title)}</h2><p class="caption">${e(f.caption)}</p><div class="row">${f.cells
          .map(
            (c, i) =>
              `<figure><figcaption>${e(doc.models[i]?.name ?? "")}</figcaption><img src="${e(c.src)}" alt="${e(`${f.title}: ${doc.models[i]?.name ?? ""}`)}">${
                c.note ? `<div class="note">${e(c.note)}</div>` : ""
              }</figure>`,
          )
          .join("")}${(f.plots ?? []).map(plotHtml).join("")}</div></section>`,
    )
    .join("\n");
  const sections = (where: PlotSection["position"]) =>
    (doc.plots ?? [])
      .filter((p) => p.position === where)
      .map(
        (p) =>
          `<section id="${e(p.id)}"><h2>${e(p.title)}</h2><p class="caption">${e(p.caption)}</p><div class="row">${plotHtml(p.plot)}</div></section>`,
      )
      .join("\n");
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>${e(doc.title)}</title><style>${STYLE}</style></head>
<body>
<h1>${e(doc.title)}</h1><p class="sub">${e(doc.subtitle)}</p>
${sections("top")}
<h2 id="metrics">Metrics</h2>
<table class="metrics">${head}
${rows}</table>
${figures}
${sections("end")}
<h2 id="settings">Settings</h2><ul class="notes">${doc.notes.map((n) => `<li>${e(n)}</li>`).join("")}</ul>
</body></html>
`;
}
