// Stock-client test of the open platform with openid-client (panva's,
// OpenID-certified relying-party library), used as a Node.js site or app
// would use it: discovery, the code flow with PKCE, ID token and userinfo,
// refresh rotation, a replayed code, an unknown scope, revocation, the
// device grant approved by mobile-sim, and a public client. The "browser"
// is plain fetch: the authorization endpoint answers JSON to a client that
// asks for it. Run by server/cmd/qrlogin-server/stock_clients_test.go
// (TestOpenIDClientNode), which starts the server, registers the apps and
// logs the phone in:
//
//   go test -run TestOpenIDClientNode ./server/cmd/qrlogin-server/
//
// or `node e2e/openid-client.mjs [SCENARIO...]` with the environment it
// sets; `--list` prints the scenarios.
import { execFile } from "node:child_process";
import * as client from "openid-client";

/** need returns the environment variable name, or throws if it is not set. */
function need(name) {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set: run this through server/cmd/qrlogin-server/stock_clients_test.go`);
  return v;
}

/** env is what the Go runner passes. */
const env = {
  get issuer() { return need("QRLOGIN_E2E_ISSUER"); }, // the server's base URL, its issuer
  get site() { return { id: need("QRLOGIN_E2E_SITE_ID"), secret: need("QRLOGIN_E2E_SITE_SECRET"), redirect: need("QRLOGIN_E2E_SITE_REDIRECT"), name: "Stock Site" }; },
  get tv() { return { id: need("QRLOGIN_E2E_TV_ID"), secret: need("QRLOGIN_E2E_TV_SECRET"), name: "Stock TV" }; },
  get spa() { return { id: need("QRLOGIN_E2E_SPA_ID"), redirect: need("QRLOGIN_E2E_SPA_REDIRECT"), name: "Stock SPA" }; },
  get mobileSim() { return need("QRLOGIN_E2E_MOBILE_SIM"); }, // the mobile-sim binary
  get profile() { return need("QRLOGIN_E2E_PROFILE"); }, // its logged-in profile
  get username() { return need("QRLOGIN_E2E_USERNAME"); },
  get displayName() { return need("QRLOGIN_E2E_DISPLAY_NAME"); },
};

const FULL = "openid profile offline_access";

/** assert throws message unless ok. */
function assert(ok, message) {
  if (!ok) throw new Error(message);
}

/** equal asserts that got is want. */
function equal(got, want, what) {
  assert(got === want, `${what}: got ${JSON.stringify(got)}, want ${JSON.stringify(want)}`);
}

/** rejects awaits promise and returns what it threw; it throws if it did not. */
async function rejects(promise, what) {
  try {
    await promise;
  } catch (err) {
    return err;
  }
  throw new Error(`${what}: did not fail`);
}

/** grantError asserts that err is the token endpoint's OAuth error code. */
function grantError(err, code, what) {
  assert(err instanceof client.ResponseBodyError && err.error === code, `${what}: ${err?.stack ?? err}, want the token endpoint's ${code}`);
}

/**
 * mobileSim runs mobile-sim with args as the test's phone on the test's
 * server and returns its stdout; it rejects with its output if it fails.
 */
function mobileSim(...args) {
  const full = [...args, "-server", env.issuer, "-profile", env.profile];
  return new Promise((resolve, reject) => {
    execFile(env.mobileSim, full, { timeout: 60_000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`mobile-sim ${full.join(" ")}: ${err.message}\n${stdout}${stderr}`));
      else resolve(stdout);
    });
  });
}

/**
 * configure discovers the server for app, as a site does: a confidential
 * app authenticates with its secret (client_secret_post, openid-client's
 * default; basic when asked), a public one with none. The test server is
 * plain http on loopback, which openid-client allows only when told.
 */
function configure(app, { basic = false } = {}) {
  let auth = client.None();
  if (app.secret) auth = basic ? client.ClientSecretBasic(app.secret) : client.ClientSecretPost(app.secret);
  return client.discovery(new URL(env.issuer), app.id, app.secret, auth, { execute: [client.allowInsecureRequests] });
}

/** getJSON fetches url as a page that asks for JSON, without following redirects. */
async function getJSON(url, init = {}) {
  const res = await fetch(url, { redirect: "manual", ...init, headers: { accept: "application/json", ...init.headers } });
  const text = await res.text();
  assert(res.status === 200, `${init.method ?? "GET"} ${url}: ${res.status} ${text}`);
  return JSON.parse(text);
}

/**
 * authorize starts a login of app with scope: an authorization URL with
 * state, nonce and an S256 challenge, built by openid-client. It returns the
 * URL and the checks to give authorizationCodeGrant.
 */
async function authorize(config, app, scope) {
  const verifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const nonce = client.randomNonce();
  const url = client.buildAuthorizationUrl(config, {
    redirect_uri: app.redirect,
    scope,
    state,
    nonce,
    code_challenge: await client.calculatePKCECodeChallenge(verifier),
    code_challenge_method: "S256",
  });
  return { url, checks: { pkceCodeVerifier: verifier, expectedState: state, expectedNonce: nonce } };
}

/**
 * browser walks the browser's part: it opens the authorization URL, has the
 * phone approve (mobile-sim scans the page's QR code), asks where to send
 * the browser and returns that URL, the authorization response, and the
 * page.
 */
async function browser(url, app) {
  const page = await getJSON(url);
  assert(!page.redirect, `the authorization request was refused: ${page.redirect}`);
  equal(page.app?.name, app.name, "the app the page names");
  const out = await mobileSim("scan", "--payload", page.ticket.qr_payload, "--yes");
  assert(out.includes("state: confirmed"), `the phone did not approve:\n${out}`);
  const done = await getJSON(new URL("/oauth/authorize/complete", env.issuer), {
    method: "POST",
    headers: { authorization: `Bearer ${page.ticket.poll_secret}`, "content-type": "application/json" },
    body: JSON.stringify({ ref: page.ticket.ref }),
  });
  const back = new URL(done.redirect);
  equal(`${back.origin}${back.pathname}`, app.redirect, "the redirect");
  return { back, page };
}

/** login is the whole code flow of app with scope; it returns the tokens and the checks. */
async function login(config, app, scope) {
  const { url, checks } = await authorize(config, app, scope);
  const { back, page } = await browser(url, app);
  const tokens = await client.authorizationCodeGrant(config, back, checks);
  return { tokens, checks, back, page };
}

/** checkPerson asserts that the ID token's and userinfo's claims are the phone's person's. */
async function checkPerson(config, tokens, nonce) {
  const claims = tokens.claims();
  assert(claims, "no ID token");
  equal(claims.iss, env.issuer, "ID token iss");
  if (nonce !== undefined) equal(claims.nonce, nonce, "ID token nonce");
  equal(claims.name, env.displayName, "ID token name");
  equal(claims.preferred_username, env.username, "ID token preferred_username");
  assert(typeof claims.auth_time === "number" && claims.auth_time > 0, `ID token auth_time ${claims.auth_time}`);
  const info = await client.fetchUserInfo(config, tokens.access_token, claims.sub);
  equal(info.sub, claims.sub, "userinfo sub");
  equal(info.name, env.displayName, "userinfo name");
  equal(info.preferred_username, env.username, "userinfo preferred_username");
  return claims;
}

/** tokenDead asserts that the userinfo endpoint refuses the access token with 401. */
async function tokenDead(config, accessToken, sub, what) {
  const err = await rejects(client.fetchUserInfo(config, accessToken, sub), what);
  assert(err instanceof client.WWWAuthenticateChallengeError && err.status === 401, `${what}: ${err?.stack ?? err}, want 401 with a Bearer challenge`);
}

const scenarios = {
  async discovery() {
    const config = await configure(env.site);
    const m = config.serverMetadata();
    equal(m.issuer, env.issuer, "issuer");
    for (const [field, path] of [
      ["authorization_endpoint", "/oauth/authorize"],
      ["token_endpoint", "/oauth/token"],
      ["userinfo_endpoint", "/oauth/userinfo"],
      ["jwks_uri", "/oauth/jwks"],
      ["device_authorization_endpoint", "/oauth/device/code"],
      ["revocation_endpoint", "/oauth/revoke"],
    ]) equal(m[field], env.issuer + path, field);
    assert(config.serverMetadata().supportsPKCE(), "PKCE (S256) is not advertised");
    equal(m.authorization_response_iss_parameter_supported, true, "authorization_response_iss_parameter_supported");
    for (const s of FULL.split(" ")) assert(m.scopes_supported?.includes(s), `scopes_supported lacks ${s}`);
    for (const g of ["authorization_code", "refresh_token", "urn:ietf:params:oauth:grant-type:device_code"]) {
      assert(m.grant_types_supported?.includes(g), `grant_types_supported lacks ${g}`);
    }
    for (const a of ["client_secret_basic", "client_secret_post", "none"]) {
      assert(m.token_endpoint_auth_methods_supported?.includes(a), `token_endpoint_auth_methods_supported lacks ${a}`);
    }
  },

  async code_flow() {
    const config = await configure(env.site);
    const { url, checks } = await authorize(config, env.site, FULL);
    const { back } = await browser(url, env.site);
    equal(back.searchParams.get("iss"), env.issuer, "the authorization response's iss");
    // openid-client checks iss (RFC 9207) before it spends the code: a
    // response naming another issuer, or none, is refused.
    for (const iss of ["https://evil.example", null]) {
      const forged = new URL(back);
      if (iss) forged.searchParams.set("iss", iss);
      else forged.searchParams.delete("iss");
      const err = await rejects(client.authorizationCodeGrant(config, forged, checks), `a response with iss ${iss}`);
      assert(!(err instanceof client.ResponseBodyError), `a response with iss ${iss} reached the token endpoint: ${err}`);
    }
    const tokens = await client.authorizationCodeGrant(config, back, checks);
    equal(tokens.token_type?.toLowerCase(), "bearer", "token_type");
    equal(tokens.scope, FULL, "granted scope");
    assert(tokens.refresh_token, "no refresh token for offline_access");
    assert(tokens.expiresIn() > 0, "no expires_in");
    const claims = await checkPerson(config, tokens, checks.expectedNonce);
    equal(String(claims.aud), env.site.id, "ID token aud");
  },

  async refresh_rotation() {
    const config = await configure(env.site, { basic: true });
    const { tokens, checks } = await login(config, env.site, FULL);
    const first = await checkPerson(config, tokens, checks.expectedNonce);
    const next = await client.refreshTokenGrant(config, tokens.refresh_token);
    assert(next.refresh_token && next.refresh_token !== tokens.refresh_token, "the refresh token did not rotate");
    assert(next.access_token !== tokens.access_token, "the access token did not change");
    const claims = await checkPerson(config, next);
    equal(claims.sub, first.sub, "the refreshed ID token's sub");
    equal(claims.auth_time, first.auth_time, "the refreshed ID token's auth_time");
    // The rotated-away refresh token is refused, and its reuse ends the
    // grant: the new tokens stop working too.
    grantError(await rejects(client.refreshTokenGrant(config, tokens.refresh_token), "reusing the rotated refresh token"), "invalid_grant", "reusing the rotated refresh token");
    await tokenDead(config, next.access_token, first.sub, "the new access token after the old refresh token's reuse");
    grantError(await rejects(client.refreshTokenGrant(config, next.refresh_token), "the new refresh token"), "invalid_grant", "the new refresh token after the old one's reuse");
  },

  async code_replay() {
    const config = await configure(env.site);
    const { tokens, checks, back } = await login(config, env.site, FULL);
    const claims = await checkPerson(config, tokens, checks.expectedNonce);
    const err = await rejects(client.authorizationCodeGrant(config, back, checks), "exchanging the code again");
    grantError(err, "invalid_grant", "exchanging the code again");
    await tokenDead(config, tokens.access_token, claims.sub, "the first access token after the replay");
    grantError(await rejects(client.refreshTokenGrant(config, tokens.refresh_token), "the first refresh token"), "invalid_grant", "the first refresh token after the replay");
  },

  async unknown_scope() {
    const config = await configure(env.site);
    const { tokens, page, checks } = await login(config, env.site, "openid profile email");
    assert(!page.app.scopes.includes("email"), `the phone is asked for ${page.app.scopes}`);
    equal(tokens.scope, "openid profile", "granted scope");
    equal(tokens.refresh_token, undefined, "a refresh token without offline_access");
    await checkPerson(config, tokens, checks.expectedNonce);
  },

  async revocation() {
    const config = await configure(env.site);
    const { tokens, checks } = await login(config, env.site, FULL);
    const claims = await checkPerson(config, tokens, checks.expectedNonce);
    await client.tokenRevocation(config, "not-a-token-of-this-server", { token_type_hint: "refresh_token" });
    await client.fetchUserInfo(config, tokens.access_token, claims.sub);
    await client.tokenRevocation(config, tokens.refresh_token, { token_type_hint: "refresh_token" });
    await tokenDead(config, tokens.access_token, claims.sub, "the access token after its refresh token was revoked");
    grantError(await rejects(client.refreshTokenGrant(config, tokens.refresh_token), "the revoked refresh token"), "invalid_grant", "the revoked refresh token");
  },

  async device_grant() {
    const config = await configure(env.tv);
    const da = await client.initiateDeviceAuthorization(config, { scope: FULL });
    assert(/^[A-Z]{4}-[A-Z]{4}$/.test(da.user_code), `user_code ${da.user_code}`);
    equal(da.verification_uri, `${env.issuer}/device`, "verification_uri");
    assert(da.verification_uri_complete?.startsWith(`${env.issuer}/device?`), `verification_uri_complete ${da.verification_uri_complete}`);
    const polled = client.pollDeviceAuthorizationGrant(config, da);
    polled.catch(() => {}); // awaited below
    const out = await mobileSim("scan", "--payload", da.verification_uri_complete, "--yes");
    for (const want of [env.tv.name, da.user_code, "state: confirmed"]) {
      assert(out.includes(want), `mobile-sim's scan output lacks ${JSON.stringify(want)}:\n${out}`);
    }
    const tokens = await polled;
    assert(tokens.refresh_token, "no refresh token for offline_access");
    const claims = await checkPerson(config, tokens);
    equal(String(claims.aud), env.tv.id, "ID token aud");
    const next = await client.refreshTokenGrant(config, tokens.refresh_token);
    assert(next.refresh_token && next.refresh_token !== tokens.refresh_token, "the TV's refresh token did not rotate");
  },

  async public_client() {
    const config = await configure(env.spa);
    const { tokens, checks } = await login(config, env.spa, FULL);
    const claims = await checkPerson(config, tokens, checks.expectedNonce);
    equal(String(claims.aud), env.spa.id, "ID token aud");
    const next = await client.refreshTokenGrant(config, tokens.refresh_token);
    assert(next.refresh_token && next.refresh_token !== tokens.refresh_token, "the public client's refresh token did not rotate");
    await checkPerson(config, next);
    // Without PKCE the request is sent back with invalid_request.
    const url = client.buildAuthorizationUrl(config, { redirect_uri: env.spa.redirect, scope: "openid", state: "no-pkce" });
    const page = await getJSON(url);
    const back = new URL(page.redirect);
    equal(back.searchParams.get("error"), "invalid_request", "an authorization request without PKCE");
    equal(back.searchParams.get("state"), "no-pkce", "its state");
  },
};

/**
 * main runs the scenarios named on the command line (all of them if none)
 * and exits 0 if all passed, 1 otherwise, saying which failed; --list
 * prints their names.
 */
async function main() {
  const args = process.argv.slice(2);
  if (args[0] === "--list") {
    console.log(Object.keys(scenarios).join("\n"));
    return;
  }
  const names = args.length ? args : Object.keys(scenarios);
  let failed = 0;
  for (const name of names) {
    const fn = scenarios[name];
    if (!fn) {
      console.error(`no scenario ${name}; have: ${Object.keys(scenarios).join(", ")}`);
      process.exit(2);
    }
    const start = Date.now();
    try {
      await fn();
      console.log(`ok   ${name} (${Date.now() - start} ms)`);
    } catch (err) {
      failed++;
      console.log(`FAIL ${name} (${Date.now() - start} ms)\n${err?.stack ?? err}`);
      if (err?.cause) console.log("cause:", err.cause);
    }
  }
  console.log(`${names.length - failed} passed, ${failed} failed`);
  process.exit(failed ? 1 : 0);
}

await main();
