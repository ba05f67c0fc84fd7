// Browser tests of the phone web app (/m/): Chromium as a phone (a phone's
// viewport, touch, a mobile user agent) on the real qrlogin-server, with
// desktops' tickets made through the API as a desktop would. Run by
// server/phone/browser_test.go:
//
//   QRLOGIN_E2E_BROWSER=1 go test -run TestBrowser ./server/phone/
//
// or `node e2e/phone.mjs [SCENARIO...]` with the environment it sets.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { setTimeout as sleep } from "node:timers/promises";
import { chromium } from "playwright-core";
import { assert, CHROMIUM_ARGS, env, includes, need, run, shot, waitShown, watchPage } from "./lib.mjs";

/** base is the server the scenario's phone uses: the test's server, unless a scenario says otherwise (onServer). */
let base;
const server = () => base ?? need("QRLOGIN_E2E_SERVER");

/** onServer runs fn with the phone and the desktops on the server at url. */
async function onServer(url, fn) {
  base = url;
  try {
    await fn();
  } finally {
    base = undefined;
  }
}

/** PHONE is a mid-size Android phone, 360 CSS pixels wide. */
const PHONE = {
  viewport: { width: 360, height: 780 },
  screen: { width: 360, height: 780 },
  deviceScaleFactor: 2,
  isMobile: true,
  hasTouch: true,
  userAgent:
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Mobile Safari/537.36",
  locale: "en-US",
  timezoneId: "UTC",
};

/** ALLOWED are console lines that the tests cause on purpose: the 401 of a signed-out phone's first call, offline loads. */
const ALLOWED = [/status of 401/, /ERR_INTERNET_DISCONNECTED/, /status of 404/];

/**
 * withPhone launches Chromium as a phone with a fresh profile, runs
 * fn(ctx, page) and always closes it. args are Chromium's further flags;
 * allow, console lines that the scenario causes on purpose.
 */
async function withPhone(fn, { args = [], permissions = [], allow = [] } = {}) {
  const profile = mkdtempSync(join(tmpdir(), "qrlogin-phone-"));
  const ctx = await chromium.launchPersistentContext(profile, {
    executablePath: env.chromium,
    args: [...CHROMIUM_ARGS, ...args],
    headless: true,
    ...PHONE,
  });
  try {
    if (permissions.length) await ctx.grantPermissions(permissions, { origin: server() });
    const page = ctx.pages()[0] ?? (await ctx.newPage());
    const w = watchPage(page, [...ALLOWED, ...allow]);
    await fn(ctx, page);
    const p = w.problems();
    assert(p.length === 0, `the page logged problems:\n${p.join("\n")}`);
  } finally {
    await ctx.close().catch(() => {});
    rmSync(profile, { recursive: true, force: true });
  }
}

/** call is a request of a desktop (or a TV) to the server, from Node. */
async function call(path, { method = "GET", body, bearer, form } = {}) {
  const headers = {};
  if (bearer) headers.Authorization = `Bearer ${bearer}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (form) headers["Content-Type"] = "application/x-www-form-urlencoded";
  const resp = await fetch(server() + path, {
    method,
    headers,
    body: form ? new URLSearchParams(form).toString() : body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await resp.text();
  let json;
  try {
    json = text ? JSON.parse(text) : {};
  } catch {
    json = { text };
  }
  return { status: resp.status, json };
}

/** newTicket asks for a ticket as a desktop named name would. */
async function newTicket(name) {
  const r = await call("/api/v1/tickets", { method: "POST", body: { device: { name, os: "Ubuntu 24.04", app: "qrlogin desktop" } } });
  assert(r.status === 201, `create ticket: ${r.status} ${JSON.stringify(r.json)}`);
  return r.json;
}

/** waitTicket waits until the ticket is in state, and returns its last event. */
async function waitTicket(t, state, timeout = 15_000) {
  const end = Date.now() + timeout;
  let last;
  while (Date.now() < end) {
    const r = await call(`/api/v1/tickets/${t.ref}/wait`, { bearer: t.poll_secret });
    last = r.json;
    if (r.json.state === state) return r.json;
    await sleep(200);
  }
  throw new Error(`ticket ${t.ref} did not become ${state}: last ${JSON.stringify(last)}`);
}

/** goAnswers reads the Go side's answers, a line of JSON each, from stdin. */
let goAnswers;

/**
 * askGo asks the Go side (server/phone/browser_test.go) for what, which
 * only it can make (a desktop's request signed with its DPoP key): a line
 * "qrlogin-e2e ask WHAT" on stdout, answered on stdin.
 */
async function askGo(what) {
  need("QRLOGIN_E2E_ASK"); // set by the Go side that answers
  goAnswers ??= createInterface({ input: process.stdin })[Symbol.asyncIterator]();
  console.log(`qrlogin-e2e ask ${what}`);
  const { value, done } = await goAnswers.next();
  assert(!done, `nobody answered "${what}": run this scenario through server/phone/browser_test.go`);
  const reply = JSON.parse(value);
  if (reply.error) throw new Error(`the Go side could not make ${what}: ${reply.error}`);
  return reply.ok;
}

/** newUsername is a username no scenario used. */
function newUsername(prefix) {
  return `${prefix}-${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`.slice(0, 32);
}

const PASSWORD = "correct horse battery staple";

/** createAccount creates an account in the app, from its sign-in screen, and waits for the scan screen. */
async function createAccount(page, name, shots) {
  const username = newUsername(name.toLowerCase().replace(/[^a-z]/g, "").slice(0, 10) || "user");
  await page.goto(`${server()}/m/`);
  await waitShown(page, "signin");
  if (shots) await shot(page, `${shots}-signin`);
  await page.getByRole("button", { name: "Create account", exact: true }).tap();
  await page.getByLabel("Username", { exact: true }).fill(username);
  await page.getByLabel("Password", { exact: true }).fill(PASSWORD);
  await page.getByLabel(/Your name/).fill(name);
  if (shots) await shot(page, `${shots}-create-account`);
  await page.getByRole("button", { name: "Create account", exact: true }).tap();
  await waitShown(page, "scan");
  return username;
}

/** signIn signs in from the sign-in screen on show. */
async function signIn(page, username) {
  await page.getByLabel("Username", { exact: true }).fill(username);
  await page.getByLabel("Password", { exact: true }).fill(PASSWORD);
  await page.getByRole("button", { name: "Sign in", exact: true }).tap();
}

/** approvalShows waits for the approval of a desktop named name. */
async function approvalShows(page, name) {
  await waitShown(page, "approve");
  includes(await page.getByTestId("desktop-name").textContent(), name, "the approval's desktop name");
}

/** requestShows waits for a one-tap request of the desktop named name, and returns the numbers it offers. */
async function requestShows(page, name) {
  await waitShown(page, "request");
  includes(await page.getByTestId("request-desktop-name").textContent(), name, "the request's desktop name");
  includes(await page.textContent("h1"), `Log in on ${name}?`, "the request's title");
  const numbers = await page.getByRole("group", { name: "Tap the number shown on your computer" }).getByRole("button").allTextContents();
  assert(numbers.length === 3, `the request offers ${JSON.stringify(numbers)}, want three numbers`);
  return numbers;
}

/** noTokenReadable checks that the page can read no credential: HttpOnly cookies, nothing in storage. */
async function noTokenReadable(ctx, page) {
  const cookies = await ctx.cookies(`${server()}/api/v1/mobile/account`);
  const tok = cookies.find((c) => c.name === "qrlogin_phone");
  const dev = cookies.find((c) => c.name === "qrlogin_device");
  assert(tok && tok.value.length >= 20, `no qrlogin_phone cookie: ${JSON.stringify(cookies.map((c) => c.name))}`);
  for (const c of [tok, dev]) {
    assert(c.httpOnly && c.sameSite === "Strict" && c.path === "/api/v1/mobile", `cookie ${c.name}: ${JSON.stringify({ ...c, value: "…" })}`);
  }
  const seen = await page.evaluate(() => {
    const dump = (s) => JSON.stringify(Object.fromEntries(Array.from({ length: s.length }, (_, i) => [s.key(i), s.getItem(s.key(i))])));
    return { cookie: document.cookie, local: dump(localStorage), session: dump(sessionStorage) };
  });
  assert(seen.cookie === "", `document.cookie is ${JSON.stringify(seen.cookie)}`);
  for (const [where, text] of Object.entries(seen)) {
    assert(!text.includes(tok.value), `the device token is readable in ${where}`);
    assert(!/token|secret|password/i.test(text), `${where} holds something token-like: ${text}`);
  }
  // The account is there through the cookies alone.
  const me = await page.evaluate(async () => (await fetch("/api/v1/mobile/account")).status);
  assert(me === 200, `GET /api/v1/mobile/account from the page: ${me}`);
}

const scenarios = {
  /** Create an account, sign out, sign in; a desktop's QR link opens the approval; Approve confirms the ticket. */
  async account_and_approve() {
    await withPhone(async (ctx, page) => {
      const username = await createAccount(page, "Alice Liddell", "a-1");
      await shot(page, "a-2-scan-home");
      await noTokenReadable(ctx, page);

      await page.getByRole("link", { name: "Devices" }).tap();
      await waitShown(page, "devices");
      await page.getByRole("button", { name: "Sign out" }).tap();
      await waitShown(page, "signin");
      includes(await page.textContent("main"), "You signed out", "after signing out");
      const me = await page.evaluate(async () => (await fetch("/api/v1/mobile/account")).status);
      assert(me === 401, `account after sign-out: ${me}`);
      await signIn(page, username);
      await waitShown(page, "scan");

      const t = await newTicket("Alice's laptop");
      await page.goto(`${server()}/q/${t.ref}`);
      await approvalShows(page, "Alice's laptop");
      assert(new URL(page.url()).hash === "#scan", `the link stays in the address: ${page.url()}`);
      const text = await page.textContent("main");
      for (const want of ["Ubuntu 24.04", "127.0.0.1", "Asked", "Answer within"]) includes(text, want, "the approval");
      await shot(page, "a-3-approve");
      await page.getByRole("button", { name: "Approve" }).tap();
      await waitShown(page, "outcome-approved");
      includes(await page.textContent("main"), "Alice's laptop is now logged in as Alice Liddell", "the outcome");
      await shot(page, "a-4-approved");
      await waitTicket(t, "confirmed");
      await noTokenReadable(ctx, page);
    });
  },

  /** Deny: the desktop's ticket becomes denied. */
  async deny() {
    await withPhone(async (_ctx, page) => {
      await createAccount(page, "Bob");
      const t = await newTicket("Unknown PC");
      await page.goto(`${server()}/q/${t.ref}`);
      await approvalShows(page, "Unknown PC");
      await page.getByRole("button", { name: "Deny" }).tap();
      await waitShown(page, "outcome-denied");
      includes(await page.textContent("main"), "Unknown PC was not logged in", "the outcome");
      await shot(page, "b-denied");
      await waitTicket(t, "denied");
    });
  },

  /** A link opened signed out asks to sign in, shows nothing to approve before, then goes on. */
  async signed_out_link() {
    let username;
    await withPhone(async (_ctx, page) => {
      username = await createAccount(page, "Carol");
    });
    await withPhone(async (_ctx, page) => {
      const t = await newTicket("Carol's desktop");
      await page.goto(`${server()}/q/${t.ref}`);
      await waitShown(page, "signin");
      includes(await page.textContent("main"), "A computer is waiting for your approval", "the sign-in");
      await shot(page, "c-1-link-signed-out");
      assert((await page.getByTestId("desktop-name").count()) === 0, "a signed-out page shows a desktop");
      const before = await call(`/api/v1/tickets/${t.ref}/wait`, { bearer: t.poll_secret });
      assert(before.json.state === "pending", `the ticket was scanned before the sign-in: ${JSON.stringify(before.json)}`);
      await signIn(page, username);
      await approvalShows(page, "Carol's desktop");
      await page.getByRole("button", { name: "Approve" }).tap();
      await waitShown(page, "outcome-approved");
      await waitTicket(t, "confirmed");
    });
  },

  /** A server that always asks for the match code: a wrong one is refused with the tries left, the right one logs in. */
  async match_code() {
    await onServer(need("QRLOGIN_E2E_STRICT_SERVER"), () =>
      withPhone(async (_ctx, page) => {
        await createAccount(page, "Kim");
        const t = await newTicket("Kim's desktop");
        assert(/^\d+$/.test(t.match_code), `the ticket has no match code: ${JSON.stringify(t)}`);
        await page.goto(`${server()}/q/${t.ref}`);
        await approvalShows(page, "Kim's desktop");
        const field = page.getByLabel("Code shown on the computer");
        await page.getByRole("button", { name: "Approve" }).tap();
        includes(await page.textContent("#approve-error"), "Type the number", "approving without the code");
        const wrong = String((Number(t.match_code) + 1) % 100).padStart(t.match_code.length, "0");
        await field.fill(wrong);
        await page.getByRole("button", { name: "Approve" }).tap();
        await page.waitForFunction(() => /tries left/.test(document.querySelector("#approve-error")?.textContent ?? ""));
        await shot(page, "k-match-code-wrong");
        await field.fill(t.match_code);
        await page.getByRole("button", { name: "Approve" }).tap();
        await waitShown(page, "outcome-approved");
        await waitTicket(t, "confirmed");
      }, { allow: [/status of 403/] }),
    );
  },

  /** A photo of the QR code (the server's PNG) instead of the camera. */
  async photo() {
    await withPhone(async (_ctx, page) => {
      await createAccount(page, "Dan");
      const t = await newTicket("Photo desk");
      const png = await fetch(`${server()}/q/${t.ref}.png?px=480`);
      assert(png.ok, `QR image: ${png.status}`);
      const file = join(need("QRLOGIN_E2E_TMP"), `qr-${t.ref}.png`);
      writeFileSync(file, Buffer.from(await png.arrayBuffer()));
      await page.getByLabel("Choose a photo").setInputFiles(file);
      await approvalShows(page, "Photo desk");
      await shot(page, "d-photo-approve");
      await page.getByRole("button", { name: "Approve" }).tap();
      await waitShown(page, "outcome-approved");
      await waitTicket(t, "confirmed");
    });
  },

  /** A QR code that is not qrlogin's gets a plain message. */
  async not_qrlogin() {
    await withPhone(async (_ctx, page) => {
      await createAccount(page, "Erin");
      await page.getByLabel("Choose a photo").setInputFiles(need("QRLOGIN_E2E_OTHER_QR"));
      await page.waitForFunction(() => /not a qrlogin code/.test(document.querySelector(".scan-message")?.textContent ?? ""));
      includes(await page.textContent(".scan-message"), "It links to example.com", "the message");
      await shot(page, "e-not-qrlogin");
      assert((await page.getByTestId("desktop-name").count()) === 0, "an approval for a foreign code");
    });
  },

  /** The fake camera (a Y4M clip of a ticket's QR code): Scan finds it and approves. */
  async camera() {
    const ref = need("QRLOGIN_E2E_CAMERA_REF");
    const t = { ref, poll_secret: need("QRLOGIN_E2E_CAMERA_SECRET") };
    await withPhone(
      async (_ctx, page) => {
        await createAccount(page, "Frank");
        await page.getByRole("button", { name: "Scan", exact: true }).tap();
        await waitShown(page, "camera");
        await page.waitForFunction(() => document.querySelector("video")?.readyState >= 2);
        await shot(page, "f-1-camera");
        await approvalShows(page, "Camera desk");
        await shot(page, "f-2-camera-approve");
        const live = await page.evaluate(() => document.querySelector("video")?.srcObject?.active ?? false);
        assert(!live, "the camera still runs on the approval");
        await page.getByRole("button", { name: "Approve" }).tap();
        await waitShown(page, "outcome-approved");
        await waitTicket(t, "confirmed");
      },
      {
        args: ["--use-fake-device-for-media-stream", `--use-file-for-fake-video-capture=${need("QRLOGIN_E2E_CAMERA_CLIP")}`],
        permissions: ["camera"],
      },
    );
  },

  /**
   * The desktop app's window filmed by the fake camera (a Y4M clip of a real
   * screenshot, made by app/e2e/phone_test.go): create an account, sign in,
   * Scan, approve the desktop named QRLOGIN_E2E_DESKTOP_NAME.
   */
  async desktop_camera() {
    const name = need("QRLOGIN_E2E_DESKTOP_NAME");
    await withPhone(
      async (_ctx, page) => {
        const username = await createAccount(page, "Dora Desk");
        await page.getByRole("link", { name: "Devices" }).tap();
        await waitShown(page, "devices");
        await page.getByRole("button", { name: "Sign out" }).tap();
        await waitShown(page, "signin");
        await signIn(page, username);
        await waitShown(page, "scan");
        await page.getByRole("button", { name: "Scan", exact: true }).tap();
        await waitShown(page, "camera");
        await page.waitForFunction(() => document.querySelector("video")?.readyState >= 2);
        await shot(page, "phone-camera");
        await approvalShows(page, name);
        await shot(page, "phone-approve");
        await page.getByRole("button", { name: "Approve" }).tap();
        await waitShown(page, "outcome-approved");
        includes(await page.textContent("main"), `${name} is now logged in as Dora Desk`, "the outcome");
        await shot(page, "phone-approved");
      },
      {
        args: ["--use-fake-device-for-media-stream", `--use-file-for-fake-video-capture=${need("QRLOGIN_E2E_CAMERA_CLIP")}`],
        permissions: ["camera"],
      },
    );
  },

  /** The camera refused: the app says so and offers the photo. */
  async camera_refused() {
    await withPhone(
      async (ctx, page) => {
        await createAccount(page, "Grace");
        await ctx.clearPermissions();
        await page.getByRole("button", { name: "Scan", exact: true }).tap();
        await page.waitForFunction(() => /Camera access was refused/.test(document.querySelector(".scan-message")?.textContent ?? ""));
        assert(await page.getByLabel("Choose a photo").count(), "no photo fallback");
        await shot(page, "g-camera-refused");
      },
      { args: ["--use-fake-device-for-media-stream", "--deny-permission-prompts"] },
    );
  },

  /** A TV's code typed in: a real device grant, approved; the TV gets its tokens. */
  async enter_code() {
    const client = need("QRLOGIN_E2E_TV_CLIENT");
    await withPhone(async (_ctx, page) => {
      await createAccount(page, "Heidi");
      await page.getByRole("link", { name: "Enter code" }).tap();
      await waitShown(page, "code");
      const field = page.getByLabel("Code shown on the device");
      await field.fill("WDJB-MJH0");
      await page.getByRole("button", { name: "Continue" }).tap();
      await page.waitForSelector("#code-error:not([hidden])");
      includes(await page.textContent("#code-error"), "That is not a device code", "a malformed code");

      const da = await call("/oauth/device/code", { method: "POST", form: { client_id: client, scope: "openid profile" } });
      assert(da.status === 200 && da.json.user_code, `device code: ${da.status} ${JSON.stringify(da.json)}`);
      await field.fill(da.json.user_code.toLowerCase().replace("-", " "));
      await shot(page, "h-1-enter-code");
      await page.getByRole("button", { name: "Continue" }).tap();
      await waitShown(page, "approve");
      const text = await page.textContent("main");
      includes(text, `Check that the TV shows ${da.json.user_code}`, "the device's code");
      includes(text, "Living room TV", "the app's name");
      includes(text, "Your name and profile picture", "the scopes");
      await shot(page, "h-2-device-approve");
      await page.getByRole("button", { name: "Approve" }).tap();
      await waitShown(page, "outcome-approved");
      let tok;
      for (let i = 0; i < 30 && !tok?.access_token; i++) {
        tok = (
          await call("/oauth/token", {
            method: "POST",
            form: { grant_type: "urn:ietf:params:oauth:grant-type:device_code", device_code: da.json.device_code, client_id: client },
          })
        ).json;
        if (!tok.access_token) await sleep(1100);
      }
      assert(tok?.access_token, `the TV got no token: ${JSON.stringify(tok)}`);

      // The TV's access is listed with a Log out.
      await page.getByRole("link", { name: "Devices" }).tap();
      await waitShown(page, "devices");
      await page.getByRole("button", { name: "Log out Living room TV" }).waitFor();
    });
  },

  /**
   * Devices: a desktop that another phone of the account logs in shows a
   * banner and is listed; Log out ends its session.
   */
  async devices() {
    await withPhone(async (_ctx, page) => {
      const username = await createAccount(page, "Ivan");
      await page.getByRole("link", { name: "Devices" }).tap();
      await waitShown(page, "devices");
      includes(await page.textContent("main"), "No computer is logged in", "an empty list");

      // The account's other phone (mobile-sim's way: a bearer token) logs a desktop in.
      const device = `other-phone-${Date.now()}`;
      const login = await call("/api/v1/mobile/login", {
        method: "POST",
        body: { username, password: PASSWORD, device: { id: device, name: "Other phone", platform: "test" } },
      });
      assert(login.status === 200 && login.json.device_token, `other phone's login: ${login.status}`);
      const other = (path, body) =>
        fetch(server() + path, {
          method: "POST",
          headers: { Authorization: `Bearer ${login.json.device_token}`, "X-Device-Id": device, "Content-Type": "application/json" },
          body: JSON.stringify(body),
        }).then((r) => r.json());
      const t = await newTicket("Ivan's workstation");
      const scanned = await other("/api/v1/mobile/scan", { qr_payload: t.qr_payload });
      const confirmed = await other("/api/v1/mobile/confirm", { scan_token: scanned.scan_token, approve: true });
      assert(confirmed.state === "confirmed", `other phone's confirm: ${JSON.stringify(confirmed)}`);
      const redeemed = await call(`/api/v1/tickets/${t.ref}/redeem`, { method: "POST", bearer: t.poll_secret });
      assert(redeemed.status === 200 && redeemed.json.session_token, `redeem: ${redeemed.status} ${JSON.stringify(redeemed.json)}`);

      await page.getByTestId("banner").waitFor({ timeout: 10_000 });
      includes(await page.getByTestId("banner").textContent(), "New sign-in: Ivan's workstation", "the banner");
      const logOut = page.getByRole("button", { name: "Log out Ivan's workstation" });
      await logOut.waitFor();
      await shot(page, "i-1-devices");
      const me = () => call("/api/v1/me", { bearer: redeemed.json.session_token });
      assert((await me()).status === 200, "the desktop's session does not work");
      await logOut.tap();
      await page.waitForFunction(() => /Ivan's workstation was logged out/.test(document.querySelector("main")?.textContent ?? ""));
      assert((await logOut.count()) === 0, "the session is still listed");
      await shot(page, "i-2-logged-out");
      assert((await me()).status === 401, "the session still works after Log out");
      await page.getByRole("button", { name: "Dismiss" }).tap();
      assert((await page.getByTestId("banner").count()) === 0, "the banner stays");
    });
  },

  /**
   * One-tap login of a desktop whose key is enrolled (the Go side enrols
   * it by a QR code and a DPoP proof, and makes its requests). The first
   * request waits before the sign-in and shows once signed in: the number
   * the desktop shows logs it in. The second comes on the channel while the
   * app is open: a wrong number denies it. Devices lists the computer as
   * remembered, and Remove forgets it. The Go side then checks the
   * tickets' states and the enrolment.
   */
  async login_request() {
    const account = await askGo("account");
    await withPhone(async (_ctx, page) => {
      await page.goto(`${server()}/m/`);
      await waitShown(page, "signin");
      const first = await askGo("login_request");
      await signIn(page, account.username);
      const numbers = await requestShows(page, "Office PC");
      assert(numbers.includes(first.number), `the numbers ${JSON.stringify(numbers)} lack the desktop's ${first.number}`);
      const text = await page.textContent("main");
      for (const want of ["Tap the number shown on your computer", "127.0.0.1", "Answer within", "Deny", "Not me"]) includes(text, want, "the request");
      await shot(page, "phone-login-request");
      await page.getByRole("button", { name: first.number, exact: true }).tap();
      await waitShown(page, "outcome-approved");
      includes(await page.textContent("main"), "Office PC is now logged in as Tapio", "the outcome");
      await shot(page, "l-1-approved");
      await page.getByRole("button", { name: "Done" }).tap();
      await waitShown(page, "scan");

      const second = await askGo("login_request");
      const wrong = (await requestShows(page, "Office PC")).find((n) => n !== second.number);
      await page.getByRole("button", { name: wrong, exact: true }).tap();
      await waitShown(page, "outcome-denied");
      includes(await page.textContent("main"), "Wrong number", "the outcome of a wrong number");
      await shot(page, "l-2-wrong-number");
      await page.getByRole("button", { name: "Done" }).tap();
      await waitShown(page, "scan");

      await page.getByRole("link", { name: "Devices" }).tap();
      await waitShown(page, "devices");
      const remove = page.getByRole("button", { name: "Remove Office PC" });
      await remove.waitFor();
      includes(await page.getByRole("list", { name: "Remembered computers" }).textContent(), "Ubuntu 24.04", "the remembered computer");
      await shot(page, "l-3-remembered");
      await remove.tap();
      await page.waitForFunction(() => /Office PC was removed/.test(document.querySelector("main")?.textContent ?? ""));
      assert((await remove.count()) === 0, "the computer is still remembered after Remove");
      // Its session (of the QR code's login) ended with it, and the list says so.
      await page.getByRole("button", { name: "Log out Office PC" }).waitFor({ state: "detached", timeout: 10_000 });
    }, { allow: [/status of 403/] }); // the server refuses the wrong number
  },

  /** Offline: the service worker opens the app to a clear "no connection" screen; back online it goes on. */
  async offline() {
    await withPhone(async (ctx, page) => {
      await createAccount(page, "Judy");
      await page.waitForFunction(async () => (await navigator.serviceWorker.getRegistration())?.active?.state === "activated", null, { timeout: 15_000 });
      await page.reload();
      await waitShown(page, "scan");
      assert(await page.evaluate(() => !!navigator.serviceWorker.controller), "the service worker does not control the page");
      const manifest = await page.evaluate(async () => {
        const r = await fetch("/m/manifest.webmanifest");
        return { type: r.headers.get("content-type"), body: await r.json() };
      });
      assert(manifest.type === "application/manifest+json" && manifest.body.scope === "/m/", `manifest: ${JSON.stringify(manifest)}`);
      await ctx.setOffline(true);
      await page.reload();
      await waitShown(page, "offline");
      includes(await page.textContent("main"), "No connection", "the offline screen");
      await shot(page, "j-offline");
      // Back online, the app goes on by itself (the browser's online event).
      await ctx.setOffline(false);
      await waitShown(page, "scan");
    });
  },
};

await run(scenarios);
