// Measurements (not tests) of the phone web app's QR decoding in Chromium,
// on the real qrlogin-server. Run by server/phone/browser_test.go:
//
//   QRLOGIN_PHONE_BENCH=1 go test -run TestPhoneBench -v ./server/phone/
//
// It prints, as JSON lines:
//   - "decode": the WebAssembly decoder's worker (the app's built
//     decoder.worker-*.js, with /m/decoder.wasm), started in the app's page
//     and given 640×480 frames as decoder.ts gives them (the pixels copied,
//     the copy transferred): the desktop's QR code centred on white (as
//     the fake camera's clip), a white frame and a frame of noise; the
//     first decode (which waits for the WebAssembly to load) apart, then
//     the median and p90 of QRLOGIN_BENCH_FRAMES (default 60) decodes, in
//     ms, from the page's postMessage to its reply. Whether the browser
//     has a BarcodeDetector that reads QR codes is said too.
//   - "camera": per run, a fresh Chromium whose fake camera plays a clip of
//     a desktop's QR code (every frame; QRLOGIN_BENCH_CLIPS is
//     "clip.y4m=Desktop name" pairs joined by ";", one a run): the times,
//     in ms from the tap on Scan, of the camera screen, of the video's
//     first frame (loadeddata), of the first frame posted to the decoder,
//     and of the approval screen; BarcodeDetector is removed so that the
//     app uses the WebAssembly decoder. Then the medians.
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";
import { assert, CHROMIUM_ARGS, env, need, waitShown } from "./lib.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const server = () => need("QRLOGIN_E2E_SERVER");

/** PHONE is phone.mjs's phone. */
const PHONE = {
  viewport: { width: 360, height: 780 },
  screen: { width: 360, height: 780 },
  deviceScaleFactor: 2,
  isMobile: true,
  hasTouch: true,
  userAgent:
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Mobile Safari/537.36",
  locale: "en-US",
  timezoneId: "UTC",
};

async function withPhone(fn, { args = [], permissions = [] } = {}) {
  const profile = mkdtempSync(join(tmpdir(), "qrlogin-phone-bench-"));
  const ctx = await chromium.launchPersistentContext(profile, {
    executablePath: env.chromium,
    args: [...CHROMIUM_ARGS, ...args],
    headless: true,
    ...PHONE,
  });
  try {
    if (permissions.length) await ctx.grantPermissions(permissions, { origin: server() });
    const page = ctx.pages()[0] ?? (await ctx.newPage());
    return await fn(ctx, page);
  } finally {
    await ctx.close().catch(() => {});
    rmSync(profile, { recursive: true, force: true });
  }
}

async function createAccount(page, name) {
  const username = `${name}-${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`.slice(0, 32);
  await page.goto(`${server()}/m/`);
  await waitShown(page, "signin");
  await page.getByRole("button", { name: "Create account", exact: true }).tap();
  await page.getByLabel("Username", { exact: true }).fill(username);
  await page.getByLabel("Password", { exact: true }).fill("correct horse battery staple");
  await page.getByLabel(/Your name/).fill(name);
  await page.getByRole("button", { name: "Create account", exact: true }).tap();
  await waitShown(page, "scan");
}

/** stats sorts ms and returns its median and p90 (nearest rank), rounded to 0.1 ms. */
function stats(ms) {
  const s = [...ms].sort((a, b) => a - b);
  const at = (q) => s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)];
  const r = (v) => Math.round(v * 10) / 10;
  return { n: s.length, median_ms: r(at(0.5)), p90_ms: r(at(0.9)), min_ms: r(s[0]), max_ms: r(s[s.length - 1]) };
}

/** hasBarcodeDetector says whether the page's browser has a BarcodeDetector, and its formats. */
const hasBarcodeDetector = (page) =>
  page.evaluate(async () => {
    const BD = globalThis.BarcodeDetector;
    if (typeof BD !== "function") return { present: false };
    return { present: true, formats: await BD.getSupportedFormats?.().catch((e) => `error: ${e}`) };
  });

async function decode() {
  const frames = Number(process.env.QRLOGIN_BENCH_FRAMES || "60");
  const ref = need("QRLOGIN_E2E_CAMERA_REF");
  const worker = readdirSync(resolve(here, "../../server/phone/static")).find((f) => /^decoder\.worker-.*\.js$/.test(f));
  assert(worker, "no decoder.worker-*.js in server/phone/static");
  await withPhone(async (_ctx, page) => {
    await page.goto(`${server()}/m/`);
    await waitShown(page, "signin");
    const bd = await hasBarcodeDetector(page);
    const out = await page.evaluate(
      async ({ worker, ref, frames }) => {
        const W = 640;
        const H = 480;
        const canvas = document.createElement("canvas");
        canvas.width = W;
        canvas.height = H;
        const ctx = canvas.getContext("2d", { willReadFrequently: true });
        const white = () => {
          ctx.fillStyle = "#fff";
          ctx.fillRect(0, 0, W, H);
        };
        // The desktop's QR code as the clip shows it: 360 px, centred on white.
        const bmp = await createImageBitmap(await (await fetch(`/q/${ref}.png?px=360`)).blob());
        white();
        ctx.drawImage(bmp, (W - bmp.width) >> 1, (H - bmp.height) >> 1);
        const qr = ctx.getImageData(0, 0, W, H);
        white();
        const blank = ctx.getImageData(0, 0, W, H);
        const noise = ctx.createImageData(W, H);
        let seed = 1;
        for (let i = 0; i < noise.data.length; i += 4) {
          seed = (seed * 1103515245 + 12345) >>> 0;
          noise.data[i] = noise.data[i + 1] = noise.data[i + 2] = seed >>> 24;
          noise.data[i + 3] = 255;
        }

        const w = new Worker(`/m/${worker}`, { type: "module" });
        let id = 0;
        const waiting = new Map();
        w.onmessage = (e) => {
          waiting.get(e.data.id)?.(e.data);
          waiting.delete(e.data.id);
        };
        // As decoder.ts's decode: copy the pixels, transfer the copy, await the reply.
        const once = (img) =>
          new Promise((resolve) => {
            const t0 = performance.now();
            const rgba = img.data.slice().buffer;
            const n = ++id;
            waiting.set(n, (reply) => resolve({ ms: performance.now() - t0, reply }));
            w.postMessage({ id: n, rgba, width: img.width, height: img.height }, [rgba]);
          });
        const res = {};
        const first = await once(qr); // waits for decoder.wasm to load and start
        res.first = { ms: first.ms, reply: first.reply };
        for (const [name, img] of Object.entries({ qr, blank, noise })) {
          for (let i = 0; i < 3; i++) await once(img); // warm up
          const ms = [];
          let reply;
          for (let i = 0; i < frames; i++) {
            const r = await once(img);
            ms.push(r.ms);
            reply = r.reply;
          }
          res[name] = { ms, reply };
        }
        w.terminate();
        return res;
      },
      { worker, ref, frames },
    );
    const texts = (r) => r.texts ?? `error: ${r.error}`;
    assert(out.qr.reply.texts?.length === 1, `the QR frame decoded to ${JSON.stringify(out.qr.reply)}`);
    assert(out.blank.reply.texts?.length === 0 && out.noise.reply.texts?.length === 0, "a frame without a code decoded to a code");
    console.log(JSON.stringify({ bench: "decode", barcode_detector: bd, worker, frame: "640x480", first_ms: Math.round(out.first.ms * 10) / 10 }));
    for (const name of ["qr", "blank", "noise"]) {
      console.log(JSON.stringify({ bench: "decode", frame: name, ...stats(out[name].ms), texts: texts(out[name].reply) }));
    }
  });
}

/** MARKS is an init script that records, in the page's clock, when the camera's video and the screens show. */
const MARKS = () => {
  const b = (window.__bench = { posts: 0 });
  delete window.BarcodeDetector; // the app's wasm path, whatever this Chromium has
  document.addEventListener("loadeddata", () => (b.loadeddata ??= performance.now()), true);
  const post = Worker.prototype.postMessage;
  Worker.prototype.postMessage = function (...args) {
    if (b.firstPost === undefined) {
      b.firstPost = performance.now();
      this.addEventListener("message", () => (b.firstReply = performance.now()), { once: true });
    }
    b.posts++;
    return post.apply(this, args);
  };
  new MutationObserver(() => {
    const s = document.body?.dataset.shown;
    if (s && !(s in b)) b[s] = performance.now();
  }).observe(document, { subtree: true, attributes: true, attributeFilter: ["data-shown"] });
};

async function camera() {
  const clips = need("QRLOGIN_BENCH_CLIPS")
    .split(";")
    .map((p) => p.split("="));
  const runs = [];
  for (const [clip, name] of clips) {
    const run = await withPhone(
      async (_ctx, page) => {
        await page.addInitScript(MARKS);
        await createAccount(page, "Bench");
        const bd = await page.evaluate(() => typeof globalThis.BarcodeDetector);
        assert(bd === "undefined", "BarcodeDetector is still there");
        const tap = await page.evaluate(() => performance.now());
        await page.getByRole("button", { name: "Scan", exact: true }).tap();
        await waitShown(page, "approve", 30_000);
        const got = await page.getByTestId("desktop-name").textContent();
        assert(got.includes(name), `approval of ${JSON.stringify(got)}, want ${name}`);
        const b = await page.evaluate(() => window.__bench);
        const r = (v) => (v === undefined ? null : Math.round((v - tap) * 10) / 10);
        return {
          camera_screen_ms: r(b.camera),
          first_frame_ms: r(b.loadeddata),
          first_decode_post_ms: r(b.firstPost),
          first_decode_reply_ms: r(b.firstReply),
          approve_ms: r(b.approve),
          frame_to_approve_ms: Math.round((b.approve - b.loadeddata) * 10) / 10,
          frames_posted: b.posts,
        };
      },
      {
        args: ["--use-fake-device-for-media-stream", `--use-file-for-fake-video-capture=${clip}`],
        permissions: ["camera"],
      },
    );
    console.log(JSON.stringify({ bench: "camera", run: runs.length + 1, ...run }));
    runs.push(run);
  }
  const summary = {};
  for (const k of ["camera_screen_ms", "first_frame_ms", "first_decode_post_ms", "first_decode_reply_ms", "approve_ms", "frame_to_approve_ms"]) {
    const s = stats(runs.map((r) => r[k]));
    summary[k] = { median: s.median_ms, min: s.min_ms, max: s.max_ms };
  }
  console.log(JSON.stringify({ bench: "camera", runs: runs.length, ...summary }));
}

const all = { decode, camera };
for (const name of process.argv.slice(2).length ? process.argv.slice(2) : Object.keys(all)) {
  if (!all[name]) throw new Error(`no bench ${name}; have: ${Object.keys(all).join(", ")}`);
  await all[name]();
}
