// Warranty period and what it means for the customer (S1, S2, S3).
// Twin of server/domain/warranty.py; spec/vectors/warranty.json is the one definition both run.
// Days are "YYYY-MM-DD" strings: a calendar day has no time zone, and a Date would invent one.

const ISO_DAY = /^(\d{4})-(\d{2})-(\d{2})$/;
const DAY_MS = 86_400_000;

function isLeap(year) {
  return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
}

function daysInMonth(year, month) {
  return [31, isLeap(year) ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1];
}

function parseDay(value, field) {
  if (typeof value !== "string") throw new TypeError(`${field} must be a YYYY-MM-DD string`);
  const match = ISO_DAY.exec(value);
  const [year, month, day] = match ? match.slice(1).map(Number) : [0, 0, 0];
  if (!match || month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) {
    throw new RangeError(`${field} must be a real YYYY-MM-DD day, got ${value}`);
  }
  return { year, month, day };
}

// Day numbers count days since 1970-01-01; setUTCFullYear avoids Date.UTC's 19xx for years < 100.
function dayNumber({ year, month, day }) {
  const t = new Date(0);
  t.setUTCFullYear(year, month - 1, day);
  return Math.round(t.getTime() / DAY_MS);
}

function dayString(n) {
  return new Date(n * DAY_MS).toISOString().slice(0, 10);
}

/** Return day plus whole calendar months, clamped to the end of the target month. */
export function addMonths({ year, month, day }, months) {
  const total = month - 1 + months;
  const y = year + Math.floor(total / 12);
  const m = (total % 12) + 1;
  return { year: y, month: m, day: Math.min(day, daysInMonth(y, m)) };
}

/** Return the warranty status on day `on` for an item accepted on `acceptanceDate` (S1). */
export function warrantyStatus(acceptanceDate, warrantyMonths, on) {
  const accepted = acceptanceDate == null ? null : parseDay(acceptanceDate, "acceptance_date");
  const today = dayNumber(parseDay(on, "on"));
  if (warrantyMonths != null) {
    if (!Number.isInteger(warrantyMonths)) throw new TypeError("warranty_months must be an int");
    if (warrantyMonths < 0) throw new RangeError("warranty_months must not be negative");
  }
  if (accepted === null || warrantyMonths == null) {
    return status(false, acceptanceDate ?? null, null, null, "unknown");
  }
  const starts = dayNumber(accepted);
  const ends = dayNumber(addMonths(accepted, warrantyMonths)) - 1;
  // With 0 months `ends` is the day before `starts`: an empty period, never in warranty.
  const coveredDays = Math.max(ends - starts + 1, 0);
  const s = dayString(starts);
  const e = dayString(ends);
  if (today < starts) return status(false, s, e, coveredDays, "not_started");
  if (today > ends) return status(false, s, e, 0, "expired");
  return status(true, s, e, ends - today + 1, "in_warranty");
}

// Field names match the Python dataclass and the vectors, so one file checks both sides.
function status(in_warranty, starts, ends, days_left, reason) {
  return { in_warranty, starts, ends, days_left, reason };
}

const IN_WARRANTY_FREE = [
  "charges.onsite_repair",
  "charges.maintenance",
  "charges.labour",
  "charges.parts",
  "charges.expansion_upgrade_support",
];
const OUT_OF_WARRANTY_FREE = [
  "charges.technical_support",
  "charges.onsite_inspection",
  "charges.phone_support",
];
const OUT_OF_WARRANTY_CHARGED = [
  "charges.parts_at_manufacturer_cost",
  "charges.onsite_service_fee",
];
const SUMMARY = {
  in_warranty: "charges.in_warranty",
  expired: "charges.out_of_warranty",
  not_started: "charges.warranty_not_started",
  unknown: "charges.warranty_unknown",
};

/** Return message keys for what is free and what is charged under `status` (S2, S3, S4). */
export function whatItMeans(status) {
  if (status.in_warranty) {
    return { summary: SUMMARY.in_warranty, free: [...IN_WARRANTY_FREE], charged: [] };
  }
  // Not started and unknown are charged like expired: nothing proves coverage (S27 explains).
  return {
    summary: SUMMARY[status.reason],
    free: [...OUT_OF_WARRANTY_FREE],
    charged: [...OUT_OF_WARRANTY_CHARGED],
  };
}
