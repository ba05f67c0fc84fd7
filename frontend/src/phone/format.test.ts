import { describe, expect, it } from "vitest";
import { ago, browserName, countdown, initial, joinParts, phoneDevice, phoneOS, scopeLines } from "./format";

const NOW = Date.parse("2026-03-01T12:00:00Z");
const before = (s: number) => new Date(NOW - s * 1000).toISOString();

describe("ago", () => {
  it("says how long ago in words", () => {
    expect(ago(before(0), NOW)).toBe("just now");
    expect(ago(before(-30), NOW)).toBe("just now"); // a clock ahead
    expect(ago(before(1), NOW)).toBe("just now");
    expect(ago(before(12), NOW)).toBe("12 seconds ago");
    expect(ago(before(60), NOW)).toBe("1 minute ago");
    expect(ago(before(150), NOW)).toBe("2 minutes ago");
    expect(ago(before(3600), NOW)).toBe("1 hour ago");
    expect(ago(before(47 * 3600), NOW)).toBe("47 hours ago");
    expect(ago(before(3 * 86400), NOW)).toBe("3 days ago");
  });
  it("is empty for what is not a time", () => {
    expect(ago(undefined, NOW)).toBe("");
    expect(ago("", NOW)).toBe("");
    expect(ago("yesterday", NOW)).toBe("");
    expect(ago("0001-01-01T00:00:00Z", NOW)).toBe(""); // Go's zero time
  });
});

describe("countdown", () => {
  it("writes the time left as m:ss, empty once past", () => {
    expect(countdown(new Date(NOW + 83_000).toISOString(), NOW)).toBe("1:23");
    expect(countdown(new Date(NOW + 4_200).toISOString(), NOW)).toBe("0:05");
    expect(countdown(new Date(NOW).toISOString(), NOW)).toBe("");
    expect(countdown("nope", NOW)).toBe("");
  });
});

describe("scopeLines", () => {
  it("says what each scope hands over, once, in order", () => {
    expect(scopeLines(["openid", "profile", "openid", "", "custom:read"])).toEqual([
      "Your qrlogin account ID, to know you next time",
      "Your name and profile picture",
      "custom:read",
    ]);
    expect(scopeLines(undefined)).toEqual([]);
    expect(scopeLines(["constructor"])).toEqual(["constructor"]);
  });
});

describe("phoneDevice", () => {
  const ua = {
    pixel: "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Mobile Safari/537.36",
    iphone: "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
    iphoneChrome: "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/126.0 Mobile/15E148 Safari/604.1",
    samsung: "Mozilla/5.0 (Linux; Android 14; SM-S921B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/25.0 Chrome/121.0 Mobile Safari/537.36",
    firefox: "Mozilla/5.0 (Android 14; Mobile; rv:127.0) Gecko/127.0 Firefox/127.0",
    edge: "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Mobile Safari/537.36 EdgA/126.0",
  };
  it("names the browser and the system", () => {
    expect(phoneDevice(ua.pixel)).toEqual({ name: "Chrome on Android", platform: "Android (web)" });
    expect(phoneDevice(ua.iphone)).toEqual({ name: "Safari on iOS", platform: "iOS (web)" });
    expect(phoneDevice(ua.iphoneChrome).name).toBe("Chrome on iOS");
    expect(phoneDevice(ua.samsung).name).toBe("Samsung Internet on Android");
    expect(phoneDevice(ua.firefox).name).toBe("Firefox on Android");
    expect(phoneDevice(ua.edge).name).toBe("Edge on Android");
    expect(phoneDevice("")).toEqual({ name: "Web browser", platform: "web" });
    expect(phoneDevice("Something (Linux)")).toEqual({ name: "Browser on Linux", platform: "Linux (web)" });
    expect(phoneOS("Mozilla/5.0 (iPad; CPU OS 17_5 like Mac OS X)")).toBe("iPadOS");
    expect(browserName("curl/8.0")).toBe("");
  });
});

describe("small words", () => {
  it("initial and joinParts", () => {
    expect(initial(" émile")).toBe("É");
    expect(initial("")).toBe("?");
    expect(initial(undefined)).toBe("?");
    expect(joinParts("Ubuntu", "", undefined, " ", "qrlogin desktop")).toBe("Ubuntu · qrlogin desktop");
  });
});
