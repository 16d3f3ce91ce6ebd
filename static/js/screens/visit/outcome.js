// Step 6: the outcome (S22, S30). "Fixed" is the big button; "not fixed" sits apart, closed, asks
// for the explanation the customer is owed, and escalation is the engineer's choice, never preset.

import { t } from "../../i18n.js";
import { h } from "../../ui.js";
import { move } from "./arrive.js";
import { area, check, form, section, submit } from "./form.js";
import { TERMINAL, frame, nextLink, stepHref } from "./steps.js";

function field(label, name, vals, err, id) {
  return h(
    "div",
    { class: "field" },
    h("label", { for: id }, label),
    Object.assign(area(name, vals[name]), { id }),
    err[name] ? h("p", { class: "field-error", role: "alert" }, err[name]) : null,
  );
}

function decide(data, ctx) {
  const id = data.merged.visit.id;
  const after = (op) => {
    if (op && !op.errors) ctx.go(stepHref(id, "charges"));
    return op;
  };
  return [
    form(
      "outcome-form",
      (vals, err) => [
        field(t("visit.outcome_summary"), "outcome_summary", vals, err, "outcome-summary"),
        submit(t("visit.fixed"), "outcome-fixed"),
      ],
      async (vals) => after(await move(ctx, data, "completed", { outcome_summary: vals.outcome_summary.trim() })),
    ),
    h(
      "details",
      { class: "apart", id: "not-fixed" },
      h("summary", { class: "button secondary" }, t("visit.not_fixed_open")),
      form(
        "not-fixed-form",
        (vals, err) => [
          field(t("visit.outcome_summary"), "outcome_summary", vals, err, "nf-summary"),
          field(t("visit.explanation_required"), "explanation", vals, err, "nf-explanation"),
          check("escalate", vals.escalate ?? false, t("visit.escalate")),
          submit(t("visit.record_not_fixed"), "outcome-not-fixed", "danger"),
        ],
        async (vals) => {
          const explanation = vals.explanation.trim();
          if (!explanation) return { errors: { explanation: "error.explanation" } };
          return after(await move(ctx, data, "not_fixed", { outcome_summary: vals.outcome_summary.trim() || null, explanation, escalate: vals.escalate }));
        },
      ),
    ),
  ];
}

function decided(v) {
  return section(
    null,
    "outcome",
    h("p", {}, h("strong", { id: "visit-status" }, t(`visit.status.${v.status}`))),
    v.outcome_summary ? h("p", {}, t("visit.outcome_summary"), ": ", v.outcome_summary) : null,
    v.explanation ? h("p", {}, t("visit.explanation"), ": ", v.explanation) : null,
    v.escalate ? h("p", { class: "warn" }, t("visit.escalated")) : null,
  );
}

/** Return the Outcome step. */
export function render(data, ctx) {
  const v = data.merged.visit;
  let body;
  if (v.status === "in_progress") body = decide(data, ctx);
  else if (TERMINAL.includes(v.status)) body = [decided(v), nextLink(v.id, "outcome")];
  else body = h("p", {}, h("a", { href: stepHref(v.id, "arrive") }, t("visit.arrive_first")));
  return frame(data, "outcome", h("p", { class: "ask" }, t("visit.outcome_ask")), body);
}
