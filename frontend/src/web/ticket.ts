/** Showing a ticket's QR code and following it, for both pages that have one. */
import { TicketState } from "../protocol";
import { ViewState, type QR, type View } from "../view";
import type { Phase } from "./controller";
import { Code, ProtocolError } from "./http";
import { watchTicket, type TicketEvent, type Transport } from "./watch";

/** Ticket is what the page holds of its ticket (api.CreateTicketResponse). */
export interface Ticket {
  ref: string;
  poll_secret: string;
  qr_payload: string;
  expires_at: string;
  match_code: string;
}

/** qrOf is the QR code of ref; its image is the server's PNG (same origin). */
export function qrOf(ref: string, payload: string, expiresAt: string): QR {
  return { ref, payload, imageUrl: `/q/${encodeURIComponent(ref)}.png`, expiresAt };
}

/**
 * followTicket shows t's QR code (with notice, if any) and follows the
 * ticket until a final state, which it returns: "confirmed" means the page
 * acts next. A ticket that the server has forgotten shows as expired.
 */
export async function followTicket(p: Phase, tr: Transport, t: Ticket, notice = ""): Promise<string> {
  let qr = qrOf(t.ref, t.qr_payload, t.expires_at);
  p.set({ state: ViewState.Pending, qr, message: notice || undefined });
  let final = "";
  try {
    await watchTicket(
      tr,
      t.ref,
      t.poll_secret,
      (ev) => {
        if (ev.type === "rotated" && ev.ref) {
          qr = qrOf(ev.ref, ev.qr_payload ?? "", ev.expires_at ?? "");
          p.update((v) => void (v.qr = qr));
        } else if (ev.type === "state") {
          final = ev.state ?? "";
          p.update((v) => ticketView(v, ev, t.match_code, qr));
        }
      },
      p.signal,
    );
  } catch (err) {
    if (err instanceof ProtocolError && err.code === Code.Expired) {
      p.update((v) => {
        v.state = ViewState.Expired;
        v.scanner = undefined;
      });
      return TicketState.Expired;
    }
    throw err;
  }
  return final;
}

/** ticketView shows the ticket state of ev on v, as app/desktop's ticketView does. */
export function ticketView(v: View, ev: TicketEvent, matchCode: string, qr: QR): void {
  const scanner = v.scanner;
  v.qr = qr;
  v.scanner = undefined;
  if (ev.state !== TicketState.Pending) v.message = undefined;
  switch (ev.state) {
    case TicketState.Pending:
      v.state = ViewState.Pending;
      break;
    case TicketState.Scanned:
      v.state = ViewState.Scanned;
      v.scanner = {
        displayName: ev.user?.display_name ?? "",
        avatarUrl: ev.user?.avatar_url ?? "",
        matchCode: ev.match_required ? matchCode : undefined,
      };
      break;
    case TicketState.Confirmed:
      v.state = ViewState.Confirmed;
      v.scanner = scanner; // who is logging in
      break;
    case TicketState.Denied:
      v.state = ViewState.Denied;
      break;
    case TicketState.Cancelled:
      v.state = ViewState.Cancelled;
      break;
    default: // expired, and redeemed, which only this page can do
      v.state = ViewState.Expired;
  }
}
