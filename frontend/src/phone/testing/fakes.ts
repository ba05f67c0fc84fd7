/** Fakes of the server and the browser for the phone app's tests. */
import { ProtocolError, Unreachable, type LoginRequest, type PhoneAPI, type ScanResponse, type User } from "../api";
import type { Deps } from "../model";

export const ORIGIN = "https://login.example";
export const REF = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
export const NOW = Date.parse("2026-03-01T12:00:00Z");

export const alice: User = { id: "u1", username: "alice", display_name: "Alice Liddell", avatar_url: `${ORIGIN}/avatars/k.svg` };

export function scanResponse(over: Partial<ScanResponse> = {}): ScanResponse {
  return {
    scan_token: "scan-token-1",
    expires_at: new Date(NOW + 60_000).toISOString(),
    desktop: {
      name: "Alice's laptop",
      os: "Ubuntu 24.04",
      app: "qrlogin desktop",
      ip: "192.0.2.7",
      user_agent: "",
      created_at: new Date(NOW - 12_000).toISOString(),
    },
    match_required: false,
    ...over,
  };
}

/** loginRequest is a one-tap request of Office PC, asked 5 seconds ago, open for 2 minutes. */
export function loginRequest(over: Partial<LoginRequest> = {}): LoginRequest {
  return {
    id: "lr-1",
    desktop: {
      name: "Office PC",
      os: "Windows 11",
      app: "qrlogin desktop",
      ip: "198.51.100.4",
      user_agent: "",
      created_at: new Date(NOW - 5_000).toISOString(),
    },
    choices: ["17", "42", "86"],
    expires_at: new Date(NOW + 120_000).toISOString(),
    ...over,
  };
}

/** A call the app made. */
export type Call = [method: keyof PhoneAPI, ...args: unknown[]];

/** refuse is the server's refusal with code. */
export const refuse = (status: number, code: string, message = code) => new ProtocolError(status, code, message);
export const offline = () => new Unreachable();

/**
 * fakeAPI answers each method with what answers[method] gives (a value, a
 * function of the arguments, or an error to throw); calls records them.
 * No one-tap request waits and no desktop is remembered unless answers say.
 */
export function fakeAPI(given: Partial<Record<keyof PhoneAPI, unknown>>) {
  const answers: Partial<Record<keyof PhoneAPI, unknown>> = { loginRequests: [], desktops: [], ...given };
  const calls: Call[] = [];
  const api = new Proxy({} as PhoneAPI, {
    get(_t, prop: string) {
      return async (...args: unknown[]) => {
        calls.push([prop as keyof PhoneAPI, ...args]);
        let a = answers[prop as keyof PhoneAPI];
        if (typeof a === "function") a = (a as (...x: unknown[]) => unknown)(...args);
        a = await a;
        if (a instanceof Error) throw a;
        if (a === undefined && !["logout", "revokeSession", "revokeGrant", "removeDesktop"].includes(prop)) {
          throw new Error(`fakeAPI: no answer for ${prop}`);
        }
        return a;
      };
    },
  });
  return { api, calls };
}

/** deps returns the app's Deps around api, with a memory storage and a record of the fragments set. */
export function deps(api: PhoneAPI, over: Partial<Deps> = {}) {
  const store = new Map<string, string>();
  const hashes: string[] = [];
  const d: Deps = {
    api,
    origin: ORIGIN,
    userAgent: "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Mobile Safari/537.36",
    storage: { getItem: (k) => store.get(k) ?? null, setItem: (k, v) => void store.set(k, v) },
    setHash: (h) => hashes.push(h),
    now: () => NOW,
    randomId: () => "dev-0123456789abcdef0123",
    ...over,
  };
  return { d, store, hashes };
}

/** settle lets pending promises run. */
export async function settle(): Promise<void> {
  for (let i = 0; i < 10; i++) await Promise.resolve();
}
