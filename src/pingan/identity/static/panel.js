// The digital ID desk's command-centre panel (数字身份): usage figures per scenario and day
// (uses, distinct people, enterprises, with a small chart), credential search with
// revoke / suspend / reinstate, issuance at the service window (clerk, admin: the resident's
// data and the wallet's public key; the SD-JWT VC is shown once, to copy or download),
// relying parties and issuer keys. Plain ES module; every
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
.id-issue-form { display: grid; grid-template-columns: max-content 1fr; gap: .25rem .5rem; align-items: center; font-size: .8rem; }
.id-issue-form textarea { min-height: 3.5rem; font-family: monospace; font-size: .7rem; }
.id-issue-form .is-invalid { outline: 2px solid #ff7b72; }
.id-issue-form .id-issue-actions { grid-column: 1 / -1; }
.id-issue-error { color: #ff7b72; font-size: .8rem; margin: .25rem 0; }
.id-issued textarea { width: 100%; box-sizing: border-box; min-height: 6rem; font-family: monospace; font-size: .7rem; word-break: break-all; }
.id-issued p { font-size: .8rem; margin: .25rem 0; }
.id-offer-qr svg { width: 12rem; height: 12rem; background: #fff; }
.id-offer-pin { font-family: monospace; font-size: 1.6rem !important; letter-spacing: .3em; }
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
  const issueBox = el("section", "id-issue");
  issueBox.hidden = true;
  const credBox = el("section", "id-credentials");
  const rpBox = el("section", "id-rps");
  box.append(usageBox, issueBox, credBox, rpBox);
  let canIssue = false;
  try {
    const me = await api("/api/auth/me");
    canIssue = (me.permissions || []).includes("identity.issue");
  } catch {
    canIssue = false;
  }

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

  const ISSUE_FIELDS = [
    ["name", "input", { type: "text", required: true, maxlength: 50, autocomplete: "off" }],
    ["id_number", "input", { type: "text", required: true, maxlength: 18, autocomplete: "off" }],
    ["birth_date", "input", { type: "date", required: true }],
    ["address_district", "input", { type: "text", required: true, maxlength: 100 }],
    ["photo_hash", "input", { type: "text", maxlength: 200 }],
    ["holder_jwk", "textarea", { required: true }],
  ];

  /** The credential just issued: shown once (the platform keeps no copy), copy or download. */
  function showIssued(result, form) {
    const text = result.sd_jwt;
    const output = el("textarea", "", { readonly: true, "data-issued": result.credential.id });
    output.value = text;
    const copy = el("button", "", { type: "button", "data-action": "copy", text: t("identity.panel.issue.copy") });
    const copied = el("span", "id-issue-copied", { role: "status" });
    copy.addEventListener("click", async () => {
      try {
        await navigator.clipboard.writeText(text);
      } catch {
        output.select();
        document.execCommand("copy");
      }
      copied.textContent = t("identity.panel.issue.copied");
    });
    const download = el("button", "", { type: "button", "data-action": "download", text: t("identity.panel.issue.download") });
    download.addEventListener("click", () => {
      const url = URL.createObjectURL(new Blob([text], { type: result.media_type || "application/dc+sd-jwt" }));
      const link = el("a", "", { href: url, download: `pingan-credential-${result.credential.id}.sd-jwt` });
      document.body.append(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(url), 1000);
    });
    const done = el("button", "", { type: "button", "data-action": "done", text: t("identity.panel.issue.done") });
    const panel = el("div", "id-issued", {},
      el("p", "", { text: t("identity.panel.issue.issued", {
        id: result.credential.id, number: result.credential.id_number_masked,
        expires: (result.credential.expires_at || "").slice(0, 10) }) }),
      el("p", "panel-idle", { text: t("identity.panel.issue.once") }),
      output, copy, download, done, copied);
    done.addEventListener("click", () => { panel.remove(); form.hidden = false; });
    return panel;
  }

  /** A credential offer: the QR (offer with the pre-authorized code), the PIN apart, its state. */
  function showOffer(offer, form) {
    const qr = el("div", "id-offer-qr", { "data-offer": offer.ref });
    qr.innerHTML = offer.qr_svg; // the platform's own SVG (segno)
    const state = el("p", "id-offer-state", { role: "status", text: t("identity.panel.offer.state.offered") });
    const done = el("button", "", { type: "button", "data-action": "done", text: t("identity.panel.issue.done") });
    const panel = el("div", "id-issued id-offer", {},
      el("p", "", { text: t("identity.panel.offer.scan", { expires: new Date(offer.expires_at).toLocaleTimeString() }) }),
      qr,
      el("p", "", { text: t("identity.panel.offer.pin") }),
      el("p", "id-offer-pin", { "data-pin": "", text: offer.tx_code }),
      el("p", "", {}, el("a", "id-offer-link", {
        href: `/static/identity/wallet.html?credential_offer=${encodeURIComponent(JSON.stringify(offer.credential_offer))}`,
        target: "_blank", text: t("identity.panel.offer.same_device") })),
      state, done);
    let timer = setInterval(async () => {
      try {
        const now = await api(`/api/identity/offers/${offer.ref}`);
        state.dataset.state = now.state;
        state.textContent = t(`identity.panel.offer.state.${now.state}`);
        if (!["offered", "token_issued"].includes(now.state)) { clearInterval(timer); timer = null; }
      } catch { /* keep the last state shown */ }
    }, 3000);
    done.addEventListener("click", () => { if (timer) clearInterval(timer); panel.remove(); form.hidden = false; });
    return panel;
  }

  function renderIssue() {
    issueBox.hidden = !canIssue;
    if (!canIssue) return;
    issueBox.replaceChildren(el("h4", "", { text: t("identity.panel.issue.title") }));
    const form = el("form", "id-issue-form", { novalidate: true });
    const inputs = {};
    for (const [name, tag, attrs] of ISSUE_FIELDS) {
      const id = `id-issue-${name}`;
      const input = el(tag, "", { ...attrs, id, name });
      if (name === "holder_jwk") input.placeholder = t("identity.panel.issue.holder_jwk_hint");
      inputs[name] = input;
      form.append(el("label", "", { for: id, text: t(`identity.panel.issue.${name}`) }), input);
    }
    const error = el("p", "id-issue-error", { role: "alert" });
    error.hidden = true;
    const submit = el("button", "", { type: "submit", text: t("identity.panel.issue.submit") });
    const offerButton = el("button", "", { type: "button", "data-action": "offer", text: t("identity.panel.offer.button") });
    const wallet = el("a", "", { href: "/static/identity/wallet.html", target: "_blank", text: t("identity.panel.issue.wallet_hint") });
    form.append(el("div", "id-issue-actions", {}, submit, " ", offerButton, " ", wallet));
    issueBox.append(form, error);

    function fail(field, message) {
      for (const input of Object.values(inputs)) input.classList.remove("is-invalid");
      // "holder_jwk.x" and the like: mark the input the field belongs to
      const name = field ? String(field).split(".")[0] : "";
      const label = inputs[name] ? t(`identity.panel.issue.${name}`) : "";
      if (inputs[name]) { inputs[name].classList.add("is-invalid"); inputs[name].focus(); }
      error.dataset.field = name;
      error.textContent = label ? `${label}: ${message}` : message;
      error.hidden = false;
    }

    const resident = () => ({
      name: inputs.name.value.trim(),
      id_number: inputs.id_number.value.trim().toUpperCase(),
      birth_date: inputs.birth_date.value,
      address_district: inputs.address_district.value.trim(),
      photo_hash: inputs.photo_hash.value.trim(),
    });

    // Self-service receipt (OpenID4VCI): no wallet key needed here; the resident scans the
    // QR with the wallet and types the PIN, which is shown apart from the QR.
    offerButton.addEventListener("click", async () => {
      error.hidden = true;
      for (const input of Object.values(inputs)) input.classList.remove("is-invalid");
      offerButton.disabled = true;
      try {
        const offer = await api("/api/identity/offers", { method: "POST", body: resident() });
        form.reset();
        form.hidden = true;
        issueBox.append(showOffer(offer, form));
      } catch (err) {
        fail(err.field, err.message);
      } finally {
        offerButton.disabled = false;
      }
    });

    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      error.hidden = true;
      for (const input of Object.values(inputs)) input.classList.remove("is-invalid");
      let holderJwk;
      const raw = inputs.holder_jwk.value.trim();
      try {
        holderJwk = JSON.parse(raw);
        if (!holderJwk || typeof holderJwk !== "object" || Array.isArray(holderJwk)) throw new Error("not an object");
      } catch {
        fail("holder_jwk", t("identity.panel.issue.jwk_not_json"));
        return;
      }
      if (holderJwk.keys && Array.isArray(holderJwk.keys)) holderJwk = holderJwk.keys[0] || {};
      const body = { ...resident(), holder_jwk: holderJwk };
      submit.disabled = true;
      try {
        const result = await api("/api/identity/credentials", { method: "POST", body });
        form.reset();
        form.hidden = true;
        issueBox.append(showIssued(result, form));
      } catch (err) {
        fail(err.field, err.message);
      } finally {
        submit.disabled = false;
      }
    });
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

  renderIssue();
  renderCredentialSearch();
  await refreshAll();
  const timer = setInterval(refreshAll, REFRESH_MS);
  if (ctx.onLanguage) ctx.onLanguage(() => {
    if (!issueBox.querySelector(".id-issued")) renderIssue(); // never drop a credential not yet saved
    renderCredentialSearch();
    refreshAll();
  });
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
