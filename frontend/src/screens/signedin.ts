import { append, h, svg } from "../dom";
import { avatar } from "../components/avatar";
import { icons } from "../components/icons";
import { when } from "../format";
import type { Screen, ScreenProps } from "./screen";

/**
 * signedInScreen: the account, what this desktop knows of its session (the
 * protocol lets only the phone list an account's sessions), and Log out.
 */
export function signedInScreen(p: ScreenProps): Screen {
  let props = p;
  let reported = false;
  const el = h("section", { class: "screen screen-signed-in" });
  const update = (next: ScreenProps) => {
    props = next;
    const s = next.view.session;
    if (!s) return;
    const rows: [string, string][] = [
      ["This computer", s.device],
      ["App", s.app],
      ["Signed in", when(s.signedInAt)],
      ["Expires", when(s.expiresAt)],
      ["Address", s.localIp],
    ];
    el.replaceChildren();
    append(
      el,
      next.view.message ? h("p", { class: "banner" }, next.view.message) : null,
      avatar(s.avatarUrl, s.displayName),
      h("h2", { class: "name" }, s.displayName),
      h("p", { class: "status status-ok" }, svg(icons.check), "Signed in"),
      h("dl", { class: "details" }, ...rows.filter(([, v]) => v).flatMap(([k, v]) => [h("dt", {}, k), h("dd", {}, v)])),
      h("button", { class: "btn btn-secondary", type: "button", onclick: () => void props.bridge.logout() }, "Log out"),
      h("p", { class: "fineprint" }, "You can also end this session from your phone."),
    );
    if (!reported) {
      reported = true;
      next.shown(next.view.state);
    }
  };
  update(p);
  return { el, update, destroy: () => el.remove() };
}
