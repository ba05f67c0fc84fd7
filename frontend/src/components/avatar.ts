import { h } from "../dom";

/**
 * avatar shows the account's picture (the server's identicon), or its
 * initial on a coloured disc when the picture cannot load.
 */
export function avatar(url: string | undefined, name: string, size: "md" | "lg" = "lg"): HTMLElement {
  const initial = h("span", { class: "avatar-initial" }, (name.trim()[0] ?? "?").toUpperCase());
  const el = h("div", { class: `avatar avatar-${size}` }, initial);
  if (url) {
    const img = h("img", { alt: "", src: url, draggable: "false" });
    img.addEventListener("load", () => el.classList.add("loaded"));
    img.addEventListener("error", () => img.remove());
    el.append(img);
  }
  return el;
}
