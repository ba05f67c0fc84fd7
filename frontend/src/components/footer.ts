import { h, type Component } from "../dom";
import { serverLine } from "../format";
import type { ServerInfo } from "../view";

/** serverFooter says which server the window uses, with a button to change it. */
export function serverFooter(onChange: () => void): Component<ServerInfo> {
  const line = h("span", { class: "server-line" });
  const el = h(
    "footer",
    { class: "footer" },
    line,
    h("button", { class: "btn btn-link btn-tiny", type: "button", onclick: onChange }, "Change"),
  );
  return {
    el,
    update: (s) => {
      line.textContent = serverLine(s.mode, s.url);
      line.title = line.textContent;
      el.dataset.mode = s.mode;
    },
    destroy: () => el.remove(),
  };
}
