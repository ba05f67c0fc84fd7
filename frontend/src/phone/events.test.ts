import { beforeEach, describe, expect, it, vi } from "vitest";
import { FakeSocket } from "../web/testing/fakes";
import { backoff, channelURL, CLOSE_UNAUTHORIZED, openChannel } from "./events";
import { settle } from "./testing/fakes";

beforeEach(() => {
  FakeSocket.all = [];
});

function channel(stillSignedIn?: () => Promise<boolean>) {
  const events: unknown[] = [];
  const timers: { fn: () => void; ms: number }[] = [];
  const signedOut = vi.fn();
  const opened = vi.fn();
  const stop = openChannel({
    url: "wss://login.example/api/v1/mobile/events",
    WebSocket: FakeSocket as unknown as new (url: string) => WebSocket,
    onEvent: (ev) => events.push(ev),
    onSignedOut: signedOut,
    onOpen: opened,
    stillSignedIn,
    schedule: (fn, ms) => {
      timers.push({ fn, ms });
      return () => {};
    },
  });
  return { events, timers, signedOut, opened, stop };
}

describe("the phone's channel", () => {
  it("passes on events and ignores what is not one", () => {
    const c = channel();
    expect(FakeSocket.last().url).toBe("wss://login.example/api/v1/mobile/events");
    FakeSocket.last().open();
    FakeSocket.last().push({ type: "session_created", session: { id: "s1" } });
    FakeSocket.last().onmessage?.({ data: "not json" } as MessageEvent);
    FakeSocket.last().push({ nope: 1 });
    expect(c.events).toEqual([{ type: "session_created", session: { id: "s1" } }]);
  });

  it("says each time it opens, so that the app asks what it missed", async () => {
    const c = channel(async () => true);
    expect(c.opened).not.toHaveBeenCalled();
    FakeSocket.last().open();
    expect(c.opened).toHaveBeenCalledTimes(1);
    FakeSocket.last().drop(1006);
    c.timers[0].fn();
    await settle();
    FakeSocket.last().open();
    expect(c.opened).toHaveBeenCalledTimes(2);
  });

  it("reconnects after a drop, waiting longer each time, once the phone is still signed in", async () => {
    const c = channel(async () => true);
    FakeSocket.last().drop(1006);
    expect(c.timers.map((t) => t.ms)).toEqual([1000]);
    c.timers[0].fn();
    await settle();
    expect(FakeSocket.all.length).toBe(2);
    FakeSocket.last().drop(1006);
    expect(c.timers.map((t) => t.ms)).toEqual([1000, 2000]);
  });

  it("stops and says so when the server refuses the phone", async () => {
    const c = channel();
    FakeSocket.last().drop(CLOSE_UNAUTHORIZED);
    expect(c.signedOut).toHaveBeenCalledOnce();
    expect(c.timers).toEqual([]);

    const d = channel(async () => false);
    FakeSocket.last().drop(1006);
    d.timers[0].fn();
    await settle();
    expect(d.signedOut).toHaveBeenCalledOnce();
    expect(FakeSocket.all.length).toBe(2); // no new socket
  });

  it("closes on stop and never reconnects", () => {
    const c = channel();
    const s = FakeSocket.last();
    c.stop();
    expect(s.closedWith).toBe(1000);
    s.drop(1000);
    expect(c.timers).toEqual([]);
  });

  it("backoff and URL", () => {
    expect([0, 1, 2, 5, 9].map(backoff)).toEqual([1000, 2000, 4000, 30000, 30000]);
    expect(channelURL("http://127.0.0.1:8080", "/api/v1/mobile/events")).toBe("ws://127.0.0.1:8080/api/v1/mobile/events");
    expect(channelURL("https://login.example", "/api/v1/mobile/events")).toBe("wss://login.example/api/v1/mobile/events");
  });
});
