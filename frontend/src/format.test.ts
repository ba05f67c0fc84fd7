import { describe, expect, it } from "vitest";
import { qrPixels, serverLine, when, withPx } from "./format";

describe("format", () => {
  it("asks for the QR image in device pixels", () => {
    expect(qrPixels(232, 1)).toBe(232);
    expect(qrPixels(232, 2)).toBe(464);
    expect(qrPixels(232, 1.25)).toBe(290);
    expect(qrPixels(232, 0)).toBe(232);
  });

  it("adds px to the image URL", () => {
    expect(withPx("http://h/q/r.png", 232)).toBe("http://h/q/r.png?px=232");
    expect(withPx("http://h/q/r.png?a=1", 232)).toBe("http://h/q/r.png?a=1&px=232");
  });

  it("names the server", () => {
    expect(serverLine("embedded", "http://127.0.0.1:5000")).toBe("Embedded server at http://127.0.0.1:5000");
    expect(serverLine("embedded", "")).toBe("Embedded server (not running)");
    expect(serverLine("remote", "https://login.example")).toBe("Server: https://login.example");
  });

  it("formats times, and nothing for a zero or bad one", () => {
    expect(when("2026-03-04T05:06:00Z", "en-GB")).toMatch(/2026/);
    expect(when("0001-01-01T00:00:00Z")).toBe("");
    expect(when("nonsense")).toBe("");
    expect(when(undefined)).toBe("");
  });
});
