// Browser tests of the open platform and the web login page: Chromium on
// the real qrlogin-server and the demo site, with mobile-sim as the phone,
// which reads each QR code from a screenshot of the page as a person's
// camera would. Run by server/cmd/demo-site/browser_test.go:
//
//   QRLOGIN_E2E_BROWSER=1 go test -run TestBrowser ./server/cmd/demo-site/
//
// or `node e2e/browser.mjs [SCENARIO...]` with the environment it sets.
import { spawn } from "node:child_process";
import { setTimeout as sleep } from "node:timers/promises";
import {
  assert,
  env,
  includes,
  mobileSim,
  need,
  run,
  scanShot,
  shot,
  waitShown,
  watchPage,
  withBrowser,
} from "./lib.mjs";

/** openAuthorizePage opens the demo site, clicks its log-in button and waits for the QR code. */
async function openAuthorizePage(page, name) {
  await page.goto(`${env.demo}/`);
  await shot(page, `${name}-0-demo-home`);
  await Promise.all([page.waitForURL(`${env.server}/oauth/authorize?**`), page.click("#login")]);
  await waitShown(page, "pending");
  const url = new URL(page.url());
  for (const p of ["state", "nonce", "code_challenge"]) assert(url.searchParams.get(p), `the authorize URL has no ${p}`);
  assert(url.searchParams.get("code_challenge_method") === "S256", "PKCE is not S256");
  includes(await page.textContent(".client-name"), "Demo Site", "the QR page names the app");
  return url;
}

/**
 * scanAndHold scans the QR code in a screenshot of page (qrShot) as phone
 * (the test's own by default) without answering, waits until the page
 * shows that it was scanned, takes scannedShot of that, and returns
 * answer(yes, code), which answers on the phone (with the page's code when
 * asked) and resolves with mobile-sim's output.
 */
async function scanAndHold(page, qrShot, scannedShot, phone = { server: env.server, profile: env.profile }) {
  const file = await shot(page, qrShot);
  const child = spawn(env.mobileSim, ["scan", file, "-server", phone.server, "-profile", phone.profile], {
    stdio: ["pipe", "pipe", "pipe"],
  });
  let out = "";
  child.stdout.on("data", (d) => (out += d));
  child.stderr.on("data", (d) => (out += d));
  const exited = new Promise((resolve) => child.on("exit", (code) => resolve(code)));
  try {
    await waitShown(page, "scanned");
  } catch (err) {
    child.kill();
    throw new Error(`the page did not show the scan: ${err.message}\nmobile-sim: ${out}`);
  }
  includes(await page.textContent(".screen-scanned"), "Scanned by", "the scanned screen");
  includes(await page.textContent(".screen-scanned"), "Confirm on your phone", "the scanned screen");
  await shot(page, scannedShot);
  return async (yes, code = "") => {
    child.stdin.end(yes ? `y\n${code}\n` : "n\n");
    const status = await exited;
    assert(status === 0, `mobile-sim scan exited ${status}: ${out}`);
    return out;
  };
}

/** noProblems fails if the page logged an error or broke its CSP. */
function noProblems(w, what) {
  const p = w.problems();
  assert(p.length === 0, `${what}: ${p.join("\n")}`);
}

const scenarios = {
  /** (a) The demo site logs in by a scan: QR page, scan from a screenshot, the user's name and avatar. */
  async authorize_approve() {
    await withBrowser(async (ctx) => {
      const page = await ctx.newPage();
      const w = watchPage(page);
      await openAuthorizePage(page, "a-authorize");
      const answer = await scanAndHold(page, "a-authorize-1-qr", "a-authorize-2-scanned");
      const [out] = await Promise.all([answer(true), page.waitForURL(`${env.demo}/`, { timeout: 20_000 })]);
      includes(out, "state: confirmed", "mobile-sim");
      includes(await page.textContent(".user-name"), env.displayName, "the demo site's greeting");
      const avatar = await page.$eval("img.avatar", (img) => ({ src: img.src, w: img.naturalWidth }));
      assert(avatar.src.startsWith(`${env.server}/avatars/`) && avatar.w > 0, `the avatar did not load: ${JSON.stringify(avatar)}`);
      await shot(page, "a-authorize-3-demo-logged-in");
      noProblems(w, "the pages logged problems");
    });
  },

  /** (b) Denied on the phone: the demo site says access_denied. */
  async authorize_deny() {
    await withBrowser(async (ctx) => {
      const page = await ctx.newPage();
      const w = watchPage(page, [/status of 403/]);
      await openAuthorizePage(page, "b-deny");
      const [out] = await Promise.all([
        scanShot(page, "b-deny-1-qr", "--deny"),
        page.waitForURL(`${env.demo}/callback?**`, { timeout: 20_000 }),
      ]);
      includes(out, "state: denied", "mobile-sim");
      await page.waitForSelector("[data-testid=error-code]");
      includes(await page.textContent("[data-testid=error-code]"), "access_denied", "the demo site's error");
      assert(new URL(page.url()).searchParams.get("error") === "access_denied", `callback URL ${page.url()}`);
      await shot(page, "b-deny-2-demo-access-denied");
      noProblems(w, "the pages logged problems");
    });
  },

  /** (c) A code traded after its lifetime (-code-ttl): invalid_grant. */
  async authorize_code_expired() {
    await withBrowser(async (ctx) => {
      const page = await ctx.newPage();
      const w = watchPage(page, [/status of 502/]);
      // Hold the browser's way back to the site until the code has expired.
      await page.route(`${env.demo}/callback?**`, async (route) => {
        await sleep(env.codeTTL + 1500);
        await route.continue();
      });
      await openAuthorizePage(page, "c-expired");
      await Promise.all([scanShot(page, "c-expired-1-qr", "--yes"), page.waitForURL(`${env.demo}/callback?**`, { timeout: 30_000 })]);
      await page.waitForSelector("[data-testid=error-code]");
      includes(await page.textContent("[data-testid=error-code]"), "invalid_grant", "the demo site's error");
      includes(await page.textContent("[data-testid=error-description]"), "expired", "the error's description");
      await shot(page, "c-expired-2-demo-invalid-grant");
      noProblems(w, "the pages logged problems");
    });
  },

  /**
   * (d) A code redeemed twice: the second exchange (another browser's
   * login, with the first's code injected) gets invalid_grant, and the
   * first login's tokens are revoked.
   */
  async authorize_code_replayed() {
    await withBrowser(async (ctx) => {
      const page = await ctx.newPage();
      const w = watchPage(page, [/status of 502/]);
      let callback;
      page.on("request", (r) => {
        if (r.url().startsWith(`${env.demo}/callback?`)) callback ??= new URL(r.url());
      });
      await openAuthorizePage(page, "d-replay");
      await Promise.all([scanShot(page, "d-replay-1-qr", "--yes"), page.waitForURL(`${env.demo}/`, { timeout: 20_000 })]);
      includes(await page.textContent(".user-name"), env.displayName, "the first login");
      const code = callback?.searchParams.get("code");
      assert(code, "no code seen on the way back");
      const victim = await ctx.cookies();

      // Another browser (no cookies) starts its own login, and gets the code.
      await ctx.clearCookies();
      await page.goto(`${env.demo}/`);
      await Promise.all([page.waitForURL(`${env.server}/oauth/authorize?**`), page.click("#login")]);
      const state = new URL(page.url()).searchParams.get("state");
      await page.goto(`${env.demo}/callback?${new URLSearchParams({ code, state, iss: env.server })}`);
      includes(await page.textContent("[data-testid=error-code]"), "invalid_grant", "the replay's error");
      includes(await page.textContent("[data-testid=error-description]"), "already used", "the replay's error");
      await shot(page, "d-replay-2-demo-invalid-grant");

      // The first browser's login was revoked with it.
      await ctx.clearCookies();
      await ctx.addCookies(victim);
      await page.goto(`${env.demo}/`);
      includes(await page.textContent(".notice"), "revoked", "the first login after the replay");
      await shot(page, "d-replay-3-demo-first-login-revoked");
      noProblems(w, "the pages logged problems");
    });
  },

  /**
   * (e) The product's login page: QR, scan, signed in with the display
   * name (still after a reload: the tab keeps the session), revoked from
   * the phone back to a QR code; then a scan and Log out.
   */
  async login_page() {
    await withBrowser(async (ctx) => {
      const page = await ctx.newPage();
      const w = watchPage(page);
      const resp = await page.goto(`${env.server}/login`);
      const csp = resp.headers()["content-security-policy"] ?? "";
      includes(csp, "frame-ancestors 'none'", "the login page's CSP");
      includes(csp, "script-src 'self'", "the login page's CSP");
      await waitShown(page, "pending");
      const answer = await scanAndHold(page, "e-login-1-qr", "e-login-2-scanned");
      await answer(true);
      await waitShown(page, "signed_in");
      includes(await page.textContent(".screen-signed-in .name"), env.displayName, "the signed-in view");
      await page.waitForFunction(() => document.querySelector(".avatar")?.classList.contains("loaded"));
      await shot(page, "e-login-3-signed-in");

      const stored = await page.evaluate(() => ({
        session: sessionStorage.getItem("qrlogin.session"),
        local: localStorage.length,
        cookie: document.cookie,
      }));
      assert(JSON.parse(stored.session ?? "{}").token, "no session token in sessionStorage");
      assert(stored.local === 0 && stored.cookie === "", `the session leaked elsewhere: ${JSON.stringify(stored)}`);

      await page.reload();
      await waitShown(page, "signed_in");

      const sessions = JSON.parse(await mobileSim("sessions", "-json"));
      const mine = sessions.filter((s) => s.device?.app === "qrlogin web");
      assert(mine.length === 1, `want one web session, have ${JSON.stringify(sessions)}`);
      assert(mine[0].device.name === "Web browser", `device ${JSON.stringify(mine[0].device)}`);
      await mobileSim("revoke", mine[0].id);
      await waitShown(page, "pending", 5_000);
      includes(await page.textContent(".notice"), "You were logged out from your phone", "the QR page after a revoke");
      assert((await page.evaluate(() => sessionStorage.length)) === 0, "the revoked token is still kept");
      await shot(page, "e-login-4-revoked-back-to-qr");

      await scanShot(page, "e-login-5-qr-again", "--yes");
      await waitShown(page, "signed_in");
      await page.click("text=Log out");
      await waitShown(page, "pending");
      const left = JSON.parse(await mobileSim("sessions", "-json")).filter((s) => s.device?.app === "qrlogin web");
      assert(left.length === 0, `Log out left a session: ${JSON.stringify(left)}`);
      noProblems(w, "the login page logged problems");
    });
  },

  /** The login page without WebSockets (a proxy that blocks them): it follows the ticket by long-poll. */
  async login_page_long_poll() {
    await withBrowser(async (ctx) => {
      const page = await ctx.newPage();
      const w = watchPage(page);
      await page.routeWebSocket(/\/api\/v1\/tickets\/[^/]+\/events$/, (ws) => ws.close());
      const polls = [];
      page.on("request", (r) => {
        if (r.url().includes("/wait")) polls.push({ url: r.url(), auth: r.headers().authorization ?? "" });
      });
      await page.goto(`${env.server}/login`);
      await waitShown(page, "pending");
      const answer = await scanAndHold(page, "h-long-poll-1-qr", "h-long-poll-2-scanned");
      await answer(true);
      await waitShown(page, "signed_in");
      assert(polls.length >= 2, `want long-polls, saw ${JSON.stringify(polls)}`);
      for (const p of polls) {
        assert(/^Bearer \S{20,}$/.test(p.auth), `a long-poll without its bearer: ${JSON.stringify(p)}`);
        assert(!p.url.includes(p.auth.slice(7)), `the poll secret is in a URL: ${p.url}`);
      }
      await page.click("text=Log out");
      await waitShown(page, "pending");
      noProblems(w, "the login page logged problems");
    });
  },

  /** A server that asks for the code the page shows (-match always): the page shows it, the phone types it. */
  async login_match_code() {
    const phone = { server: need("QRLOGIN_E2E_STRICT_SERVER"), profile: need("QRLOGIN_E2E_STRICT_PROFILE") };
    await withBrowser(async (ctx) => {
      const page = await ctx.newPage();
      const w = watchPage(page);
      await page.goto(`${phone.server}/login`);
      await waitShown(page, "pending");
      const answer = await scanAndHold(page, "i-match-1-qr", "i-match-2-scanned-code", phone);
      const code = (await page.textContent(".match-code")).replace(/\D/g, "");
      assert(/^\d{2}$/.test(code), `the page shows no two-digit code: ${code}`);
      includes(await answer(true, code), "state: confirmed", "mobile-sim");
      await waitShown(page, "signed_in");
      includes(await page.textContent(".screen-signed-in .name"), env.displayName, "the signed-in view");
      noProblems(w, "the login page logged problems");
    });
  },

  /** The QR code is replaced while pending, then expires; a click loads a new one (a server with short -rotate-*). */
  async qr_rotates_and_expires() {
    const server = process.env.QRLOGIN_E2E_FAST_SERVER;
    const authorize = process.env.QRLOGIN_E2E_FAST_AUTHORIZE;
    assert(server && authorize, "QRLOGIN_E2E_FAST_SERVER and QRLOGIN_E2E_FAST_AUTHORIZE are not set");
    await withBrowser(async (ctx) => {
      const page = await ctx.newPage();
      const w = watchPage(page);
      await page.goto(authorize);
      await waitShown(page, "pending");
      const first = await page.getAttribute(".qr-img", "data-ref");
      await page.waitForFunction((ref) => document.querySelector(".qr-img")?.dataset.ref !== ref, first, { timeout: 10_000 });
      await waitShown(page, "expired", 20_000);
      includes(await page.textContent(".screen-qr"), "QR code expired", "the expired QR page");
      await shot(page, "f-qr-expired");
      await Promise.all([page.waitForEvent("load"), page.click(".qr-wrap")]);
      await waitShown(page, "pending");
      const fresh = await page.getAttribute(".qr-img", "data-ref");
      assert(fresh && fresh !== first, "the reload showed no new QR code");
      noProblems(w, "the QR page logged problems");
    });
  },

  /** The device page, and an authorization request that must not go back to the app. */
  async device_and_error_pages() {
    await withBrowser(async (ctx) => {
      const page = await ctx.newPage();
      const w = watchPage(page, [/status of 400/]);
      // A camera app that opened a TV's QR code lands here: the code, as
      // typed in any case, is shown with what to do on the phone.
      const dev = await page.goto(`${env.server}/device?user_code=wdjb-mjht`);
      assert(dev.status() === 200, `/device: ${dev.status()}`);
      includes(await page.textContent("h1"), "Log in a TV or another device", "the device page");
      await page.waitForSelector("#device-next:not([hidden])");
      includes(await page.textContent("#device-next [data-code]"), "WDJB-MJHT", "the code shown");
      await shot(page, "g-device");
      // A code typed with a vowel or a digit cannot be one: said plainly.
      await page.click("#device-again");
      await page.getByLabel("Code shown on the device").fill("ABCD-1234");
      await page.click(".device-submit");
      await page.waitForSelector("#device-error:not([hidden])");
      includes(await page.textContent("#device-error"), "That is not a device code", "the wrong code's message");

      const bad = new URL(`${env.server}/oauth/authorize`);
      bad.search = new URLSearchParams({
        response_type: "code",
        client_id: "no-such-app",
        redirect_uri: "https://evil.example/cb",
        scope: "openid",
        state: "s",
        code_challenge: "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
        code_challenge_method: "S256",
      }).toString();
      const resp = await page.goto(bad.toString());
      assert(resp.status() === 400, `unknown client: ${resp.status()}`);
      assert(page.url().startsWith(env.server), `went to ${page.url()}`);
      includes(await page.textContent("h1"), "This login link doesn't work", "the error page");
      includes(resp.headers()["content-security-policy"] ?? "", "frame-ancestors 'none'", "the error page's CSP");
      assert((await page.$$(".qr-img")).length === 0, "the error page shows a QR code");
      await shot(page, "g-authorize-error");
      noProblems(w, "the pages logged problems");
    });
  },
};

await run(scenarios);
