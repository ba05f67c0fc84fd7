import type { Bridge } from "../bridge";
import type { View, ViewState } from "../view";

/** A Bridge that records calls and lets a test emit views as Go would. */
export function fakeBridge(initial: View = view("loading")) {
  const listeners = new Set<(v: View) => void>();
  const calls: string[] = [];
  const bridge: Bridge = {
    getView: async () => initial,
    onView: (fn) => {
      listeners.add(fn);
      return () => listeners.delete(fn);
    },
    shown: (s) => calls.push(`shown:${s}`),
    refresh: async () => void calls.push("refresh"),
    cancel: async () => void calls.push("cancel"),
    logout: async () => void calls.push("logout"),
    useServer: async (url) => {
      calls.push(`useServer:${url}`);
      if (url.startsWith("ftp:")) throw `"${url}" is not a server address`;
    },
    minimise: () => calls.push("minimise"),
    quit: () => calls.push("quit"),
  };
  return { bridge, listeners, calls, emit: (v: View) => listeners.forEach((l) => l(v)) };
}

const server = { mode: "embedded", url: "http://127.0.0.1:40000" };

export const qr = (ref: string) => ({
  ref,
  payload: `http://127.0.0.1:40000/q/${ref}`,
  imageUrl: `http://127.0.0.1:40000/q/${ref}.png`,
  expiresAt: "2026-01-01T00:01:00Z",
});

/** view builds a View in state with the fields a test cares about. */
export function view(state: ViewState, extra: Partial<View> = {}): View {
  return { state, server, ...extra };
}

/** flush lets pending promises settle. */
export const flush = () => new Promise((r) => setTimeout(r, 0));
