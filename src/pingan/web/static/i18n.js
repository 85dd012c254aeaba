// The page's messages: every visible text comes from /api/i18n/<lang>.
const SUPPORTED = ["zh-CN", "en"];
const STORAGE_KEY = "pingan.lang";

let current = document.documentElement.lang || "zh-CN";
let messages = {};
const listeners = new Set();

/** The language in force. */
export function lang() {
  return current;
}

/** The language the page should start in: the user's last choice, else the server's default. */
export function initialLanguage() {
  const stored = localStorage.getItem(STORAGE_KEY);
  if (SUPPORTED.includes(stored)) return stored;
  return SUPPORTED.includes(current) ? current : "zh-CN";
}

/** Whether the user has chosen a language on this browser. */
export function hasStoredLanguage() {
  return SUPPORTED.includes(localStorage.getItem(STORAGE_KEY));
}

/** The message for `key` with `{name}` placeholders filled from `params` (the key if missing). */
export function t(key, params = {}) {
  const template = messages[key];
  if (template === undefined) return key;
  return format(template, params);
}

/** Whether the catalogue has `key`. */
export function has(key) {
  return Object.prototype.hasOwnProperty.call(messages, key);
}

/** The raw template of `key`, or undefined. */
export function template(key) {
  return messages[key];
}

/** Fill `{name}` placeholders; unknown ones stay as they are. */
export function format(template, params) {
  return template.replace(/\{([A-Za-z0-9_.]+)\}/g, (whole, name) =>
    params[name] === undefined || params[name] === null ? whole : String(params[name]));
}

/** Load `language`'s catalogue, re-render every text and tell the listeners. */
export async function setLanguage(language, { persist = true } = {}) {
  if (!SUPPORTED.includes(language)) language = "zh-CN";
  const response = await fetch(`/api/i18n/${encodeURIComponent(language)}`, {
    headers: { Accept: "application/json" },
  });
  if (!response.ok) throw new Error(`i18n ${language}: HTTP ${response.status}`);
  const body = await response.json();
  messages = body.messages || {};
  current = language;
  document.documentElement.lang = language;
  document.cookie = `pingan_lang=${language}; path=/; SameSite=Strict; max-age=31536000`;
  if (persist) localStorage.setItem(STORAGE_KEY, language);
  apply(document);
  for (const cb of listeners) {
    try { cb(language); } catch (err) { console.error(err); }
  }
}

/** Re-translate every `[data-i18n]` and `[data-i18n-attr]` element under `root`. */
export function apply(root) {
  for (const el of root.querySelectorAll("[data-i18n]")) {
    el.textContent = t(el.dataset.i18n);
  }
  for (const el of root.querySelectorAll("[data-i18n-attr]")) {
    for (const pair of el.dataset.i18nAttr.split(";")) {
      const [attr, key] = pair.split("=").map((s) => s.trim());
      if (attr && key) el.setAttribute(attr, t(key));
    }
  }
  document.title = t("web.title");
}

/** Call `cb(language)` after every language change; returns an unsubscribe function. */
export function onLanguage(cb) {
  listeners.add(cb);
  return () => listeners.delete(cb);
}
