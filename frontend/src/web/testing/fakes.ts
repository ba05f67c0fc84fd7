/** Fakes of the browser's fetch and WebSocket for the web pages' tests. */
import type { Transport } from "../watch";

export const ORIGIN = "http://127.0.0.1:40000";

/** A request the page made. */
export interface Call {
  method: string;
  path: string;
  auth: string;
  body: unknown;
}

type Answer = { status?: number; body?: unknown; headers?: Record<string, string> } | "unreachable";
type Route = (c: Call) => Answer | Promise<Answer>;

/** FakeSocket is a WebSocket that the test opens, feeds and closes. */
export class FakeSocket {
  static all: FakeSocket[] = [];
  sent: unknown[] = [];
  closedWith?: number;
  onopen: ((e: Event) => void) | null = null;
  onmessage: ((e: MessageEvent) => void) | null = null;
  onclose: ((e: CloseEvent) => void) | null = null;
  constructor(readonly url: string) {
    FakeSocket.all.push(this);
  }
  send(data: string) {
    this.sent.push(JSON.parse(data));
  }
  close(code = 1000) {
    this.closedWith = code;
  }
  open() {
    this.onopen?.(new Event("open"));
  }
  push(msg: unknown) {
    this.onmessage?.({ data: JSON.stringify(msg) } as MessageEvent);
  }
  drop(code: number, reason = "") {
    this.onclose?.({ code, reason } as CloseEvent);
  }
  static last(): FakeSocket {
    return FakeSocket.all[FakeSocket.all.length - 1];
  }
}

/**
 * fakeServer answers the page's fetches by "METHOD /path" routes (the
 * path without its query); calls records every request. A route that is
 * missing fails the call with 404.
 */
export function fakeServer(routes: Record<string, Route>) {
  const calls: Call[] = [];
  const transport: Transport = {
    origin: ORIGIN,
    WebSocket: FakeSocket as unknown as new (url: string) => WebSocket,
    fetch: async (input, init) => {
      const headers = (init.headers ?? {}) as Record<string, string>;
      const c: Call = {
        method: init.method ?? "GET",
        path: input,
        auth: headers.Authorization ?? "",
        body: init.body ? JSON.parse(String(init.body)) : undefined,
      };
      calls.push(c);
      const route = routes[`${c.method} ${input.split("?")[0]}`];
      const a: Answer = route ? await route(c) : { status: 404, body: { error: { code: "not_found", message: "no route" } } };
      if (a === "unreachable") throw new TypeError("Failed to fetch");
      return new Response(JSON.stringify(a.body ?? {}), { status: a.status ?? 200, headers: a.headers });
    },
  };
  return { transport, calls };
}

/** flush lets pending promises and timers of 0 ms settle. */
export const flush = async (n = 5) => {
  for (let i = 0; i < n; i++) await new Promise((r) => setTimeout(r, 0));
};

/** memoryStorage is a Storage in memory (sessionStorage's stand-in). */
export function memoryStorage(): Storage {
  const m = new Map<string, string>();
  return {
    get length() {
      return m.size;
    },
    clear: () => m.clear(),
    getItem: (k) => m.get(k) ?? null,
    key: (i) => [...m.keys()][i] ?? null,
    removeItem: (k) => void m.delete(k),
    setItem: (k, v) => void m.set(k, String(v)),
  };
}
