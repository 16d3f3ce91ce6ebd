// Response-time clocks of the service commitment (S5a, S5b, S5c), for the phone's
// "time left on arrival" display. Twin of server/domain/sla.py; spec/vectors/sla.json is the one
// definition both run. The hotline runs 24 hours, so clocks count elapsed time, not business hours.
// Instants are Dates or ISO 8601 strings that carry Z or an offset: a local time with no offset
// would be read in the phone's own zone, which is not necessarily the office's.

export const PHONE_RESPONSE_MINUTES = 60; // S5a
export const ONSITE_ARRIVAL_MINUTES = 120; // S5b
export const REMOTE_LOGIN_MINUTES = 30; // S5c

const MINUTE_MS = 60_000;
const ISO_INSTANT = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2})?)(?:\.(\d+))?(Z|[+-]\d{2}:\d{2})$/;

function instantMs(value, field) {
  if (value instanceof Date) {
    if (Number.isNaN(value.getTime())) throw new RangeError(`${field} is an invalid Date`);
    return value.getTime();
  }
  if (typeof value !== "string") throw new TypeError(`${field} must be a Date or an ISO string`);
  const match = ISO_INSTANT.exec(value);
  if (!match) {
    throw new RangeError(`${field} must be timezone-aware (Z or an offset), got ${value}`);
  }
  // The server writes microseconds; Date.parse is only specified for milliseconds.
  const [, main, fraction = "", zone] = match;
  const ms = Date.parse(`${main}.${fraction.padEnd(3, "0").slice(0, 3)}${zone}`);
  if (Number.isNaN(ms)) throw new RangeError(`${field} is not a real instant: ${value}`);
  return ms;
}

function plusMinutes(value, field, minutes) {
  return new Date(instantMs(value, field) + minutes * MINUTE_MS);
}

/** Return when the phone response to a request received at `receivedAt` is due (S5a). */
export function phoneResponseDue(receivedAt) {
  return plusMinutes(receivedAt, "received_at", PHONE_RESPONSE_MINUTES);
}

/** Return when the technician must be on site, or null if the request needs no visit (S5b). */
export function onsiteArrivalDue(receivedAt, needsVisit) {
  const due = plusMinutes(receivedAt, "received_at", ONSITE_ARRIVAL_MINUTES);
  if (typeof needsVisit !== "boolean") throw new TypeError("needs_visit must be a boolean");
  return needsVisit ? due : null;
}

/** Return when remote login is due, counted from the customer's consent; null without (S5c). */
export function remoteLoginDue(remoteConsentAt) {
  if (remoteConsentAt == null) return null;
  return plusMinutes(remoteConsentAt, "remote_consent_at", REMOTE_LOGIN_MINUTES);
}

/** Return whether remote login may happen: only with the customer's consent (S5c). */
export function remoteLoginAllowed(remoteConsentAt) {
  return remoteConsentAt != null;
}

// Both take a non-negative whole number of milliseconds; remainders keep the division exact.
function floorMinutes(ms) {
  return (ms - (ms % MINUTE_MS)) / MINUTE_MS;
}

function ceilMinutes(ms) {
  return floorMinutes(ms) + (ms % MINUTE_MS === 0 ? 0 : 1);
}

function reading(state, minutes_remaining = null, minutes_overdue = null) {
  return { state, minutes_remaining, minutes_overdue };
}

/**
 * Return {state, minutes_remaining, minutes_overdue} of a clock due at `due` (null: no clock),
 * done at `doneAt` (null: not yet), at `now`. Remaining minutes round down, overdue minutes up.
 */
export function clockState(due, doneAt, now, { windowMinutes, atRiskFraction = 0.25 } = {}) {
  const nowMs = instantMs(now, "now");
  if (!Number.isInteger(windowMinutes)) throw new TypeError("window_minutes must be an integer");
  if (windowMinutes <= 0) throw new RangeError("window_minutes must be positive");
  if (typeof atRiskFraction !== "number") throw new TypeError("at_risk_fraction must be a number");
  if (!(atRiskFraction >= 0 && atRiskFraction <= 1)) {
    throw new RangeError("at_risk_fraction must be between 0 and 1");
  }
  if (due == null) return reading("not_applicable");
  const dueMs = instantMs(due, "due");

  if (doneAt != null) {
    const doneMs = instantMs(doneAt, "done_at");
    if (doneMs <= dueMs) return reading("met", floorMinutes(dueMs - doneMs));
    return reading("missed", null, ceilMinutes(doneMs - dueMs));
  }
  const left = dueMs - nowMs;
  if (left < 0) return reading("missed", null, ceilMinutes(-left));
  // Whole milliseconds rounded down, exactly as the Python twin computes it.
  const threshold = Math.floor(windowMinutes * MINUTE_MS * atRiskFraction);
  return reading(left <= threshold ? "at_risk" : "running", floorMinutes(left));
}
