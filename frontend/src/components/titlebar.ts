import type { Bridge } from "../bridge";
import { h, svg } from "../dom";
import { icons, logo } from "./icons";

/**
 * titleBar is the frameless window's own bar: the app's name, which drags
 * the window, and the minimise and close buttons.
 */
export function titleBar(bridge: Bridge): HTMLElement {
  return h(
    "header",
    { class: "titlebar", style: "--wails-draggable:drag" },
    h("span", { class: "brand" }, svg(logo), "qrlogin"),
    h(
      "span",
      { class: "window-buttons", style: "--wails-draggable:no-drag" },
      h(
        "button",
        {
          class: "win-btn",
          type: "button",
          title: "Minimise",
          "aria-label": "Minimise",
          onclick: () => bridge.minimise(),
        },
        svg(icons.minimise),
      ),
      h(
        "button",
        {
          class: "win-btn win-close",
          type: "button",
          title: "Close",
          "aria-label": "Close",
          onclick: () => bridge.quit(),
        },
        svg(icons.close),
      ),
    ),
  );
}
