/**
 * The browser pages' controller: the same state machine as the desktop's Go
 * controller (app/desktop/controller.go), run in the page. It holds the View
 * that the desktop's screens draw, and runs one phase of work at a time: a
 * new phase (a click on "Refresh", "Log out") aborts the one before it,
 * whose later changes are then dropped.
 */
import type { Bridge } from "../bridge";
import { ServerMode, ViewState, type View } from "../view";
import { Code, ProtocolError, sleep, Unreachable } from "./http";

/** Phase is one run of work; its changes apply only while it runs. */
export interface Phase {
  signal: AbortSignal;
  /** set shows v and reports whether the phase still runs. */
  set(v: Omit<View, "server">): boolean;
  /** update changes the view by fn and reports whether the phase still runs. */
  update(fn: (v: View) => void): boolean;
  /** fail shows err: unreachable when nothing answered, error when the server refused. */
  fail(what: string, err: unknown): void;
  /** sleep waits ms and reports whether the phase still runs. */
  sleep(ms: number): Promise<boolean>;
}

/**
 * Controller is a Bridge whose views come from phases run in the page.
 * Subclasses say what Start, Refresh, Cancel and Log out do.
 */
export abstract class Controller implements Bridge {
  private view: View;
  private readonly listeners = new Set<(v: View) => void>();
  private stop?: AbortController;

  constructor(
    readonly origin: string,
    /** onShown is told each state once it is on screen (tests wait on it). */
    private readonly onShown: (state: string) => void = () => {},
  ) {
    this.view = { state: ViewState.Loading, server: this.server() };
  }

  /** start begins the page's work. */
  abstract start(): void;
  abstract refresh(): Promise<void>;
  abstract cancel(): Promise<void>;
  abstract logout(): Promise<void>;

  getView = (): Promise<View> => Promise.resolve(this.view);
  onView = (fn: (v: View) => void): (() => void) => {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  };
  shown = (state: string): void => this.onShown(state);
  useServer = (): Promise<void> => Promise.reject(new Error("A web page uses the server that served it."));
  minimise = (): void => {};
  quit = (): void => {};

  /** current returns the view on screen. */
  protected current(): View {
    return this.view;
  }

  /**
   * run aborts the running phase and starts fn as the next one, unless ok
   * (if given) says no; it returns at once, as the desktop's calls do, and
   * the phase goes on in the background. An error that fn throws is shown
   * by fail, unless the phase was aborted.
   */
  protected run(fn: (p: Phase) => Promise<void>, ok?: () => boolean): Promise<void> {
    if (ok && !ok()) return Promise.resolve();
    this.stop?.abort(new DOMException("superseded", "AbortError"));
    const stop = new AbortController();
    this.stop = stop;
    const p = this.phase(stop);
    fn(p).catch((err: unknown) => p.fail("go on", err));
    return Promise.resolve();
  }

  private server() {
    return { mode: ServerMode.Remote, url: this.origin };
  }

  private phase(stop: AbortController): Phase {
    const live = () => this.stop === stop && !stop.signal.aborted;
    const update = (fn: (v: View) => void) => {
      if (!live()) return false;
      const next: View = { ...this.view };
      fn(next);
      next.server = this.server();
      this.view = next;
      this.listeners.forEach((l) => l(next));
      return true;
    };
    return {
      signal: stop.signal,
      set: (v) => update((cur) => replace(cur, v)),
      update,
      fail: (what, err) => {
        if (!live()) return;
        if (err instanceof ProtocolError) {
          const msg =
            err.code === Code.RateLimited && err.retryAfter > 0
              ? `Too many attempts: try again in ${err.retryAfter} s.`
              : `The server could not ${what}: ${err.message.replace(/\.$/, "")}.`;
          update((v) => replace(v, { state: ViewState.Error, message: msg }));
        } else if (err instanceof Unreachable) {
          update((v) => replace(v, { state: ViewState.Unreachable, message: err.message }));
        } else {
          update((v) => replace(v, { state: ViewState.Error, message: `Something went wrong: ${String(err)}` }));
        }
      },
      sleep: (ms) => sleep(ms, stop.signal).then(() => live(), () => false),
    };
  }
}

/** replace makes cur a copy of v. */
function replace(cur: View, v: Omit<View, "server">) {
  for (const k of Object.keys(cur) as (keyof View)[]) delete cur[k];
  Object.assign(cur, v);
}
