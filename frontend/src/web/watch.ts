/**
 * Following a ticket from the browser, as server/client.Watch does in Go:
 * the WebSocket /api/v1/tickets/{ref}/events (authenticated by its first
 * message, since a browser cannot set headers on it) and, where the socket
 * cannot be opened or drops, the long-poll /api/v1/tickets/{ref}/wait.
 */
import { FinalStates, TicketState } from "../protocol";
import { call, Code, ProtocolError, sleep, wsURL, type Fetch } from "./http";

/** A message of the ticket's channel (api.TicketEvent). */
export interface TicketEvent {
  type: "state" | "rotated" | string;
  state?: string;
  match_required?: boolean;
  user?: { display_name: string; avatar_url: string };
  ref?: string;
  qr_payload?: string;
  expires_at?: string;
}

/** What the pages need of the browser to talk to the server; tests pass fakes. */
export interface Transport {
  fetch: Fetch;
  WebSocket: new (url: string) => WebSocket;
  /** origin is the server's origin: the page's own. */
  origin: string;
}

/** The browser's own transport, to the server that served the page. */
export const browserTransport = (): Transport => ({
  fetch: (input, init) => window.fetch(input, init),
  WebSocket: window.WebSocket,
  origin: window.location.origin,
});

/** CLOSE_UNAUTHORIZED is the close code of a socket whose credential the server refused. */
export const CLOSE_UNAUTHORIZED = 4401;

/** Long-poll pacing, as in the Go client: no faster than MIN_POLL_MS when nothing changes. */
const MIN_POLL_MS = 1000;
const MAX_BACKOFF_MS = 30_000;

/** isFinal reports whether the watch ends with this state: confirmed (the page acts next) or a final state. */
export function isFinal(state: string | undefined): boolean {
  return state === TicketState.Confirmed || FinalStates.includes(state ?? "");
}

/**
 * watchTicket follows the ticket that creation named ref and calls onEvent
 * with each event: the state at once and on every change, and "rotated"
 * whenever the server replaces the QR code. It resolves after delivering a
 * final state; it rejects with a ProtocolError when the server refuses (a
 * wrong secret: 401 or 404; a forgotten ticket: 410), with Unreachable when
 * the server cannot be reached, and with the signal's reason once aborted.
 */
export async function watchTicket(
  t: Transport,
  ref: string,
  pollSecret: string,
  onEvent: (ev: TicketEvent) => void,
  signal: AbortSignal,
  longPollOnly = false,
): Promise<void> {
  let state = "";
  let shownRef = ref;
  const deliver = (ev: TicketEvent): boolean => {
    if (signal.aborted) return true;
    onEvent(ev);
    if (ev.type === "state") {
      state = ev.state ?? "";
      return isFinal(state);
    }
    if (ev.type === "rotated" && ev.ref) shownRef = ev.ref;
    return false;
  };
  const path = `/api/v1/tickets/${encodeURIComponent(ref)}`;
  if (!longPollOnly && (await viaSocket(t, `${path}/events`, { type: "auth", poll_secret: pollSecret }, deliver, signal))) {
    return;
  }
  // The socket could not be opened, or dropped before a final state: go on
  // by long-poll from the state and QR code last seen.
  for (;;) {
    const start = Date.now();
    const q = state ? `?${new URLSearchParams({ after: state, qr: shownRef })}` : "";
    let ans: TicketEvent;
    try {
      ans = await call<TicketEvent>(t.fetch, `${path}/wait${q}`, { bearer: pollSecret, signal });
    } catch (err) {
      if (err instanceof ProtocolError && err.code === Code.RateLimited) {
        await sleep(Math.min(Math.max(err.retryAfter * 1000, MIN_POLL_MS), MAX_BACKOFF_MS), signal);
        continue;
      }
      throw err;
    }
    let news = false;
    if (ans.state !== state) {
      news = true;
      if (deliver({ type: "state", state: ans.state, match_required: ans.match_required, user: ans.user })) return;
    }
    if (ans.state === TicketState.Pending && ans.ref && ans.ref !== shownRef) {
      news = true;
      deliver({ type: "rotated", ref: ans.ref, qr_payload: ans.qr_payload, expires_at: ans.expires_at });
    }
    if (!news) await sleep(MIN_POLL_MS - (Date.now() - start), signal);
  }
}

/**
 * viaSocket opens the WebSocket at path, sends auth as its first message and
 * hands each JSON message to deliver until deliver says it was the last
 * (resolves true). It resolves false when the socket could not be opened or
 * closed before that, so that the caller falls back; it rejects with a
 * ProtocolError when the server refused the credential, and with the
 * signal's reason once aborted.
 */
export function viaSocket<M>(
  t: Transport,
  path: string,
  auth: object,
  deliver: (m: M) => boolean,
  signal: AbortSignal,
): Promise<boolean> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    let ws: WebSocket;
    try {
      ws = new t.WebSocket(wsURL(path, t.origin));
    } catch {
      return resolve(false);
    }
    let done = false;
    const finish = (f: () => void) => {
      if (done) return;
      done = true;
      signal.removeEventListener("abort", onAbort);
      f();
    };
    const onAbort = () => {
      ws.close(1000);
      finish(() => reject(signal.reason));
    };
    signal.addEventListener("abort", onAbort, { once: true });
    ws.onopen = () => ws.send(JSON.stringify(auth));
    ws.onmessage = (e: MessageEvent) => {
      if (done || typeof e.data !== "string") return;
      let m: M;
      try {
        m = JSON.parse(e.data) as M;
      } catch {
        return; // not JSON: skip, as the Go client does
      }
      if (m === null || typeof m !== "object") return;
      if (deliver(m)) {
        ws.close(1000);
        finish(() => resolve(true));
      }
    };
    ws.onclose = (e: CloseEvent) => {
      if (e.code === CLOSE_UNAUTHORIZED) {
        finish(() => reject(new ProtocolError(401, Code.Unauthorized, e.reason || "The server refused the credential.")));
      } else {
        finish(() => resolve(false));
      }
    };
  });
}
