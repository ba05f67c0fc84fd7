/**
 * The browser's calls to the login server that serves the page: same
 * origin, JSON bodies, the protocol's error body turned into a typed error.
 */

/** ProtocolError is a refusal of the server: {"error": {code, message}} with its HTTP status. */
export class ProtocolError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    /** retryAfter is the Retry-After of a rate_limited answer, in seconds (0 if none). */
    readonly retryAfter = 0,
  ) {
    super(message);
    this.name = "ProtocolError";
  }
}

/** Unreachable is a call that got no answer: the network or the server is down. */
export class Unreachable extends Error {
  constructor(message = "The login server can't be reached. Check your connection.") {
    super(message);
    this.name = "Unreachable";
  }
}

/** The protocol's error codes (protocol.ts). */
export { ErrorCode as Code } from "../protocol";

export interface CallOptions {
  method?: string;
  /** bearer goes in Authorization: Bearer, never in the URL. */
  bearer?: string;
  body?: unknown;
  signal?: AbortSignal;
}

/** The part of fetch the pages use; tests pass their own. */
export type Fetch = (input: string, init: RequestInit) => Promise<Response>;

/**
 * call sends one request to path on this page's server and returns the
 * JSON answer. It rejects with a ProtocolError when the server refuses,
 * Unreachable when nothing answers, and the signal's reason when aborted.
 */
export async function call<T>(f: Fetch, path: string, o: CallOptions = {}): Promise<T> {
  const headers: Record<string, string> = { Accept: "application/json" };
  if (o.bearer) headers.Authorization = `Bearer ${o.bearer}`;
  if (o.body !== undefined) headers["Content-Type"] = "application/json";
  let resp: Response;
  try {
    resp = await f(path, {
      method: o.method ?? "GET",
      headers,
      body: o.body === undefined ? undefined : JSON.stringify(o.body),
      signal: o.signal,
      credentials: "omit", // the pages authenticate by bearer only, never by cookie
      cache: "no-store",
    });
  } catch (err) {
    if (o.signal?.aborted) throw o.signal.reason;
    throw new Unreachable();
  }
  const text = await resp.text();
  let body: unknown;
  try {
    body = text ? JSON.parse(text) : {};
  } catch {
    body = undefined;
  }
  if (resp.ok && body !== undefined) return body as T;
  const e = (body as { error?: { code?: unknown; message?: unknown } } | undefined)?.error;
  const code = typeof e?.code === "string" ? e.code : resp.ok ? "internal" : `http_${resp.status}`;
  const message =
    typeof e?.message === "string" && e.message ? e.message : `The login server answered ${resp.status}.`;
  const retry = Number(resp.headers.get("Retry-After") ?? 0);
  throw new ProtocolError(resp.status, code, message, Number.isFinite(retry) ? retry : 0);
}

/** sleep resolves after ms, or rejects with the signal's reason once it aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const t = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(signal?.reason);
    };
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/** wsURL is the WebSocket URL of path on the server at origin (http → ws, https → wss). */
export function wsURL(path: string, origin: string): string {
  const u = new URL(path, origin);
  u.protocol = u.protocol === "https:" ? "wss:" : "ws:";
  return u.toString();
}
