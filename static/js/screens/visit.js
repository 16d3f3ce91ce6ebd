// The visit (S13-S31): customer and equipment, warranty, arrival, permission, checklist, damaged
// hardware, parts, equipment taken back, and the outcome.

import { formatFen } from "../core/charges.js";
import { locale, t } from "../i18n.js";
import { checklistRecordId, parseYuan, transitionPayload } from "../ops.js";
import { livePartEvents } from "../core/digest.js";
import { shrinkPhoto, signaturePad } from "../media.js";
import { loadVisit } from "../store.js";
import { field, formValues, h } from "../ui.js";
import { markDirty } from "../app.js";
import { back, choices, clockBadge, conflictText, errorTexts, pendingMark, problemText, visitHeader, warrantyBlock, when } from "./common.js";

const TERMINAL = ["completed", "not_fixed", "cancelled"];

/** Build a form whose content build(values, errors) can be redrawn in place with errors. */
function form(id, build, onSubmit) {
  const draw = (values = {}, errors = {}) => {
    const el = h("form", { id, class: "form", novalidate: true }, build(values, errors));
    el.addEventListener("submit", async (e) => {
      e.preventDefault();
      const button = el.querySelector("button[type=submit]");
      if (button) button.disabled = true;
      const values = formValues(el);
      try {
        const result = await onSubmit(values, el);
        if (result?.errors) el.replaceWith(draw(values, errorTexts(result)));
      } finally {
        if (button) button.disabled = false;
      }
    });
    return el;
  };
  return draw();
}

const input = (name, value = "", attrs = {}) => h("input", { name, value: value ?? "", ...attrs });
const area = (name, value = "") => h("textarea", { name, rows: 3 }, value ?? "");
const check = (name, checked, label) =>
  h("label", { class: "check" }, h("input", { type: "checkbox", name, checked: Boolean(checked) }), " ", label);
const submit = (label, id) => h("button", { type: "submit", class: "primary", id }, label);

function section(title, id, ...body) {
  return h("section", { class: "block", id }, h("h2", {}, title), body);
}

// --- customer, equipment, warranty --------------------------------------------------------------

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
    h("p", {}, t("visit.contact"), " ", req.contact_name ?? customer?.contact_person ?? "", " ", phone ? h("a", { href: `tel:${phone}` }, phone) : null),
    address ? h("p", {}, h("a", { href: `https://uri.amap.com/search?keyword=${encodeURIComponent(address)}`, target: "_blank", rel: "noopener" }, address)) : null,
    item
      ? h("p", { id: "equipment" }, t("visit.equipment"), " ", `${item.brand} ${item.model}`, item.serial_number ? ` · ${item.serial_number}` : "")
      : h("p", {}, t("visit.no_equipment")),
    warrantyBlock(warranty),
  );
}

// --- arrival (S16), permission (S17), outcome (S22, S30) ------------------------------------------

function progress(data, ctx) {
  const v = data.merged.visit;
  const id = v.id;
  const move = (to, fields) => ctx.save("visit.transition", id, transitionPayload(to, fields), { recordId: String(id) });
  const late = data.clock.state === "missed" || (v.window_end && Date.now() > Date.parse(v.window_end));
  const parts = [h("p", {}, t("visit.status"), " ", h("strong", { id: "visit-status" }, t(`visit.status.${v.status}`)), " ", clockBadge(data.clock))];
  if (v.status === "scheduled") {
    parts.push(h("button", { type: "button", class: "secondary", id: "en-route", onclick: () => move("en_route") }, t("visit.en_route")));
  }
  if (v.status === "scheduled" || v.status === "en_route") {
    parts.push(
      form(
        "arrive-form",
        (vals, err) => [
          late ? h("p", { class: "warn" }, t("visit.late_notice")) : null,
          field(late ? t("visit.late_reason_required") : t("visit.late_reason"), input("late_reason", vals.late_reason), err.late_reason),
          check("customer_informed", vals.customer_informed, t("visit.customer_informed")),
          submit(t("visit.arrived"), "arrive"),
        ],
        (vals) => {
          if (late && !vals.late_reason.trim()) return { errors: { late_reason: "error.late_reason" } };
          return move("arrived", {
            late_reason: vals.late_reason.trim() || null,
            customer_informed: vals.late_reason.trim() || late ? vals.customer_informed : null,
          });
        },
      ),
    );
  }
  if (v.status === "arrived") {
    parts.push(
      h("p", {}, t("visit.permission_ask")),
      h("button", { type: "button", class: "primary", id: "permission", onclick: () => move("in_progress", { permission_granted: true }) }, t("visit.permission_granted")),
    );
  }
  if (v.status === "in_progress") {
    parts.push(
      form(
        "outcome-form",
        (vals, err) => [
          h("p", {}, t("visit.outcome_ask")),
          field(t("visit.outcome_summary"), area("outcome_summary", vals.outcome_summary), err.outcome_summary),
          field(t("visit.explanation"), area("explanation", vals.explanation), err.explanation),
          check("escalate", vals.escalate ?? true, t("visit.escalate")),
          h(
            "div",
            { class: "row" },
            h("button", { type: "submit", class: "primary", name: "fixed", id: "outcome-fixed", value: "1" }, t("visit.fixed")),
            h("button", { type: "button", class: "danger", id: "outcome-not-fixed", onclick: notFixed }, t("visit.not_fixed")),
          ),
        ],
        (vals) => move("completed", { outcome_summary: vals.outcome_summary.trim() }),
      ),
    );
  }
  async function notFixed(e) {
    const el = e.target.closest("form");
    const vals = formValues(el);
    const result = await move("not_fixed", {
      outcome_summary: vals.outcome_summary.trim() || null,
      explanation: vals.explanation.trim(),
      escalate: vals.escalate,
    });
    if (result?.errors) {
      const box = el.querySelector("[name=explanation]");
      box.setAttribute("aria-invalid", "true");
      box.after(h("p", { class: "field-error", role: "alert" }, t("error.explanation")));
    }
  }
  if (TERMINAL.includes(v.status)) {
    parts.push(
      v.outcome_summary ? h("p", { id: "outcome" }, t("visit.outcome_summary"), ": ", v.outcome_summary) : null,
      v.explanation ? h("p", {}, t("visit.explanation"), ": ", v.explanation) : null,
      v.escalate ? h("p", { class: "warn" }, t("visit.escalated")) : null,
    );
  }
  if (v.late_reason) parts.push(h("p", { class: "small" }, t("visit.late_reason"), ": ", v.late_reason, v.customer_informed ? ` · ${t("visit.customer_informed")}` : ""));
  if (v.permission_granted) parts.push(h("p", { class: "small" }, "✓ ", t("visit.permission_granted")));
  return section(t("visit.progress"), "progress", parts);
}

// --- checklist -------------------------------------------------------------------------------------

function checklist(data, ctx) {
  const template = data.template?.body;
  if (!template) return section(t("checklist.title"), "checklist", h("p", {}, t("checklist.none")));
  const lang = locale();
  const id = data.merged.visit.id;
  const setItem = (itemId, state, note) =>
    ctx.save("checklist.set", id, { item_id: itemId, state, note }, { recordId: checklistRecordId(id, itemId) });
  const conflicts = new Set(data.merged.conflict.filter((c) => c.entity === "checklist_item").map((c) => c.record_id));
  return section(
    t("checklist.title"),
    "checklist",
    template.sections.map((sec) =>
      h(
        "details",
        { class: "check-section", open: sec.id !== "after" || TERMINAL.includes(data.merged.visit.status), dataset: { section: sec.id } },
        h("summary", {}, sec.title[lang] ?? sec.title.en),
        sec.items.map((item) => {
          const current = data.merged.checklist[item.id];
          const noteInput = h("input", { name: "note", value: current?.note ?? "", placeholder: t("checklist.note"), "aria-label": t("checklist.note") });
          return h(
            "div",
            { class: "check-item", dataset: { item: item.id, state: current?.state ?? "" } },
            h("p", {}, item.text[lang] ?? item.text.en, " ", pendingMark(current ?? {}), conflicts.has(checklistRecordId(id, item.id)) ? h("span", { class: "badge warn" }, t("checklist.conflict")) : null),
            choices(item.id, [["done", t("check.done")], ["na", t("check.na")], ["open", t("check.open")]], current?.state, (state) => setItem(item.id, state, noteInput.value)),
            h(
              "details",
              { class: "note", open: Boolean(current?.note) },
              h("summary", {}, t("checklist.note")),
              h("div", { class: "row" }, noteInput, h("button", { type: "button", class: "secondary small-btn", onclick: () => setItem(item.id, current?.state ?? "open", noteInput.value) }, t("checklist.save_note"))),
            ),
          );
        }),
      ),
    ),
  );
}

// --- damaged hardware (S20) --------------------------------------------------------------------------

function damage(data, ctx) {
  const id = data.merged.visit.id;
  const item = data.item;
  const list = data.merged.damage.map((d) =>
    h("li", {}, `${d.brand} ${d.model}`, d.warranty_claimed ? ` · ${t("damage.claimed")}` : "", d.description ? ` — ${d.description}` : "", " ", pendingMark(d)),
  );
  const photo = (name, label, err, multiple = false) =>
    field(label, h("input", { type: "file", name, accept: "image/*", capture: "environment", multiple }), err);
  return section(
    t("damage.title"),
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

// --- parts (S31), corrections as reversal events ----------------------------------------------------

function parts(data, ctx) {
  const id = data.merged.visit.id;
  const events = data.merged.part_event.map((p) => ({ ...p, reverses: p.reverses ?? null }));
  const live = new Set(livePartEvents(events).map((p) => p.id));
  const reversed = new Set(events.filter((p) => p.reverses).map((p) => p.reverses));
  const correct = (p) =>
    ctx.save("part.add", id, { kind: p.kind, part_code: p.part_code, description: p.description, qty: p.qty, unit_cost_fen: p.unit_cost_fen, reverses: p.id });
  const rows = events.map((p) =>
    h(
      "li",
      { class: p.reverses ? "reversal" : reversed.has(p.id) ? "cancelled" : "", dataset: { part: p.id } },
      h("span", {}, t(`part.${p.kind}`), " · ", p.part_code, p.description ? ` ${p.description}` : "", ` ×${p.qty} · ${formatFen(p.unit_cost_fen)}`),
      p.reverses ? h("span", { class: "small" }, " ", t("part.correction")) : null,
      reversed.has(p.id) ? h("span", { class: "small" }, " ", t("part.cancelled")) : null,
      " ",
      pendingMark(p),
      live.has(p.id) ? h("button", { type: "button", class: "secondary small-btn", onclick: () => correct(p) }, t("part.correct")) : null,
    ),
  );
  return section(
    t("part.title"),
    "parts",
    rows.length ? h("ul", { class: "list" }, rows) : h("p", { class: "empty" }, t("part.none")),
    h(
      "details",
      {},
      h("summary", { class: "button secondary" }, t("part.add")),
      form(
        "part-form",
        (vals, err) => [
          field(
            t("part.kind"),
            h("select", { name: "kind" }, ["used", "replaced", "returned"].map((k) => h("option", { value: k, selected: vals.kind === k }, t(`part.${k}`)))),
            err.kind,
          ),
          field(t("part.code"), input("part_code", vals.part_code), err.part_code),
          field(t("part.description"), input("description", vals.description), err.description),
          field(t("part.qty"), input("qty", vals.qty ?? "1", { inputmode: "numeric" }), err.qty),
          field(t("part.unit_cost"), input("unit_cost", vals.unit_cost ?? "0", { inputmode: "decimal" }), err.unit_cost_fen),
          submit(t("part.save"), "part-save"),
        ],
        (vals) =>
          ctx.save("part.add", id, {
            kind: vals.kind,
            part_code: vals.part_code.trim(),
            description: vals.description.trim(),
            qty: /^\d+$/.test(vals.qty.trim()) ? Number(vals.qty.trim()) : NaN,
            unit_cost_fen: parseYuan(vals.unit_cost) ?? NaN,
            reverses: null,
          }),
      ),
    ),
  );
}

// --- equipment taken back (S21) -------------------------------------------------------------------------

function takenBack(data, ctx) {
  const id = data.merged.visit.id;
  const item = data.item;
  let pad = null;
  const canvas = h("canvas", { class: "signature", id: "receipt-signature", "aria-label": t("signature.area"), onpointerdown: markDirty });
  const rows = data.merged.equipment_receipt.map((r) =>
    h("li", {}, h("a", { href: `#/visit/${id}/receipt/equipment_receipt/${r.id}` }, r.receipt_no), " ", r.description, " ", pendingMark(r)),
  );
  const details = h(
    "details",
    { ontoggle: () => { if (details.open && !pad) pad = signaturePad(canvas); } },
    h("summary", { class: "button secondary" }, t("receipt_e.add")),
    form(
      "equipment-receipt-form",
      (vals, err) => [
        field(t("receipt_e.description"), input("description", vals.description ?? (item ? `${item.brand} ${item.model}` : "")), err.description),
        field(t("damage.brand"), input("brand", vals.brand ?? item?.brand ?? ""), err.brand),
        field(t("damage.model"), input("model", vals.model ?? item?.model ?? ""), err.model),
        field(t("receipt_e.serial"), input("serial", vals.serial ?? item?.serial_number ?? ""), err.serial),
        field(t("receipt_e.accessories"), input("accessories", vals.accessories), err.accessories),
        field(t("receipt_e.condition"), input("condition", vals.condition), err.condition),
        field(t("signoff.customer_name"), input("customer_name", vals.customer_name ?? data.customer?.contact_person ?? ""), err.customer_name),
        h("p", {}, t("signature.ask")),
        canvas,
        err.signature_blob ? h("p", { class: "field-error", role: "alert" }, err.signature_blob) : null,
        h("button", { type: "button", class: "secondary small-btn", onclick: () => pad?.clear() }, t("signature.clear")),
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
  return section(t("receipt_e.title"), "taken-back", rows.length ? h("ul", { class: "list" }, rows) : null, details);
}

// --- what the server flagged ---------------------------------------------------------------------------

function flagged(data) {
  const items = [
    ...data.problems.map((p) => h("li", { class: "warn" }, problemText(p))),
    ...data.merged.conflict.map((c) => h("li", { class: "warn" }, conflictText(c))),
  ];
  if (!items.length) return null;
  return section(t("visit.flagged"), "flagged", h("ul", { class: "list" }, items));
}

/** Return the Visit screen. */
export async function render(ctx) {
  const data = await loadVisit(Number(ctx.params[0]));
  if (!data) return h("section", { class: "screen" }, back("#/today"), h("p", {}, t("visit.missing")));
  const id = data.merged.visit.id;
  return h(
    "section",
    { class: "screen visit" },
    back("#/today", "nav.today"),
    visitHeader(data),
    flagged(data),
    about(data),
    progress(data, ctx),
    checklist(data, ctx),
    damage(data, ctx),
    parts(data, ctx),
    takenBack(data, ctx),
    h(
      "div",
      { class: "next" },
      h("a", { class: "button primary", href: `#/visit/${id}/charges`, id: "to-charges" }, t("charges.title"), " ›"),
      h("a", { class: "button primary", href: `#/visit/${id}/signoff`, id: "to-signoff" }, t("signoff.title"), " ›"),
    ),
    h("p", { class: "small" }, t("visit.window"), " ", when(data.merged.visit.window_start), " – ", when(data.merged.visit.window_end)),
  );
}
