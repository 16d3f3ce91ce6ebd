// What a visit costs the customer, in integer fen (S2, S3).
// Twin of server/domain/charges.py; spec/vectors/charges.json is the one definition both run.
// Every amount is an integer number of fen, and Numbers are exact only up to MAX_SAFE_INTEGER:
// anything larger is rejected here and in Python alike.

export const CURRENCY = "CNY";
export const MAX_FEN = Number.MAX_SAFE_INTEGER;
export const PART_KINDS = Object.freeze(["used", "replaced", "returned"]);
// A returned part is the faulty one brought back to the office (S31): never charged.
const CHARGED_KINDS = ["used", "replaced"];

function int(value, field, minimum = 0) {
  // Number.isInteger is false for booleans, strings and 1.5; never coerce.
  if (!Number.isInteger(value)) {
    throw new TypeError(`${field} must be an integer, got ${typeof value} ${value}`);
  }
  if (value < minimum || value > MAX_FEN) {
    throw new RangeError(`${field} must be between ${minimum} and ${MAX_FEN}, got ${value}`);
  }
  return value;
}

function bool(value, field) {
  if (typeof value !== "boolean") throw new TypeError(`${field} must be a boolean`);
  return value;
}

// A sum past MAX_SAFE_INTEGER may already be rounded, but it is never a safe integer: reject it.
function safe(value, field) {
  if (!Number.isSafeInteger(value)) throw new RangeError(`${field} exceeds ${MAX_FEN}`);
  return value;
}

/**
 * Return what the customer owes for a visit, in the digest shape
 * {currency, parts_fen, fee_fen, waived_fen, total_fen}.
 * Parts are {kind, qty, unit_cost_fen, reversed}. Throws TypeError or RangeError naming the field.
 */
export function computeCharges(inWarranty, parts, onsiteFeeFen, inspectionOnly, waivedFen = 0) {
  bool(inWarranty, "in_warranty");
  bool(inspectionOnly, "inspection_only");
  int(onsiteFeeFen, "onsite_fee_fen");
  int(waivedFen, "waived_fen");
  let partsFen = 0;
  parts.forEach((line, i) => {
    const field = `parts[${i}]`;
    if (!PART_KINDS.includes(line.kind)) {
      throw new RangeError(`${field}.kind must be one of ${PART_KINDS.join(", ")}`);
    }
    const qty = int(line.qty, `${field}.qty`, 1);
    const unit = int(line.unit_cost_fen, `${field}.unit_cost_fen`);
    // Validate reversed lines too: bad data is bad even when it does not count.
    if (bool(line.reversed ?? false, `${field}.reversed`)) return;
    if (!CHARGED_KINDS.includes(line.kind)) return;
    partsFen = safe(partsFen + safe(qty * unit, `${field} amount`), "parts_fen");
  });

  let feeFen;
  if (inWarranty) {
    partsFen = 0;
    feeFen = 0;
  } else {
    feeFen = inspectionOnly ? 0 : onsiteFeeFen;
  }
  const gross = safe(partsFen + feeFen, "parts_fen + fee_fen");
  if (waivedFen > gross) {
    throw new RangeError(`waived_fen must not exceed parts + fee (${gross}), got ${waivedFen}`);
  }
  return {
    currency: CURRENCY,
    parts_fen: partsFen,
    fee_fen: feeFen,
    waived_fen: waivedFen,
    total_fen: gross - waivedFen,
  };
}

/** Return fen as a display amount such as "¥1,234.50", by integer arithmetic only. */
export function formatFen(fen, locale = "zh-CN") {
  if (typeof locale !== "string") throw new TypeError("locale must be a string");
  int(fen, "fen", -MAX_FEN);
  const abs = Math.abs(fen);
  const cents = abs % 100;
  // abs - cents is an exact multiple of 100, so this division is exact; abs / 100 may round.
  const yuan = String((abs - cents) / 100).replace(/\B(?=(\d{3})+$)/g, ",");
  return `${fen < 0 ? "-" : ""}¥${yuan}.${String(cents).padStart(2, "0")}`;
}
