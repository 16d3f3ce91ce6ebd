// Today: the engineer's visits by appointment, each card only what is needed to choose the next
// one: when, who, what, the commitment's state in words, and call / map.

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
  const name = customer?.name ?? req.contact_name ?? "";
  return h(
    "li",
    { class: "card visit-card", dataset: { visit: visit.id } },
    h(
      "a",
      { href: `#/visit/${visit.id}`, class: "card-main" },
      h(
        "span",
        { class: "card-top" },
        h("span", { class: "time" }, visit.window_start ? when(visit.window_start) : t("today.unscheduled")),
        h("span", { class: "meta" }, t(`visit.status.${visit.status}`), waiting ? ` · ${t("status.waiting", { n: waiting })}` : ""),
      ),
      h("strong", { class: "customer" }, name),
      h("span", { class: "problem" }, req.problem ?? ""),
      clockBadge(clock),
    ),
    h(
      "div",
      { class: "card-actions" },
      phone ? h("a", { href: `tel:${phone}`, class: "button secondary", "aria-label": `${t("today.call")} ${phone}` }, "☎ ", t("today.call")) : null,
      address ? h("a", { href: mapsLink(address), class: "button secondary", target: "_blank", rel: "noopener", "aria-label": `${t("today.map")}: ${address}` }, t("today.map"), " ›") : null,
    ),
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
