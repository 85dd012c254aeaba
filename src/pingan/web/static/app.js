// The command centre: login, the city map, the live feed and the desks' panels.
import {
  api, clearSession, currentUser, login, onUnauthorised, token,
} from "./api.js";
import {
  hasStoredLanguage, initialLanguage, lang, onLanguage, setLanguage, t,
} from "./i18n.js";
import { CityMap, L } from "./map.js";
import { LiveFeedView, subjectTitle } from "./feed.js";
import { loadPanels } from "./panels.js";

const $ = (id) => document.getElementById(id);
const eventListeners = new Set();
let cityMap = null;
let feed = null;
let started = false;

function setLive(state) {
  const box = $("live-status");
  box.dataset.state = state;
  const text = box.querySelector(".live-text");
  text.dataset.i18n = `web.live.${state}`;
  text.textContent = t(`web.live.${state}`);
}

function tickClock() {
  const now = new Date();
  $("clock").dateTime = now.toISOString();
  $("clock").textContent = new Intl.DateTimeFormat(lang(), {
    year: "numeric", month: "2-digit", day: "2-digit",
    hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false,
  }).format(now);
}

function renderUser() {
  const user = currentUser();
  $("user-box").hidden = !user;
  if (!user) return;
  $("user-name").textContent = user.display_name || user.username;
  $("user-roles").textContent = (user.roles || []).map((r) => t(`web.role.${r}`)).join(" · ");
}

function showLogin(messageKey) {
  document.body.classList.remove("is-loading", "is-centre");
  document.body.classList.add("is-login");
  $("centre-view").hidden = true;
  $("login-view").hidden = false;
  $("logout").hidden = true;
  $("user-box").hidden = true;
  $("live-status").hidden = true;
  const error = $("login-error");
  if (messageKey) {
    error.dataset.i18n = messageKey;
    error.textContent = t(messageKey);
    error.hidden = false;
  } else {
    error.hidden = true;
  }
  $("login-username").focus();
}

async function showCentre() {
  document.body.classList.remove("is-loading", "is-login");
  document.body.classList.add("is-centre");
  $("login-view").hidden = true;
  $("centre-view").hidden = false;
  $("logout").hidden = false;
  $("live-status").hidden = false;
  renderUser();
  if (started) return;
  started = true;
  cityMap = new CityMap($("map"));
  const panelCtx = {
    api,
    t,
    lang,
    onLanguage,
    onEvent: (cb) => { eventListeners.add(cb); return () => eventListeners.delete(cb); },
    map: cityMap.map,
    L,
  };
  feed = new LiveFeedView($("feed"), {
    onStatus: setLive,
    onEvent: (item) => {
      cityMap.showEvent(item, subjectTitle(item.subject, item.payload));
      for (const cb of eventListeners) {
        try { cb(item); } catch (err) { console.error(err); }
      }
    },
  });
  feed.start();
  const results = await Promise.allSettled([
    cityMap.loadCities(localStorage.getItem("pingan.city")),
    loadPanels($("panels"), panelCtx),
  ]);
  for (const r of results) if (r.status === "rejected") console.error(r.reason);
  if (cityMap.city) localStorage.setItem("pingan.city", String(cityMap.city.id));
}

function logout(messageKey) {
  clearSession();
  if (feed) feed.stop();
  if (started) {
    // The page holds no other state worth keeping; start clean at the login view.
    sessionStorage.setItem("pingan.logout_message", messageKey || "");
    window.location.reload();
    return;
  }
  showLogin(messageKey);
}

async function onSubmit(event) {
  event.preventDefault();
  const username = $("login-username").value.trim();
  const password = $("login-password").value;
  const error = $("login-error");
  error.hidden = true;
  if (!username || !password) {
    error.dataset.i18n = "web.login.missing";
    error.textContent = t("web.login.missing");
    error.hidden = false;
    return;
  }
  const button = $("login-submit");
  button.disabled = true;
  try {
    const user = await login(username, password);
    if (!hasStoredLanguage() && user && ["zh-CN", "en"].includes(user.language)
        && user.language !== lang()) {
      await setLanguage(user.language, { persist: false });
    }
    await showCentre();
  } catch (err) {
    // Server messages arrive already in the page's language (Accept-Language).
    delete error.dataset.i18n;
    error.textContent = err.status ? err.message : t("web.login.network_error");
    error.hidden = false;
  } finally {
    button.disabled = false;
  }
}

async function main() {
  await setLanguage(initialLanguage(), { persist: false });
  tickClock();
  setInterval(tickClock, 1000);
  setLive("off");
  onLanguage(() => { tickClock(); renderUser(); });
  $("lang-toggle").addEventListener("click", () => {
    setLanguage(lang() === "zh-CN" ? "en" : "zh-CN").catch((err) => console.error(err));
  });
  $("logout").addEventListener("click", () => logout());
  $("login-form").addEventListener("submit", onSubmit);
  onUnauthorised(() => logout("web.login.expired"));
  const farewell = sessionStorage.getItem("pingan.logout_message");
  sessionStorage.removeItem("pingan.logout_message");
  if (token()) {
    await showCentre();
  } else {
    showLogin(farewell || null);
  }
}

main().catch((err) => {
  console.error(err);
  document.body.classList.remove("is-loading");
  document.body.dataset.error = String(err);
});
