import type { Bridge } from "../bridge";
import { h } from "../dom";
import { ServerMode, type ServerInfo } from "../view";

/**
 * settingsPanel lets a person choose the embedded server or a remote one.
 * It calls onClose once the switch is made or abandoned; a URL that Go
 * refuses is said under the field, and the panel stays.
 */
export function settingsPanel(bridge: Bridge, current: ServerInfo, onClose: () => void): HTMLElement {
  const remote = current.mode === ServerMode.Remote;
  const embeddedRadio = h("input", { type: "radio", name: "mode", value: "embedded", checked: !remote });
  const remoteRadio = h("input", { type: "radio", name: "mode", value: "remote", checked: remote });
  const url = h("input", {
    type: "url",
    class: "field",
    placeholder: "https://login.example.com",
    value: remote ? current.url : "",
    spellcheck: "false",
    "aria-label": "Server address",
  });
  const error = h("p", { class: "field-error", role: "alert" });
  const sync = () => {
    url.disabled = !remoteRadio.checked;
  };
  embeddedRadio.addEventListener("change", sync);
  remoteRadio.addEventListener("change", sync);
  sync();

  const form = h(
    "form",
    { class: "settings" },
    h("h2", {}, "Server"),
    h(
      "label",
      { class: "choice" },
      embeddedRadio,
      h("span", {}, h("strong", {}, "Embedded server"), h("small", {}, "Runs inside this app, on this computer")),
    ),
    h(
      "label",
      { class: "choice" },
      remoteRadio,
      h("span", {}, h("strong", {}, "Remote server"), h("small", {}, "A qrlogin server on your network")),
    ),
    url,
    error,
    h(
      "div",
      { class: "settings-actions" },
      h("button", { class: "btn btn-secondary btn-small", type: "button", onclick: onClose }, "Cancel"),
      h("button", { class: "btn btn-primary btn-small", type: "submit" }, "Connect"),
    ),
  );
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    const target = remoteRadio.checked ? url.value.trim() : "";
    if (remoteRadio.checked && !target) {
      error.textContent = "Enter the server's address.";
      return;
    }
    bridge.useServer(target).then(onClose, (err: unknown) => {
      error.textContent = String(err);
    });
  });
  return h("div", { class: "sheet" }, form);
}
