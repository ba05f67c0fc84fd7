/**
 * What the service worker (sw.ts) does with each request, as pure
 * functions that the tests check. It serves only the app's own files under
 * its scope (/m/): the API, QR images and avatars always go to the network
 * untouched, so that nothing of an account is ever cached.
 */

/** Strategy is how a request is answered. */
export type Strategy =
  /** none: the worker does not answer; the browser fetches as if it were not there. */
  | "none"
  /** cache-first: a file whose name holds its content's hash never changes. */
  | "cache-first"
  /** network-first: the newest when online, the cached copy offline. */
  | "network-first";

/** HASHED matches the name of a file that holds its content's hash (Vite's [name]-[hash]). */
const HASHED = /-[A-Za-z0-9_-]{8,}\.(?:js|css|wasm)$/;

/** hashed reports whether a file name or path names a hashed file. */
export function hashed(path: string): boolean {
  return HASHED.test(path);
}

/**
 * strategy decides for a request of method to url, from a worker whose
 * origin and scope path (/m/) are given.
 */
export function strategy(method: string, url: URL, origin: string, scope: string): Strategy {
  if (method !== "GET" || url.origin !== origin || !url.pathname.startsWith(scope)) return "none";
  const name = url.pathname.slice(scope.length);
  if (name === "sw.js" || name.includes("/")) return "none";
  return hashed(name) ? "cache-first" : "network-first";
}

/** cacheKey is the cache's key of a file of the shell: the app's page is kept as the scope itself. */
export function cacheKey(url: URL, scope: string): string {
  const name = url.pathname.slice(scope.length);
  return url.origin + scope + (name === "index.html" ? "" : name);
}

/** Shell is the app's files that the worker keeps, written into sw.js at build time. */
export interface Shell {
  /** version names the cache: a new build makes a new one and drops the old. */
  version: string;
  /** files must all be cached for the app to open offline ("" is the page). */
  files: string[];
  /** optional files are cached if the server has them (the decoder's, built apart). */
  optional: string[];
}

/** cacheName is the cache of a shell's version. */
export function cacheName(version: string): string {
  return `qrlogin-phone-${version}`;
}
