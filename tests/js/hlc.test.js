// R14-R15: the JS hybrid logical clock against spec/vectors/hlc.json (the Python tests use it too).
import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { clamp, compare, format, HLCError, parse, receive, tick } from "../../static/js/core/hlc.js";
import { loadVectors } from "./vectors.js";

const V = loadVectors("hlc");

function check(c, run) {
  if (c.error) assert.throws(run, HLCError);
  else assert.deepEqual(run(), c.out);
}

describe("R14 hlc vectors", () => {
  for (const c of V.parse) test(`parse: ${c.name}`, () => check(c, () => parse(c.in)));
  for (const c of V.format) test(`format: ${c.name}`, () => check(c, () => format(c.wall_ms, c.counter, c.node)));
  for (const c of V.compare) {
    test(`compare: ${c.name}`, () => {
      check(c, () => compare(c.a, c.b));
      // The encoding's promise: plain string order is clock order.
      if (!c.error) assert.equal(c.a < c.b ? -1 : c.a > c.b ? 1 : 0, c.out);
    });
  }
  for (const c of V.tick) test(`tick: ${c.name}`, () => check(c, () => tick(c.prev, c.now_ms, c.node)));
  for (const c of V.receive) {
    test(`receive: ${c.name}`, () => check(c, () => receive(c.prev, c.remote, c.now_ms, c.node)));
  }
});

describe("R15 clamp vectors", () => {
  for (const c of V.clamp) {
    const args = "max_ahead_ms" in c ? [c.max_ahead_ms] : [];
    test(`clamp: ${c.name}`, () => check(c, () => clamp(c.stamp, c.server_now_ms, ...args)));
  }
});

test("R14 every vector section has cases", () => {
  for (const key of ["parse", "format", "compare", "tick", "receive", "clamp"]) assert.ok(V[key].length >= 5, key);
});
