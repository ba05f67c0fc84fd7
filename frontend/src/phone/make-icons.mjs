// Draws the phone web app's PNG icons (public/icon-192.png, icon-512.png,
// icon-maskable-512.png) from its SVG mark with Chromium, as a person
// would export them; the PNGs are committed, so the build does not need
// Chromium. Run again after changing public/icon.svg:
//
//   node src/phone/make-icons.mjs   (in frontend/)
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { chromium } from "playwright-core";

const dir = join(import.meta.dirname, "public");
const mark = readFileSync(join(dir, "icon.svg"), "utf8");
// The maskable icon fills its square: the mark's white tile sits in the
// safe circle (the middle 80%) on the brand's green.
const maskable = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><rect width="32" height="32" fill="#0fa968"/><g transform="translate(2.4 2.4) scale(0.85)">${mark.replace(/^<svg[^>]*>|<\/svg>\s*$/g, "").replace('<rect width="32" height="32" rx="8" fill="#0fa968"/>', "")}</g></svg>`;

const browser = await chromium.launch({ executablePath: process.env.CHROMIUM || "/usr/bin/chromium", args: ["--no-sandbox", "--headless"] });
try {
  for (const [name, size, svg] of [
    ["icon-192.png", 192, mark],
    ["icon-512.png", 512, mark],
    ["icon-maskable-512.png", 512, maskable],
  ]) {
    const page = await browser.newPage({ viewport: { width: size, height: size }, deviceScaleFactor: 1 });
    const html = `<!doctype html><style>html,body{margin:0;background:transparent}svg{display:block;width:${size}px;height:${size}px}</style>${svg}`;
    await page.setContent(html);
    writeFileSync(join(dir, name), await page.screenshot({ omitBackground: true, type: "png" }));
    await page.close();
  }
} finally {
  await browser.close();
}
