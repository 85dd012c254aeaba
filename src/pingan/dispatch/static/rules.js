// Run cards (出动标准) editor: the supervisor's box inside the dispatch panel. Loads the whole
// triage rule set in force (GET /api/dispatch/triage-rules), lets a commander change each call
// type's priority (P1–P4) and run card (unit kind × count, add / remove lines), and saves the
// whole document back with a note (PUT). Every other part of the document (keyword rules,
// negations, departments, thresholds) is sent back untouched. Errors show the field path the
// API names (document.call_types[3].run_card[0].count). Texts: dispatch.panel.rules.* keys.

const API = "/api/dispatch/triage-rules";
const PRIORITIES = ["P1", "P2", "P3", "P4"];
/** Run-card kinds the desk knows (service.RUN_CARD_KINDS). */
const KINDS = [
  "patrol_car", "motorbike", "foot", "k9", "drone", "camera",
  "swat", "criminal_investigation", "traffic_police", "community_police",
];

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

function clone(value) {
  return JSON.parse(JSON.stringify(value));
}

export async function mount(root, ctx) {
  const { api } = ctx;
  const R = (key, params = {}) => ctx.t(`dispatch.panel.rules.${key}`, params);
  const kindLabel = (kind) => (KINDS.includes(kind) ? R(`kind.${kind}`) : kind);

  const state = {
    loaded: null, // GET answer: { id, version, document, note, created_at, created_by }
    doc: null, // the edited copy of loaded.document
    msg: null, // { kind: "ok" | "error", text }
    busy: false,
  };

  root.classList.add("dr");
  root.dataset.testid = "dispatch-rules";
  const meta = el("p", "dp-muted dr-meta", { "data-testid": "rules-meta" });
  const table = el("table", "dp-table dr-table", { "data-testid": "rules-table" });
  const note = el("input", "dp-input dr-note", {
    "data-testid": "rules-note", autocomplete: "off", maxlength: 2000,
  });
  const save = el("button", "dp-btn dp-btn-primary dp-btn-small", {
    type: "button", "data-testid": "rules-save",
  });
  const reset = el("button", "dp-btn dp-btn-ghost dp-btn-small", {
    type: "button", "data-testid": "rules-reset",
  });
  const msg = el("p", "dp-msg", { role: "status", "data-testid": "rules-msg" });
  const title = el("h4");
  const details = el("details", "dr-details", { "data-testid": "rules-details" },
    el("summary", null, { "data-testid": "rules-open" }),
    el("div", "dr-scroll", {}, table),
    el("div", "dp-row dr-actions", {}, note, reset, save));
  root.replaceChildren(el("header", "dp-head", {}, title), meta, details, msg);

  function setMessage(kind, text) {
    state.msg = { kind, text };
    render();
  }

  async function load() {
    try {
      state.loaded = await api(API);
      state.doc = clone(state.loaded.document);
    } catch (err) {
      state.loaded = null;
      state.doc = null;
      state.msg = { kind: "error", text: err.message || R("error_generic") };
    }
    render();
  }

  function dirty() {
    return state.loaded && state.doc
      && JSON.stringify(state.loaded.document) !== JSON.stringify(state.doc);
  }

  function typeChanged(ct, index) {
    return Boolean(state.loaded)
      && JSON.stringify(state.loaded.document.call_types[index]) !== JSON.stringify(ct);
  }

  function typeRow(ct, index) {
    const label = (ct.label || {})[ctx.lang()] || (ct.label || {})["zh-CN"] || ct.id;
    const prio = el("select", "dp-input dr-prio", {
      "data-testid": `rules-priority-${ct.id}`, "aria-label": R("priority"),
    });
    for (const p of PRIORITIES) prio.append(el("option", null, { value: p, text: p, selected: p === ct.priority }));
    prio.addEventListener("change", () => { ct.priority = prio.value; render(); });

    const items = el("div", "dr-items", { "data-testid": `rules-card-${ct.id}` });
    (ct.run_card || []).forEach((item, j) => {
      const kind = el("select", "dp-input dr-kind", { "aria-label": R("kind_label") });
      const kinds = KINDS.includes(item.kind) ? KINDS : [item.kind, ...KINDS];
      for (const k of kinds) kind.append(el("option", null, { value: k, text: kindLabel(k), selected: k === item.kind }));
      kind.addEventListener("change", () => { item.kind = kind.value; render(); });
      const count = el("input", "dp-input dr-count", {
        type: "number", min: 1, max: 99, step: 1, value: String(item.count),
        "aria-label": R("count"), "data-testid": `rules-count-${ct.id}-${j}`,
      });
      // The model follows every keystroke (so Save sends what is typed) without redrawing
      // the table: typing keeps the focus, and a click that ends the edit (blur) still
      // lands on the button it was aimed at.
      const take = () => {
        const n = Number(count.value);
        item.count = Number.isFinite(n) && count.value.trim() !== "" ? Math.trunc(n) : count.value;
        save.disabled = state.busy || !dirty();
        reset.disabled = save.disabled;
        count.closest("tr")?.classList.toggle("dr-changed", typeChanged(ct, index));
      };
      count.addEventListener("input", take);
      count.addEventListener("change", take);
      const remove = el("button", "dp-link dr-remove", {
        type: "button", text: "×", title: R("remove"), "aria-label": R("remove"),
        "data-testid": `rules-remove-${ct.id}-${j}`,
      });
      remove.addEventListener("click", () => { ct.run_card.splice(j, 1); render(); });
      items.append(el("span", "dr-item", {}, kind, el("span", "dp-muted", { text: "×" }), count, remove));
    });
    if (!(ct.run_card || []).length) items.append(el("span", "dp-muted", { text: R(ct.police ? "empty_card" : "non_police") }));
    const add = el("button", "dp-link dr-add", {
      type: "button", text: `+ ${R("add")}`, "data-testid": `rules-add-${ct.id}`,
    });
    add.addEventListener("click", () => {
      ct.run_card = [...(ct.run_card || []), { kind: "patrol_car", count: 1 }];
      render();
    });
    return el("tr", typeChanged(ct, index) ? "dr-changed" : null, { "data-type": ct.id },
      el("td", "dr-label", { text: label, title: ct.id }),
      el("td", null, {}, prio),
      el("td", "dr-card", {}, items, add));
  }

  function render() {
    title.textContent = R("title");
    details.querySelector("summary").textContent = R("open");
    note.setAttribute("placeholder", R("note_placeholder"));
    save.textContent = R("save");
    reset.textContent = R("reset");
    const loaded = state.loaded;
    meta.textContent = !loaded ? R("loading")
      : loaded.id === null ? R("defaults", { version: loaded.version })
        : R("meta", {
          version: loaded.version, id: loaded.id, by: loaded.created_by || "",
          at: loaded.created_at ? new Date(loaded.created_at).toLocaleString(ctx.lang()) : "",
        });
    table.replaceChildren(el("thead", null, {}, el("tr", null, {},
      el("th", null, { text: R("call_type") }),
      el("th", null, { text: R("priority") }),
      el("th", null, { text: R("run_card") }))));
    const body = el("tbody");
    if (state.doc) state.doc.call_types.forEach((ct, i) => body.append(typeRow(ct, i)));
    table.append(body);
    save.disabled = state.busy || !dirty();
    reset.disabled = state.busy || !dirty();
    msg.textContent = state.msg ? state.msg.text : "";
    if (state.msg) msg.dataset.kind = state.msg.kind; else delete msg.dataset.kind;
    root.dataset.ready = loaded ? "true" : "false";
  }

  save.addEventListener("click", async () => {
    if (state.busy || !state.doc) return;
    state.busy = true;
    render();
    try {
      const saved = await api(API, { method: "PUT", body: { document: state.doc, note: note.value.trim() } });
      state.loaded = saved;
      state.doc = clone(saved.document);
      note.value = "";
      state.msg = { kind: "ok", text: R("saved", { version: saved.version, id: saved.id }) };
    } catch (err) {
      const where = err.field ? ` [${err.field}]` : "";
      state.msg = { kind: "error", text: `${err.message || R("error_generic")}${where}` };
    } finally {
      state.busy = false;
    }
    render();
  });
  reset.addEventListener("click", () => {
    if (state.loaded) state.doc = clone(state.loaded.document);
    state.msg = null;
    render();
  });

  ctx.onEvent((item) => {
    // Another supervisor saved: reload unless this one is in the middle of an edit.
    if (item && item.subject === "dispatch.triage_rules.changed" && !dirty() && !state.busy) load();
  });
  ctx.onLanguage(() => render());
  render();
  await load();
}
