import { describe, expect, it, vi } from "vitest";
import { NOT_A_CODE } from "../web/device";
import { ProtocolError } from "./api";
import type { Deps } from "./model";
import { DEVICE_ID_KEY, hashOf, loginRequest as checked, Msg, outcomeOf, parseHash, PhoneApp, requestFailure, scanFailure } from "./model";
import { alice, deps, fakeAPI, loginRequest, NOW, offline, ORIGIN, REF, refuse, scanResponse, settle } from "./testing/fakes";

const screen = (app: PhoneApp) => app.state.screen;

describe("parseHash", () => {
  it("reads the tabs and a desktop's link", () => {
    expect(parseHash("")).toEqual({ tab: "scan" });
    expect(parseHash("#scan")).toEqual({ tab: "scan" });
    expect(parseHash("#code")).toEqual({ tab: "code" });
    expect(parseHash("#devices")).toEqual({ tab: "devices" });
    expect(parseHash("#whatever")).toEqual({ tab: "scan" });
    expect(parseHash(`#q=${REF}`)).toEqual({ tab: "scan", ref: REF });
    expect(parseHash("#q=short")).toEqual({ tab: "scan", badLink: true });
    expect(parseHash("#q=%E0%A4%A")).toEqual({ tab: "scan", badLink: true });
    expect(parseHash(`#q=${REF}/../x`)).toEqual({ tab: "scan", badLink: true });
    expect(hashOf("devices")).toBe("#devices");
  });
});

describe("PhoneApp start", () => {
  it("shows sign-in to a phone that is not signed in", async () => {
    const { api } = fakeAPI({ account: refuse(401, "unauthorized") });
    const app = new PhoneApp(deps(api).d);
    await app.start("");
    expect(screen(app)).toMatchObject({ name: "signin", mode: "signin", forApproval: false });
    expect(app.state.user).toBeUndefined();
  });

  it("shows the tab of the fragment to a signed-in phone", async () => {
    const { api } = fakeAPI({ account: alice, sessions: [], grants: [] });
    const app = new PhoneApp(deps(api).d);
    await app.start("#devices");
    await settle();
    expect(app.state.user).toEqual(alice);
    expect(app.state.tab).toBe("devices");
    expect(screen(app)).toMatchObject({ name: "devices", loading: false });
  });

  it("says there is no connection, and tries again", async () => {
    let answer: unknown = offline();
    const { api } = fakeAPI({ account: () => answer });
    const app = new PhoneApp(deps(api).d);
    await app.start("");
    expect(screen(app)).toEqual({ name: "offline", message: Msg.unreachable });
    answer = alice;
    await app.retry("");
    expect(screen(app)).toMatchObject({ name: "scan", camera: false });
  });
});

describe("a desktop's link (#q=<ref>)", () => {
  it("is scanned at once for a signed-in phone, and taken out of the address", async () => {
    const { api, calls } = fakeAPI({ account: alice, scan: scanResponse() });
    const { d, hashes } = deps(api);
    const app = new PhoneApp(d);
    await app.start(`#q=${REF}`);
    await settle();
    expect(calls).toContainEqual(["scan", `${ORIGIN}/q/${REF}`]);
    expect(hashes).toEqual(["#scan"]);
    expect(screen(app)).toMatchObject({ name: "approve", busy: false, scan: { scan_token: "scan-token-1" } });
  });

  it("waits for the sign-in of a phone that is not signed in, and never scans before", async () => {
    const { api, calls } = fakeAPI({ account: refuse(401, "unauthorized"), login: alice, scan: scanResponse() });
    const app = new PhoneApp(deps(api).d);
    await app.start(`#q=${REF}`);
    expect(screen(app)).toMatchObject({ name: "signin", forApproval: true });
    expect(calls.some(([m]) => m === "scan")).toBe(false);
    await app.signIn("alice", "correct horse");
    await settle();
    expect(calls).toContainEqual(["scan", `${ORIGIN}/q/${REF}`]);
    expect(screen(app).name).toBe("approve");
  });

  it("that arrives while signed out is kept for after the sign-in", async () => {
    const { api } = fakeAPI({ account: refuse(401, "unauthorized") });
    const app = new PhoneApp(deps(api).d);
    await app.start("");
    app.route(`#q=${REF}`);
    expect(screen(app)).toMatchObject({ name: "signin", forApproval: true });
  });

  it("that cannot be a ref says so after the sign-in", async () => {
    const { api, calls } = fakeAPI({ account: alice });
    const app = new PhoneApp(deps(api).d);
    await app.start("#q=nope");
    expect(screen(app)).toMatchObject({ name: "outcome", outcome: { kind: "failed", message: Msg.badLink } });
    expect(calls.some(([m]) => m === "scan")).toBe(false);
  });
});

describe("sign-in and accounts", () => {
  it("signs in with the phone's name, platform and a kept device id", async () => {
    const { api, calls } = fakeAPI({ account: refuse(401, "unauthorized"), login: alice });
    const { d, store } = deps(api);
    const app = new PhoneApp(d);
    await app.start("");
    await app.signIn("  alice ", "correct horse");
    expect(calls).toContainEqual([
      "login",
      "alice",
      "correct horse",
      { id: "dev-0123456789abcdef0123", name: "Chrome on Android", platform: "Android (web)" },
    ]);
    expect(store.get(DEVICE_ID_KEY)).toBe("dev-0123456789abcdef0123");
    expect(app.state.user).toEqual(alice);
    expect(screen(app).name).toBe("scan");
    // The id is kept: a second sign-in uses it again.
    const other = new PhoneApp({ ...d, randomId: () => "never-used-0000000000" });
    expect(other.deviceId()).toBe("dev-0123456789abcdef0123");
  });

  it("says what is wrong with the credentials", async () => {
    const { api } = fakeAPI({ account: refuse(401, "unauthorized"), login: refuse(401, "unauthorized", "wrong username or password") });
    const app = new PhoneApp(deps(api).d);
    await app.start("");
    await app.signIn("", "");
    expect(screen(app)).toMatchObject({ error: "Type your username and password." });
    await app.signIn("alice", "wrong");
    expect(screen(app)).toMatchObject({ name: "signin", busy: false, error: Msg.wrongPassword });
  });

  it("creates an account, then signs in to it", async () => {
    const { api, calls } = fakeAPI({ account: refuse(401, "unauthorized"), register: alice, login: alice });
    const app = new PhoneApp(deps(api).d);
    await app.start("");
    app.setMode("create");
    expect(screen(app)).toMatchObject({ mode: "create" });
    await app.createAccount("al", "correct horse", "");
    expect(screen(app)).toMatchObject({ error: expect.stringContaining("username of 3 to 32") });
    await app.createAccount("alice", "short", "");
    expect(screen(app)).toMatchObject({ error: expect.stringContaining("at least 8") });
    expect(calls.some(([m]) => m === "register")).toBe(false);
    await app.createAccount("alice", "correct horse", " Alice Liddell ");
    expect(calls.map(([m]) => m)).toEqual(["account", "register", "login", "loginRequests"]);
    expect(calls[1]).toEqual(["register", "alice", "correct horse", "Alice Liddell"]);
    expect(screen(app).name).toBe("scan");
  });

  it("says when a username is taken", async () => {
    const { api } = fakeAPI({ account: refuse(401, "unauthorized"), register: refuse(409, "conflict", "taken") });
    const app = new PhoneApp(deps(api).d);
    await app.start("");
    app.setMode("create");
    await app.createAccount("alice", "correct horse", "");
    expect(screen(app)).toMatchObject({ name: "signin", mode: "create", error: "That username is taken. Choose another one." });
  });
});

async function signedIn(answers: Parameters<typeof fakeAPI>[0], hash = "") {
  const f = fakeAPI({ account: alice, ...answers });
  const app = new PhoneApp(deps(f.api).d);
  await app.start(hash);
  await settle();
  return { app, calls: f.calls };
}

describe("scanning", () => {
  it("says plainly that a QR code is not a qrlogin code, and sends it nowhere", async () => {
    const { app, calls } = await signedIn({});
    app.openCamera();
    app.scanText("WIFI:S:home;T:WPA;P:secret;;");
    expect(screen(app)).toMatchObject({ name: "scan", camera: true, message: expect.stringContaining("not a qrlogin code") });
    app.scanText("https://example.com/menu");
    expect(screen(app)).toMatchObject({ message: expect.stringContaining("It links to example.com") });
    expect(calls.some(([m]) => m === "scan")).toBe(false);
  });

  it("scans a desktop's code and a device's code", async () => {
    const { app, calls } = await signedIn({ scan: scanResponse() });
    app.openCamera();
    app.scanText(`${ORIGIN}/q/${REF}`);
    await settle();
    expect(screen(app).name).toBe("approve");
    app.done();
    app.scanText(`${ORIGIN}/device?user_code=wdjb-mjht`);
    await settle();
    expect(calls.filter(([m]) => m === "scan")).toEqual([
      ["scan", `${ORIGIN}/q/${REF}`],
      ["scan", `${ORIGIN}/device?user_code=wdjb-mjht`],
    ]);
  });

  it("says why a scan failed", async () => {
    const { app } = await signedIn({ scan: refuse(410, "expired", "expired") });
    app.scanText(`${ORIGIN}/q/${REF}`);
    await settle();
    expect(screen(app)).toMatchObject({ name: "outcome", outcome: { kind: "failed", title: "This QR code has expired" } });
  });

  it("signs in again when the server no longer knows the phone, then goes on", async () => {
    let scanAnswer: unknown = refuse(401, "unauthorized");
    const f = fakeAPI({ account: alice, scan: () => scanAnswer, login: alice });
    const stop = vi.fn();
    const app = new PhoneApp(deps(f.api, { listen: () => stop }).d);
    await app.start("");
    app.scanText(`${ORIGIN}/q/${REF}`);
    await settle();
    expect(screen(app)).toMatchObject({ name: "signin", notice: Msg.signedOut, forApproval: true });
    expect(stop).toHaveBeenCalled();
    scanAnswer = scanResponse();
    await app.signIn("alice", "correct horse");
    await settle();
    expect(screen(app).name).toBe("approve");
  });
});

describe("entering a device's code", () => {
  it("checks the code's form, then looks it up as the device's QR code would", async () => {
    const { app, calls } = await signedIn({ scan: scanResponse({ app: { client_id: "tv", name: "TV App", scopes: ["openid"], user_code: "WDJB-MJHT" } }) }, "#code");
    expect(screen(app)).toMatchObject({ name: "code" });
    app.submitCode("WDJB-MJH0");
    expect(screen(app)).toMatchObject({ name: "code", error: NOT_A_CODE });
    app.submitCode(" wdjb mjht ");
    await settle();
    expect(calls).toContainEqual(["scan", `${ORIGIN}/device?user_code=WDJB-MJHT`]);
    expect(screen(app)).toMatchObject({ name: "approve" });
  });

  it("keeps the form when no device waits for the code", async () => {
    const { app } = await signedIn({ scan: refuse(404, "not_found", "no such request") }, "#code");
    app.submitCode("WDJB-MJHT");
    await settle();
    expect(screen(app)).toMatchObject({ name: "code", busy: false, error: expect.stringContaining("Check the code"), typed: "WDJB-MJHT" });
  });
});

describe("approving", () => {
  it("approves and says which computer logged in", async () => {
    const { app, calls } = await signedIn({ scan: scanResponse(), confirm: "confirmed" }, `#q=${REF}`);
    await app.approve();
    expect(calls).toContainEqual(["confirm", "scan-token-1", true, undefined]);
    expect(screen(app)).toMatchObject({
      name: "outcome",
      outcome: { kind: "approved", title: "Logged in", message: "Alice's laptop is now logged in as Alice Liddell." },
    });
    app.done();
    expect(screen(app)).toMatchObject({ name: "scan" });
  });

  it("denies", async () => {
    const { app, calls } = await signedIn({ scan: scanResponse(), confirm: "denied" }, `#q=${REF}`);
    await app.deny();
    expect(calls).toContainEqual(["confirm", "scan-token-1", false, undefined]);
    expect(screen(app)).toMatchObject({ name: "outcome", outcome: { kind: "denied", title: "Login denied" } });
  });

  it("asks for the match code when the server wants it, and says a wrong one", async () => {
    let answer: unknown = refuse(403, "forbidden", "the code does not match the one on the desktop (2 tries left)");
    const { app, calls } = await signedIn({ scan: scanResponse({ match_required: true }), confirm: () => answer }, `#q=${REF}`);
    await app.approve("");
    expect(screen(app)).toMatchObject({ name: "approve", error: expect.stringContaining("Type the number") });
    expect(calls.some(([m]) => m === "confirm")).toBe(false);
    await app.approve(" 41 ");
    expect(calls).toContainEqual(["confirm", "scan-token-1", true, "41"]);
    expect(screen(app)).toMatchObject({ name: "approve", busy: false, error: expect.stringContaining("2 tries left") });
    answer = refuse(403, "forbidden", "wrong code three times: the login was denied");
    await app.approve("40");
    expect(screen(app)).toMatchObject({ name: "outcome", outcome: { kind: "denied" } });
  });

  it("a denial needs no match code", async () => {
    const { app, calls } = await signedIn({ scan: scanResponse({ match_required: true }), confirm: "denied" }, `#q=${REF}`);
    await app.deny();
    expect(calls).toContainEqual(["confirm", "scan-token-1", false, undefined]);
  });

  it("keeps the question on screen when the network fails", async () => {
    const { app } = await signedIn({ scan: scanResponse(), confirm: offline() }, `#q=${REF}`);
    await app.approve();
    expect(screen(app)).toMatchObject({ name: "approve", busy: false, error: Msg.offline });
  });

  it("says when the request expired", async () => {
    const { app } = await signedIn({ scan: scanResponse(), confirm: refuse(410, "expired") }, `#q=${REF}`);
    await app.approve();
    expect(screen(app)).toMatchObject({ name: "outcome", outcome: { kind: "failed", title: "This request has expired" } });
  });
});

describe("outcomeOf", () => {
  it("speaks of the app or the device when there is one", () => {
    const tv = scanResponse({ desktop: { ...scanResponse().desktop, name: "Living room TV" }, app: { client_id: "c", name: "TV App", scopes: [], user_code: "WDJB-MJHT" } });
    expect(outcomeOf(tv, "confirmed").message).toBe("Living room TV is logging you in to TV App. You can put your phone away.");
    const site = scanResponse({ app: { client_id: "c", name: "Demo Site", scopes: ["openid"], redirect_host: "demo.example" } });
    expect(outcomeOf(site, "confirmed").message).toBe("You are logging in to Demo Site on Alice's laptop. The browser goes back to demo.example.");
    expect(outcomeOf(site, "denied")).toMatchObject({ kind: "denied" });
  });
});

describe("scanFailure", () => {
  it("names the failure for a person", () => {
    expect(scanFailure(refuse(409, "conflict"), false).title).toBe("This QR code was already used");
    expect(scanFailure(refuse(404, "not_found"), true)).toMatchObject({ title: "No device is waiting for this code", stay: true });
    expect(scanFailure(refuse(400, "invalid_request", "this QR code is for another server"), false).message).toBe(
      "This QR code is for another server",
    );
    const limited = scanFailure(new ProtocolError(429, "rate_limited", "slow down", 30), false);
    expect(limited.message).toBe("Too many tries. Wait 30 seconds and try again.");
  });
});

describe("devices", () => {
  const session = (id: string, name: string) => ({
    id,
    device: { name, os: "Ubuntu", app: "qrlogin desktop" },
    ip: "192.0.2.7",
    created_at: "2026-03-01T09:00:00Z",
    last_seen_at: "2026-03-01T11:55:00Z",
  });
  const grant = { id: "g1", client_id: "c", app: "Demo Site", scopes: ["openid"], created_at: "", last_used_at: "", expires_at: "" };

  it("lists the sessions and grants and logs each out", async () => {
    const { app, calls } = await signedIn({ sessions: [session("s1", "Laptop"), session("s2", "Desktop")], grants: [grant] }, "#devices");
    expect(screen(app)).toMatchObject({ name: "devices", sessions: [{ id: "s1" }, { id: "s2" }], grants: [{ id: "g1" }] });
    await app.logOutSession("s1");
    expect(calls).toContainEqual(["revokeSession", "s1"]);
    expect(screen(app)).toMatchObject({ sessions: [{ id: "s2" }], notice: "Laptop was logged out.", busyId: "" });
    await app.logOutGrant("g1");
    expect(calls).toContainEqual(["revokeGrant", "g1"]);
    expect(screen(app)).toMatchObject({ grants: [], notice: "Demo Site was logged out." });
  });

  it("takes a session that had ended already off the list, and says a failure", async () => {
    let answer: unknown = refuse(404, "not_found");
    const { app } = await signedIn({ sessions: [session("s1", "Laptop"), session("s2", "Desktop")], grants: [], revokeSession: () => answer }, "#devices");
    await app.logOutSession("s1");
    expect(screen(app)).toMatchObject({ sessions: [{ id: "s2" }] });
    answer = offline();
    await app.logOutSession("s2");
    expect(screen(app)).toMatchObject({ sessions: [{ id: "s2" }], error: Msg.offline, busyId: "" });
  });

  it("signs the phone out", async () => {
    const f = fakeAPI({ account: alice, sessions: [], grants: [] });
    const stop = vi.fn();
    const app = new PhoneApp(deps(f.api, { listen: () => stop }).d);
    await app.start("#devices");
    await settle();
    await app.signOut();
    expect(f.calls).toContainEqual(["logout"]);
    expect(stop).toHaveBeenCalled();
    expect(app.state.user).toBeUndefined();
    expect(screen(app)).toMatchObject({ name: "signin", notice: "You signed out of this phone." });
  });

  it("stays signed in when the sign-out cannot reach the server", async () => {
    const { app } = await signedIn({ sessions: [], grants: [], logout: offline() }, "#devices");
    await app.signOut();
    expect(app.state.user).toEqual(alice);
    expect(screen(app)).toMatchObject({ name: "devices", signingOut: false, error: expect.stringContaining("still signed in") });
  });
});

describe("the phone's channel", () => {
  it("shows a banner when a desktop signs in, and reloads the list on show", async () => {
    let handlers: Parameters<NonNullable<import("./model").Deps["listen"]>>[0] | undefined;
    const f = fakeAPI({ account: alice, sessions: [], grants: [] });
    const app = new PhoneApp(deps(f.api, { listen: (h) => ((handlers = h), () => {}) }).d);
    await app.start("#devices");
    await settle();
    const before = f.calls.filter(([m]) => m === "sessions").length;
    handlers!.onEvent({
      type: "session_created",
      session: { id: "s9", device: { name: "Office PC", os: "Windows 11", app: "qrlogin desktop" }, ip: "198.51.100.4", created_at: "", last_seen_at: "" },
    });
    await settle();
    expect(app.state.banner).toEqual({ title: "New sign-in: Office PC", detail: "Windows 11 · qrlogin desktop · IP 198.51.100.4" });
    expect(f.calls.filter(([m]) => m === "sessions").length).toBe(before + 1);
    app.dismissBanner();
    expect(app.state.banner).toBeUndefined();
    handlers!.onSignedOut();
    expect(screen(app)).toMatchObject({ name: "signin", notice: Msg.signedOut });
  });
});

/** withChannel starts a signed-in app whose channel the test speaks on. */
async function withChannel(answers: Parameters<typeof fakeAPI>[0], hash = "", over: Partial<Deps> = {}) {
  let handlers: Parameters<NonNullable<Deps["listen"]>>[0] | undefined;
  const f = fakeAPI({ account: alice, ...answers });
  const app = new PhoneApp(deps(f.api, { listen: (h) => ((handlers = h), () => {}), ...over }).d);
  await app.start(hash);
  await settle();
  const send = async (type: string, request: unknown) => {
    handlers!.onEvent({ type, request: request as never });
    await settle();
  };
  return { app, calls: f.calls, send, handlers: () => handlers! };
}

describe("one-tap login requests", () => {
  it("shows a request that waits when the app opens, and approves with the number tapped", async () => {
    const { app, calls } = await signedIn({ loginRequests: [loginRequest()], decide: "confirmed" });
    expect(screen(app)).toMatchObject({ name: "request", request: { id: "lr-1", choices: ["17", "42", "86"] }, busy: "" });
    await app.pickNumber("42");
    expect(calls).toContainEqual(["decide", "lr-1", "approve", "42"]);
    expect(screen(app)).toMatchObject({
      name: "outcome",
      outcome: { kind: "approved", title: "Logged in", message: "Office PC is now logged in as Alice Liddell." },
      back: "scan",
    });
  });

  it("says a wrong number denied the login, as the server refuses it (forbidden) or answers denied", async () => {
    for (const answer of [refuse(403, "forbidden", "the number did not match the one on the computer: the login was denied"), "denied"]) {
      const { app, calls } = await signedIn({ loginRequests: [loginRequest()], decide: answer });
      await app.pickNumber("17");
      expect(calls).toContainEqual(["decide", "lr-1", "approve", "17"]);
      expect(screen(app)).toMatchObject({ name: "outcome", outcome: { kind: "denied", title: "Wrong number: login denied" } });
    }
  });

  it("sends nothing for a number that is not one of the choices", async () => {
    const { app, calls } = await signedIn({ loginRequests: [loginRequest()], decide: "confirmed" });
    await app.pickNumber("99");
    expect(calls.some(([m]) => m === "decide")).toBe(false);
    expect(screen(app)).toMatchObject({ name: "request", busy: "" });
  });

  it("denies", async () => {
    const { app, calls } = await signedIn({ loginRequests: [loginRequest()], decide: "denied" });
    await app.denyRequest();
    expect(calls).toContainEqual(["decide", "lr-1", "deny", undefined]);
    expect(screen(app)).toMatchObject({ name: "outcome", outcome: { kind: "denied", title: "Login denied", message: "Office PC was not logged in." } });
  });

  it("asks before Not me, which denies and removes the computer", async () => {
    const { app, calls } = await signedIn({ loginRequests: [loginRequest()], decide: "denied" });
    await app.confirmNotMe(); // not asked yet: nothing happens
    expect(calls.some(([m]) => m === "decide")).toBe(false);
    app.notMe();
    expect(screen(app)).toMatchObject({ name: "request", confirmNotMe: true });
    app.cancelNotMe();
    expect(screen(app)).toMatchObject({ name: "request", confirmNotMe: false });
    app.notMe();
    await app.confirmNotMe();
    expect(calls).toContainEqual(["decide", "lr-1", "not_me", undefined]);
    expect(screen(app)).toMatchObject({ name: "outcome", outcome: { kind: "denied", title: "Computer removed" } });
  });

  it("keeps the request on screen when the network fails, and says why it ended otherwise", async () => {
    let answer: unknown = offline();
    const { app } = await signedIn({ loginRequests: [loginRequest()], decide: () => answer });
    await app.pickNumber("42");
    expect(screen(app)).toMatchObject({ name: "request", busy: "", picked: "", error: Msg.offline });
    answer = refuse(410, "expired");
    await app.pickNumber("42");
    expect(screen(app)).toMatchObject({ name: "outcome", outcome: { kind: "failed", title: "This request has expired" } });
  });

  it("signs in again when the server no longer knows the phone", async () => {
    const { app } = await signedIn({ loginRequests: [loginRequest()], decide: refuse(401, "unauthorized") });
    await app.pickNumber("42");
    expect(screen(app)).toMatchObject({ name: "signin", notice: Msg.signedOut });
  });

  it("shows a request that arrives on the channel, and takes it away once closed", async () => {
    const { app, send } = await withChannel({ sessions: [], grants: [] }, "#devices");
    expect(screen(app).name).toBe("devices");
    await send("login_request", loginRequest());
    expect(screen(app)).toMatchObject({ name: "request", request: { id: "lr-1" } });
    await send("login_request", loginRequest()); // the same again: still one
    await send("login_request_closed", { id: "lr-1" });
    expect(screen(app)).toMatchObject({ name: "devices" }); // back to the tab it interrupted
    expect(app.state.tab).toBe("devices");
  });

  it("ignores a malformed request", async () => {
    const { app, send } = await withChannel({});
    await send("login_request", { id: "x", choices: [] });
    await send("login_request", { choices: ["1", "2", "3"] });
    await send("login_request", null);
    expect(screen(app).name).toBe("scan");
    expect(checked({ id: "x", choices: ["1"], desktop: { name: 3 } })).toMatchObject({ desktop: { name: "" } });
  });

  it("keeps the answer going when its own request closes meanwhile", async () => {
    let release: (v: string) => void = () => {};
    const { app, send } = await withChannel({ decide: () => new Promise<string>((r) => (release = r)) });
    await send("login_request", loginRequest());
    const answered = app.pickNumber("42");
    expect(screen(app)).toMatchObject({ name: "request", busy: "approve", picked: "42" });
    await send("login_request_closed", { id: "lr-1" });
    expect(screen(app)).toMatchObject({ name: "request", busy: "approve" });
    release("confirmed");
    await answered;
    expect(screen(app)).toMatchObject({ name: "outcome", outcome: { kind: "approved" } });
  });

  it("waits for an approval on show to end, then shows the next request", async () => {
    const { app, send } = await withChannel({ scan: scanResponse(), confirm: "confirmed", decide: "denied" }, `#q=${REF}`);
    expect(screen(app).name).toBe("approve");
    await send("login_request", loginRequest());
    await send("login_request", loginRequest({ id: "lr-2" }));
    expect(screen(app).name).toBe("approve");
    await app.approve();
    expect(screen(app)).toMatchObject({ name: "outcome", outcome: { kind: "approved" } });
    app.done();
    expect(screen(app)).toMatchObject({ name: "request", request: { id: "lr-1" } });
    await app.denyRequest();
    app.done();
    expect(screen(app)).toMatchObject({ name: "request", request: { id: "lr-2" } });
    await app.denyRequest();
    app.done();
    expect(screen(app)).toMatchObject({ name: "scan" });
  });

  it("skips requests that expired while they waited", async () => {
    const old = loginRequest({ id: "old", expires_at: new Date(NOW - 1000).toISOString() });
    const { app } = await signedIn({ loginRequests: [old, loginRequest({ id: "new" })] });
    expect(screen(app)).toMatchObject({ name: "request", request: { id: "new" } });
  });

  it("fetches the list again when the app comes back, or its channel opens again", async () => {
    let list: unknown = [];
    const { app, calls, handlers } = await withChannel({ loginRequests: () => list });
    expect(screen(app).name).toBe("scan");
    list = [loginRequest()];
    handlers().onOpen();
    await settle();
    expect(screen(app)).toMatchObject({ name: "request", request: { id: "lr-1" } });
    // Answered on another phone while this one was in the background: the list no longer has it.
    list = [];
    await app.resume();
    expect(screen(app)).toMatchObject({ name: "scan" });
    expect(calls.filter(([m]) => m === "loginRequests").length).toBe(3);
  });

  it("a failed fetch of the list changes nothing", async () => {
    const { app } = await signedIn({ loginRequests: offline() });
    expect(screen(app)).toMatchObject({ name: "scan" });
  });
});

describe("requestFailure", () => {
  it("names why an answer did not go through", () => {
    expect(requestFailure(refuse(409, "conflict")).title).toBe("This request has ended");
    expect(requestFailure(refuse(404, "not_found")).title).toBe("This request has ended");
    expect(requestFailure(refuse(403, "forbidden", "denied"))).toMatchObject({ kind: "denied", message: "Denied" });
    expect(requestFailure(new Error("boom"))).toMatchObject({ kind: "failed", message: "Boom" });
  });
});

describe("remembered computers", () => {
  const desktop = { id: "d1", name: "Office PC", os: "Windows 11", ip: "198.51.100.4", created_at: "2026-02-01T09:00:00Z", last_used_at: "2026-03-01T09:00:00Z" };

  it("are listed on the devices screen, and Remove forgets one and reloads the sessions it ended", async () => {
    let desktops = [desktop];
    const { app, calls } = await signedIn({ sessions: [], grants: [], desktops: () => desktops }, "#devices");
    expect(screen(app)).toMatchObject({ name: "devices", desktops: [{ id: "d1" }] });
    const before = calls.filter(([m]) => m === "sessions").length;
    const removing = app.removeDesktop("d1");
    desktops = [];
    await removing;
    expect(calls).toContainEqual(["removeDesktop", "d1"]);
    expect(calls.filter(([m]) => m === "sessions").length).toBe(before + 1);
    expect(screen(app)).toMatchObject({ desktops: [], busyId: "", notice: expect.stringContaining("Office PC was removed") });
  });

  it("says a failed removal and keeps the computer", async () => {
    const { app } = await signedIn({ sessions: [], grants: [], desktops: [desktop], removeDesktop: offline() }, "#devices");
    await app.removeDesktop("d1");
    expect(screen(app)).toMatchObject({ desktops: [{ id: "d1" }], error: Msg.offline, busyId: "" });
  });
});
