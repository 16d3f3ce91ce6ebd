// What the phone shows of a visit: the server's records from the last pull, with the operations
// still in the outbox laid over them. Pure functions: the same input always gives the same view,
// so Node's tests check the merge and the sign-off digest input without a browser.

import { computeCharges } from "./core/charges.js";
import { livePartEvents, signoffView } from "./core/digest.js";
import { onsiteArrivalDue, clockState, ONSITE_ARRIVAL_MINUTES } from "./core/sla.js";
import { warrantyStatus, whatItMeans } from "./core/warranty.js";
import { canTransition } from "./ops.js";

// Insert-only records: the op kind that creates each, and the entity the pull names it by.
const INSERTS = {
  "part.add": "part_event",
  "payment.record": "payment",
  "payment.void": "payment_void",
  "charge.waive": "charge_waiver",
  "equipment_receipt.issue": "equipment_receipt",
  "damage.record": "damage",
  "feedback.submit": "feedback",
  "signoff.sign": "signoff",
  "payment.promise": "payment_promise",
};
export const FIELD_ENTITIES = ["checklist_item", ...Object.values(INSERTS), "conflict"];
const TRANSITION_FIELDS = [
  "late_reason",
  "customer_informed",
  "permission_granted",
  "outcome_summary",
  "explanation",
  "escalate",
];

/** Return today's calendar day in the company's zone (Asia/Shanghai) as YYYY-MM-DD. */
export function companyDay(ms) {
  // en-CA formats dates as YYYY-MM-DD.
  return new Intl.DateTimeFormat("en-CA", { timeZone: "Asia/Shanghai" }).format(new Date(ms));
}

/** Return the key a field record is stored under. */
export function recordKey(entity, id) {
  return `${entity}:${id}`;
}

/** Return the entity an op creates or changes, and its id, as the pull would name them. */
export function opTarget(op) {
  if (op.kind === "visit.transition") return { entity: "visit", id: op.visit_id };
  if (op.kind === "checklist.set") return { entity: "checklist_item", id: op.record_id };
  return { entity: INSERTS[op.kind], id: op.record_id };
}

/** Return the record an applied op leaves on the server (what we show until the next pull). */
export function recordFromOp(op) {
  const { entity, id } = opTarget(op);
  return { entity, id, visit_id: op.visit_id, data: { id, visit_id: op.visit_id, ...op.payload, hlc: op.hlc } };
}

/** Return the visit with a transition's changes applied (only non-null fields are taken). */
export function applyTransition(visit, payload) {
  const next = { ...visit, status: payload.to };
  for (const name of TRANSITION_FIELDS) if (payload[name] != null) next[name] = payload[name];
  return next;
}

/**
 * Merge a visit's server records with its pending ops into what the screens show.
 * records: [{entity, id, visit_id, data}]; ops: outbox ops of this visit in seq order.
 */
export function mergeVisit(visit, records, ops) {
  const out = {
    visit: { ...visit, pending: false },
    checklist: {},
    part_event: [],
    payment: [],
    payment_void: [],
    charge_waiver: [],
    equipment_receipt: [],
    damage: [],
    feedback: [],
    signoff: [],
    payment_promise: [],
    conflict: [],
  };
  const byId = {};
  for (const r of records) {
    if (r.entity === "checklist_item") {
      out.checklist[r.data.item_id] = { ...r.data, pending: false };
    } else if (out[r.entity]) {
      const row = { ...r.data, id: r.data.id ?? r.id, pending: false };
      byId[recordKey(r.entity, row.id)] = row;
      out[r.entity].push(row);
    }
  }
  for (const op of ops) {
    if (op.kind === "visit.transition") {
      // A transition the server would refuse is shown as not (yet) applied.
      if (canTransition(out.visit.status, op.payload.to)) {
        out.visit = { ...applyTransition(out.visit, op.payload), pending: true };
        // Until the server has it, the phone's own time of arrival stops the S5b clock.
        if (op.payload.to === "arrived" && !out.visit.arrived_at) out.visit.arrived_at = op.device_time;
      }
    } else if (op.kind === "checklist.set") {
      out.checklist[op.payload.item_id] = { ...op.payload, id: op.record_id, hlc: op.hlc, pending: true };
    } else {
      const entity = INSERTS[op.kind];
      if (byId[recordKey(entity, op.record_id)]) continue; // already pulled
      out[entity].push({ id: op.record_id, visit_id: op.visit_id, ...op.payload, device_time: op.device_time, pending: true, seq: op.seq });
    }
  }
  return out;
}

/** Return the warranty of the visit's equipment on `day` and what it means for charges. */
export function warrantyOf(equipment, day) {
  const status = equipment
    ? warrantyStatus(equipment.acceptance_date, equipment.warranty_months, day)
    : warrantyStatus(null, null, day);
  return { status, meaning: whatItMeans(status) };
}

/**
 * Return the calendar day whose warranty status decides the visit's charges: the server sends it
 * (warranty_day); before that, the appointment day, else the day the request came in (as the server).
 */
export function warrantyDay(visit, nowMs) {
  if (visit.warranty_day) return visit.warranty_day;
  const moment = visit.window_start ?? visit.request?.received_at;
  const ms = moment ? Date.parse(moment) : NaN;
  return companyDay(Number.isNaN(ms) ? nowMs : ms);
}

/** Return the charges of a merged visit: {currency, parts_fen, fee_fen, waived_fen, total_fen, paid_fen, due_fen}. */
export function chargesOf(merged, inWarranty) {
  const live = livePartEvents(merged.part_event.map(normalPart));
  const gross = computeCharges(
    inWarranty,
    live.map((p) => ({ kind: p.kind, qty: p.qty, unit_cost_fen: p.unit_cost_fen, reversed: false })),
    merged.visit.onsite_fee_fen ?? 0,
    Boolean(merged.visit.inspection_only),
  );
  const waived = merged.charge_waiver.reduce((sum, w) => sum + w.amount_fen, 0);
  const voided = new Set(merged.payment_void.map((v) => v.payment_id));
  const paid = merged.payment.filter((p) => !voided.has(p.id)).reduce((s, p) => s + p.amount_fen, 0);
  const total = Math.max(0, gross.parts_fen + gross.fee_fen - waived);
  return { ...gross, waived_fen: waived, total_fen: total, paid_fen: paid, due_fen: Math.max(0, total - paid) };
}

function normalPart(p) {
  return { ...p, reverses: p.reverses ?? null };
}

/** Return the input of digest.js signoffView for a merged visit (the same input the server uses). */
export function signoffInput(merged, inWarranty) {
  const v = merged.visit;
  // The server's own terms for the visit when it sent them; the same rules computed otherwise.
  const feeFen = Number.isInteger(v.fee_fen) ? v.fee_fen : chargesOf(merged, inWarranty).fee_fen;
  return {
    visit_id: v.id,
    outcome: v.outcome_summary ?? null,
    fee_fen: feeFen,
    parts_charged: typeof v.parts_charged === "boolean" ? v.parts_charged : !inWarranty,
    checklist: Object.values(merged.checklist),
    parts: merged.part_event.map(normalPart),
    payments: merged.payment,
    voided_payment_ids: merged.payment_void.map((v) => v.payment_id),
    waivers: merged.charge_waiver,
    equipment_receipts: merged.equipment_receipt.map((r) => ({ ...r, serial: r.serial ?? "" })),
  };
}

/** Return the sign-off view the customer is shown and signs. */
export function signoffViewOf(merged, inWarranty) {
  return signoffView(signoffInput(merged, inWarranty));
}

/** Return the S5b arrival clock of a visit at `nowMs`: {state, minutes_remaining, minutes_overdue}. */
export function arrivalClock(visit, nowMs) {
  const req = visit.request || {};
  if (!req.received_at) return { state: "not_applicable", minutes_remaining: null, minutes_overdue: null };
  const due = onsiteArrivalDue(req.received_at, req.needs_visit !== false);
  const doneAt = visit.arrived_at ?? null;
  return clockState(due, doneAt, new Date(nowMs), { windowMinutes: ONSITE_ARRIVAL_MINUTES });
}

/** Return visits in the order an engineer works them: by appointment, unscheduled last. */
export function sortByAppointment(visits) {
  return [...visits].sort((a, b) => {
    const x = a.window_start ?? "~";
    const y = b.window_start ?? "~";
    return x < y ? -1 : x > y ? 1 : a.id - b.id;
  });
}
