// R26: JS canonical JSON and sign-off digest against spec/vectors/digest.json (Python uses it too).
import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { CanonicalError, canonicalJson, compareCodePoints } from "../../static/js/core/canonical.js";
import { canonicalDigest, digestVisit, sha256Hex, signoffView } from "../../static/js/core/digest.js";
import { loadVectors } from "./vectors.js";

const V = loadVectors("digest");

describe("R26 canonical JSON vectors", () => {
  for (const c of V.canonical) {
    if (c.error) {
      test(`rejects: ${c.name}`, () => {
        assert.throws(() => canonicalJson(c.value), (e) => e instanceof CanonicalError && e.code === c.error);
      });
    } else {
      test(`canonical: ${c.name}`, async () => {
        assert.equal(canonicalJson(c.value), c.canonical);
        assert.equal(await canonicalDigest(c.value), c.sha256);
      });
    }
  }
});

describe("R26 sign-off view vectors", () => {
  for (const c of V.views) {
    test(`view: ${c.name}`, async () => {
      const view = signoffView(c.input);
      assert.deepEqual(view, c.view);
      assert.equal(canonicalJson(view), c.canonical);
      assert.equal(await digestVisit(view), c.digest);
    });
  }
});

test("R26 float error names the path", () => {
  assert.throws(() => canonicalJson({ parts: [{ unit_cost_fen: 0.5 }] }), /\$\.parts\[0\]\.unit_cost_fen: floats/);
});

test("R26 NaN, Infinity, undefined and Dates have no canonical form", () => {
  for (const bad of [NaN, Infinity, undefined, new Date(0), () => 1]) {
    assert.throws(() => canonicalJson({ x: bad }), CanonicalError);
  }
});

test("R26 code point order differs from UTF-16 order for astral characters", () => {
  assert.ok("😀" < "｡"); // what a naive sort would do
  assert.equal(compareCodePoints("😀", "｡"), 1);
  assert.equal(compareCodePoints("a", "ab"), -1);
  assert.equal(compareCodePoints("ab", "ab"), 0);
});

test("R26 sha256Hex of the empty string", async () => {
  assert.equal(await sha256Hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
});
