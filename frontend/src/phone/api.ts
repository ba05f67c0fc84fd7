/**
 * The phone web app's calls to the login server that serves it. The app
 * holds no credential of its own: it signs in with X-Credential: cookie,
 * and the server keeps the device token in HttpOnly cookies that no script
 * can read and that the browser sends with every same-origin call to
 * /api/v1/mobile/ (credentials: "same-origin"). Errors are those of the
 * server's other pages (../web/http): ProtocolError, Unreachable.
 */
import { ProtocolError, Unreachable, type Fetch } from "../web/http";

export { ProtocolError, Unreachable };

/** The protocol's paths that the app calls (server/api/api.go). */
export const Path = {
  Accounts: "/api/v1/accounts",
  Login: "/api/v1/mobile/login",
  Logout: "/api/v1/mobile/logout",
  Account: "/api/v1/mobile/account",
  Sessions: "/api/v1/mobile/sessions",
  Grants: "/api/v1/mobile/grants",
  Scan: "/api/v1/mobile/scan",
  Confirm: "/api/v1/mobile/confirm",
  Events: "/api/v1/mobile/events",
  LoginRequests: "/api/v1/mobile/login-requests",
  Desktops: "/api/v1/mobile/desktops",
} as const;

/** HEADER_CREDENTIAL asks a login for cookies (api.HeaderCredential, api.CredentialCookie). */
export const HEADER_CREDENTIAL = "X-Credential";
export const CREDENTIAL_COOKIE = "cookie";

/** User is an account as its owner sees it (api.User). */
export interface User {
  id: string;
  username?: string;
  display_name: string;
  avatar_url: string;
}

/** MobileDevice is the phone at sign-in (api.MobileDevice). */
export interface MobileDevice {
  id: string;
  name: string;
  platform: string;
}

/** DesktopInfo is what the server recorded of the desktop that asks (api.DesktopInfo). */
export interface DesktopInfo {
  name: string;
  os: string;
  app: string;
  ip: string;
  user_agent: string;
  created_at: string;
}

/** App is a third-party app that asks (api.App); user_code is set for a device grant. */
export interface App {
  client_id: string;
  name: string;
  scopes: string[];
  redirect_host?: string;
  user_code?: string;
}

/** ScanResponse is what the phone shows before asking to log in (api.ScanResponse). */
export interface ScanResponse {
  scan_token: string;
  expires_at: string;
  desktop: DesktopInfo;
  match_required: boolean;
  warning?: string;
  app?: App;
}

/** Session is a live desktop session of the account (api.Session). */
export interface Session {
  id: string;
  device: { name: string; os: string; app: string };
  ip: string;
  created_at: string;
  last_seen_at: string;
}

/** Grant is a third-party app's access to the account (api.Grant). */
export interface Grant {
  id: string;
  client_id: string;
  app: string;
  scopes: string[];
  created_at: string;
  last_used_at: string;
  expires_at: string;
}

/**
 * LoginRequest is a one-tap login as the phone shows it (api.LoginRequest):
 * a desktop whose key is enrolled asks to be let in again, and shows one of
 * choices; warning, when set, is a sentence to show (the networks differ).
 */
export interface LoginRequest {
  id: string;
  desktop: DesktopInfo;
  choices: string[];
  expires_at: string;
  warning?: string;
}

/** Decision is how the person answers a LoginRequest (api.ActionApprove, ...). */
export const Decision = {
  Approve: "approve",
  Deny: "deny",
  NotMe: "not_me",
} as const;
export type Decision = (typeof Decision)[keyof typeof Decision];

/** EnrolledDesktop is a desktop remembered for one-tap login (api.EnrolledDesktop). */
export interface EnrolledDesktop {
  id: string;
  name: string;
  os: string;
  ip: string;
  created_at: string;
  last_used_at: string;
}

/** The channel's event types (api.Event*). */
export const Event = {
  SessionCreated: "session_created",
  SessionRevoked: "session_revoked",
  LoginRequest: "login_request",
  LoginRequestClosed: "login_request_closed",
} as const;

/**
 * MobileEvent is a message on the phone's channel (api.MobileEvent):
 * session for the session events, request for the login requests' (only
 * its id for login_request_closed).
 */
export interface MobileEvent {
  type: string;
  session?: Session;
  request?: Partial<LoginRequest> & { id?: string };
}

/** The ticket's states and the protocol's error codes (protocol.ts). */
export { ErrorCode as Code, TicketState as State } from "../protocol";

/** PhoneAPI is the server as the app sees it; tests pass a fake. */
export interface PhoneAPI {
  /** account is the signed-in account; a ProtocolError unauthorized when signed out. */
  account(): Promise<User>;
  login(username: string, password: string, device: MobileDevice): Promise<User>;
  register(username: string, password: string, displayName: string): Promise<User>;
  logout(): Promise<void>;
  scan(payload: string): Promise<ScanResponse>;
  /** confirm approves or denies and returns the ticket's new state. */
  confirm(scanToken: string, approve: boolean, matchCode?: string): Promise<string>;
  sessions(): Promise<Session[]>;
  revokeSession(id: string): Promise<void>;
  grants(): Promise<Grant[]>;
  revokeGrant(id: string): Promise<void>;
  /** loginRequests lists the account's waiting one-tap logins. */
  loginRequests(): Promise<LoginRequest[]>;
  /** decide answers one (number: the one tapped, to approve) and returns the ticket's new state. */
  decide(id: string, action: Decision, number?: string): Promise<string>;
  /** desktops lists the desktops remembered for one-tap login. */
  desktops(): Promise<EnrolledDesktop[]>;
  /** removeDesktop forgets one and ends its sessions. */
  removeDesktop(id: string): Promise<void>;
}

interface Options {
  method?: string;
  body?: unknown;
  headers?: Record<string, string>;
}

/**
 * request sends one call to path on the app's own server and returns the
 * JSON answer ({} for an empty one). It rejects with a ProtocolError when
 * the server refuses and Unreachable when nothing answers.
 */
export async function request<T>(f: Fetch, path: string, o: Options = {}): Promise<T> {
  const headers: Record<string, string> = { Accept: "application/json", ...o.headers };
  if (o.body !== undefined) headers["Content-Type"] = "application/json";
  let resp: Response;
  try {
    resp = await f(path, {
      method: o.method ?? "GET",
      headers,
      body: o.body === undefined ? undefined : JSON.stringify(o.body),
      credentials: "same-origin", // the cookies: the app's only credential
      cache: "no-store",
      redirect: "error",
    });
  } catch {
    throw new Unreachable("No connection to the qrlogin server. Check your connection and try again.");
  }
  const text = await resp.text().catch(() => "");
  let body: unknown;
  try {
    body = text ? JSON.parse(text) : {};
  } catch {
    body = undefined;
  }
  if (resp.ok && body !== undefined) return body as T;
  const e = (body as { error?: { code?: unknown; message?: unknown } } | undefined)?.error;
  const code = typeof e?.code === "string" ? e.code : resp.ok ? "internal" : `http_${resp.status}`;
  const message = typeof e?.message === "string" && e.message ? e.message : `The server answered ${resp.status}.`;
  const retry = Number(resp.headers.get("Retry-After") ?? 0);
  throw new ProtocolError(resp.status, code, message, Number.isFinite(retry) ? retry : 0);
}

/** list is a JSON array answer; Go writes an empty one as null. */
function list<T>(v: T[] | null | Record<string, never>): T[] {
  return Array.isArray(v) ? v : [];
}

/** httpAPI is PhoneAPI over fetch, on the page's own origin. */
export function httpAPI(f: Fetch): PhoneAPI {
  const user = (u: User | { user: User }): User => ("user" in u && typeof u.user === "object" ? u.user : (u as User));
  return {
    account: async () => user(await request<User | { user: User }>(f, Path.Account)),
    login: async (username, password, device) =>
      (
        await request<{ user: User }>(f, Path.Login, {
          method: "POST",
          body: { username, password, device },
          headers: { [HEADER_CREDENTIAL]: CREDENTIAL_COOKIE },
        })
      ).user,
    register: async (username, password, displayName) =>
      user(
        await request<{ user: User }>(f, Path.Accounts, {
          method: "POST",
          body: { username, password, display_name: displayName },
        }),
      ),
    logout: async () => {
      await request(f, Path.Logout, { method: "POST" });
    },
    scan: (payload) => request<ScanResponse>(f, Path.Scan, { method: "POST", body: { qr_payload: payload } }),
    confirm: async (scanToken, approve, matchCode) =>
      (
        await request<{ state: string }>(f, Path.Confirm, {
          method: "POST",
          body: { scan_token: scanToken, approve, ...(matchCode ? { match_code: matchCode } : {}) },
        })
      ).state,
    sessions: async () => (await request<{ sessions?: Session[] }>(f, Path.Sessions)).sessions ?? [],
    revokeSession: async (id) => {
      await request(f, `${Path.Sessions}/${encodeURIComponent(id)}`, { method: "DELETE" });
    },
    grants: async () => (await request<{ grants?: Grant[] }>(f, Path.Grants)).grants ?? [],
    revokeGrant: async (id) => {
      await request(f, `${Path.Grants}/${encodeURIComponent(id)}`, { method: "DELETE" });
    },
    loginRequests: async () => list(await request<LoginRequest[] | null>(f, Path.LoginRequests)),
    decide: async (id, action, number) =>
      (
        await request<{ state: string }>(f, `${Path.LoginRequests}/${encodeURIComponent(id)}`, {
          method: "POST",
          body: { action, ...(number ? { number } : {}) },
        })
      ).state,
    desktops: async () => list(await request<EnrolledDesktop[] | null>(f, Path.Desktops)),
    removeDesktop: async (id) => {
      await request(f, `${Path.Desktops}/${encodeURIComponent(id)}`, { method: "DELETE" });
    },
  };
}
