// Screenshots of the explorer for the README (docs/explorer-*.png): each runs one experiment through the URL API in Chromium.
// `npm run build && node scripts/screenshot.mjs [file ...]` (Debian's /usr/bin/chromium, driven by playwright-core); names
// pick shots, none takes them all.
import { mkdirSync } from "node:fs";
import { chromium } from "playwright-core";
import { startExplore } from "../dist/src/cli/explore.js";
import { CHROMIUM_PATH, chromiumArgs } from "../dist/src/testing/chromium.js";

/** A rough "0" (an ellipse) as fractions of the drawing pad, drawn with the mouse before a sketch runs. */
const OVAL = Array.from({ length: 25 }, (_, i) => [
  0.5 + 0.22 * Math.sin((2 * Math.PI * i) / 24),
  0.5 - 0.32 * Math.cos((2 * Math.PI * i) / 24),
]);

const SHOTS = [
  { file: "explorer-invert.png", query: "experiment=invert&models=fashion-mnist-standard,fashion-mnist-l2&targets=0-9&steps=200&seed=0" },
  {
    file: "explorer-attack.png",
    query: "experiment=attack&models=fashion-mnist-standard,fashion-mnist-l2&targets=0-9&threat=l2&eps=1.5&steps=20",
  },
  { file: "explorer-feature.png", query: "experiment=feature&models=mnist-standard,mnist-l2&steps=100&count=4" },
  // a drawn oval pushed to class 8 (the drawing pad needs the mouse: no autorun)
  {
    file: "explorer-sketch.png",
    query: "experiment=sketch&models=mnist-standard,mnist-l2&class=8",
    draw: { pad: "#drawHolder canvas", points: OVAL },
  },
  { file: "explorer-paint.png", query: "experiment=paint&models=mnist-standard,mnist-l2&targets=3&region=8,10,20,18" },
];
const wanted = process.argv.slice(2);
const unknown = wanted.filter((w) => !SHOTS.some((s) => s.file === w));
if (unknown.length) throw new Error(`screenshot: unknown shot ${unknown.join(", ")} (have ${SHOTS.map((s) => s.file).join(", ")})`);
const server = await startExplore({ port: 0 });
const browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: chromiumArgs() });
mkdirSync("docs", { recursive: true });
try {
  for (const { file, query, draw } of SHOTS.filter((s) => !wanted.length || wanted.includes(s.file))) {
    const page = await browser.newPage({ viewport: { width: 1280, height: 860 } });
    await page.goto(`${server.url}?${query}${draw ? "" : "&autorun=1"}`);
    if (draw) {
      await page.waitForFunction(() => document.body.dataset.status === "ready", null, { timeout: 120_000 });
      const box = await page.locator(draw.pad).boundingBox();
      const at = ([fx, fy]) => [box.x + box.width * fx, box.y + box.height * fy];
      await page.mouse.move(...at(draw.points[0]));
      await page.mouse.down();
      for (const p of draw.points.slice(1)) await page.mouse.move(...at(p), { steps: 3 });
      await page.mouse.up();
      await page.locator("#run").click();
    }
    await page.waitForFunction(() => ["done", "error"].includes(document.body.dataset.status ?? ""), null, { timeout: 600_000 });
    const err = await page.evaluate(() => document.body.dataset.error);
    if (err) throw new Error(`screenshot ${file}: ${err}`);
    await page.screenshot({ path: `docs/${file}` });
    console.log(`docs/${file}: ${await page.locator("#counter").innerText()}`);
    await page.close();
  }
} finally {
  await browser.close();
  await server.close();
}
