/**
 * The phone's own channel (WebSocket /api/v1/mobile/events), which the
 * server authenticates by the app's cookies: it says when a desktop signs
 * in to the account (session_created) or is logged out (session_revoked),
 * and when a desktop asks to log in with one tap (login_request) or stops
 * asking (login_request_closed).
 * It reconnects after a drop, waiting longer each time, and stops for good
 * when the server says the phone is signed out (close code 4401).
 */
import type { MobileEvent } from "./api";

/** CLOSE_UNAUTHORIZED is the close code of a refused credential (docs/protocol.md). */
export const CLOSE_UNAUTHORIZED = 4401;

export interface ChannelOptions {
  /** url is the channel's ws: or wss: URL. */
  url: string;
  WebSocket: new (url: string) => WebSocket;
  onEvent: (ev: MobileEvent) => void;
  /** onSignedOut is called once the server refuses the cookies. */
  onSignedOut: () => void;
  /** onOpen is called each time the channel (re)opens: what was said while it was down is lost. */
  onOpen?: () => void;
  /**
   * stillSignedIn is asked before each reconnection: a handshake that the
   * server refuses shows to a page only as a dropped socket. false stops
   * the channel and calls onSignedOut; a rejection tries again later.
   */
  stillSignedIn?: () => Promise<boolean>;
  /** schedule runs fn after ms (setTimeout; tests pass their own) and returns its cancel. */
  schedule?: (fn: () => void, ms: number) => () => void;
}

/** backoff is the wait before reconnect attempt n (0-based): 1 s, 2 s, 4 s ... at most 30 s. */
export function backoff(n: number): number {
  return Math.min(30_000, 1000 * 2 ** Math.min(n, 5));
}

/** openChannel listens until the returned stop is called. */
export function openChannel(o: ChannelOptions): () => void {
  const schedule =
    o.schedule ??
    ((fn: () => void, ms: number) => {
      const t = setTimeout(fn, ms);
      return () => clearTimeout(t);
    });
  let ws: WebSocket | undefined;
  let stopped = false;
  let failures = 0;
  let cancelRetry: (() => void) | undefined;

  const connect = () => {
    if (stopped) return;
    let sock: WebSocket;
    try {
      sock = new o.WebSocket(o.url);
    } catch {
      retry();
      return;
    }
    ws = sock;
    sock.onopen = () => {
      failures = 0;
      if (ws === sock && !stopped) o.onOpen?.();
    };
    sock.onmessage = (e: MessageEvent) => {
      try {
        const ev = JSON.parse(String(e.data)) as MobileEvent;
        if (ev && typeof ev.type === "string") o.onEvent(ev);
      } catch {
        // not JSON: not for us
      }
    };
    sock.onclose = (e: CloseEvent) => {
      if (ws !== sock || stopped) return;
      ws = undefined;
      if (e.code === CLOSE_UNAUTHORIZED) {
        stopped = true;
        o.onSignedOut();
        return;
      }
      retry();
    };
  };
  const reconnect = async () => {
    if (stopped) return;
    if (o.stillSignedIn) {
      let ok: boolean;
      try {
        ok = await o.stillSignedIn();
      } catch {
        retry();
        return;
      }
      if (stopped) return;
      if (!ok) {
        stopped = true;
        o.onSignedOut();
        return;
      }
    }
    connect();
  };
  const retry = () => {
    if (stopped) return;
    cancelRetry = schedule(() => void reconnect(), backoff(failures++));
  };
  connect();
  return () => {
    stopped = true;
    cancelRetry?.();
    const s = ws;
    ws = undefined;
    s?.close(1000);
  };
}

/** channelURL is the channel's URL on the server at origin (http → ws, https → wss). */
export function channelURL(origin: string, path: string): string {
  const u = new URL(path, origin);
  u.protocol = u.protocol === "https:" ? "wss:" : "ws:";
  return u.toString();
}
