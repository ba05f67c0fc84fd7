/**
 * The phone web app's service worker, /m/sw.js with scope /m/: it keeps
 * the app's shell (page, script, styles, icons, QR decoder) so that the app
 * opens without a connection and says so, instead of the browser's error.
 * It never answers for anything outside /m/: API calls always go to the
 * network (sw-cache.ts).
 *
 * The build (vite.phone.config.ts) writes the shell's files and version in
 * place of SHELL_PLACEHOLDER; this file has no import at run time, so that
 * it runs as a classic worker script.
 */
import { cacheKey, cacheName, strategy, type Shell } from "./sw-cache";

interface ExtendableEvent extends Event {
  waitUntil(p: Promise<unknown>): void;
}
interface FetchEvent extends ExtendableEvent {
  readonly request: Request;
  respondWith(r: Response | Promise<Response>): void;
}
interface WorkerScope {
  readonly location: Location;
  readonly registration: { readonly scope: string };
  readonly clients: { claim(): Promise<void> };
  skipWaiting(): Promise<void>;
  addEventListener(type: "install" | "activate", fn: (e: ExtendableEvent) => void): void;
  addEventListener(type: "fetch", fn: (e: FetchEvent) => void): void;
}

const sw = self as unknown as WorkerScope;
const shell = JSON.parse("__QRLOGIN_SHELL__") as Shell;
const scope = new URL(sw.registration.scope).pathname;
const CACHE = cacheName(shell.version);

/** NAVIGATION_TIMEOUT is how long the page is waited for before the cached one is shown. */
const NAVIGATION_TIMEOUT = 4000;

sw.addEventListener("install", (e) => {
  e.waitUntil(
    (async () => {
      const c = await caches.open(CACHE);
      await c.addAll(shell.files.map((f) => scope + f));
      await Promise.all(shell.optional.map((f) => c.add(scope + f).catch(() => undefined)));
      await sw.skipWaiting();
    })(),
  );
});

sw.addEventListener("activate", (e) => {
  e.waitUntil(
    (async () => {
      for (const k of await caches.keys()) if (k.startsWith("qrlogin-phone-") && k !== CACHE) await caches.delete(k);
      await sw.clients.claim();
    })(),
  );
});

sw.addEventListener("fetch", (e) => {
  const url = new URL(e.request.url);
  const how = strategy(e.request.method, url, sw.location.origin, scope);
  if (how === "none") return;
  const key = cacheKey(url, scope);
  e.respondWith(how === "cache-first" ? cacheFirst(e.request, key) : networkFirst(e.request, key));
});

async function cacheFirst(req: Request, key: string): Promise<Response> {
  const c = await caches.open(CACHE);
  const hit = await c.match(key);
  if (hit) return hit;
  const resp = await fetch(req);
  if (resp.ok) await c.put(key, resp.clone());
  return resp;
}

async function networkFirst(req: Request, key: string): Promise<Response> {
  const c = await caches.open(CACHE);
  try {
    const resp = await withTimeout(fetch(req), req.mode === "navigate" ? NAVIGATION_TIMEOUT : 0);
    if (resp.ok && resp.type === "basic") await c.put(key, resp.clone());
    return resp;
  } catch (err) {
    const hit = await c.match(key, { ignoreSearch: true });
    if (hit) return hit;
    throw err;
  }
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  if (!ms) return p;
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error("the server is slow to answer")), ms);
    p.then(
      (v) => {
        clearTimeout(t);
        resolve(v);
      },
      (e) => {
        clearTimeout(t);
        reject(e);
      },
    );
  });
}
