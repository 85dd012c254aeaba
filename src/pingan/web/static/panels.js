// One panel per desk. Active desks load their module's panel script; the others say
// (in the reader's language) that they are not yet in service.
import { api } from "./api.js";
import { apply, t } from "./i18n.js";

function el(tag, className, attrs = {}) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  for (const [k, v] of Object.entries(attrs)) {
    if (v !== undefined && v !== null) node.setAttribute(k, v);
  }
  return node;
}

function deskCard(desk) {
  const card = el("article", `panel ${desk.active ? "is-active" : "is-idle"}`, {
    "data-testid": `desk-${desk.key}`,
    "data-desk": desk.key,
    "data-active": String(desk.active),
  });
  const head = el("header", "panel-head");
  const number = el("span", "panel-number");
  number.textContent = desk.number ? String(desk.number).padStart(2, "0") : "··";
  const titles = el("div", "panel-titles");
  const name = el("h3", "panel-name", { "data-i18n": desk.name_key });
  name.textContent = desk.name;
  titles.append(name);
  if (desk.report_name) {
    const report = el("span", "panel-report", { lang: "zh-CN" });
    report.textContent = desk.report_name;
    titles.append(report);
  }
  const status = el("span", `chip ${desk.active ? "chip-on" : "chip-off"}`, {
    "data-i18n": desk.active ? "web.desks.active" : "web.desks.inactive",
  });
  head.append(number, titles, status);
  const purpose = el("p", "panel-purpose", { "data-i18n": desk.purpose_key });
  purpose.textContent = desk.purpose;
  const body = el("div", "panel-body");
  if (!desk.active) {
    body.append(el("p", "panel-idle", { "data-i18n": "web.desks.not_in_service" }));
  } else if (!desk.panel_script && desk.hosted_by) {
    body.append(el("p", "panel-idle", {
      "data-i18n": `web.desks.hosted_by.${desk.hosted_by}`, "data-testid": "desk-hosted-by",
    }));
  } else if (!desk.panel_script) {
    body.append(el("p", "panel-idle", { "data-i18n": "web.desks.no_panel" }));
  }
  card.append(head, purpose, body);
  return { card, body };
}

/** Render every desk's panel into `container`; `ctx` is handed to each panel's mount(). */
export async function loadPanels(container, ctx) {
  const desks = await api("/api/desks");
  desks.sort((a, b) => (a.active === b.active ? 0 : a.active ? -1 : 1)
    || a.panel_order - b.panel_order || a.number - b.number);
  container.replaceChildren();
  const mounts = [];
  for (const desk of desks) {
    const { card, body } = deskCard(desk);
    container.append(card);
    if (desk.active && desk.panel_script) mounts.push(mountPanel(desk, body, ctx));
  }
  apply(container);
  const count = document.getElementById("desks-count");
  if (count) {
    const numbered = desks.filter((d) => d.number > 0);
    const active = numbered.filter((d) => d.active).length;
    count.textContent = `${active} / ${numbered.length}`;
    count.dataset.count = String(active);
  }
  await Promise.allSettled(mounts);
  return desks;
}

async function mountPanel(desk, body, ctx) {
  try {
    const panel = await import(desk.panel_script);
    const mount = panel.mount || panel.default;
    if (typeof mount !== "function") throw new Error("panel exports no mount()");
    await mount(body, { ...ctx, desk });
  } catch (err) {
    console.error(`panel ${desk.key}`, err);
    const failed = el("p", "panel-error", { "data-i18n": "web.desks.panel_failed" });
    failed.textContent = t("web.desks.panel_failed");
    body.append(failed);
  }
}
