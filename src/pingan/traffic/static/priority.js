// Emergency priority (应急优先 · 绿色通道): the active green corridors, live.
// Lists every active corridor (unit, destination, route) with each signal's request in
// driving order, its state and a countdown (green in / holding / back to plan), and draws
// the routes and signals on the map. Refreshes on traffic.priority.* events from the live
// feed; countdowns tick locally against the server's clock. Every visible text comes from
// traffic.priority.panel.* keys.

const API = "/api/traffic/priority";
const REFRESH_MS = 10000;
const STATE_COLOURS = { requested: "#8aa0b8", transition: "#ffa657", serving: "#3fb950", released: "#e3c75a", restored: "#6e7681" };
const KIND_COLOURS = { incident: "#ff5d5d", hospital: "#58a6ff", manual: "#d2a8ff" };

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

const ms = (iso) => (iso ? Date.parse(iso) : NaN);
const secs = (delta) => Math.max(0, Math.ceil(delta / 1000));

/** What a signal shows now, derived from its stored times (the server's job stores the same). */
export function signalNow(signal, now) {
  const requestAt = ms(signal.request_at);
  const greenBy = ms(signal.green_by_at);
  const until = ms(signal.serve_until);
  const restoreAt = ms(signal.restore_at);
  if (signal.state === "restored") return { state: "restored", key: "done", s: null };
  if (signal.state === "released") {
    if (!Number.isNaN(restoreAt) && now < restoreAt) return { state: "released", key: "restoring", s: secs(restoreAt - now) };
    return { state: "restored", key: "done", s: null };
  }
  if (signal.state === "requested" && now < requestAt) return { state: "requested", key: "green_in", s: secs(greenBy - now) };
  if (now < greenBy) return { state: "transition", key: "green_in", s: secs(greenBy - now) };
  if (now < until) return { state: "serving", key: "holding", s: secs(until - now) };
  return { state: "released", key: "restoring", s: 0 };
}

const CSS = `
.tp-corridor{border-top:1px solid rgba(128,128,128,.25);padding:.4rem 0}
.tp-head{display:flex;flex-wrap:wrap;gap:.5rem;align-items:baseline}
.tp-kind{font-weight:600}.tp-muted,.tp-empty{opacity:.7}
.tp-signals{margin:.3rem 0;padding-left:1.2rem;font-size:.9em}
.tp-signal{display:flex;gap:.5rem;align-items:center}
.tp-dot{display:inline-block;width:.7rem;height:.7rem;border-radius:50%}
.tp-count{margin-left:auto;font-variant-numeric:tabular-nums}
.tp-actions{display:flex;gap:.5rem}
.tp-btn,.tp-link{font:inherit;cursor:pointer}
`;

function ensureStyle() {
  if (document.getElementById("traffic-priority-css")) return;
  const style = document.createElement("style");
  style.id = "traffic-priority-css";
  style.textContent = CSS;
  document.head.append(style);
}

export async function mount(root, ctx) {
  const { api, map: lmap, L } = ctx;
  const T = (key, params = {}) => ctx.t(`traffic.priority.panel.${key}`, params);

  const state = { corridors: [], skew: 0, selected: null, message: null };
  ensureStyle();
  root.classList.add("tp");
  root.replaceChildren();
  const title = el("h4", "tp-title", { "data-testid": "priority-title" });
  const msg = el("p", "tp-msg", { role: "status", "data-testid": "priority-msg" });
  const list = el("div", "tp-corridors", { "data-testid": "priority-corridors" });
  root.append(title, msg, list);

  // ---------------------------------------------------------------- map
  const pane = "traffic-priority";
  if (lmap && L && !lmap.getPane(pane)) {
    const node = lmap.createPane(pane);
    node.style.zIndex = "600";
    node.dataset.layer = "traffic-priority";
  }
  const layer = lmap && L ? L.layerGroup([], { pane }).addTo(lmap) : null;
  const markers = new Map(); // `${corridor}:${seq}` -> circle marker

  function renderMap() {
    if (!layer) return;
    layer.clearLayers();
    markers.clear();
    for (const c of state.corridors) {
      const coords = ((c.geometry || {}).coordinates || []).map(([lon, lat]) => [lat, lon]);
      if (coords.length < 2) continue;
      const colour = KIND_COLOURS[c.kind] || "#3fb950";
      L.polyline(coords, { pane, color: colour, weight: c.id === state.selected ? 7 : 5, opacity: 0.85 })
        .bindTooltip(`${c.callsign || "—"} · ${T(`kind.${c.kind}`)}`)
        .addTo(layer);
      for (const s of c.signals) {
        const marker = L.circleMarker([s.lat, s.lon], {
          pane, radius: 6, weight: 2, color: "#0d1117", fillOpacity: 0.95, fillColor: STATE_COLOURS.requested,
        }).addTo(layer);
        markers.set(`${c.id}:${s.seq}`, marker);
      }
    }
  }

  function now() {
    return Date.now() + state.skew;
  }

  function countdown(info) {
    return info.s === null ? T(info.key) : T(info.key, { s: info.s });
  }

  function renderList() {
    title.textContent = T("title");
    list.replaceChildren();
    if (!state.corridors.length) {
      list.append(el("p", "tp-empty", { text: T("empty"), "data-testid": "priority-empty" }));
      return;
    }
    const t = now();
    for (const c of state.corridors) {
      const head = el("header", "tp-head", {},
        el("span", "tp-kind", { text: T(`kind.${c.kind}`), style: `color:${KIND_COLOURS[c.kind] || "inherit"}` }),
        el("strong", null, { text: c.callsign ? T("unit", { callsign: c.callsign }) : "—" }),
        c.incident_id ? el("span", null, { text: T("incident", { id: c.incident_id }) }) : null,
        c.destination_name ? el("span", null, { text: T("to", { place: c.destination_name }) }) : null,
        el("span", "tp-muted", {
          text: `${T("route", { min: (c.route_s / 60).toFixed(1), km: (c.route_m / 1000).toFixed(2) })} · ${T("signals", { n: c.signals.length })}`,
        }));
      const rows = el("ol", "tp-signals", { "data-testid": "priority-signals" });
      for (const s of c.signals) {
        const info = signalNow(s, t);
        rows.append(el("li", "tp-signal", { "data-state": info.state, "data-seq": s.seq },
          el("span", "tp-dot", { style: `background:${STATE_COLOURS[info.state]}`, "aria-hidden": "true" }),
          el("span", null, { text: `#${s.seq + 1} ${T(`approach.${s.approach}`)}` }),
          el("span", "tp-state", { text: T(`state.${info.state === "transition" ? "serving" : info.state}`) }),
          el("span", "tp-count", { text: countdown(info), "data-testid": "priority-countdown" })));
      }
      const show = el("button", "tp-link", { type: "button", text: T("show") });
      show.addEventListener("click", () => {
        state.selected = c.id;
        renderMap();
        const coords = ((c.geometry || {}).coordinates || []).map(([lon, lat]) => [lat, lon]);
        if (lmap && L && coords.length) lmap.fitBounds(L.latLngBounds(coords), { padding: [20, 20] });
      });
      const cancel = el("button", "tp-btn", { type: "button", text: T("cancel"), "data-testid": "priority-cancel" });
      cancel.addEventListener("click", async () => {
        const reason = window.prompt(T("cancel_reason"));
        if (!reason) return;
        try {
          await api(`${API}/${c.id}/cancel`, { method: "POST", body: { reason } });
          setMessage(T("cancelled"));
          await refresh();
        } catch (err) {
          setMessage(T("failed", { message: err.message }));
        }
      });
      list.append(el("article", "tp-corridor", { "data-corridor-id": c.id, "data-kind": c.kind },
        head, rows, el("div", "tp-actions", {}, show, cancel)));
    }
  }

  function tick() {
    const t = now();
    for (const c of state.corridors) {
      for (const s of c.signals) {
        const marker = markers.get(`${c.id}:${s.seq}`);
        const info = signalNow(s, t);
        if (marker) {
          marker.setStyle({ fillColor: STATE_COLOURS[info.state] });
          marker.bindTooltip(`${c.callsign || ""} #${s.seq + 1} · ${countdown(info)}`);
        }
      }
    }
    for (const row of list.querySelectorAll(".tp-corridor")) {
      const c = state.corridors.find((x) => String(x.id) === row.dataset.corridorId);
      if (!c) continue;
      row.querySelectorAll(".tp-signal").forEach((li, i) => {
        const s = c.signals[i];
        if (!s) return;
        const info = signalNow(s, t);
        li.dataset.state = info.state;
        li.querySelector(".tp-dot").style.background = STATE_COLOURS[info.state];
        li.querySelector(".tp-state").textContent = T(`state.${info.state === "transition" ? "serving" : info.state}`);
        li.querySelector(".tp-count").textContent = countdown(info);
      });
    }
  }

  function setMessage(text) {
    state.message = text || null;
    msg.textContent = text || "";
  }

  async function refresh() {
    try {
      const data = await api(`${API}/active`);
      state.skew = ms(data.now) - Date.now();
      state.corridors = data.corridors || [];
      renderList();
      renderMap();
      tick();
      root.dataset.ready = "true";
    } catch (err) {
      setMessage(T("failed", { message: err.message }));
    }
  }

  ctx.onEvent((item) => {
    if (item && typeof item.subject === "string" && item.subject.startsWith("traffic.priority.")) refresh();
  });
  ctx.onLanguage(() => { renderList(); tick(); });
  setInterval(() => { if (!document.hidden) tick(); }, 1000);
  setInterval(() => { if (!document.hidden) refresh(); }, REFRESH_MS);
  renderList();
  await refresh();
}

export default mount;
