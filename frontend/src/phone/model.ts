/**
 * The phone web app's state machine: which screen shows, and what each
 * tap does with the server. It holds no DOM (view.ts draws its state) and
 * reaches the world only through Deps, so that tests drive it with fakes.
 *
 * Routes are the page's fragment: #scan (the home screen), #code, #devices,
 * and #q=<ref>, where a phone's camera app lands from a desktop's QR code
 * (the server redirects /q/<ref> there). The fragment never reaches a
 * server. A #q= link is only scanned for a signed-in phone: signed out, the
 * app asks to sign in first and then goes on to the approval.
 *
 * One-tap login: a desktop whose key is enrolled asks the account's phones
 * to let it in again (a login_request on the channel, or one waiting in
 * the list fetched when the app opens, the channel (re)connects and the
 * app comes back to the foreground). The app shows it as its own screen
 * unless the person is in the middle of something (an approval, a code
 * being checked): then it waits for that to end.
 */
import {
  Code,
  Decision,
  Event,
  ProtocolError,
  State,
  Unreachable,
  type EnrolledDesktop,
  type Grant,
  type LoginRequest,
  type MobileEvent,
  type PhoneAPI,
  type ScanResponse,
  type Session,
  type User,
} from "./api";
import { joinParts, phoneDevice } from "./format";
import { devicePayload, parseScanned, ticketPayload, validRef } from "./payload";
import { formatUserCode, NOT_A_CODE, normalizeUserCode } from "../web/device";

export type Tab = "scan" | "code" | "devices";

/** Route is what a fragment asks for. */
export interface Route {
  tab: Tab;
  /** ref is a desktop's ticket to scan (#q=<ref>). */
  ref?: string;
  /** badLink is a #q= whose ref cannot be one. */
  badLink?: boolean;
}

/** parseHash reads location.hash. */
export function parseHash(hash: string): Route {
  const h = hash.replace(/^#/, "");
  if (h.startsWith("q=")) {
    let ref = "";
    try {
      ref = decodeURIComponent(h.slice(2));
    } catch {
      // a broken escape: not a ref
    }
    return validRef(ref) ? { tab: "scan", ref } : { tab: "scan", badLink: true };
  }
  if (h === "code" || h === "devices") return { tab: h };
  return { tab: "scan" };
}

/** hashOf is the fragment of a tab. */
export function hashOf(tab: Tab): string {
  return `#${tab}`;
}

/** Outcome is how an approval (or a try at one) ended. */
export interface Outcome {
  kind: "approved" | "denied" | "failed";
  title: string;
  message: string;
}

export type Screen =
  | { name: "loading" }
  | { name: "offline"; message: string }
  | {
      name: "signin";
      mode: "signin" | "create";
      busy: boolean;
      error: string;
      /** notice is a calm word above the form: "You signed out." */
      notice: string;
      /** forApproval: a desktop's login waits for the sign-in. */
      forApproval: boolean;
    }
  | { name: "scan"; camera: boolean; message: string }
  | { name: "checking" }
  | { name: "code"; busy: boolean; error: string; typed: string }
  | { name: "approve"; scan: ScanResponse; busy: boolean; error: string; scannedAt: number }
  | {
      /** request is a one-tap login: tap the number the desktop shows. */
      name: "request";
      request: LoginRequest;
      /** busy is the answer being sent, "" when none. */
      busy: "" | Decision;
      /** picked is the number tapped (busy approve). */
      picked: string;
      error: string;
      /** confirmNotMe: "Not me" was tapped and asks to confirm (it removes the computer). */
      confirmNotMe: boolean;
    }
  | {
      name: "outcome";
      outcome: Outcome;
      /** back is the tab that Done goes back to, for a one-tap request's outcome (else the scan screen). */
      back?: Tab;
    }
  | {
      name: "devices";
      loading: boolean;
      sessions: Session[];
      grants: Grant[];
      /** desktops are the computers remembered for one-tap login. */
      desktops: EnrolledDesktop[];
      error: string;
      notice: string;
      /** busyId is the session or grant being logged out, or the desktop being removed. */
      busyId: string;
      signingOut: boolean;
    };

/** Banner tells of a desktop that signed in while the app is open. */
export interface Banner {
  title: string;
  detail: string;
}

export interface AppState {
  screen: Screen;
  /** user is the signed-in account. */
  user?: User;
  /** tab is the tab bar's current tab (signed in only). */
  tab: Tab;
  banner?: Banner;
}

/** Deps is the world as the app reaches it. */
export interface Deps {
  api: PhoneAPI;
  /** origin is the server's (the page's) origin: a #q= link's payload is <origin>/q/<ref>. */
  origin: string;
  userAgent: string;
  /** storage keeps the device id (localStorage): not a secret. */
  storage: Pick<Storage, "getItem" | "setItem">;
  /** setHash puts a fragment in the address bar without a navigation (history.replaceState). */
  setHash: (hash: string) => void;
  now: () => number;
  /** randomId returns a new device id. */
  randomId: () => string;
  /**
   * listen opens the phone's channel (events.ts); it returns the stop. The
   * app opens it once signed in and stops it at sign-out.
   */
  listen?: (handlers: { onEvent: (ev: MobileEvent) => void; onSignedOut: () => void; onOpen: () => void }) => () => void;
}

/** DEVICE_ID_KEY is the localStorage key of the device id. */
export const DEVICE_ID_KEY = "qrlogin.device_id";

/** Messages that more than one place says. */
export const Msg = {
  offline: "No connection. Check that your phone is online, then try again.",
  unreachable: "qrlogin can't reach its server. Check that your phone is online, then try again.",
  signedOut: "You were signed out. Sign in again to go on.",
  wrongPassword: "Wrong username or password.",
  refused:
    "Camera access was refused. Choose a photo of the QR code instead, or allow the camera for this site in your browser's settings.",
  noCamera: "This browser can't use a camera here. Choose a photo of the QR code instead.",
  noCodeInPhoto: "No QR code was found in that photo. Take it again, closer, with the whole code in the frame.",
  badLink: "This link is not a qrlogin code. Scan the QR code that the computer shows.",
} as const;

const usernameRe = /^[A-Za-z0-9_.-]{3,32}$/;

/** PhoneApp is the app: its state, and the actions that the screens call. */
export class PhoneApp {
  private st: AppState = { screen: { name: "loading" }, tab: "scan" };
  private readonly listeners = new Set<(s: AppState) => void>();
  /** pending is a payload to scan once signed in (a #q= link). */
  private pending?: string;
  private badLink = false;
  private stopChannel?: () => void;
  /** gen counts sign-ins and navigations: a late answer of an earlier one is dropped. */
  private gen = 0;
  /** waiting are the one-tap requests not yet answered, oldest first. */
  private waiting: LoginRequest[] = [];

  constructor(private readonly d: Deps) {}

  get state(): AppState {
    return this.st;
  }

  /** subscribe calls fn with each new state; it returns the unsubscribe. */
  subscribe(fn: (s: AppState) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  private set(patch: Partial<AppState>): void {
    this.st = { ...this.st, ...patch };
    for (const fn of this.listeners) fn(this.st);
  }

  private screen(s: Screen): void {
    this.set({ screen: s });
  }

  /** start finds out whether the phone is signed in and shows the screen that hash asks for. */
  async start(hash: string): Promise<void> {
    const route = parseHash(hash);
    this.take(route);
    this.set({ tab: route.tab, screen: { name: "loading" } });
    const gen = ++this.gen;
    try {
      const user = await this.d.api.account();
      if (gen !== this.gen) return;
      this.signedIn(user);
    } catch (err) {
      if (gen !== this.gen) return;
      if (isCode(err, Code.Unauthorized)) this.showSignIn("");
      else this.screen({ name: "offline", message: err instanceof Unreachable ? Msg.unreachable : errText(err) });
    }
  }

  /** retry starts again from the offline screen. */
  retry(hash: string): Promise<void> {
    return this.start(hash);
  }

  /** take remembers what a route asks to scan. */
  private take(route: Route): void {
    if (route.ref) {
      this.pending = ticketPayload(this.d.origin, route.ref);
      this.badLink = false;
    } else if (route.badLink) {
      this.pending = undefined;
      this.badLink = true;
    }
  }

  /** route follows a new fragment (hashchange). */
  route(hash: string): void {
    const route = parseHash(hash);
    this.take(route);
    if (!this.st.user) {
      if (this.st.screen.name === "signin") this.screen({ ...this.st.screen, forApproval: !!this.pending });
      return;
    }
    this.afterSignIn(route.tab);
  }

  private signedIn(user: User): void {
    this.set({ user });
    this.stopChannel?.();
    this.stopChannel = this.d.listen?.({
      onEvent: (ev) => this.event(ev),
      onSignedOut: () => this.lostSignIn(),
      onOpen: () => void this.resume(), // what came while the channel was down
    });
    this.afterSignIn(this.st.tab);
    void this.resume();
  }

  /** afterSignIn goes on to what waits (a link to scan) or to tab. */
  private afterSignIn(tab: Tab): void {
    if (this.pending) {
      const payload = this.pending;
      this.pending = undefined;
      this.d.setHash(hashOf("scan")); // the link is used: a reload must not scan it again
      this.set({ tab: "scan" });
      void this.scanPayload(payload, "link");
      return;
    }
    if (this.badLink) {
      this.badLink = false;
      this.d.setHash(hashOf("scan"));
      this.set({ tab: "scan" });
      this.screen({ name: "outcome", outcome: { kind: "failed", title: "This link doesn't work", message: Msg.badLink } });
      return;
    }
    this.go(tab);
  }

  /** go shows a tab's screen. */
  go(tab: Tab): void {
    this.gen++;
    this.set({ tab });
    if (tab === "code") this.screen({ name: "code", busy: false, error: "", typed: "" });
    else if (tab === "devices") void this.loadDevices();
    else this.screen({ name: "scan", camera: false, message: "" });
  }

  private showSignIn(notice: string): void {
    this.waiting = [];
    this.set({ user: undefined, banner: undefined });
    this.screen({ name: "signin", mode: "signin", busy: false, error: "", notice, forApproval: !!this.pending });
  }

  /** lostSignIn: the server no longer takes the cookies (signed out elsewhere, revoked). */
  private lostSignIn(): void {
    this.stopChannel?.();
    this.stopChannel = undefined;
    this.gen++;
    this.showSignIn(Msg.signedOut);
  }

  /** setMode switches the sign-in screen between signing in and creating an account. */
  setMode(mode: "signin" | "create"): void {
    const s = this.st.screen;
    if (s.name === "signin" && !s.busy) this.screen({ ...s, mode, error: "" });
  }

  /** deviceId is this browser's device id, made once and kept in storage (it is no secret: the cookie is). */
  deviceId(): string {
    let id: string | null = null;
    try {
      id = this.d.storage.getItem(DEVICE_ID_KEY);
    } catch {
      // storage refused (a private window): a new id each time is fine
    }
    if (id && /^[A-Za-z0-9_-]{16,128}$/.test(id)) return id;
    id = this.d.randomId();
    try {
      this.d.storage.setItem(DEVICE_ID_KEY, id);
    } catch {
      // as above
    }
    return id;
  }

  /** signIn signs the phone in with a username and password. */
  async signIn(username: string, password: string): Promise<void> {
    const s = this.st.screen;
    if (s.name !== "signin" || s.busy) return;
    username = username.trim();
    if (!username || !password) {
      this.screen({ ...s, error: "Type your username and password." });
      return;
    }
    this.screen({ ...s, busy: true, error: "", notice: "" });
    try {
      const user = await this.d.api.login(username, password, { id: this.deviceId(), ...phoneDevice(this.d.userAgent) });
      this.signedIn(user);
    } catch (err) {
      this.signInFailed(err);
    }
  }

  /** createAccount makes an account and signs the phone in to it. */
  async createAccount(username: string, password: string, displayName: string): Promise<void> {
    const s = this.st.screen;
    if (s.name !== "signin" || s.busy) return;
    username = username.trim();
    const invalid = !usernameRe.test(username)
      ? "Choose a username of 3 to 32 letters, digits, '_', '.' or '-'."
      : password.length < 8
        ? "Choose a password of at least 8 characters."
        : "";
    if (invalid) {
      this.screen({ ...s, error: invalid });
      return;
    }
    this.screen({ ...s, busy: true, error: "", notice: "" });
    try {
      await this.d.api.register(username, password, displayName.trim());
    } catch (err) {
      this.signInFailed(err, true);
      return;
    }
    try {
      const user = await this.d.api.login(username, password, { id: this.deviceId(), ...phoneDevice(this.d.userAgent) });
      this.signedIn(user);
    } catch (err) {
      this.signInFailed(err);
    }
  }

  private signInFailed(err: unknown, creating = false): void {
    const s = this.st.screen;
    if (s.name !== "signin") return;
    let error = errText(err);
    if (isCode(err, Code.Unauthorized)) error = Msg.wrongPassword;
    else if (creating && isCode(err, Code.Conflict)) error = "That username is taken. Choose another one.";
    else if (err instanceof Unreachable) error = Msg.offline;
    this.screen({ ...s, busy: false, error });
  }

  /** openCamera shows the camera on the scan screen. */
  openCamera(): void {
    this.gen++;
    this.set({ tab: "scan" });
    this.screen({ name: "scan", camera: true, message: "" });
  }

  /** closeCamera stops it, saying message (why) if any. */
  closeCamera(message = ""): void {
    if (this.st.screen.name === "scan") this.screen({ name: "scan", camera: false, message });
  }

  /** say shows message on the scan screen (a photo without a code); the camera stays as it is. */
  say(message: string): void {
    const s = this.st.screen;
    if (s.name === "scan") this.screen({ ...s, message });
  }

  /**
   * scanText takes the text of a QR code, from the camera or a photo. A
   * qrlogin code is scanned; anything else is said to be none, and the
   * camera goes on looking.
   */
  scanText(text: string): void {
    const p = parseScanned(text);
    if (p.kind === "other") {
      this.say(p.message);
      return;
    }
    void this.scanPayload(p.payload, p.kind === "device" ? "camera-device" : "camera");
  }

  /** submitCode takes a device's code as typed on the code screen. */
  submitCode(typed: string): void {
    const s = this.st.screen;
    if (s.name !== "code" || s.busy) return;
    const code = normalizeUserCode(typed);
    if (!code) {
      this.screen({ ...s, typed, error: NOT_A_CODE });
      return;
    }
    this.screen({ ...s, typed: formatUserCode(code), busy: true, error: "" });
    void this.scanPayload(devicePayload(this.d.origin, code), "code");
  }

  /** scanPayload asks the server what the payload's login is, and shows the approval. */
  private async scanPayload(payload: string, from: "link" | "camera" | "camera-device" | "code"): Promise<void> {
    const gen = ++this.gen;
    if (from !== "code") this.screen({ name: "checking" });
    let scan: ScanResponse;
    try {
      scan = await this.d.api.scan(payload);
    } catch (err) {
      if (gen !== this.gen) return;
      if (isCode(err, Code.Unauthorized)) {
        this.pending = payload;
        this.lostSignIn();
        return;
      }
      const device = from === "code" || from === "camera-device";
      const o = scanFailure(err, device);
      const s = this.st.screen;
      if (from === "code" && s.name === "code" && o.stay) {
        this.screen({ ...s, busy: false, error: o.message });
        return;
      }
      this.screen({ name: "outcome", outcome: { kind: "failed", title: o.title, message: o.message } });
      return;
    }
    if (gen !== this.gen) return;
    this.screen({ name: "approve", scan, busy: false, error: "", scannedAt: this.d.now() });
  }

  /** approve approves the login on show; matchCode is what the person typed when match_required. */
  approve(matchCode = ""): Promise<void> {
    return this.answer(true, matchCode);
  }

  /** deny refuses it. */
  deny(): Promise<void> {
    return this.answer(false, "");
  }

  private async answer(approve: boolean, matchCode: string): Promise<void> {
    const s = this.st.screen;
    if (s.name !== "approve" || s.busy) return;
    const code = matchCode.trim();
    if (approve && s.scan.match_required && !/^\d{1,8}$/.test(code)) {
      this.screen({ ...s, error: "Type the number that the computer shows, then approve." });
      return;
    }
    this.screen({ ...s, busy: true, error: "" });
    const gen = ++this.gen;
    let state: string;
    try {
      state = await this.d.api.confirm(s.scan.scan_token, approve, approve && s.scan.match_required ? code : undefined);
    } catch (err) {
      if (gen !== this.gen) return;
      if (isCode(err, Code.Unauthorized)) {
        this.lostSignIn();
        return;
      }
      if (isCode(err, Code.Forbidden) && !/denied/i.test(errText(err))) {
        this.screen({ ...s, busy: false, error: errText(err) }); // a wrong match code: tries left
        return;
      }
      if (err instanceof Unreachable) {
        this.screen({ ...s, busy: false, error: Msg.offline });
        return;
      }
      this.screen({ name: "outcome", outcome: confirmFailure(err) });
      return;
    }
    if (gen !== this.gen) return;
    this.screen({ name: "outcome", outcome: outcomeOf(s.scan, state, this.st.user) });
  }

  /**
   * done leaves an outcome: for a one-tap request that waits, else for the
   * scan screen (a one-tap request's outcome: the tab it interrupted).
   */
  done(): void {
    const s = this.st.screen;
    if (this.showWaiting()) return;
    if (s.name === "outcome" && s.back) {
      this.go(s.back);
      return;
    }
    this.d.setHash(hashOf("scan"));
    this.go("scan");
  }

  /** loadDevices lists the account's desktops and apps. */
  async loadDevices(notice = ""): Promise<void> {
    const gen = ++this.gen;
    const prev = this.st.screen;
    const keep = prev.name === "devices" ? prev : undefined;
    this.set({ tab: "devices" });
    this.screen({
      name: "devices",
      loading: true,
      sessions: keep?.sessions ?? [],
      grants: keep?.grants ?? [],
      desktops: keep?.desktops ?? [],
      error: "",
      notice,
      busyId: "",
      signingOut: false,
    });
    try {
      const [sessions, grants, desktops] = await Promise.all([this.d.api.sessions(), this.d.api.grants(), this.d.api.desktops()]);
      if (gen !== this.gen || this.st.screen.name !== "devices") return;
      this.screen({ ...this.st.screen, loading: false, sessions, grants, desktops });
    } catch (err) {
      if (gen !== this.gen || this.st.screen.name !== "devices") return;
      if (isCode(err, Code.Unauthorized)) return this.lostSignIn();
      this.screen({ ...this.st.screen, loading: false, error: err instanceof Unreachable ? Msg.offline : errText(err) });
    }
  }

  /** logOutSession ends a desktop session of the account. */
  logOutSession(id: string): Promise<void> {
    const s = this.st.screen;
    const name = s.name === "devices" ? s.sessions.find((x) => x.id === id)?.device.name || "The computer" : "";
    return this.revoke("sessions", id, () => this.d.api.revokeSession(id), `${name} was logged out.`);
  }

  /** logOutGrant ends a third-party app's access to the account. */
  logOutGrant(id: string): Promise<void> {
    const s = this.st.screen;
    const name = s.name === "devices" ? s.grants.find((x) => x.id === id)?.app || "The app" : "";
    return this.revoke("grants", id, () => this.d.api.revokeGrant(id), `${name} was logged out.`);
  }

  /**
   * removeDesktop forgets a computer remembered for one-tap login; the
   * server also ends its sessions, so the list is loaded again.
   */
  async removeDesktop(id: string): Promise<void> {
    const s = this.st.screen;
    const name = s.name === "devices" ? s.desktops.find((x) => x.id === id)?.name || "The computer" : "";
    const done = `${name} was removed. To log in on it again, scan its QR code.`;
    await this.revoke("desktops", id, () => this.d.api.removeDesktop(id), done);
    const now = this.st.screen;
    if (now.name === "devices" && now.notice === done) await this.loadDevices(done);
  }

  private async revoke(list: "sessions" | "grants" | "desktops", id: string, call: () => Promise<void>, done: string): Promise<void> {
    const s = this.st.screen;
    if (s.name !== "devices" || s.busyId || s.signingOut) return;
    this.screen({ ...s, busyId: id, error: "", notice: "" });
    try {
      await call();
    } catch (err) {
      if (isCode(err, Code.Unauthorized)) return this.lostSignIn();
      if (!isCode(err, Code.NotFound)) {
        const now = this.st.screen;
        if (now.name === "devices") {
          this.screen({ ...now, busyId: "", error: err instanceof Unreachable ? Msg.offline : errText(err) });
        }
        return;
      }
      // not found: it had ended already, which is what was asked
    }
    const now = this.st.screen;
    if (now.name !== "devices") return;
    this.screen({ ...now, busyId: "", notice: done, [list]: (now[list] as { id: string }[]).filter((x) => x.id !== id) });
  }

  /** signOut signs the phone out: the server ends its token, and what it approved. */
  async signOut(): Promise<void> {
    const s = this.st.screen;
    if (s.name === "devices") {
      if (s.signingOut) return;
      this.screen({ ...s, signingOut: true, error: "" });
    }
    try {
      await this.d.api.logout();
    } catch (err) {
      if (!isCode(err, Code.Unauthorized)) {
        const now = this.st.screen;
        const error = err instanceof Unreachable ? `${Msg.offline} You are still signed in.` : errText(err);
        if (now.name === "devices") this.screen({ ...now, signingOut: false, error });
        return;
      }
    }
    this.stopChannel?.();
    this.stopChannel = undefined;
    this.gen++;
    this.pending = undefined;
    this.d.setHash(hashOf("scan"));
    this.set({ tab: "scan" });
    this.showSignIn("You signed out of this phone.");
  }

  /** event takes a message of the phone's channel. */
  private event(ev: MobileEvent): void {
    if (ev.type === Event.LoginRequest) {
      const r = loginRequest(ev.request);
      if (r) this.offer([r]);
      return;
    }
    if (ev.type === Event.LoginRequestClosed) {
      if (typeof ev.request?.id === "string") this.closed(ev.request.id);
      return;
    }
    if (ev.type === Event.SessionCreated && ev.session) {
      const d = ev.session.device;
      this.set({
        banner: {
          title: `New sign-in: ${d?.name || "a computer"}`,
          detail: joinParts(d?.os, d?.app, ev.session.ip ? `IP ${ev.session.ip}` : ""),
        },
      });
    }
    if ((ev.type === Event.SessionCreated || ev.type === Event.SessionRevoked) && this.st.screen.name === "devices") {
      const s = this.st.screen;
      if (!s.busyId && !s.signingOut) void this.loadDevices(s.notice);
    }
  }

  /** dismissBanner hides the banner. */
  dismissBanner(): void {
    this.set({ banner: undefined });
  }

  /**
   * resume fetches the waiting one-tap requests and shows the first: when
   * the app opens, its channel (re)connects, or it comes back to the
   * foreground. A failure is quiet: the channel brings the next one.
   */
  async resume(): Promise<void> {
    if (!this.st.user) return;
    let list: LoginRequest[];
    try {
      list = await this.d.api.loginRequests();
    } catch (err) {
      if (isCode(err, Code.Unauthorized) && this.st.user) this.lostSignIn();
      return;
    }
    if (!this.st.user) return;
    const ok = list.map(loginRequest).filter((r): r is LoginRequest => !!r);
    // Those the server no longer lists were answered elsewhere or expired.
    const ids = new Set(ok.map((r) => r.id));
    for (const r of this.waiting) if (!ids.has(r.id)) this.closed(r.id);
    this.offer(ok);
  }

  /** offer takes requests that arrived, and shows the first if the person is free for it. */
  private offer(list: LoginRequest[]): void {
    for (const r of list) if (!this.waiting.some((w) => w.id === r.id)) this.waiting.push(r);
    if (this.free()) this.showWaiting();
  }

  /**
   * free reports whether a request may take the screen: not in the middle
   * of signing in, an approval, a code being checked, or another request.
   */
  private free(): boolean {
    const s = this.st.screen;
    if (!this.st.user) return false;
    switch (s.name) {
      case "scan":
      case "outcome":
        return true;
      case "code":
        return !s.busy;
      case "devices":
        return !s.busyId && !s.signingOut;
      default:
        return false;
    }
  }

  /** showWaiting shows the oldest request that has not expired; false if none waits. */
  private showWaiting(): boolean {
    const now = this.d.now();
    this.waiting = this.waiting.filter((r) => !(Date.parse(r.expires_at) <= now));
    const r = this.waiting[0];
    if (!r) return false;
    this.gen++;
    this.screen({ name: "request", request: r, busy: "", picked: "", error: "", confirmNotMe: false });
    return true;
  }

  /** closed takes request id away: answered (here or on another phone) or expired. */
  private closed(id: string): void {
    this.waiting = this.waiting.filter((r) => r.id !== id);
    const s = this.st.screen;
    if (s.name !== "request" || s.request.id !== id || s.busy) return; // busy: our own answer tells
    if (!this.showWaiting()) this.go(this.st.tab);
  }

  /** pickNumber approves the request on show with the number tapped; a wrong one denies it. */
  pickNumber(number: string): Promise<void> {
    return this.decide(Decision.Approve, number);
  }

  /** denyRequest refuses the request on show. */
  denyRequest(): Promise<void> {
    return this.decide(Decision.Deny);
  }

  /** notMe asks to confirm "Not me" (it removes the computer); cancelNotMe takes the question back. */
  notMe(): void {
    const s = this.st.screen;
    if (s.name === "request" && !s.busy) this.screen({ ...s, confirmNotMe: true, error: "" });
  }

  cancelNotMe(): void {
    const s = this.st.screen;
    if (s.name === "request" && !s.busy) this.screen({ ...s, confirmNotMe: false });
  }

  /** confirmNotMe denies the request, removes the computer and ends its sessions. */
  confirmNotMe(): Promise<void> {
    const s = this.st.screen;
    if (s.name !== "request" || !s.confirmNotMe) return Promise.resolve();
    return this.decide(Decision.NotMe);
  }

  private async decide(action: Decision, number = ""): Promise<void> {
    const s = this.st.screen;
    if (s.name !== "request" || s.busy) return;
    if (action === Decision.Approve && !s.request.choices.includes(number)) return;
    const r = s.request;
    this.screen({ ...s, busy: action, picked: number, error: "" });
    const gen = ++this.gen;
    let state: string;
    try {
      state = await this.d.api.decide(r.id, action, action === Decision.Approve ? number : undefined);
    } catch (err) {
      if (gen !== this.gen) return;
      if (isCode(err, Code.Unauthorized)) return this.lostSignIn();
      if (err instanceof Unreachable) {
        this.screen({ ...s, busy: "", picked: "", error: Msg.offline });
        return;
      }
      this.waiting = this.waiting.filter((w) => w.id !== r.id);
      // The server refuses a wrong number (forbidden): the login was denied.
      const wrong = action === Decision.Approve && isCode(err, Code.Forbidden);
      const outcome = wrong ? requestOutcome(r, action, State.Denied) : requestFailure(err);
      this.screen({ name: "outcome", outcome, back: this.st.tab });
      return;
    }
    if (gen !== this.gen) return;
    this.waiting = this.waiting.filter((w) => w.id !== r.id);
    this.screen({ name: "outcome", outcome: requestOutcome(r, action, state, this.st.user), back: this.st.tab });
  }
}

/**
 * loginRequest is v if it is a request the app can show (an id and the
 * numbers to tap), else undefined: the channel's messages are checked
 * before they reach a screen.
 */
export function loginRequest(v: unknown): LoginRequest | undefined {
  const r = v as Partial<LoginRequest> | undefined;
  if (!r || typeof r.id !== "string" || !r.id) return undefined;
  if (!Array.isArray(r.choices) || !r.choices.length || !r.choices.every((c) => typeof c === "string" && c)) return undefined;
  const d = (r.desktop ?? {}) as Partial<LoginRequest["desktop"]>;
  const str = (x: unknown) => (typeof x === "string" ? x : "");
  return {
    id: r.id,
    choices: r.choices,
    expires_at: str(r.expires_at),
    warning: str(r.warning) || undefined,
    desktop: { name: str(d.name), os: str(d.os), app: str(d.app), ip: str(d.ip), user_agent: str(d.user_agent), created_at: str(d.created_at) },
  };
}

/** requestOutcome is what the phone says once the server took the answer to a one-tap request. */
export function requestOutcome(r: LoginRequest, action: Decision, state: string, user?: User): Outcome {
  const name = r.desktop.name || "The computer";
  if (state === State.Confirmed) {
    const as = user?.display_name ? ` as ${user.display_name}` : "";
    return { kind: "approved", title: "Logged in", message: `${name} is now logged in${as}.` };
  }
  if (state === State.Denied) {
    if (action === Decision.NotMe) {
      return {
        kind: "denied",
        title: "Computer removed",
        message: `${name} was not logged in, and it is no longer remembered: its sessions were ended, and it must scan a QR code to log in again.`,
      };
    }
    if (action === Decision.Approve) {
      return {
        kind: "denied",
        title: "Wrong number: login denied",
        message: `The number you tapped is not the one that ${name} showed, so it was not logged in. If you are at that computer, ask again from it.`,
      };
    }
    return { kind: "denied", title: "Login denied", message: `${name} was not logged in.` };
  }
  return { kind: "failed", title: "Not logged in", message: `The login ended as "${state}".` };
}

/** requestFailure says why an answer to a one-tap request did not go through. */
export function requestFailure(err: unknown): Outcome {
  if (err instanceof ProtocolError) {
    switch (err.code) {
      case Code.Expired:
        return { kind: "failed", title: "This request has expired", message: "It was not answered in time. Ask again from the computer." };
      case Code.Conflict:
      case Code.NotFound:
        return { kind: "failed", title: "This request has ended", message: "It was answered on another phone, or the computer stopped asking. Nothing more to do here." };
      case Code.Forbidden:
        return { kind: "denied", title: "Login denied", message: sentence(err.message) };
    }
  }
  return { kind: "failed", title: "Something went wrong", message: errText(err) };
}

/** isCode reports whether err is the server's refusal with code. */
export function isCode(err: unknown, code: string): boolean {
  return err instanceof ProtocolError && err.code === code;
}

/** errText is an error's message for a person. */
export function errText(err: unknown): string {
  if (err instanceof Unreachable) return Msg.offline;
  if (err instanceof ProtocolError && err.code === Code.RateLimited) {
    return err.retryAfter > 0
      ? `Too many tries. Wait ${Math.ceil(err.retryAfter)} seconds and try again.`
      : `Too many tries. Wait a moment and try again.`;
  }
  if (err instanceof Error && err.message) return sentence(err.message);
  return "Something went wrong. Try again.";
}

/** sentence starts text (a server's message) with a capital letter. */
export function sentence(text: string): string {
  return text.charAt(0).toLocaleUpperCase() + text.slice(1);
}

/** scanFailure says why a scan failed; stay: the code screen keeps its form (a typo is likely). */
export function scanFailure(err: unknown, device: boolean): { title: string; message: string; stay: boolean } {
  const what = device ? "code" : "QR code";
  const again = device
    ? "Check the code on the device's screen, or start the login on it again."
    : "Show a new QR code on the computer and scan it again.";
  if (err instanceof Unreachable) return { title: "No connection", message: Msg.offline, stay: true };
  if (err instanceof ProtocolError) {
    switch (err.code) {
      case Code.Expired:
        return { title: `This ${what} has expired`, message: again, stay: true };
      case Code.Conflict:
        return {
          title: `This ${what} was already used`,
          message: `Someone has scanned it already. If that was not you, don't approve anything: ${again.charAt(0).toLowerCase()}${again.slice(1)}`,
          stay: false,
        };
      case Code.NotFound:
        return device
          ? { title: "No device is waiting for this code", message: again, stay: true }
          : { title: "This QR code doesn't work any more", message: again, stay: false };
      case Code.RateLimited:
        return { title: "Too many tries", message: errText(err), stay: true };
      case Code.Invalid:
        return { title: `This ${what} can't be used here`, message: sentence(err.message), stay: true };
    }
  }
  return { title: "Something went wrong", message: errText(err), stay: true };
}

/** confirmFailure says why an approval did not go through. */
export function confirmFailure(err: unknown): Outcome {
  if (err instanceof ProtocolError) {
    if (err.code === Code.Expired) {
      return { kind: "failed", title: "This request has expired", message: "It was not answered in time. Scan a new QR code to log in." };
    }
    if (err.code === Code.Conflict) {
      return { kind: "failed", title: "This login has ended", message: "It was cancelled or answered already. Nothing more to do here." };
    }
    if (err.code === Code.Forbidden) {
      return { kind: "denied", title: "Login denied", message: sentence(err.message) };
    }
  }
  return { kind: "failed", title: "Something went wrong", message: errText(err) };
}

/** outcomeOf is what the phone says once the server took the answer. */
export function outcomeOf(scan: ScanResponse, state: string, user?: User): Outcome {
  const app = scan.app;
  const device = scan.desktop.name || (app?.user_code ? "The device" : "The computer");
  if (state === State.Confirmed) {
    if (app?.user_code) {
      return { kind: "approved", title: "Approved", message: `${device} is logging you in to ${app.name}. You can put your phone away.` };
    }
    if (app) {
      const back = app.redirect_host ? ` The browser goes back to ${app.redirect_host}.` : "";
      return { kind: "approved", title: "Approved", message: `You are logging in to ${app.name} on ${device}.${back}` };
    }
    const as = user?.display_name ? ` as ${user.display_name}` : "";
    return { kind: "approved", title: "Logged in", message: `${device} is now logged in${as}.` };
  }
  if (state === State.Denied) {
    return { kind: "denied", title: "Login denied", message: `${device} was not logged in.` };
  }
  return { kind: "failed", title: "Not logged in", message: `The login ended as "${state}".` };
}
