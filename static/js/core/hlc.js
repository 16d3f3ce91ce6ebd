// Hybrid logical clock stamps as strings that sort in clock order.
// Twin of sync/hlc.py; spec/vectors/hlc.json holds the cases both must pass.
// Encoding: "{wall_ms:015d}-{counter:05d}-{node}"; the node is the device id.
// On the phone, now_ms is Date.now() corrected by the offset to the server measured at the last sync.

export const MAX_WALL_MS = 10 ** 15 - 1;
export const MAX_COUNTER = 99999;
export const DEFAULT_MAX_AHEAD_MS = 60000;
export const SERVER_NODE = "server";

// Node ids are ASCII so that string order is the same in JS (UTF-16 units) and Python (code points).
// Digits are [0-9], not \d: Python's \d also matches other scripts' digits.
const NODE_RE = /^[A-Za-z0-9._:-]{1,64}$/;
const STAMP_RE = /^([0-9]{15})-([0-9]{5})-([A-Za-z0-9._:-]{1,64})$/;

export class HLCError extends Error {
  constructor(message) {
    super(message);
    this.name = "HLCError";
  }
}

/** Parse a stamp string into {wall_ms, counter, node}; throw HLCError if malformed. */
export function parse(stamp) {
  if (typeof stamp !== "string") throw new HLCError("hlc must be a string");
  const m = STAMP_RE.exec(stamp);
  if (m === null) {
    throw new HLCError(`malformed hlc ${JSON.stringify(stamp)}: expected 15-digit wall, 5-digit counter, node`);
  }
  return { wall_ms: Number(m[1]), counter: Number(m[2]), node: m[3] };
}

/** Encode a stamp; throw HLCError if a part is out of range. */
export function format(wall_ms, counter, node) {
  if (!Number.isSafeInteger(wall_ms) || wall_ms < 0 || wall_ms > MAX_WALL_MS) {
    throw new HLCError(`wall_ms out of range: ${wall_ms}`);
  }
  if (!Number.isSafeInteger(counter) || counter < 0 || counter > MAX_COUNTER) {
    throw new HLCError(`counter out of range: ${counter}`);
  }
  if (typeof node !== "string" || !NODE_RE.test(node)) {
    throw new HLCError(`invalid node ${JSON.stringify(node)}`);
  }
  return `${String(wall_ms).padStart(15, "0")}-${String(counter).padStart(5, "0")}-${node}`;
}

function cmp(x, y) {
  return x < y ? -1 : x > y ? 1 : 0;
}

/** Return -1, 0 or 1 as stamp a is before, equal to or after stamp b. */
export function compare(a, b) {
  const pa = parse(a);
  const pb = parse(b);
  return cmp(pa.wall_ms, pb.wall_ms) || cmp(pa.counter, pb.counter) || cmp(pa.node, pb.node);
}

// A counter that would overflow moves the wall on by 1 ms instead: order is kept, format holds.
function next(wall_ms, counter, node) {
  if (counter > MAX_COUNTER) return format(wall_ms + 1, 0, node);
  return format(wall_ms, counter, node);
}

/** Return the stamp for a local event or send after prev (or null), at physical time now_ms. */
export function tick(prev, now_ms, node) {
  if (prev === null || prev === undefined) return format(now_ms, 0, node);
  const p = parse(prev);
  if (now_ms > p.wall_ms) return format(now_ms, 0, node);
  return next(p.wall_ms, p.counter + 1, node);
}

/** Return the stamp after merging a remote stamp into local clock prev (or null) at now_ms. */
export function receive(prev, remote, now_ms, node) {
  const r = parse(remote);
  const p = prev === null || prev === undefined ? { wall_ms: -1, counter: -1, node } : parse(prev);
  const wall = Math.max(p.wall_ms, r.wall_ms, now_ms);
  let counter;
  if (wall === p.wall_ms && wall === r.wall_ms) counter = Math.max(p.counter, r.counter) + 1;
  else if (wall === p.wall_ms) counter = p.counter + 1;
  else if (wall === r.wall_ms) counter = r.counter + 1;
  else counter = 0;
  return next(wall, counter, node);
}

/** Pull a stamp more than max_ahead_ms ahead of the server back to server_now_ms (counter, node kept). */
export function clamp(stamp, server_now_ms, max_ahead_ms = DEFAULT_MAX_AHEAD_MS) {
  const s = parse(stamp);
  if (s.wall_ms > server_now_ms + max_ahead_ms) return format(server_now_ms, s.counter, s.node);
  return stamp;
}
