// A receipt shown full screen for the customer to read (S21, S23).

import { blobImage } from "../blobs.js";
import { formatFen } from "../core/charges.js";
import { t } from "../i18n.js";
import { loadVisit } from "../store.js";
import { h } from "../ui.js";
import { when } from "./common.js";

/** Return the full-screen receipt of a payment or an equipment receipt. */
export async function render(ctx) {
  const [visitId, entity, recordId] = ctx.params;
  const data = await loadVisit(Number(visitId));
  const rows = data ? data.merged[entity] || [] : [];
  const r = rows.find((row) => row.id === recordId);
  const close = h("a", { class: "button primary", href: entity === "payment" ? `#/visit/${visitId}/charges` : `#/visit/${visitId}/parts`, id: "receipt-close" }, t("receipt.close"));
  if (!r) return h("section", { class: "screen receipt" }, h("p", {}, t("receipt.missing")), close);
  const req = data.merged.visit.request || {};
  const voided = data.merged.payment_void.some((v) => v.payment_id === r.id);
  const body =
    entity === "payment"
      ? [
          h("h1", {}, t("receipt.payment_title")),
          h("p", { class: "amount", id: "receipt-amount" }, formatFen(r.amount_fen)),
          h("p", {}, t(`method.${r.method}`), r.payer ? ` · ${r.payer}` : ""),
          voided ? h("p", { class: "warn" }, t("payment.voided")) : null,
        ]
      : [
          h("h1", {}, t("receipt.equipment_title")),
          h("p", { class: "amount" }, r.description),
          h("p", {}, [r.brand, r.model, r.serial].filter(Boolean).join(" · ")),
          r.accessories ? h("p", {}, t("receipt_e.accessories"), ": ", r.accessories) : null,
          r.condition ? h("p", {}, t("receipt_e.condition"), ": ", r.condition) : null,
          h("p", {}, t("signoff.customer_name"), ": ", r.customer_name),
          r.signature_blob ? blobImage(r.signature_blob, t("signature.area")) : null,
        ];
  return h(
    "section",
    { class: "screen receipt", id: "receipt" },
    h("p", { class: "company" }, t("app.company")),
    body,
    h("p", { class: "receipt-no", id: "receipt-no" }, r.receipt_no),
    h("p", { class: "small" }, t("receipt.request"), " ", req.number ?? "", " · ", when(r.device_time ?? new Date().toISOString())),
    r.pending ? h("p", { class: "small" }, t("receipt.offline_note")) : null,
    close,
  );
}
