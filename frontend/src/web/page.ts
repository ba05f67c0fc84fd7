import { afterPaint, screens } from "../app";
import type { Bridge } from "../bridge";
import type { Screen, ScreenFactory, ScreenProps } from "../screens/screen";
import { ViewState, type View } from "../view";

/**
 * mountPage draws the bridge's views into root with the desktop app's own
 * screens (one per view state, as in the desktop window), without the
 * window's title bar and server settings, which a web page has no use for.
 * Each state on screen is reported once painted (bridge.shown). It returns
 * the unmount.
 */
export function mountPage(root: HTMLElement, bridge: Bridge, painted: (fn: () => void) => void = afterPaint): () => void {
  let current: { factory: ScreenFactory; screen: Screen } | undefined;
  let lastShown = "";
  const shown = (state: string) => {
    if (state === lastShown) return;
    lastShown = state;
    painted(() => {
      if (lastShown === state) bridge.shown(state);
    });
  };
  const render = (v: View) => {
    const known = Object.hasOwn(screens, v.state);
    const view: View = known ? v : { ...v, state: ViewState.Error, message: `Unknown state "${v.state}".` };
    root.dataset.state = view.state;
    const factory = screens[view.state];
    const props: ScreenProps = { view, bridge, shown };
    if (current && current.factory === factory) {
      current.screen.update(props);
      return;
    }
    current?.screen.destroy();
    current = { factory, screen: factory(props) };
    root.append(current.screen.el);
  };
  let heard = false;
  const off = bridge.onView((v) => {
    heard = true;
    render(v);
  });
  void bridge.getView().then((v) => {
    if (!heard) render(v);
  });
  return () => {
    off();
    current?.screen.destroy();
    current = undefined;
  };
}
