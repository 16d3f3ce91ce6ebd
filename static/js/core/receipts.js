// Receipt numbers that stay unique across devices though issued offline (S21, S23).
// Twin of server/domain/receipts.py; spec/vectors/receipts.json is the one definition both run.
// A number is KIND-PREFIX-SEQ: "R" for a payment receipt (S23) or "E" for a customer equipment
// receipt (S21), the device's own 4-character prefix, and that device's counter.

// No 0/O, 1/I/L: a prefix is read aloud over the phone and copied by hand at finance.
export const PREFIX_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ";
export const PREFIX_LENGTH = 4;
export const PAYMENT = "R";
export const EQUIPMENT = "E";
export const KINDS = Object.freeze([PAYMENT, EQUIPMENT]);
export const SEQ_DIGITS = 6;
export const MAX_SEQ = Number.MAX_SAFE_INTEGER;

const PREFIX_RE = new RegExp(`^[${PREFIX_ALPHABET}]{${PREFIX_LENGTH}}$`);
const NUMBER_RE = new RegExp(
  `^([${KINDS.join("")}])-([${PREFIX_ALPHABET}]{${PREFIX_LENGTH}})-([0-9]+)$`,
);

function checkSeq(seq, field) {
  if (!Number.isInteger(seq)) throw new TypeError(`${field} must be an integer, got ${seq}`);
  if (seq < 1 || seq > MAX_SEQ) {
    throw new RangeError(`${field} must be between 1 and ${MAX_SEQ}, got ${seq}`);
  }
  return seq;
}

function pad(seq) {
  return String(seq).padStart(SEQ_DIGITS, "0");
}

/** Return whether prefix is a well-formed device receipt prefix. */
export function isValidPrefix(prefix) {
  return typeof prefix === "string" && PREFIX_RE.test(prefix);
}

/** Return the receipt number for a device's `seq`-th receipt of `kind`, e.g. R-K7Q2-000123. */
export function formatReceiptNo(prefix, seq, kind = PAYMENT) {
  if (!KINDS.includes(kind)) throw new RangeError(`kind must be one of ${KINDS.join(", ")}`);
  if (typeof prefix !== "string") throw new TypeError("prefix must be a string");
  if (!isValidPrefix(prefix)) {
    throw new RangeError(`prefix must be ${PREFIX_LENGTH} characters from ${PREFIX_ALPHABET}`);
  }
  checkSeq(seq, "seq");
  return `${kind}-${prefix}-${pad(seq)}`;
}

/**
 * Return {kind, prefix, seq} of a receipt number; throw unless written exactly as formatted,
 * so one receipt has one string.
 */
export function parseReceiptNo(text) {
  if (typeof text !== "string") throw new TypeError("receipt number must be a string");
  const match = NUMBER_RE.exec(text);
  const seq = match ? Number(match[3]) : NaN;
  // Past MAX_SAFE_INTEGER Number() rounds, so the canonical check also catches too-large counters.
  if (!match || !Number.isSafeInteger(seq) || seq < 1 || pad(seq) !== match[3]) {
    throw new RangeError(`not a receipt number: ${JSON.stringify(text)}`);
  }
  return { kind: match[1], prefix: match[2], seq };
}

/** Return the counter values missing between 1 and the highest one seen, in order. */
export function findGaps(seqs) {
  const seen = [...new Set(Array.from(seqs, (seq) => checkSeq(seq, "seqs[]")))];
  seen.sort((a, b) => a - b);
  const gaps = [];
  let expected = 1;
  for (const seq of seen) {
    for (let n = expected; n < seq; n += 1) gaps.push(n);
    expected = seq + 1;
  }
  return gaps;
}
