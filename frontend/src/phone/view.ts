/**
 * The phone web app's screens: view.ts draws PhoneApp's state (model.ts)
 * into the page and turns taps into the app's actions. A screen is built
 * once when it comes on, then only updated while it stays (so that a field
 * keeps its text and focus while the app is busy). Text from the server
 * (a desktop's name, an app's name) is only ever set as text.
 */
import { avatar } from "../components/avatar";
import { icons, logo } from "../components/icons";
import { h, svg } from "../dom";
import type { EnrolledDesktop, Grant, Session } from "./api";
import { ago, countdown, joinParts, scopeLines } from "./format";
import { Msg, type AppState, type PhoneApp, type Screen, type Tab } from "./model";
import { parseScanned } from "./payload";
import { Camera, decodePhoto, type Decoder } from "./scanner";

/** Env is what the screens need besides the app. */
export interface ViewEnv {
  now: () => number;
  origin: string;
  /** decoder gives the shared QR decoder (for the camera and photos). */
  decoder: () => Promise<Decoder>;
  /** retry is the offline screen's "Try again". */
  retry: () => void;
}

interface ScreenView {
  el: HTMLElement;
  update(s: Screen, st: AppState): void;
  destroy(): void;
}

type Factory = (app: PhoneApp, env: ViewEnv, s: Screen, st: AppState) => ScreenView;

const more = {
  camera: svg(
    '<svg class="icon" viewBox="0 0 24 24" width="24" height="24" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" stroke-linejoin="round" aria-hidden="true"><path d="M3 8V5a2 2 0 0 1 2-2h3M16 3h3a2 2 0 0 1 2 2v3M21 16v3a2 2 0 0 1-2 2h-3M8 21H5a2 2 0 0 1-2-2v-3"/><path d="M7 12h10"/></svg>',
  ),
  keypad: svg(
    '<svg class="icon" viewBox="0 0 24 24" width="24" height="24" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" stroke-linejoin="round" aria-hidden="true"><rect x="2.5" y="4" width="19" height="13" rx="2"/><path d="M8 21h8M12 17v4"/></svg>',
  ),
  devices: svg(
    '<svg class="icon" viewBox="0 0 24 24" width="24" height="24" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" stroke-linejoin="round" aria-hidden="true"><rect x="3" y="4" width="14" height="10" rx="1.5"/><path d="M1.5 17.5h17"/><rect x="17" y="9" width="5.5" height="11" rx="1.2"/></svg>',
  ),
};

const icon = (markup: string) => svg(markup);
const clone = (e: Element) => e.cloneNode(true) as Element;

/** setText sets el's text and hides it when empty. */
function setText(el: HTMLElement, text: string): void {
  el.textContent = text;
  el.hidden = !text;
}

function spinner(label: string): HTMLElement {
  return h("div", { class: "p-center" }, h("div", { class: "spinner", role: "progressbar", "aria-label": label }), h("p", { class: "muted" }, label));
}

const loading: Factory = () => ({
  el: h("section", { class: "p-screen" }, spinner("Opening qrlogin…")),
  update() {},
  destroy() {},
});

const checking: Factory = () => ({
  el: h("section", { class: "p-screen" }, spinner("Checking the code…")),
  update() {},
  destroy() {},
});

const offline: Factory = (_app, env, s) => {
  const msg = h("p", { class: "lead" });
  const el = h(
    "section",
    { class: "p-screen p-center", "aria-labelledby": "offline-title" },
    h("span", { class: "round-icon round-icon-error" }, icon(icons.unplugged)),
    h("h1", { id: "offline-title" }, "No connection"),
    msg,
    h("button", { class: "btn btn-primary btn-wide", type: "button", onclick: () => env.retry() }, "Try again"),
    h("p", { class: "fineprint" }, "qrlogin needs the Internet to log you in. It tries again by itself once you are back online."),
  );
  const update = (s: Screen) => {
    if (s.name === "offline") msg.textContent = s.message;
  };
  update(s);
  return { el, update, destroy() {} };
};

const signIn: Factory = (app, _env, s) => {
  const title = h("h1", { id: "signin-title" });
  const lead = h("p", { class: "lead" });
  const notice = h("p", { class: "notice-box", role: "status" });
  const username = h("input", {
    id: "username",
    class: "field",
    name: "username",
    type: "text",
    autocomplete: "username",
    autocapitalize: "none",
    autocorrect: "off",
    spellcheck: "false",
    required: true,
  });
  const password = h("input", { id: "password", class: "field", name: "password", type: "password", required: true });
  const displayName = h("input", { id: "display-name", class: "field", name: "display_name", type: "text", autocomplete: "name" });
  const nameRow = h(
    "div",
    { class: "form-row" },
    h("label", { for: "display-name" }, "Your name ", h("span", { class: "muted" }, "(optional, shown to computers you log in)")),
    displayName,
  );
  const error = h("p", { class: "field-error", role: "alert", id: "signin-error" });
  const submit = h("button", { class: "btn btn-primary btn-wide", type: "submit" });
  const switchText = h("span", { class: "muted" });
  const switchBtn = h("button", { class: "btn btn-link", type: "button" });
  let mode: "signin" | "create" = "signin";
  switchBtn.addEventListener("click", () => app.setMode(mode === "signin" ? "create" : "signin"));
  const form = h(
    "form",
    { class: "form", novalidate: true, autocomplete: "on" },
    h("div", { class: "form-row" }, h("label", { for: "username" }, "Username"), username),
    h("div", { class: "form-row" }, h("label", { for: "password" }, "Password"), password),
    nameRow,
    error,
    submit,
  );
  form.setAttribute("aria-describedby", "signin-error");
  clearOnInput(error, username, password, displayName);
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    if (mode === "create") void app.createAccount(username.value, password.value, displayName.value);
    else void app.signIn(username.value, password.value);
  });
  const el = h(
    "section",
    { class: "p-screen", "aria-labelledby": "signin-title" },
    h("div", { class: "card" }, title, lead, notice, form, h("p", { class: "switch" }, switchText, " ", switchBtn)),
  );
  const update = (s: Screen) => {
    if (s.name !== "signin") return;
    const changed = s.mode !== mode;
    mode = s.mode;
    const create = mode === "create";
    title.textContent = create ? "Create your account" : "Sign in";
    lead.textContent = s.forApproval
      ? "A computer is waiting for your approval. Sign in first, then approve it."
      : create
        ? "Create an account, then log in on computers by scanning their QR code with this phone."
        : "Sign in on this phone once. Then log in on any computer by scanning its QR code.";
    lead.classList.toggle("lead-strong", s.forApproval);
    setText(notice, s.notice);
    setText(error, s.error);
    username.toggleAttribute("aria-invalid", !!s.error);
    password.setAttribute("autocomplete", create ? "new-password" : "current-password");
    nameRow.hidden = !create;
    submit.textContent = s.busy ? (create ? "Creating account…" : "Signing in…") : create ? "Create account" : "Sign in";
    submit.disabled = s.busy;
    for (const f of [username, password, displayName]) f.disabled = s.busy;
    switchText.textContent = create ? "Already have an account?" : "New to qrlogin?";
    switchBtn.textContent = create ? "Back to sign in" : "Create account";
    switchBtn.disabled = s.busy;
    if (changed) username.focus();
    if (!s.busy && s.error) (s.error === Msg.wrongPassword ? password : username).focus();
  };
  update(s);
  return { el, update, destroy() {} };
};

const scan: Factory = (app, env, s) => {
  const message = h("p", { class: "scan-message", role: "status" });
  const slot = h("div", { class: "camera-slot" });
  const hero = h(
    "div",
    { class: "hero" },
    h("span", { class: "round-icon" }, clone(more.camera)),
    h("h1", { id: "scan-title" }, "Log in on a computer"),
    h("p", { class: "lead" }, "Open the qrlogin login on the computer, then scan the QR code that it shows."),
  );
  const scanBtn = h("button", { class: "btn btn-primary btn-wide btn-big", type: "button", onclick: () => app.openCamera() }, "Scan");
  const cancel = h("button", { class: "btn btn-secondary btn-wide", type: "button", onclick: () => app.closeCamera() }, "Cancel");
  const photo = h("input", { id: "photo", class: "visually-hidden", type: "file", accept: "image/*", capture: "environment" });
  const photoLabel = h("label", { class: "btn btn-secondary btn-wide", for: "photo" }, "Choose a photo");
  const codeLink = navLink(app, "code", "Log in a TV instead: enter its code");
  codeLink.className = "btn btn-link";
  const pointHint = h("p", { class: "hint-line" }, "Point the camera at the QR code on the computer's screen.");
  const el = h(
    "section",
    { class: "p-screen", "aria-labelledby": "scan-title" },
    hero,
    pointHint,
    slot,
    message,
    h("div", { class: "actions" }, scanBtn, cancel, photoLabel, photo),
    codeLink,
  );

  let camera: Camera | undefined;
  let reading = false;
  photo.addEventListener("change", async () => {
    const file = photo.files?.[0];
    photo.value = "";
    if (!file || reading) return;
    reading = true;
    photoLabel.classList.add("busy");
    app.say("Reading the photo…");
    try {
      const take = pick(await decodePhoto(file, await env.decoder()));
      if (take === undefined) app.say(Msg.noCodeInPhoto);
      else {
        app.closeCamera();
        app.scanText(take);
      }
    } catch {
      app.say("That file could not be read as a picture. Choose a photo of the QR code.");
    } finally {
      reading = false;
      photoLabel.classList.remove("busy");
    }
  });

  const startCamera = () => {
    // The decoder (its WebAssembly, where the browser has no BarcodeDetector)
    // loads while the camera starts, not after its first frame: about half a
    // second less to the first scan.
    env.decoder().catch(() => {}); // the camera asks again, and says why it fails
    camera = new Camera({
      decoder: env.decoder,
      onText: (texts) => {
        // The first qrlogin code is taken; another code is said to be none and the camera goes on.
        app.scanText(pick(texts) ?? "");
        return app.state.screen.name !== "scan";
      },
      onProblem: (p) => {
        stopCamera();
        app.closeCamera(p === "refused" ? Msg.refused : Msg.noCamera);
        photoLabel.focus();
      },
    });
    slot.replaceChildren(camera.el);
    void camera.start();
  };
  const stopCamera = () => {
    camera?.stop();
    camera = undefined;
    slot.replaceChildren();
  };

  const update = (s: Screen) => {
    if (s.name !== "scan") return;
    if (s.camera && !camera) startCamera();
    if (!s.camera && camera) stopCamera();
    hero.hidden = s.camera;
    pointHint.hidden = !s.camera;
    scanBtn.hidden = s.camera;
    cancel.hidden = !s.camera;
    codeLink.hidden = s.camera;
    setText(message, s.message);
    message.classList.toggle("scan-message-problem", !!s.message && s.message !== "Reading the photo…");
    el.dataset.camera = s.camera ? "on" : "off";
  };
  update(s);
  return { el, update, destroy: stopCamera };
};

/** pick is the code to take of those in a frame: a qrlogin code if there is one. */
export function pick(texts: string[]): string | undefined {
  const some = texts.filter((t) => t.trim());
  return some.find((t) => parseScanned(t).kind !== "other") ?? some[0];
}

const code: Factory = (app, _env, s) => {
  const field = h("input", {
    id: "user-code",
    class: "field code-field",
    name: "user_code",
    type: "text",
    inputmode: "text",
    autocapitalize: "characters",
    autocorrect: "off",
    autocomplete: "off",
    spellcheck: "false",
    maxlength: "20",
    placeholder: "XXXX-XXXX",
    "aria-describedby": "code-error",
  });
  const error = h("p", { class: "field-error", role: "alert", id: "code-error" });
  const submit = h("button", { class: "btn btn-primary btn-wide", type: "submit" }, "Continue");
  const form = h(
    "form",
    { class: "form", novalidate: true },
    h("div", { class: "form-row" }, h("label", { for: "user-code" }, "Code shown on the device"), field),
    error,
    submit,
  );
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    app.submitCode(field.value);
  });
  clearOnInput(error, field);
  const el = h(
    "section",
    { class: "p-screen", "aria-labelledby": "code-title" },
    h(
      "div",
      { class: "card" },
      h("span", { class: "round-icon" }, clone(more.keypad)),
      h("h1", { id: "code-title" }, "Log in a TV or another device"),
      h("p", { class: "lead" }, "Type the code that the device shows, such as ", h("strong", { class: "user-code" }, "WDJB-MJHT"), "."),
      form,
    ),
  );
  const update = (s: Screen) => {
    if (s.name !== "code") return;
    setText(error, s.error);
    field.toggleAttribute("aria-invalid", !!s.error);
    if (s.typed && field.value !== s.typed && !s.error) field.value = s.typed;
    submit.disabled = s.busy;
    field.disabled = s.busy;
    submit.textContent = s.busy ? "Checking…" : "Continue";
    if (s.error) field.focus();
  };
  update(s);
  queueMicrotask(() => field.focus());
  return { el, update, destroy() {} };
};

/** clearOnInput hides error, a field's message, once the person types again. */
function clearOnInput(error: HTMLElement, ...fields: HTMLInputElement[]): void {
  for (const f of fields) {
    f.addEventListener("input", () => {
      error.hidden = true;
      for (const g of fields) g.removeAttribute("aria-invalid");
    });
  }
}

/** details is a <dl> of the rows whose value is set. */
function details(rows: [string, string][]): HTMLElement {
  const dl = h("dl", { class: "facts" });
  for (const [k, v] of rows) if (v) dl.append(h("dt", {}, k), h("dd", {}, v));
  return dl;
}

const approve: Factory = (app, env, s) => {
  const scan = (s as Extract<Screen, { name: "approve" }>).scan;
  const desk = scan.desktop;
  const a = scan.app;
  const asked = h("dd", {});
  const left = h("p", { class: "expiry", "aria-live": "off" });
  const error = h("p", { class: "field-error", role: "alert", id: "approve-error" });
  const approveBtn = h("button", { class: "btn btn-primary btn-wide btn-big", type: "button" }, "Approve");
  const denyBtn = h("button", { class: "btn btn-danger btn-wide", type: "button", onclick: () => void app.deny() }, "Deny");
  const match = h("input", {
    id: "match-code",
    class: "field match-field",
    type: "text",
    inputmode: "numeric",
    pattern: "[0-9]*",
    autocomplete: "off",
    maxlength: "8",
    "aria-describedby": "approve-error",
  });
  approveBtn.addEventListener("click", () => void app.approve(match.value));
  clearOnInput(error, match);

  const parts: (HTMLElement | false)[] = [];
  let title: string;
  if (a) {
    title = `Log in to ${a.name}?`;
  } else {
    title = "Log in on this computer?";
  }
  const head = h(
    "div",
    { class: "ask-head" },
    a ? h("span", { class: "client-badge", "aria-hidden": "true" }, [...a.name.trim()][0]?.toUpperCase() ?? "?") : h("span", { class: "round-icon" }, clone(more.keypad)),
    h("h1", { id: "approve-title" }, title),
  );
  parts.push(head);

  // The desktop, as the server recorded it when the QR code was asked for.
  const deviceName = h("p", { class: "device-name", "data-testid": "desktop-name" }, desk.name || "Unnamed device");
  const factsEl = details([
    ["System", desk.os],
    ["App", desk.app],
    ["IP address", desk.ip],
  ]);
  const askedRow = [h("dt", {}, "Asked"), asked];
  factsEl.append(...askedRow);
  parts.push(h("div", { class: "desk" }, h("p", { class: "desk-label" }, a?.user_code ? "Device" : "Computer"), deviceName, factsEl));

  if (a?.user_code) {
    parts.push(
      h(
        "div",
        { class: "code-check", role: "note" },
        h("p", {}, "Check that the TV shows ", h("strong", { class: "user-code user-code-big" }, a.user_code)),
        h("p", { class: "muted" }, "Only approve if the code on its screen is exactly this one."),
      ),
    );
  }
  if (scan.warning) {
    parts.push(h("div", { class: "warning", role: "alert" }, icon(icons.alert), h("p", {}, scan.warning)));
  }
  if (a) {
    const lines = scopeLines(a.scopes);
    parts.push(
      h(
        "div",
        { class: "consent" },
        h("p", { class: "consent-title" }, `${a.name} will get:`),
        h("ul", { class: "scopes" }, ...(lines.length ? lines : ["Nothing but that you logged in"]).map((l) => h("li", {}, icon(icons.check), l))),
        a.redirect_host ? h("p", { class: "consent-note" }, "Then the browser goes back to ", h("strong", {}, a.redirect_host), ".") : false,
      ),
    );
  }
  if (scan.match_required) {
    parts.push(
      h(
        "div",
        { class: "form-row match" },
        h("label", { for: "match-code" }, "Code shown on the computer"),
        h("p", { class: "muted" }, "Type the number that the computer shows next to its QR code, so that only the computer in front of you logs in."),
        match,
      ),
    );
  }
  parts.push(error, h("div", { class: "actions" }, approveBtn, denyBtn), left);
  parts.push(h("p", { class: "fineprint" }, "Didn't try to log in? Deny: nothing is logged in."));

  const el = h("section", { class: "p-screen approve", "aria-labelledby": "approve-title" }, h("div", { class: "card" }, ...parts.filter((p): p is HTMLElement => !!p)));
  let busy = false;
  const tick = () => {
    asked.textContent = ago(desk.created_at, env.now()) || "just now";
    const c = countdown(scan.expires_at, env.now());
    left.textContent = c ? `Answer within ${c}` : "This request has expired. Scan a new QR code.";
    left.classList.toggle("expired", !c);
    approveBtn.disabled = busy || !c;
  };
  const timer = setInterval(tick, 1000);
  const update = (s: Screen) => {
    if (s.name !== "approve") return;
    busy = s.busy;
    setText(error, s.error);
    match.toggleAttribute("aria-invalid", !!s.error && scan.match_required);
    denyBtn.disabled = s.busy;
    match.disabled = s.busy;
    approveBtn.textContent = s.busy ? "Sending…" : "Approve";
    tick();
    if (s.error && scan.match_required) match.focus();
  };
  update(s);
  return { el, update, destroy: () => clearInterval(timer) };
};

/**
 * request is a one-tap login: the desktop that asks, from where, and the
 * three numbers as big buttons, of which the person taps the one the
 * desktop shows; Deny, and a quieter "Not me" that asks to confirm.
 */
const request: Factory = (app, env, s) => {
  const r = (s as Extract<Screen, { name: "request" }>).request;
  const desk = r.desktop;
  const name = desk.name || "a computer";
  const asked = h("dd", {});
  const left = h("p", { class: "expiry", "aria-live": "off" });
  const error = h("p", { class: "field-error", role: "alert", id: "request-error" });
  const numbers = r.choices.map((n) =>
    h("button", { class: "btn number-btn", type: "button", "data-number": n, onclick: () => void app.pickNumber(n) }, n),
  );
  const denyBtn = h("button", { class: "btn btn-danger btn-wide", type: "button", onclick: () => void app.denyRequest() }, "Deny");
  const notMeBtn = h("button", { class: "btn btn-link btn-quiet", type: "button", onclick: () => app.notMe() }, "Not me");
  const removeBtn = h("button", { class: "btn btn-danger btn-wide", type: "button", onclick: () => void app.confirmNotMe() }, "Remove this computer");
  const keepBtn = h("button", { class: "btn btn-secondary btn-wide", type: "button", onclick: () => app.cancelNotMe() }, "Cancel");
  const confirm = h(
    "div",
    { class: "not-me", role: "alertdialog", "aria-labelledby": "not-me-title", "aria-describedby": "not-me-text" },
    h("p", { class: "not-me-title", id: "not-me-title" }, `Remove ${desk.name || "this computer"}?`),
    h(
      "p",
      { id: "not-me-text" },
      "It is not logged in, its sessions end, and it can no longer ask this phone to log in: it has to scan a QR code again. Do this if you don't know this computer.",
    ),
    h("div", { class: "actions" }, removeBtn, keepBtn),
  );

  const factsEl = details([
    ["System", desk.os],
    ["IP address", desk.ip],
  ]);
  factsEl.append(h("dt", {}, "Asked"), asked);
  const parts: (HTMLElement | false)[] = [
    h("div", { class: "ask-head" }, h("span", { class: "round-icon" }, clone(more.keypad)), h("h1", { id: "request-title" }, `Log in on ${name}?`)),
    h(
      "div",
      { class: "desk" },
      h("p", { class: "desk-label" }, "Computer"),
      h("p", { class: "device-name", "data-testid": "request-desktop-name" }, desk.name || "Unnamed computer"),
      factsEl,
    ),
    !!r.warning && h("div", { class: "warning", role: "alert" }, icon(icons.alert), h("p", {}, r.warning)),
    h(
      "div",
      { class: "numbers-box" },
      h("p", { class: "numbers-label", id: "numbers-label" }, "Tap the number shown on your computer"),
      h("div", { class: "numbers", role: "group", "aria-labelledby": "numbers-label" }, ...numbers),
    ),
    error,
    left,
    h("div", { class: "actions" }, denyBtn, notMeBtn),
    confirm,
    h("p", { class: "fineprint" }, "Didn't try to log in? Deny. Don't know this computer? Tap Not me."),
  ];
  const el = h(
    "section",
    { class: "p-screen approve request", "aria-labelledby": "request-title" },
    h("div", { class: "card" }, ...parts.filter((p): p is HTMLElement => !!p)),
  );
  let busy = false;
  const tick = () => {
    asked.textContent = ago(desk.created_at, env.now()) || "just now";
    const c = countdown(r.expires_at, env.now());
    left.textContent = c ? `Answer within ${c}` : "This request has expired. Ask again from the computer.";
    left.classList.toggle("expired", !c);
    for (const b of numbers) b.disabled = busy || !c;
  };
  const timer = setInterval(tick, 1000);
  const update = (s: Screen) => {
    if (s.name !== "request") return;
    busy = !!s.busy;
    setText(error, s.error);
    for (const b of numbers) {
      const mine = s.busy === "approve" && b.dataset.number === s.picked;
      b.classList.toggle("picked", mine);
      b.setAttribute("aria-busy", String(mine));
    }
    denyBtn.disabled = busy;
    denyBtn.textContent = s.busy === "deny" ? "Denying…" : "Deny";
    notMeBtn.disabled = busy;
    notMeBtn.hidden = s.confirmNotMe;
    confirm.hidden = !s.confirmNotMe;
    removeBtn.disabled = busy;
    keepBtn.disabled = busy;
    removeBtn.textContent = s.busy === "not_me" ? "Removing…" : "Remove this computer";
    tick();
    if (s.confirmNotMe && !busy) queueMicrotask(() => keepBtn.focus());
  };
  update(s);
  return { el, update, destroy: () => clearInterval(timer) };
};

const outcome: Factory = (app, _env, s) => {
  const { outcome: o, back } = s as Extract<Screen, { name: "outcome" }>;
  const mark = o.kind === "approved" ? icons.check : o.kind === "denied" ? icons.denied : icons.alert;
  const done = h("button", { class: "btn btn-primary btn-wide", type: "button", onclick: () => app.done() }, o.kind === "failed" && !back ? "Scan again" : "Done");
  const el = h(
    "section",
    { class: `p-screen p-center outcome outcome-${o.kind}`, "aria-labelledby": "outcome-title", role: "status" },
    h("span", { class: `round-icon round-icon-big${o.kind === "approved" ? "" : " round-icon-error"}` }, icon(mark)),
    h("h1", { id: "outcome-title" }, o.title),
    h("p", { class: "lead" }, o.message),
    done,
  );
  queueMicrotask(() => done.focus());
  return { el, update() {}, destroy() {} };
};

/** since is "Signed in 3 hours ago", or "" when the time is unknown. */
function since(what: string, iso: string | undefined, env: ViewEnv): string {
  const a = ago(iso, env.now());
  return a ? `${what} ${a}` : "";
}

function sessionItem(app: PhoneApp, env: ViewEnv, x: Session, busy: string): HTMLElement {
  const name = x.device?.name || "Unnamed computer";
  const btn = h(
    "button",
    { class: "btn btn-secondary btn-small btn-danger-text", type: "button", "aria-label": `Log out ${name}`, onclick: () => void app.logOutSession(x.id) },
    busy === x.id ? "Logging out…" : "Log out",
  );
  btn.disabled = !!busy;
  return h(
    "li",
    { class: "item", "data-session": x.id },
    h(
      "div",
      { class: "item-text" },
      h("p", { class: "item-name" }, name),
      h("p", { class: "item-sub" }, joinParts(x.device?.os, x.device?.app, x.ip)),
      h("p", { class: "item-sub" }, joinParts(since("Signed in", x.created_at, env), since("active", x.last_seen_at, env))),
    ),
    btn,
  );
}

function desktopItem(app: PhoneApp, env: ViewEnv, x: EnrolledDesktop, busy: string): HTMLElement {
  const name = x.name || "Unnamed computer";
  const btn = h(
    "button",
    { class: "btn btn-secondary btn-small btn-danger-text", type: "button", "aria-label": `Remove ${name}`, onclick: () => void app.removeDesktop(x.id) },
    busy === x.id ? "Removing…" : "Remove",
  );
  btn.disabled = !!busy;
  return h(
    "li",
    { class: "item", "data-desktop": x.id },
    h(
      "div",
      { class: "item-text" },
      h("p", { class: "item-name" }, name),
      h("p", { class: "item-sub" }, joinParts(x.os, x.ip)),
      h("p", { class: "item-sub" }, since("Last used", x.last_used_at, env) || since("Remembered", x.created_at, env)),
    ),
    btn,
  );
}

function grantItem(app: PhoneApp, env: ViewEnv, g: Grant, busy: string): HTMLElement {
  const name = g.app || "Unnamed app";
  const btn = h(
    "button",
    { class: "btn btn-secondary btn-small btn-danger-text", type: "button", "aria-label": `Log out ${name}`, onclick: () => void app.logOutGrant(g.id) },
    busy === g.id ? "Logging out…" : "Log out",
  );
  btn.disabled = !!busy;
  return h(
    "li",
    { class: "item", "data-grant": g.id },
    h(
      "div",
      { class: "item-text" },
      h("p", { class: "item-name" }, name),
      h("p", { class: "item-sub" }, scopeLines(g.scopes).join("; ")),
      h("p", { class: "item-sub" }, joinParts(since("Allowed", g.created_at, env), since("used", g.last_used_at, env))),
    ),
    btn,
  );
}

const devices: Factory = (app, env, s, st) => {
  const notice = h("p", { class: "notice-box", role: "status" });
  const error = h("p", { class: "field-error", role: "alert" });
  const sessions = h("ul", { class: "items", "aria-label": "Computers" });
  const grants = h("ul", { class: "items", "aria-label": "Apps" });
  const grantsSection = h("section", { class: "group", "aria-labelledby": "apps-title" }, h("h2", { id: "apps-title" }, "Apps"), grants);
  const desktops = h("ul", { class: "items", "aria-label": "Remembered computers" });
  const desktopsSection = h(
    "section",
    { class: "group", "aria-labelledby": "remembered-title" },
    h("h2", { id: "remembered-title" }, "Remembered computers"),
    h("p", { class: "group-hint" }, "They can ask this phone to log in again with one tap. Remove one to make it scan a QR code again."),
    desktops,
  );
  const refresh = h("button", { class: "btn btn-link", type: "button", onclick: () => void app.loadDevices() }, "Refresh");
  const signOut = h("button", { class: "btn btn-danger btn-wide", type: "button", onclick: () => void app.signOut() }, "Sign out");
  const who = h("div", { class: "who" });
  const el = h(
    "section",
    { class: "p-screen", "aria-labelledby": "devices-title" },
    h("div", { class: "title-row" }, h("h1", { id: "devices-title" }, "Your devices"), refresh),
    notice,
    error,
    h("section", { class: "group", "aria-labelledby": "computers-title" }, h("h2", { id: "computers-title" }, "Computers"), sessions),
    desktopsSection,
    grantsSection,
    h(
      "section",
      { class: "group", "aria-labelledby": "phone-title" },
      h("h2", { id: "phone-title" }, "This phone"),
      h(
        "div",
        { class: "card card-tight" },
        who,
        h("p", { class: "muted small" }, "Signing out also logs out the computers and apps that you approved from this phone."),
        signOut,
      ),
    ),
  );
  const update = (s: Screen, st: AppState) => {
    if (s.name !== "devices") return;
    setText(notice, s.notice);
    setText(error, s.error);
    el.setAttribute("aria-busy", String(s.loading));
    if (s.loading && !s.sessions.length && !s.grants.length) sessions.replaceChildren(h("li", { class: "empty" }, "Loading…"));
    else
      sessions.replaceChildren(
        ...(s.sessions.length ? s.sessions.map((x) => sessionItem(app, env, x, s.busyId)) : [h("li", { class: "empty" }, "No computer is logged in to your account.")]),
      );
    grants.replaceChildren(...s.grants.map((g) => grantItem(app, env, g, s.busyId)));
    desktops.replaceChildren(...s.desktops.map((x) => desktopItem(app, env, x, s.busyId)));
    desktopsSection.hidden = !s.desktops.length;
    grantsSection.hidden = !s.grants.length;
    signOut.disabled = s.signingOut;
    signOut.textContent = s.signingOut ? "Signing out…" : "Sign out";
    const u = st.user;
    const name = u?.display_name || u?.username || "";
    const pic = u?.avatar_url && sameOrigin(u.avatar_url, env.origin) ? u.avatar_url : undefined;
    who.replaceChildren(
      avatar(pic, name || "?", "md"),
      h("div", { class: "who-text" }, h("p", { class: "item-name" }, name), h("p", { class: "item-sub" }, u?.username ? `Signed in as ${u.username}` : "Signed in")),
    );
  };
  update(s, st);
  return { el, update, destroy() {} };
};

/**
 * navLink is a link to a tab. Following it changes the fragment, which the
 * app follows (hashchange); when the fragment is that tab's already (the
 * app left it for an approval), the click goes to the tab itself.
 */
function navLink(app: PhoneApp, tab: Tab, ...children: (Node | string)[]): HTMLAnchorElement {
  const href = `#${tab}`;
  return h(
    "a",
    {
      href,
      onclick: (e: Event) => {
        if (location.hash === href) {
          e.preventDefault();
          app.go(tab);
        }
      },
    },
    ...children,
  );
}

/** sameOrigin reports whether url is on origin (the CSP lets images come from there only). */
export function sameOrigin(url: string, origin: string): boolean {
  try {
    return new URL(url, origin).origin === origin;
  } catch {
    return false;
  }
}

const factories: Record<Screen["name"], Factory> = {
  loading,
  offline,
  signin: signIn,
  scan,
  checking,
  code,
  approve,
  request,
  outcome,
  devices,
};

/** shownName is what body[data-shown] says for a screen (tests wait on it). */
export function shownName(s: Screen): string {
  if (s.name === "outcome") return `outcome-${s.outcome.kind}`;
  if (s.name === "scan" && s.camera) return "camera";
  return s.name;
}

/**
 * mountView draws app into root (the page's body holds the rest) until the
 * returned unmount.
 */
export function mountView(root: HTMLElement, app: PhoneApp, env: ViewEnv): () => void {
  const header = h(
    "header",
    { class: "top" },
    h("span", { class: "brand" }, svg(logo), "qrlogin"),
  );
  const userChip = h("span", { class: "user-chip" });
  header.append(userChip);
  const banner = h("div", { class: "banner-slot", "aria-live": "polite" });
  const main = h("main", { class: "p-main", id: "main" });
  const tabs = h("nav", { class: "tabs", "aria-label": "Main" });
  const tabLinks: Record<Tab, HTMLAnchorElement> = {
    scan: navLink(app, "scan", clone(more.camera), h("span", {}, "Scan")),
    code: navLink(app, "code", clone(more.keypad), h("span", {}, "Enter code")),
    devices: navLink(app, "devices", clone(more.devices), h("span", {}, "Devices")),
  };
  tabs.append(tabLinks.scan, tabLinks.code, tabLinks.devices);
  root.replaceChildren(header, banner, main, tabs);

  let current: { name: Screen["name"]; key: unknown; view: ScreenView } | undefined;
  let lastBanner: AppState["banner"];
  const render = (st: AppState) => {
    const s = st.screen;
    // A new scan or outcome is a new screen even when one of its kind shows.
    const key = s.name === "approve" ? s.scan : s.name === "request" ? s.request : s.name === "outcome" ? s.outcome : undefined;
    if (current && current.name === s.name && current.key === key) {
      current.view.update(s, st);
    } else {
      current?.view.destroy();
      const view = factories[s.name](app, env, s, st);
      current = { name: s.name, key, view };
      main.replaceChildren(view.el);
      window.scrollTo?.(0, 0);
    }
    const signedIn = !!st.user;
    tabs.hidden = !signedIn;
    document.body.classList.toggle("signed-in", signedIn);
    for (const [tab, a] of Object.entries(tabLinks) as [Tab, HTMLAnchorElement][]) {
      if (signedIn && st.tab === tab) a.setAttribute("aria-current", "page");
      else a.removeAttribute("aria-current");
    }
    userChip.textContent = st.user ? st.user.display_name || st.user.username || "" : "";
    if (st.banner !== lastBanner) {
      lastBanner = st.banner;
      banner.replaceChildren(st.banner ? bannerEl(app, st.banner) : "");
    }
    document.body.dataset.shown = shownName(s);
  };
  const off = app.subscribe(render);
  render(app.state);
  return () => {
    off();
    current?.view.destroy();
    current = undefined;
    root.replaceChildren();
  };
}

function bannerEl(app: PhoneApp, b: NonNullable<AppState["banner"]>): HTMLElement {
  return h(
    "div",
    { class: "banner-new", role: "status", "data-testid": "banner" },
    icon(icons.alert),
    h("div", { class: "banner-text" }, h("p", { class: "banner-title" }, b.title), b.detail ? h("p", { class: "banner-detail" }, b.detail) : false, navLink(app, "devices", "Not you? See your devices")),
    h("button", { class: "btn-close", type: "button", "aria-label": "Dismiss", onclick: () => app.dismissBanner() }, icon(icons.close)),
  );
}
