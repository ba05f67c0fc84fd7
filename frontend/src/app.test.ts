import { beforeEach, describe, expect, it } from "vitest";
import { mountApp, screens } from "./app";
import { fakeBridge, flush, qr, view } from "./test/fake";
import { ViewState } from "./view";

let root: HTMLElement;
const now = (fn: () => void) => fn();
beforeEach(() => {
  document.body.innerHTML = '<div id="app"></div>';
  root = document.getElementById("app")!;
});

const text = () => root.querySelector("main")!.textContent ?? "";
const qrImg = () => root.querySelector<HTMLImageElement>(".qr-img")!;

describe("mountApp", () => {
  it("has one screen for every view state", () => {
    for (const s of Object.values(ViewState)) expect(screens[s], s).toBeTypeOf("function");
  });

  it("shows the view Go has at mount, and subscribes until unmount", async () => {
    const f = fakeBridge(view("pending", { qr: qr("ref-one") }));
    const unmount = mountApp(root, f.bridge, now);
    await flush();
    expect(qrImg().getAttribute("src")).toBe("http://127.0.0.1:40000/q/ref-one.png?px=232");
    expect(root.querySelector("footer")!.textContent).toContain("Embedded server at http://127.0.0.1:40000");
    expect(f.listeners.size).toBe(1);
    unmount();
    expect(f.listeners.size).toBe(0);
    expect(root.children.length).toBe(0);
  });

  it("keeps an event newer than the view it asked for", async () => {
    const f = fakeBridge(view("loading"));
    mountApp(root, f.bridge, now);
    f.emit(view("pending", { qr: qr("ref-one") }));
    await flush();
    expect(root.dataset.state).toBe("pending");
  });

  it("replaces a rotated QR code in place, and says when it shows", async () => {
    const f = fakeBridge();
    mountApp(root, f.bridge, now);
    f.emit(view("pending", { qr: qr("ref-one") }));
    const img = qrImg();
    expect(f.calls).not.toContain("shown:pending");
    img.dispatchEvent(new Event("load"));
    expect(f.calls).toContain("shown:pending");
    f.emit(view("pending", { qr: qr("ref-two") }));
    expect(qrImg()).toBe(img);
    expect(img.getAttribute("src")).toContain("/q/ref-two.png");
  });

  it("shows who scanned and the match code in large digits", () => {
    const f = fakeBridge();
    mountApp(root, f.bridge, now);
    f.emit(
      view("scanned", { scanner: { displayName: "A***e", avatarUrl: "http://h/avatars/x.svg", matchCode: "42" } }),
    );
    expect(text()).toContain("Scanned by A***e");
    expect(text()).toContain("Confirm on your phone");
    const digits = [...root.querySelectorAll(".match-code span")].map((s) => s.textContent);
    expect(digits).toEqual(["4", "2"]);
    expect(root.querySelector<HTMLImageElement>(".avatar img")!.getAttribute("src")).toBe("http://h/avatars/x.svg");
    root.querySelector<HTMLButtonElement>(".btn-link")!.click();
    expect(f.calls).toContain("cancel");
  });

  it("shows no match code when none is needed", () => {
    const f = fakeBridge();
    mountApp(root, f.bridge, now);
    f.emit(view("scanned", { scanner: { displayName: "A***e", avatarUrl: "" } }));
    expect(root.querySelector(".match-code")).toBeNull();
  });

  it.each([
    ["expired", "QR code expired", "QR expired, click to refresh."],
    ["cancelled", "Login cancelled", "Click for a new QR code."],
    ["denied", "Login denied on your phone", "Declined on the phone. Click to try again."],
  ])("greys out a %s QR code; one click asks for a new one", (state, title, hint) => {
    const f = fakeBridge();
    mountApp(root, f.bridge, now);
    f.emit(view("pending", { qr: qr("ref-one") }));
    const img = qrImg();
    f.emit(view(state as ViewState, { qr: qr("ref-one") }));
    expect(qrImg()).toBe(img);
    expect(root.querySelector(".qr-frame")!.classList.contains("dim")).toBe(true);
    expect(text()).toContain(title);
    expect(root.querySelector(".hint")!.textContent).toBe(hint);
    expect(f.calls).toContain(`shown:${state}`);
    root.querySelector<HTMLElement>(".qr-wrap")!.click();
    expect(f.calls).toContain("refresh");
  });

  it("does not refresh a live QR code on a click", () => {
    const f = fakeBridge();
    mountApp(root, f.bridge, now);
    f.emit(view("pending", { qr: qr("ref-one"), message: "You were logged out from your phone." }));
    root.querySelector<HTMLElement>(".qr-wrap")!.click();
    expect(f.calls).not.toContain("refresh");
    expect(root.querySelector(".notice")!.textContent).toBe("You were logged out from your phone.");
  });

  it("shows the session and logs out", () => {
    const f = fakeBridge();
    mountApp(root, f.bridge, now);
    f.emit(
      view("signed_in", {
        session: {
          displayName: "Alice",
          avatarUrl: "",
          signedInAt: "2026-03-04T05:06:00Z",
          expiresAt: "2026-04-03T05:06:00Z",
          device: "laptop (Linux)",
          app: "qrlogin desktop 1.0",
          localIp: "127.0.0.1",
        },
      }),
    );
    expect(text()).toContain("Alice");
    expect(text()).toContain("Signed in");
    expect(text()).toContain("laptop (Linux)");
    expect(text()).toContain("qrlogin desktop 1.0");
    expect(text()).toContain("127.0.0.1");
    expect(f.calls).toContain("shown:signed_in");
    [...root.querySelectorAll<HTMLButtonElement>("button")].find((b) => b.textContent === "Log out")!.click();
    expect(f.calls).toContain("logout");
  });

  it.each([
    ["unreachable", "Can't reach the server"],
    ["error", "Something went wrong"],
  ])("says what is wrong when %s, with a retry", (state, title) => {
    const f = fakeBridge();
    mountApp(root, f.bridge, now);
    f.emit(view(state as ViewState, { message: "No answer from http://127.0.0.1:40000." }));
    expect(text()).toContain(title);
    expect(text()).toContain("http://127.0.0.1:40000");
    [...root.querySelectorAll<HTMLButtonElement>("button")].find((b) => b.textContent === "Retry")!.click();
    expect(f.calls).toContain("refresh");
  });

  const account = { displayName: "A***e", avatarUrl: "http://h/avatars/x.svg" };
  const button = (label: string) =>
    [...root.querySelectorAll<HTMLButtonElement>("button")].find((b) => b.textContent === label);
  /** oneTapBridge is the fake with the desktop's one-tap calls too. */
  const oneTapBridge = () => {
    const f = fakeBridge();
    f.bridge.logIn = async () => void f.calls.push("logIn");
    f.bridge.switchAccount = async () => void f.calls.push("switchAccount");
    return f;
  };

  it("offers one-tap login with the account, and the QR code instead", () => {
    const f = oneTapBridge();
    mountApp(root, f.bridge, now);
    f.emit(view("one_tap", { oneTap: account, message: "You were logged out from your phone." }));
    expect(root.querySelector(".name")!.textContent).toBe("A***e");
    expect(root.querySelector<HTMLImageElement>(".avatar img")!.getAttribute("src")).toBe("http://h/avatars/x.svg");
    expect(root.querySelector(".notice")!.textContent).toBe("You were logged out from your phone.");
    expect(root.querySelector(".qr-img")).toBeNull();
    expect(f.calls).toContain("shown:one_tap");
    button("Log in")!.click();
    expect(f.calls).toContain("logIn");
    button("Switch account")!.click();
    expect(f.calls).toContain("switchAccount");
  });

  it("shows the number to tap in large digits, with Cancel", () => {
    const f = fakeBridge();
    mountApp(root, f.bridge, now);
    f.emit(view("one_tap_waiting", { oneTap: { ...account, number: "42" } }));
    const n = root.querySelector(".tap-number")!;
    expect(n.textContent).toBe("42");
    expect(n.getAttribute("aria-label")).toBe("Tap 42 on your phone");
    expect(text()).toContain("Tap this number on your phone");
    expect(f.calls).toContain("shown:one_tap_waiting");
    button("Cancel")!.click();
    expect(f.calls).toContain("cancel");
  });

  it.each([
    ["one_tap_denied", "Denied on your phone", true],
    ["one_tap_expired", "No answer from your phone", true],
    ["one_tap_limited", "try again in 10 min", false],
  ])("says what became of a %s request, and offers the QR code", (state, says, retry) => {
    const f = oneTapBridge();
    mountApp(root, f.bridge, now);
    f.emit(view("one_tap", { oneTap: account }));
    const screen = root.querySelector(".screen-one-tap");
    f.emit(
      view(state as ViewState, {
        oneTap: account,
        message: "Too many log-in requests from this computer: try again in 10 min, or scan the QR code.",
      }),
    );
    expect(root.querySelector(".screen-one-tap")).toBe(screen);
    expect(text()).toContain(says);
    expect(button("Log in")).toBeUndefined();
    expect(f.calls).toContain(`shown:${state}`);
    button("Scan QR code")!.click();
    expect(f.calls).toContain("switchAccount");
    expect(!!button("Try again")).toBe(retry);
    button("Try again")?.click();
    expect(f.calls.includes("logIn")).toBe(retry);
  });

  it("shows an unknown state as an error, never a blank window", () => {
    const f = fakeBridge();
    mountApp(root, f.bridge, now);
    f.emit(view("weird" as ViewState));
    expect(text()).toContain("Something went wrong");
  });

  it("switches servers from the settings, and says why a bad address is refused", async () => {
    const f = fakeBridge();
    mountApp(root, f.bridge, now);
    f.emit(view("pending", { qr: qr("ref-one") }));
    root.querySelector<HTMLButtonElement>("footer button")!.click();
    const sheet = root.querySelector(".sheet")!;
    sheet.querySelector<HTMLInputElement>('input[value="remote"]')!.click();
    const url = sheet.querySelector<HTMLInputElement>('input[type="url"]')!;
    url.value = "ftp://nowhere";
    sheet.querySelector("form")!.dispatchEvent(new Event("submit", { cancelable: true }));
    await flush();
    expect(sheet.querySelector(".field-error")!.textContent).toContain("is not a server address");
    expect(root.querySelector(".sheet")).not.toBeNull();
    url.value = "https://login.example";
    sheet.querySelector("form")!.dispatchEvent(new Event("submit", { cancelable: true }));
    await flush();
    expect(f.calls).toContain("useServer:https://login.example");
    expect(root.querySelector(".sheet")).toBeNull();
  });

  it("reports a state to Go once painted, and not if it was replaced first", () => {
    const f = fakeBridge();
    const frames: (() => void)[] = [];
    mountApp(root, f.bridge, (fn) => frames.push(fn));
    f.emit(view("unreachable"));
    f.emit(view("loading"));
    expect(f.calls).toEqual([]);
    frames.forEach((fn) => fn());
    expect(f.calls).toEqual(["shown:loading"]);
  });

  it("minimises and closes from the title bar", () => {
    const f = fakeBridge();
    mountApp(root, f.bridge, now);
    root.querySelector<HTMLButtonElement>('[aria-label="Minimise"]')!.click();
    root.querySelector<HTMLButtonElement>('[aria-label="Close"]')!.click();
    expect(f.calls).toEqual(expect.arrayContaining(["minimise", "quit"]));
  });
});
