// The anti-fraud desk's linkage case rooms (合成作战室) and the year-on-year chart (同比).
// Loaded by panel.js with import(); plain ES module, every word from the message catalogue
// (antifraud.panel.caseroom.* / antifraud.panel.yoy.*). The chart is SVG drawn here.

const SVG = "http://www.w3.org/2000/svg";
const UNITS = ["dissuasion", "criminal_investigation", "intelligence_command", "police_station", "bank", "other"];
const KINDS = ["note", "call_made", "account_frozen", "suspect_located", "funds_traced", "action"];
const OUTCOMES = ["intercepted", "partly_intercepted", "lost", "no_fraud", "suspect_caught"];
const THIS_YEAR = "#58a6ff";
const LAST_YEAR = "#8aa0b8";

const CSS = `
.af-cr { font-size: .85rem; margin-top: .6em; }
.af-cr h3 { font-size: 1rem; margin: .5em 0 .3em; }
.af-cr .af-cr-list li { cursor: pointer; }
.af-cr .af-cr-timeline { max-height: 16em; overflow-y: auto; padding-left: 1.2em; }
.af-cr .af-cr-timeline li[data-source="warning"] { opacity: .85; font-style: italic; }
.af-cr .af-cr-timeline li[data-source="partner"] { border-left: 3px solid #d29922; padding-left: .3em; }
.af-cr .af-cr-form { display: flex; flex-wrap: wrap; gap: .3em; margin: .3em 0; }
.af-cr svg text { font-size: 9px; fill: currentColor; }
`;

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "text") node.textContent = String(v);
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children) if (c !== null && c !== undefined && c !== false) node.append(c);
  return node;
}

function svg(tag, attrs = {}, text = null) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  if (text !== null) node.textContent = text;
  return node;
}

/** Signed percentage (−7.47 %), or — without a base. */
export function pct(value) {
  if (value === null || value === undefined) return "—";
  return `${value > 0 ? "+" : ""}${value.toFixed(2)}%`;
}

/** Grouped bars, this year next to last year, one pair per month; returns an <svg>. */
export function barChart(months, key, { width = 320, height = 120, label = (m) => String(m), format = (v) => String(Math.round(v)) } = {}) {
  const pad = { l: 30, r: 4, t: 6, b: 16 };
  const max = Math.max(1, ...months.flatMap((m) => [m[key], m[`${key}_last_year`]]));
  const w = (width - pad.l - pad.r) / Math.max(months.length, 1);
  const h = height - pad.t - pad.b;
  const root = svg("svg", { viewBox: `0 0 ${width} ${height}`, role: "img", style: "width:100%;height:auto", "data-series": key });
  root.append(svg("line", { x1: pad.l, x2: width - pad.r, y1: pad.t + h, y2: pad.t + h, stroke: "currentColor", "stroke-width": 0.5 }));
  root.append(svg("text", { x: 2, y: pad.t + 8 }, format(max)));
  months.forEach((m, i) => {
    const x = pad.l + i * w;
    const bw = Math.max(1, w / 2 - 2);
    for (const [j, value, colour] of [[0, m[`${key}_last_year`], LAST_YEAR], [1, m[key], THIS_YEAR]]) {
      const bh = (value / max) * h;
      const rect = svg("rect", { x: x + 1 + j * bw, y: pad.t + h - bh, width: bw, height: bh, fill: colour });
      rect.append(svg("title", {}, String(value)));
      rect.dataset.month = String(m.month);
      rect.dataset.series = j ? "this" : "last";
      root.append(rect);
    }
    root.append(svg("text", { x: x + w / 2 - 3, y: height - 4 }, label(m.month)));
  });
  return root;
}

export async function mount(root, ctx) {
  const { api } = ctx;
  const P = (k, params = {}) => ctx.t(`antifraud.panel.${k}`, params);
  const state = { rooms: [], room: null, warningId: null, yoy: null, teams: [] };
  if (!document.querySelector("style[data-antifraud-cr-css]")) {
    document.head.append(el("style", { "data-antifraud-cr-css": "true", text: CSS }));
  }
  root.classList.add("af-cr");
  const yoyBox = el("div", { class: "af-yoy", "data-testid": "antifraud-yoy" });
  const listBox = el("div", { class: "af-cr-rooms", "data-testid": "antifraud-caserooms" });
  const roomBox = el("div", { class: "af-cr-room" });
  const status = el("div", { role: "status" });
  root.replaceChildren(yoyBox, listBox, roomBox, status);
  const money = (v) => `¥${new Intl.NumberFormat(ctx.lang(), { maximumFractionDigits: 0 }).format(v)}`;
  const compact = (v) => new Intl.NumberFormat(ctx.lang(), { notation: "compact", maximumFractionDigits: 1 }).format(v);
  const when = (iso) => new Date(iso).toLocaleString(ctx.lang());
  const fail = (err) => { status.textContent = err.message || String(err); };

  function renderYoy() {
    const y = state.yoy;
    if (!y) { yoyBox.replaceChildren(); return; }
    yoyBox.replaceChildren(
      el("h3", { text: P("yoy.title", { year: y.year, last: y.year - 1 }) }),
      el("p", {},
        el("span", { "data-figure": "yoy-cases", text: P("yoy.cases", { n: y.cases, last: y.cases_last_year, change: pct(y.cases_change_pct) }) }),
        el("br"),
        el("span", { "data-figure": "yoy-losses", text: P("yoy.losses", { amount: money(y.losses), last: money(y.losses_last_year), change: pct(y.losses_change_pct) }) })),
      el("div", { text: P("yoy.cases_chart") }),
      barChart(y.months, "cases", { format: compact }),
      el("div", { text: P("yoy.losses_chart") }),
      barChart(y.months, "losses", { format: compact }),
      el("small", {},
        el("span", { style: `color:${LAST_YEAR}`, text: `■ ${y.year - 1}  ` }),
        el("span", { style: `color:${THIS_YEAR}`, text: `■ ${y.year}  ` }),
        P("yoy.definition")),
    );
  }

  function renderList() {
    const open = el("button", {
      type: "button", "data-action": "open-room", disabled: state.warningId ? null : true,
      text: state.warningId ? P("caseroom.open_for", { id: state.warningId }) : P("caseroom.select_warning"),
      onclick: async () => {
        try {
          const room = await api("/api/antifraud/case-rooms", { method: "POST", body: { warning_id: state.warningId } });
          state.room = room;
          await loadList();
          renderRoom();
        } catch (err) { fail(err); }
      },
    });
    listBox.replaceChildren(
      el("h3", { text: P("caseroom.title") }),
      open,
      state.rooms.length
        ? el("ul", { class: "af-cr-list" }, ...state.rooms.map((r) => el("li", {
          "data-room": r.id,
          onclick: () => loadRoom(r.id),
          text: `${r.title} · ${P(`level.${r.level}`)} · ${P(`caseroom.status.${r.status}`)} · ${P("caseroom.members", { n: r.members })} · ${money(r.money_intercepted)}`,
        })))
        : el("p", { text: P("caseroom.none") }),
    );
  }

  function describe(item) {
    const d = item.detail || {};
    const base = P(`caseroom.kind.${item.kind}`);
    const extra = [];
    if (d.channel) extra.push(P(`channel.${d.channel}`));
    if (d.outcome) {
      const group = item.kind === "contact" ? "outcome" : item.kind === "closed" ? "caseroom.outcome" : "close_outcome";
      extra.push(P(`${group}.${d.outcome}`));
    }
    if (d.status) extra.push(P(`hold.${d.status}`));
    if (d.amount) extra.push(money(d.amount));
    if (d.bank) extra.push(d.bank);
    if (d.member) extra.push(d.member);
    if (d.team) extra.push(P("caseroom.team_joined", { team: d.team_name || d.team }));
    if (d.step) extra.push(P(`step.${d.step}`));
    return [base, ...extra].join(" · ");
  }

  // A bank's post (source "partner") is marked as from the bank.
  const author = (i) => (i.source === "partner" ? `${P("caseroom.from_bank", { bank: i.author })} ` : i.author ? `${i.author} ` : "");

  function renderRoom() {
    const r = state.room;
    if (!r) { roomBox.replaceChildren(); return; }
    const kind = el("select", { "aria-label": P("caseroom.entry_kind") },
      ...KINDS.map((k) => el("option", { value: k, text: P(`caseroom.kind.${k}`) })));
    const text = el("input", { type: "text", maxlength: "2000", placeholder: P("caseroom.entry_text") });
    const who = el("input", { type: "text", maxlength: "200", placeholder: P("caseroom.invite_who") });
    const unit = el("select", { "aria-label": P("caseroom.unit_label") },
      ...UNITS.map((u) => el("option", { value: u, text: P(`caseroom.unit.${u}`) })));
    // A whole team (GET /api/antifraud/teams: empty for roles that do not read the desk).
    const team = el("select", { "aria-label": P("caseroom.team_label") },
      ...state.teams.map((t) => el("option", { value: t.id, text: `${t.name} (${t.members})` })));
    const outcome = el("select", { "aria-label": P("caseroom.outcome_label") },
      ...OUTCOMES.map((o) => el("option", { value: o, text: P(`caseroom.outcome.${o}`) })));
    const post = (path, body) => async () => {
      try {
        state.room = await api(`/api/antifraud/case-rooms/${r.id}/${path}`, { method: "POST", body });
        renderRoom();
        await loadList();
      } catch (err) { fail(err); }
    };
    const open = r.status === "open";
    roomBox.replaceChildren(...[
      el("h3", { "data-room-title": r.id, text: `${r.title} · ${P(`caseroom.status.${r.status}`)}` }),
      el("p", { "data-figure": "intercepted", text: P("caseroom.money", { intercepted: money(r.money_intercepted), requested: money(r.money_requested) }) }),
      el("ul", {}, ...r.members_list.map((m) => el("li", {
        text: `${m.username || m.partner} · ${P(`caseroom.unit.${m.unit}`)} ${m.unit_name} · ${P(`caseroom.role.${m.role}`)}`,
      }))),
      el("ol", { class: "af-cr-timeline" }, ...r.timeline.map((i) => el("li", {
        "data-source": i.source, "data-kind": i.kind,
        text: `${when(i.at)} ${author(i)}${describe(i)}${i.text ? ` — ${i.text}` : ""}`,
      }))),
      open && el("div", { class: "af-cr-form" }, kind, text,
        el("button", { type: "button", "data-action": "post-entry", text: P("caseroom.post"),
          onclick: () => post("entries", { kind: kind.value, text: text.value })() })),
      open && el("div", { class: "af-cr-form" }, who, unit,
        el("button", { type: "button", text: P("caseroom.invite"),
          onclick: () => post("members", unit.value === "bank"
            ? { partner: who.value, unit: unit.value } : { username: who.value, unit: unit.value })() })),
      open && state.teams.length > 0 && el("div", { class: "af-cr-form" }, team,
        el("button", { type: "button", "data-action": "invite-team", text: P("caseroom.invite_team"),
          onclick: () => post("members", { team_id: Number(team.value), unit: unit.value === "bank" ? "dissuasion" : unit.value })() })),
      open && el("div", { class: "af-cr-form" }, outcome,
        el("button", { type: "button", text: P("caseroom.close"),
          onclick: () => post("close", { outcome: outcome.value })() })),
      !open && el("p", { text: `${P(`caseroom.outcome.${r.outcome}`)} ${r.summary || ""}` }),
    ].filter(Boolean));
  }

  async function loadRoom(id) {
    try { state.room = await api(`/api/antifraud/case-rooms/${id}`); status.textContent = ""; } catch (err) { fail(err); state.room = null; }
    renderRoom();
  }

  async function loadList() {
    try { state.rooms = await api("/api/antifraud/case-rooms?status=all&limit=50"); } catch (err) { state.rooms = []; fail(err); }
    renderList();
  }

  async function loadTeams() {
    state.teams = await api("/api/antifraud/teams").catch(() => []);
  }

  async function loadYoy() {
    state.yoy = await api("/api/antifraud/dashboard/year-on-year").catch(() => null);
    renderYoy();
  }

  const selected = (e) => { state.warningId = e.detail && e.detail.id; renderList(); };
  (root.parentElement || root).addEventListener("antifraud:select", selected);
  await Promise.all([loadYoy(), loadList(), loadTeams()]);
  ctx.onEvent?.((item) => {
    const subject = String(item.subject || "");
    if (!subject.startsWith("antifraud.")) return;
    const p = item.payload || {};
    if (subject.startsWith("antifraud.caseroom.")) loadList();
    if (state.room && (p.room_id === state.room.id || p.warning_id === state.room.warning_id)) loadRoom(state.room.id);
    if (subject === "antifraud.warning.closed" || subject === "antifraud.stop_payment.changed") loadYoy();
  });
  ctx.onLanguage?.(() => { renderYoy(); renderList(); renderRoom(); });
}
