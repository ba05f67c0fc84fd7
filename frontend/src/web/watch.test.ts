import { beforeEach, describe, expect, it } from "vitest";
import { ProtocolError } from "./http";
import { FakeSocket, fakeServer, flush } from "./testing/fakes";
import { watchTicket, type TicketEvent } from "./watch";

beforeEach(() => {
  FakeSocket.all = [];
});

describe("watchTicket", () => {
  it("authenticates the socket by its first message and ends on a final state", async () => {
    const { transport, calls } = fakeServer({});
    const seen: TicketEvent[] = [];
    const done = watchTicket(transport, "REF1", "SECRET", (e) => seen.push(e), new AbortController().signal);
    const ws = FakeSocket.last();
    expect(ws.url).toBe("ws://127.0.0.1:40000/api/v1/tickets/REF1/events");
    expect(ws.url).not.toContain("SECRET");
    ws.open();
    expect(ws.sent).toEqual([{ type: "auth", poll_secret: "SECRET" }]);
    ws.push({ type: "state", state: "pending" });
    ws.push({ type: "rotated", ref: "REF2", qr_payload: "http://x/q/REF2" });
    ws.push({ type: "state", state: "scanned", match_required: true, user: { display_name: "A***e", avatar_url: "" } });
    ws.push({ type: "state", state: "confirmed" });
    await done;
    expect(seen.map((e) => e.state ?? e.ref)).toEqual(["pending", "REF2", "scanned", "confirmed"]);
    expect(ws.closedWith).toBe(1000);
    expect(calls).toEqual([]);
  });

  it("long-polls with the secret in a header when the socket cannot open", async () => {
    const answers = [
      { type: "state", state: "pending", ref: "REF1" },
      { type: "state", state: "pending", ref: "REF2", qr_payload: "http://x/q/REF2" },
      { type: "state", state: "denied" },
    ];
    const { transport, calls } = fakeServer({ "GET /api/v1/tickets/REF1/wait": () => ({ body: answers.shift() }) });
    const seen: TicketEvent[] = [];
    const done = watchTicket(transport, "REF1", "SECRET", (e) => seen.push(e), new AbortController().signal);
    FakeSocket.last().drop(1006);
    await done;
    expect(seen.map((e) => `${e.type}:${e.state ?? e.ref}`)).toEqual(["state:pending", "rotated:REF2", "state:denied"]);
    expect(calls.map((c) => c.path)).toEqual([
      "/api/v1/tickets/REF1/wait",
      "/api/v1/tickets/REF1/wait?after=pending&qr=REF1",
      "/api/v1/tickets/REF1/wait?after=pending&qr=REF2",
    ]);
    for (const c of calls) {
      expect(c.auth).toBe("Bearer SECRET");
      expect(c.path).not.toContain("SECRET");
    }
  });

  it("goes on by long-poll from the last state when the socket drops", async () => {
    const { transport, calls } = fakeServer({
      "GET /api/v1/tickets/REF1/wait": () => ({ body: { type: "state", state: "expired" } }),
    });
    const seen: string[] = [];
    const done = watchTicket(transport, "REF1", "S", (e) => seen.push(e.state ?? ""), new AbortController().signal);
    const ws = FakeSocket.last();
    ws.open();
    ws.push({ type: "state", state: "scanned" });
    ws.drop(1001);
    await done;
    expect(calls[0].path).toBe("/api/v1/tickets/REF1/wait?after=scanned&qr=REF1");
    expect(seen).toEqual(["scanned", "expired"]);
  });

  it("rejects with the server's refusal", async () => {
    const { transport } = fakeServer({
      "GET /api/v1/tickets/REF1/wait": () => ({ status: 410, body: { error: { code: "expired", message: "gone" } } }),
    });
    const ws1 = watchTicket(transport, "REF1", "S", () => {}, new AbortController().signal);
    FakeSocket.last().open();
    FakeSocket.last().drop(4401, "wrong poll secret");
    await expect(ws1).rejects.toMatchObject({ code: "unauthorized", message: "wrong poll secret" });

    const lp = watchTicket(transport, "REF1", "S", () => {}, new AbortController().signal, true);
    await expect(lp).rejects.toBeInstanceOf(ProtocolError);
    await expect(lp).rejects.toMatchObject({ status: 410, code: "expired" });
  });

  it("stops when aborted, and delivers nothing after", async () => {
    const { transport } = fakeServer({});
    const stop = new AbortController();
    const seen: string[] = [];
    const done = watchTicket(transport, "REF1", "S", (e) => seen.push(e.state ?? ""), stop.signal);
    const ws = FakeSocket.last();
    ws.open();
    stop.abort(new DOMException("stop", "AbortError"));
    ws.push({ type: "state", state: "pending" });
    await expect(done).rejects.toMatchObject({ name: "AbortError" });
    await flush();
    expect(seen).toEqual([]);
    expect(ws.closedWith).toBe(1000);
  });
});
