import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { PhoneApp } from "./model";
import { alice, deps, fakeAPI, loginRequest, NOW, ORIGIN, REF, refuse, scanResponse, settle } from "./testing/fakes";
import { mountView, pick, sameOrigin, shownName } from "./view";

let root: HTMLElement;
let unmount: (() => void) | undefined;
beforeEach(() => {
  document.body.innerHTML = '<div id="app"></div>';
  root = document.getElementById("app")!;
});
afterEach(() => {
  unmount?.();
  unmount = undefined;
});

async function mount(answers: Parameters<typeof fakeAPI>[0], hash = "") {
  const f = fakeAPI(answers);
  const app = new PhoneApp(deps(f.api).d);
  unmount = mountView(root, app, {
    now: () => NOW,
    origin: ORIGIN,
    decoder: async () => ({ decode: async () => [], close: () => {} }),
    retry: () => void app.retry(""),
  });
  await app.start(hash);
  await settle();
  return { app, calls: f.calls };
}

const byLabel = (text: string) => {
  const label = [...root.querySelectorAll("label")].find((l) => l.textContent?.trim() === text);
  return label ? (document.getElementById(label.htmlFor) as HTMLInputElement | null) : null;
};
const button = (name: string) =>
  [...root.querySelectorAll("button")].find((b) => (b.getAttribute("aria-label") ?? b.textContent?.trim()) === name) as HTMLButtonElement | undefined;

describe("sign-in screen", () => {
  it("has labelled fields and the buttons the issue names", async () => {
    const { app, calls } = await mount({ account: refuse(401, "unauthorized"), login: alice });
    expect(document.body.dataset.shown).toBe("signin");
    const user = byLabel("Username")!;
    const pass = byLabel("Password")!;
    expect(user).not.toBeNull();
    expect(pass.type).toBe("password");
    expect(button("Sign in")).toBeDefined();
    expect(button("Create account")).toBeDefined();
    expect(root.querySelector("nav.tabs")!.hasAttribute("hidden")).toBe(true);
    user.value = "alice";
    pass.value = "correct horse";
    root.querySelector("form")!.dispatchEvent(new Event("submit", { cancelable: true }));
    await settle();
    expect(calls.find(([m]) => m === "login")?.slice(1, 3)).toEqual(["alice", "correct horse"]);
    expect(app.state.user).toEqual(alice);
    expect(document.body.dataset.shown).toBe("scan");
  });

  it("switches to creating an account and keeps what was typed", async () => {
    await mount({ account: refuse(401, "unauthorized") });
    byLabel("Username")!.value = "bob";
    button("Create account")!.click();
    expect(root.querySelector("h1")!.textContent).toBe("Create your account");
    expect(byLabel("Username")!.value).toBe("bob");
    expect(root.querySelector("button[type=submit]")!.textContent).toBe("Create account");
    expect(button("Back to sign in")).toBeDefined();
    expect(byLabel("Password")!.getAttribute("autocomplete")).toBe("new-password");
  });
});

describe("scan screen", () => {
  it("offers Scan, a photo and the code, and the tab bar", async () => {
    await mount({ account: alice });
    expect(button("Scan")).toBeDefined();
    const photo = root.querySelector<HTMLInputElement>("input[type=file]")!;
    expect(photo.accept).toBe("image/*");
    expect(photo.hasAttribute("capture")).toBe(true);
    expect(root.querySelector(`label[for="${photo.id}"]`)!.textContent).toBe("Choose a photo");
    const tabs = [...root.querySelectorAll("nav.tabs a")].map((a) => [a.textContent, a.getAttribute("aria-current")]);
    expect(tabs).toEqual([
      ["Scan", "page"],
      ["Enter code", null],
      ["Devices", null],
    ]);
  });
});

describe("approve screen", () => {
  it("shows the desktop as text, the warning, the match code, and answers", async () => {
    const evil = "<img src=x onerror=alert(1)>";
    const scan = scanResponse({
      desktop: { ...scanResponse().desktop, name: evil },
      warning: "This computer is on another network than your phone.",
      match_required: true,
    });
    const { calls } = await mount({ account: alice, scan, confirm: "confirmed" }, `#q=${REF}`);
    expect(document.body.dataset.shown).toBe("approve");
    expect(root.querySelector("[data-testid=desktop-name]")!.textContent).toBe(evil);
    expect(root.querySelector("img[src=x]")).toBeNull();
    const text = root.textContent!;
    for (const want of ["Ubuntu 24.04", "192.0.2.7", "12 seconds ago", "another network", "Answer within 1:00"]) expect(text).toContain(want);
    expect(root.querySelector("[role=alert].warning")).not.toBeNull();
    byLabel("Code shown on the computer")!.value = "42";
    button("Approve")!.click();
    await settle();
    expect(calls).toContainEqual(["confirm", "scan-token-1", true, "42"]);
    expect(document.body.dataset.shown).toBe("outcome-approved");
    expect(root.textContent).toContain("is now logged in as Alice Liddell");
  });

  it("shows an app's scopes and return host, and a device's code", async () => {
    const scan = scanResponse({ app: { client_id: "c", name: "TV App", scopes: ["openid", "profile"], user_code: "WDJB-MJHT" } });
    await mount({ account: alice, scan, confirm: "denied" }, `#q=${REF}`);
    const text = root.textContent!;
    expect(text).toContain("Log in to TV App?");
    expect(text).toContain("Check that the TV shows WDJB-MJHT");
    expect(text).toContain("Your name and profile picture");
    expect(byLabel("Code shown on the computer")).toBeNull();
    button("Deny")!.click();
    await settle();
    expect(document.body.dataset.shown).toBe("outcome-denied");
  });
});

describe("one-tap request screen", () => {
  it("shows the desktop as text, where it asks from, and the numbers as buttons that approve", async () => {
    const evil = "<img src=x onerror=alert(1)>";
    const r = loginRequest({ desktop: { ...loginRequest().desktop, name: evil }, warning: "This computer is on another network than your phone." });
    const { calls } = await mount({ account: alice, loginRequests: [r], decide: "confirmed" });
    expect(document.body.dataset.shown).toBe("request");
    expect(root.querySelector("h1")!.textContent).toBe(`Log in on ${evil}?`);
    expect(root.querySelector("[data-testid=request-desktop-name]")!.textContent).toBe(evil);
    expect(root.querySelector("img[src=x]")).toBeNull();
    const text = root.textContent!;
    for (const want of ["Windows 11", "198.51.100.4", "5 seconds ago", "another network", "Tap the number shown on your computer", "Answer within 2:00"]) {
      expect(text).toContain(want);
    }
    const group = root.querySelector("[role=group]")!;
    expect(document.getElementById(group.getAttribute("aria-labelledby")!)!.textContent).toBe("Tap the number shown on your computer");
    expect([...group.querySelectorAll("button")].map((b) => b.textContent)).toEqual(["17", "42", "86"]);
    expect(button("Deny")).toBeDefined();
    button("42")!.click();
    await settle();
    expect(calls).toContainEqual(["decide", "lr-1", "approve", "42"]);
    expect(document.body.dataset.shown).toBe("outcome-approved");
    expect(button("Done")).toBeDefined();
  });

  it("asks to confirm Not me before it removes the computer", async () => {
    const { calls } = await mount({ account: alice, loginRequests: [loginRequest()], decide: "denied" });
    const dialog = root.querySelector<HTMLElement>("[role=alertdialog]")!;
    expect(dialog.hidden).toBe(true);
    button("Not me")!.click();
    expect(dialog.hidden).toBe(false);
    expect(dialog.textContent).toContain("Remove Office PC?");
    expect(button("Not me")!.hidden).toBe(true);
    button("Cancel")!.click();
    expect(dialog.hidden).toBe(true);
    button("Not me")!.click();
    button("Remove this computer")!.click();
    await settle();
    expect(calls).toContainEqual(["decide", "lr-1", "not_me", undefined]);
    expect(document.body.dataset.shown).toBe("outcome-denied");
    expect(root.textContent).toContain("Computer removed");
  });

  it("turns the numbers off once the request has expired", async () => {
    vi.useFakeTimers({ toFake: ["setInterval", "clearInterval"] });
    try {
      let now = NOW;
      const f = fakeAPI({ account: alice, loginRequests: [loginRequest({ expires_at: new Date(NOW + 500).toISOString() })] });
      const app = new PhoneApp(deps(f.api, { now: () => now }).d);
      unmount = mountView(root, app, { now: () => now, origin: ORIGIN, decoder: async () => ({ decode: async () => [], close: () => {} }), retry: () => {} });
      await app.start("");
      await settle();
      expect(button("42")!.disabled).toBe(false);
      now += 1000;
      vi.advanceTimersByTime(1000);
      expect(button("42")!.disabled).toBe(true);
      expect(root.textContent).toContain("This request has expired");
    } finally {
      vi.useRealTimers();
    }
  });
});

describe("code screen", () => {
  it("says a malformed code, and stops saying it once the person types again", async () => {
    const { calls } = await mount({ account: alice }, "#code");
    const field = byLabel("Code shown on the device")!;
    field.value = "AEIOU";
    root.querySelector("form")!.dispatchEvent(new Event("submit", { cancelable: true }));
    const error = root.querySelector<HTMLElement>("#code-error")!;
    expect(error.hidden).toBe(false);
    expect(field.getAttribute("aria-invalid")).not.toBeNull();
    field.value = "WDJB";
    field.dispatchEvent(new Event("input"));
    expect(error.hidden).toBe(true);
    expect(field.getAttribute("aria-invalid")).toBeNull();
    expect(calls.some(([m]) => m === "scan")).toBe(false);
  });
});

describe("devices screen", () => {
  it("lists what is logged in with a Log out for each, named after it", async () => {
    const sessions = [{ id: "s1", device: { name: "Work laptop", os: "Windows", app: "qrlogin desktop" }, ip: "192.0.2.1", created_at: "2026-03-01T09:00:00Z", last_seen_at: "2026-03-01T11:59:00Z" }];
    const grants = [{ id: "g1", client_id: "c", app: "Demo Site", scopes: ["openid"], created_at: "2026-03-01T10:00:00Z", last_used_at: "", expires_at: "" }];
    const { calls } = await mount({ account: alice, sessions, grants }, "#devices");
    expect(document.body.dataset.shown).toBe("devices");
    expect(root.textContent).toContain("Signed in 3 hours ago · active 1 minute ago");
    expect(button("Log out Work laptop")).toBeDefined();
    expect(button("Log out Demo Site")).toBeDefined();
    expect(button("Sign out")).toBeDefined();
    button("Log out Work laptop")!.click();
    await settle();
    expect(calls).toContainEqual(["revokeSession", "s1"]);
    expect(button("Log out Work laptop")).toBeUndefined();
    expect(root.textContent).toContain("Work laptop was logged out.");
    expect(root.textContent).toContain("No computer is logged in");
  });

  it("lists the remembered computers with a Remove for each, and hides the list when there are none", async () => {
    const desktops = [{ id: "d1", name: "Office PC", os: "Windows 11", ip: "198.51.100.4", created_at: "2026-02-01T09:00:00Z", last_used_at: "2026-03-01T10:00:00Z" }];
    const { calls } = await mount({ account: alice, sessions: [], grants: [], desktops, removeDesktop: undefined }, "#devices");
    const list = root.querySelector("[aria-label='Remembered computers']")!;
    expect(list.closest("section")!.hidden).toBe(false);
    expect(list.textContent).toContain("Office PC");
    expect(list.textContent).toContain("Windows 11 · 198.51.100.4");
    expect(list.textContent).toContain("Last used 2 hours ago");
    button("Remove Office PC")!.click();
    await settle();
    expect(calls).toContainEqual(["removeDesktop", "d1"]);
    expect(root.textContent).toContain("Office PC was removed");
  });
});

describe("helpers", () => {
  it("sameOrigin and shownName", () => {
    expect(sameOrigin(`${ORIGIN}/avatars/a.svg`, ORIGIN)).toBe(true);
    expect(sameOrigin("/avatars/a.svg", ORIGIN)).toBe(true);
    expect(sameOrigin("https://evil.example/a.svg", ORIGIN)).toBe(false);
    expect(shownName({ name: "scan", camera: true, message: "" })).toBe("camera");
    expect(pick(["https://shop.example/menu", `${ORIGIN}/q/${REF}`])).toBe(`${ORIGIN}/q/${REF}`);
    expect(pick(["", "https://shop.example/menu"])).toBe("https://shop.example/menu");
    expect(pick([])).toBeUndefined();
    expect(shownName({ name: "outcome", outcome: { kind: "failed", title: "", message: "" } })).toBe("outcome-failed");
  });
});
