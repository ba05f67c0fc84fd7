import { describe, expect, it } from "vitest";
import { cacheKey, cacheName, hashed, strategy } from "./sw-cache";

const O = "https://login.example";
const s = (path: string, method = "GET", origin = O) => strategy(method, new URL(path, origin), O, "/m/");

describe("the service worker's strategy", () => {
  it("never answers for the API, QR images, avatars or another origin", () => {
    expect(s("/api/v1/mobile/account")).toBe("none");
    expect(s("/api/v1/mobile/events")).toBe("none");
    expect(s("/q/abc.png")).toBe("none");
    expect(s("/avatars/x.svg")).toBe("none");
    expect(s("/m/index-Bb_njFId.js", "GET", "https://cdn.example")).toBe("none");
    expect(s("/m/", "POST")).toBe("none");
    expect(s("/m/sw.js")).toBe("none");
    expect(s("/m/sub/file.js")).toBe("none");
    expect(s("/mx/")).toBe("none");
  });
  it("keeps hashed files for good and asks the network first for the rest", () => {
    expect(s("/m/index-Bb_njFId.js")).toBe("cache-first");
    expect(s("/m/index-Bb_njFId.css")).toBe("cache-first");
    expect(s("/m/")).toBe("network-first");
    expect(s("/m/index.html")).toBe("network-first");
    expect(s("/m/?x=1")).toBe("network-first");
    expect(s("/m/manifest.webmanifest")).toBe("network-first");
    expect(s("/m/decoder.wasm")).toBe("network-first");
    expect(s("/m/wasm_exec.js")).toBe("network-first");
    expect(hashed("decoder.worker-D1a2b3c4.js")).toBe(true);
    expect(hashed("wasm_exec.js")).toBe(false);
  });
  it("keeps the page under its scope's own key", () => {
    expect(cacheKey(new URL("/m/index.html", O), "/m/")).toBe(`${O}/m/`);
    expect(cacheKey(new URL("/m/", O), "/m/")).toBe(`${O}/m/`);
    expect(cacheKey(new URL("/m/icon.svg", O), "/m/")).toBe(`${O}/m/icon.svg`);
    expect(cacheName("v1")).toBe("qrlogin-phone-v1");
  });
});
