/**
 * The project's own QR decoder (mobile-sim/decode, built for WebAssembly by
 * `make wasm`) in a worker, for browsers without a BarcodeDetector that
 * reads QR codes. The worker (decoder.worker.ts) loads /m/wasm_exec.js and
 * /m/decoder.wasm, which server/phone serves beside the app, when it
 * starts; frames are decoded there, one at a time, off the page's thread.
 *
 *   const decoder = createDecoder();
 *   const texts = await decoder.decode(ctx.getImageData(0, 0, w, h)); // [] if no code
 *   decoder.close();
 */

/** DecodeRequest is what the page posts to the worker; rgba is transferred. */
export interface DecodeRequest {
  id: number;
  /** rgba is width×height pixels of 4 bytes, as an ImageData's data. */
  rgba: ArrayBuffer;
  width: number;
  height: number;
}

/** DecodeReply is the worker's answer to the request of the same id. */
export type DecodeReply = { id: number; texts: string[]; error?: undefined } | { id: number; error: string; texts?: undefined };

/** WasmDecoder reads the QR codes in frames (scanner.ts's Decoder). */
export interface WasmDecoder {
  /**
   * decode resolves to the texts of the QR codes in the frame, none if
   * there is none; it rejects if the frame is not valid pixels or the
   * decoder could not load. imageData is copied, not taken.
   */
  decode(imageData: ImageData): Promise<string[]>;
  /** close ends the worker; pending and later decodes reject. */
  close(): void;
}

/** WorkerLike is what createDecoder uses of a Worker. */
export interface WorkerLike {
  onmessage: ((e: MessageEvent<DecodeReply>) => void) | null;
  /** onerror gets an ErrorEvent, or a plain Event when the worker's script did not load. */
  onerror: ((e: ErrorEvent) => void) | null;
  postMessage(message: DecodeRequest, transfer: Transferable[]): void;
  terminate(): void;
}

/** startWorker starts decoder.worker.ts, which Vite builds into a file of its own. */
function startWorker(): WorkerLike {
  return new Worker(new URL("./decoder.worker.ts", import.meta.url), { type: "module" });
}

/** Pending is a decode that waits for its reply. */
interface Pending {
  resolve(texts: string[]): void;
  reject(err: Error): void;
}

/**
 * createDecoder starts the decoder's worker. If the worker fails (its
 * script cannot load), the decodes it had reject and the next decode
 * starts another. start is for tests.
 */
export function createDecoder(start: () => WorkerLike = startWorker): WasmDecoder {
  let worker: WorkerLike | undefined;
  let closed = false;
  let nextID = 1;
  const pending = new Map<number, Pending>();

  const failAll = (err: Error) => {
    for (const p of pending.values()) p.reject(err);
    pending.clear();
  };

  const open = (): WorkerLike => {
    const w = start();
    w.onmessage = (e) => {
      const reply = e.data;
      const p = pending.get(reply.id);
      if (!p) return;
      pending.delete(reply.id);
      if (typeof reply.error === "string") p.reject(new Error(reply.error));
      else p.resolve(reply.texts);
    };
    w.onerror = (e) => {
      const msg = e.message as string | undefined;
      w.terminate();
      if (worker === w) worker = undefined;
      failAll(new Error(`the QR decoder's worker failed${msg ? `: ${msg}` : ""}`));
    };
    return w;
  };
  worker = open();

  return {
    decode(imageData) {
      if (closed) return Promise.reject(new Error("the QR decoder is closed"));
      worker ??= open();
      const id = nextID++;
      const rgba = imageData.data.slice().buffer;
      return new Promise<string[]>((resolve, reject) => {
        pending.set(id, { resolve, reject });
        worker!.postMessage({ id, rgba, width: imageData.width, height: imageData.height }, [rgba]);
      });
    },
    close() {
      if (closed) return;
      closed = true;
      worker?.terminate();
      worker = undefined;
      failAll(new Error("the QR decoder is closed"));
    },
  };
}
