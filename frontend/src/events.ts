/**
 * Names of the events that Go emits to the window. app/desktop/view.go holds
 * the same strings (a Go test checks that they match).
 */

/** EVENT_VIEW carries the new View, as its one argument, on every change. */
export const EVENT_VIEW = "qrlogin:view";
