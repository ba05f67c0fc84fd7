// Helpers of the browser tests: Debian's Chromium driven by playwright-core,
// mobile-sim as the phone, and checks that fail loudly. The tests are run by
// server/cmd/demo-site/browser_test.go, which starts the servers and passes
// where they are in the environment (see env below).
import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";

/** need returns the environment variable name, or throws if it is not set. */
export function need(name) {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set: run these tests through server/cmd/demo-site/browser_test.go`);
  return v;
}

/** env is what the Go runner passes. */
export const env = {
  get server() { return need("QRLOGIN_E2E_SERVER"); }, // the login server's base URL
  get demo() { return need("QRLOGIN_E2E_DEMO"); }, // the demo site's base URL
  get mobileSim() { return need("QRLOGIN_E2E_MOBILE_SIM"); }, // the mobile-sim binary
  get profile() { return process.env.QRLOGIN_E2E_PROFILE || "alice"; }, // its logged-in profile
  get displayName() { return need("QRLOGIN_E2E_DISPLAY_NAME"); }, // that account's display name
  get chromium() { return process.env.QRLOGIN_E2E_CHROMIUM || "/usr/bin/chromium"; },
  get shots() { return need("QRLOGIN_E2E_SHOTS"); }, // the folder for screenshots
  get codeTTL() { return Number(process.env.QRLOGIN_E2E_CODE_TTL_MS || "1000"); },
};

/** CHROMIUM_ARGS keep a headless Chromium from reaching anything but the test's servers. */
export const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-quic",
  "--no-first-run",
  "--disable-component-update",
  "--disable-sync",
  "--disable-default-apps",
  "--disable-extensions",
  "--hide-scrollbars",
];

/**
 * withBrowser launches Chromium with a fresh profile, runs fn(browser) and
 * always closes it and removes the profile.
 */
export async function withBrowser(fn) {
  const profile = mkdtempSync(join(tmpdir(), "qrlogin-chromium-"));
  const ctx = await chromium.launchPersistentContext(profile, {
    executablePath: env.chromium,
    args: CHROMIUM_ARGS,
    headless: true,
    viewport: { width: 1280, height: 800 },
    deviceScaleFactor: 1,
    locale: "en-US",
    timezoneId: "UTC",
  });
  try {
    return await fn(ctx);
  } finally {
    await ctx.close().catch(() => {});
    rmSync(profile, { recursive: true, force: true });
  }
}

/**
 * watchPage records what goes wrong in page: uncaught errors and console
 * errors (a CSP violation is one), but those matching a pattern of allow
 * (say, the status of an error page the test asks for). problems()
 * returns them.
 */
export function watchPage(page, allow = []) {
  const problems = [];
  page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
  page.on("console", (m) => {
    const text = m.text();
    if ((m.type() === "error" || /Content Security Policy/i.test(text)) && !allow.some((re) => re.test(text))) {
      problems.push(`console: ${text}`);
    }
  });
  return { problems: () => problems.slice() };
}

/** shot saves a screenshot of page as NAME.png in the shots folder and returns its path. */
export async function shot(page, name) {
  mkdirSync(env.shots, { recursive: true });
  const file = join(env.shots, `${name}.png`);
  await page.screenshot({ path: file });
  return file;
}

/**
 * mobileSim runs mobile-sim with args (as the test's phone, on the test's
 * server) and returns its stdout; it rejects with its output if it fails.
 */
export function mobileSim(...args) {
  const full = [...args, "-server", env.server, "-profile", env.profile];
  return new Promise((resolve, reject) => {
    execFile(env.mobileSim, full, { timeout: 60_000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`mobile-sim ${full.join(" ")}: ${err.message}\n${stdout}${stderr}`));
      else resolve(stdout);
    });
  });
}

/**
 * scanShot takes a screenshot of page as NAME.png and lets the phone scan
 * the QR code in it with flags (--yes, --deny, --match N); it returns
 * mobile-sim's output.
 */
export async function scanShot(page, name, ...flags) {
  const file = await shot(page, name);
  return mobileSim("scan", file, ...flags);
}

/** waitShown waits until the page says (body[data-shown]) that state is on screen. */
export async function waitShown(page, state, timeout = 20_000) {
  await page.waitForSelector(`body[data-shown="${state}"]`, { timeout });
}

/** assert throws message unless ok. */
export function assert(ok, message) {
  if (!ok) throw new Error(message);
}

/** includes asserts that text contains want. */
export function includes(text, want, what) {
  assert(String(text).includes(want), `${what}: want ${JSON.stringify(want)} in ${JSON.stringify(text)}`);
}

/**
 * run runs the scenarios named on the command line (all of them if none)
 * and exits 0 if all passed, 1 otherwise, saying which failed.
 */
export async function run(scenarios) {
  const names = process.argv.slice(2).length ? process.argv.slice(2) : Object.keys(scenarios);
  let failed = 0;
  for (const name of names) {
    const fn = scenarios[name];
    if (!fn) {
      console.error(`no scenario ${name}; have: ${Object.keys(scenarios).join(", ")}`);
      process.exit(2);
    }
    const start = Date.now();
    try {
      await fn();
      console.log(`ok   ${name} (${Date.now() - start} ms)`);
    } catch (err) {
      failed++;
      console.log(`FAIL ${name} (${Date.now() - start} ms)\n${err?.stack ?? err}`);
    }
  }
  console.log(`${names.length - failed} passed, ${failed} failed`);
  process.exit(failed ? 1 : 0);
}
