// The live event feed: Server-Sent Events from /api/feed/stream, newest on top.
import { api, token } from "./api.js";
import { t, has, template, format, lang, onLanguage } from "./i18n.js";

const MAX_ITEMS = 200;
const RECONNECT_MS = 4000;
const DESK_COLOURS = ["#58a6ff", "#f2cc60", "#3fb950", "#ff7b72", "#d2a8ff", "#56d4dd",
  "#ffa657", "#7ee787", "#f778ba", "#a5d6ff"];

function colourFor(prefix) {
  let h = 0;
  for (const ch of prefix) h = (h * 31 + ch.codePointAt(0)) >>> 0;
  return DESK_COLOURS[h % DESK_COLOURS.length];
}

/** Catalogue keys that may name `subject` (most specific first). */
export function subjectKeys(subject, kind) {
  const [desk, ...rest] = subject.split(".");
  return [`${desk}.${kind}.${rest.join(".")}`, `web.${kind}.${subject}`];
}

function flatten(value, prefix = "", out = {}) {
  if (value && typeof value === "object" && !Array.isArray(value)) {
    for (const [k, v] of Object.entries(value)) flatten(v, prefix ? `${prefix}.${k}` : k, out);
  } else {
    out[prefix] = value;
  }
  return out;
}

/** The subject's translated title, or the subject itself when no key exists. */
export function subjectTitle(subject, payload = {}) {
  for (const key of subjectKeys(subject, "event")) {
    if (has(key)) return format(template(key), flatten(payload));
  }
  return subject;
}

/** A one-line summary: the subject's summary template, or its first few plain fields. */
export function summarise(subject, payload = {}) {
  const flat = flatten(payload);
  for (const key of subjectKeys(subject, "event_summary")) {
    if (has(key)) return format(template(key), flat);
  }
  const parts = [];
  for (const [k, v] of Object.entries(flat)) {
    if (v === null || v === undefined || typeof v === "object") continue;
    const text = String(v);
    if (text.length > 48) continue;
    parts.push(`${k}: ${text}`);
    if (parts.length === 3) break;
  }
  return parts.join(" · ");
}

function timeText(iso) {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return "";
  return new Intl.DateTimeFormat(lang(), {
    hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false,
  }).format(d);
}

/** The feed list, its live connection and who else wants each event. */
export class LiveFeedView {
  constructor(list, { onEvent, onStatus } = {}) {
    this.list = list;
    this.onEvent = onEvent || (() => {});
    this.onStatus = onStatus || (() => {});
    this.seen = new Set();
    this.items = [];
    this.total = 0;
    this.source = null;
    this.timer = null;
    this.stopped = true;
    onLanguage(() => this.rerender());
  }

  start() {
    this.stopped = false;
    this.connect();
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.timer);
    if (this.source) this.source.close();
    this.source = null;
    this.onStatus("off");
  }

  connect() {
    if (this.stopped) return;
    const tok = token();
    if (!tok) return;
    this.onStatus("connecting");
    const source = new EventSource(`/api/feed/stream?access_token=${encodeURIComponent(tok)}`);
    this.source = source;
    source.onopen = () => this.onStatus("live");
    source.addEventListener("envelope", (e) => {
      try {
        this.add(JSON.parse(e.data));
      } catch (err) {
        console.error("feed: bad event", err);
      }
    });
    source.onerror = () => {
      if (source.readyState !== EventSource.CLOSED) {
        this.onStatus("connecting");
        return; // the browser reconnects by itself, sending Last-Event-ID
      }
      source.close();
      this.onStatus("off");
      if (this.stopped) return;
      // A closed stream is usually an expired token; /api/auth/me makes the page notice.
      api("/api/auth/me").then(
        () => { this.timer = setTimeout(() => this.connect(), RECONNECT_MS); },
        () => {},
      );
    };
  }

  add(item) {
    if (!item || this.seen.has(item.event_id)) return;
    this.seen.add(item.event_id);
    this.total += 1;
    this.items.unshift(item);
    if (this.items.length > MAX_ITEMS) {
      const old = this.items.pop();
      this.seen.delete(old.event_id);
      this.list.lastElementChild?.remove();
    }
    this.list.prepend(this.render(item));
    this.updateMeta();
    this.onEvent(item);
  }

  updateMeta() {
    const count = document.getElementById("events-count");
    if (count) {
      count.textContent = String(this.total);
      count.dataset.count = String(this.total);
    }
    const empty = document.getElementById("feed-empty");
    if (empty) empty.hidden = this.items.length > 0;
  }

  render(item) {
    const li = document.createElement("li");
    li.className = "feed-item";
    li.dataset.eventId = item.event_id;
    li.dataset.subject = item.subject;
    li.style.setProperty("--accent", colourFor(item.subject.split(".")[0]));
    const time = document.createElement("time");
    time.className = "feed-time";
    time.dateTime = item.occurred_at;
    time.textContent = timeText(item.occurred_at);
    const body = document.createElement("div");
    body.className = "feed-body";
    const title = document.createElement("div");
    title.className = "feed-title";
    title.textContent = subjectTitle(item.subject, item.payload);
    const subject = document.createElement("code");
    subject.className = "feed-subject";
    subject.textContent = item.subject;
    const summary = document.createElement("div");
    summary.className = "feed-summary";
    summary.textContent = summarise(item.subject, item.payload);
    body.append(title, summary, subject);
    li.append(time, body);
    li.tabIndex = 0;
    li.title = t("web.feed.details");
    const toggle = () => {
      const open = li.querySelector("pre");
      if (open) { open.remove(); return; }
      const pre = document.createElement("pre");
      pre.className = "feed-payload";
      pre.textContent = JSON.stringify(item.payload, null, 2);
      body.append(pre);
    };
    li.addEventListener("click", toggle);
    li.addEventListener("keydown", (e) => { if (e.key === "Enter") toggle(); });
    return li;
  }

  rerender() {
    this.list.replaceChildren(...this.items.map((item) => this.render(item)));
    this.updateMeta();
  }
}
