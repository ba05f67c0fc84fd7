/**
 * The open platform's authorization page, /oauth/authorize: a third-party
 * site sent the person here to log in by a scan. The server made the ticket
 * and put it in the page; the page shows its QR code, follows it and, once
 * the phone confirms or denies, asks the server for the way back to the
 * site (/oauth/authorize/complete) and goes there.
 */
import { ViewState } from "../view";
import { Controller, type Phase } from "./controller";
import { call, Code, ProtocolError } from "./http";
import { followTicket, type Ticket } from "./ticket";
import type { Transport } from "./watch";

/** AuthorizeData is the page's JSON block (server/web's AuthorizePage). */
export interface AuthorizeData extends Ticket {
  app_name: string;
}

/** PATH_COMPLETE is the endpoint that trades a confirmed or denied ticket for the redirect. */
export const PATH_COMPLETE = "/oauth/authorize/complete";

/** How often, and how many times, complete is asked again while the server says 409. */
const COMPLETE_RETRY_MS = 300;
const COMPLETE_TRIES = 20;

/** AuthorizePage runs /oauth/authorize. navigate and reload are the browser's (tests pass their own). */
export class AuthorizePage extends Controller {
  constructor(
    private readonly tr: Transport,
    private readonly data: AuthorizeData,
    private readonly navigate: (url: string) => void,
    private readonly reload: () => void,
    onShown?: (state: string) => void,
  ) {
    super(tr.origin, onShown);
  }

  /** start shows the QR code and follows the ticket. */
  start(): void {
    void this.run((p) => this.follow(p));
  }

  /** refresh loads the page again, which asks the server for a new ticket with the same request. */
  refresh(): Promise<void> {
    this.reload();
    return Promise.resolve();
  }

  /** cancel ends the ticket on show; the page then offers a new QR code. */
  cancel(): Promise<void> {
    const state = this.current().state;
    return this.run(
      async (p) => {
        try {
          await call(this.tr.fetch, `/api/v1/tickets/${encodeURIComponent(this.data.ref)}/cancel`, {
            method: "POST",
            bearer: this.data.poll_secret,
            signal: p.signal,
          });
        } catch {
          // Shown as cancelled all the same: the ticket dies with its page.
        }
        p.update((v) => {
          v.state = ViewState.Cancelled;
          v.scanner = undefined;
        });
      },
      () => state === ViewState.Pending || state === ViewState.Scanned,
    );
  }

  /** logout does nothing: this page signs no one in to itself. */
  logout(): Promise<void> {
    return Promise.resolve();
  }

  private async follow(p: Phase): Promise<void> {
    let final: string;
    try {
      final = await followTicket(p, this.tr, this.data);
    } catch (err) {
      return p.fail("follow the QR code", err);
    }
    if (final === ViewState.Confirmed || final === ViewState.Denied) await this.complete(p, final);
  }

  /**
   * complete asks the server where to send the browser back to (the site's
   * redirect URI with a code, or with error=access_denied) and goes there.
   */
  private async complete(p: Phase, final: string): Promise<void> {
    if (final === ViewState.Denied) p.update((v) => void (v.message = `Returning to ${this.data.app_name}…`));
    for (let i = 0; ; i++) {
      try {
        const r = await call<{ redirect: string }>(this.tr.fetch, PATH_COMPLETE, {
          method: "POST",
          bearer: this.data.poll_secret,
          body: { ref: this.data.ref },
          signal: p.signal,
        });
        if (!safeRedirect(r.redirect)) {
          return p.fail(`return to ${this.data.app_name}`, new Error("the server named no valid address"));
        }
        this.navigate(r.redirect);
        return;
      } catch (err) {
        if (err instanceof ProtocolError && err.code === Code.Conflict && i + 1 < COMPLETE_TRIES) {
          // The watch saw the state before the server's complete did: ask again.
          if (!(await p.sleep(COMPLETE_RETRY_MS))) return;
          continue;
        }
        if (err instanceof ProtocolError && err.code === Code.Expired) {
          p.update((v) => {
            v.state = ViewState.Expired;
            v.scanner = undefined;
            v.message = "This login has expired or was already used.";
          });
          return;
        }
        return p.fail(`return to ${this.data.app_name}`, err);
      }
    }
  }
}

/**
 * safeRedirect reports whether url is an absolute URL that the page may go
 * to: any scheme a registered redirect URI may have (https, http on
 * loopback, an app's own scheme) but those that run script or content in
 * this page's place.
 */
export function safeRedirect(url: unknown): url is string {
  if (typeof url !== "string") return false;
  try {
    return !["javascript:", "data:", "vbscript:", "blob:", "file:"].includes(new URL(url).protocol);
  } catch {
    return false;
  }
}
