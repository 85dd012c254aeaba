// The traffic desk's command-centre panel (数智绿波): pick a hospital (list or map click),
// propose the corridors carrying most trips to it (drawn on the map), compute a green-wave
// plan per time-of-day period (time-space diagram inline, before/after estimate), export,
// deploy, version history, SUMO evaluations with progress bars; then the live emergency
// priority view (priority.js). Plain ES module; every word comes from the message catalogue
// (src/pingan/traffic/locales/<lang>.json, served through /api/i18n/<lang>).

const BASE = "/static/traffic";
const PERIODS = ["am_peak", "off_peak", "pm_peak"];
const COLOURS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd"];
const EVAL_REFRESH_MS = 3000;

const CSS = `
.tr-panel { font-size: .85rem; max-width: 100%; overflow-x: auto; }
.tr-panel .tr-scroll { max-width: 100%; overflow-x: auto; }
.tr-panel section { margin-bottom: .8em; }
.tr-panel h4 { font-size: .95rem; margin: .5em 0 .3em; }
.tr-panel .tr-row { display: flex; flex-wrap: wrap; gap: .3em; align-items: center; }
.tr-panel table { border-collapse: collapse; width: 100%; }
.tr-panel th, .tr-panel td { padding: .1em .35em; text-align: left; }
.tr-panel td.num { white-space: nowrap; }
.tr-panel select { max-width: 100%; }
.tr-panel td.num { text-align: right; font-variant-numeric: tabular-nums; }
.tr-panel .tr-diagram { overflow-x: auto; background: #fff; }
.tr-panel .tr-diagram svg { max-width: 100%; height: auto; }
.tr-panel progress { width: 8em; }
.tr-panel .tr-note { opacity: .75; font-size: .8rem; }
.tr-panel .tr-error { color: #ff5d5d; }
`;

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "text") node.textContent = String(v);
    else if (k === "style") node.setAttribute("style", v);
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children) if (c !== null && c !== undefined && c !== false) node.append(c);
  return node;
}

/** replaceChildren without the nulls of conditional parts. */
function put(box, ...children) {
  box.replaceChildren(...children.filter((c) => c !== null && c !== undefined && c !== false));
}

const fmt = (x, digits = 1) => (x === null || x === undefined ? "—" : Number(x).toFixed(digits));

/** The before/after rows of a comparison: [label key, before, after] per figure. */
export function compareRows(cmp) {
  const rows = [];
  for (const dir of ["out", "in"]) {
    const b = cmp.before[dir];
    const a = cmp.after[dir];
    rows.push([`compare.${dir}.travel`, fmt(b.travel_time_s), fmt(a.travel_time_s)]);
    rows.push([`compare.${dir}.stops`, fmt(b.stops, 2), fmt(a.stops, 2)]);
    rows.push([`compare.${dir}.band`, fmt(b.bandwidth_s), fmt(a.bandwidth_s)]);
  }
  return rows;
}

export async function mount(root, ctx) {
  const { api, map, L } = ctx;
  const P = (k, params = {}) => ctx.t(`traffic.panel.${k}`, params);
  const state = {
    cityId: null, destinations: [], destination: null, proposal: null, corridors: [],
    corridor: null, plans: [], plan: null, evaluations: [], picking: false,
  };
  const layer = L && map ? L.layerGroup().addTo(map) : null;

  root.classList.add("tr-panel");
  if (!document.querySelector("style[data-traffic-css]")) {
    document.head.append(el("style", { "data-traffic-css": "true", text: CSS }));
  }
  const status = el("div", { role: "status", class: "tr-note" });
  const destBox = el("section");
  const proposalBox = el("section");
  const corridorBox = el("section");
  const planBox = el("section");
  const evalBox = el("section");
  const priorityBox = el("section", { class: "tr-priority" });
  root.replaceChildren(destBox, proposalBox, corridorBox, planBox, evalBox, status, priorityBox);

  function say(text, error = false) {
    status.textContent = text || "";
    status.classList.toggle("tr-error", error);
  }
  function fail(err) {
    say(err && err.message ? err.message : String(err), true);
  }
  async function call(path, init) {
    try {
      return await api(path, init);
    } catch (err) {
      fail(err);
      throw err;
    }
  }
  const post = (path, body) => call(path, { method: "POST", body: body || {} });

  // ------------------------------------------------------------------ destinations
  async function loadCity() {
    const cities = await call("/api/city/cities");
    const stored = Number(localStorage.getItem("pingan.city"));
    const city = cities.find((c) => c.id === stored) || cities[0];
    state.cityId = city ? city.id : null;
    if (!state.cityId) { put(destBox, el("p", { text: P("no_city") })); return; }
    let kind = "hospital";
    state.destinations = await call(`/api/traffic/destinations?city_id=${state.cityId}&kind=hospital`);
    if (!state.destinations.length) {
      kind = "clinic";
      state.destinations = await call(`/api/traffic/destinations?city_id=${state.cityId}&kind=clinic`);
    }
    state.kind = kind;
    renderDestinations();
  }

  function renderDestinations() {
    const select = el("select", { "aria-label": P("destination"), name: "destination" },
      el("option", { value: "", text: P("pick_destination") }),
      ...state.destinations.map((d) => el("option", { value: String(d.id), text: d.name || `#${d.id}` })));
    select.addEventListener("change", () => {
      const d = state.destinations.find((x) => String(x.id) === select.value);
      state.destination = d ? { destination_id: d.id, name: d.name, lon: d.lon, lat: d.lat } : null;
      if (d && map) map.panTo([d.lat, d.lon]);
    });
    const pick = el("button", { type: "button", text: P("pick_on_map"), "aria-pressed": String(state.picking),
      onclick: () => { state.picking = !state.picking; renderDestinations(); } });
    const propose = el("button", { type: "button", "data-action": "propose", text: P("propose"), onclick: proposeCorridors });
    put(destBox, 
      el("h4", { text: P("destination") }),
      state.kind === "clinic" ? el("p", { class: "tr-note", text: P("no_hospitals") }) : null,
      el("div", { class: "tr-row" }, select, pick, propose),
      state.destination ? el("p", { class: "tr-note", text: P("chosen", { name: state.destination.name || `${fmt(state.destination.lat, 5)}, ${fmt(state.destination.lon, 5)}` }) }) : null,
    );
  }

  if (map) {
    map.on("click", (e) => {
      if (!state.picking) return;
      state.picking = false;
      state.destination = { lon: e.latlng.lng, lat: e.latlng.lat, name: "" };
      renderDestinations();
    });
  }

  // ------------------------------------------------------------------ corridors
  function drawCorridors(list) {
    if (!layer) return;
    layer.clearLayers();
    list.forEach((c, i) => {
      const colour = COLOURS[i % COLOURS.length];
      const latlngs = c.geometry.coordinates.map(([x, y]) => [y, x]);
      L.polyline(latlngs, { color: colour, weight: 5, opacity: 0.8 }).addTo(layer)
        .bindTooltip(c.name || P("corridor_n", { n: i + 1 }));
      for (const s of c.signals) {
        L.circleMarker([s.lat, s.lon], { radius: 5, color: colour, fillOpacity: 1 }).addTo(layer)
          .bindTooltip(`${s.name || s.osm_id || s.id} · ${fmt(s.position_m, 0)} m`);
      }
    });
  }

  async function proposeCorridors() {
    if (!state.destination || !state.cityId) { say(P("pick_destination"), true); return; }
    say(P("working"));
    const body = { city_id: state.cityId, count: 3 };
    if (state.destination.destination_id) body.destination_id = state.destination.destination_id;
    else { body.lon = state.destination.lon; body.lat = state.destination.lat; }
    state.proposal = await post("/api/traffic/corridors/propose", body);
    drawCorridors(state.proposal.corridors);
    renderProposal();
    say("");
  }

  function renderProposal() {
    const p = state.proposal;
    if (!p) { put(proposalBox, ); return; }
    const rows = p.corridors.map((c, i) => el("tr", {},
      el("td", { style: `color:${COLOURS[i % COLOURS.length]}`, text: c.name || P("corridor_n", { n: i + 1 }) }),
      el("td", { class: "num", text: fmt(c.metres, 0) }),
      el("td", { class: "num", text: String(c.signals.length) }),
      el("td", { class: "num", text: `${fmt(c.share * 100, 0)}%` }),
      el("td", {}, el("button", { type: "button", "data-action": "save", "data-index": String(i), text: P("save"), onclick: () => saveCorridor(c, i) })),
    ));
    put(proposalBox, 
      el("h4", { text: P("proposals") }),
      el("table", {},
        el("thead", {}, el("tr", {}, ...["name", "metres", "signals", "share", ""].map((k) => el("th", { text: k ? P(`col.${k}`) : "" })))),
        el("tbody", {}, ...rows)),
      el("p", { class: "tr-note", text: P("demand_note") }),
      p.signal_sources.includes("derived_junction") ? el("p", { class: "tr-note", text: P("derived_note") }) : null,
      el("p", { class: "tr-note", text: P("timing_note") }),
    );
  }

  async function saveCorridor(c, i) {
    const body = { city_id: state.cityId, name: c.name || P("corridor_n", { n: i + 1 }), nodes: c.nodes };
    if (state.destination && state.destination.destination_id) body.destination_id = state.destination.destination_id;
    const saved = await post("/api/traffic/corridors", body);
    say(P("saved", { name: saved.name }));
    await loadCorridors(saved.id);
  }

  async function loadCorridors(selectId) {
    if (!state.cityId) return;
    state.corridors = await call(`/api/traffic/corridors?city_id=${state.cityId}`);
    if (selectId) await selectCorridor(selectId);
    renderCorridors();
  }

  async function selectCorridor(id) {
    state.corridor = await call(`/api/traffic/corridors/${id}`);
    state.plans = await call(`/api/traffic/corridors/${id}/plans`);
    state.plan = state.plans[0] || null;
    drawCorridors([state.corridor]);
    renderCorridors();
    await renderPlan();
  }

  function renderCorridors() {
    const select = el("select", { "aria-label": P("corridors"), name: "corridor" },
      el("option", { value: "", text: P("pick_corridor") }),
      ...state.corridors.map((c) => el("option", {
        value: String(c.id), selected: state.corridor && state.corridor.id === c.id,
        text: `${c.name} (${c.signals.length})` })));
    select.addEventListener("change", () => { if (select.value) selectCorridor(Number(select.value)); });
    const cyc = el("input", { type: "text", size: 7, value: "50-120", "aria-label": P("cycle_range") });
    const planBtn = el("button", { type: "button", "data-action": "plan", text: P("plan"), onclick: async () => {
      if (!state.corridor) return;
      const [lo, hi] = cyc.value.split("-").map(Number);
      say(P("working"));
      const plans = await post(`/api/traffic/corridors/${state.corridor.id}/plans`,
        { cycle_range: [lo, hi], periods: PERIODS });
      state.plans = await call(`/api/traffic/corridors/${state.corridor.id}/plans`);
      state.plan = plans[0];
      say("");
      await renderPlan();
    } });
    const signals = state.corridor ? el("table", {},
      el("thead", {}, el("tr", {}, ...["signal", "position", "cycle", "offset"].map((k) => el("th", { text: P(`col.${k}`) })))),
      el("tbody", {}, ...state.corridor.signals.map((s) => el("tr", {
        "data-signal": String(s.signal_id),
        title: s.missing ? P("missing") : P(`timing.${(s.timing_source || "").split(":")[0]}`) },
        el("td", { text: s.name || String(s.osm_id || s.signal_id) }),
        el("td", { class: "num", text: fmt(s.position_m, 0) }),
        el("td", { class: "num", text: s.timing ? fmt(s.timing.cycle_s) : "—" }),
        el("td", { class: "num", text: s.missing ? P("missing") : (s.timing ? fmt(s.timing.offset_s) : "—") }),
      )))) : null;
    const sources = state.corridor ? [...new Set(state.corridor.signals
      .map((s) => (s.missing ? "" : P(`timing.${(s.timing_source || "").split(":")[0]}`))))]
      .filter(Boolean).join(" · ") : "";
    put(corridorBox, 
      el("h4", { text: P("corridors") }),
      el("div", { class: "tr-row" }, select, el("label", { text: P("cycle_range") }, cyc), planBtn),
      signals,
      sources ? el("p", { class: "tr-note", text: `${P("col.source")}: ${sources}` }) : null,
    );
  }

  // ------------------------------------------------------------------ plans
  async function renderPlan() {
    const plan = state.plan;
    if (!plan) { put(planBox, ); return; }
    const svg = await fetchSvg(`/api/traffic/plans/${plan.id}/diagram.svg`);
    const cmp = await call(`/api/traffic/plans/${plan.id}/compare`);
    const history = el("table", { class: "tr-history" },
      el("thead", {}, el("tr", {}, ...["version", "period", "cycle", "band", "status"].map((k) => el("th", { text: P(`col.${k}`) })))),
      el("tbody", {}, ...state.plans.map((p) => el("tr", {
        "aria-selected": String(p.id === plan.id), style: "cursor:pointer",
        onclick: () => { state.plan = p; renderPlan(); } },
        el("td", { text: `v${p.version}` }),
        el("td", { text: P(`period.${p.period}`) }),
        el("td", { class: "num", text: fmt(p.cycle_s) }),
        el("td", { class: "num", text: `${fmt(p.band_out_s)} / ${fmt(p.band_in_s)}` }),
        el("td", { "data-status": p.status, text: P(`status.${p.status}`) }),
      ))));
    const cmpTable = el("table", { class: "tr-compare" },
      el("thead", {}, el("tr", {}, el("th", { text: "" }), el("th", { text: P("before") }), el("th", { text: P("after") }))),
      el("tbody", {}, ...compareRows(cmp).map(([k, b, a]) => el("tr", {},
        el("td", { text: P(k) }), el("td", { class: "num", "data-before": k, text: b }), el("td", { class: "num", "data-after": k, text: a })))));
    const deployBtn = plan.status === "draft" ? el("button", { type: "button", "data-action": "deploy", text: P("deploy"), onclick: async () => {
      await post(`/api/traffic/plans/${plan.id}/deploy`);
      state.plans = await call(`/api/traffic/corridors/${plan.corridor_id}/plans`);
      state.plan = state.plans.find((p) => p.id === plan.id) || null;
      say(P("deployed"));
      await renderPlan();
    } }) : null;
    const choice = plan.inputs && plan.inputs.cycle_choice;  // absent on plans made before it
    const diagram = el("div", { class: "tr-diagram" });
    diagram.innerHTML = svg;  // served by our own API as image/svg+xml, built from numbers only
    put(planBox, 
      el("h4", { "data-plan": String(plan.id), text: P("plan_title", { version: plan.version, period: P(`period.${plan.period}`) }) }),
      el("p", {}, P("plan_summary", { cycle: fmt(plan.cycle_s), out: fmt(plan.band_out_s), in: fmt(plan.band_in_s), eff: fmt(plan.efficiency * 100, 0) })),
      choice && choice.rule === "least_delay" ? el("p", { class: "tr-note", "data-cycle-choice": "", text: P("cycle_choice", { chosen: fmt(choice.chosen_cycle_s), widest: fmt(choice.maxband_cycle_s), n: choice.candidates.length }) }) : null,
      plan.coordination.length ? el("p", { class: "tr-note", text: P("coordinated", { n: plan.coordination.length }) }) : null,
      diagram,
      cmpTable,
      el("p", { class: "tr-note", text: P("estimate_note") }),
      el("div", { class: "tr-row" },
        el("button", { type: "button", "data-action": "export-sumo", text: P("export_sumo"), onclick: () => download(plan, "sumo") }),
        el("button", { type: "button", "data-action": "export-json", text: P("export_json"), onclick: () => download(plan, "json") }),
        deployBtn,
        el("button", { type: "button", "data-action": "evaluate-plan", title: P("evaluate_plan_hint"), text: P("evaluate_plan"), onclick: async () => {
          await post("/api/traffic/evaluations", { plan_id: plan.id, seeds: 3, controllers: ["default", "webster+coord", "actuated", "max-pressure", "pingan", "pingan+priority"] });
          say(P("evaluation_queued"));
          await loadEvaluations();
        } })),
      el("h4", { text: P("history") }),
      history,
    );
  }

  async function fetchSvg(path) {
    try { return String(await api(path)); } catch { return ""; }
  }
  async function download(plan, format) {
    const data = await call(`/api/traffic/plans/${plan.id}/export?format=${format}`);
    const text = typeof data === "string" ? data : JSON.stringify(data, null, 2);
    const type = format === "sumo" ? "application/xml" : "application/json";
    const a = el("a", { href: URL.createObjectURL(new Blob([text], { type })),
      download: `pingan-plan-${plan.id}-v${plan.version}-${plan.period}.${format === "sumo" ? "add.xml" : "json"}` });
    document.body.append(a);
    a.click();
    a.remove();
  }

  // ------------------------------------------------------------------ evaluations
  async function loadEvaluations() {
    try { state.evaluations = await api("/api/traffic/evaluations"); } catch { return; }
    renderEvaluations();
  }
  function renderEvaluations() {
    const start = el("button", { type: "button", text: P("evaluate_arterial"), onclick: async () => {
      await post("/api/traffic/evaluations", { scenario: "arterial", seeds: 1, controllers: ["default", "pingan"], duration_s: 900 });
      await loadEvaluations();
    } });
    const rows = state.evaluations.map((e) => el("tr", { "data-evaluation": String(e.id) },
      el("td", { text: `#${e.id}` }),
      el("td", { text: e.scenario.split("/").pop() }),
      el("td", { text: P(`eval.${e.status}`) }),
      el("td", {}, el("progress", { max: "1", value: String(e.progress) })),
      el("td", { class: e.error ? "tr-error" : "", text: e.error ? e.error.message : resultText(e) }),
    ));
    put(evalBox, 
      el("h4", { text: P("evaluations") }),
      el("div", { class: "tr-row" }, start),
      rows.length ? el("table", {}, el("tbody", {}, ...rows)) : el("p", { class: "tr-note", text: P("no_evaluations") }),
    );
  }
  function resultText(e) {
    if (!e.result || !e.result.table) return "";
    const table = Object.entries(e.result.table)
      .map(([c, m]) => `${c}: ${fmt(m.corridor_tt ? m.corridor_tt[0] : null)} s`).join(" · ");
    const m = e.result.mapping;  // a stored plan's evaluation: how much of it SUMO could carry
    return m ? `${table} (${P("eval_mapping", { matched: Object.keys(m.matched).length, lights: m.sumo_lights })})` : table;
  }

  ctx.onLanguage && ctx.onLanguage(() => { renderDestinations(); renderProposal(); renderCorridors(); renderPlan(); renderEvaluations(); });

  await loadCity().catch(() => {});
  await loadCorridors().catch(() => {});
  await loadEvaluations();
  setInterval(() => { if (state.evaluations.some((e) => e.status === "queued" || e.status === "running")) loadEvaluations(); }, EVAL_REFRESH_MS);

  // The live emergency-priority view (traffic-priority feature).
  import(`${BASE}/priority.js`).then((m) => m.mount(priorityBox, ctx)).catch(() => {});
}
