// Pieces several screens share: money, times, the S5b clock, the warranty line, problem wording.

import { formatFen } from "../core/charges.js";
import { ONSITE_ARRIVAL_MINUTES } from "../core/sla.js";
import { locale, t } from "../i18n.js";
import { h } from "../ui.js";

export const money = (fen) => formatFen(fen);

/** Return a short local date and time for an ISO instant, in the company's zone. */
export function when(iso) {
  if (!iso) return "";
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return d.toLocaleString(locale(), {
    timeZone: "Asia/Shanghai",
    month: "numeric",
    day: "numeric",
    hour: "2-digit",
    minute: "2-digit",
  });
}

/** Return the S5b arrival clock as a badge. */
export function clockBadge(clock) {
  const { state, minutes_remaining: left, minutes_overdue: over } = clock;
  if (state === "not_applicable") return null;
  // The words name the commitment (S5b: on site within so many hours of the call), not the
  // appointment, and say what to do when it is missed: tell the customer (S11).
  const limit = ONSITE_ARRIVAL_MINUTES / 60;
  const text = {
    running: t("sla.left", { limit, h: Math.floor(left / 60), m: left % 60 }),
    at_risk: t("sla.left", { limit, h: Math.floor(left / 60), m: left % 60 }),
    missed: left === null && over !== null ? t("sla.over", { limit, h: Math.floor(over / 60), m: over % 60 }) : t("sla.missed", { limit }),
    met: t("sla.met"),
  }[state];
  return h("span", { class: `badge sla-${state}`, dataset: { sla: state } }, text);
}

/** Return a one-line warranty status and what it means for charges. */
export function warrantyBlock(warranty) {
  const { status, meaning } = warranty;
  const head =
    status.reason === "in_warranty"
      ? t("warranty.in", { ends: status.ends, days: status.days_left })
      : t(`warranty.${status.reason}`, { ends: status.ends ?? "", starts: status.starts ?? "" });
  return h(
    "div",
    { class: `warranty ${status.in_warranty ? "in" : "out"}`, id: "warranty" },
    h("strong", {}, head),
    h("p", {}, t(meaning.summary)),
    meaning.charged.length ? h("p", { class: "small" }, t("warranty.charged"), " ", meaning.charged.map((k) => t(k)).join(t("list.sep"))) : null,
    h("p", { class: "small" }, t("warranty.free"), " ", meaning.free.map((k) => t(k)).join(t("list.sep"))),
  );
}

/** Return a problem reported by the server in words an engineer understands. */
export function problemText(p) {
  const what = t(`kind.${p.kind}`);
  if (p.kind === "visit.revoked") return t("problem.revoked", { label: p.label, n: p.waiting });
  if (p.status === "stale") return t("problem.stale");
  if (p.status === "conflict") {
    if (p.kind === "checklist.set") return t("problem.checklist_conflict");
    if (p.kind === "visit.transition") return t("problem.transition_conflict");
    return t("problem.conflict", { what });
  }
  return t("problem.rejected", { what });
}

/** Return a conflict record (from the office's merge log) in plain words. */
export function conflictText(c) {
  if (c.entity === "checklist_item") {
    const kept = c.kept?.state ? t(`check.${c.kept.state}`) : "";
    const other = c.other?.state ? t(`check.${c.other.state}`) : "";
    return t("conflict.checklist", { item: c.record_id?.split(":").slice(1).join(":") ?? "", kept, other });
  }
  return t("conflict.other", { what: c.entity });
}

/** Return a small "waiting to send" marker for a record still in the outbox. */
export function pendingMark(row) {
  return row.pending ? h("span", { class: "pending", title: t("pending") }, t("pending")) : null;
}

/** Return the visit's heading: request number, customer, status. */
export function visitHeader(data) {
  const { merged, customer } = data;
  const v = merged.visit;
  return h(
    "header",
    { class: "visit-head" },
    h("p", { class: "small" }, v.request?.number ?? "", " · ", t(`visit.status.${v.status}`), v.pending ? " · " : "", pendingMark(v)),
    h("h1", {}, customer?.name ?? v.request?.contact_name ?? `#${v.id}`),
  );
}

/** Return a back link. */
export function back(hash, key = "nav.back") {
  return h("a", { href: hash, class: "back" }, "‹ ", t(key));
}

/** Return a button row of big choices; the chosen one is pressed. */
export function choices(name, options, value, onChoose) {
  return h(
    "div",
    { class: "choices", role: "group" },
    options.map(([val, label]) =>
      h("button", { type: "button", class: "choice", "aria-pressed": String(val === value), dataset: { name, value: val }, onclick: () => onChoose(val) }, label),
    ),
  );
}

/** Return the field errors of a save() result as {field: text}. */
export function errorTexts(result) {
  const out = {};
  for (const [f, key] of Object.entries(result?.errors ?? {})) out[f] = t(key);
  return out;
}
