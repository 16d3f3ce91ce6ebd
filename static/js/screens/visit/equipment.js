// Damaged hardware (S20) and equipment taken back to the office with its receipt (S21).

import { t } from "../../i18n.js";
import { shrinkPhoto, signaturePad } from "../../media.js";
import { field, h } from "../../ui.js";
import { markDirty } from "../../app.js";
import { pendingMark } from "../common.js";
import { area, check, form, input, section, submit } from "./form.js";

/** Return the damaged-hardware block. */
export function damage(data, ctx) {
  const id = data.merged.visit.id;
  const item = data.item;
  const list = data.merged.damage.map((d) =>
    h("li", {}, `${d.brand} ${d.model}`, d.warranty_claimed ? ` · ${t("damage.claimed")}` : "", d.description ? ` — ${d.description}` : "", " ", pendingMark(d)),
  );
  const photo = (name, label, err, multiple = false) =>
    field(label, h("input", { type: "file", name, accept: "image/*", capture: "environment", multiple }), err);
  return section(
    null,
    "damage",
    list.length ? h("ul", { class: "list" }, list) : null,
    h(
      "details",
      {},
      h("summary", { class: "button secondary" }, t("damage.add")),
      form(
        "damage-form",
        (vals, err) => [
          field(t("damage.brand"), input("brand", vals.brand ?? item?.brand ?? ""), err.brand),
          field(t("damage.model"), input("model", vals.model ?? item?.model ?? ""), err.model),
          field(t("damage.description"), area("description", vals.description), err.description),
          check("warranty_claimed", vals.warranty_claimed ?? data.inWarranty, t("damage.warranty_claimed")),
          photo("purchase_proof", t("damage.purchase_proof"), err.purchase_proof_blob),
          photo("warranty_card", t("damage.warranty_card"), err.warranty_card_blob),
          photo("photos", t("damage.photos"), null, true),
          submit(t("damage.save"), "damage-save"),
        ],
        async (vals, el) => {
          const shrink = async (name) => Promise.all([...el.querySelector(`[name=${name}]`).files].map(shrinkPhoto));
          const [proof] = await shrink("purchase_proof");
          const [card] = await shrink("warranty_card");
          const photos = await shrink("photos");
          const blobs = [proof, card, ...photos].filter(Boolean);
          return ctx.save(
            "damage.record",
            id,
            {
              equipment_id: item?.id ?? null,
              brand: vals.brand.trim(),
              model: vals.model.trim(),
              description: vals.description.trim(),
              warranty_claimed: vals.warranty_claimed,
              purchase_proof_blob: proof?.sha ?? null,
              warranty_card_blob: card?.sha ?? null,
              photo_blobs: photos.map((p) => p.sha),
            },
            { blobs },
          );
        },
      ),
    ),
  );
}

/** Return the equipment-taken-back block: its receipts and the form that issues one. */
export function takenBack(data, ctx) {
  const id = data.merged.visit.id;
  const item = data.item;
  let pad = null;
  const canvas = h("canvas", { class: "signature", id: "receipt-signature", "aria-label": t("signature.area"), onpointerdown: markDirty });
  const rows = data.merged.equipment_receipt.map((r) =>
    h("li", {}, h("a", { href: `#/visit/${id}/receipt/equipment_receipt/${r.id}` }, r.receipt_no), " ", r.description, " ", pendingMark(r)),
  );
  const details = h(
    "details",
    {
      ontoggle: () => {
        if (details.open && !pad) pad = signaturePad(canvas);
      },
    },
    h("summary", { class: "button secondary", id: "receipt-add" }, t("receipt_e.add")),
    form(
      "equipment-receipt-form",
      (vals, err) => [
        field(t("receipt_e.description"), input("description", vals.description ?? (item ? `${item.brand} ${item.model}` : "")), err.description),
        field(t("receipt_e.serial"), input("serial", vals.serial ?? item?.serial_number ?? ""), err.serial),
        field(t("receipt_e.condition"), input("condition", vals.condition), err.condition),
        field(t("receipt_e.accessories"), input("accessories", vals.accessories), err.accessories),
        h(
          "details",
          { class: "more-fields" },
          h("summary", {}, t("receipt_e.more")),
          field(t("damage.brand"), input("brand", vals.brand ?? item?.brand ?? ""), err.brand),
          field(t("damage.model"), input("model", vals.model ?? item?.model ?? ""), err.model),
        ),
        field(t("signoff.customer_name"), input("customer_name", vals.customer_name ?? data.customer?.contact_person ?? ""), err.customer_name),
        h("div", { class: "sign-head" }, h("p", {}, t("signature.ask")), h("button", { type: "button", class: "secondary small-btn", onclick: () => pad?.clear() }, t("signature.clear"))),
        canvas,
        err.signature_blob ? h("p", { class: "field-error", role: "alert" }, err.signature_blob) : null,
        submit(t("receipt_e.issue"), "equipment-receipt-save"),
      ],
      async (vals) => {
        const signature = pad && !pad.isEmpty() ? await pad.toBlob() : null;
        const payload = (receiptNo) => ({
          receipt_no: receiptNo,
          description: vals.description.trim(),
          brand: vals.brand.trim(),
          model: vals.model.trim(),
          serial: vals.serial.trim(),
          accessories: vals.accessories.trim(),
          condition: vals.condition.trim(),
          customer_name: vals.customer_name.trim(),
          signature_blob: signature?.sha ?? null,
        });
        const op = await ctx.save("equipment_receipt.issue", id, payload, { receipt: "E", blobs: signature ? [signature] : [] });
        if (op?.record_id) ctx.go(`#/visit/${id}/receipt/equipment_receipt/${op.record_id}`);
        return op;
      },
    ),
  );
  return section(null, "taken-back", rows.length ? h("ul", { class: "list" }, rows) : null, details);
}
