// The phone app's WebAssembly QR decoder (server/phone/static/decoder.wasm,
// built from mobile-sim/decode/wasm by `make wasm`) run in Node, with the
// wasm_exec.js beside it, as the app's worker runs it in a browser. PNG
// files are read to RGBA with pngjs and handed to qrloginDecode as an
// ImageData's pixels would be.
//
//   node e2e/wasm-decoder.mjs FILE.png...
//     prints a JSON array, one entry a file: {"file", "texts": [...]} or
//     {"file", "error"}. mobile-sim/decode/wasm/wasm_test.go runs it on
//     the ZXing photos in $QRLOGIN_QR_PHOTOS and requires the same texts as the Go
//     package decodes natively.
//
//   node e2e/wasm-decoder.mjs --bench N FILE.png...
//     fits each image into a 640×480 frame (scaled down by area averages,
//     centred on white), decodes it N times and prints the time of the
//     first run, the median and the range, in ms, with the texts read.
//
// Before either, it checks that bad arguments give an error value, never
// an exception, and exits 1 if not. --dir DIR takes decoder.wasm and
// wasm_exec.js from DIR instead of server/phone/static.
import { readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { PNG } from "pngjs";

const here = dirname(fileURLToPath(import.meta.url));

/** FRAME is the size of a benchmark frame: a phone camera's small preview. */
const FRAME = { w: 640, h: 480 };

/** parseArgs splits the command line into options and files. */
function parseArgs(argv) {
  const o = { dir: resolve(here, "../../server/phone/static"), bench: 0, files: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--dir") o.dir = resolve(argv[++i] ?? "");
    else if (a === "--bench") o.bench = Number(argv[++i]);
    else if (a.startsWith("-")) throw new Error(`unknown option ${a}`);
    else o.files.push(a);
  }
  if (!Number.isInteger(o.bench) || o.bench < 0) throw new Error("--bench wants a count of runs");
  return o;
}

/** loadDecoder starts the Go program and returns its qrloginDecode. */
async function loadDecoder(dir) {
  await import(pathToFileURL(join(dir, "wasm_exec.js")).href); // defines globalThis.Go
  const go = new globalThis.Go();
  const { instance } = await WebAssembly.instantiate(readFileSync(join(dir, "decoder.wasm")), go.importObject);
  go.run(instance).then(() => {
    throw new Error("the decoder's Go program exited");
  });
  const fn = globalThis.qrloginDecode;
  if (typeof fn !== "function") throw new Error("decoder.wasm did not define qrloginDecode");
  return fn;
}

/** checkBadArguments requires an error value, not an exception or texts, for each bad call. */
function checkBadArguments(decode) {
  const px = (n) => new Uint8ClampedArray(4 * n);
  const bad = {
    "no arguments": [],
    "rgba a plain array": [[0, 0, 0, 255], 1, 1],
    "rgba an ArrayBuffer": [new ArrayBuffer(4), 1, 1],
    "width a string": [px(1), "1", 1],
    "width 0": [new Uint8ClampedArray(0), 0, 1],
    "height negative": [px(1), 1, -1],
    "width fractional": [px(2), 1.5, 1],
    "height NaN": [px(1), 1, NaN],
    "one byte short": [new Uint8ClampedArray(4 * 6 - 1), 3, 2],
    "one pixel too many": [px(6), 3, 3],
    "over 64 Mi pixels": [new Uint8Array(4), 8193, 8193],
  };
  for (const [what, args] of Object.entries(bad)) {
    const r = decode(...args);
    if (typeof r?.error !== "string" || "texts" in r) {
      throw new Error(`qrloginDecode with ${what}: want {error}, got ${JSON.stringify(r)}`);
    }
  }
  const blank = decode(new Uint8Array(4 * 64 * 48).fill(255), 64, 48);
  if (!Array.isArray(blank?.texts) || blank.texts.length !== 0) {
    throw new Error(`qrloginDecode of a blank frame: want {texts: []}, got ${JSON.stringify(blank)}`);
  }
}

/** readPNG returns a PNG file's pixels as 8-bit RGBA, not premultiplied. */
function readPNG(file) {
  const png = PNG.sync.read(readFileSync(file));
  return { data: png.data, width: png.width, height: png.height };
}

/**
 * frame fits img into a FRAME-sized RGBA frame: scaled down (never up) by
 * averaging the pixels that each frame pixel covers, centred on white.
 */
function frame(img) {
  const s = Math.min(1, FRAME.w / img.width, FRAME.h / img.height);
  const w = Math.max(1, Math.round(img.width * s));
  const h = Math.max(1, Math.round(img.height * s));
  const x0 = (FRAME.w - w) >> 1;
  const y0 = (FRAME.h - h) >> 1;
  const out = new Uint8ClampedArray(4 * FRAME.w * FRAME.h).fill(255);
  for (let y = 0; y < h; y++) {
    const sy0 = Math.floor((y * img.height) / h);
    const sy1 = Math.max(sy0 + 1, Math.floor(((y + 1) * img.height) / h));
    for (let x = 0; x < w; x++) {
      const sx0 = Math.floor((x * img.width) / w);
      const sx1 = Math.max(sx0 + 1, Math.floor(((x + 1) * img.width) / w));
      const sum = [0, 0, 0, 0];
      for (let sy = sy0; sy < sy1; sy++) {
        for (let sx = sx0; sx < sx1; sx++) {
          const i = 4 * (sy * img.width + sx);
          for (let c = 0; c < 4; c++) sum[c] += img.data[i + c];
        }
      }
      const n = (sy1 - sy0) * (sx1 - sx0);
      const o = 4 * ((y0 + y) * FRAME.w + x0 + x);
      // Composite onto the white frame, as a canvas would draw it.
      const a = sum[3] / n / 255;
      for (let c = 0; c < 3; c++) out[o + c] = Math.round((sum[c] / n) * a + 255 * (1 - a));
      out[o + 3] = 255;
    }
  }
  return out;
}

/** bench decodes each file's frame runs times and returns the timings. */
function bench(decode, files, runs) {
  return files.map((file) => {
    const rgba = frame(readPNG(file));
    const ms = [];
    let r;
    for (let i = 0; i < runs; i++) {
      const t0 = performance.now();
      r = decode(rgba, FRAME.w, FRAME.h);
      ms.push(performance.now() - t0);
    }
    const first = ms[0];
    ms.sort((a, b) => a - b);
    const round = (v) => Math.round(v * 10) / 10;
    return {
      file,
      frame: `${FRAME.w}x${FRAME.h}`,
      runs,
      first_ms: round(first),
      median_ms: round(ms[ms.length >> 1]),
      min_ms: round(ms[0]),
      max_ms: round(ms[ms.length - 1]),
      ...r,
    };
  });
}

const opts = parseArgs(process.argv.slice(2));
const decode = await loadDecoder(opts.dir);
checkBadArguments(decode);
let out;
if (opts.bench > 0) {
  out = bench(decode, opts.files, opts.bench);
} else {
  out = opts.files.map((file) => {
    try {
      const img = readPNG(file);
      return { file, ...decode(img.data, img.width, img.height) };
    } catch (err) {
      return { file, error: `cannot read the image: ${err.message}` };
    }
  });
}
process.stdout.write(JSON.stringify(out, null, 1) + "\n");
process.exit(0); // the Go program waits forever for calls
