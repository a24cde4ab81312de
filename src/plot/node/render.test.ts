import assert from "node:assert/strict";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import sharp from "sharp";
import { robustnessSpec, specValues } from "../specs.js";
import { addPngText, readPngText } from "./png-text.js";
import { readPlotSpec, renderSvg, writePlot } from "./render.js";

const points = [0, 0.5, 1].flatMap((eps, i) => [
  { model: "standard ]]> <b>", attack: "PGD-20", eps, accuracy: [0.9, 0.3, 0.05][i]! },
  { model: "robust ε", attack: "PGD-20", eps, accuracy: [0.8, 0.7, 0.6][i]! },
]);
const spec = robustnessSpec(points, { threat: "l2" });

test("SVG: legend entries for each model, axis titles, and the spec (escaping CDATA ends) read back from the file", async () => {
  const dir = mkdtempSync(join(tmpdir(), "plot-"));
  const path = join(dir, "curve.svg");
  await writePlot(path, spec);
  const svg = readFileSync(path, "utf8");
  assert.match(svg, /^<svg /);
  assert.ok(svg.includes("robust ε") && svg.includes("standard ]]&gt; &lt;b&gt;"), "legend labels");
  assert.ok(svg.includes("accuracy (%)"), "y axis title");
  assert.deepEqual(specValues(await readPlotSpec(path)), specValues(spec));
});

test("PNG: rendered at 2× the SVG size, not blank, and carrying its spec", async () => {
  const dir = mkdtempSync(join(tmpdir(), "plot-"));
  const path = join(dir, "curve.png");
  await writePlot(path, spec);
  const svg = await renderSvg(spec);
  const w = Number(/width="(\d+)"/.exec(svg)![1]);
  const { data, info } = await sharp(path).greyscale().raw().toBuffer({ resolveWithObject: true });
  assert.equal(info.width, 2 * w);
  let ink = 0;
  for (const v of data) if (v < 200) ink++;
  assert.ok(ink / data.length > 0.01 && ink / data.length < 0.5, `ink ${ink / data.length}`);
  assert.deepEqual(specValues(await readPlotSpec(path)), specValues(spec));
});

test("plots never fetch: URL data is refused before rendering; other extensions are refused naming the option", async () => {
  await assert.rejects(renderSvg({ data: { url: "https://example.org/x.csv" }, mark: "point" }), /data must be inline/);
  await assert.rejects(writePlot("/tmp/x.pdf", spec, "--plot"), /--plot \/tmp\/x\.pdf: a plot is written as \.svg or \.png/);
});

test("PNG text chunks round-trip UTF-8 and the PNG stays decodable", async () => {
  const png = new Uint8Array(
    await sharp({ create: { width: 4, height: 3, channels: 3, background: "#fff" } })
      .png()
      .toBuffer(),
  );
  const tagged = addPngText(png, "k", "ε → ∞");
  assert.equal(readPngText(tagged, "k"), "ε → ∞");
  assert.equal(readPngText(tagged, "other"), undefined);
  assert.equal((await sharp(Buffer.from(tagged)).metadata()).width, 4);
  assert.throws(() => addPngText(new Uint8Array(40), "k", "x"), /not a PNG/);
});
