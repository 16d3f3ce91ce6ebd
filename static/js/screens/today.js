// Today: the engineer's visits by appointment, with where to go and how long is left (S5b).

import { t } from "../i18n.js";
import { loadToday } from "../store.js";
import { h } from "../ui.js";
import { clockBadge, when } from "./common.js";

function mapsLink(address) {
  return `https://uri.amap.com/search?keyword=${encodeURIComponent(address)}`;
}

function card({ visit, customer, waiting, clock }) {
  const req = visit.request || {};
  const address = req.address || customer?.address || "";
  const phone = req.contact_phone || customer?.mobile || customer?.phone;
  return h(
    "li",
    { class: "card visit-card", dataset: { visit: visit.id } },
    h(
      "a",
      { href: `#/visit/${visit.id}`, class: "card-main" },
      h("span", { class: "time" }, visit.window_start ? when(visit.window_start) : t("today.unscheduled")),
      h("strong", { class: "customer" }, customer?.name ?? req.contact_name ?? ""),
      h("span", { class: "problem" }, req.problem ?? ""),
      h("span", { class: "meta" }, t(`visit.status.${visit.status}`), waiting ? ` · ${t("status.waiting", { n: waiting })}` : ""),
      clockBadge(clock),
    ),
    h(
      "div",
      { class: "card-actions" },
      phone ? h("a", { href: `tel:${phone}`, class: "button secondary" }, "☎ ", phone) : null,
      address ? h("a", { href: mapsLink(address), class: "button secondary", target: "_blank", rel: "noopener" }, t("today.map"), " ›") : null,
    ),
    address ? h("p", { class: "address" }, address) : null,
  );
}

/** Return the Today screen. */
export async function render() {
  const rows = await loadToday();
  const active = rows.filter((r) => !["completed", "not_fixed", "cancelled"].includes(r.visit.status));
  const done = rows.filter((r) => !active.includes(r));
  return h(
    "section",
    { class: "screen today" },
    h("h1", {}, t("today.title")),
    active.length ? h("ul", { class: "cards", id: "visits" }, active.map(card)) : h("p", { class: "empty" }, t("today.none")),
    done.length ? h("details", {}, h("summary", {}, t("today.done", { n: done.length })), h("ul", { class: "cards" }, done.map(card))) : null,
  );
}
