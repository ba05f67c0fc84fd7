/**
 * The one module that talks to Go: the bound App's methods and the events.
 * Everything else takes a Bridge, so that it runs in tests without Wails.
 */
import * as App from "../wailsjs/go/app/App";
import { EVENT_VIEW } from "./events";
import type { View } from "./view";

export interface Bridge {
  /** getView returns what Go shows now. */
  getView(): Promise<View>;
  /** onView calls fn with every new View; it returns the unsubscribe. */
  onView(fn: (v: View) => void): () => void;
  /** shown tells Go that the window now shows state (logged, for tests). */
  shown(state: string): void;
  refresh(): Promise<void>;
  cancel(): Promise<void>;
  logout(): Promise<void>;
  /**
   * logIn asks the phone to let this computer in again (one-tap login).
   * It and switchAccount are the desktop's alone: a bridge without them
   * (the browser pages', src/web) never shows the one-tap states.
   */
  logIn?(): Promise<void>;
  /** switchAccount leaves one-tap login for a QR code. */
  switchAccount?(): Promise<void>;
  /** useServer switches to the server at url, "" for the embedded one; it rejects a bad url. */
  useServer(url: string): Promise<void>;
  minimise(): void;
  quit(): void;
}

/** The part of Wails' window.runtime that the window uses. */
interface WailsRuntime {
  EventsOn(name: string, callback: (...data: unknown[]) => void): () => void;
  WindowMinimise(): void;
  Quit(): void;
}

declare global {
  interface Window {
    runtime: WailsRuntime;
  }
}

/** wails is the Bridge of the running app. */
export const wails: Bridge = {
  getView: () => App.GetView() as unknown as Promise<View>,
  onView: (fn) => window.runtime.EventsOn(EVENT_VIEW, (v) => fn(v as View)),
  shown: (state) => void App.Shown(state),
  refresh: () => App.Refresh(),
  cancel: () => App.Cancel(),
  logout: () => App.Logout(),
  logIn: () => App.LogIn(),
  switchAccount: () => App.SwitchAccount(),
  useServer: (url) => App.UseServer(url),
  minimise: () => window.runtime.WindowMinimise(),
  quit: () => window.runtime.Quit(),
};
