// The holder's wallet page: an ECDSA P-256 key made and kept in this browser (WebCrypto,
// not extractable, stored in IndexedDB), the SD-JWT VC (imported, or received from a
// credential offer by the OpenID4VCI pre-authorized code flow), and consent to a relying
// party's request: only the requested claims are disclosed, with a KB-JWT (RFC 9901) over the
// request's nonce and audience. Nothing leaves the page before the holder consents.

const $ = (id) => document.getElementById(id);
let messages = {};
let language = localStorage.getItem("pingan.lang") || (navigator.language.startsWith("zh") ? "zh-CN" : "en");
let current = null; // the fetched request

function t(key, params = {}) {
  const text = messages[key] || key;
  return text.replace(/\{(\w+)\}/g, (_, k) => (k in params ? String(params[k]) : `{${k}}`));
}

async function loadLanguage() {
  const r = await fetch(`/api/i18n/${language}`);
  messages = (await r.json()).messages || {};
  document.documentElement.lang = language;
  for (const node of document.querySelectorAll("[data-i18n]")) node.textContent = t(node.dataset.i18n);
  for (const node of document.querySelectorAll("[data-i18n-placeholder]")) {
    node.placeholder = t(node.dataset.i18nPlaceholder);
  }
  if (current) showRequest(current);
}

// ---------------------------------------------------------------- base64url, storage

function b64url(bytes) {
  let s = "";
  for (const b of new Uint8Array(bytes)) s += String.fromCharCode(b);
  return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function b64urlText(text) {
  return b64url(new TextEncoder().encode(text));
}

function fromB64url(text) {
  const s = atob(text.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((text.length + 3) % 4));
  return new TextDecoder().decode(Uint8Array.from(s, (c) => c.charCodeAt(0)));
}

function db() {
  return new Promise((resolve, reject) => {
    const open = indexedDB.open("pingan-wallet", 1);
    open.onupgradeneeded = () => open.result.createObjectStore("kv");
    open.onsuccess = () => resolve(open.result);
    open.onerror = () => reject(open.error);
  });
}

async function store(key, value) {
  const handle = await db();
  return new Promise((resolve, reject) => {
    const tx = handle.transaction("kv", "readwrite");
    tx.objectStore("kv").put(value, key);
    tx.oncomplete = () => resolve();
    tx.onerror = () => reject(tx.error);
  });
}

async function load(key) {
  const handle = await db();
  return new Promise((resolve, reject) => {
    const req = handle.transaction("kv").objectStore("kv").get(key);
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

// ---------------------------------------------------------------- keys

async function thumbprint(jwk) {
  const canonical = JSON.stringify({ crv: jwk.crv, kty: jwk.kty, x: jwk.x, y: jwk.y });
  return b64url(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(canonical)));
}

async function showKey() {
  const wallet = await load("key");
  if (!wallet) return;
  $("key-info").hidden = false;
  $("init").hidden = true;
  $("thumbprint").textContent = await thumbprint(wallet.publicJwk);
  $("public-jwk").textContent = JSON.stringify(wallet.publicJwk);
}

async function initKey() {
  const pair = await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, false, ["sign", "verify"]);
  const full = await crypto.subtle.exportKey("jwk", pair.publicKey);
  const publicJwk = { kty: full.kty, crv: full.crv, x: full.x, y: full.y };
  await store("key", { privateKey: pair.privateKey, publicJwk });
  await showKey();
}

// ---------------------------------------------------------------- credential

function parseCredential(text) {
  const parts = text.trim().split("~");
  const jwt = parts[0];
  const payload = JSON.parse(fromB64url(jwt.split(".")[1]));
  const disclosures = parts.slice(1).filter(Boolean).map((d) => ({ raw: d, value: JSON.parse(fromB64url(d)) }));
  return { jwt, payload, disclosures };
}

async function importCredential() {
  const text = $("credential").value.trim();
  const wallet = await load("key");
  if (!wallet) { $("import-status").textContent = t("identity.wallet.no_key"); return; }
  let parsed;
  try {
    parsed = parseCredential(text.startsWith("{") ? JSON.parse(text).sd_jwt : text);
  } catch (err) {
    $("import-status").textContent = String(err);
    return;
  }
  const bound = parsed.payload.cnf && parsed.payload.cnf.jwk;
  if (!bound || (await thumbprint(bound)) !== (await thumbprint(wallet.publicJwk))) {
    $("import-status").textContent = "✗ cnf.jwk";
    return;
  }
  await store("credential", text.startsWith("{") ? JSON.parse(text).sd_jwt : text);
  $("import-status").textContent = `${t("identity.wallet.imported")} · ${parsed.payload.vct}`;
}

// ---------------------------------------------------------------- receiving (OpenID4VCI)

const PRE_AUTHORIZED = "urn:ietf:params:oauth:grant-type:pre-authorized_code";

// A credential offer from the QR text: openid-credential-offer://?credential_offer=<JSON>,
// any link carrying that parameter, or the JSON itself.
function parseOffer(text) {
  const value = text.trim();
  let json = value;
  if (!value.startsWith("{")) {
    const query = value.includes("?") ? value.slice(value.indexOf("?") + 1) : "";
    json = new URLSearchParams(query).get("credential_offer") || "";
  }
  const offer = JSON.parse(json);
  const grant = offer && offer.grants && offer.grants[PRE_AUTHORIZED];
  if (!offer.credential_issuer || !grant || !grant["pre-authorized_code"]) throw new Error("offer");
  return offer;
}

// The page is served by the platform: its endpoints are reached on this origin.
const here = (url) => new URL(url).pathname;

async function receive() {
  const status = $("receive-status");
  status.className = "";
  const wallet = await load("key");
  if (!wallet) { status.textContent = t("identity.wallet.no_key"); return; }
  let offer;
  try { offer = parseOffer($("offer").value); } catch (err) {
    status.className = "bad";
    status.textContent = t("identity.wallet.bad_offer");
    return;
  }
  const grant = offer.grants[PRE_AUTHORIZED];
  const issuerPath = new URL(offer.credential_issuer).pathname.replace(/\/$/, "");
  const fail = (body, code) => {
    status.className = "bad";
    status.textContent = `${t("identity.wallet.receive_failed")}: ${body.error || code} ${body.error_description || ""}`;
  };
  const meta = await (await fetch(`/.well-known/openid-credential-issuer${issuerPath}`)).json();
  const server = await (await fetch(`/.well-known/oauth-authorization-server${issuerPath}`)).json();
  const form = new URLSearchParams({ grant_type: PRE_AUTHORIZED, "pre-authorized_code": grant["pre-authorized_code"] });
  if (grant.tx_code) form.set("tx_code", $("pin").value.trim());
  const tokenResponse = await fetch(here(server.token_endpoint), { method: "POST", body: form });
  const token = await tokenResponse.json();
  if (!tokenResponse.ok) { fail(token, tokenResponse.status); return; }
  const nonce = (await (await fetch(here(meta.nonce_endpoint), { method: "POST" })).json()).c_nonce;
  const header = b64urlText(JSON.stringify({ alg: "ES256", typ: "openid4vci-proof+jwt", jwk: wallet.publicJwk }));
  const payload = b64urlText(JSON.stringify({ aud: offer.credential_issuer, iat: Math.floor(Date.now() / 1000), nonce }));
  const signature = await crypto.subtle.sign(
    { name: "ECDSA", hash: "SHA-256" }, wallet.privateKey, new TextEncoder().encode(`${header}.${payload}`));
  const answer = await fetch(here(meta.credential_endpoint), {
    method: "POST",
    headers: { "Content-Type": "application/json", Authorization: `Bearer ${token.access_token}` },
    body: JSON.stringify({
      credential_configuration_id: offer.credential_configuration_ids[0],
      proofs: { jwt: [`${header}.${payload}.${b64url(signature)}`] },
    }),
  });
  const body = await answer.json();
  if (!answer.ok) { fail(body, answer.status); return; }
  const credential = body.credentials[0].credential;
  const parsed = parseCredential(credential);
  const bound = parsed.payload.cnf && parsed.payload.cnf.jwk;
  if (!bound || (await thumbprint(bound)) !== (await thumbprint(wallet.publicJwk))) {
    status.className = "bad";
    status.textContent = "✗ cnf.jwk";
    return;
  }
  await store("credential", credential);
  $("offer").value = "";
  $("pin").value = "";
  status.className = "ok";
  status.textContent = `${t("identity.wallet.received")} · ${parsed.payload.vct}`;
}

// Scanning with the camera where the browser has a barcode detector; pasting works everywhere.
async function scan() {
  const video = $("scan-video");
  const detector = new window.BarcodeDetector({ formats: ["qr_code"] });
  const stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" } });
  video.srcObject = stream;
  video.hidden = false;
  await video.play();
  const stop = () => { stream.getTracks().forEach((track) => track.stop()); video.hidden = true; };
  for (let i = 0; i < 600; i += 1) {
    const codes = await detector.detect(video);
    if (codes.length) { $("offer").value = codes[0].rawValue; stop(); $("pin").focus(); return; }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  stop();
}

// ---------------------------------------------------------------- requests

function refFrom(value) {
  const text = value.trim();
  if (text.startsWith("pingan-id://")) return new URL(text.replace("pingan-id://", "https://x/")).searchParams.get("ref");
  const match = text.match(/requests\/([A-Za-z0-9_-]+)/);
  return match ? match[1] : text;
}

function showRequest(req) {
  const rp = req.relying_party[language] || req.relying_party["zh-CN"];
  $("asks").textContent = t("identity.wallet.asks", { rp });
  $("purpose").textContent = `${req.scenario.name[language]} — ${req.scenario.purpose[language]}`;
  $("claims").replaceChildren(...req.claims.map((c) => Object.assign(document.createElement("li"), { textContent: c })));
  $("expires").textContent = new Date(req.expires_at).toLocaleString();
  $("request").hidden = false;
}

async function fetchRequest() {
  $("verdict").textContent = "";
  const ref = refFrom($("ref").value);
  const r = await fetch(`/api/identity/requests/${encodeURIComponent(ref)}`, { headers: { "Accept-Language": language } });
  const body = await r.json();
  if (!r.ok) { $("verdict").textContent = body.error ? body.error.message : `HTTP ${r.status}`; return; }
  if (body.used) { $("verdict").textContent = t("identity.wallet.used"); return; }
  current = body;
  showRequest(body);
}

async function present() {
  const wallet = await load("key");
  const credential = await load("credential");
  if (!wallet) { $("verdict").textContent = t("identity.wallet.no_key"); return; }
  if (!credential) { $("verdict").textContent = t("identity.wallet.no_credential"); return; }
  const parsed = parseCredential(credential);
  const wanted = new Set(current.claims);
  const chosen = parsed.disclosures.filter((d) => d.value.length === 3 && wanted.has(d.value[1]));
  const sdJwt = [parsed.jwt, ...chosen.map((d) => d.raw)].join("~") + "~";
  const sdHash = b64url(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(sdJwt)));
  const header = b64urlText(JSON.stringify({ alg: "ES256", typ: "kb+jwt" }));
  const payload = b64urlText(JSON.stringify({
    iat: Math.floor(Date.now() / 1000), aud: current.aud, nonce: current.nonce, sd_hash: sdHash,
  }));
  const signature = await crypto.subtle.sign(
    { name: "ECDSA", hash: "SHA-256" }, wallet.privateKey, new TextEncoder().encode(`${header}.${payload}`));
  const presentation = `${sdJwt}${header}.${payload}.${b64url(signature)}`;
  const r = await fetch(`/api/identity/requests/${current.ref}/response`, {
    method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ presentation }),
  });
  const verdict = await r.json();
  const ok = r.ok && verdict.accepted;
  const message = verdict.message ? verdict.message[language] : (verdict.error && verdict.error.message) || "";
  $("verdict").className = ok ? "ok" : "bad";
  $("verdict").textContent = ok ? t("identity.wallet.accepted") : `${t("identity.wallet.rejected")}: ${message} (${verdict.reason || r.status})`;
  $("request").hidden = true;
  current = null;
}

function decline() {
  $("request").hidden = true;
  current = null;
  $("verdict").className = "";
  $("verdict").textContent = t("identity.wallet.declined");
}

$("init").addEventListener("click", initKey);
$("receive").addEventListener("click", receive);
$("scan").addEventListener("click", scan);
$("scan").hidden = !("BarcodeDetector" in window && navigator.mediaDevices);
$("import").addEventListener("click", importCredential);
$("fetch").addEventListener("click", fetchRequest);
$("consent").addEventListener("click", present);
$("decline").addEventListener("click", decline);
$("lang").addEventListener("click", () => {
  language = language === "en" ? "zh-CN" : "en";
  localStorage.setItem("pingan.lang", language);
  loadLanguage();
});

const initialRef = new URLSearchParams(location.search).get("ref");
const initialOffer = new URLSearchParams(location.search).get("credential_offer");
if (initialOffer) $("offer").value = `openid-credential-offer://?credential_offer=${encodeURIComponent(initialOffer)}`;
if (initialRef) $("ref").value = initialRef;
loadLanguage().then(showKey).then(() => { if (initialRef) fetchRequest(); });
