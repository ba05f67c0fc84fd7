import { describe, expect, it } from "vitest";
import { createDecoder, type DecodeReply, type DecodeRequest, type WorkerLike } from "./decoder";

/** FakeWorker records what the page posts and answers as the test says. */
class FakeWorker implements WorkerLike {
  onmessage: ((e: MessageEvent<DecodeReply>) => void) | null = null;
  onerror: ((e: ErrorEvent) => void) | null = null;
  posted: { message: DecodeRequest; transfer: Transferable[] }[] = [];
  terminated = false;
  postMessage(message: DecodeRequest, transfer: Transferable[]) {
    this.posted.push({ message, transfer });
  }
  terminate() {
    this.terminated = true;
  }
  reply(r: DecodeReply) {
    this.onmessage?.({ data: r } as MessageEvent<DecodeReply>);
  }
  fail(message?: string) {
    this.onerror?.({ message } as ErrorEvent);
  }
}

/** starter hands out fake workers and keeps them. */
function starter() {
  const workers: FakeWorker[] = [];
  return {
    workers,
    start: () => {
      const w = new FakeWorker();
      workers.push(w);
      return w;
    },
  };
}

const frame = (w: number, h: number) => ({ data: new Uint8ClampedArray(4 * w * h).fill(7), width: w, height: h }) as ImageData;

describe("createDecoder", () => {
  it("starts its worker at once and posts a copy of the pixels, transferred", () => {
    const s = starter();
    const d = createDecoder(s.start);
    expect(s.workers).toHaveLength(1);
    const img = frame(3, 2);
    void d.decode(img);
    const [{ message, transfer }] = s.workers[0].posted;
    expect(message).toMatchObject({ id: 1, width: 3, height: 2 });
    expect(transfer).toEqual([message.rgba]);
    expect(message.rgba).not.toBe(img.data.buffer);
    expect([...new Uint8Array(message.rgba)]).toEqual([...img.data]);
    expect(img.data.length).toBe(24); // the caller's frame is intact
  });

  it("resolves each decode with its own reply, in any order", async () => {
    const s = starter();
    const d = createDecoder(s.start);
    const a = d.decode(frame(1, 1));
    const b = d.decode(frame(1, 1));
    const [ra, rb] = s.workers[0].posted.map((p) => p.message.id);
    s.workers[0].reply({ id: rb, texts: ["B"] });
    s.workers[0].reply({ id: 999, texts: ["nobody's"] });
    s.workers[0].reply({ id: ra, texts: [] });
    await expect(a).resolves.toEqual([]);
    await expect(b).resolves.toEqual(["B"]);
  });

  it("rejects with the worker's error", async () => {
    const s = starter();
    const d = createDecoder(s.start);
    const p = d.decode(frame(1, 1));
    s.workers[0].reply({ id: 1, error: "qrloginDecode: 4 bytes of RGBA is not 2×1 pixels (8 bytes)" });
    await expect(p).rejects.toThrow("4 bytes of RGBA is not 2×1 pixels");
  });

  it("rejects what a failed worker had and starts another for the next decode", async () => {
    const s = starter();
    const d = createDecoder(s.start);
    const p = d.decode(frame(1, 1));
    s.workers[0].fail();
    await expect(p).rejects.toThrow("the QR decoder's worker failed");
    expect(s.workers[0].terminated).toBe(true);
    const q = d.decode(frame(1, 1));
    expect(s.workers).toHaveLength(2);
    s.workers[1].reply({ id: s.workers[1].posted[0].message.id, texts: ["again"] });
    await expect(q).resolves.toEqual(["again"]);
  });

  it("close ends the worker and rejects pending and later decodes", async () => {
    const s = starter();
    const d = createDecoder(s.start);
    const p = d.decode(frame(1, 1));
    d.close();
    expect(s.workers[0].terminated).toBe(true);
    await expect(p).rejects.toThrow("closed");
    await expect(d.decode(frame(1, 1))).rejects.toThrow("closed");
    expect(s.workers).toHaveLength(1);
  });
});
