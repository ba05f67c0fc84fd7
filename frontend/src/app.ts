import type { Bridge } from "./bridge";
import { h } from "./dom";
import { serverFooter } from "./components/footer";
import { settingsPanel } from "./components/settings";
import { titleBar } from "./components/titlebar";
import { oneTapScreen, oneTapWaitingScreen } from "./screens/onetap";
import { qrScreen } from "./screens/qr";
import { scannedScreen } from "./screens/scanned";
import type { Screen, ScreenFactory, ScreenProps } from "./screens/screen";
import { signedInScreen } from "./screens/signedin";
import { confirmedScreen, loadingScreen, problemScreen } from "./screens/simple";
import { ViewState, type View } from "./view";

/**
 * The window's state machine: one screen per view state. States that share
 * a screen (the QR code's) move between each other in place.
 */
export const screens: Record<ViewState, ScreenFactory> = {
  [ViewState.Loading]: loadingScreen,
  [ViewState.Pending]: qrScreen,
  [ViewState.Scanned]: scannedScreen,
  [ViewState.Confirmed]: confirmedScreen,
  [ViewState.Denied]: qrScreen,
  [ViewState.Expired]: qrScreen,
  [ViewState.Cancelled]: qrScreen,
  [ViewState.SignedIn]: signedInScreen,
  [ViewState.Unreachable]: problemScreen,
  [ViewState.Error]: problemScreen,
  [ViewState.OneTap]: oneTapScreen,
  [ViewState.OneTapWaiting]: oneTapWaitingScreen,
  [ViewState.OneTapDenied]: oneTapScreen,
  [ViewState.OneTapExpired]: oneTapScreen,
  [ViewState.OneTapLimited]: oneTapScreen,
};

/** afterPaint runs fn once the current DOM changes have been painted. */
export function afterPaint(fn: () => void): void {
  requestAnimationFrame(() => requestAnimationFrame(fn));
}

/**
 * mountApp draws the window into root and follows Go's views until the
 * returned function unmounts it (and unsubscribes). Each new state on
 * screen is reported to Go (bridge.shown) once painted, by painted.
 */
export function mountApp(
  root: HTMLElement,
  bridge: Bridge,
  painted: (fn: () => void) => void = afterPaint,
): () => void {
  let view: View | undefined;
  let current: { factory: ScreenFactory; screen: Screen } | undefined;
  let lastShown = "";
  let sheet: HTMLElement | undefined;

  const shown = (state: string) => {
    if (state === lastShown) return;
    lastShown = state;
    painted(() => {
      if (lastShown === state) bridge.shown(state);
    });
  };
  const closeSettings = () => {
    sheet?.remove();
    sheet = undefined;
  };
  const openSettings = () => {
    if (sheet || !view) return;
    sheet = settingsPanel(bridge, view.server, closeSettings);
    root.append(sheet);
  };

  const content = h("main", { class: "content" });
  const footer = serverFooter(openSettings);
  root.replaceChildren(titleBar(bridge), content, footer.el);

  const render = (v: View) => {
    view = v;
    root.dataset.state = v.state;
    footer.update(v.server);
    const known = Object.hasOwn(screens, v.state);
    const shownView: View = known ? v : { ...v, state: ViewState.Error, message: `Unknown state "${v.state}".` };
    const factory = screens[shownView.state];
    const props: ScreenProps = { view: shownView, bridge, shown };
    if (current && current.factory === factory) {
      current.screen.update(props);
      return;
    }
    current?.screen.destroy();
    current = { factory, screen: factory(props) };
    content.append(current.screen.el);
  };

  let heard = false;
  const off = bridge.onView((v) => {
    heard = true;
    render(v);
  });
  bridge.getView().then(
    (v) => {
      if (!heard) render(v);
    },
    () => {},
  );

  return () => {
    off();
    closeSettings();
    current?.screen.destroy();
    current = undefined;
    root.replaceChildren();
  };
}
