// The sign-off view of a visit and its digest: what the customer saw when signing.
// Twin of sync/digest.py and sync/merge.py's part totals; spec/vectors/digest.json checks both.

import { canonicalJson, compareCodePoints } from "./canonical.js";

export const VIEW_VERSION = 1;
export const CURRENCY = "CNY";
// Parts billed out of warranty (S3); a returned part is registered (S31), not billed.
export const CHARGEABLE_PART_KINDS = ["used", "replaced"];

/** Return the lowercase hex SHA-256 of text encoded as UTF-8. */
export async function sha256Hex(text) {
  const bytes = new TextEncoder().encode(text);
  const hash = await globalThis.crypto.subtle.digest("SHA-256", bytes);
  return Array.from(new Uint8Array(hash), (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Return the SHA-256 hex of value's canonical JSON. */
export async function canonicalDigest(value) {
  return sha256Hex(canonicalJson(value));
}

/** Return the part events that count: not corrections and not cancelled by one. */
export function livePartEvents(events) {
  const cancelled = new Set(events.filter((e) => e.reverses !== null).map((e) => e.reverses));
  return events.filter((e) => e.reverses === null && !cancelled.has(e.id));
}

/** Return the billable parts total in fen of the given live events. */
export function partsFen(liveEvents) {
  let total = 0;
  for (const e of liveEvents) {
    if (CHARGEABLE_PART_KINDS.includes(e.kind)) total += e.qty * e.unit_cost_fen;
  }
  return total;
}

function byId(key) {
  return (a, b) => compareCodePoints(String(a[key]), String(b[key]));
}

/**
 * Build the canonical sign-off view from a visit's merged records (same input as Python's
 * visit_signoff_view): {visit_id, outcome, fee_fen, parts_charged, checklist, parts, payments,
 * voided_payment_ids, waivers, equipment_receipts}. Records may carry extra keys.
 */
export function signoffView(input) {
  const voided = new Set(input.voided_payment_ids);
  const partsTotal = input.parts_charged ? partsFen(livePartEvents(input.parts)) : 0;
  const waived = input.waivers.reduce((sum, w) => sum + w.amount_fen, 0);
  return {
    v: VIEW_VERSION,
    visit_id: input.visit_id,
    outcome: input.outcome,
    checklist: input.checklist
      .map((c) => ({ item_id: c.item_id, state: c.state, note: c.note }))
      .sort(byId("item_id")),
    parts: input.parts
      .map((p) => ({
        id: p.id,
        kind: p.kind,
        part_code: p.part_code,
        description: p.description,
        qty: p.qty,
        unit_cost_fen: p.unit_cost_fen,
        reverses: p.reverses,
      }))
      .sort(byId("id")),
    charges: {
      currency: CURRENCY,
      parts_fen: partsTotal,
      fee_fen: input.fee_fen,
      waived_fen: waived,
      // A waiver larger than what is owed leaves nothing to pay, never a refund.
      total_fen: Math.max(0, partsTotal + input.fee_fen - waived),
    },
    payments: input.payments
      .map((p) => ({
        id: p.id,
        method: p.method,
        amount_fen: p.amount_fen,
        receipt_no: p.receipt_no,
        voided: voided.has(p.id),
      }))
      .sort(byId("id")),
    equipment_receipts: input.equipment_receipts
      .map((r) => ({ id: r.id, receipt_no: r.receipt_no, description: r.description, serial: r.serial }))
      .sort(byId("id")),
  };
}

/** Return the SHA-256 hex of a sign-off view's canonical JSON. */
export async function digestVisit(view) {
  return canonicalDigest(view);
}
