/** when formats an RFC 3339 time for a person, in their time zone; "" if unknown. */
export function when(iso: string | undefined, locale?: string): string {
  if (!iso) return "";
  const d = new Date(iso);
  if (Number.isNaN(d.getTime()) || d.getFullYear() < 2000) return "";
  return new Intl.DateTimeFormat(locale, { dateStyle: "medium", timeStyle: "short" }).format(d);
}

/**
 * qrPixels is the width to ask the server for: the CSS size times the
 * screen's pixel ratio. The server rounds it down to a whole number of
 * pixels per module, and the image is shown at its own size, never scaled.
 */
export function qrPixels(cssSize: number, dpr: number): number {
  return Math.max(64, Math.floor(cssSize * Math.max(1, dpr)));
}

/** withPx adds ?px=N to a QR image URL. */
export function withPx(imageUrl: string, px: number): string {
  return imageUrl + (imageUrl.includes("?") ? "&" : "?") + "px=" + px;
}

/** serverLine says which server the window uses. */
export function serverLine(mode: string, url: string): string {
  if (mode === "embedded") return url ? `Embedded server at ${url}` : "Embedded server (not running)";
  return `Server: ${url}`;
}
