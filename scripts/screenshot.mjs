// Screenshots of the explorer for the README (docs/explorer-*.png): each runs one experiment through the URL API in Chromium.
// `npm run build && node scripts/screenshot.mjs` (Debian's /usr/bin/chromium, driven by playwright-core).
import { mkdirSync } from "node:fs";
import { chromium } from "playwright-core";
import { startExplore } from "../dist/src/cli/explore.js";
import { CHROMIUM_PATH, chromiumArgs } from "../dist/src/testing/chromium.js";

const SHOTS = [
  ["explorer-invert.png", "experiment=invert&models=fashion-mnist-standard,fashion-mnist-l2&targets=0-9&steps=200&seed=0"],
  ["explorer-attack.png", "experiment=attack&models=fashion-mnist-standard,fashion-mnist-l2&targets=0-9&threat=l2&eps=1.5&steps=20"],
  ["explorer-feature.png", "experiment=feature&models=mnist-standard,mnist-l2&steps=100&count=4"],
];
const server = await startExplore({ port: 0 });
const browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: chromiumArgs() });
mkdirSync("docs", { recursive: true });
try {
  for (const [file, query] of SHOTS) {
    const page = await browser.newPage({ viewport: { width: 1280, height: 860 } });
    await page.goto(`${server.url}?${query}&autorun=1`);
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
