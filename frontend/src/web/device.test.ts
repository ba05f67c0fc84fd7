import { beforeEach, describe, expect, it } from "vitest";
import { formatUserCode, mountDevicePage, normalizeUserCode, NOT_A_CODE, USER_CODE_ALPHABET } from "./device";

/** PAGE is the part of server/web/templates/device.html that the script reads. */
const PAGE = `
  <form id="device-form"><input id="user-code"><p id="device-error" hidden></p><button type="submit">Continue</button></form>
  <div id="device-next" hidden><strong data-code></strong><li><strong data-code></strong></li>
  <button id="device-again" type="button">Enter another code</button></div>`;

let replaced: string[];
const el = (id: string) => document.getElementById(id)!;
const mount = (search = "") => mountDevicePage(document, search, (q) => replaced.push(q));
const submit = (typed: string) => {
  (el("user-code") as HTMLInputElement).value = typed;
  el("device-form").dispatchEvent(new Event("submit", { cancelable: true }));
};
const codes = () => [...document.querySelectorAll("[data-code]")].map((e) => e.textContent);

beforeEach(() => {
  document.body.innerHTML = PAGE;
  replaced = [];
});

describe("normalizeUserCode", () => {
  it("takes a code in any case, with or without separators", () => {
    for (const typed of ["WDJB-MJHT", "wdjb-mjht", "WDJBMJHT", " wdjb mjht ", "WDJB–MJHT", "W-D-J-B-M-J-H-T"]) {
      expect(normalizeUserCode(typed)).toBe("WDJBMJHT");
    }
  });
  it("refuses what cannot be a code", () => {
    for (const typed of ["", "WDJB-MJH", "WDJB-MJHTB", "WDJA-MJHT", "WDJB-MJH1", "WDJB_MJHT", "WDJBMJß", "x".repeat(65)]) {
      expect(normalizeUserCode(typed)).toBeUndefined();
    }
  });
  it("uses RFC 8628's 20 consonants", () => {
    expect(USER_CODE_ALPHABET).toHaveLength(20);
    expect(USER_CODE_ALPHABET).not.toMatch(/[AEIOUY0-9]/);
    expect(formatUserCode("WDJBMJHT")).toBe("WDJB-MJHT");
  });
});

describe("mountDevicePage", () => {
  it("shows the steps with a typed code, as the device shows it", () => {
    mount();
    expect(document.body.dataset.shown).toBe("form");
    submit("wdjb mjht");
    expect(el("device-form").hidden).toBe(true);
    expect(el("device-next").hidden).toBe(false);
    expect(codes()).toEqual(["WDJB-MJHT", "WDJB-MJHT"]);
    expect(replaced).toEqual(["?user_code=WDJB-MJHT"]);
    el("device-again").click();
    expect(el("device-form").hidden).toBe(false);
    expect(el("device-next").hidden).toBe(true);
    expect((el("user-code") as HTMLInputElement).value).toBe("");
    expect(replaced).toEqual(["?user_code=WDJB-MJHT", ""]);
  });

  it("says what is wrong with text that is not a code, and stays on the form", () => {
    mount();
    submit("HELLO");
    expect(el("device-error").hidden).toBe(false);
    expect(el("device-error").textContent).toBe(NOT_A_CODE);
    expect(el("user-code").getAttribute("aria-invalid")).toBe("true");
    expect(el("device-next").hidden).toBe(true);
    submit("WDJB-MJHT");
    expect(el("device-error").hidden).toBe(true);
    expect(el("device-next").hidden).toBe(false);
  });

  it("takes ?user_code= (a camera app opened the device's QR code) as typed", () => {
    mount("?user_code=WDJB-MJHT");
    expect(el("device-next").hidden).toBe(false);
    expect(codes()).toEqual(["WDJB-MJHT", "WDJB-MJHT"]);
    document.body.innerHTML = PAGE;
    mount("?user_code=%3Cscript%3E");
    expect(el("device-next").hidden).toBe(true);
    expect((el("user-code") as HTMLInputElement).value).toBe("<script>");
    expect(el("device-error").textContent).toBe(NOT_A_CODE);
  });

  it("does nothing on another page", () => {
    document.body.innerHTML = "<div id=screen></div>";
    expect(() => mount("?user_code=WDJB-MJHT")).not.toThrow();
    expect(replaced).toEqual([]);
  });
});
