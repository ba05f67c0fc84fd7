import { h, type Component } from "../dom";
import { qrPixels, withPx } from "../format";
import type { QR } from "../view";

/** The QR code's size on screen, in CSS pixels (before rounding to whole modules). */
export const QR_CSS_SIZE = 232;

export interface QRCodeProps {
  qr?: QR;
  /** dim greys the code out, when it can no longer be scanned. */
  dim: boolean;
  /** onLoad is called when an image has loaded and shows. */
  onLoad(): void;
}

/**
 * QRCode shows the server's PNG of the code at its own pixel size, so that
 * every module stays sharp. A new code (the server rotated it) replaces the
 * old one in the same <img>: the old one shows until the new one has loaded.
 */
export function qrCode(p: QRCodeProps, dpr = window.devicePixelRatio || 1): Component<QRCodeProps> {
  let props = p;
  const img = h("img", { class: "qr-img", alt: "QR code to scan with the qrlogin app", draggable: "false" });
  const el = h("div", { class: "qr-frame" }, img);
  img.addEventListener("load", () => {
    if (img.naturalWidth > 0) img.style.width = `${img.naturalWidth / dpr}px`;
    el.classList.remove("broken");
    props.onLoad();
  });
  img.addEventListener("error", () => el.classList.add("broken"));

  const update = (next: QRCodeProps) => {
    props = next;
    el.classList.toggle("dim", next.dim);
    if (!next.qr) return;
    const src = withPx(next.qr.imageUrl, qrPixels(QR_CSS_SIZE, dpr));
    if (img.getAttribute("src") !== src) {
      img.setAttribute("src", src);
      img.dataset.ref = next.qr.ref;
    }
  };
  update(p);
  return { el, update, destroy: () => el.remove() };
}
