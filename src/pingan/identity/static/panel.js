// The digital ID desk's command-centre panel (数字身份): usage figures per scenario and day
// (uses, distinct people, enterprises, with a small chart), credential search with
// revoke / suspend / reinstate, relying parties and issuer keys. Plain ES module; every
// string comes from the message catalogue (src/pingan/identity/locales/<lang>.json).

const REFRESH_MS = 30000;

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

function fmt(n) {
  return Number(n || 0).toLocaleString();
}

/** A bar chart (SVG) of uses per day, accepted in the lower part of each bar. */
function chart(days) {
  const ns = "http://www.w3.org/2000/svg";
  const perDay = new Map();
  for (const d of days) {
    const v = perDay.get(d.day) || { uses: 0, accepted: 0 };
    v.uses += d.uses;
    v.accepted += d.accepted;
    perDay.set(d.day, v);
  }
  const entries = [...perDay.entries()].sort((a, b) => a[0].localeCompare(b[0])).slice(-30);
  const width = 300, height = 60;
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
  svg.setAttribute("class", "id-chart");
  svg.setAttribute("role", "img");
  const max = Math.max(1, ...entries.map(([, v]) => v.uses));
  const w = Math.min(width / Math.max(entries.length, 1), 24);
  entries.forEach(([day, v], i) => {
    for (const [value, colour] of [[v.uses, "#8aa0b8"], [v.accepted, "#3fb950"]]) {
      const h = (value / max) * (height - 4);
      const rect = document.createElementNS(ns, "rect");
      rect.setAttribute("x", String(i * w + 1));
      rect.setAttribute("y", String(height - h));
      rect.setAttribute("width", String(Math.max(w - 2, 1)));
      rect.setAttribute("height", String(h));
      rect.setAttribute("fill", colour);
      const title = document.createElementNS(ns, "title");
      title.textContent = `${day}: ${v.uses} / ${v.accepted}`;
      rect.append(title);
      svg.append(rect);
    }
  });
  return svg;
}

const STYLE = `
.id-figures { display: flex; gap: 1rem; flex-wrap: wrap; margin: .25rem 0 .5rem; }
.id-figure { display: flex; flex-direction: column; }
.id-figure strong { font-size: 1.25rem; }
.id-figure span { font-size: .75rem; opacity: .75; }
.id-chart { width: 100%; height: 60px; display: block; margin-bottom: .5rem; }
.id-table { width: 100%; border-collapse: collapse; font-size: .8rem; margin-bottom: .5rem; }
.id-table th, .id-table td { text-align: left; padding: 2px 4px; border-bottom: 1px solid rgba(128,128,128,.25); }
.id-search { display: flex; gap: .25rem; margin-bottom: .25rem; }
.id-search input { flex: 1; }
.id-action { margin-right: .25rem; font-size: .75rem; }
`;

function ensureStyle() {
  if (document.getElementById("identity-panel-style")) return;
  const style = el("style", "", { id: "identity-panel-style" });
  style.textContent = STYLE;
  document.head.append(style);
}

export async function mount(root, ctx) {
  const { api, t } = ctx;
  const lang = () => (ctx.lang ? ctx.lang() : "zh-CN");
  ensureStyle();
  const box = el("div", "id-panel");
  root.append(box);

  const usageBox = el("section", "id-usage");
  const credBox = el("section", "id-credentials");
  const rpBox = el("section", "id-rps");
  box.append(usageBox, credBox, rpBox);

  async function loadUsage() {
    usageBox.replaceChildren(el("h4", "", { text: `${t("identity.panel.usage")} · ${t("identity.panel.last_days")}` }));
    let report;
    try {
      report = await api("/api/identity/usage");
    } catch {
      usageBox.hidden = true; // not an analyst, auditor or commander
      return;
    }
    usageBox.hidden = false;
    const figures = el("div", "id-figures");
    for (const [key, value] of [
      ["uses", report.uses], ["accepted", report.accepted],
      ["people", report.distinct_people], ["enterprises", report.distinct_enterprises],
    ]) {
      figures.append(el("div", "id-figure", {},
        el("strong", "", { text: fmt(value), "data-figure": key }),
        el("span", "", { text: t(`identity.panel.${key}`) })));
    }
    usageBox.append(figures);
    if (!report.days.length) {
      usageBox.append(el("p", "panel-idle", { text: t("identity.panel.no_usage") }));
      return;
    }
    usageBox.append(chart(report.days));
    const table = el("table", "id-table");
    table.append(el("tr", "", {},
      ...["day", "scenario", "uses", "rejected", "people", "enterprises"].map(
        (k) => el("th", "", { text: t(`identity.panel.${k}`) }))));
    for (const d of report.days.slice(-12).reverse()) {
      const rejected = Object.entries(d.rejected).map(([r, n]) => `${r} ${n}`).join(", ");
      table.append(el("tr", "", {},
        el("td", "", { text: d.day }),
        el("td", "", { text: (d.scenario_name && d.scenario_name[lang()]) || d.scenario }),
        el("td", "", { text: fmt(d.uses) }), el("td", "", { text: rejected || "0" }),
        el("td", "", { text: fmt(d.distinct_people) }),
        el("td", "", { text: fmt(d.distinct_enterprises) })));
    }
    usageBox.append(table);
  }

  function credentialRow(c, refresh) {
    const actions = el("td", "");
    const allowed = { valid: ["suspend", "revoke"], suspended: ["reinstate", "revoke"], revoked: [] };
    for (const action of allowed[c.status] || []) {
      const button = el("button", "id-action", { type: "button", text: t(`identity.panel.${action}`) });
      button.addEventListener("click", async () => {
        const reason = window.prompt(t("identity.panel.reason_prompt"));
        if (!reason) return;
        try {
          await api(`/api/identity/credentials/${c.id}/${action}`, { method: "POST", body: { reason } });
        } catch (err) {
          window.alert(err.message);
        }
        refresh();
      });
      actions.append(button);
    }
    return el("tr", "", { "data-credential": c.id },
      el("td", "", { text: c.id }), el("td", "", { text: c.id_number_masked }),
      el("td", "", { text: c.name_masked }),
      el("td", "", { text: t(`identity.panel.${c.status}`) }),
      el("td", "", { text: (c.expires_at || "").slice(0, 10) }), actions);
  }

  function renderCredentialSearch() {
    credBox.replaceChildren(el("h4", "", { text: t("identity.panel.credentials") }));
    const form = el("form", "id-search");
    const input = el("input", "", {
      type: "search", name: "q",
      placeholder: `${t("identity.panel.credential_id")} / ${t("identity.panel.id_number")}`,
    });
    form.append(input, el("button", "", { type: "submit", text: t("identity.panel.search") }));
    const results = el("table", "id-table");
    credBox.append(form, results);
    async function search() {
      const q = input.value.trim();
      let rows = [];
      try {
        if (/^\d{1,9}$/.test(q)) rows = [await api(`/api/identity/credentials/${q}`)];
        else rows = await api(`/api/identity/credentials?limit=20${q ? `&id_number=${encodeURIComponent(q)}` : ""}`);
      } catch {
        rows = [];
      }
      results.replaceChildren(el("tr", "", {},
        ...["credential_id", "id_number", "name", "status", "expires", ""].map(
          (k) => el("th", "", { text: k ? t(`identity.panel.${k}`) : "" }))));
      if (!rows.length) results.append(el("tr", "", {}, el("td", "", { colspan: 6, text: t("identity.panel.not_found") })));
      for (const c of rows) results.append(credentialRow(c, search));
    }
    form.addEventListener("submit", (e) => { e.preventDefault(); search(); });
    search();
  }

  async function loadRelyingParties() {
    rpBox.replaceChildren(el("h4", "", { text: t("identity.panel.relying_parties") }));
    let rps = [];
    try {
      rps = await api("/api/identity/relying-parties");
    } catch {
      rpBox.hidden = true;
      return;
    }
    const table = el("table", "id-table");
    table.append(el("tr", "", {}, ...["code", "name", "category", "scenarios"].map(
      (k) => el("th", "", { text: t(`identity.panel.${k}`) }))));
    const en = lang() === "en";
    for (const rp of rps) {
      table.append(el("tr", "", {},
        el("td", "", { text: rp.code }), el("td", "", { text: en ? rp.name_en : rp.name_zh }),
        el("td", "", { text: rp.category }), el("td", "", { text: rp.scenarios.join(", ") })));
    }
    const wallet = el("a", "id-wallet-link", { href: "/static/identity/wallet.html", target: "_blank", text: t("identity.panel.wallet") });
    rpBox.append(table, wallet);
  }

  async function refreshAll() {
    await Promise.allSettled([loadUsage(), loadRelyingParties()]);
  }

  renderCredentialSearch();
  await refreshAll();
  const timer = setInterval(refreshAll, REFRESH_MS);
  if (ctx.onLanguage) ctx.onLanguage(() => { renderCredentialSearch(); refreshAll(); });
  if (ctx.onEvent) {
    ctx.onEvent((item) => {
      if (item && typeof item.subject === "string" && item.subject.startsWith("identity.credential.")) {
        refreshAll();
      }
    });
  }
  return () => clearInterval(timer);
}

export default mount;
