// The browser's side of TestBrowserBackchannelLogout (browser_test.go):
// Chromium logs in to the demo site by a scan (mobile-sim reads the QR from
// a screenshot and approves), prints "signed-in" and waits for a line on
// stdin, which the Go test writes once the phone has ended the login. The
// page, reloaded, must then show the log-in button and the notice
// ($QRLOGIN_E2E_NOTICE) within a second. Scenarios (they differ only in
// their screenshots' names): revoke, logout.
//
// The helpers, and playwright-core, come from frontend/.
import { createInterface } from "node:readline";
import { assert, env, includes, need, run, scanShot, shot, waitShown, watchPage, withBrowser } from "../../../../frontend/e2e/lib.mjs";

// endedWithin is how soon after the phone ends the login the page must
// show it: the back-channel logout's delivery.
const endedWithin = 1000;

// lines are stdin's lines, buffered from the start so that none is missed.
const lines = createInterface({ input: process.stdin })[Symbol.asyncIterator]();

/** endedFromPhone logs in, hands over to the Go test, and waits for the page to show the login ended. */
async function endedFromPhone(name, ending) {
  const notice = need("QRLOGIN_E2E_NOTICE");
  await withBrowser(async (ctx) => {
    const page = await ctx.newPage();
    const w = watchPage(page);
    await page.goto(`${env.demo}/`);
    await Promise.all([page.waitForURL(`${env.server}/oauth/authorize?**`), page.click("#login")]);
    await waitShown(page, "pending");
    const [out] = await Promise.all([scanShot(page, `${name}-1-qr`, "--yes"), page.waitForURL(`${env.demo}/`, { timeout: 20_000 })]);
    includes(out, "state: confirmed", "mobile-sim");
    includes(await page.textContent(".user-name"), env.displayName, "the demo site's greeting");
    await shot(page, `${name}-2-signed-in`);

    console.log("signed-in");
    const next = await lines.next();
    assert(!next.done, "stdin closed before the login was ended");
    const start = Date.now();
    for (let reloads = 1; ; reloads++) {
      await page.reload();
      const button = await page.$("#login");
      const said = (await page.$(".notice")) ? await page.textContent(".notice") : "";
      if (button && said.includes(notice)) {
        console.log(`the page showed the login ended ${Date.now() - start} ms after ${ending}, on reload ${reloads}`);
        break;
      }
      assert(
        Date.now() - start < endedWithin,
        `${endedWithin} ms after ${ending}, the page shows ${button ? "the log-in button" : "no log-in button"} and the notice ${JSON.stringify(said)}`,
      );
    }
    await shot(page, `${name}-3-ended`);
    const w2 = w.problems();
    assert(w2.length === 0, `the pages logged problems: ${w2.join("\n")}`);
  });
}

await run({
  revoke: () => endedFromPhone("j-grant-revoked", "the grant's revocation"),
  logout: () => endedFromPhone("k-phone-logged-out", "the phone's logout"),
});
