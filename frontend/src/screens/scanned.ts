import { append, h, svg } from "../dom";
import { avatar } from "../components/avatar";
import { icons } from "../components/icons";
import type { Screen, ScreenProps } from "./screen";

/**
 * scannedScreen: the phone scanned the code. It shows who (masked), asks to
 * confirm on the phone and, when the server wants it, the code to type
 * there, in large digits.
 */
export function scannedScreen(p: ScreenProps): Screen {
  let props = p;
  const el = h("section", { class: "screen screen-scanned" });
  const update = (next: ScreenProps) => {
    props = next;
    const s = next.view.scanner ?? { displayName: "", avatarUrl: "" };
    const code = s.matchCode
      ? h(
          "div",
          { class: "match" },
          h("p", {}, "Enter this code on your phone"),
          h(
            "div",
            { class: "match-code", "aria-label": `Code ${s.matchCode}` },
            ...[...s.matchCode].map((d) => h("span", {}, d)),
          ),
        )
      : null;
    el.replaceChildren();
    append(
      el,
      avatar(s.avatarUrl, s.displayName),
      h("h2", { class: "name" }, s.displayName ? `Scanned by ${s.displayName}` : "Scanned"),
      h("p", { class: "status" }, svg(icons.phone), "Confirm on your phone"),
      code,
      h("button", { class: "btn btn-link", type: "button", onclick: () => void props.bridge.cancel() }, "Cancel"),
    );
    next.shown(next.view.state);
  };
  update(p);
  return { el, update, destroy: () => el.remove() };
}
