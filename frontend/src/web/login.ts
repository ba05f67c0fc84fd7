/**
 * The product's own login page, /login: the web counterpart of the desktop
 * app. It asks for a ticket, shows its QR code, redeems it once the phone
 * confirms, shows the account, and goes back to a QR code when the phone
 * ends the session.
 */
import { TicketState } from "../protocol";
import { ViewState, type Session } from "../view";
import { Controller, type Phase } from "./controller";
import { call, Code, ProtocolError } from "./http";
import { followTicket, type Ticket } from "./ticket";
import { viaSocket, type Transport } from "./watch";

/** STORAGE_KEY names the saved session in sessionStorage. */
export const STORAGE_KEY = "qrlogin.session";

/** Saved is the session the page keeps: the token and what it shows of it. */
export interface Saved {
  token: string;
  displayName: string;
  avatarUrl: string;
  signedInAt: string;
  expiresAt: string;
}

/** What the page says of itself when it asks for a ticket (api.DesktopDevice). */
export interface Device {
  name: string;
  os: string;
  app: string;
}

interface RedeemResponse {
  session_token: string;
  expires_at: string;
  user: { display_name: string; avatar_url: string };
}

/** Waits between attempts to reopen a dropped session channel. */
const RECONNECT_MS = 1000;
const MAX_RECONNECT_MS = 60_000;

/** Notices shown with a new QR code. */
export const Notice = {
  Revoked: "You were logged out from your phone.",
  Ended: "Your session has ended: scan to log in again.",
} as const;

/**
 * LoginPage runs /login. The session token is kept in sessionStorage (the
 * storage passed in): it lives as long as this tab, so a reload stays
 * signed in but closing the tab (on a shared computer, say) forgets it; it
 * is not shared with other tabs, and unlike a cookie it is never sent by
 * the browser on its own, so no other site can make requests with it
 * (CSRF). Script on this origin could read it, which the pages' CSP
 * (script-src 'self', no inline script) guards against.
 */
export class LoginPage extends Controller {
  private ticket?: Ticket;
  private session?: Saved;

  constructor(
    private readonly tr: Transport,
    private readonly storage: Storage,
    private readonly device: Device,
    onShown?: (state: string) => void,
    private readonly now: () => Date = () => new Date(),
  ) {
    super(tr.origin, onShown);
  }

  /** start signs in with the session this tab kept, if the server still accepts it, or shows a QR code. */
  start(): void {
    void this.run((p) => this.begin(p));
  }

  /** refresh starts over, unless signed in: the "new QR code" and "retry" clicks. */
  refresh(): Promise<void> {
    return this.run((p) => this.begin(p), () => !this.session);
  }

  /** cancel ends the ticket on show and shows cancelled. */
  cancel(): Promise<void> {
    const t = this.ticket;
    const state = this.current().state;
    return this.run(
      async (p) => {
        if (!t) return;
        try {
          await call(this.tr.fetch, `/api/v1/tickets/${encodeURIComponent(t.ref)}/cancel`, {
            method: "POST",
            bearer: t.poll_secret,
            signal: p.signal,
          });
        } catch {
          // Shown as cancelled all the same: the ticket dies with its page.
        }
        p.update((v) => {
          v.state = ViewState.Cancelled;
          v.scanner = undefined;
          v.message = undefined;
        });
      },
      () => !!t && (state === ViewState.Pending || state === ViewState.Scanned),
    );
  }

  /** logout ends the session (on the server too, if it answers), forgets it, and shows a QR code. */
  logout(): Promise<void> {
    const s = this.session;
    return this.run(
      async (p) => {
        p.set({ state: ViewState.Loading, message: "Logging out…" });
        try {
          await call(this.tr.fetch, "/api/v1/logout", { method: "POST", bearer: s!.token, signal: p.signal });
        } catch (err) {
          if (p.signal.aborted) return;
          // The session is forgotten here all the same; the phone can end it.
          console.warn("logout: the server was not told", err);
        }
        this.forget();
        await this.newTicket(p, "");
      },
      () => !!s,
    );
  }

  private async begin(p: Phase): Promise<void> {
    this.ticket = undefined;
    this.session = undefined;
    const saved = this.load();
    if (!saved) return this.newTicket(p, "");
    p.set({ state: ViewState.Loading, message: `Signing in as ${saved.displayName}…` });
    try {
      const me = await call<{ user: { display_name: string; avatar_url: string } }>(this.tr.fetch, "/api/v1/me", {
        bearer: saved.token,
        signal: p.signal,
      });
      saved.displayName = me.user.display_name;
      saved.avatarUrl = me.user.avatar_url;
    } catch (err) {
      if (err instanceof ProtocolError && err.code === Code.Unauthorized) {
        this.forget();
        return this.newTicket(p, Notice.Ended);
      }
      return p.fail("check this tab's session", err);
    }
    return this.signedIn(p, saved);
  }

  private async newTicket(p: Phase, notice: string): Promise<void> {
    this.ticket = undefined;
    p.set({ state: ViewState.Loading, message: notice || undefined });
    let t: Ticket;
    try {
      t = await call<Ticket>(this.tr.fetch, "/api/v1/tickets", {
        method: "POST",
        body: { device: this.device },
        signal: p.signal,
      });
    } catch (err) {
      p.fail("make a QR code", err);
      return;
    }
    this.ticket = t;
    let final: string;
    try {
      final = await followTicket(p, this.tr, t, notice);
    } catch (err) {
      p.fail("follow the QR code", err);
      return;
    }
    if (final === TicketState.Confirmed) await this.redeem(p, t);
  }

  private async redeem(p: Phase, t: Ticket): Promise<void> {
    let r: RedeemResponse;
    try {
      r = await call<RedeemResponse>(this.tr.fetch, `/api/v1/tickets/${encodeURIComponent(t.ref)}/redeem`, {
        method: "POST",
        bearer: t.poll_secret,
        signal: p.signal,
      });
    } catch (err) {
      if (err instanceof ProtocolError && err.code === Code.Expired) {
        p.update((v) => void (v.state = ViewState.Expired));
      } else {
        p.fail("log you in", err);
      }
      return;
    }
    this.ticket = undefined;
    const saved: Saved = {
      token: r.session_token,
      displayName: r.user.display_name,
      avatarUrl: r.user.avatar_url,
      signedInAt: this.now().toISOString(),
      expiresAt: r.expires_at,
    };
    this.storage.setItem(STORAGE_KEY, JSON.stringify(saved));
    return this.signedIn(p, saved);
  }

  /**
   * signedIn shows the session and listens on its channel until the phone
   * ends it, when it forgets the session and shows a new QR code. A channel
   * that drops is opened again, with a growing wait, for as long as the
   * server accepts the session.
   */
  private async signedIn(p: Phase, s: Saved): Promise<void> {
    this.session = s;
    p.set({ state: ViewState.SignedIn, session: this.sessionView(s) });
    let wait = RECONNECT_MS;
    for (;;) {
      let revoked: boolean;
      try {
        revoked = await viaSocket<{ type: string }>(
          this.tr,
          "/api/v1/session/events",
          { type: "auth", token: s.token },
          (ev) => ev.type === "revoked",
          p.signal,
        );
      } catch (err) {
        if (p.signal.aborted) return;
        if (err instanceof ProtocolError && err.code === Code.Unauthorized) {
          return this.ended(p, Notice.Ended);
        }
        return p.fail("follow the session", err);
      }
      if (revoked) return this.ended(p, Notice.Revoked);
      p.update((v) => void (v.message = "Connection to the server lost: reconnecting…"));
      if (!(await p.sleep(wait))) return;
      wait = Math.min(2 * wait, MAX_RECONNECT_MS);
      try {
        await call(this.tr.fetch, "/api/v1/me", { bearer: s.token, signal: p.signal });
        wait = RECONNECT_MS;
        p.update((v) => void (v.message = undefined));
      } catch (err) {
        if (err instanceof ProtocolError && err.code === Code.Unauthorized) return this.ended(p, Notice.Ended);
      }
    }
  }

  private ended(p: Phase, notice: string): Promise<void> {
    this.forget();
    this.session = undefined;
    return this.newTicket(p, notice);
  }

  private sessionView(s: Saved): Session {
    return {
      displayName: s.displayName,
      avatarUrl: s.avatarUrl,
      signedInAt: s.signedInAt,
      expiresAt: s.expiresAt,
      device: this.device.os ? `${this.device.name} (${this.device.os})` : this.device.name,
      app: this.device.app,
      localIp: "",
    };
  }

  private load(): Saved | undefined {
    try {
      const s = JSON.parse(this.storage.getItem(STORAGE_KEY) ?? "null") as Saved | null;
      return s && typeof s.token === "string" && s.token ? s : undefined;
    } catch {
      return undefined;
    }
  }

  private forget(): void {
    this.session = undefined;
    this.storage.removeItem(STORAGE_KEY);
  }
}

/** browserOS names the OS the browser runs on, for the phone to show ("" if unknown). */
export function browserOS(userAgent: string, platform = ""): string {
  const ua = `${userAgent} ${platform}`;
  const known: [RegExp, string][] = [
    [/Android/i, "Android"],
    [/iPhone|iPad|iPod/i, "iOS"],
    [/CrOS/i, "ChromeOS"],
    [/Windows/i, "Windows"],
    [/Mac OS X|Macintosh|MacIntel/i, "macOS"],
    [/Linux|X11/i, "Linux"],
  ];
  return known.find(([re]) => re.test(ua))?.[1] ?? "";
}
