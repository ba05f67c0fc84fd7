import { append, h, svg } from "../dom";
import { avatar } from "../components/avatar";
import { icons } from "../components/icons";
import { ViewState } from "../view";
import type { Screen, ScreenProps } from "./screen";

/** What the window says after a one-tap request that did not log in. */
const outcomes: Record<string, { icon: string; title: string; retry: boolean }> = {
  [ViewState.OneTapDenied]: { icon: icons.denied, title: "Denied on your phone", retry: true },
  [ViewState.OneTapExpired]: { icon: icons.refresh, title: "No answer from your phone", retry: true },
  [ViewState.OneTapLimited]: { icon: icons.alert, title: "Too many attempts", retry: false },
};

/**
 * oneTapScreen: logged out on a computer that the account's phone
 * remembers. It shows the account (masked) with Log in, which asks the
 * phone, and Switch account, for the QR code; after a request that was
 * denied, went unanswered or was refused for the limit, it says so and
 * offers the QR code first.
 */
export function oneTapScreen(p: ScreenProps): Screen {
  let props = p;
  const el = h("section", { class: "screen screen-one-tap" });
  const logIn = () => void props.bridge.logIn?.();
  const switchAccount = () => void props.bridge.switchAccount?.();
  const update = (next: ScreenProps) => {
    props = next;
    const v = next.view;
    const a = v.oneTap ?? { displayName: "", avatarUrl: "" };
    const o = outcomes[v.state];
    el.dataset.state = v.state;
    el.replaceChildren();
    append(
      el,
      !o && v.message ? h("p", { class: "notice" }, v.message) : null,
      avatar(a.avatarUrl, a.displayName),
      h("h2", { class: "name" }, a.displayName),
      o
        ? h(
            "div",
            { class: "outcome", role: "status" },
            h("p", { class: "status status-bad" }, svg(o.icon), o.title),
            v.message && v.state === ViewState.OneTapLimited ? h("p", { class: "hint" }, v.message) : null,
          )
        : h("p", { class: "hint" }, "This computer remembers you: log in with one tap on your phone."),
      o
        ? h("button", { class: "btn btn-primary btn-wide", type: "button", onclick: switchAccount }, "Scan QR code")
        : h("button", { class: "btn btn-primary btn-wide", type: "button", onclick: logIn }, "Log in"),
      o
        ? o.retry
          ? h("button", { class: "btn btn-link", type: "button", onclick: logIn }, "Try again")
          : null
        : h("button", { class: "btn btn-link", type: "button", onclick: switchAccount }, "Switch account"),
    );
    next.shown(v.state);
  };
  update(p);
  return { el, update, destroy: () => el.remove() };
}

/**
 * oneTapWaitingScreen: the phone has been asked. It shows the number to
 * tap there, large and dark on white (the end-to-end test reads it off the
 * screen), and Cancel.
 */
export function oneTapWaitingScreen(p: ScreenProps): Screen {
  let props = p;
  const el = h("section", { class: "screen screen-one-tap-waiting" });
  const update = (next: ScreenProps) => {
    props = next;
    const a = next.view.oneTap ?? { displayName: "", avatarUrl: "" };
    const n = a.number ?? "";
    el.replaceChildren();
    append(
      el,
      avatar(a.avatarUrl, a.displayName, "md"),
      h("h2", { class: "name" }, a.displayName),
      h("p", { class: "status" }, svg(icons.phone), "Tap this number on your phone"),
      h("div", { class: "tap-number", "aria-label": `Tap ${n} on your phone` }, n),
      h("button", { class: "btn btn-link", type: "button", onclick: () => void props.bridge.cancel() }, "Cancel"),
    );
    next.shown(next.view.state);
  };
  update(p);
  return { el, update, destroy: () => el.remove() };
}
