// Sign-off (S24): what was done, the parts and the charges, shown to the customer; their name and
// signature; the digest of exactly what they saw; then the feedback form.

import { formatFen } from "../core/charges.js";
import { digestVisit } from "../core/digest.js";
import { locale, t } from "../i18n.js";
import { signaturePad } from "../media.js";
import { signoffViewOf } from "../model.js";
import { loadVisit } from "../store.js";
import { field, formValues, h } from "../ui.js";
import { markDirty } from "../app.js";
import { back, errorTexts, pendingMark } from "./common.js";
import { frame, stepHref } from "./visit/steps.js";


function itemText(template, itemId) {
  for (const sec of template?.body?.sections ?? []) {
    const item = sec.items.find((i) => i.id === itemId);
    if (item) return item.text[locale()] ?? item.text.en;
  }
  return itemId;
}

function summary(data, view) {
  const c = view.charges;
  return h(
    "div",
    { class: "block summary", id: "signoff-summary" },
    h("h2", {}, t("signoff.what_was_done")),
    h("p", { id: "signoff-outcome" }, t(`visit.status.${data.merged.visit.status}`), view.outcome ? ` — ${view.outcome}` : ""),
    data.merged.visit.explanation ? h("p", {}, t("visit.explanation"), ": ", data.merged.visit.explanation) : null,
    h(
      "ul",
      { class: "list" },
      view.checklist.map((ci) => h("li", {}, `${t(`check.${ci.state}`)} · ${itemText(data.template, ci.item_id)}`, ci.note ? ` — ${ci.note}` : "")),
    ),
    h("h2", {}, t("part.title")),
    view.parts.length
      ? h("ul", { class: "list" }, view.parts.map((p) => h("li", { class: p.reverses ? "reversal" : "" }, `${t(`part.${p.kind}`)} ${p.part_code} ×${p.qty} · ${formatFen(p.unit_cost_fen)}`, p.reverses ? ` (${t("part.correction")})` : "")))
      : h("p", { class: "empty" }, t("part.none")),
    h("h2", {}, t("charges.title")),
    h(
      "table",
      { class: "charges-table" },
      h(
        "tbody",
        {},
        h("tr", {}, h("th", {}, t("charges.parts")), h("td", {}, formatFen(c.parts_fen))),
        h("tr", {}, h("th", {}, t("charges.fee")), h("td", {}, formatFen(c.fee_fen))),
        c.waived_fen ? h("tr", {}, h("th", {}, t("charges.waived")), h("td", {}, formatFen(-c.waived_fen))) : null,
        h("tr", {}, h("th", {}, t("charges.total")), h("td", { class: "strong", id: "signoff-total" }, formatFen(c.total_fen))),
      ),
    ),
    view.payments.length
      ? h("ul", { class: "list" }, view.payments.map((p) => h("li", { class: p.voided ? "cancelled" : "" }, `${p.receipt_no} · ${t(`method.${p.method}`)} · ${formatFen(p.amount_fen)}`)))
      : null,
    view.equipment_receipts.length ? h("ul", { class: "list" }, view.equipment_receipts.map((r) => h("li", {}, `${r.receipt_no} · ${r.description}`))) : null,
  );
}

/** Return the Sign-off screen. */
export async function render(ctx) {
  const data = await loadVisit(Number(ctx.params[0]));
  if (!data) return h("section", { class: "screen" }, back("#/today"), h("p", {}, t("visit.missing")));
  const id = data.merged.visit.id;
  const inWarranty = data.inWarranty;
  const view = signoffViewOf(data.merged, inWarranty);
  const canvas = h("canvas", { class: "signature", id: "signature", "aria-label": t("signature.area"), onpointerdown: markDirty });
  const pad = signaturePad(canvas);
  const signed = data.merged.signoff.map((s) =>
    h("li", { class: s.stale ? "warn" : "" }, "✓ ", s.customer_name, " ", pendingMark(s), s.stale ? ` — ${t("problem.stale")}` : ""),
  );

  const signForm = (vals = {}, err = {}) => {
    const el = h(
      "form",
      { id: "signoff-form", class: "form", novalidate: true },
      field(t("signoff.customer_name"), h("input", { name: "customer_name", value: vals.customer_name ?? data.customer?.contact_person ?? "" }), err.customer_name),
      // "Clear" sits above the pad, away from "sign" below it.
      h("div", { class: "sign-head" }, h("p", {}, t("signoff.confirm")), h("button", { type: "button", class: "secondary small-btn", onclick: () => pad.clear() }, t("signature.clear"))),
      canvas,
      err.signature_blob ? h("p", { class: "field-error", role: "alert" }, err.signature_blob) : null,
      h("button", { type: "submit", class: "primary wide", id: "signoff-save" }, t("signoff.sign")),
    );
    el.addEventListener("submit", async (e) => {
      e.preventDefault();
      const values = formValues(el);
      const signature = pad.isEmpty() ? null : await pad.toBlob();
      // The digest covers exactly the view drawn above, which the customer has just read.
      const digest = await digestVisit(view);
      const result = await ctx.save(
        "signoff.sign",
        id,
        (_receipt, hlc) => ({ customer_name: values.customer_name.trim(), signature_blob: signature?.sha ?? null, digest, signed_hlc: hlc }),
        { blobs: signature ? [signature] : [] },
      );
      if (result?.errors) el.replaceWith(signForm(values, errorTexts(result)));
    });
    return el;
  };

  const stars = (vals, err) =>
    h(
      "fieldset",
      { class: "stars" },
      h("legend", {}, t("feedback.satisfaction")),
      [1, 2, 3, 4, 5].map((n) =>
        h("label", { class: "star" }, h("input", { type: "radio", name: "satisfaction", value: String(n), checked: vals.satisfaction === String(n) }), h("span", {}, String(n))),
      ),
      h("p", { class: "small" }, t("feedback.scale")),
      err.satisfaction ? h("p", { class: "field-error", role: "alert" }, err.satisfaction) : null,
    );
  const feedbackForm = (vals = {}, err = {}) => {
    const el = h(
      "form",
      { id: "feedback-form", class: "form", novalidate: true },
      stars(vals, err),
      field(t("feedback.comments"), h("textarea", { name: "comments", rows: 3 }, vals.comments ?? ""), err.comments),
      h("button", { type: "submit", class: "primary", id: "feedback-save" }, t("feedback.submit")),
    );
    el.addEventListener("submit", async (e) => {
      e.preventDefault();
      const values = formValues(el);
      const result = await ctx.save("feedback.submit", id, { satisfaction: Number(values.satisfaction ?? NaN), comments: values.comments.trim() });
      if (result?.errors) el.replaceWith(feedbackForm(values, errorTexts(result)));
      else ctx.go(stepHref(id, "done"));
    });
    return el;
  };

  // Once signed (and the signature still matches the visit) the pad goes away: the next thing is
  // the customer's feedback, then the finished screen.
  const isSigned = data.merged.signoff.some((s) => !s.stale);
  const feedback = h(
    "section",
    { class: "block", id: "feedback" },
    h("h2", {}, t("feedback.title")),
    data.merged.feedback.length
      ? h("ul", { class: "list" }, data.merged.feedback.map((f) => h("li", {}, "★".repeat(f.satisfaction), f.comments ? ` — ${f.comments}` : "", " ", pendingMark(f))))
      : feedbackForm(),
    h("a", { class: "button secondary wide", href: stepHref(id, "done"), id: "to-done" }, data.merged.feedback.length ? t("steps.next", { step: t("steps.done") }) : t("feedback.skip"), " ›"),
  );
  const signoffs = h("section", { class: "block", id: "signoffs" }, h("h2", {}, t("signoff.title")), signed.length ? h("ul", { class: "list" }, signed) : null, isSigned ? null : signForm());
  return frame(data, "signoff", isSigned ? [signoffs, feedback] : [summary(data, view), signoffs]);
}
