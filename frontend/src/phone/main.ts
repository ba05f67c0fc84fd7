/**
 * The phone web app (/m/): sign in once, then log in on computers by
 * scanning their QR code or tapping the number they show, approve TVs by
 * their code, and see and end what is logged in. model.ts is the app, view.ts its screens; this file wires
 * them to the browser.
 */
import "../style.css";
import "./phone.css";
import { httpAPI, Path } from "./api";
import { channelURL, openChannel } from "./events";
import { Code } from "./api";
import { isCode, PhoneApp } from "./model";
import { openDecoder, type Decoder } from "./scanner";
import { mountView } from "./view";

/** memoryStorage stands in for localStorage where the browser refuses it. */
function storage(): Pick<Storage, "getItem" | "setItem"> {
  try {
    const s = window.localStorage;
    s.getItem("qrlogin.probe");
    return s;
  } catch {
    const m = new Map<string, string>();
    return { getItem: (k) => m.get(k) ?? null, setItem: (k, v) => void m.set(k, v) };
  }
}

/** randomId is a new device id: 128 random bits, base64url. */
function randomId(): string {
  const b = crypto.getRandomValues(new Uint8Array(16));
  return btoa(String.fromCharCode(...b)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

const api = httpAPI((input, init) => fetch(input, init));
const app = new PhoneApp({
  api,
  origin: location.origin,
  userAgent: navigator.userAgent,
  storage: storage(),
  setHash: (hash) => history.replaceState(history.state, "", location.pathname + location.search + hash),
  now: () => Date.now(),
  randomId,
  listen: ({ onEvent, onSignedOut, onOpen }) =>
    openChannel({
      url: channelURL(location.origin, Path.Events),
      WebSocket,
      onEvent,
      onSignedOut,
      onOpen,
      stillSignedIn: async () => {
        try {
          await api.account();
          return true;
        } catch (err) {
          if (isCode(err, Code.Unauthorized)) return false;
          throw err;
        }
      },
    }),
});

let decoder: Promise<Decoder> | undefined;
const root = document.getElementById("app");
if (root) {
  mountView(root, app, {
    now: () => Date.now(),
    origin: location.origin,
    decoder: () =>
      (decoder ??= openDecoder().catch((err: unknown) => {
        decoder = undefined;
        throw err;
      })),
    retry: () => void app.retry(location.hash),
  });
}
window.addEventListener("hashchange", () => app.route(location.hash));
window.addEventListener("online", () => {
  if (app.state.screen.name === "offline") void app.retry(location.hash);
});
// Back in the foreground: a desktop may have asked to log in meanwhile (a
// phone's browser freezes a page in the background, and its channel).
document.addEventListener("visibilitychange", () => {
  if (document.visibilityState === "visible") void app.resume();
});
void app.start(location.hash);

if ("serviceWorker" in navigator) {
  navigator.serviceWorker.register(new URL("sw.js", document.baseURI), { scope: new URL("./", document.baseURI).pathname }).catch(() => {
    // no offline shell (a private window, or plain http off localhost): the app works the same online
  });
}
