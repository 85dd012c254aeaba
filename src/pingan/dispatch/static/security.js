// Event security mode (大型活动安保): the commander's board inside the dispatch panel.
// Lists events under security, lets the commander draw a perimeter on the map (or take the
// demo venue), create an event, propose posts (p-median on the road network), assign units,
// activate / end it, and shows the posts on the map with kind glyphs and coverage, plus the
// incidents inside the perimeter. Every visible text comes from dispatch.security.* keys.

const API = "/api/dispatch/security-events";
const REFRESH_MS = 15000;
const PRIORITY_COLOURS = { P1: "#ff5d5d", P2: "#ffa657", P3: "#e3c75a", P4: "#8aa0b8" };
const STATUS_COLOURS = { planned: "#8aa0b8", active: "#3fb950", ended: "#6e7681" };
const KIND_COLOURS = { foot: "#58a6ff", k9: "#d2a8ff", drone: "#f2cc60" };
const GLYPHS = {
  foot: "M8 1.5a1.8 1.8 0 1 1 0 3.6 1.8 1.8 0 0 1 0-3.6zM6 6h4l1 4.5H9.6L9.2 15H6.8l-.4-4.5H5z",
  k9: "M4 6.5a1.3 1.6 0 1 1 0-3.2 1.3 1.6 0 0 1 0 3.2zm3-2a1.3 1.6 0 1 1 0-3.2 1.3 1.6 0 0 1 0 3.2zm3 0a1.3 1.6 0 1 1 0-3.2 1.3 1.6 0 0 1 0 3.2zm3 2a1.3 1.6 0 1 1 0-3.2 1.3 1.6 0 0 1 0 3.2zM8.5 7c2.2 0 4.5 3.3 4.5 5.2 0 1.6-1.6 2.3-4.5 1.6-2.9.7-4.5 0-4.5-1.6C4 10.3 6.3 7 8.5 7z",
  drone: "M3 1.5a2 2 0 1 1 0 4 2 2 0 0 1 0-4zm10 0a2 2 0 1 1 0 4 2 2 0 0 1 0-4zm-10 9a2 2 0 1 1 0 4 2 2 0 0 1 0-4zm10 0a2 2 0 1 1 0 4 2 2 0 0 1 0-4zM6 6.5h4v3H6zM4.5 4.5l2 2-.7.7-2-2zm7 0l.7.7-2 2-.7-.7zm-7 7l2-2 .7.7-2 2zm7 0l-2-2 .7-.7 2 2z",
};

function el(tag, className, attrs = {}, ...children) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "text") node.textContent = String(v);
    else node.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children) if (c !== null && c !== undefined && c !== false) node.append(c);
  return node;
}

function glyphHtml(kind, size) {
  return `<svg viewBox="0 0 16 16" width="${size}" height="${size}" aria-hidden="true">` +
    `<path fill="currentColor" fill-rule="evenodd" d="${GLYPHS[kind] || GLYPHS.foot}"/></svg>`;
}

function glyph(kind, size = 13) {
  const span = el("span", "ds-glyph", { style: `color:${KIND_COLOURS[kind] || "#8aa0b8"}` });
  span.innerHTML = glyphHtml(kind, size);
  return span;
}

function escapeHtml(value) {
  return String(value ?? "").replace(/[&<>"']/g, (c) =>
    ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
}

function pct(x) {
  return x === null || x === undefined ? "—" : `${Math.round(Number(x) * 100)}%`;
}

function localInput(date) {
  const d = new Date(date.getTime() - date.getTimezoneOffset() * 60000);
  return d.toISOString().slice(0, 16);
}

/** The ring of a GeoJSON polygon as Leaflet [lat, lon] pairs. */
function ringLatLngs(geometry) {
  const g = geometry && geometry.type === "Feature" ? geometry.geometry : geometry;
  const ring = g && g.type === "Polygon" && Array.isArray(g.coordinates) ? g.coordinates[0] : [];
  return (ring || []).map(([lon, lat]) => [lat, lon]);
}

export async function mount(root, ctx) {
  const { api, map: lmap, L } = ctx;
  const S = (key, params = {}) => ctx.t(`dispatch.security.${key}`, params);
  const kindLabel = (kind) => ctx.t(`dispatch.kind.${kind}`);

  const state = {
    cityId: null,
    cityName: null,
    events: [],
    presets: [],
    selectedId: null,
    board: null,
    drawing: false,
    points: [], // [lat, lon]
    message: null, // { kind, text }
    busy: false,
  };

  root.classList.add("ds");
  root.replaceChildren();

  // ---------------------------------------------------------------- skeleton (built once)
  const title = el("h4", null, { "data-sk": "title" });
  const head = el("header", "dp-head", {}, title);
  const msg = el("p", "dp-msg", { "data-testid": "security-msg", role: "status" });
  const list = el("div", "ds-events", { "data-testid": "security-events" });

  const name = el("input", "dp-input", { "data-testid": "security-name", "data-sk-attr": "placeholder=name" });
  const crowd = el("input", "dp-input", { type: "number", min: 1, step: 100, value: 15000, "data-testid": "security-crowd" });
  const now = new Date();
  const starts = el("input", "dp-input", { type: "datetime-local", value: localInput(now), "data-testid": "security-starts" });
  const ends = el("input", "dp-input", {
    type: "datetime-local", value: localInput(new Date(now.getTime() + 4 * 3600000)), "data-testid": "security-ends",
  });
  const drawBtn = el("button", "dp-btn dp-btn-ghost", { type: "button", "data-testid": "security-draw" });
  const clearBtn = el("button", "dp-link", { type: "button", "data-sk": "clear", "data-testid": "security-clear" });
  const presetBtn = el("button", "dp-btn dp-btn-ghost", { type: "button", "data-sk": "preset", "data-testid": "security-preset" });
  const pointsText = el("span", "dp-muted ds-points", { "data-testid": "security-points" });
  const createBtn = el("button", "dp-btn dp-btn-primary", { type: "submit", "data-sk": "create", "data-testid": "security-create" });
  const form = el("form", "dp-form ds-form", { novalidate: true, "data-testid": "security-form" },
    el("label", "dp-field", {}, el("span", "dp-label", { "data-sk": "name" }), name),
    el("div", "dp-row", {},
      el("label", "dp-field dp-grow", {}, el("span", "dp-label", { "data-sk": "crowd" }), crowd)),
    el("div", "dp-row", {},
      el("label", "dp-field dp-grow", {}, el("span", "dp-label", { "data-sk": "starts" }), starts),
      el("label", "dp-field dp-grow", {}, el("span", "dp-label", { "data-sk": "ends" }), ends)),
    el("div", "dp-field", {}, el("span", "dp-label", { "data-sk": "perimeter" }),
      el("div", "dp-row ds-perimeter", {}, drawBtn, presetBtn, pointsText, clearBtn)),
    createBtn,
  );
  const newBox = el("details", "ds-new", { "data-testid": "security-new" },
    el("summary", null, { "data-sk": "new" }), form);
  const detail = el("div", "ds-detail", { "data-testid": "security-detail" });
  // Post counts: built once so what the commander types survives re-renders (blank = auto).
  function numberInput(key, testid) {
    return el("label", "dp-field ds-count", {},
      el("span", "dp-label", { "data-sk": key }),
      el("input", "dp-input", {
        type: "number", min: 0, max: 60, placeholder: "auto", "data-testid": testid, "data-sk-attr": "title=auto_hint",
      }));
  }
  const countFoot = numberInput("foot", "security-foot");
  const countK9 = numberInput("k9", "security-k9");
  const countDrones = numberInput("drones", "security-drones");
  root.append(head, msg, list, newBox, detail);

  function applyStatic() {
    for (const node of root.querySelectorAll("[data-sk]")) node.textContent = S(node.dataset.sk);
    for (const node of root.querySelectorAll("[data-sk-attr]")) {
      const [attr, key] = node.dataset.skAttr.split("=");
      node.setAttribute(attr, S(key));
    }
    drawBtn.textContent = state.drawing ? S("finish") : S("draw");
  }

  function setMessage(kind, text) {
    state.message = kind ? { kind, text } : null;
    msg.textContent = text || "";
    if (kind) msg.dataset.kind = kind; else delete msg.dataset.kind;
  }

  // ---------------------------------------------------------------- map
  const pane = "dispatch-security";
  if (lmap && L && !lmap.getPane(pane)) {
    const node = lmap.createPane(pane);
    node.style.zIndex = "590";
    node.dataset.layer = "dispatch-security";
  }
  const layer = lmap && L ? L.layerGroup([], { pane }).addTo(lmap) : null;

  function selected() {
    return state.events.find((e) => String(e.id) === String(state.selectedId)) || null;
  }

  function renderMap() {
    if (!layer) return;
    layer.clearLayers();
    if (state.points.length) {
      const shape = state.points.length >= 3 ? L.polygon(state.points, {
        pane, color: "#f2cc60", weight: 2, dashArray: "5 4", fillOpacity: 0.08, interactive: false,
      }) : L.polyline(state.points, { pane, color: "#f2cc60", weight: 2, dashArray: "5 4", interactive: false });
      shape.addTo(layer);
      for (const p of state.points) {
        L.circleMarker(p, { pane, radius: 4, color: "#f2cc60", weight: 2, fillOpacity: 1, interactive: false }).addTo(layer);
      }
    }
    const event = state.board ? state.board.event : selected();
    if (!event) return;
    const ring = ringLatLngs(event.perimeter);
    if (ring.length) {
      L.polygon(ring, {
        pane, color: STATUS_COLOURS[event.status] || "#8aa0b8", weight: 2.5,
        fillOpacity: event.status === "active" ? 0.12 : 0.05, interactive: false,
        className: "ds-perimeter-shape",
      }).addTo(layer);
    }
    const kinds = ((event.plan || {}).kinds || []);
    const radius = (kinds.find((k) => k.kind === "drone") || {}).radius_m;
    for (const post of event.posts || []) {
      const colour = KIND_COLOURS[post.kind] || "#8aa0b8";
      if (post.kind === "drone" && radius) {
        L.circle([post.lat, post.lon], {
          pane, radius, color: colour, weight: 1, dashArray: "3 4", fillOpacity: 0.04, interactive: false,
        }).addTo(layer);
      }
      const icon = L.divIcon({
        className: "",
        html: `<div class="ds-post-mark${post.unit_id ? " is-staffed" : ""}" style="--c:${colour}" ` +
          `data-post-id="${escapeHtml(post.id)}" data-kind="${escapeHtml(post.kind)}">${glyphHtml(post.kind, 12)}</div>`,
        iconSize: [22, 22],
        iconAnchor: [11, 11],
      });
      const who = post.callsign || S("unstaffed");
      L.marker([post.lat, post.lon], { pane, icon, keyboard: false })
        .bindTooltip(escapeHtml(`${kindLabel(post.kind)} · ${who} · ${S("coverage")} ${pct(post.covered_share)}`),
          { direction: "top", className: "dp-tip" })
        .addTo(layer);
    }
  }

  if (lmap) {
    lmap.on("click", (e) => {
      if (!state.drawing) return;
      state.points.push([e.latlng.lat, e.latlng.lng]);
      render();
    });
  }
  drawBtn.addEventListener("click", () => {
    state.drawing = !state.drawing;
    if (lmap) lmap.getContainer().classList.toggle("dp-map-picking", state.drawing);
    if (state.drawing && lmap) lmap.getContainer().scrollIntoView({ block: "nearest" });
    render();
  });
  clearBtn.addEventListener("click", () => {
    state.points = [];
    render();
  });
  presetBtn.addEventListener("click", () => {
    const venue = state.presets[0];
    if (!venue) return;
    state.points = ringLatLngs(venue.perimeter).slice(0, -1);
    name.value = venue.name[ctx.lang()] || venue.name["zh-CN"] || venue.key;
    crowd.value = String(venue.expected_crowd);
    if (lmap && state.points.length) lmap.fitBounds(state.points, { maxZoom: 16 });
    render();
  });

  // ---------------------------------------------------------------- data
  async function city() {
    if (state.cityId) return state.cityId;
    const cities = await api("/api/city/cities");
    if (!Array.isArray(cities) || !cities.length) return null;
    const fromMap = document.getElementById("map")?.dataset.city || localStorage.getItem("pingan.city");
    const chosen = cities.find((c) => String(c.id) === String(fromMap)) || cities[0];
    state.cityId = String(chosen.id);
    state.cityName = chosen.name;
    return state.cityId;
  }

  async function load() {
    const id = await city();
    if (!id) return;
    const [events, presets] = await Promise.all([
      api(`${API}?city_id=${encodeURIComponent(id)}`),
      state.presets.length ? Promise.resolve(state.presets)
        : api(`${API}/presets?city=${encodeURIComponent(state.cityName || "")}`),
    ]);
    state.events = Array.isArray(events) ? events : [];
    state.presets = Array.isArray(presets) ? presets : [];
    if (!state.selectedId && state.events.length) {
      const live = state.events.find((e) => e.status === "active") || state.events[0];
      state.selectedId = live.id;
    }
    state.board = state.selectedId ? await api(`${API}/${state.selectedId}/board`).catch(() => null) : null;
  }

  let refreshing = null;
  async function refresh() {
    if (refreshing) return refreshing;
    refreshing = (async () => {
      try {
        await load();
      } catch (err) {
        console.error("security panel", err);
      } finally {
        refreshing = null;
      }
      render();
    })();
    return refreshing;
  }

  async function act(fn, okText) {
    if (state.busy) return;
    state.busy = true;
    render();
    try {
      const result = await fn();
      setMessage("ok", typeof okText === "function" ? okText(result) : okText);
    } catch (err) {
      const where = err.field ? ` [${err.field}]` : "";
      setMessage("error", `${err.message || S("error_generic")}${where}`);
    } finally {
      state.busy = false;
    }
    await refresh();
  }

  form.addEventListener("submit", (e) => {
    e.preventDefault();
    const ring = state.points.map(([lat, lon]) => [lon, lat]);
    if (ring.length) ring.push(ring[0]);
    const body = {
      city_id: Number(state.cityId),
      name: name.value.trim(),
      perimeter: { type: "Polygon", coordinates: [ring] },
      expected_crowd: Number(crowd.value),
      starts_at: starts.value ? new Date(starts.value).toISOString() : null,
      ends_at: ends.value ? new Date(ends.value).toISOString() : null,
    };
    act(async () => {
      const event = await api(API, { method: "POST", body });
      state.selectedId = event.id;
      state.points = [];
      state.drawing = false;
      newBox.open = false;
      return event;
    }, (event) => S("created", { name: event.name }));
  });

  // ---------------------------------------------------------------- render
  function renderList() {
    list.replaceChildren();
    if (!state.events.length) {
      list.append(el("p", "dp-empty", { text: S("none") }));
      return;
    }
    for (const e of state.events) {
      const btn = el("button", `ds-event${String(e.id) === String(state.selectedId) ? " is-selected" : ""}`, {
        type: "button", "data-testid": "security-event", "data-event-id": e.id, "data-status": e.status,
      },
      el("span", "ds-event-name", { text: e.name }),
      el("span", "ds-badge", { text: S(`status.${e.status}`), style: `--c:${STATUS_COLOURS[e.status] || "#8aa0b8"}` }));
      btn.addEventListener("click", () => {
        state.selectedId = e.id;
        state.board = null;
        refresh();
      });
      list.append(btn);
    }
  }

  function renderDetail() {
    detail.replaceChildren();
    const board = state.board;
    const event = board ? board.event : selected();
    if (!event) return;
    const live = event.status !== "ended";
    const headLine = el("div", "ds-detail-head", {},
      el("strong", null, { text: event.name }),
      el("span", "ds-badge", { text: S(`status.${event.status}`), style: `--c:${STATUS_COLOURS[event.status]}`, "data-testid": "security-status" }));
    detail.append(headLine);

    for (const k of ((event.plan || {}).kinds || []).filter((k) => k.count)) {
      detail.append(el("p", "ds-plan dp-muted", {
        "data-testid": "security-plan-line",
        text: S("plan_line", {
          kind: kindLabel(k.kind), count: k.count, method: S(`method.${k.method}`),
          objective: Number(k.full_objective_s).toFixed(0),
          gap: k.gap === null || k.gap === undefined ? "—" : `${(Number(k.gap) * 100).toFixed(2)}%`,
        }) + ` · ${S("coverage")} ${pct(k.coverage)}`,
      }));
    }

    if (live) {
      const [foot, k9, drones] = [countFoot, countK9, countDrones];
      const value = (label) => {
        const v = label.querySelector("input").value;
        return v === "" ? null : Number(v);
      };
      const propose = el("button", "dp-btn", { type: "button", text: S("propose"), "data-testid": "security-propose", disabled: state.busy });
      propose.addEventListener("click", () => act(
        () => api(`${API}/${event.id}/posts/propose`, {
          method: "POST", body: { foot: value(foot), k9: value(k9), drones: value(drones) },
        }),
        (r) => S("proposed", { posts: r.posts.length }),
      ));
      const assign = el("button", "dp-btn", { type: "button", text: S("assign"), "data-testid": "security-assign", disabled: state.busy || !(event.posts || []).length });
      assign.addEventListener("click", () => act(
        () => api(`${API}/${event.id}/posts/assign`, { method: "POST", body: {} }),
        (r) => S("assigned", { staffed: r.posts.filter((p) => p.unit_id).length, posts: r.posts.length }),
      ));
      const actions = el("div", "dp-row ds-actions", {}, foot, k9, drones, propose, assign);
      if (event.status === "planned") {
        const activate = el("button", "dp-btn dp-btn-primary", { type: "button", text: S("activate"), "data-testid": "security-activate", disabled: state.busy });
        activate.addEventListener("click", () => act(() => api(`${API}/${event.id}/activate`, { method: "POST" }), S("activated")));
        actions.append(activate);
      }
      const end = el("button", "dp-btn dp-btn-warn", { type: "button", text: S("end"), "data-testid": "security-end", disabled: state.busy });
      end.addEventListener("click", () => act(() => api(`${API}/${event.id}/end`, { method: "POST" }), S("ended")));
      actions.append(end);
      detail.append(actions);
    }

    // Posts with their units.
    detail.append(el("h5", null, { text: S("posts") }));
    const posts = el("ul", "ds-posts", { "data-testid": "security-posts" });
    if (!(event.posts || []).length) posts.append(el("li", "dp-muted", { text: S("no_posts") }));
    for (const p of event.posts || []) {
      posts.append(el("li", `ds-post${p.stale ? " is-stale" : ""}`, { "data-kind": p.kind, "data-post-id": p.id },
        glyph(p.kind),
        el("span", "ds-post-kind", { text: kindLabel(p.kind) }),
        el("span", p.callsign ? "dp-mono" : "dp-muted", { text: p.callsign || S("unstaffed") }),
        p.unit_status ? el("span", "dp-muted", { text: ctx.t(`dispatch.status.${p.unit_status}`) }) : null,
        p.stale ? el("span", "ds-stale", { text: S("stale") }) : null,
        el("span", "ds-share dp-mono", { text: pct(p.covered_share), title: S("coverage") })));
    }
    detail.append(posts);

    if (!board) return;
    detail.append(el("h5", null, { text: S("board") }));
    const facts = el("div", "ds-facts", { "data-testid": "security-board" },
      el("span", null, { text: S("staffed", { staffed: board.staffed, posts: board.posts }) }),
      el("span", board.stale_units ? "ds-stale" : "dp-muted", { text: S("stale_units", { n: board.stale_units }) }),
      ...Object.entries(board.coverage || {}).map(([kind, share]) =>
        el("span", null, { text: S("coverage_kind", { kind: kindLabel(kind), share: pct(share) }) })));
    detail.append(facts);
    const counts = el("div", "ds-counts", { "data-testid": "security-counts", title: S("by_priority") },
      ...["P1", "P2", "P3", "P4"].map((p) => el("span", "ds-count-chip", {
        style: `--c:${PRIORITY_COLOURS[p]}`,
        text: `${p} ${board.counts_by_priority[p] || 0} (${S("open")} ${board.open_by_priority[p] || 0})`,
      })));
    detail.append(counts, el("h5", null, { text: S("incidents") }));
    const incidents = el("ul", "ds-incidents", { "data-testid": "security-incidents" });
    if (!board.incidents.length) incidents.append(el("li", "dp-muted", { text: S("no_incidents") }));
    for (const i of board.incidents) {
      const label = (i.call_type_label || {})[ctx.lang()] || (i.call_type_label || {})["zh-CN"] || i.call_type;
      incidents.append(el("li", "ds-incident", { "data-incident-id": i.id, "data-raised": i.raised ? "true" : "false" },
        el("span", "ds-prio", { text: i.priority, style: `--c:${PRIORITY_COLOURS[i.priority] || "#8aa0b8"}` }),
        el("span", null, { text: `#${i.id} ${label}` }),
        el("span", "dp-muted", { text: ctx.t(`dispatch.panel.incident_status.${i.status}`) }),
        i.raised ? el("span", "ds-raised", { text: S("raised") }) : null));
    }
    detail.append(incidents);
  }

  function render() {
    title.textContent = S("title");
    pointsText.textContent = state.drawing ? S("drawing") : S("points", { n: state.points.length });
    drawBtn.classList.toggle("is-on", state.drawing);
    presetBtn.hidden = !state.presets.length;
    createBtn.disabled = state.busy;
    renderList();
    renderDetail();
    renderMap();
    applyStatic();
    root.dataset.ready = "true";
  }

  ctx.onEvent((item) => {
    if (!item || typeof item.subject !== "string") return;
    if (item.subject.startsWith("dispatch.security_") || item.subject.startsWith("dispatch.incident.")) refresh();
  });
  ctx.onLanguage(() => render());
  setInterval(() => { if (!document.hidden) refresh(); }, REFRESH_MS);
  render();
  await refresh();
}

export default mount;
