import { beforeEach, describe, expect, it } from "vitest";
import { AuthorizePage, safeRedirect, type AuthorizeData } from "./authorize";
import { FakeSocket, fakeServer, flush } from "./testing/fakes";
import type { View } from "../view";

const data: AuthorizeData = {
  app_name: "Demo Site",
  ref: "REF1",
  poll_secret: "SECRET",
  qr_payload: "http://127.0.0.1:40000/q/REF1",
  expires_at: "2026-01-01T00:01:00Z",
  match_code: "42",
};

beforeEach(() => {
  FakeSocket.all = [];
});

function page(routes: Parameters<typeof fakeServer>[0]) {
  const srv = fakeServer(routes);
  const went: string[] = [];
  let reloads = 0;
  const views: View[] = [];
  const p = new AuthorizePage(srv.transport, data, (u) => went.push(u), () => reloads++);
  p.onView((v) => views.push(v));
  p.start();
  return { ...srv, p, went, views, reloads: () => reloads };
}

describe("AuthorizePage", () => {
  it("shows the ticket's QR code, the match code once asked, and goes back to the app once confirmed", async () => {
    const back = "http://127.0.0.1:8090/callback?code=C&state=S";
    const t = page({ "POST /oauth/authorize/complete": () => ({ body: { redirect: back } }) });
    expect(t.views.at(-1)).toMatchObject({ state: "pending", qr: { ref: "REF1", imageUrl: "/q/REF1.png" } });
    const ws = FakeSocket.last();
    ws.open();
    expect(ws.sent).toEqual([{ type: "auth", poll_secret: "SECRET" }]);
    ws.push({ type: "state", state: "pending" });
    ws.push({ type: "rotated", ref: "REF2", qr_payload: "http://127.0.0.1:40000/q/REF2" });
    expect(t.views.at(-1)!.qr!.imageUrl).toBe("/q/REF2.png");
    ws.push({ type: "state", state: "scanned", match_required: true, user: { display_name: "A***e", avatar_url: "/a.svg" } });
    expect(t.views.at(-1)).toMatchObject({ state: "scanned", scanner: { displayName: "A***e", matchCode: "42" } });
    ws.push({ type: "state", state: "confirmed" });
    await flush();
    expect(t.views.at(-1)).toMatchObject({ state: "confirmed", scanner: { displayName: "A***e" } });
    expect(t.calls).toEqual([
      { method: "POST", path: "/oauth/authorize/complete", auth: "Bearer SECRET", body: { ref: "REF1" } },
    ]);
    expect(t.went).toEqual([back]);
  });

  it("asks again while the server says the ticket is not confirmed yet", async () => {
    let n = 0;
    const t = page({
      "POST /oauth/authorize/complete": () =>
        ++n < 3
          ? { status: 409, body: { error: { code: "conflict", message: "not yet" } } }
          : { body: { redirect: "http://127.0.0.1:8090/callback?error=access_denied&state=S" } },
    });
    const ws = FakeSocket.last();
    ws.open();
    ws.push({ type: "state", state: "denied" });
    await flush();
    expect(t.views.at(-1)).toMatchObject({ state: "denied", message: "Returning to Demo Site…" });
    await new Promise((r) => setTimeout(r, 800));
    expect(n).toBe(3);
    expect(t.went).toEqual(["http://127.0.0.1:8090/callback?error=access_denied&state=S"]);
  });

  it("shows expired when the server says the login is gone, and reloads for a new one", async () => {
    const t = page({
      "POST /oauth/authorize/complete": () => ({ status: 410, body: { error: { code: "expired", message: "used" } } }),
    });
    FakeSocket.last().open();
    FakeSocket.last().push({ type: "state", state: "confirmed" });
    await flush();
    expect(t.views.at(-1)!.state).toBe("expired");
    expect(t.went).toEqual([]);
    await t.p.refresh();
    expect(t.reloads()).toBe(1);
  });

  it("never goes to a script URL", () => {
    expect(safeRedirect("javascript:alert(1)")).toBe(false);
    expect(safeRedirect("data:text/html,x")).toBe(false);
    expect(safeRedirect("/relative")).toBe(false);
    expect(safeRedirect("https://app.example/cb?code=1")).toBe(true);
    expect(safeRedirect("com.example.app:/cb?code=1")).toBe(true);
  });
});
