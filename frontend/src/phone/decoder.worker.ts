/**
 * The QR decoder's worker (decoder.ts starts it): the project's decoder,
 * mobile-sim/decode built for WebAssembly (mobile-sim/decode/wasm), run off
 * the page's thread. It loads Go's wasm_exec.js and decoder.wasm from the
 * folder it is served from (/m/, where `make wasm` puts them beside the
 * app's files), as soon as it starts.
 *
 * Protocol: the page posts {id, rgba: ArrayBuffer (transferred), width,
 * height}; the worker answers {id, texts: string[]} (none if no code is
 * found) or {id, error: string}, one request at a time, in order.
 *
 * The CSP it runs under allows this: its own origin's scripts (the
 * worker's module and wasm_exec.js) and WebAssembly compilation
 * ('wasm-unsafe-eval'); nothing is evaluated from text.
 */
import type { DecodeReply, DecodeRequest } from "./decoder";

/** GoRuntime is what the worker uses of wasm_exec.js's Go class. */
interface GoRuntime {
  readonly importObject: WebAssembly.Imports;
  run(instance: WebAssembly.Instance): Promise<void>;
}

/** DecodeFn is decoder.wasm's qrloginDecode (mobile-sim/decode/wasm). */
type DecodeFn = (rgba: Uint8Array, width: number, height: number) => { texts?: string[]; error?: string };

/** Globals are the worker's globals that wasm_exec.js and decoder.wasm define. */
interface Globals {
  Go?: new () => GoRuntime;
  qrloginDecode?: DecodeFn;
}

/** WorkerScope is what the worker uses of its global scope. */
interface WorkerScope {
  readonly location: { readonly href: string };
  postMessage(reply: DecodeReply): void;
  addEventListener(type: "message", fn: (e: MessageEvent<DecodeRequest>) => void): void;
}

const scope = self as unknown as WorkerScope;
const g = globalThis as Globals;

/** compiled is decoder.wasm compiled, with wasm_exec.js loaded; reset if that failed. */
let compiled: Promise<WebAssembly.Module> | undefined;
/** running is the Go program's qrloginDecode; reset if it failed or exited. */
let running: Promise<DecodeFn> | undefined;

/** compile loads wasm_exec.js and compiles decoder.wasm as it downloads. */
async function compile(): Promise<WebAssembly.Module> {
  await import(/* @vite-ignore */ new URL("wasm_exec.js", scope.location.href).href);
  const resp = await fetch(new URL("decoder.wasm", scope.location.href));
  if (!resp.ok) throw new Error(`decoder.wasm: HTTP ${resp.status}`);
  return WebAssembly.compileStreaming(resp);
}

/** run starts the Go program (again, after a failure) and returns its qrloginDecode. */
async function run(): Promise<DecodeFn> {
  const mod = await (compiled ??= compile().catch((err: unknown) => {
    compiled = undefined;
    throw err;
  }));
  if (typeof g.Go !== "function") throw new Error("wasm_exec.js did not define Go");
  const go = new g.Go();
  const instance = await WebAssembly.instantiate(mod, go.importObject);
  delete g.qrloginDecode;
  void go.run(instance); // returns once main waits for calls; settles only if it exits
  const fn = g.qrloginDecode;
  if (typeof fn !== "function") throw new Error("decoder.wasm did not define qrloginDecode");
  return fn;
}

/** decoder returns the running decoder, starting it if need be. */
function decoder(): Promise<DecodeFn> {
  return (running ??= run().catch((err: unknown) => {
    running = undefined;
    throw err;
  }));
}

/** answer decodes one request and posts the reply. */
async function answer(req: DecodeRequest): Promise<void> {
  const id = req?.id;
  try {
    if (!(req?.rgba instanceof ArrayBuffer)) throw new Error("rgba must be an ArrayBuffer");
    const decode = await decoder();
    let r: ReturnType<DecodeFn>;
    try {
      r = decode(new Uint8Array(req.rgba), req.width, req.height);
    } catch (err) {
      running = undefined; // the Go program has exited (out of memory?): start another next time
      throw err;
    }
    if (typeof r.error === "string") throw new Error(r.error);
    scope.postMessage({ id, texts: r.texts ?? [] });
  } catch (err) {
    scope.postMessage({ id, error: err instanceof Error ? err.message : String(err) });
  }
}

scope.addEventListener("message", (e) => void answer(e.data));
// Load the decoder now, so that the first frame does not wait for it; a
// failure is reported to the first request, which tries again.
decoder().catch(() => undefined);
