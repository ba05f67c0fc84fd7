import { beforeEach, describe, expect, it } from "vitest";
import { mountPage } from "./page";
import { fakeBridge, qr, view } from "../test/fake";

let root: HTMLElement;
const now = (fn: () => void) => fn();
beforeEach(() => {
  document.body.innerHTML = '<div id="screen"></div>';
  root = document.getElementById("screen")!;
});

describe("mountPage", () => {
  it("draws the desktop's screens without its title bar or server footer", async () => {
    const f = fakeBridge(view("pending", { qr: qr("ref-one") }));
    const unmount = mountPage(root, f.bridge, now);
    await Promise.resolve();
    expect(root.dataset.state).toBe("pending");
    expect(root.querySelector(".qr-img")!.getAttribute("src")).toContain("/q/ref-one.png?px=");
    expect(root.querySelector(".titlebar, footer, .sheet")).toBeNull();
    root.querySelector<HTMLImageElement>(".qr-img")!.dispatchEvent(new Event("load"));
    expect(f.calls).toContain("shown:pending");
    f.emit(view("scanned", { scanner: { displayName: "A***e", avatarUrl: "", matchCode: "42" } }));
    expect(root.textContent).toContain("Scanned by A***e");
    expect(root.querySelector(".match-code")!.textContent).toBe("42");
    unmount();
    expect(f.listeners.size).toBe(0);
    expect(root.children.length).toBe(0);
  });

  it("shows an unknown state as an error", () => {
    const f = fakeBridge();
    mountPage(root, f.bridge, now);
    f.emit(view("bogus" as never));
    expect(root.dataset.state).toBe("error");
    expect(root.textContent).toContain('Unknown state "bogus"');
  });
});
