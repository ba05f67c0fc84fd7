import { TicketState } from "./protocol";

/**
 * What Go says the window shows: the View of app/desktop/view.go, as JSON.
 * The states are the ticket's states one to one (pending, scanned,
 * confirmed, denied, expired, cancelled), plus the window around them.
 */
export const ViewState = {
  Loading: "loading",
  Pending: TicketState.Pending,
  Scanned: TicketState.Scanned,
  Confirmed: TicketState.Confirmed,
  Denied: TicketState.Denied,
  Expired: TicketState.Expired,
  Cancelled: TicketState.Cancelled,
  SignedIn: "signed_in",
  Unreachable: "unreachable",
  Error: "error",
  /** Logged out on a computer whose key is enrolled: the account, Log in, Switch account. */
  OneTap: "one_tap",
  /** Asked the phone: the number to tap there (the ticket is scanned). */
  OneTapWaiting: "one_tap_waiting",
  OneTapDenied: "one_tap_denied",
  OneTapExpired: "one_tap_expired",
  /** Too many requests: the message says when to try again. */
  OneTapLimited: "one_tap_limited",
} as const;

export type ViewState = (typeof ViewState)[keyof typeof ViewState];

export const ServerMode = { Embedded: "embedded", Remote: "remote" } as const;

export interface ServerInfo {
  mode: string;
  url: string;
}

/** A QR code: imageUrl is the server's PNG of it, to which the window adds ?px=N. */
export interface QR {
  ref: string;
  payload: string;
  imageUrl: string;
  expiresAt: string;
}

/** The account that scanned, masked; matchCode only when the phone needs it. */
export interface Scanner {
  displayName: string;
  avatarUrl: string;
  matchCode?: string;
}

export interface Session {
  displayName: string;
  avatarUrl: string;
  signedInAt: string;
  expiresAt: string;
  device: string;
  app: string;
  localIp: string;
}

/** The account this computer is remembered for, masked; number while waiting. */
export interface OneTap {
  displayName: string;
  avatarUrl: string;
  number?: string;
}

export interface View {
  state: ViewState;
  server: ServerInfo;
  qr?: QR;
  scanner?: Scanner;
  session?: Session;
  oneTap?: OneTap;
  message?: string;
}
