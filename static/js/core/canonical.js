// Canonical JSON: the exact bytes phone and server hash. Twin of sync/canonical.py.
// Keys sorted by code point, no whitespace, non-ASCII written as itself, integers only.
// JS has one number type, so 1.0 and 1 are the same value here; Python refuses the float 1.0.
// Vectors never contain such a value; the phone never builds one (money is integer fen).

export const MAX_SAFE_INTEGER = Number.MAX_SAFE_INTEGER;

export class CanonicalError extends Error {
  /** code is one of float, unsafe_integer, surrogate, type. */
  constructor(code, path, message) {
    super(`${path}: ${message}`);
    this.name = "CanonicalError";
    this.code = code;
    this.path = path;
  }
}

// Compare strings by Unicode code point, as Python does; JS's < compares UTF-16 code units, which
// puts astral characters (emoji) before U+E000..U+FFFF.
export function compareCodePoints(a, b) {
  const ia = a[Symbol.iterator]();
  const ib = b[Symbol.iterator]();
  for (;;) {
    const x = ia.next();
    const y = ib.next();
    if (x.done || y.done) return x.done && y.done ? 0 : x.done ? -1 : 1;
    const cx = x.value.codePointAt(0);
    const cy = y.value.codePointAt(0);
    if (cx !== cy) return cx < cy ? -1 : 1;
  }
}

// A loop rather than a lookbehind regex, which older Safari cannot even parse.
function hasLoneSurrogate(s) {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) i++;
      else return true;
    } else if (c >= 0xdc00 && c <= 0xdfff) {
      return true;
    }
  }
  return false;
}

const SHORT_ESCAPES = { '"': '\\"', "\\": "\\\\", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t" };

// Escape exactly what Python's json.dumps(ensure_ascii=False) escapes: quote, backslash and
// U+0000..U+001F (short forms where JSON has them, else \u00xx in lowercase hex). U+007F, U+2028
// and U+2029 are written as themselves.
function quote(s, path) {
  if (hasLoneSurrogate(s)) throw new CanonicalError("surrogate", path, "string contains a lone surrogate");
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const ch = s[i];
    const code = s.charCodeAt(i);
    if (ch in SHORT_ESCAPES) out += SHORT_ESCAPES[ch];
    else if (code < 0x20) out += "\\u" + code.toString(16).padStart(4, "0");
    else out += ch;
  }
  return out + '"';
}

function write(value, path) {
  if (value === null) return "null";
  if (value === true) return "true";
  if (value === false) return "false";
  if (typeof value === "number") {
    if (!Number.isFinite(value) || !Number.isInteger(value)) {
      throw new CanonicalError("float", path, `floats are not allowed (got ${value}); use integers`);
    }
    if (!Number.isSafeInteger(value)) {
      throw new CanonicalError("unsafe_integer", path, `integer ${value} exceeds 2**53-1`);
    }
    return String(value); // -0 prints as "0", as Python's int would
  }
  if (typeof value === "string") return quote(value, path);
  if (Array.isArray(value)) return "[" + value.map((v, i) => write(v, `${path}[${i}]`)).join(",") + "]";
  if (typeof value === "object" && Object.getPrototypeOf(value) === Object.prototype) {
    const keys = Object.keys(value).sort(compareCodePoints);
    return "{" + keys.map((k) => quote(k, `${path}.<key>`) + ":" + write(value[k], `${path}.${k}`)).join(",") + "}";
  }
  throw new CanonicalError("type", path, `${typeof value} has no JSON form`);
}

/** Return the canonical JSON text of value; throw CanonicalError for floats and the like. */
export function canonicalJson(value) {
  return write(value, "$");
}
