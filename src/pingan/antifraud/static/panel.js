// The anti-fraud desk's command-centre panel (预警劝阻快五条): the team queue with level chips
// and SLA countdowns, a warning's reasons and contact recording, stop-payment status, and the
// dashboard figures. Plain ES module; every word comes from the message catalogue
// (src/pingan/antifraud/locales/<lang>.json, served through /api/i18n/<lang>).

const REFRESH_MS = 15000;
const LEVEL_COLOURS = { high: "#ff5d5d", medium: "#ffa657", low: "#8aa0b8" };
const CHANNELS = ["call_96110", "sms_12381", "visit"];
const OUTCOMES = ["reached", "no_answer", "refused", "dissuaded"];
const CLOSE_OUTCOMES = ["dissuaded", "refused", "intercepted", "no_fraud", "unreachable", "lost"];

const CSS = `
.af-panel { font-size: .85rem; }
.af-panel .af-tabs { display: flex; gap: .4em; margin-bottom: .5em; }
.af-panel .af-tabs button[aria-pressed="true"] { font-weight: 600; }
.af-panel .af-dash dl { display: grid; grid-template-columns: 1fr auto; gap: .1em .8em; margin: 0 0 .6em; }
.af-panel .af-dash dd { margin: 0; text-align: right; font-variant-numeric: tabular-nums; }
.af-panel .af-queue { overflow-x: auto; max-height: 20em; overflow-y: auto; }
.af-panel table { border-collapse: collapse; width: 100%; }
.af-panel th, .af-panel td { padding: .15em .35em; text-align: left; white-space: nowrap; }
.af-panel tbody tr { cursor: pointer; }
.af-panel tbody tr[aria-selected="true"] { outline: 1px solid currentColor; }
.af-panel td:nth-child(6) { font-variant-numeric: tabular-nums; }
.af-panel .af-detail h3 { font-size: 1rem; margin: .6em 0 .3em; }
.af-panel .af-actions { display: flex; flex-wrap: wrap; gap: .3em; }
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

/** Seconds as [-]m:ss or h:mm:ss. */
export function countdown(seconds) {
  if (seconds === null || seconds === undefined) return "—";
  const sign = seconds < 0 ? "-" : "";
  let s = Math.floor(Math.abs(seconds));
  const h = Math.floor(s / 3600);
  s -= h * 3600;
  const m = Math.floor(s / 60);
  s -= m * 60;
  const pad = (n) => String(n).padStart(2, "0");
  return h ? `${sign}${h}:${pad(m)}:${pad(s)}` : `${sign}${m}:${pad(s)}`;
}

export async function mount(root, ctx) {
  const { api } = ctx;
  const P = (k, params = {}) => ctx.t(`antifraud.panel.${k}`, params);
  const state = { queue: [], detail: null, selected: null, dash: null, scope: "team", loadedAt: 0 };

  const tabs = el("div", { class: "af-tabs" });
  const queueBox = el("div", { class: "af-queue" });
  const detailBox = el("div", { class: "af-detail" });
  const dashBox = el("div", { class: "af-dash" });
  const status = el("div", { class: "af-status", role: "status" });
  root.classList.add("af-panel");
  if (!document.querySelector("style[data-antifraud-css]")) {
    document.head.append(el("style", { "data-antifraud-css": "true", text: CSS }));
  }
  root.replaceChildren(tabs, dashBox, queueBox, detailBox, status);

  function chip(level) {
    return el("span", {
      class: `af-chip af-${level}`,
      style: `background:${LEVEL_COLOURS[level] || "#888"};color:#111;padding:0 .4em;border-radius:.6em`,
      text: P(`level.${level}`),
    });
  }

  function renderTabs() {
    tabs.replaceChildren(
      ...["team", "mine"].map((scope) =>
        el("button", {
          type: "button",
          "aria-pressed": String(state.scope === scope),
          text: P(`scope.${scope}`),
          onclick: () => { state.scope = scope; refresh(); },
        })),
    );
  }

  function renderDash() {
    const d = state.dash;
    if (!d) { dashBox.replaceChildren(); return; }
    const pct = d.dissuasion_rate === null ? "—" : `${Math.round(d.dissuasion_rate * 100)}%`;
    const first = d.first_contact_median_s === null ? "—" : countdown(d.first_contact_median_s);
    const money = new Intl.NumberFormat(ctx.lang(), { maximumFractionDigits: 0 }).format(d.money_intercepted);
    dashBox.replaceChildren(
      el("dl", {},
        el("dt", { text: P("dash.warnings") }),
        el("dd", { "data-figure": "warnings", text: String(d.warnings) }),
        el("dt", { text: P("dash.first_contact") }),
        el("dd", { "data-figure": "first_contact", text: first }),
        el("dt", { text: P("dash.dissuasion_rate") }),
        el("dd", { "data-figure": "dissuasion_rate", text: pct }),
        el("dt", { text: P("dash.escalated") }),
        el("dd", { "data-figure": "escalated", text: String(d.escalated) }),
        el("dt", { text: P("dash.money") }),
        el("dd", { "data-figure": "money", text: `¥${money}` }),
      ),
    );
  }

  function renderQueue() {
    const now = Date.now();
    const elapsed = (now - state.loadedAt) / 1000;
    if (!state.queue.length) {
      queueBox.replaceChildren(el("p", { text: P("queue.empty") }));
      return;
    }
    const rows = state.queue.map((w) => {
      const left = w.seconds_left === null ? null : w.seconds_left - elapsed;
      return el("tr", {
        "data-warning": w.id,
        class: left !== null && left < 0 ? "af-overdue" : "",
        "aria-selected": String(state.selected === w.id),
        onclick: () => select(w.id),
      },
      el("td", {}, chip(w.level)),
      el("td", { text: ctx.t(`antifraud.type.${w.typology}`) }),
      el("td", { text: w.phone_masked }),
      el("td", { text: P(`status.${w.status}`) }),
      el("td", { text: P(`step.${w.step}`) }),
      el("td", { text: countdown(left), style: left !== null && left < 0 ? "color:#ff5d5d" : "" }),
      el("td", { text: w.team ? w.team.name : "—" }));
    });
    queueBox.replaceChildren(el("table", {},
      el("thead", {}, el("tr", {}, ...["level", "typology", "phone", "status", "step", "due", "team"]
        .map((k) => el("th", { text: P(`col.${k}`) })))),
      el("tbody", {}, ...rows)));
  }

  function renderDetail() {
    const w = state.detail;
    if (!w) { detailBox.replaceChildren(); return; }
    const reasons = w.reasons[ctx.lang()] || w.reasons["zh-CN"] || [];
    const channel = el("select", { name: "channel", "aria-label": P("contact.channel") },
      ...CHANNELS.map((c) => el("option", { value: c, text: P(`channel.${c}`) })));
    const outcome = el("select", { name: "outcome", "aria-label": P("contact.outcome") },
      ...OUTCOMES.map((o) => el("option", { value: o, text: P(`outcome.${o}`) })));
    const note = el("input", { type: "text", placeholder: P("contact.note"), maxlength: "2000" });
    const closeSel = el("select", { "aria-label": P("close.outcome") },
      ...CLOSE_OUTCOMES.map((o) => el("option", { value: o, text: P(`close_outcome.${o}`) })));
    const act = (path, body, done) => async () => {
      try {
        await api(`/api/antifraud/warnings/${w.id}/${path}`, { method: "POST", body });
        status.textContent = P(done);
        await select(w.id);
        await refresh();
      } catch (err) { status.textContent = err.message || String(err); }
    };
    detailBox.replaceChildren(
      el("h3", { "data-phone": w.phone }, chip(w.level), " ", ctx.t(`antifraud.type.${w.typology}`), ` · ${w.phone}`),
      el("ul", {}, ...reasons.map((r) => el("li", { text: r }))),
      el("p", { text: `${P(`step.${w.step}`)} · ${P("col.due")} ${countdown(w.seconds_left)}` }),
      el("h4", { text: P("contacts") }),
      el("ol", { class: "af-contacts" }, ...w.contacts.map((c) => el("li", {
        text: `${new Date(c.at).toLocaleString(ctx.lang())} ${P(`channel.${c.channel}`)} · ${P(`outcome.${c.outcome}`)} ${c.note}`,
      }))),
      el("div", { class: "af-actions" }, channel, outcome, note,
        el("button", { type: "button", "data-action": "contact", text: P("contact.record"),
          onclick: () => act("contacts", { channel: channel.value, outcome: outcome.value, note: note.value }, "contact.recorded")() }),
        el("button", { type: "button", text: P("visit"),
          onclick: act("escalate-visit", { urgency: "urgent" }, "visit_requested") }),
        closeSel,
        el("button", { type: "button", text: P("close.button"),
          onclick: () => act("close", { outcome: closeSel.value }, "closed")() })),
      el("h4", { text: P("stop_payments") }),
      el("ul", {}, ...w.stop_payments.map((sp) => el("li", {
        text: `${sp.bank} ${sp.account} ¥${sp.amount} · ${P(`hold.${sp.status}`)}` +
          (sp.hold_until ? ` · ${P("hold.until")} ${new Date(sp.hold_until).toLocaleString(ctx.lang())}` : "") +
          ` · ${P("hold.renewals", { n: sp.renewals })}`,
      }))),
    );
  }

  async function select(id) {
    state.selected = id;
    // The case-room box (caseroom.js) offers to open a room for the selected warning.
    root.dispatchEvent(new CustomEvent("antifraud:select", { detail: { id } }));
    try {
      state.detail = await api(`/api/antifraud/warnings/${id}`);
    } catch (err) {
      status.textContent = err.message || String(err);
      state.detail = null;
    }
    renderDetail();
    renderQueue();
  }

  async function refresh() {
    try {
      const [queue, dash] = await Promise.all([
        api(`/api/antifraud/warnings?scope=${state.scope}`),
        api("/api/antifraud/dashboards").catch(() => null),
      ]);
      state.queue = queue;
      state.dash = dash;
      state.loadedAt = Date.now();
      status.textContent = "";
    } catch (err) {
      status.textContent = err.message || String(err);
    }
    renderTabs();
    renderDash();
    renderQueue();
  }

  // Linkage case rooms and the year-on-year chart: their own module (static/caseroom.js).
  const caseRooms = el("section", { class: "af-caserooms", "data-testid": "antifraud-caseroom-box" });
  root.append(caseRooms);
  import("/static/antifraud/caseroom.js").then((m) => m.mount(caseRooms, ctx))
    .catch((err) => console.error("antifraud case rooms", err));

  await refresh();
  const tick = setInterval(renderQueue, 1000);
  const poll = setInterval(refresh, REFRESH_MS);
  ctx.onEvent?.((item) => { if (String(item.subject || "").startsWith("antifraud.")) refresh(); });
  ctx.onLanguage?.(() => { refresh(); renderDetail(); });
  return () => { clearInterval(tick); clearInterval(poll); };
}
