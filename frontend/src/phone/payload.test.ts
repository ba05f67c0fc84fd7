import { describe, expect, it } from "vitest";
import { devicePayload, parseScanned, ticketPayload, validRef } from "./payload";

const REF = "abcdefghijklmnopqrstuv_-01";

describe("parseScanned", () => {
  it("reads a desktop's ticket as the server does (api.ParsePayload)", () => {
    expect(parseScanned(`https://login.example/q/${REF}`)).toEqual({
      kind: "ticket",
      payload: `https://login.example/q/${REF}`,
      base: "https://login.example",
      ref: REF,
    });
    expect(parseScanned(` http://127.0.0.1:8080/login/q/${REF}\n`)).toMatchObject({ kind: "ticket", base: "http://127.0.0.1:8080/login", ref: REF });
  });

  it("reads a device grant's link (api.ParseDevicePayload)", () => {
    expect(parseScanned("https://login.example/device?user_code=wdjb-mjht")).toEqual({
      kind: "device",
      payload: "https://login.example/device?user_code=wdjb-mjht",
      base: "https://login.example",
      code: "WDJBMJHT",
    });
  });

  it("says that anything else is not a qrlogin code", () => {
    for (const text of [
      "hello",
      "",
      "WIFI:S:x;;",
      "ftp://login.example/q/" + REF,
      `https://login.example/q/${REF}?x=1`,
      `https://login.example/q/${REF}#frag`,
      "https://login.example/q/short",
      "https://login.example/device?user_code=AEIOU123",
      "https://login.example/device",
    ]) {
      expect(parseScanned(text).kind, text).toBe("other");
    }
    expect(parseScanned("https://shop.example/menu")).toMatchObject({ message: expect.stringMatching(/not a qrlogin code.*It links to shop\.example\.$/) });
  });
});

describe("payloads", () => {
  it("writes what the server's QR codes hold", () => {
    expect(ticketPayload("https://login.example/", REF)).toBe(`https://login.example/q/${REF}`);
    expect(devicePayload("https://login.example", "WDJBMJHT")).toBe("https://login.example/device?user_code=WDJB-MJHT");
    expect(parseScanned(devicePayload("https://login.example", "WDJBMJHT"))).toMatchObject({ kind: "device", code: "WDJBMJHT" });
  });
  it("validRef is api.ValidRef", () => {
    expect(validRef("a".repeat(22))).toBe(true);
    expect(validRef("a".repeat(64))).toBe(true);
    expect(validRef("a".repeat(21))).toBe(false);
    expect(validRef("a".repeat(65))).toBe(false);
    expect(validRef("a".repeat(21) + "=")).toBe(false);
  });
});
