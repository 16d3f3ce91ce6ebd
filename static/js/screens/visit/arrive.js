// Step 1: arriving (S16, late with its reason), the customer's permission to enter (S17), then who
// and what the visit is for. The action comes first; the reading comes after it.

import { t } from "../../i18n.js";
import { transitionPayload } from "../../ops.js";
import { h } from "../../ui.js";
import { clockBadge, warrantyBlock, when } from "../common.js";
import { area, check, form, input, section, submit } from "./form.js";
import { TERMINAL, frame, nextLink, stepHref } from "./steps.js";

/** Return whether arriving now is late: the S5b commitment missed or the appointment over. */
export function isLate(data) {
  const v = data.merged.visit;
  return data.clock.state === "missed" || Boolean(v.window_end && Date.now() > Date.parse(v.window_end));
}

export const move = (ctx, data, to, fields) =>
  ctx.save("visit.transition", data.merged.visit.id, transitionPayload(to, fields), { recordId: String(data.merged.visit.id) });

function arrival(data, ctx) {
  const v = data.merged.visit;
  const late = isLate(data);
  return [
    late ? h("p", { class: "warn", id: "late-notice" }, t("visit.late_notice")) : null,
    form(
      "arrive-form",
      (vals, err) => [
        late ? h("div", { class: "field" }, h("label", { for: "late-reason" }, t("visit.late_reason_required")), input("late_reason", vals.late_reason, { id: "late-reason", required: true }), err.late_reason ? h("p", { class: "field-error", role: "alert" }, err.late_reason) : null) : null,
        late ? check("customer_informed", vals.customer_informed, t("visit.customer_informed")) : null,
        submit(t("visit.arrived"), "arrive"),
      ],
      async (vals) => {
        const reason = (vals.late_reason ?? "").trim();
        if (late && !reason) return { errors: { late_reason: "error.late_reason" } };
        return move(ctx, data, "arrived", { late_reason: reason || null, customer_informed: late ? vals.customer_informed : null });
      },
    ),
    v.status === "scheduled"
      ? h("button", { type: "button", class: "secondary wide", id: "en-route", onclick: () => move(ctx, data, "en_route") }, t("visit.en_route"))
      : null,
  ];
}

function permission(data, ctx) {
  const id = data.merged.visit.id;
  return [
    h("p", { class: "ask" }, t("visit.permission_ask")),
    h(
      "button",
      {
        type: "button",
        class: "primary wide",
        id: "permission",
        onclick: async () => {
          const op = await move(ctx, data, "in_progress", { permission_granted: true });
          if (op && !op.errors) ctx.go(stepHref(id, "before"));
        },
      },
      t("visit.permission_granted"),
    ),
    // Kept apart from "yes": a refusal ends the visit and needs words for the customer (S22).
    h(
      "details",
      { class: "apart", id: "refused" },
      h("summary", { class: "button secondary" }, t("visit.permission_refused")),
      form(
        "refused-form",
        (vals, err) => [
          h("div", { class: "field" }, h("label", { for: "refused-explanation" }, t("visit.explanation_required")), area("explanation", vals.explanation), err.explanation ? h("p", { class: "field-error", role: "alert" }, err.explanation) : null),
          submit(t("visit.record_not_fixed"), "refused-save", "danger"),
        ],
        (vals) => {
          const explanation = (vals.explanation ?? "").trim();
          if (!explanation) return { errors: { explanation: "error.explanation" } };
          return move(ctx, data, "not_fixed", { permission_granted: false, explanation });
        },
      ),
    ),
  ];
}

function arrived(data) {
  const v = data.merged.visit;
  return h(
    "ul",
    { class: "list", id: "arrival-facts" },
    h("li", {}, "✓ ", t("visit.status.arrived"), v.arrived_at ? ` ${when(v.arrived_at)}` : ""),
    v.late_reason ? h("li", {}, t("visit.late_reason"), ": ", v.late_reason, v.customer_informed ? ` · ${t("visit.customer_informed")}` : "") : null,
    v.permission_granted === true ? h("li", {}, "✓ ", t("visit.permission_granted")) : null,
    v.permission_granted === false ? h("li", { class: "warn" }, t("visit.permission_refused")) : null,
  );
}

function about(data) {
  const { merged, customer, item, warranty } = data;
  const req = merged.visit.request || {};
  const phone = req.contact_phone || customer?.mobile || customer?.phone;
  const address = req.address || customer?.address;
  return section(
    t("visit.about"),
    "about",
    h("p", { class: "problem" }, h("strong", {}, t("visit.problem")), " ", req.problem ?? ""),
    req.symptoms ? h("p", {}, t("visit.symptoms"), " ", req.symptoms) : null,
    h("p", {}, t("visit.contact"), " ", req.contact_name ?? customer?.contact_person ?? "", " ", phone ? h("a", { href: `tel:${phone}`, class: "nowrap" }, phone) : null),
    address ? h("p", {}, h("a", { href: `https://uri.amap.com/search?keyword=${encodeURIComponent(address)}`, target: "_blank", rel: "noopener" }, address)) : null,
    item
      ? h("p", { id: "equipment" }, t("visit.equipment"), " ", `${item.brand} ${item.model}`, item.serial_number ? ` · ${item.serial_number}` : "")
      : h("p", {}, t("visit.no_equipment")),
    warrantyBlock(warranty),
    h("p", { class: "small" }, t("visit.window"), " ", when(merged.visit.window_start), " – ", when(merged.visit.window_end)),
  );
}

/** Return the Arrive step. */
export function render(data, ctx) {
  const v = data.merged.visit;
  const before = v.status === "scheduled" || v.status === "en_route";
  return frame(
    data,
    "arrive",
    h("p", {}, h("strong", { id: "visit-status" }, t(`visit.status.${v.status}`)), " ", clockBadge(data.clock)),
    before ? arrival(data, ctx) : null,
    v.status === "arrived" ? permission(data, ctx) : null,
    !before ? arrived(data) : null,
    v.status === "in_progress" || TERMINAL.includes(v.status) ? nextLink(v.id, "arrive") : null,
    about(data),
  );
}
