// The last step: the visit is finished. What was recorded, and whether it has reached the office.

import { formatFen } from "../../core/charges.js";
import { t } from "../../i18n.js";
import { h } from "../../ui.js";
import { when } from "../common.js";
import { frame, stepHref } from "./steps.js";

/** Return the Done step. */
export function render(data) {
  const m = data.merged;
  const v = m.visit;
  const signoff = m.signoff.find((s) => !s.stale);
  const answered = Object.values(m.checklist).filter((c) => c?.state).length;
  const waiting = data.ops.length;
  const finished = Boolean(signoff);
  const line = (ok, text, step) => h("li", { class: ok ? "" : "warn" }, ok ? "✓ " : "! ", step && !ok ? h("a", { href: stepHref(v.id, step) }, text) : text);
  return frame(
    data,
    "done",
    h(
      "div",
      { class: `finished ${finished ? "ok" : "open"}`, id: "finished", role: "status" },
      h("p", { class: "big" }, finished ? t("done.finished") : t("done.not_yet")),
      h("p", { id: "done-sent" }, waiting ? t("done.waiting", { n: waiting }) : t("done.sent")),
    ),
    h("a", { class: "button primary wide", href: "#/today", id: "done-today" }, t("done.to_today")),
    h(
      "ul",
      { class: "list", id: "done-record" },
      line(Boolean(v.arrived_at || v.permission_granted !== null), t("done.arrived", { time: when(v.arrived_at) }), "arrive"),
      line(answered > 0, t("done.checklist", { n: answered }), "before"),
      line(true, t("done.parts", { n: m.part_event.length })),
      m.equipment_receipt.length ? line(true, t("done.receipts", { list: m.equipment_receipt.map((r) => r.receipt_no).join(", ") })) : null,
      line(["completed", "not_fixed"].includes(v.status), `${t(`visit.status.${v.status}`)}${v.outcome_summary ? ` — ${v.outcome_summary}` : ""}`, "outcome"),
      line(data.charges.due_fen <= 0, t("done.charges", { total: formatFen(data.charges.total_fen), paid: formatFen(data.charges.paid_fen) }), "charges"),
      line(finished, finished ? t("done.signed", { name: signoff.customer_name }) : t("done.not_signed"), "signoff"),
      line(m.feedback.length > 0, m.feedback.length ? t("done.feedback", { n: m.feedback[0].satisfaction }) : t("done.no_feedback"), "signoff"),
    ),
  );
}
