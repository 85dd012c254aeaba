// Talking to the platform's API with the signed-in user's token.
import { lang } from "./i18n.js";

const TOKEN_KEY = "pingan.token";
const USER_KEY = "pingan.user";
const unauthorised = new Set();

/** An API error carrying the server's `{error: {code, message, field}}`. */
export class ApiError extends Error {
  constructor(status, body) {
    const err = (body && body.error) || {};
    super(err.message || `HTTP ${status}`);
    this.status = status;
    this.code = err.code || null;
    this.field = err.field || null;
  }
}

export function token() {
  return sessionStorage.getItem(TOKEN_KEY);
}

export function currentUser() {
  try {
    return JSON.parse(sessionStorage.getItem(USER_KEY) || "null");
  } catch {
    return null;
  }
}

export function saveSession(accessToken, user) {
  sessionStorage.setItem(TOKEN_KEY, accessToken);
  sessionStorage.setItem(USER_KEY, JSON.stringify(user || null));
}

export function clearSession() {
  sessionStorage.removeItem(TOKEN_KEY);
  sessionStorage.removeItem(USER_KEY);
}

/** Call `cb` when the server says the token is no longer good. */
export function onUnauthorised(cb) {
  unauthorised.add(cb);
}

/** fetch() against the API: JSON in and out, the token and language attached. */
export async function api(path, init = {}) {
  const headers = new Headers(init.headers || {});
  headers.set("Accept", "application/json");
  headers.set("Accept-Language", lang());
  const tok = token();
  if (tok && !init.anonymous) headers.set("Authorization", `Bearer ${tok}`);
  let body = init.body;
  if (body !== undefined && typeof body !== "string" && !(body instanceof FormData)) {
    headers.set("Content-Type", "application/json");
    body = JSON.stringify(body);
  }
  const { anonymous, ...rest } = init;
  const response = await fetch(path, { ...rest, headers, body });
  const text = await response.text();
  let data = null;
  if (text) {
    try { data = JSON.parse(text); } catch { data = text; }
  }
  if (!response.ok) {
    const error = new ApiError(response.status, data);
    if (response.status === 401 && tok && !anonymous) for (const cb of unauthorised) cb(error);
    throw error;
  }
  return data;
}

/** Sign in; resolves to the user. Throws ApiError with the server's (translated) message. */
export async function login(username, password) {
  const data = await api("/api/auth/login", {
    method: "POST",
    body: { username, password },
    anonymous: true,
  });
  saveSession(data.access_token, data.user);
  return data.user;
}
