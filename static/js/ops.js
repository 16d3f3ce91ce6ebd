// Operations in the sync protocol's format (docs/sync-protocol.md), built and checked on the phone.
// Pure functions: no IndexedDB, no DOM, so Node's test runner checks them directly.
// The checks mirror the server's (sync/ops.py) so that an engineer sees a mistake beside the field
// while the customer is still there, instead of a rejection hours later.

export const PROTOCOL = 1;
export const SCHEMA_VERSION = 1;
export const MAX_BATCH = 500;

// The server's table of field limits (sync/limits.py), as spec/limits.json writes it out;
// tests/js/pwa_ops.test.js fails if the two ever differ.
export const LIMITS = Object.freeze({
  "text": {
    "envelope": {
      "record_id": 80,
      "hlc": 80,
      "device_time": 40
    },
    "visit.transition": {
      "late_reason": 500,
      "outcome_summary": 2000,
      "explanation": 2000
    },
    "checklist.set": {
      "item_id": 64,
      "note": 2000
    },
    "part.add": {
      "part_code": 100,
      "description": 2000
    },
    "payment.record": {
      "payer": 100,
      "receipt_no": 40
    },
    "payment.void": {
      "reason": 500
    },
    "charge.waive": {
      "reason": 500
    },
    "equipment_receipt.issue": {
      "receipt_no": 40,
      "description": 2000,
      "brand": 100,
      "model": 100,
      "serial": 100,
      "accessories": 2000,
      "condition": 2000,
      "customer_name": 100
    },
    "damage.record": {
      "brand": 100,
      "model": 100,
      "description": 2000
    },
    "feedback.submit": {
      "comments": 2000
    },
    "signoff.sign": {
      "customer_name": 100,
      "signed_hlc": 80
    },
    "payment.promise": {
      "payer": 100,
      "note": 2000
    }
  },
  "int": {
    "envelope": {
      "seq": [
        1,
        2147483647
      ],
      "visit_id": [
        1,
        2147483647
      ],
      "schema_version": [
        0,
        2147483647
      ]
    },
    "part.add": {
      "qty": [
        1,
        10000
      ],
      "unit_cost_fen": [
        0,
        1000000000
      ]
    },
    "payment.record": {
      "amount_fen": [
        1,
        1000000000
      ]
    },
    "charge.waive": {
      "amount_fen": [
        0,
        1000000000
      ]
    },
    "damage.record": {
      "equipment_id": [
        1,
        2147483647
      ]
    },
    "feedback.submit": {
      "satisfaction": [
        1,
        5
      ]
    },
    "payment.promise": {
      "amount_fen": [
        1,
        1000000000
      ]
    }
  },
  "max_photos": 20
});

export const TRANSITIONS = ["en_route", "arrived", "in_progress", "completed", "not_fixed"];
export const CHECK_STATES = ["done", "na", "open"];
export const PART_KINDS = ["used", "replaced", "returned"];
export const PAYMENT_METHODS = ["cash", "wechat", "alipay", "card", "bank_transfer"];
// Visit states in the order a visit moves through them (sync/merge.py VISIT_PROGRESS).
export const VISIT_PROGRESS = ["scheduled", "en_route", "arrived", "in_progress"];
export const VISIT_TERMINAL = ["completed", "not_fixed", "cancelled"];

/** Return an ISO 8601 time with the device's own UTC offset, e.g. 2026-11-28T10:00:00.000+08:00. */
export function deviceTime(ms, offsetMinutes = -new Date(ms).getTimezoneOffset()) {
  const local = new Date(ms + offsetMinutes * 60_000).toISOString().slice(0, 23);
  const sign = offsetMinutes < 0 ? "-" : "+";
  const abs = Math.abs(offsetMinutes);
  const hh = String(Math.floor(abs / 60)).padStart(2, "0");
  const mm = String(abs % 60).padStart(2, "0");
  return `${local}${sign}${hh}:${mm}`;
}

/** Return the record id of a checklist item: "<visit_id>:<item_id>". */
export function checklistRecordId(visitId, itemId) {
  return `${visitId}:${itemId}`;
}

/** Return the op envelope around a payload. */
export function envelope({ opId, seq, kind, recordId, visitId, hlc, payload, time }) {
  return {
    op_id: opId,
    seq,
    kind,
    record_id: recordId,
    visit_id: visitId,
    hlc,
    schema_version: SCHEMA_VERSION,
    payload,
    device_time: time,
  };
}

/** Return whether a visit in `current` may move to `to` (forward only, never out of an outcome). */
export function canTransition(current, to) {
  if (to === current || VISIT_TERMINAL.includes(current)) return false;
  const rank = (s) => (VISIT_TERMINAL.includes(s) ? VISIT_PROGRESS.length : VISIT_PROGRESS.indexOf(s));
  return rank(to) > rank(current);
}

// --- checks: each returns {field: message key} for what is wrong, empty when all is well ---

/** Return whether text can be stored: no NUL, no lone surrogate (sync/limits.py text_problem). */
export function isStorableText(v) {
  return !v.includes("\u0000") && v.isWellFormed();
}

// `kind` names the row of LIMITS the field's figure comes from.
function text(errors, payload, kind, name, required = false) {
  const v = payload[name];
  if (typeof v !== "string") errors[name] = "error.required";
  else if (v.length > LIMITS.text[kind][name]) errors[name] = "error.too_long";
  else if (!isStorableText(v)) errors[name] = "error.text";
  else if (required && !v.trim()) errors[name] = "error.required";
}

function integer(errors, payload, kind, name) {
  const v = payload[name];
  const [lo, hi] = LIMITS.int[kind][name];
  if (!Number.isInteger(v) || v < lo || v > hi) errors[name] = "error.number";
}

const CHECKS = {
  "visit.transition": (p, e) => {
    const k = "visit.transition";
    if (!TRANSITIONS.includes(p.to)) e.to = "error.choice";
    if (p.late_reason != null) text(e, p, k, "late_reason");
    if (p.outcome_summary != null) text(e, p, k, "outcome_summary");
    if (p.explanation != null) text(e, p, k, "explanation");
    // S22: a fault not fixed on site is explained to the customer.
    if (p.to === "not_fixed" && !(p.explanation || "").trim()) e.explanation = "error.required";
    if (p.to === "completed" && !(p.outcome_summary || "").trim()) e.outcome_summary = "error.required";
    // S17: work starts only with the customer's permission (the server refuses it otherwise).
    if (p.to === "in_progress" && p.permission_granted !== true) e.permission_granted = "error.required";
  },
  "checklist.set": (p, e) => {
    if (!CHECK_STATES.includes(p.state)) e.state = "error.choice";
    text(e, p, "checklist.set", "note");
  },
  "part.add": (p, e) => {
    const k = "part.add";
    if (!PART_KINDS.includes(p.kind)) e.kind = "error.choice";
    text(e, p, k, "part_code", true);
    text(e, p, k, "description");
    integer(e, p, k, "qty");
    integer(e, p, k, "unit_cost_fen");
  },
  "payment.record": (p, e) => {
    if (!PAYMENT_METHODS.includes(p.method)) e.method = "error.choice";
    integer(e, p, "payment.record", "amount_fen");
    text(e, p, "payment.record", "payer");
  },
  "payment.void": (p, e) => text(e, p, "payment.void", "reason", true),
  "charge.waive": (p, e) => {
    integer(e, p, "charge.waive", "amount_fen");
    text(e, p, "charge.waive", "reason", true);
  },
  "equipment_receipt.issue": (p, e) => {
    const k = "equipment_receipt.issue";
    text(e, p, k, "description", true);
    for (const f of ["brand", "model", "serial", "accessories", "condition"]) text(e, p, k, f);
    text(e, p, k, "customer_name", true);
    if (!p.signature_blob) e.signature_blob = "error.signature";
  },
  "damage.record": (p, e) => {
    const k = "damage.record";
    if (p.equipment_id != null) integer(e, p, k, "equipment_id");
    text(e, p, k, "brand", true);
    text(e, p, k, "model", true);
    text(e, p, k, "description");
    // S20: in warranty, the purchase proof and the warranty card are collected.
    if (p.warranty_claimed && !p.purchase_proof_blob) e.purchase_proof_blob = "error.photo";
    if (p.warranty_claimed && !p.warranty_card_blob) e.warranty_card_blob = "error.photo";
  },
  "feedback.submit": (p, e) => {
    integer(e, p, "feedback.submit", "satisfaction");
    text(e, p, "feedback.submit", "comments");
  },
  "signoff.sign": (p, e) => {
    text(e, p, "signoff.sign", "customer_name", true);
    if (!p.signature_blob) e.signature_blob = "error.signature";
  },
  // Money the customer will pay later: who, how, how much, by when (sync/ops.py payment.promise).
  "payment.promise": (p, e) => {
    if (!PAYMENT_METHODS.includes(p.method)) e.method = "error.choice";
    integer(e, p, "payment.promise", "amount_fen");
    text(e, p, "payment.promise", "payer", true);
    if (typeof p.due_on !== "string" || !/^\d{4}-\d{2}-\d{2}$/.test(p.due_on) || Number.isNaN(Date.parse(p.due_on))) e.due_on = "error.required";
    text(e, p, "payment.promise", "note");
  },
};

/** Return {field: message key} for what is wrong with a payload of `kind`; {} when it is fine. */
export function checkPayload(kind, payload) {
  const errors = {};
  const check = CHECKS[kind];
  if (!check) throw new RangeError(`unknown op kind ${kind}`);
  check(payload, errors);
  return errors;
}

/** Return a full visit.transition payload: every field present, null where not given. */
export function transitionPayload(to, fields = {}) {
  return {
    to,
    late_reason: fields.late_reason ?? null,
    customer_informed: fields.customer_informed ?? null,
    permission_granted: fields.permission_granted ?? null,
    outcome_summary: fields.outcome_summary ?? null,
    explanation: fields.explanation ?? null,
    escalate: fields.escalate ?? null,
  };
}

// The most an amount typed on the phone may be: the ops' own ceiling (sync.limits.MAX_FEN).
const MAX_TYPED_FEN = LIMITS.int["payment.record"].amount_fen[1];

/**
 * Parse a yuan amount typed by a person ("12", "12.5", "1,234.50") into integer fen, or null.
 * The rule is the server's (server/domain/charges.py parse_yuan): spec/vectors/yuan.json.
 */
export function parseYuan(text) {
  if (typeof text !== "string") return null;
  const m = /^[¥￥]?([0-9]{1,12})(?:\.([0-9]{1,2}))?$/.exec(text.replace(/[\s,，]/g, ""));
  if (!m) return null;
  const fen = Number(m[1]) * 100 + Number((m[2] || "").padEnd(2, "0"));
  return fen <= MAX_TYPED_FEN ? fen : null;
}

/** Return the blob hashes an op refers to (what must be uploaded before it is pushed). */
export function blobRefs(op) {
  const p = op.payload;
  let refs = [];
  if (op.kind === "equipment_receipt.issue" || op.kind === "signoff.sign") refs = [p.signature_blob];
  else if (op.kind === "damage.record") {
    refs = [p.purchase_proof_blob, p.warranty_card_blob, ...(p.photo_blobs || [])];
  }
  return refs.filter(Boolean);
}
