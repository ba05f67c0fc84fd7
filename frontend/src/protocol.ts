/**
 * The protocol's vocabulary (docs/protocol.md): the ticket's states as
 * server/ticket.go defines them, and the error codes of server/errors.go.
 * Everything in the frontend names states and codes through these; the Go
 * test TestTypeScriptVocabulary (server/api) fails when they differ from
 * the Go definitions.
 */

/** The ticket's states. */
export const TicketState = {
  Pending: "pending",
  Scanned: "scanned",
  Confirmed: "confirmed",
  Redeemed: "redeemed",
  Denied: "denied",
  Expired: "expired",
  Cancelled: "cancelled",
} as const;

export type TicketState = (typeof TicketState)[keyof typeof TicketState];

/** The states that no move leaves (server.State.Final). */
export const FinalStates: readonly string[] = [
  TicketState.Redeemed,
  TicketState.Denied,
  TicketState.Expired,
  TicketState.Cancelled,
];

/** The protocol's error codes, each answered with one HTTP status. */
export const ErrorCode = {
  Invalid: "invalid_request",
  Unauthorized: "unauthorized",
  Forbidden: "forbidden",
  NotFound: "not_found",
  Conflict: "conflict",
  Expired: "expired",
  RateLimited: "rate_limited",
  Internal: "internal",
  UnsupportedMedia: "unsupported_media_type",
  Misdirected: "misdirected_request",
} as const;

export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];
