/**
 * What a scanned QR code holds, read as the server reads it
 * (server/api/payload.go): a desktop's ticket, <base>/q/<ref>, or a device
 * grant's <base>/device?user_code=CODE. Anything else is not a qrlogin
 * code, and the app says so in plain words instead of sending it.
 */
import { formatUserCode, normalizeUserCode } from "../web/device";

/** PATH_QR is what precedes a ref in a ticket's payload (api.PathQRPrefix). */
export const PATH_QR = "/q/";
/** PATH_DEVICE is the device grant's verification URI (api.PathDevice). */
export const PATH_DEVICE = "/device";

export type Scanned =
  | { kind: "ticket"; payload: string; base: string; ref: string }
  | { kind: "device"; payload: string; base: string; code: string }
  | { kind: "other"; message: string };

/** NOT_QRLOGIN is what the app says of a QR code that is not one of qrlogin's. */
export const NOT_QRLOGIN = "This QR code is not a qrlogin code. Scan the code that the computer or TV shows to log in.";

/** validRef reports whether s has the form of a ref (api.ValidRef): 22 to 64 base64url characters. */
export function validRef(s: string): boolean {
  return /^[A-Za-z0-9_-]{22,64}$/.test(s);
}

function url(text: string): URL | undefined {
  try {
    const u = new URL(text.trim());
    return (u.protocol === "http:" || u.protocol === "https:") && u.host ? u : undefined;
  } catch {
    return undefined;
  }
}

/** parseScanned reads the text of a QR code. */
export function parseScanned(text: string): Scanned {
  const u = url(text);
  if (!u) return { kind: "other", message: NOT_QRLOGIN };
  const i = u.pathname.lastIndexOf(PATH_QR);
  if (i >= 0 && !u.search && !u.hash && !text.includes("#")) {
    const ref = u.pathname.slice(i + PATH_QR.length);
    if (validRef(ref)) {
      return { kind: "ticket", payload: text.trim(), base: u.origin + u.pathname.slice(0, i), ref };
    }
  }
  if (u.pathname.endsWith(PATH_DEVICE)) {
    const code = normalizeUserCode(u.searchParams.get("user_code") ?? "");
    if (code) {
      return {
        kind: "device",
        payload: text.trim(),
        base: u.origin + u.pathname.slice(0, -PATH_DEVICE.length),
        code,
      };
    }
  }
  return { kind: "other", message: `${NOT_QRLOGIN} It links to ${u.host}.` };
}

/** ticketPayload is what a QR code of ref on the server at base holds (api.Payload). */
export function ticketPayload(base: string, ref: string): string {
  return base.replace(/\/+$/, "") + PATH_QR + ref;
}

/** devicePayload is a device grant's verification_uri_complete for code (api.DevicePayload). */
export function devicePayload(base: string, code: string): string {
  return `${base.replace(/\/+$/, "")}${PATH_DEVICE}?user_code=${encodeURIComponent(formatUserCode(code))}`;
}
