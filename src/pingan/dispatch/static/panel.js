// The dispatch desk's command-centre panel (接处警): call intake, the open-incident queue,
// triage and recommendations with one-click accept or a reasoned override, the unit board
// and the map overlays. Plain ES module; everything it says comes from the message catalogue
// (src/pingan/dispatch/locales/<lang>.json, served through /api/i18n/<lang>).

const BASE = "/static/dispatch";
const KINDS = ["patrol_car", "motorbike", "foot", "k9", "drone", "camera"];
const PRIORITY_COLOURS = { P1: "#ff5d5d", P2: "#ffa657", P3: "#e3c75a", P4: "#8aa0b8" };
const STATUS_COLOURS = {
  available: "#3fb950", dispatched: "#e3b341", en_route: "#ffa657", on_scene: "#ff7b72",
  transporting: "#d2a8ff", out_of_service: "#6e7681",
};
/** The statuses a dispatcher may set from the board (dispatching goes through incidents). */
const NEXT_STATUS = {
  available: ["out_of_service"],
  dispatched: ["en_route"],
  en_route: ["on_scene"],
  on_scene: ["transporting", "available"],
  transporting: ["available"],
  out_of_service: ["available"],
};
const OPEN_STATUSES = new Set(["new", "dispatched", "on_scene", "transferred"]);
const REFRESH_MS = 15000;
/** Move-up proposals listed before "more" (the largest expected gains first). */
const MOVE_UP_SHOWN = 5;
/** The cancellation's reason as broadcast in the CAP Cancel (both languages, like every CAP text). */
const CANCEL_REASON = { "zh-CN": "指挥中心撤销预警", en: "Withdrawn by the command centre" };

// Small glyphs per unit kind (SVG paths on a 16×16 grid).
const KIND_GLYPHS = {
  patrol_car: "M2 10l1.5-4.2A1.5 1.5 0 0 1 4.9 4.8h6.2a1.5 1.5 0 0 1 1.4 1L14 10v3h-1.6a1.6 1.6 0 0 1-3.2 0H6.8a1.6 1.6 0 0 1-3.2 0H2zM4.3 9h7.4l-.9-2.7H5.2zM6.5 2h3v1.6h-3z",
  motorbike: "M3.5 13.5a2.5 2.5 0 1 1 0-5 2.5 2.5 0 0 1 0 5zm9 0a2.5 2.5 0 1 1 0-5 2.5 2.5 0 0 1 0 5zM5 9l2-3h3l1.2 2.2L13 7l.5 1-2.3 1.2L10 11H7z",
  foot: "M8 1.5a1.8 1.8 0 1 1 0 3.6 1.8 1.8 0 0 1 0-3.6zM6 6h4l1 4.5H9.6L9.2 15H6.8l-.4-4.5H5z",
  k9: "M4 6.5a1.3 1.6 0 1 1 0-3.2 1.3 1.6 0 0 1 0 3.2zm3-2a1.3 1.6 0 1 1 0-3.2 1.3 1.6 0 0 1 0 3.2zm3 0a1.3 1.6 0 1 1 0-3.2 1.3 1.6 0 0 1 0 3.2zm3 2a1.3 1.6 0 1 1 0-3.2 1.3 1.6 0 0 1 0 3.2zM8.5 7c2.2 0 4.5 3.3 4.5 5.2 0 1.6-1.6 2.3-4.5 1.6-2.9.7-4.5 0-4.5-1.6C4 10.3 6.3 7 8.5 7z",
  drone: "M3 1.5a2 2 0 1 1 0 4 2 2 0 0 1 0-4zm10 0a2 2 0 1 1 0 4 2 2 0 0 1 0-4zm-10 9a2 2 0 1 1 0 4 2 2 0 0 1 0-4zm10 0a2 2 0 1 1 0 4 2 2 0 0 1 0-4zM6 6.5h4v3H6zM4.5 4.5l2 2-.7.7-2-2zm7 0l.7.7-2 2-.7-.7zm-7 7l2-2 .7.7-2 2zm7 0l-2-2 .7-.7 2 2z",
  camera: "M1.5 5h9a1 1 0 0 1 1 1v1l3-1.8v5.6L11.5 9v1a1 1 0 0 1-1 1h-9a1 1 0 0 1-1-1V6a1 1 0 0 1 1-1zm2 6.5h2l-.8 3h-.4z",
};


function el(tag, className, attrs = {}, ...children) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "text") node.textContent = String(v);
    else if (k === "style") node.setAttribute("style", v);
    else node.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children) if (c !== null && c !== undefined && c !== false) node.append(c);
  return node;
}

function svgGlyph(kind, size = 14) {
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("viewBox", "0 0 16 16");
  svg.setAttribute("width", String(size));
  svg.setAttribute("height", String(size));
  svg.setAttribute("class", "dp-glyph");
  svg.setAttribute("aria-hidden", "true");
  const path = document.createElementNS(ns, "path");
  path.setAttribute("d", KIND_GLYPHS[kind] || KIND_GLYPHS.foot);
  path.setAttribute("fill", "currentColor");
  path.setAttribute("fill-rule", "evenodd");
  svg.append(path);
  return svg;
}

function glyphHtml(kind, size) {
  return `<svg viewBox="0 0 16 16" width="${size}" height="${size}" aria-hidden="true">` +
    `<path fill="currentColor" fill-rule="evenodd" d="${KIND_GLYPHS[kind] || KIND_GLYPHS.foot}"/></svg>`;
}

function escapeHtml(value) {
  return String(value ?? "").replace(/[&<>"']/g, (c) =>
    ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
}

/** Seconds as m:ss (or h:mm:ss). */
export function clock(seconds) {
  if (seconds === null || seconds === undefined || !Number.isFinite(Number(seconds))) return "—";
  let s = Math.max(0, Math.round(Number(seconds)));
  const h = Math.floor(s / 3600);
  s -= h * 3600;
  const m = Math.floor(s / 60);
  const r = String(s - m * 60).padStart(2, "0");
  return h ? `${h}:${String(m).padStart(2, "0")}:${r}` : `${m}:${r}`;
}

function since(iso) {
  const t = Date.parse(iso);
  return Number.isNaN(t) ? null : (Date.now() - t) / 1000;
}

/** Whole minutes since a position fix (for "stale N min"), or null. */
function staleMinutes(iso) {
  const s = since(iso);
  return s === null ? null : Math.max(0, Math.floor(s / 60));
}

const STALE_COLOUR = "#8b949e";

function pairs(reasons) {
  // Reasons arrive as [code, params] pairs (or {code, params} objects).
  return (reasons || []).map((r) => (Array.isArray(r) ? [r[0], r[1] || {}]
    : r && typeof r === "object" ? [r.code, r.params || {}] : [String(r), {}]));
}

function priorityRank(p) {
  const n = Number(String(p || "P9").replace(/\D/g, ""));
  return Number.isFinite(n) ? n : 9;
}

export async function mount(root, ctx) {
  const { api, map: lmap, L } = ctx;
  const tr = (key, params = {}) => ctx.t(key, params);

  const P = (k, params) => tr(`dispatch.panel.${k}`, params);

  // Styles of the panel, loaded once.
  if (!document.querySelector("link[data-dispatch-css]")) {
    document.head.append(el("link", null, {
      rel: "stylesheet", href: `${BASE}/panel.css`, "data-dispatch-css": "true",
    }));
  }
  const card = root.closest(".panel");
  if (card) card.classList.add("dp-wide");

  const state = {
    cityId: null,
    incidents: [],
    units: [],
    detail: null,
    selectedId: null,
    stats: null,
    pick: null,
    picking: false,
    override: null, // { selected: Set, reason }
    closing: null, // { outcome }
    timelineUnit: null,
    timeline: null,
    message: null, // { kind: "ok" | "error", text, key?, params? }
    busy: false,
    moveUp: null, // GET /api/dispatch/move-up
    posts: [], // the city's standby posts, rank 1 first
    moveUpMsg: null, // { kind, key, params }
    alerts: [], // GET /api/dispatch/alerts
    alertMsg: null, // { kind, key?, params?, text? }
    alertWhere: null, // { lon, lat, source: "pick" | "incident" }
    alertPicking: false,
  };
  const unitById = () => new Map(state.units.map((u) => [String(u.id), u]));
  const collapsed = new Set(["camera"]);
  /** A callsign without the city prefix every unit shares (the full one stays in the title). */
  function short(callsign) {
    const text = String(callsign ?? "");
    const first = state.units.length ? String(state.units[0].callsign).split(".")[0] : "";
    if (first && state.units.length > 1 && text.startsWith(`${first}.`)
        && state.units.every((u) => String(u.callsign).startsWith(`${first}.`))) {
      return text.slice(first.length + 1);
    }
    return text;
  }
  const callsignEl = (callsign, fallbackText) => el("span", "dp-callsign", {
    text: callsign ? short(callsign) : fallbackText, title: callsign || fallbackText,
  });

  // ---------------------------------------------------------------- skeleton
  root.classList.add("dp");
  root.dataset.testid = "dispatch-panel";
  root.replaceChildren();
  const intake = el("section", "dp-box dp-intake", { "data-testid": "dispatch-intake" });
  const queue = el("section", "dp-box dp-queue", { "data-testid": "dispatch-queue" });
  const detail = el("section", "dp-box dp-detail", { "data-testid": "dispatch-detail" });
  const board = el("section", "dp-box dp-board", { "data-testid": "dispatch-board" });
  const stats = el("section", "dp-box dp-stats", { "data-testid": "dispatch-stats" });
  // Public warnings (预警发布, CAP 1.2): list, missing-person draft, issue, cancel, CAP XML.
  const alertsBox = el("section", "dp-box dp-alerts", { "data-testid": "dispatch-alerts" });
  const left = el("div", "dp-col dp-col-left", {}, intake, stats, alertsBox);
  const mid = el("div", "dp-col dp-col-mid", {}, queue, detail);
  const right = el("div", "dp-col dp-col-right", {}, board);
  root.append(left, mid, right);
  // Event security mode (大型活动安保): its own module, mounted into a box of the right column.
  // Move-up (补位): proposals to send idle units to standby posts, one click each.
  const moveUpBox = el("section", "dp-box dp-moveup", { "data-testid": "dispatch-move-up" });
  right.append(moveUpBox);
  const security = el("section", "dp-box dp-security", { "data-testid": "dispatch-security" });
  right.append(security);
  import(`${BASE}/security.js`).then((m) => m.mount(security, ctx))
    .catch((err) => console.error("dispatch security", err));

  // Intake form: built once so typing survives re-renders; labels carry data-dk.
  const form = el("form", "dp-form", { id: "dispatch-intake-form", novalidate: true });
  const textArea = el("textarea", "dp-input", {
    id: "dispatch-call-text", rows: 3, "data-testid": "dispatch-call-text", lang: "zh-CN",
    "data-dk-attr": "placeholder=intake.text_placeholder",
  });
  const address = el("input", "dp-input", {
    id: "dispatch-call-address", "data-testid": "dispatch-call-address",
    "data-dk-attr": "placeholder=intake.address_placeholder", autocomplete: "off",
  });
  const pickBtn = el("button", "dp-btn dp-btn-ghost", {
    type: "button", id: "dispatch-pick", "data-testid": "dispatch-pick", "data-dk": "intake.pick",
  });
  const pickText = el("span", "dp-pick-text", { id: "dispatch-pick-text", "data-testid": "dispatch-pick-text" });
  const pickClear = el("button", "dp-link", {
    type: "button", "data-dk": "intake.clear", "data-testid": "dispatch-pick-clear",
  });
  const phone = el("input", "dp-input dp-input-phone", {
    id: "dispatch-call-phone", "data-testid": "dispatch-call-phone", inputmode: "tel",
    "data-dk-attr": "placeholder=intake.phone_placeholder", autocomplete: "off",
  });
  const submit = el("button", "dp-btn dp-btn-primary", {
    type: "submit", id: "dispatch-call-submit", "data-testid": "dispatch-call-submit",
    "data-dk": "intake.submit",
  });
  const formMsg = el("p", "dp-msg", { id: "dispatch-intake-msg", "data-testid": "dispatch-intake-msg", role: "status" });
  form.append(
    el("label", "dp-field", {}, el("span", "dp-label", { "data-dk": "intake.text" }), textArea),
    el("label", "dp-field", {}, el("span", "dp-label", { "data-dk": "intake.address" }), address),
    el("div", "dp-pick-row", {}, pickBtn, pickText, pickClear),
    el("div", "dp-row", {},
      el("label", "dp-field dp-grow", {}, el("span", "dp-label", { "data-dk": "intake.phone" }), phone),
      submit),
    formMsg,
  );
  intake.append(el("header", "dp-head", {}, el("h4", null, { "data-dk": "intake.title" })), form);

  const user = (() => {
    try { return JSON.parse(sessionStorage.getItem("pingan.user") || "null"); } catch { return null; }
  })();
  const roles = new Set((user && user.roles) || []);
  const known = roles.size > 0;
  const mayDraft = !known || roles.has("dispatcher") || roles.has("commander");
  const mayIssue = !known || roles.has("commander");
  const aInput = (id, attrs = {}) => el("input", "dp-input", { id, "data-testid": id, autocomplete: "off", ...attrs });
  const alertForm = el("form", "dp-form dp-alert-form", { id: "alert-form", novalidate: true, "data-testid": "alert-form" });
  const aName = aInput("alert-name");
  const aAge = aInput("alert-age", { type: "number", min: 0, max: 130, inputmode: "numeric" });
  const aLooks = el("textarea", "dp-input", { id: "alert-appearance", "data-testid": "alert-appearance", rows: 2 });
  const aPlace = aInput("alert-place");
  const aSeen = aInput("alert-seen-at", { type: "datetime-local" });
  const aRadius = aInput("alert-radius", { type: "number", min: 0.1, max: 100, step: 0.1, value: "2" });
  const aExpiry = aInput("alert-expiry-h", { type: "number", min: 1, max: 720, value: "24" });
  const aContact = aInput("alert-contact", { value: "110" });
  const aWhereText = el("span", "dp-pick-text", { "data-testid": "alert-where" });
  const aUsePick = el("button", "dp-btn dp-btn-ghost dp-btn-small", {
    type: "button", "data-dk": "alerts.use_pick", "data-testid": "alert-use-pick",
  });
  const aUseIncident = el("button", "dp-btn dp-btn-ghost dp-btn-small", {
    type: "button", "data-dk": "alerts.use_incident", "data-testid": "alert-use-incident",
  });
  const aSubmit = el("button", "dp-btn dp-btn-primary", {
    type: "submit", "data-dk": "alerts.draft", "data-testid": "alert-draft",
  });
  const field = (key, input) => el("label", "dp-field", {}, el("span", "dp-label", { "data-dk": key }), input);
  alertForm.append(
    el("div", "dp-row", {}, field("alerts.name", aName), field("alerts.age", aAge)),
    field("alerts.appearance", aLooks),
    field("alerts.place", aPlace),
    el("div", "dp-pick-row", {}, aUsePick, aUseIncident, aWhereText),
    el("div", "dp-row", {}, field("alerts.seen_at", aSeen), field("alerts.radius", aRadius)),
    el("div", "dp-row", {}, field("alerts.expiry", aExpiry), field("alerts.contact", aContact), aSubmit),
  );
  const alertsDetails = el("details", "dp-alert-new", { "data-testid": "alert-new" },
    el("summary", null, { "data-dk": "alerts.new" }), alertForm);
  const alertsList = el("ul", "dp-alert-list", { "data-testid": "alert-list" });
  const alertsMsg = el("p", "dp-msg", { role: "status", "data-testid": "alert-msg" });
  alertsBox.append(
    el("header", "dp-head", {}, el("h4", null, { "data-dk": "alerts.title" })),
    alertsList, alertsMsg,
  );
  if (mayDraft) alertsBox.append(alertsDetails);
  // Run cards (出动标准): commanders edit the triage rules' priorities and run cards
  // (static/rules.js, its own module like security.js).
  if (!known || roles.has("commander") || roles.has("admin")) {
    const rulesBox = el("section", "dp-box dp-rules", { "data-testid": "dispatch-rules" });
    left.append(rulesBox);
    import(`${BASE}/rules.js`).then((m) => m.mount(rulesBox, ctx))
      .catch((err) => console.error("dispatch rules", err));
  }

  function applyStatic() {
    for (const node of root.querySelectorAll("[data-dk]")) node.textContent = P(node.dataset.dk);
    for (const node of root.querySelectorAll("[data-dk-attr]")) {
      for (const pair of node.dataset.dkAttr.split(";")) {
        const [attr, key] = pair.split("=").map((s) => s.trim());
        if (attr && key) node.setAttribute(attr, P(key));
      }
    }
  }

  // ---------------------------------------------------------------- map overlays
  let pane = "dispatch";
  if (lmap && L) {
    if (!lmap.getPane(pane)) {
      const node = lmap.createPane(pane);
      node.style.zIndex = "600";
      node.dataset.layer = "dispatch";
    }
  }
  const layers = lmap && L ? {
    lines: L.layerGroup([], { pane }).addTo(lmap),
    units: L.layerGroup([], { pane }).addTo(lmap),
    incidents: L.layerGroup([], { pane }).addTo(lmap),
    pick: L.layerGroup([], { pane }).addTo(lmap),
    posts: L.layerGroup([], { pane }).addTo(lmap),
  } : null;

  function renderPick() {
    pickBtn.classList.toggle("is-on", state.picking);
    root.classList.toggle("is-picking", state.picking);
    if (lmap) lmap.getContainer().classList.toggle("dp-map-picking", state.picking);
    if (state.picking) {
      pickText.textContent = P("intake.picking");
    } else if (state.pick) {
      pickText.textContent = P("intake.picked", {
        lat: state.pick.lat.toFixed(5), lon: state.pick.lon.toFixed(5),
      });
    } else {
      pickText.textContent = P("intake.no_point");
    }
    pickText.dataset.picked = state.pick ? "true" : "false";
    pickClear.hidden = !state.pick;
    if (!layers) return;
    layers.pick.clearLayers();
    if (state.pick) {
      L.circleMarker([state.pick.lat, state.pick.lon], {
        pane, radius: 10, color: "#ffffff", weight: 2, dashArray: "3 3", fillColor: "#3b8eff",
        fillOpacity: 0.35, interactive: false,
      }).addTo(layers.pick);
      L.circleMarker([state.pick.lat, state.pick.lon], {
        pane, radius: 2.5, color: "#ffffff", weight: 1, fillColor: "#ffffff", fillOpacity: 1,
        interactive: false,
      }).addTo(layers.pick);
    }
  }

  if (lmap) {
    lmap.on("click", (e) => {
      if (!state.picking) return;
      state.pick = { lat: e.latlng.lat, lon: e.latlng.lng };
      state.picking = false;
      lmap.closePopup();
      renderPick();
      if (state.alertPicking) {
        // The point was picked for the alert form: use it there and go back to it.
        state.alertPicking = false;
        state.alertWhere = { ...state.pick, source: "pick" };
        renderAlerts();
        alertsBox.scrollIntoView({ block: "nearest" });
        return;
      }
      // Back to the form the call-taker was filling in.
      intake.scrollIntoView({ block: "nearest" });
    });
  }
  pickBtn.addEventListener("click", () => {
    state.picking = !state.picking;
    renderPick();
    // The map sits above the desks: bring it into view to take the click.
    if (state.picking && lmap) lmap.getContainer().scrollIntoView({ block: "nearest" });
  });
  pickClear.addEventListener("click", () => {
    state.pick = null;
    renderPick();
  });

  function incidentLabel(inc) {
    if (inc.call_type_label && typeof inc.call_type_label === "object") {
      return inc.call_type_label[ctx.lang()] || inc.call_type_label["zh-CN"]
        || inc.call_type_label.en || inc.call_type || P("unknown_type");
    }
    return inc.call_type || P("unknown_type");
  }

  function renderPosts() {
    if (!layers) return;
    layers.posts.clearLayers();
    const heading = new Set(state.units.filter((u) => u.standby_node != null).map((u) => String(u.standby_node)));
    for (const post of state.posts) {
      const filled = heading.has(String(post.node));
      const icon = L.divIcon({
        className: "",
        html: `<div class="dp-post-mark${filled ? " is-filled" : ""}" data-post-rank="${escapeHtml(post.rank)}">` +
          `${escapeHtml(post.rank)}</div>`,
        iconSize: [14, 14],
        iconAnchor: [7, 7],
      });
      const marker = L.marker([post.lat, post.lon], { pane, icon, keyboard: false });
      marker.bindTooltip(escapeHtml(P("move_up.post", { rank: post.rank })), { direction: "top", className: "dp-tip" });
      marker.addTo(layers.posts);
    }
  }

  function renderMap() {
    if (!layers) return;
    renderPosts();
    layers.incidents.clearLayers();
    layers.units.clearLayers();
    layers.lines.clearLayers();
    const incidentsById = new Map();
    for (const inc of state.incidents) {
      if (inc.lat === null || inc.lat === undefined || inc.lon === null || inc.lon === undefined) continue;
      incidentsById.set(String(inc.id), inc);
      const colour = PRIORITY_COLOURS[inc.priority] || "#8aa0b8";
      const selected = String(inc.id) === String(state.selectedId);
      const marker = L.circleMarker([inc.lat, inc.lon], {
        pane, radius: selected ? 11 : 8, color: selected ? "#ffffff" : "#0b1724",
        weight: selected ? 2.5 : 1.5, fillColor: colour, fillOpacity: 0.9,
        className: inc.status === "new" ? "dp-incident-new" : "",
      });
      marker.bindTooltip(escapeHtml(P("map.incident", {
        id: inc.id, type: incidentLabel(inc), priority: inc.priority,
      })), { direction: "top", className: "dp-tip" });
      marker.on("click", (e) => {
        if (state.picking) return;
        L.DomEvent.stopPropagation(e);
        select(inc.id);
      });
      marker.addTo(layers.incidents);
    }
    for (const u of state.units) {
      if (u.lat === null || u.lat === undefined || u.lon === null || u.lon === undefined) continue;
      const colour = u.stale ? STALE_COLOUR : (STATUS_COLOURS[u.status] || "#8aa0b8");
      const icon = L.divIcon({
        className: "",
        html: `<div class="dp-unit-mark${u.stale ? " is-stale" : ""}" style="--c:${colour}" ` +
          `data-unit-id="${escapeHtml(u.id)}" data-status="${escapeHtml(u.status)}">` +
          `${glyphHtml(u.kind, 12)}</div>`,
        iconSize: [20, 20],
        iconAnchor: [10, 10],
      });
      const marker = L.marker([u.lat, u.lon], { pane, icon, keyboard: false });
      marker.bindTooltip(escapeHtml(`${u.callsign} · ${P(`kind.${u.kind}`)} · ` +
        `${P(`status.${u.status}`)}${u.stale ? ` · ${staleText(u)}` : ""}` +
        `${u.kind === "drone" && u.battery_pct != null ? ` · ${P("battery_pct", { pct: Math.round(u.battery_pct) })}` : ""}`),
      { direction: "top", className: "dp-tip" });
      marker.addTo(layers.units);
      const inc = u.incident_id !== null && u.incident_id !== undefined
        ? incidentsById.get(String(u.incident_id)) : null;
      if (inc && ["dispatched", "en_route", "on_scene", "transporting"].includes(u.status)) {
        L.polyline([[u.lat, u.lon], [inc.lat, inc.lon]], {
          pane, color: colour, weight: 2, opacity: 0.85, dashArray: u.status === "on_scene" ? null : "6 5",
          interactive: false,
        }).addTo(layers.lines);
      }
    }
  }

  // ---------------------------------------------------------------- data
  async function cityId() {
    if (state.cityId) return state.cityId;
    const fromMap = document.getElementById("map")?.dataset.city;
    if (fromMap) {
      state.cityId = fromMap;
      return fromMap;
    }
    const cities = await api("/api/city/cities");
    if (!Array.isArray(cities) || !cities.length) return null;
    const preferred = localStorage.getItem("pingan.city");
    const city = cities.find((c) => String(c.id) === String(preferred)) || cities[0];
    state.cityId = String(city.id);
    return state.cityId;
  }

  async function loadUnits() {
    const id = await cityId();
    const query = id ? `?city_id=${encodeURIComponent(id)}` : "";
    const units = await api(`/api/dispatch/units${query}`);
    state.units = Array.isArray(units) ? units : (units && units.items) || [];
  }

  async function loadMoveUp() {
    const id = await cityId();
    if (!id) return;
    const q = `?city_id=${encodeURIComponent(id)}`;
    const [proposals, posts] = await Promise.all([
      api(`/api/dispatch/move-up${q}`), api(`/api/dispatch/standby-posts${q}`),
    ]);
    state.moveUp = proposals;
    state.posts = Array.isArray(posts) ? posts : [];
  }

  async function acceptMoveUp(proposal) {
    try {
      await api(`/api/dispatch/units/${encodeURIComponent(proposal.unit_id)}/standby`, {
        method: "POST", body: { rank: proposal.post_rank },
      });
      state.moveUpMsg = {
        kind: "ok", key: "move_up.accepted", params: { callsign: short(proposal.callsign), rank: proposal.post_rank },
      };
    } catch (err) {
      state.moveUpMsg = { kind: "error", text: P("error", { message: err.message }) };
    }
    await refresh();
  }

  async function planPosts() {
    try {
      const id = await cityId();
      await api(`/api/dispatch/standby-posts/plan?city_id=${encodeURIComponent(id)}`, { method: "POST" });
      state.moveUpMsg = null;
    } catch (err) {
      state.moveUpMsg = { kind: "error", text: P("error", { message: err.message }) };
    }
    await refresh();
  }

  function moveUpReason(r) {
    const key = `move_up.reason.${r.code}`;
    const text = P(key, r.params || {});
    return text === `dispatch.panel.${key}` ? r.code : text;
  }

  async function loadAlerts() {
    const list = await api("/api/dispatch/alerts?limit=20");
    state.alerts = Array.isArray(list) ? list : [];
  }

  function alertText(a, field) {
    const v = a[field] || {};
    return v[ctx.lang()] || v["zh-CN"] || v.en || "";
  }

  async function alertAction(path, body, okKey, params) {
    try {
      await api(path, { method: "POST", body });
      state.alertMsg = { kind: "ok", key: okKey, params };
    } catch (err) {
      state.alertMsg = { kind: "error", text: P("error", { message: err.message }) };
    }
    await refresh();
  }

  async function openCap(a) {
    try {
      const xml = await api(`/api/dispatch/alerts/${encodeURIComponent(a.id)}/cap`);
      const url = URL.createObjectURL(new Blob([xml], { type: "application/xml" }));
      const link = el("a", null, { href: url, download: `alert-${a.id}.xml`, target: "_blank", rel: "noopener" });
      document.body.append(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(url), 60000);
    } catch (err) {
      state.alertMsg = { kind: "error", text: P("error", { message: err.message }) };
      renderAlerts();
    }
  }

  function renderAlerts() {
    const items = [];
    for (const a of state.alerts) {
      const actions = el("span", "dp-actions");
      const cap = el("button", "dp-link", { type: "button", text: P("alerts.cap"), "data-testid": "alert-cap" });
      cap.addEventListener("click", () => openCap(a));
      actions.append(cap);
      if (mayIssue && a.status === "draft") {
        const issue = el("button", "dp-btn dp-btn-primary dp-btn-small", {
          type: "button", text: P("alerts.issue"), "data-testid": "alert-issue",
        });
        issue.addEventListener("click", () => {
          issue.disabled = true;
          alertAction(`/api/dispatch/alerts/${encodeURIComponent(a.id)}/issue`, undefined, "alerts.issued", { id: a.id });
        });
        actions.append(issue);
      }
      if (mayIssue && (a.status === "issued" || a.status === "updated")) {
        const cancel = el("button", "dp-btn dp-btn-ghost dp-btn-small", {
          type: "button", text: P("alerts.cancel"), "data-testid": "alert-cancel",
        });
        cancel.addEventListener("click", () => {
          cancel.disabled = true;
          alertAction(`/api/dispatch/alerts/${encodeURIComponent(a.id)}/cancel`, {
            reason: CANCEL_REASON,
          }, "alerts.cancelled", { id: a.id });
        });
        actions.append(cancel);
      }
      items.push(el("li", "dp-alert-item", { "data-testid": "alert-row", "data-alert-id": a.id, "data-status": a.status },
        el("span", `dp-pill dp-alert-status is-${a.status}`, { text: P(`alerts.status.${a.status}`) }),
        el("span", "dp-alert-headline", { text: alertText(a, "headline"), title: alertText(a, "description") }),
        el("span", "dp-muted dp-mono", { text: P("alerts.expires", { time: timeText(a.expires_at) }) }),
        actions));
    }
    if (!items.length) items.push(el("li", "dp-empty", { text: P("alerts.empty") }));
    alertsList.replaceChildren(...items);
    const m = state.alertMsg;
    alertsMsg.textContent = m ? (m.key ? P(m.key, m.params) : m.text) : "";
    alertsMsg.dataset.kind = m ? m.kind : "";
    const w = state.alertWhere;
    aWhereText.textContent = w
      ? P(w.source === "pick" ? "alerts.where_pick" : "alerts.where_incident", { lat: w.lat.toFixed(5), lon: w.lon.toFixed(5) })
      : P("alerts.where_none");
    aWhereText.dataset.set = w ? "true" : "false";
    aUseIncident.disabled = !state.detail;
  }

  aUsePick.addEventListener("click", () => {
    if (state.pick) {
      state.alertWhere = { ...state.pick, source: "pick" };
      renderAlerts();
    } else {
      state.picking = true;
      state.alertPicking = true;
      renderPick();
      if (lmap) lmap.getContainer().scrollIntoView({ block: "nearest" });
    }
  });
  aUseIncident.addEventListener("click", () => {
    const inc = state.detail;
    if (inc && inc.lat != null && inc.lon != null) {
      state.alertWhere = { lon: inc.lon, lat: inc.lat, source: "incident", incidentId: inc.id };
      if (!aPlace.value && inc.address) aPlace.value = inc.address;
      renderAlerts();
    }
  });
  alertForm.addEventListener("submit", async (e) => {
    e.preventDefault();
    const w = state.alertWhere || (state.pick ? { ...state.pick, source: "pick" } : null);
    if (!w) {
      state.alertMsg = { kind: "error", key: "alerts.need_where", params: {} };
      renderAlerts();
      return;
    }
    // Expiry from the desk's time: the newest call's time when the simulation runs ahead.
    const newest = Math.max(Date.now(), ...state.incidents.map((i) => Date.parse(i.received_at) || 0));
    const hours = Number(aExpiry.value) || 24;
    const seen = aSeen.value ? new Date(aSeen.value) : new Date(newest);
    const body = {
      city_id: Number(await cityId()),
      kind: "missing_person",
      incident_id: w.incidentId || undefined,
      contact: aContact.value.trim(),
      area: {
        description: aPlace.value.trim() || P("alerts.area_default"),
        circle: { lat: w.lat, lon: w.lon, radius_km: Number(aRadius.value) || 2 },
      },
      person: {
        name: aName.value.trim(),
        age: aAge.value === "" ? null : Number(aAge.value),
        appearance: aLooks.value.trim(),
        last_seen_place: aPlace.value.trim(),
        last_seen_at: seen.toISOString(),
      },
      expires_at: new Date(newest + hours * 3600 * 1000).toISOString(),
    };
    aSubmit.disabled = true;
    try {
      const made = await api("/api/dispatch/alerts", { method: "POST", body });
      state.alertMsg = { kind: "ok", key: "alerts.drafted", params: { id: made.id } };
      alertForm.reset();
      aRadius.value = "2";
      aExpiry.value = "24";
      aContact.value = "110";
      state.alertWhere = null;
    } catch (err) {
      state.alertMsg = { kind: "error", text: P("error", { message: err.message }) };
    } finally {
      aSubmit.disabled = false;
    }
    await refresh();
  });

  let moveUpAll = false;
  function renderMoveUp() {
    const m = state.moveUp;
    const parts = [el("header", "dp-head", {}, el("h4", null, { text: P("move_up.title") })),
      el("p", "dp-muted dp-moveup-basis", { text: P("move_up.hint") })];
    if (m && !m.posts_planned) {
      const plan = el("button", "dp-btn dp-btn-ghost", {
        type: "button", text: P("move_up.plan"), "data-testid": "move-up-plan",
      });
      plan.addEventListener("click", () => planPosts());
      parts.push(el("p", "dp-empty", { text: P("move_up.no_posts") }), plan);
    } else if (m) {
      parts.push(el("p", "dp-muted dp-moveup-basis", {
        text: P(m.basis === "pois" ? "move_up.basis_pois" : "move_up.basis_incidents"),
        "data-testid": "move-up-basis", "data-basis": m.basis || "",
      }));
      if (m.expected_response_s != null && m.expected_response_after_s != null && m.proposals.length) {
        parts.push(el("p", "dp-muted", {
          text: P("move_up.expected", {
            before: Math.round(m.expected_response_s), after: Math.round(m.expected_response_after_s),
          }),
        }));
      }
      const list = el("ul", "dp-moveup-list", { "data-testid": "move-up-list" });
      const shown = moveUpAll ? m.proposals : m.proposals.slice(0, MOVE_UP_SHOWN);
      for (const p of shown) {
        const accept = el("button", "dp-btn dp-btn-primary dp-btn-small", {
          type: "button", text: P("move_up.accept"), "data-testid": "move-up-accept",
          "data-unit-id": p.unit_id,
        });
        accept.addEventListener("click", () => { accept.disabled = true; acceptMoveUp(p); });
        list.append(el("li", "dp-moveup-item", { "data-testid": "move-up-proposal", "data-unit-id": p.unit_id },
          el("span", "dp-moveup-main", {},
            kindIcon(p.kind),
            el("span", "dp-mono", { text: P("move_up.proposal", { callsign: short(p.callsign), rank: p.post_rank }) }),
            el("span", "dp-muted", { text: P("move_up.eta", { eta: clock(p.eta_s) }) }),
            el("span", "dp-moveup-gain", { text: P("move_up.gain", { seconds: Number(p.expected_gain_s).toFixed(1) }) })),
          // drive and gain are on the first line already
          el("span", "dp-moveup-reasons dp-muted", {
            text: (p.reasons || []).filter((r) => !["move_drive", "expected_gain"].includes(r.code))
              .map(moveUpReason).join(" · "),
          }),
          accept));
      }
      if (!m.proposals.length) list.append(el("li", "dp-empty", { text: P("move_up.none") }));
      parts.push(list);
      if (m.proposals.length > MOVE_UP_SHOWN) {
        const more = el("button", "dp-link dp-moveup-more", {
          type: "button", "data-testid": "move-up-more",
          text: moveUpAll ? P("move_up.fewer") : P("move_up.more", { count: m.proposals.length - MOVE_UP_SHOWN }),
        });
        more.addEventListener("click", () => { moveUpAll = !moveUpAll; renderMoveUp(); });
        parts.push(more);
      }
      if ((m.held_by_limit || []).length) {
        parts.push(el("p", "dp-muted", {
          text: P("move_up.held", { callsigns: m.held_by_limit.map(short).join(", ") }),
        }));
      }
    }
    const msg = state.moveUpMsg;
    if (msg) {
      parts.push(el("p", "dp-msg", {
        text: msg.key ? P(msg.key, msg.params) : msg.text, "data-kind": msg.kind, role: "status",
        "data-testid": "move-up-msg",
      }));
    }
    moveUpBox.replaceChildren(...parts);
  }

  async function loadIncidents() {
    const list = await api("/api/dispatch/incidents?status=open&limit=200");
    state.incidents = Array.isArray(list) ? list : (list && list.items) || [];
  }

  async function loadDetail() {
    if (state.selectedId === null) {
      state.detail = null;
      return;
    }
    state.detail = await api(`/api/dispatch/incidents/${encodeURIComponent(state.selectedId)}`);
  }

  async function loadStats() {
    try {
      state.stats = await api("/api/dispatch/statistics/response-times");
    } catch (err) {
      state.stats = { error: err.message };
    }
  }

  let refreshing = null;
  let again = false;
  async function refresh() {
    if (refreshing) {
      again = true;
      return refreshing;
    }
    refreshing = (async () => {
      try {
        const results = await Promise.allSettled([loadUnits(), loadIncidents(), loadDetail(), loadStats(), loadMoveUp(), loadAlerts()]);
        for (const r of results) if (r.status === "rejected") console.error("dispatch panel", r.reason);
        renderAll();
      } finally {
        refreshing = null;
      }
      if (again) {
        again = false;
        await refresh();
      }
    })();
    return refreshing;
  }

  async function select(id) {
    if (String(state.selectedId) !== String(id)) {
      state.override = null;
      state.closing = null;
      state.message = null;
    }
    state.selectedId = id;
    try {
      await loadDetail();
    } catch (err) {
      state.message = { kind: "error", text: P("error", { message: err.message }) };
    }
    renderAll();
  }

  // ---------------------------------------------------------------- actions
  let formMsgKey = null;
  function setFormMessage(kind, text, key = null, params = {}) {
    // A message given by key is re-translated when the language changes.
    formMsgKey = key ? { kind, key, params } : null;
    formMsg.textContent = text || "";
    formMsg.dataset.kind = kind || "";
    formMsg.hidden = !text;
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const text = textArea.value.trim();
    const addr = address.value.trim();
    if (!text) {
      setFormMessage("error", P("intake.need_text"), "intake.need_text");
      return;
    }
    if (!state.pick && !addr) {
      setFormMessage("error", P("intake.need_location"), "intake.need_location");
      return;
    }
    const body = { text, source: "page" };
    if (state.pick) {
      body.lon = state.pick.lon;
      body.lat = state.pick.lat;
    }
    if (addr) body.address = addr;
    if (phone.value.trim()) body.caller_phone = phone.value.trim();
    submit.disabled = true;
    const started = performance.now();
    try {
      const inc = await api("/api/dispatch/incidents", { method: "POST", body });
      const ms = Math.round(performance.now() - started);
      setFormMessage("ok", P("intake.done", { id: inc.id, ms }), "intake.done", { id: inc.id, ms });
      textArea.value = "";
      address.value = "";
      phone.value = "";
      state.pick = null;
      renderPick();
      state.selectedId = inc.id;
      state.detail = inc;
      state.override = null;
      state.closing = null;
      state.message = null;
      await refresh();
    } catch (err) {
      setFormMessage("error", err.message);
    } finally {
      submit.disabled = false;
    }
  });

  async function dispatchUnits(unitIds, overrideReason) {
    const inc = state.detail;
    if (!inc) return;
    const body = { unit_ids: unitIds };
    if (overrideReason !== undefined) body.override_reason = overrideReason;
    state.busy = true;
    state.message = null;
    renderDetail();
    try {
      state.detail = await api(`/api/dispatch/incidents/${encodeURIComponent(inc.id)}/dispatch`, {
        method: "POST", body,
      });
      state.override = null;
    } catch (err) {
      state.message = {
        kind: "error", text: err.message, field: err.field || null, code: err.code || null,
      };
    } finally {
      state.busy = false;
    }
    await refresh();
  }

  async function setUnitStatus(unitId, status) {
    try {
      await api(`/api/dispatch/units/${encodeURIComponent(unitId)}/status`, {
        method: "POST", body: { status },
      });
      if (String(state.timelineUnit) === String(unitId)) await loadTimeline(unitId);
    } catch (err) {
      state.message = { kind: "error", text: P("error", { message: err.message }) };
    }
    await refresh();
  }

  /** Task cameras to look at an incident, or release them (cameras are never dispatched). */
  async function cameraTask(incidentId, unitIds, release = false) {
    const path = `/api/dispatch/incidents/${encodeURIComponent(incidentId)}/cameras${release ? "/release" : ""}`;
    try {
      const inc = await api(path, { method: "POST", body: { unit_ids: unitIds } });
      if (state.detail && String(state.detail.id) === String(inc.id)) state.detail = inc;
      state.message = null;
    } catch (err) {
      state.message = { kind: "error", text: err.message, field: err.field || null };
    }
    await refresh();
  }

  function staleText(u) {
    const min = staleMinutes(u.position_at);
    return min === null ? P("stale") : P("stale_for", { min });
  }

  /** The camera's buttons on the board: task it to the selected incident, or release it. */
  function cameraButtons(u) {
    const box = el("span", "dp-actions");
    const inc = state.detail;
    if (!inc || inc.status === "closed") return box;
    const watching = (u.tasked_incidents || []).map(String).includes(String(inc.id));
    const b = el("button", `dp-btn dp-btn-xs ${watching ? "dp-act-release" : "dp-act-task"}`, {
      type: "button", text: P(watching ? "camera.release" : "camera.task"),
      "data-testid": watching ? "camera-release-btn" : "camera-task-btn", "data-unit-id": u.id,
      title: `#${inc.id}`,
    });
    b.addEventListener("click", (e) => {
      e.stopPropagation();
      b.disabled = true;
      cameraTask(inc.id, [u.id], watching);
    });
    box.append(b);
    return box;
  }

  async function closeIncident(outcome) {
    const inc = state.detail;
    if (!inc) return;
    try {
      state.detail = await api(`/api/dispatch/incidents/${encodeURIComponent(inc.id)}/close`, {
        method: "POST", body: { outcome },
      });
      state.closing = null;
    } catch (err) {
      state.message = { kind: "error", text: err.message, field: err.field || null };
    }
    await refresh();
  }

  async function loadTimeline(unitId) {
    try {
      const data = await api(`/api/dispatch/units/${encodeURIComponent(unitId)}/timeline`);
      state.timeline = Array.isArray(data) ? data : (data && (data.items || data.entries)) || [];
    } catch (err) {
      state.timeline = { error: err.message };
    }
  }

  // ---------------------------------------------------------------- rendering
  function chip(priority) {
    return el("span", `dp-pri dp-pri-${String(priority || "").toLowerCase()}`, {
      text: priority || "—", "data-testid": "priority-chip", "data-priority": priority,
    });
  }

  function statusPill(status, kind = "unit") {
    const key = kind === "unit" ? `status.${status}` : `incident_status.${status}`;
    return el("span", `dp-status dp-status-${status}`, {
      text: P(key), "data-status": status,
    });
  }

  function kindIcon(kind) {
    const node = el("span", `dp-kind dp-kind-${kind}`, { title: P(`kind.${kind}`), "data-kind": kind });
    node.append(svgGlyph(kind));
    return node;
  }

  function ageCell(iso) {
    const s = since(iso);
    return el("span", "dp-age", { "data-since": iso || "", text: s === null ? "—" : clock(s) });
  }

  function districtName(d) {
    if (!d) return P("no_district");
    if (typeof d === "string") return d;
    return d.name || d.code || String(d.id);
  }

  function renderQueue() {
    const rows = [...state.incidents].filter((i) => OPEN_STATUSES.has(i.status) || i.status === "duplicate");
    rows.sort((a, b) => priorityRank(a.priority) - priorityRank(b.priority)
      || String(a.received_at).localeCompare(String(b.received_at)));
    const head = el("header", "dp-head", {},
      el("h4", null, { text: P("queue.title") }),
      el("span", "dp-count", { text: String(rows.length), "data-testid": "dispatch-queue-count" }));
    const table = el("table", "dp-table dp-queue-table", { "data-testid": "dispatch-queue-table" });
    const thead = el("thead", null, {}, el("tr", null, {},
      ...["priority", "id", "type", "district", "units", "age", "status"].map((c) =>
        el("th", `dp-c-${c}`, { text: P(`col.${c}`) }))));
    const tbody = el("tbody");
    for (const inc of rows) {
      const tr = el("tr", `dp-incident${String(inc.id) === String(state.selectedId) ? " is-selected" : ""}`, {
        "data-testid": "incident-row", "data-incident-id": inc.id, "data-status": inc.status,
        "data-priority": inc.priority, tabindex: 0,
      });
      const typeCell = el("td", "dp-c-type", {},
        el("span", "dp-type", { text: incidentLabel(inc), "data-testid": "incident-type" }));
      if (inc.police === false) typeCell.append(el("span", "dp-tag dp-tag-np", { text: P("non_police") }));
      if (inc.unclear) typeCell.append(el("span", "dp-tag dp-tag-unclear", { text: P("unclear") }));
      if (inc.duplicate_of !== null && inc.duplicate_of !== undefined) {
        const dup = el("button", "dp-tag dp-tag-dup", {
          type: "button", text: P("duplicate_of", { id: inc.duplicate_of }),
          "data-testid": "duplicate-badge", "data-original": inc.duplicate_of,
        });
        dup.addEventListener("click", (e) => {
          e.stopPropagation();
          select(inc.duplicate_of);
        });
        typeCell.append(dup);
      } else if ((inc.duplicates || []).length) {
        const best = inc.duplicates[0];
        const dup = el("button", "dp-tag dp-tag-dup", {
          type: "button", text: P("duplicate_of", { id: best.incident_id }),
          "data-testid": "duplicate-badge", "data-original": best.incident_id,
        });
        dup.addEventListener("click", (e) => {
          e.stopPropagation();
          select(best.incident_id);
        });
        typeCell.append(dup);
      }
      const units = (inc.units || []).map((u) => short(u.callsign)).join(" ");
      tr.append(
        el("td", "dp-c-priority", {}, chip(inc.priority)),
        el("td", "dp-c-id dp-mono", { text: `#${inc.id}` }),
        typeCell,
        el("td", "dp-c-district", { text: districtName(inc.district) }),
        el("td", "dp-c-units dp-mono", { text: units || "—", title: units }),
        el("td", "dp-c-age dp-mono", {}, ageCell(inc.received_at)),
        el("td", "dp-c-status", {}, statusPill(inc.status, "incident"), overdueBadge(inc)),
      );
      tr.addEventListener("click", () => select(inc.id));
      tr.addEventListener("keydown", (e) => { if (e.key === "Enter") select(inc.id); });
      tbody.append(tr);
    }
    table.append(thead, tbody);
    const body = rows.length ? el("div", "dp-scroll", {}, table)
      : el("p", "dp-empty", { text: P("queue.empty"), "data-testid": "dispatch-queue-empty" });
    queue.replaceChildren(head, body);
  }

  function reasonParams(code, params) {
    const out = { ...params };
    const units = unitById();
    if (params.seconds !== undefined) out.eta = clock(params.seconds);
    if (params.metres !== undefined) {
      out.km = (Number(params.metres) / 1000).toFixed(1);
      out.metres = Math.round(Number(params.metres));
    }
    if (params.endurance_s !== undefined) out.endurance = Math.round(Number(params.endurance_s) / 60);
    if (params.needed_s !== undefined) out.needed = Math.round(Number(params.needed_s) / 60);
    if (params.kind !== undefined) out.kind = P(`kind.${params.kind}`);
    if (code === "district_cover_cost") out.cost = clock(params.seconds);
    if (params.seconds_slower !== undefined) out.slower = clock(params.seconds_slower);
    if (params.faster_unit !== undefined) {
      const u = units.get(String(params.faster_unit));
      out.faster = u ? short(u.callsign) : `#${params.faster_unit}`;
    }
    return out;
  }

  function reasonText(code, params) {
    const key = `dispatch.panel.reason.${code}`;
    const text = tr(key, reasonParams(code, params || {}));
    if (text !== key) return text;
    const extra = Object.entries(params || {}).map(([k, v]) => `${k}=${v}`).join(", ");
    return extra ? `${code} (${extra})` : code;
  }

  function timeText(iso) {
    if (!iso) return "—";
    const d = new Date(iso);
    if (Number.isNaN(d.getTime())) return "—";
    return new Intl.DateTimeFormat(ctx.lang(), {
      hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false,
    }).format(d);
  }

  function statusButtons(unit) {
    const box = el("span", "dp-actions");
    for (const next of NEXT_STATUS[unit.status] || []) {
      const b = el("button", `dp-btn dp-btn-xs dp-act-${next}`, {
        type: "button", text: P(`action.${next}`), "data-testid": "unit-status-btn",
        "data-unit-id": unit.id, "data-status": next,
      });
      b.addEventListener("click", (e) => {
        e.stopPropagation();
        b.disabled = true;
        setUnitStatus(unit.id, next);
      });
      box.append(b);
    }
    return box;
  }

  function renderDetail() {
    const inc = state.detail;
    const head = el("header", "dp-head", {}, el("h4", null, { text: P("detail.title") }));
    if (!inc) {
      detail.replaceChildren(head, el("p", "dp-empty", { text: P("detail.none") }));
      detail.dataset.incidentId = "";
      return;
    }
    detail.dataset.incidentId = String(inc.id);
    detail.dataset.status = inc.status;
    head.append(el("span", "dp-mono dp-muted", { text: `#${inc.id}` }));
    const title = el("div", "dp-detail-title", {},
      chip(inc.priority),
      el("span", "dp-detail-type", { text: incidentLabel(inc), "data-testid": "detail-type" }),
      el("span", `dp-tag ${inc.police === false ? "dp-tag-np" : "dp-tag-police"}`, {
        text: P(inc.police === false ? "non_police" : "police"),
      }),
      inc.unclear ? el("span", "dp-tag dp-tag-unclear", { text: P("unclear") }) : null,
      statusPill(inc.status, "incident"),
    );
    const facts = el("dl", "dp-facts", {},
      el("dt", null, { text: P("col.district") }), el("dd", null, { text: districtName(inc.district) }),
      el("dt", null, { text: P("detail.address") }),
      el("dd", null, { text: inc.address || (inc.lat != null ? `${Number(inc.lat).toFixed(5)}, ${Number(inc.lon).toFixed(5)}` : "—") }),
      el("dt", null, { text: P("detail.received") }),
      el("dd", "dp-mono", {}, timeText(inc.received_at), " · ", ageCell(inc.received_at)),
      inc.caller_phone ? el("dt", null, { text: P("detail.caller") }) : null,
      inc.caller_phone ? el("dd", "dp-mono", { text: inc.caller_phone }) : null,
      inc.dispatched_at ? el("dt", null, { text: P("detail.dispatched") }) : null,
      inc.dispatched_at ? el("dd", "dp-mono", { text: timeText(inc.dispatched_at) }) : null,
      inc.first_arrival_at ? el("dt", null, { text: P("detail.first_arrival") }) : null,
      inc.first_arrival_at ? el("dd", "dp-mono", { text: timeText(inc.first_arrival_at) }) : null,
      inc.closed_at ? el("dt", null, { text: P("detail.closed") }) : null,
      inc.closed_at ? el("dd", "dp-mono", { text: timeText(inc.closed_at) }) : null,
    );
    const callText = inc.text ? el("blockquote", "dp-call-text", { text: inc.text, lang: "zh-CN" }) : null;

    const triage = el("ul", "dp-reasons", { "data-testid": "triage-reasons" });
    for (const r of inc.triage_reasons || []) {
      let rule;
      let text;
      if (Array.isArray(r)) [rule, text] = r;
      else if (r && typeof r === "object") ({ rule, text } = { rule: r.rule || r.code, text: r.text || r.match });
      else text = String(r);
      triage.append(el("li", null, {
        text: rule ? P("detail.triage_rule", { text, rule }) : text,
      }));
    }

    const parts = [head, title, callText, facts];
    if ((inc.triage_reasons || []).length) {
      parts.push(el("h5", null, { text: P("detail.triage") }), triage);
    }
    if ((inc.duplicates || []).length) {
      const list = el("ul", "dp-reasons dp-dups", { "data-testid": "detail-duplicates" });
      for (const d of inc.duplicates) {
        const link = el("button", "dp-link", {
          type: "button", text: P("detail.duplicate_row", { id: d.incident_id, score: Number(d.score).toFixed(2) }),
        });
        link.addEventListener("click", () => select(d.incident_id));
        list.append(el("li", null, {}, link,
          el("span", "dp-muted", { text: ` ${(d.reasons || []).join("; ")}` })));
      }
      parts.push(el("h5", null, { text: P("detail.duplicates") }), list);
    }

    // Units already on the incident, with their next-status buttons.
    const assigned = inc.units || [];
    const units = unitById();
    if (assigned.length) {
      const list = el("ul", "dp-assigned", { "data-testid": "detail-units" });
      for (const a of assigned) {
        const live = units.get(String(a.unit_id)) || {};
        const status = live.incident_id !== undefined && String(live.incident_id) !== String(inc.id)
          ? a.status : (live.status || a.status);
        const kind = live.kind || a.kind;
        list.append(el("li", "dp-assigned-row", {
          "data-testid": "detail-unit", "data-unit-id": a.unit_id, "data-status": status,
        },
        kindIcon(kind),
        callsignEl(a.callsign || live.callsign, `#${a.unit_id}`),
        statusPill(status),
        el("span", "dp-mono dp-muted", {
          text: a.arrived_at ? `${timeText(a.dispatched_at)} → ${timeText(a.arrived_at)}` : timeText(a.dispatched_at),
        }),
        inc.status !== "closed" ? statusButtons({ id: a.unit_id, status }) : null));
      }
      parts.push(el("h5", null, { text: P("detail.assigned") }), list);
      if (inc.override_reason) {
        parts.push(el("p", "dp-note", {
          text: P("detail.override_reason", { reason: inc.override_reason }),
          "data-testid": "detail-override-reason",
        }));
      }
    }

    // Cameras watching the incident (video patrol): tasked, never dispatched.
    const watching = (inc.cameras || []).filter((c) => !c.released_at);
    if (watching.length) {
      const list = el("ul", "dp-assigned", { "data-testid": "detail-cameras" });
      for (const c of watching) {
        const release = el("button", "dp-btn dp-btn-xs dp-act-release", {
          type: "button", text: P("camera.release"), "data-testid": "camera-release-btn",
          "data-unit-id": c.unit_id,
        });
        release.addEventListener("click", () => {
          release.disabled = true;
          cameraTask(inc.id, [c.unit_id], true);
        });
        list.append(el("li", "dp-assigned-row", { "data-testid": "detail-camera", "data-unit-id": c.unit_id },
          kindIcon("camera"), callsignEl(c.callsign, `#${c.unit_id}`),
          el("span", "dp-mono dp-muted", { text: timeText(c.tasked_at) }),
          inc.status !== "closed" ? el("span", "dp-actions", {}, release) : null));
      }
      parts.push(el("h5", null, { text: P("camera.tasked_title") }), list);
    }

    // Recommendations.
    const recs = inc.recommendations || [];
    const canDispatch = inc.status === "new" || inc.status === "dispatched" || inc.status === "on_scene";
    if (canDispatch && inc.status === "new") {
      parts.push(el("h5", null, { text: P("detail.recommendations") }));
      if (recs.length) {
        const list = el("ol", "dp-recs", { "data-testid": "recommendations" });
        for (const r of recs) {
          const reasons = pairs(r.reasons).filter(([code]) => code);
          list.append(el("li", "dp-rec", {
            "data-testid": "recommendation", "data-unit-id": r.unit_id,
          },
          el("div", "dp-rec-main", {},
            kindIcon(r.kind),
            callsignEl(r.callsign, `#${r.unit_id}`),
            el("span", "dp-muted dp-rec-kind", { text: P(`kind.${r.kind}`) }),
            el("span", "dp-eta", { title: P("eta") },
              el("span", "dp-eta-label", { text: P("eta") }),
              el("span", "dp-mono", { text: clock(r.eta_s), "data-testid": "recommendation-eta" }))),
          el("div", "dp-rec-why", { "data-testid": "recommendation-reasons" },
            ...reasons.map(([code, params]) => el("span", `dp-why dp-why-${code}`, {
              text: reasonText(code, params), "data-code": code,
            })))));
        }
        parts.push(list);
      } else {
        parts.push(el("p", "dp-empty", { text: P("detail.no_recommendations") }));
      }
    }

    // Actions: accept (one click), override, close.
    if (inc.status !== "closed" && inc.status !== "duplicate") {
      const actions = el("div", "dp-detail-actions");
      if (inc.status === "new" && recs.length) {
        const accept = el("button", "dp-btn dp-btn-primary", {
          type: "button", id: "dispatch-accept", "data-testid": "dispatch-accept",
          text: P("accept", { count: recs.length }), disabled: state.busy,
        });
        accept.addEventListener("click", () => dispatchUnits(recs.map((r) => r.unit_id)));
        actions.append(accept);
      }
      const overrideBtn = el("button", `dp-btn${state.override ? " is-on" : ""}`, {
        type: "button", id: "dispatch-override", "data-testid": "dispatch-override", text: P("override.open"),
      });
      overrideBtn.addEventListener("click", () => {
        state.override = state.override ? null : { selected: new Set(), reason: "" };
        state.message = null;
        renderDetail();
      });
      actions.append(overrideBtn);
      const closeBtn = el("button", `dp-btn dp-btn-ghost${state.closing ? " is-on" : ""}`, {
        type: "button", "data-testid": "dispatch-close", text: P("close.open"),
      });
      closeBtn.addEventListener("click", () => {
        state.closing = state.closing ? null : { outcome: "" };
        renderDetail();
      });
      actions.append(closeBtn);
      parts.push(actions);
    }

    if (state.override && inc.status !== "closed") parts.push(overrideBox(inc));
    if (state.closing && inc.status !== "closed") parts.push(closeBox());
    parts.push(...transferParts(inc), ...followUpParts(inc)); // non-police linkage, follow-ups
    if (state.message) {
      parts.push(el("p", `dp-msg dp-msg-${state.message.kind}`, {
        text: state.message.text, role: "alert", "data-testid": "dispatch-error",
        "data-field": state.message.field || "",
      }));
    }
    detail.replaceChildren(...parts.filter(Boolean));
  }

  function overrideBox(inc) {
    const o = state.override;
    const recIds = new Set((inc.recommendations || []).map((r) => String(r.unit_id)));
    const assigned = new Set((inc.units || []).map((u) => String(u.unit_id)));
    const candidates = state.units.filter((u) => u.status === "available" && !assigned.has(String(u.id)));
    candidates.sort((a, b) => (recIds.has(String(b.id)) - recIds.has(String(a.id)))
      || KINDS.indexOf(a.kind) - KINDS.indexOf(b.kind) || String(a.callsign).localeCompare(String(b.callsign)));
    const box = el("div", "dp-override", { "data-testid": "override-box" });
    box.append(el("h5", null, { text: P("override.title") }));
    const list = el("div", "dp-override-list");
    for (const u of candidates) {
      const input = el("input", null, {
        type: "checkbox", value: u.id, "data-testid": "override-unit", "data-unit-id": u.id,
        checked: o.selected.has(String(u.id)),
      });
      input.addEventListener("change", () => {
        if (input.checked) o.selected.add(String(u.id));
        else o.selected.delete(String(u.id));
      });
      list.append(el("label", `dp-override-unit${u.stale ? " is-stale" : ""}`, {},
        input, kindIcon(u.kind), callsignEl(u.callsign, `#${u.id}`),
        recIds.has(String(u.id)) ? el("span", "dp-tag", { text: P("override.recommended") }) : null,
        u.stale ? el("span", "dp-stale-badge", { text: P("stale") }) : null));
    }
    const reason = el("textarea", `dp-input${state.message && state.message.field === "override_reason" ? " is-invalid" : ""}`, {
      rows: 2, id: "dispatch-override-reason", "data-testid": "override-reason",
    });
    reason.value = o.reason;
    reason.addEventListener("input", () => { o.reason = reason.value; });
    const go = el("button", "dp-btn dp-btn-warn", {
      type: "button", "data-testid": "override-submit", text: P("override.submit"), disabled: state.busy,
    });
    go.addEventListener("click", () => {
      const ids = [...o.selected];
      if (!ids.length) {
        state.message = { kind: "error", text: P("override.none_selected") };
        renderDetail();
        return;
      }
      const byId = unitById();
      // The server decides what is an override and whether the reason is missing.
      dispatchUnits(ids.map((id) => (byId.get(id) ? byId.get(id).id : id)), o.reason.trim());
    });
    const cancel = el("button", "dp-btn dp-btn-ghost", { type: "button", text: P("override.cancel") });
    cancel.addEventListener("click", () => {
      state.override = null;
      state.message = null;
      renderDetail();
    });
    box.append(list,
      el("label", "dp-field", {}, el("span", "dp-label", { text: P("override.reason") }), reason),
      el("div", "dp-row", {}, go, cancel));
    return box;
  }

  function closeBox() {
    const c = state.closing;
    const box = el("div", "dp-override dp-closing", { "data-testid": "close-box" });
    const input = el("input", "dp-input", { "data-testid": "close-outcome" });
    input.value = c.outcome;
    input.addEventListener("input", () => { c.outcome = input.value; });
    const go = el("button", "dp-btn dp-btn-warn", {
      type: "button", "data-testid": "close-submit", text: P("close.submit"),
    });
    go.addEventListener("click", () => closeIncident(c.outcome.trim()));
    box.append(el("label", "dp-field", {}, el("span", "dp-label", { text: P("close.outcome") }), input),
      el("div", "dp-row", {}, go));
    return box;
  }

  // ---------------------------------------------- non-police linkage (非警务联动) and follow-ups
  const DISPUTE_TYPES = new Set(["neighbour_dispute", "domestic_violence", "fight"]);
  const link = { departments: null, transfer: null, followUp: null, classify: null, callTypes: null };

  function deptName(d) {
    if (!d) return "—";
    const name = d.name || {};
    return name[ctx.lang()] || name["zh-CN"] || name.en || d.code;
  }

  function dateTimeText(iso) {
    if (!iso) return "—";
    const d = new Date(iso);
    if (Number.isNaN(d.getTime())) return "—";
    return new Intl.DateTimeFormat(ctx.lang(), {
      month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", hour12: false,
    }).format(d);
  }

  function overdueBadge(inc) {
    const t = inc && inc.transfer;
    const late = (t && t.overdue && (t.status === "transferred" || t.status === "acknowledged"))
      || (inc && inc.follow_up && inc.follow_up.status === "open" && inc.follow_up.overdue_visits > 0);
    if (!late) return null;
    return el("span", "dp-tag dp-tag-overdue", {
      text: P("linkage.overdue"), "data-testid": "overdue-badge",
      style: "border-color:#8b2b2b;color:#ff9b9b",
    });
  }

  async function loadDepartments() {
    if (link.departments) return link.departments;
    try {
      const list = await api("/api/dispatch/departments");
      link.departments = Array.isArray(list) ? list : [];
    } catch (err) {
      link.departments = [];
    }
    return link.departments;
  }

  /** Re-classification (研判定性) of an unclear call: the only way it leaves the first desk. */
  function classifyBox(inc) {
    if (!link.classify || link.classify.incidentId !== inc.id) {
      link.classify = { incidentId: inc.id, callType: "", reason: "" };
    }
    const f = link.classify;
    const picker = el("select", "dp-input", { "data-testid": "classify-type" });
    picker.append(el("option", null, { value: "", text: P("classify.pick") }));
    for (const ct of link.callTypes || []) {
      const name = (ct.label && (ct.label[ctx.lang()] || ct.label["zh-CN"])) || ct.id;
      picker.append(el("option", null, {
        value: ct.id, selected: ct.id === f.callType,
        text: `${name} · ${ct.priority} · ${P(ct.police ? "classify.police" : "classify.non_police")}`,
      }));
    }
    if (!link.callTypes) {
      api("/api/dispatch/run-cards").then((list) => {
        link.callTypes = Array.isArray(list) ? list : [];
        renderDetail();
      }).catch(() => { link.callTypes = []; });
    }
    picker.addEventListener("change", () => { f.callType = picker.value; renderDetail(); });
    const reason = el("input", "dp-input", { "data-testid": "classify-reason", placeholder: P("classify.reason") });
    reason.value = f.reason;
    reason.addEventListener("input", () => { f.reason = reason.value; });
    const go = el("button", "dp-btn dp-btn-primary", {
      type: "button", "data-testid": "classify-submit", text: P("classify.submit"),
      disabled: state.busy || !f.callType,
    });
    go.addEventListener("click", () => {
      if (!f.reason.trim()) {
        state.message = { kind: "error", text: P("classify.need_reason") };
        renderDetail();
        return;
      }
      linkageAction(`/api/dispatch/incidents/${encodeURIComponent(inc.id)}/classify`,
        { call_type: f.callType, reason: f.reason.trim() }, () => { link.classify = null; });
    });
    return el("div", "dp-override", { "data-testid": "classify-box" },
      el("label", "dp-field", {}, el("span", "dp-label", { text: P("classify.type") }), picker),
      el("label", "dp-field", {}, el("span", "dp-label", { text: P("classify.reason") }), reason),
      el("div", "dp-row", {}, go));
  }

  async function linkageAction(path, body, onDone) {
    state.busy = true;
    state.message = null;
    renderDetail();
    try {
      const result = await api(path, { method: "POST", body });
      if (onDone) onDone(result);
    } catch (err) {
      state.message = { kind: "error", text: err.message, field: err.field || null };
    } finally {
      state.busy = false;
    }
    await refresh();
  }

  function transferParts(inc) {
    const parts = [el("h5", null, { text: P("linkage.title") })];
    const t = inc.transfer;
    if (t) {
      const facts = el("dl", "dp-facts", { "data-testid": "transfer-info", "data-status": t.status },
        el("dt", null, { text: P("linkage.department") }),
        el("dd", null, {}, el("span", null, { text: deptName(t.department) }), " ",
          el("span", "dp-tag", { text: P(`linkage.status.${t.status}`), "data-testid": "transfer-status" }),
          overdueBadge({ transfer: t })),
        el("dt", null, { text: P("linkage.ack") }),
        el("dd", "dp-mono", {
          text: t.acknowledged_at ? P("linkage.acknowledged_at", { time: dateTimeText(t.acknowledged_at) })
            : `${P("linkage.not_acknowledged")} · ${P("linkage.ack_due", { time: dateTimeText(t.ack_due_at) })}`,
        }),
        el("dt", null, { text: P("linkage.feedback") }),
        el("dd", "dp-mono", { text: P("linkage.feedback_due", { time: dateTimeText(t.feedback_due_at) }) }));
      parts.push(facts);
      if (t.ack_overdue) parts.push(el("p", "dp-note", { text: P("linkage.ack_overdue") }));
      if (t.feedback_overdue) parts.push(el("p", "dp-note", { text: P("linkage.feedback_overdue") }));
      if (t.status === "returned" && t.returned_reason) {
        parts.push(el("p", "dp-note", {
          text: P("linkage.returned", { department: deptName(t.department), reason: t.returned_reason }),
          "data-testid": "transfer-returned",
        }));
      }
      if (t.status === "resolved" && t.outcome) {
        parts.push(el("p", "dp-note", { text: P("linkage.outcome", { outcome: t.outcome }) }));
      }
    }
    if (inc.status !== "new") return parts.length > 1 ? parts : [];
    if (inc.unclear) {
      parts.push(el("p", "dp-note", { text: P("linkage.unclear"), "data-testid": "transfer-unclear" }));
      parts.push(classifyBox(inc));
      return parts;
    }
    if (inc.police !== false) return parts.length > 1 ? parts : [];
    const suggested = inc.suggested_department;
    if (!link.transfer || link.transfer.incidentId !== inc.id) {
      link.transfer = { incidentId: inc.id, department: suggested ? suggested.code : "", note: "" };
    }
    const f = link.transfer;
    const picker = el("select", "dp-input", { "data-testid": "transfer-department" });
    const options = link.departments || (suggested ? [suggested] : []);
    for (const d of options) {
      picker.append(el("option", null, {
        value: d.code, text: deptName(d), selected: d.code === f.department,
      }));
    }
    if (!link.departments) loadDepartments().then(() => renderDetail());
    picker.addEventListener("change", () => { f.department = picker.value; renderDetail(); });
    const note = el("input", "dp-input", { "data-testid": "transfer-note", placeholder: P("linkage.note") });
    note.value = f.note;
    note.addEventListener("input", () => { f.note = note.value; });
    const chosen = options.find((d) => d.code === f.department) || suggested;
    const go = el("button", "dp-btn dp-btn-primary", {
      type: "button", "data-testid": "transfer-submit", disabled: state.busy || !f.department,
      text: P("linkage.transfer", { department: deptName(chosen) }),
    });
    go.addEventListener("click", () => linkageAction(
      `/api/dispatch/incidents/${encodeURIComponent(inc.id)}/transfer`,
      { department: f.department || null, note: f.note.trim() },
      () => { link.transfer = null; },
    ));
    if (suggested) {
      parts.push(el("p", "dp-muted", {
        text: `${P("linkage.suggested")}: ${deptName(suggested)}`, "data-testid": "suggested-department",
      }));
    } else {
      parts.push(el("p", "dp-note", { text: P("linkage.no_department") }));
    }
    parts.push(el("div", "dp-override", { "data-testid": "transfer-box" },
      el("label", "dp-field", {}, el("span", "dp-label", { text: P("linkage.department") }), picker),
      el("label", "dp-field", {}, el("span", "dp-label", { text: P("linkage.note") }), note),
      el("div", "dp-row", {}, go)));
    return parts;
  }

  function followUpParts(inc) {
    const c = inc.follow_up;
    const parts = [];
    if (c) {
      parts.push(el("h5", null, { text: P("follow_up.title") }));
      parts.push(el("p", "dp-muted", {
        "data-testid": "follow-up-info", "data-status": c.status,
        text: [
          P("follow_up.case", { id: c.id, assignee: c.assignee, done: c.visits_done, total: c.visits }),
          c.status === "closed" ? P("follow_up.closed")
            : c.next_visit_at ? P("follow_up.next_visit", { time: dateTimeText(c.next_visit_at) }) : null,
          c.overdue_visits ? P("follow_up.overdue_visits", { count: c.overdue_visits }) : null,
        ].filter(Boolean).join(" · "),
      }));
      if (c.status === "open") return parts;
    }
    if (!DISPUTE_TYPES.has(inc.call_type) || inc.status === "duplicate") return parts;
    const f = link.followUp && link.followUp.incidentId === inc.id ? link.followUp : null;
    if (!f) {
      const open = el("button", "dp-btn", {
        type: "button", "data-testid": "follow-up-open", text: P("follow_up.open"),
      });
      open.addEventListener("click", () => {
        link.followUp = { incidentId: inc.id, assignee: "", summary: inc.text || "", visits: [""] };
        renderDetail();
      });
      if (!c) parts.push(el("h5", null, { text: P("follow_up.title") }));
      parts.push(el("div", "dp-detail-actions", {}, open));
      return parts;
    }
    const assignee = el("input", "dp-input", { "data-testid": "follow-up-assignee" });
    assignee.value = f.assignee;
    assignee.addEventListener("input", () => { f.assignee = assignee.value; });
    const summary = el("textarea", "dp-input", { rows: 2, "data-testid": "follow-up-summary" });
    summary.value = f.summary;
    summary.addEventListener("input", () => { f.summary = summary.value; });
    const visits = el("div", "dp-row");
    f.visits.forEach((value, i) => {
      const input = el("input", "dp-input", { type: "datetime-local", "data-testid": "follow-up-visit" });
      input.value = value;
      input.addEventListener("input", () => { f.visits[i] = input.value; });
      visits.append(input);
    });
    const add = el("button", "dp-btn dp-btn-ghost", { type: "button", text: P("follow_up.add_visit") });
    add.addEventListener("click", () => { f.visits.push(""); renderDetail(); });
    visits.append(add);
    const go = el("button", "dp-btn dp-btn-primary", {
      type: "button", "data-testid": "follow-up-submit", text: P("follow_up.submit"), disabled: state.busy,
    });
    go.addEventListener("click", () => {
      // datetime-local is the dispatcher's local time; the API takes aware timestamps.
      const times = f.visits.filter(Boolean).map((v) => new Date(v)).filter((d) => !Number.isNaN(d.getTime()));
      if (!f.assignee.trim() || !f.summary.trim() || !times.length) {
        state.message = { kind: "error", text: P("follow_up.need_fields") };
        renderDetail();
        return;
      }
      linkageAction(`/api/dispatch/incidents/${encodeURIComponent(inc.id)}/follow-up`, {
        assignee: f.assignee.trim(), summary: f.summary.trim(), visits: times.map((d) => d.toISOString()),
      }, () => { link.followUp = null; });
    });
    const cancel = el("button", "dp-btn dp-btn-ghost", { type: "button", text: P("follow_up.cancel") });
    cancel.addEventListener("click", () => { link.followUp = null; state.message = null; renderDetail(); });
    if (!c) parts.push(el("h5", null, { text: P("follow_up.title") }));
    parts.push(el("div", "dp-override", { "data-testid": "follow-up-box" },
      el("label", "dp-field", {}, el("span", "dp-label", { text: P("follow_up.assignee") }), assignee),
      el("label", "dp-field", {}, el("span", "dp-label", { text: P("follow_up.summary") }), summary),
      el("div", "dp-field", {}, el("span", "dp-label", { text: P("follow_up.visits") }), visits),
      el("div", "dp-row", {}, go, cancel)));
    return parts;
  }

  function renderBoard() {
    const total = state.units.length;
    const available = state.units.filter((u) => u.status === "available" && !u.stale).length;
    const stale = state.units.filter((u) => u.stale).length;
    const head = el("header", "dp-head", {},
      el("h4", null, { text: P("board.title") }),
      el("span", "dp-muted dp-summary", {
        text: P("board.summary", { available, total, stale }), "data-testid": "board-summary",
      }));
    const parts = [head];
    if (!total) parts.push(el("p", "dp-empty", { text: P("board.empty") }));
    const scroll = el("div", "dp-scroll dp-board-scroll");
    for (const kind of KINDS) {
      const units = state.units.filter((u) => u.kind === kind);
      if (!units.length) continue;
      units.sort((a, b) => String(a.callsign).localeCompare(String(b.callsign)));
      const counts = units.filter((u) => u.status === "available").length;
      const folded = collapsed.has(kind);
      const head = el("button", `dp-group-head${folded ? " is-folded" : ""}`, {
        type: "button", "aria-expanded": folded ? "false" : "true",
      }, el("span", "dp-fold", { text: folded ? "▸" : "▾" }), kindIcon(kind),
      el("span", null, { text: P(`kind.${kind}`) }),
      el("span", "dp-muted dp-mono", { text: `${counts}/${units.length}` }));
      head.addEventListener("click", () => {
        if (collapsed.has(kind)) collapsed.delete(kind);
        else collapsed.add(kind);
        renderBoard();
      });
      const group = el("div", "dp-group", { "data-testid": `board-group-${kind}`, "data-kind": kind }, head);
      // A folded group still lists its busy and stale units.
      for (const u of units.filter((x) => !folded || x.status !== "available" || x.stale)) {
        const row = el("div", `dp-unit${u.stale ? " is-stale" : ""}${String(state.timelineUnit) === String(u.id) ? " is-open" : ""}`, {
          "data-testid": "unit-row", "data-unit-id": u.id, "data-status": u.status,
          "data-stale": u.stale ? "true" : "false", "data-kind": u.kind, tabindex: 0,
          style: `--c:${STATUS_COLOURS[u.status] || "#8aa0b8"}`,
        });
        const meta = el("span", "dp-unit-meta dp-muted");
        if (u.incident_id !== null && u.incident_id !== undefined) {
          const link = el("button", "dp-link dp-mono", { type: "button", text: P("on_incident", { id: u.incident_id }) });
          link.addEventListener("click", (e) => {
            e.stopPropagation();
            select(u.incident_id);
          });
          meta.append(link);
        }
        if (u.kind === "camera" && (u.tasked_incidents || []).length) {
          meta.append(el("span", "dp-mono", {
            text: P("camera.watching", { ids: u.tasked_incidents.join(" #") }), "data-testid": "camera-watching",
          }));
        }
        if (u.kind === "drone" && u.battery_pct !== null && u.battery_pct !== undefined) {
          const lowPct = Number(u.battery_pct) < 25;
          meta.append(el("span", `dp-battery${lowPct ? " is-low" : ""}`, {
            text: P("battery_pct", { pct: Math.round(Number(u.battery_pct)) }), "data-testid": "drone-battery-pct",
          }));
        }
        if (u.kind === "drone" && u.endurance_min !== null && u.endurance_min !== undefined) {
          const low = Number(u.endurance_min) < 10;
          meta.append(el("span", `dp-battery${low ? " is-low" : ""}`, {
            text: P("battery", { min: Math.round(Number(u.endurance_min)) }), "data-testid": "drone-battery",
          }));
        }
        if (u.standby_node != null && u.status === "available") {
          const post = state.posts.find((x) => String(x.node) === String(u.standby_node));
          meta.append(el("span", "dp-standby-badge", {
            text: post ? P("move_up.post", { rank: post.rank }) : P("move_up.to_post"),
            "data-testid": "unit-standby",
          }));
        }
        if (u.stale) {
          meta.append(el("span", "dp-stale-badge", {
            text: staleText(u), "data-testid": "stale-badge",
            title: P("position_at", { time: timeText(u.position_at) }),
          }));
        }
        row.append(
          el("span", "dp-unit-dot"),
          callsignEl(u.callsign, `#${u.id}`),
          el("span", "dp-unit-status", {}, statusPill(u.status)),
          meta,
          u.kind === "camera" ? cameraButtons(u) : statusButtons(u),
        );
        row.addEventListener("click", async () => {
          if (String(state.timelineUnit) === String(u.id)) {
            state.timelineUnit = null;
            state.timeline = null;
          } else {
            state.timelineUnit = u.id;
            state.timeline = null;
            renderBoard();
            await loadTimeline(u.id);
          }
          renderBoard();
        });
        group.append(row);
        if (String(state.timelineUnit) === String(u.id)) group.append(timelineBox(u));
      }
      scroll.append(group);
    }
    parts.push(scroll);
    board.replaceChildren(...parts);
  }

  function timelineBox(unit) {
    const box = el("div", "dp-timeline", { "data-testid": "unit-timeline" });
    box.append(el("div", "dp-timeline-head", { text: P("timeline.title", { callsign: short(unit.callsign) }) }));
    const tl = state.timeline;
    if (tl === null) {
      box.append(el("p", "dp-muted", { text: P("loading") }));
    } else if (tl.error) {
      box.append(el("p", "dp-msg dp-msg-error", { text: tl.error }));
    } else if (!tl.length) {
      box.append(el("p", "dp-muted", { text: P("timeline.empty") }));
    } else {
      const list = el("ol", "dp-timeline-list");
      for (const entry of tl) {
        const status = entry.status || entry.to_status || entry.new_status;
        const at = entry.at || entry.occurred_at || entry.changed_at || entry.created_at;
        const inc = entry.incident_id;
        list.append(el("li", null, {},
          el("span", "dp-mono dp-muted", { text: timeText(at) }),
          status ? statusPill(status) : el("span", null, { text: entry.event || "" }),
          inc !== null && inc !== undefined ? el("span", "dp-mono dp-muted", { text: `#${inc}` }) : null,
          entry.reason ? el("span", "dp-muted", { text: entry.reason }) : null));
      }
      box.append(list);
    }
    return box;
  }

  function renderStats() {
    const head = el("header", "dp-head", {}, el("h4", null, { text: P("stats.title") }));
    const data = state.stats;
    const parts = [head];
    if (!data || data.error) {
      parts.push(el("p", "dp-empty", { text: data && data.error ? data.error : P("loading") }));
      stats.replaceChildren(...parts);
      return;
    }
    let rows = data.by_priority || data.priorities || data.rows || null;
    if (rows && !Array.isArray(rows)) rows = Object.entries(rows).map(([priority, v]) => ({ priority, ...v }));
    if (Array.isArray(rows)) rows = rows.map((r) => ({ ...r, priority: r.priority || r.key }));
    if (!rows) {
      rows = Object.entries(data).filter(([k, v]) => /^P[1-4]$/.test(k) && v && typeof v === "object")
        .map(([priority, v]) => ({ priority, ...v }));
    }
    rows = (rows || []).filter((r) => r && r.priority);
    rows.sort((a, b) => priorityRank(a.priority) - priorityRank(b.priority));
    if (!rows.length) {
      parts.push(el("p", "dp-empty", { text: P("stats.empty") }));
      stats.replaceChildren(...parts);
      return;
    }
    const table = el("table", "dp-table dp-stats-table", { "data-testid": "stats-table" });
    table.append(el("thead", null, {}, el("tr", null, {},
      el("th", null, { text: P("col.priority") }), el("th", null, { text: P("stats.count") }),
      el("th", null, { text: P("stats.call_to_dispatch") }),
      el("th", null, { text: P("stats.dispatch_to_arrival") }),
      el("th", null, { text: P("stats.total") }), el("th", null, { text: P("stats.p90") }))));
    const tbody = el("tbody");
    const med = (d) => clock(d && (d.p50 ?? d.p50_s ?? d.median));
    for (const r of rows) {
      const total = r.total || r.response || {};
      tbody.append(el("tr", null, {},
        el("td", null, {}, chip(r.priority)),
        el("td", "dp-mono", { text: String(r.count ?? r.n ?? "—") }),
        el("td", "dp-mono", { text: med(r.call_to_dispatch) }),
        el("td", "dp-mono", { text: med(r.dispatch_to_arrival) }),
        el("td", "dp-mono", { text: med(total) }),
        el("td", "dp-mono", { text: clock(total.p90 ?? total.p90_s) })));
    }
    table.append(tbody);
    if (data.overall) {
      const within = data.overall.within_target;
      parts.push(el("p", "dp-stats-overall", {
        "data-testid": "stats-overall",
        text: P("stats.overall", {
          count: data.count ?? data.overall.count,
          within: within === null || within === undefined ? "—" : `${Math.round(within * 100)}%`,
        }),
      }));
    }
    parts.push(table, el("p", "dp-stats-note dp-muted", { text: P("stats.note") }));
    stats.replaceChildren(...parts);
  }

  function renderAll() {
    applyStatic();
    renderPick();
    renderQueue();
    renderDetail();
    renderBoard();
    renderStats();
    renderMoveUp();
    renderAlerts();
    renderMap();
    root.dataset.ready = "true";
  }

  function tick() {
    for (const node of root.querySelectorAll("[data-since]")) {
      const s = since(node.dataset.since);
      if (s !== null) node.textContent = clock(s);
    }
  }

  // ---------------------------------------------------------------- wiring
  let pending = null;
  ctx.onEvent((item) => {
    if (!item || typeof item.subject !== "string" || !item.subject.startsWith("dispatch.")) return;
    clearTimeout(pending);
    pending = setTimeout(() => refresh(), 250);
  });
  ctx.onLanguage(() => {
    if (formMsgKey) setFormMessage(formMsgKey.kind, P(formMsgKey.key, formMsgKey.params), formMsgKey.key, formMsgKey.params);
    renderAll();
  });
  setInterval(tick, 1000);
  setInterval(() => { if (!document.hidden) refresh(); }, REFRESH_MS);
  setFormMessage(null, "");
  applyStatic();
  renderPick();
  await refresh();
}

export default mount;
