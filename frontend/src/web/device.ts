/**
 * The device grant's verification page, /device (RFC 8628's
 * verification_uri): a TV, or another device, shows a user code such as
 * WDJB-MJHT and says to go here. Nothing is approved in a browser: the
 * person approves on the phone, where they are logged in, by scanning the
 * device's QR code or typing its code in the qrlogin app. This page takes
 * the code, checks its form (it asks the server nothing, so that it is no
 * oracle of live codes for anyone on the Internet), and says what to do
 * with it on the phone. A camera app that opened the device's QR code lands
 * here with ?user_code=, which the page takes as if typed.
 *
 * The server's template (server/web/templates/device.html) holds the form
 * and the steps; this script only fills them in. The pages' CSP forbids
 * submitting any form (form-action 'none'), so the form is never sent.
 */

/** USER_CODE_ALPHABET is RFC 8628's 20 consonants (api.UserCodeAlphabet in Go). */
export const USER_CODE_ALPHABET = "BCDFGHJKLMNPQRSTVWXZ";

/** USER_CODE_LENGTH is the letters in a user code (api.UserCodeLen in Go). */
export const USER_CODE_LENGTH = 8;

/** CODE matches a user code without separators, in either case (ASCII only, as in Go). */
const CODE = new RegExp(`^[${USER_CODE_ALPHABET}${USER_CODE_ALPHABET.toLowerCase()}]{${USER_CODE_LENGTH}}$`);

/**
 * normalizeUserCode returns a typed user code as the server stores it, or
 * undefined if it cannot be one; the same rules as api.NormalizeUserCode:
 * any case, dashes and spaces anywhere ignored, then exactly 8 letters of
 * the alphabet.
 */
export function normalizeUserCode(typed: string): string | undefined {
  if (typed.length > 64) return undefined;
  const code = typed.replace(/[\s\p{Pd}]/gu, "");
  return CODE.test(code) ? code.toUpperCase() : undefined;
}

/** formatUserCode shows a normalized code as the device does: WDJB-MJHT. */
export function formatUserCode(code: string): string {
  return `${code.slice(0, USER_CODE_LENGTH / 2)}-${code.slice(USER_CODE_LENGTH / 2)}`;
}

/** NOT_A_CODE is what the page says of text that cannot be a user code. */
export const NOT_A_CODE =
  "That is not a device code. It has 8 letters, such as WDJB-MJHT, with no vowels and no digits: check it on the device's screen.";

/**
 * mountDevicePage runs the page in doc: the form #device-form with its
 * field #user-code and message #device-error, and the steps #device-next,
 * whose [data-code] elements show the code. search is the page's query
 * (location.search); replace puts the code in the address bar (or takes it
 * out), so that a reload keeps it. It does nothing on a page without them.
 */
export function mountDevicePage(doc: Document, search: string, replace: (query: string) => void): void {
  const form = doc.getElementById("device-form") as HTMLFormElement | null;
  const field = doc.getElementById("user-code") as HTMLInputElement | null;
  const error = doc.getElementById("device-error");
  const next = doc.getElementById("device-next");
  const again = doc.getElementById("device-again");
  if (!form || !field || !error || !next) return;

  const fail = () => {
    error.textContent = NOT_A_CODE;
    error.hidden = false;
    field.setAttribute("aria-invalid", "true");
    field.focus();
  };
  const show = (code: string) => {
    const shown = formatUserCode(code);
    for (const el of next.querySelectorAll("[data-code]")) el.textContent = shown;
    error.hidden = true;
    field.removeAttribute("aria-invalid");
    form.hidden = true;
    next.hidden = false;
    doc.body.dataset.shown = "code";
    replace(`?user_code=${shown}`);
  };
  const take = (typed: string) => {
    const code = normalizeUserCode(typed);
    if (code) show(code);
    else fail();
  };

  form.addEventListener("submit", (e) => {
    e.preventDefault();
    take(field.value);
  });
  again?.addEventListener("click", () => {
    next.hidden = true;
    form.hidden = false;
    field.value = "";
    doc.body.dataset.shown = "form";
    replace("");
    field.focus();
  });

  const given = new URLSearchParams(search).get("user_code");
  if (given !== null) {
    field.value = given;
    take(given);
  } else {
    doc.body.dataset.shown = "form";
  }
}
