import { describe, expect, it } from "vitest";
import { httpAPI, ProtocolError, Unreachable } from "./api";

interface Sent {
  path: string;
  init: RequestInit;
}

function server(answer: (path: string) => Response | Error) {
  const sent: Sent[] = [];
  const api = httpAPI(async (path, init) => {
    sent.push({ path, init });
    const a = answer(path);
    if (a instanceof Error) throw a;
    return a;
  });
  return { api, sent };
}
const json = (status: number, body: unknown, headers: Record<string, string> = {}) =>
  new Response(body === undefined ? null : JSON.stringify(body), { status, headers: { "Content-Type": "application/json", ...headers } });

describe("httpAPI", () => {
  it("signs in asking for cookies, with same-origin credentials and no token anywhere", async () => {
    const { api, sent } = server(() => json(200, { device_token: "", device_id: "d1", user: { id: "u1", display_name: "Alice", avatar_url: "" } }));
    const user = await api.login("alice", "pw", { id: "d1", name: "Chrome on Android", platform: "Android (web)" });
    expect(user).toEqual({ id: "u1", display_name: "Alice", avatar_url: "" });
    const { path, init } = sent[0];
    expect(path).toBe("/api/v1/mobile/login");
    expect(init.method).toBe("POST");
    expect(init.credentials).toBe("same-origin");
    expect(init.headers).toMatchObject({ "X-Credential": "cookie", "Content-Type": "application/json" });
    expect(init.headers).not.toHaveProperty("Authorization");
    expect(JSON.parse(String(init.body))).toEqual({
      username: "alice",
      password: "pw",
      device: { id: "d1", name: "Chrome on Android", platform: "Android (web)" },
    });
  });

  it("reads the account plain or wrapped", async () => {
    const u = { id: "u1", username: "alice", display_name: "Alice", avatar_url: "" };
    expect(await server(() => json(200, u)).api.account()).toEqual(u);
    expect(await server(() => json(200, { user: u })).api.account()).toEqual(u);
  });

  it("calls each path with its method and body", async () => {
    const { api, sent } = server((p) =>
      p.endsWith("/scan")
        ? json(200, { scan_token: "t" })
        : p.endsWith("/confirm")
          ? json(200, { state: "confirmed" })
          : p.endsWith("/sessions")
            ? json(200, { sessions: null })
            : p.endsWith("/grants")
              ? json(200, {})
              : p.endsWith("/accounts")
                ? json(201, { user: { id: "u" } })
                : new Response(null, { status: 204 }),
    );
    await api.scan("https://x/q/r");
    expect(await api.confirm("t", true, "42")).toBe("confirmed");
    await api.confirm("t", false);
    expect(await api.sessions()).toEqual([]);
    expect(await api.grants()).toEqual([]);
    await api.revokeSession("a/b");
    await api.revokeGrant("g1");
    await api.logout();
    expect(await api.register("alice", "pw", "Alice")).toEqual({ id: "u" });
    expect(sent.map((s) => `${s.init.method} ${s.path}`)).toEqual([
      "POST /api/v1/mobile/scan",
      "POST /api/v1/mobile/confirm",
      "POST /api/v1/mobile/confirm",
      "GET /api/v1/mobile/sessions",
      "GET /api/v1/mobile/grants",
      "DELETE /api/v1/mobile/sessions/a%2Fb",
      "DELETE /api/v1/mobile/grants/g1",
      "POST /api/v1/mobile/logout",
      "POST /api/v1/accounts",
    ]);
    expect(JSON.parse(String(sent[0].init.body))).toEqual({ qr_payload: "https://x/q/r" });
    expect(JSON.parse(String(sent[1].init.body))).toEqual({ scan_token: "t", approve: true, match_code: "42" });
    expect(JSON.parse(String(sent[2].init.body))).toEqual({ scan_token: "t", approve: false });
    expect(JSON.parse(String(sent[8].init.body))).toEqual({ username: "alice", password: "pw", display_name: "Alice" });
    for (const s of sent) expect(s.init.credentials).toBe("same-origin");
  });

  it("calls the one-tap paths, and reads Go's null list as empty", async () => {
    const { api, sent } = server((p) =>
      p.endsWith("/login-requests") ? json(200, null) : p.includes("/login-requests/") ? json(200, { state: "denied" }) : p.endsWith("/desktops") ? json(200, [{ id: "d1" }]) : new Response(null, { status: 204 }),
    );
    expect(await api.loginRequests()).toEqual([]);
    expect(await api.decide("lr/1", "approve", "42")).toBe("denied");
    await api.decide("lr1", "not_me");
    expect(await api.desktops()).toEqual([{ id: "d1" }]);
    await api.removeDesktop("d1");
    expect(sent.map((s) => `${s.init.method} ${s.path}`)).toEqual([
      "GET /api/v1/mobile/login-requests",
      "POST /api/v1/mobile/login-requests/lr%2F1",
      "POST /api/v1/mobile/login-requests/lr1",
      "GET /api/v1/mobile/desktops",
      "DELETE /api/v1/mobile/desktops/d1",
    ]);
    expect(JSON.parse(String(sent[1].init.body))).toEqual({ action: "approve", number: "42" });
    expect(JSON.parse(String(sent[2].init.body))).toEqual({ action: "not_me" });
  });

  it("turns refusals and silence into errors", async () => {
    const refused = server(() => json(429, { error: { code: "rate_limited", message: "slow down" } }, { "Retry-After": "7" }));
    await expect(refused.api.account()).rejects.toMatchObject({ status: 429, code: "rate_limited", message: "slow down", retryAfter: 7 });
    const html = server(() => new Response("<html>", { status: 502 }));
    const err = await html.api.account().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProtocolError);
    expect(err).toMatchObject({ code: "http_502" });
    const down = server(() => new TypeError("Failed to fetch"));
    await expect(down.api.account()).rejects.toBeInstanceOf(Unreachable);
  });
});
