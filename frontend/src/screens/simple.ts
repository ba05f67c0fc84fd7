import { h, svg } from "../dom";
import { avatar } from "../components/avatar";
import { icons } from "../components/icons";
import { ViewState } from "../view";
import type { Screen, ScreenProps } from "./screen";

/** screen builds a screen that redraws whole from its props. */
function screen(cls: string, draw: (p: ScreenProps) => (Node | null)[]): (p: ScreenProps) => Screen {
  return (p) => {
    const el = h("section", { class: `screen ${cls}` });
    const update = (next: ScreenProps) => {
      el.replaceChildren(...draw(next).filter((n): n is Node => n !== null));
      next.shown(next.view.state);
    };
    update(p);
    return { el, update, destroy: () => el.remove() };
  };
}

const spinner = () => h("div", { class: "spinner", role: "progressbar", "aria-label": "Working" });

/** loadingScreen: asking for a QR code, checking the saved session, logging out. */
export const loadingScreen = screen("screen-loading", ({ view }) => [
  spinner(),
  h("p", { class: "hint" }, view.message || "Getting a QR code…"),
]);

/** confirmedScreen: approved on the phone; the app is redeeming the ticket. */
export const confirmedScreen = screen("screen-confirmed", ({ view }) => [
  avatar(view.scanner?.avatarUrl, view.scanner?.displayName ?? ""),
  h("h2", { class: "name" }, "Logging in…"),
  spinner(),
]);

/** problemScreen: the server could not be reached, or refused; one click retries. */
export const problemScreen = screen("screen-problem", ({ view, bridge }) => {
  const unreachable = view.state === ViewState.Unreachable;
  return [
    h("span", { class: "problem-icon" }, svg(unreachable ? icons.unplugged : icons.alert)),
    h("h2", {}, unreachable ? "Can't reach the server" : "Something went wrong"),
    h("p", { class: "hint" }, view.message || (unreachable ? "Check your connection." : "")),
    h("button", { class: "btn btn-primary", type: "button", onclick: () => void bridge.refresh() }, "Retry"),
  ];
});
