import { beforeEach, describe, expect, it } from "vitest";
import { browserOS, LoginPage, Notice, STORAGE_KEY } from "./login";
import { FakeSocket, fakeServer, flush, memoryStorage } from "./testing/fakes";
import type { View } from "../view";

const device = { name: "Web browser", os: "Linux", app: "qrlogin web" };
const ticket = (ref: string) => ({
  ref,
  poll_secret: `secret-${ref}`,
  qr_payload: `http://127.0.0.1:40000/q/${ref}`,
  expires_at: "2026-01-01T00:01:00Z",
  match_code: "07",
});
const user = { id: "u1", display_name: "Alice Liddell", avatar_url: "http://127.0.0.1:40000/avatars/a.svg" };

beforeEach(() => {
  FakeSocket.all = [];
});

function start(routes: Parameters<typeof fakeServer>[0], storage = memoryStorage()) {
  const srv = fakeServer(routes);
  const views: View[] = [];
  const p = new LoginPage(srv.transport, storage, device, undefined, () => new Date("2026-01-01T00:00:00Z"));
  p.onView((v) => views.push(v));
  p.start();
  return { ...srv, p, views, storage, view: () => views[views.length - 1] };
}

describe("LoginPage", () => {
  it("asks for a ticket, redeems it once confirmed, keeps the session in the tab, and goes back to a QR code when the phone revokes it", async () => {
    const refs = ["T1", "T2"];
    const t = start({
      "POST /api/v1/tickets": () => ({ status: 201, body: ticket(refs.shift()!) }),
      "POST /api/v1/tickets/T1/redeem": () => ({
        body: { session_token: "TOKEN", expires_at: "2026-02-01T00:00:00Z", user },
      }),
    });
    await flush();
    expect(t.calls[0]).toMatchObject({ method: "POST", path: "/api/v1/tickets", body: { device } });
    expect(t.view()).toMatchObject({ state: "pending", qr: { ref: "T1", imageUrl: "/q/T1.png" } });

    const ticketWS = FakeSocket.last();
    ticketWS.open();
    ticketWS.push({ type: "state", state: "scanned", match_required: false, user: { display_name: "A***e", avatar_url: "" } });
    expect(t.view().scanner).toEqual({ displayName: "A***e", avatarUrl: "", matchCode: undefined });
    ticketWS.push({ type: "state", state: "confirmed" });
    await flush();
    expect(t.calls.at(-1)).toMatchObject({ path: "/api/v1/tickets/T1/redeem", auth: "Bearer secret-T1" });
    expect(t.view()).toMatchObject({
      state: "signed_in",
      session: { displayName: "Alice Liddell", device: "Web browser (Linux)", app: "qrlogin web" },
    });
    expect(JSON.parse(t.storage.getItem(STORAGE_KEY)!)).toMatchObject({ token: "TOKEN", displayName: "Alice Liddell" });

    const sessionWS = FakeSocket.last();
    expect(sessionWS.url).toBe("ws://127.0.0.1:40000/api/v1/session/events");
    sessionWS.open();
    expect(sessionWS.sent).toEqual([{ type: "auth", token: "TOKEN" }]);
    sessionWS.push({ type: "revoked" });
    await flush();
    expect(t.storage.getItem(STORAGE_KEY)).toBeNull();
    expect(t.view()).toMatchObject({ state: "pending", qr: { ref: "T2" }, message: Notice.Revoked });
  });

  it("signs in with the tab's session while the server accepts it", async () => {
    const storage = memoryStorage();
    storage.setItem(STORAGE_KEY, JSON.stringify({ token: "OLD", displayName: "A", avatarUrl: "", signedInAt: "", expiresAt: "" }));
    const t = start({ "GET /api/v1/me": () => ({ body: { user } }) }, storage);
    await flush();
    expect(t.calls[0]).toMatchObject({ path: "/api/v1/me", auth: "Bearer OLD" });
    expect(t.view()).toMatchObject({ state: "signed_in", session: { displayName: "Alice Liddell" } });
  });

  it("forgets a session the server refuses and shows a QR code", async () => {
    const storage = memoryStorage();
    storage.setItem(STORAGE_KEY, JSON.stringify({ token: "OLD", displayName: "A", avatarUrl: "", signedInAt: "", expiresAt: "" }));
    const t = start(
      {
        "GET /api/v1/me": () => ({ status: 401, body: { error: { code: "unauthorized", message: "ended" } } }),
        "POST /api/v1/tickets": () => ({ status: 201, body: ticket("T1") }),
      },
      storage,
    );
    await flush();
    expect(storage.getItem(STORAGE_KEY)).toBeNull();
    expect(t.view()).toMatchObject({ state: "pending", message: Notice.Ended });
  });

  it("logs out on the server and shows a new QR code", async () => {
    const storage = memoryStorage();
    storage.setItem(STORAGE_KEY, JSON.stringify({ token: "TOK", displayName: "A", avatarUrl: "", signedInAt: "", expiresAt: "" }));
    const t = start(
      {
        "GET /api/v1/me": () => ({ body: { user } }),
        "POST /api/v1/logout": () => ({ status: 204 }),
        "POST /api/v1/tickets": () => ({ status: 201, body: ticket("T9") }),
      },
      storage,
    );
    await flush();
    await t.p.logout();
    await flush();
    expect(t.calls.find((c) => c.path === "/api/v1/logout")).toMatchObject({ method: "POST", auth: "Bearer TOK" });
    expect(storage.getItem(STORAGE_KEY)).toBeNull();
    expect(t.view()).toMatchObject({ state: "pending", qr: { ref: "T9" } });
  });

  it("says when the server cannot be reached, and retries on refresh", async () => {
    let up = false;
    const t = start({ "POST /api/v1/tickets": () => (up ? { status: 201, body: ticket("T1") } : "unreachable") });
    await flush();
    expect(t.view().state).toBe("unreachable");
    up = true;
    await t.p.refresh();
    await flush();
    expect(t.view()).toMatchObject({ state: "pending", qr: { ref: "T1" } });
  });

  it("says how long to wait when rate limited", async () => {
    const t = start({
      "POST /api/v1/tickets": () => ({
        status: 429,
        headers: { "Retry-After": "12" },
        body: { error: { code: "rate_limited", message: "slow down" } },
      }),
    });
    await flush();
    expect(t.view()).toMatchObject({ state: "error", message: "Too many attempts: try again in 12 s." });
  });

  it("names the browser's OS", () => {
    expect(browserOS("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36")).toBe("Linux");
    expect(browserOS("Mozilla/5.0 (Windows NT 10.0; Win64; x64)")).toBe("Windows");
    expect(browserOS("Mozilla/5.0 (Macintosh; Intel Mac OS X 14_0)")).toBe("macOS");
    expect(browserOS("Mozilla/5.0 (Linux; Android 14; Pixel 8)")).toBe("Android");
    expect(browserOS("Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X)")).toBe("iOS");
    expect(browserOS("curl/8")).toBe("");
  });
});
