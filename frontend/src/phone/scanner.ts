/**
 * Reading QR codes in the page: from the back camera's frames or from a
 * photo. Frames are decoded by the browser's BarcodeDetector where it has
 * one that reads QR codes, otherwise by the project's WebAssembly decoder
 * (decoder.ts: a worker), loaded only then. Nothing leaves the phone but
 * the text of a qrlogin code, which the app sends to its own server.
 */
import { h } from "../dom";

/** Decoder reads the QR codes in a frame (decoder.ts's interface). */
export interface Decoder {
  decode(imageData: ImageData): Promise<string[]>;
  close(): void;
}

interface DetectedBarcode {
  rawValue: string;
}
interface BarcodeDetectorLike {
  detect(source: ImageData): Promise<DetectedBarcode[]>;
}
interface BarcodeDetectorClass {
  new (o: { formats: string[] }): BarcodeDetectorLike;
  getSupportedFormats?: () => Promise<string[]>;
}

/**
 * nativeDecoder wraps the browser's BarcodeDetector, if it reads QR codes;
 * undefined if not.
 */
export async function nativeDecoder(g: unknown = globalThis): Promise<Decoder | undefined> {
  const BD = (g as { BarcodeDetector?: BarcodeDetectorClass }).BarcodeDetector;
  if (typeof BD !== "function") return undefined;
  try {
    const formats = (await BD.getSupportedFormats?.()) ?? [];
    if (!formats.includes("qr_code")) return undefined;
    const det = new BD({ formats: ["qr_code"] });
    return {
      decode: async (img) => (await det.detect(img)).map((b) => b.rawValue).filter((s) => typeof s === "string" && s !== ""),
      close: () => {},
    };
  } catch {
    return undefined;
  }
}

/** openDecoder returns the browser's decoder, or else the WebAssembly one. */
export async function openDecoder(): Promise<Decoder> {
  const native = await nativeDecoder();
  if (native) return native;
  const { createDecoder } = await import("./decoder");
  return createDecoder();
}

/** fitSize scales w×h down (never up) so that its longer side is at most max. */
export function fitSize(w: number, h: number, max: number): { w: number; h: number } {
  const s = Math.min(1, max / Math.max(w, h, 1));
  return { w: Math.max(1, Math.round(w * s)), h: Math.max(1, Math.round(h * s)) };
}

/** pixels draws source, scaled to fit max, and returns its pixels. */
function pixels(source: CanvasImageSource, w: number, h: number, max: number): ImageData {
  const size = fitSize(w, h, max);
  const canvas = document.createElement("canvas");
  canvas.width = size.w;
  canvas.height = size.h;
  const ctx = canvas.getContext("2d", { willReadFrequently: true });
  if (!ctx) throw new Error("this browser cannot read images");
  ctx.imageSmoothingEnabled = true;
  ctx.drawImage(source, 0, 0, size.w, size.h);
  return ctx.getImageData(0, 0, size.w, size.h);
}

/**
 * decodePhoto reads the QR codes in an image file: at a size that a photo
 * of a screen decodes well at, then smaller and at full size if that found
 * none. It rejects if the file is not an image the browser can read.
 */
export async function decodePhoto(file: Blob, decoder: Decoder): Promise<string[]> {
  const bmp = await createImageBitmap(file);
  try {
    const tried = new Set<number>();
    for (const max of [1024, 640, 1600, Math.max(bmp.width, bmp.height)]) {
      const size = fitSize(bmp.width, bmp.height, max);
      if (tried.has(size.w)) continue;
      tried.add(size.w);
      const found = await decoder.decode(pixels(bmp, bmp.width, bmp.height, max));
      if (found.length) return found;
    }
    return [];
  } finally {
    bmp.close();
  }
}

/** CameraProblem is why the camera does not show. */
export type CameraProblem = "refused" | "unavailable";

/** cameraProblem classifies a getUserMedia failure. */
export function cameraProblem(err: unknown): CameraProblem {
  const name = (err as { name?: string } | undefined)?.name;
  return name === "NotAllowedError" || name === "SecurityError" || name === "PermissionDeniedError" ? "refused" : "unavailable";
}

/** FRAME_EVERY is how often a frame is decoded, in ms, at most (one at a time). */
const FRAME_EVERY = 150;
/** FRAME_MAX is the longer side of a decoded frame, in pixels. */
const FRAME_MAX = 800;

export interface CameraOptions {
  /** onText gets the QR codes of a frame; true stops the camera (a code was taken). */
  onText: (texts: string[]) => boolean;
  /** onProblem is told why the camera cannot show; the camera has stopped. */
  onProblem: (p: CameraProblem, err: unknown) => void;
  /**
   * decoder gives the frames' decoder, which its giver keeps and closes;
   * without it the camera opens its own (openDecoder) and closes it.
   */
  decoder?: () => Promise<Decoder>;
}

/**
 * Camera is the back camera in a viewfinder: el shows it; start asks for
 * it; stop ends the stream and the decoding. It never runs after stop.
 */
export class Camera {
  readonly el: HTMLElement;
  private readonly video: HTMLVideoElement;
  private stream?: MediaStream;
  private decoder?: Decoder;
  private ownDecoder = false;
  private stopped = false;
  private timer?: ReturnType<typeof setTimeout>;

  constructor(private readonly o: CameraOptions) {
    this.video = h("video", { class: "viewfinder-video", muted: true, playsinline: true, autoplay: true, "aria-hidden": "true" });
    this.video.muted = true;
    this.el = h(
      "div",
      { class: "viewfinder", role: "img", "aria-label": "Camera view: point it at the QR code" },
      this.video,
      h("span", { class: "viewfinder-frame", "aria-hidden": "true" }),
    );
  }

  async start(): Promise<void> {
    const media = navigator.mediaDevices;
    if (!media?.getUserMedia) {
      this.fail("unavailable", new Error("no camera API (the page must be served over https)"));
      return;
    }
    let stream: MediaStream;
    try {
      stream = await media.getUserMedia({ video: { facingMode: "environment" }, audio: false });
    } catch (err) {
      this.fail(cameraProblem(err), err);
      return;
    }
    if (this.stopped) {
      for (const t of stream.getTracks()) t.stop();
      return;
    }
    this.stream = stream;
    this.video.srcObject = stream;
    try {
      await this.video.play();
    } catch {
      // autoplay of a muted inline video is allowed; a refusal shows as no frames
    }
    try {
      const decoder = await (this.o.decoder ?? openDecoder)();
      this.ownDecoder = !this.o.decoder;
      if (this.stopped) {
        if (this.ownDecoder) decoder.close();
        return;
      }
      this.decoder = decoder;
    } catch (err) {
      this.fail("unavailable", err);
      return;
    }
    this.el.classList.add("live");
    this.tick();
  }

  private fail(p: CameraProblem, err: unknown): void {
    if (this.stopped) return;
    this.stop();
    this.o.onProblem(p, err);
  }

  private tick(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => void this.frame(), FRAME_EVERY);
  }

  private async frame(): Promise<void> {
    const v = this.video;
    if (this.stopped || !this.decoder) return;
    if (v.readyState >= 2 && v.videoWidth > 0) {
      let texts: string[] = [];
      try {
        texts = await this.decoder.decode(pixels(v, v.videoWidth, v.videoHeight, FRAME_MAX));
      } catch {
        // a frame that could not be read: the next one may
      }
      if (this.stopped) return;
      if (texts.length && this.o.onText(texts)) {
        this.stop();
        return;
      }
    }
    this.tick();
  }

  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    clearTimeout(this.timer);
    for (const t of this.stream?.getTracks() ?? []) t.stop();
    this.video.srcObject = null;
    if (this.ownDecoder) this.decoder?.close();
    this.decoder = undefined;
  }
}
