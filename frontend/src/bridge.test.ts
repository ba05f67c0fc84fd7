import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { wails } from "./bridge";
import { EVENT_VIEW } from "./events";

describe("wails bridge", () => {
  const off = vi.fn();
  const on = vi.fn((_name: string, _cb: (...d: unknown[]) => void) => off);
  const bound = {
    GetView: vi.fn(async () => ({ state: "pending" })),
    Refresh: vi.fn(async () => {}),
    UseServer: vi.fn(async (_url: string) => {}),
    Shown: vi.fn(async (_s: string) => {}),
    LogIn: vi.fn(async () => {}),
    SwitchAccount: vi.fn(async () => {}),
  };

  beforeEach(() => {
    const w = window as unknown as Record<string, unknown>;
    w.runtime = { EventsOn: on, WindowMinimise: vi.fn(), Quit: vi.fn() };
    w.go = { app: { App: bound } };
  });
  afterEach(() => vi.clearAllMocks());

  it("subscribes to the view event and returns its unsubscribe", () => {
    const fn = vi.fn();
    const unsubscribe = wails.onView(fn);
    expect(on).toHaveBeenCalledWith(EVENT_VIEW, expect.any(Function));
    on.mock.calls[0][1]({ state: "scanned" });
    expect(fn).toHaveBeenCalledWith({ state: "scanned" });
    unsubscribe();
    expect(off).toHaveBeenCalledOnce();
  });

  it("forwards calls to the bound Go methods", async () => {
    await expect(wails.getView()).resolves.toEqual({ state: "pending" });
    await wails.refresh();
    await wails.useServer("https://login.example");
    wails.shown("pending");
    await wails.logIn!();
    await wails.switchAccount!();
    expect(bound.Refresh).toHaveBeenCalledOnce();
    expect(bound.LogIn).toHaveBeenCalledOnce();
    expect(bound.SwitchAccount).toHaveBeenCalledOnce();
    expect(bound.UseServer).toHaveBeenCalledWith("https://login.example");
    expect(bound.Shown).toHaveBeenCalledWith("pending");
  });
});
