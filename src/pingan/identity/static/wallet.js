// The holder's wallet page: an ECDSA P-256 key made and kept in this browser (WebCrypto,
// not extractable, stored in IndexedDB), the imported SD-JWT VC, and consent to a relying
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
if (initialRef) $("ref").value = initialRef;
loadLanguage().then(showKey).then(() => { if (initialRef) fetchRequest(); });
