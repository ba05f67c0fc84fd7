/**
 * The entry of the pages that the login server serves (server/web): the
 * product's login page, the open platform's authorization page and the
 * device grant's verification page. Which one runs is the <body>'s
 * data-page; the server's template holds the rest.
 */
import "../style.css";
import "./web.css";
import { AuthorizePage, type AuthorizeData } from "./authorize";
import type { Controller } from "./controller";
import { mountDevicePage } from "./device";
import { browserOS, LoginPage } from "./login";
import { mountPage } from "./page";
import { browserTransport } from "./watch";

/** DATA_ID is the id of the authorization page's JSON block (server/web's template). */
const DATA_ID = "qrlogin-ticket";

/** shown marks the state on screen on <body data-shown>, for tests and styles. */
const shown = (state: string) => {
  document.body.dataset.shown = state;
};

function controller(page: string | undefined): Controller | undefined {
  const tr = browserTransport();
  if (page === "login") {
    const device = { name: "Web browser", os: browserOS(navigator.userAgent, navigator.platform), app: "qrlogin web" };
    return new LoginPage(tr, window.sessionStorage, device, shown);
  }
  if (page === "authorize") {
    const block = document.getElementById(DATA_ID);
    const data = JSON.parse(block?.textContent ?? "null") as AuthorizeData | null;
    block?.remove(); // the poll secret stays in this script's memory only
    if (!data?.ref || !data.poll_secret) return undefined;
    return new AuthorizePage(tr, data, (url) => window.location.assign(url), () => window.location.reload(), shown);
  }
  return undefined;
}

const root = document.getElementById("screen");
const c = controller(document.body.dataset.page);
if (root && c) {
  mountPage(root, c);
  c.start();
}
if (document.body.dataset.page === "device") {
  mountDevicePage(document, window.location.search, (query) =>
    window.history.replaceState(null, "", window.location.pathname + query),
  );
}
