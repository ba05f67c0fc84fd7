/**
 * Words for a person: how long ago, what a scope hands over, what the
 * phone is called. Pure functions, English only, as the rest of qrlogin.
 */

/**
 * ago says how long before now the time iso was, in words: "just now",
 * "5 seconds ago", "1 minute ago", "3 hours ago", "2 days ago"; "" if iso
 * is not a time. A time a little in the future (clocks differ) is "just
 * now".
 */
export function ago(iso: string | undefined, now: number): string {
  if (!iso) return "";
  const t = Date.parse(iso);
  if (Number.isNaN(t) || new Date(t).getUTCFullYear() < 2000) return "";
  const s = Math.floor((now - t) / 1000);
  if (s < 5) return "just now";
  const unit = (n: number, word: string) => `${n} ${word}${n === 1 ? "" : "s"} ago`;
  if (s < 60) return unit(s, "second");
  const m = Math.floor(s / 60);
  if (m < 60) return unit(m, "minute");
  const h = Math.floor(m / 60);
  if (h < 48) return unit(h, "hour");
  return unit(Math.floor(h / 24), "day");
}

/**
 * SCOPE_NAMES says what each known scope hands over to an app (as
 * server/web's scopeNames does on the authorization page).
 */
export const SCOPE_NAMES: Record<string, string> = {
  openid: "Your qrlogin account ID, to know you next time",
  profile: "Your name and profile picture",
  offline_access: "Access while you are away, until you remove it",
};

/** scopeLines says in words what scopes hand over, in order, once each; an unknown scope by its name. */
export function scopeLines(scopes: readonly string[] | undefined): string[] {
  const out: string[] = [];
  for (const s of scopes ?? []) {
    const line = Object.hasOwn(SCOPE_NAMES, s) ? SCOPE_NAMES[s] : s;
    if (s && !out.includes(line)) out.push(line);
  }
  return out;
}

/** phoneOS names the operating system of a user agent; "" if unknown. */
export function phoneOS(userAgent: string): string {
  const known: [RegExp, string][] = [
    [/Android/i, "Android"],
    [/iPhone|iPod/i, "iOS"],
    [/iPad/i, "iPadOS"],
    [/CrOS/i, "ChromeOS"],
    [/Windows/i, "Windows"],
    [/Mac OS X|Macintosh/i, "macOS"],
    [/Linux|X11/i, "Linux"],
  ];
  return known.find(([re]) => re.test(userAgent))?.[1] ?? "";
}

/** browserName names the browser of a user agent; "" if unknown. Order matters: most say "Safari" and many "Chrome". */
export function browserName(userAgent: string): string {
  const known: [RegExp, string][] = [
    [/SamsungBrowser/i, "Samsung Internet"],
    [/EdgA?\/|EdgiOS/i, "Edge"],
    [/OPR\/|Opera|OPiOS/i, "Opera"],
    [/Firefox|FxiOS/i, "Firefox"],
    [/Chrome|CriOS|Chromium/i, "Chrome"],
    [/Safari/i, "Safari"],
  ];
  return known.find(([re]) => re.test(userAgent))?.[1] ?? "";
}

/**
 * phoneDevice is what the phone says of itself at sign-in: a name such as
 * "Chrome on Android" (the list of devices shows it) and the platform, such
 * as "Android (web)".
 */
export function phoneDevice(userAgent: string): { name: string; platform: string } {
  const os = phoneOS(userAgent);
  const browser = browserName(userAgent);
  const name = browser && os ? `${browser} on ${os}` : browser || (os ? `Browser on ${os}` : "Web browser");
  return { name, platform: os ? `${os} (web)` : "web" };
}

/** initial is the first letter of name, in capitals, for an avatar; "?" if none. */
export function initial(name: string | undefined): string {
  const c = [...(name ?? "").trim()][0];
  return c ? c.toLocaleUpperCase() : "?";
}

/** deviceLine joins the parts that are set: "Ubuntu · qrlogin desktop". */
export function joinParts(...parts: (string | undefined)[]): string {
  return parts.filter((p) => p && p.trim()).join(" · ");
}

/** countdown writes the seconds left before iso as m:ss; "" once past or if iso is not a time. */
export function countdown(iso: string | undefined, now: number): string {
  const t = iso ? Date.parse(iso) : NaN;
  if (Number.isNaN(t)) return "";
  const s = Math.ceil((t - now) / 1000);
  if (s <= 0) return "";
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
}
