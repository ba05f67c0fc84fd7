import { h, svg } from "../dom";
import { icons } from "../components/icons";
import { qrCode } from "../components/qrcode";
import { ViewState } from "../view";
import type { Screen, ScreenProps } from "./screen";

/** What the window says over a QR code that can no longer be scanned. */
const overlays: Record<string, { icon: string; title: string; action: string; hint: string }> = {
  [ViewState.Expired]: {
    icon: icons.refresh,
    title: "QR code expired",
    action: "Refresh",
    hint: "QR expired, click to refresh.",
  },
  [ViewState.Cancelled]: {
    icon: icons.refresh,
    title: "Login cancelled",
    action: "New QR code",
    hint: "Click for a new QR code.",
  },
  [ViewState.Denied]: {
    icon: icons.denied,
    title: "Login denied on your phone",
    action: "Try again",
    hint: "Declined on the phone. Click to try again.",
  },
};

const PENDING_HINT = "Open qrlogin on your phone, tap Scan, and point the camera at this code.";

/**
 * qrScreen shows the ticket's QR code: live while pending (replaced in
 * place when the server rotates it), greyed out with one click to a new
 * one when expired, cancelled or denied.
 */
export function qrScreen(p: ScreenProps): Screen {
  let props = p;
  let lastShown = "";
  const report = (state: string) => {
    if (state !== lastShown) {
      lastShown = state;
      props.shown(state);
    }
  };
  const onLoad = () => {
    if (props.view.state === ViewState.Pending) report(ViewState.Pending);
  };
  const code = qrCode({ qr: p.view.qr, dim: false, onLoad });
  const overlay = h("div", { class: "qr-overlay", role: "button", tabindex: "0" });
  const wrap = h("div", { class: "qr-wrap" }, code.el, overlay);
  const notice = h("p", { class: "notice" });
  const hint = h("p", { class: "hint" });
  const el = h("section", { class: "screen screen-qr" }, h("h1", {}, "Log in with your phone"), notice, wrap, hint);
  const refresh = () => {
    if (props.view.state !== ViewState.Pending) void props.bridge.refresh();
  };
  wrap.addEventListener("click", refresh);
  overlay.addEventListener("keydown", (e) => {
    if (e.key === "Enter" || e.key === " ") refresh();
  });

  const update = (next: ScreenProps) => {
    props = next;
    const v = next.view;
    const o = overlays[v.state];
    el.dataset.state = v.state;
    notice.textContent = v.message ?? "";
    notice.hidden = !v.message;
    wrap.classList.toggle("inactive", !!o);
    code.update({ qr: v.qr, dim: !!o, onLoad });
    overlay.replaceChildren();
    if (o) {
      overlay.append(
        h("span", { class: "overlay-icon" }, svg(o.icon)),
        h("strong", {}, o.title),
        h("button", { class: "btn btn-primary btn-small", type: "button" }, o.action),
      );
      hint.textContent = o.hint;
      report(v.state);
    } else {
      hint.textContent = PENDING_HINT;
    }
  };
  update(p);
  return { el, update, destroy: () => el.remove() };
}
