// Charges and payment (S2, S3, S23): what is owed by the shared rules, waivers with a reason,
// payments with a receipt number that is unique without a signal.

import { formatFen } from "../core/charges.js";
import { t } from "../i18n.js";
import { PAYMENT_METHODS, parseYuan } from "../ops.js";
import { loadVisit } from "../store.js";
import { field, formValues, h } from "../ui.js";
import { back, errorTexts, pendingMark, warrantyBlock } from "./common.js";
import { frame } from "./visit/steps.js";

function line(label, fen, id, strong = false) {
  return h("tr", { id }, h("th", { scope: "row" }, label), h("td", { class: strong ? "strong" : "" }, formatFen(fen)));
}

function simpleForm(id, build, onSubmit) {
  const draw = (vals = {}, errs = {}) => {
    const el = h("form", { id, class: "form", novalidate: true }, build(vals, errs));
    el.addEventListener("submit", async (e) => {
      e.preventDefault();
      const vals = formValues(el);
      const result = await onSubmit(vals);
      if (result?.errors) el.replaceWith(draw(vals, errorTexts(result)));
    });
    return el;
  };
  return draw();
}

/** Return the Charges and payment screen. */
export async function render(ctx) {
  const data = await loadVisit(Number(ctx.params[0]));
  if (!data) return h("section", { class: "screen" }, back("#/today"), h("p", {}, t("visit.missing")));
  const id = data.merged.visit.id;
  const c = data.charges;
  const voided = new Map(data.merged.payment_void.map((v) => [v.payment_id, v]));
  const payments = data.merged.payment.map((p) =>
    h(
      "li",
      { class: voided.has(p.id) ? "cancelled" : "", dataset: { payment: p.id } },
      h("a", { href: `#/visit/${id}/receipt/payment/${p.id}`, class: "receipt-no" }, p.receipt_no),
      ` · ${t(`method.${p.method}`)} · ${formatFen(p.amount_fen)}`,
      p.payer ? ` · ${p.payer}` : "",
      " ",
      pendingMark(p),
      voided.has(p.id) ? h("span", { class: "small" }, " ", t("payment.voided"), ": ", voided.get(p.id).reason) : voidForm(p),
    ),
  );

  function voidForm(p) {
    return h(
      "details",
      { class: "inline" },
      h("summary", { class: "small-btn button secondary" }, t("payment.void")),
      simpleForm(
        `void-${p.id}`,
        (vals, err) => [field(t("payment.void_reason"), h("input", { name: "reason", value: vals.reason ?? "" }), err.reason), h("button", { type: "submit", class: "danger" }, t("payment.void"))],
        (vals) => ctx.save("payment.void", id, { payment_id: p.id, reason: vals.reason.trim() }),
      ),
    );
  }

  const waiverForm = simpleForm(
    "waiver-form",
    (vals, err) => [
      field(t("waiver.amount"), h("input", { name: "amount", inputmode: "decimal", value: vals.amount ?? "" }), err.amount_fen),
      field(t("waiver.reason"), h("input", { name: "reason", value: vals.reason ?? "" }), err.reason),
      h("button", { type: "submit", class: "secondary", id: "waiver-save" }, t("waiver.save")),
    ],
    (vals) => ctx.save("charge.waive", id, { amount_fen: parseYuan(vals.amount) ?? NaN, reason: vals.reason.trim() }),
  );

  const paymentForm = simpleForm(
    "payment-form",
    (vals, err) => [
      field(
        t("payment.method"),
        h("select", { name: "method" }, PAYMENT_METHODS.map((m) => h("option", { value: m, selected: (vals.method ?? "cash") === m }, t(`method.${m}`)))),
        err.method,
      ),
      field(t("payment.amount"), h("input", { name: "amount", inputmode: "decimal", value: vals.amount ?? (c.due_fen ? (c.due_fen / 100).toFixed(2) : "") }), err.amount_fen),
      field(t("payment.payer"), h("input", { name: "payer", value: vals.payer ?? data.customer?.name ?? "" }), err.payer),
      h("button", { type: "submit", class: "primary", id: "payment-save" }, t("payment.take")),
    ],
    async (vals) => {
      const op = await ctx.save(
        "payment.record",
        id,
        (receiptNo) => ({ method: vals.method, amount_fen: parseYuan(vals.amount) ?? NaN, currency: "CNY", payer: vals.payer.trim(), receipt_no: receiptNo }),
        { receipt: "R" },
      );
      if (op?.record_id) ctx.go(`#/visit/${id}/receipt/payment/${op.record_id}`);
      return op;
    },
  );

  const promiseForm = simpleForm(
    "promise-form",
    (vals, err) => [
      field(
        t("payment.method"),
        h("select", { name: "method" }, PAYMENT_METHODS.map((m) => h("option", { value: m, selected: (vals.method ?? "bank_transfer") === m }, t(`method.${m}`)))),
        err.method,
      ),
      field(t("payment.amount"), h("input", { name: "amount", inputmode: "decimal", value: vals.amount ?? (c.due_fen ? (c.due_fen / 100).toFixed(2) : "") }), err.amount_fen),
      field(t("promise.payer"), h("input", { name: "payer", value: vals.payer ?? data.customer?.name ?? "" }), err.payer),
      field(t("promise.due_on"), h("input", { name: "due_on", type: "date", value: vals.due_on ?? "" }), err.due_on),
      field(t("promise.note"), h("input", { name: "note", value: vals.note ?? "" }), err.note),
      h("button", { type: "submit", class: "secondary", id: "promise-save" }, t("promise.save")),
    ],
    (vals) => ctx.save("payment.promise", id, { method: vals.method, amount_fen: parseYuan(vals.amount) ?? NaN, payer: vals.payer.trim(), due_on: vals.due_on, note: vals.note.trim() }),
  );
  const promises = data.merged.payment_promise.map((p) =>
    h("li", { dataset: { promise: p.id } }, `${t(`method.${p.method}`)} · ${formatFen(p.amount_fen)} · ${p.payer} · ${t("promise.due_on")} ${p.due_on} `, pendingMark(p)),
  );

  // The screen opens on the totals and what is due; with nothing due there is no payment form.
  const nothingDue = c.due_fen <= 0;
  return frame(
    data,
    "charges",
    h(
      "table",
      { class: "charges-table", id: "charges" },
      h(
        "tbody",
        {},
        line(t("charges.parts"), c.parts_fen, "charge-parts"),
        line(t("charges.fee"), c.fee_fen, "charge-fee"),
        c.waived_fen ? line(t("charges.waived"), -c.waived_fen, "charge-waived") : null,
        line(t("charges.total"), c.total_fen, "charge-total", true),
        line(t("charges.paid"), c.paid_fen, "charge-paid"),
        line(t("charges.due"), c.due_fen, "charge-due", true),
      ),
    ),
    data.merged.charge_waiver.length
      ? h("ul", { class: "list" }, data.merged.charge_waiver.map((w) => h("li", {}, t("charges.waived"), ` ${formatFen(w.amount_fen)} — ${w.reason} `, pendingMark(w))))
      : null,
    nothingDue ? h("p", { class: "nothing-due", id: "nothing-due" }, c.total_fen > 0 ? t("charges.all_paid") : t("charges.nothing_due")) : null,
    nothingDue ? h("a", { class: "button primary wide", href: `#/visit/${id}/signoff`, id: "to-signoff" }, t("steps.next", { step: t("steps.signoff") }), " ›") : null,
    h(
      "section",
      { class: "block", id: "payments" },
      h("h2", {}, t("payment.title")),
      payments.length ? h("ul", { class: "list" }, payments) : h("p", { class: "empty" }, t("payment.none")),
      nothingDue ? null : paymentForm,
    ),
    c.total_fen > 0 ? h("details", { class: "block" }, h("summary", { class: "button secondary" }, t("waiver.add")), waiverForm) : null,
    promises.length ? h("section", { class: "block", id: "promises" }, h("h2", {}, t("promise.title")), h("ul", { class: "list" }, promises)) : null,
    c.due_fen > 0 ? h("details", { class: "block" }, h("summary", { class: "button secondary" }, t("promise.add")), promiseForm) : null,
    warrantyBlock(data.warranty),
    nothingDue ? null : h("div", { class: "next" }, h("a", { class: "button secondary", href: `#/visit/${id}/signoff`, id: "to-signoff" }, t("signoff.title"), " ›")),
  );
}
