// The phone's operations: built in the protocol's exact shape, checked as the server checks them.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";

import {
  LIMITS,
  blobRefs,
  canTransition,
  checkPayload,
  checklistRecordId,
  deviceTime,
  envelope,
  parseYuan,
  transitionPayload,
} from "../../static/js/ops.js";
import { loadVectors } from "./vectors.js";

describe("op envelope", () => {
  it("has exactly the protocol's fields", () => {
    const op = envelope({ opId: "x", seq: 3, kind: "checklist.set", recordId: "5:kit", visitId: 5, hlc: "h", payload: {}, time: "t" });
    assert.deepEqual(Object.keys(op).sort(), ["device_time", "hlc", "kind", "op_id", "payload", "record_id", "schema_version", "seq", "visit_id"]);
    assert.equal(op.schema_version, 1);
  });

  it("names a checklist record <visit_id>:<item_id>", () => {
    assert.equal(checklistRecordId(12, "kit"), "12:kit");
  });

  it("writes device time with the phone's own offset", () => {
    const ms = Date.parse("2026-11-28T01:15:00.250Z");
    assert.equal(deviceTime(ms, 480), "2026-11-28T09:15:00.250+08:00");
    assert.equal(deviceTime(ms, -330), "2026-11-27T19:45:00.250-05:30");
    assert.equal(deviceTime(ms, 0), "2026-11-28T01:15:00.250+00:00");
  });
});

describe("visit transitions (R18)", () => {
  it("moves forward, may skip, never back nor out of an outcome", () => {
    assert.equal(canTransition("scheduled", "en_route"), true);
    assert.equal(canTransition("scheduled", "in_progress"), true);
    assert.equal(canTransition("arrived", "en_route"), false);
    assert.equal(canTransition("in_progress", "completed"), true);
    assert.equal(canTransition("in_progress", "not_fixed"), true);
    assert.equal(canTransition("completed", "not_fixed"), false);
    assert.equal(canTransition("cancelled", "arrived"), false);
    assert.equal(canTransition("arrived", "arrived"), false);
  });

  it("sends every payload field, null where not given", () => {
    assert.deepEqual(Object.keys(transitionPayload("arrived")).sort(), [
      "customer_informed", "escalate", "explanation", "late_reason", "outcome_summary", "permission_granted", "to",
    ]);
    assert.equal(transitionPayload("arrived", { late_reason: "traffic" }).late_reason, "traffic");
    assert.equal(transitionPayload("arrived").customer_informed, null);
  });
});

describe("payload checks", () => {
  it("needs the explanation when the fault is not fixed (S22)", () => {
    assert.deepEqual(checkPayload("visit.transition", transitionPayload("not_fixed", { explanation: " " })), { explanation: "error.required" });
    assert.deepEqual(checkPayload("visit.transition", transitionPayload("not_fixed", { explanation: "part on order" })), {});
    assert.deepEqual(checkPayload("visit.transition", transitionPayload("in_progress")), { permission_granted: "error.required" });
    assert.deepEqual(checkPayload("visit.transition", transitionPayload("in_progress", { permission_granted: true })), {});
  });

  it("needs a reason to waive or void, a positive amount to pay", () => {
    assert.deepEqual(checkPayload("charge.waive", { amount_fen: 100, reason: "" }), { reason: "error.required" });
    assert.deepEqual(checkPayload("payment.void", { payment_id: "p", reason: "  " }), { reason: "error.required" });
    assert.deepEqual(Object.keys(checkPayload("payment.record", { method: "cash", amount_fen: 0, currency: "CNY", payer: "", receipt_no: "R" })), ["amount_fen"]);
    assert.deepEqual(Object.keys(checkPayload("payment.record", { method: "cash", amount_fen: 1.5, currency: "CNY", payer: "", receipt_no: "R" })), ["amount_fen"]);
    assert.deepEqual(Object.keys(checkPayload("payment.record", { method: "cheque", amount_fen: 100, currency: "CNY", payer: "", receipt_no: "R" })), ["method"]);
  });

  it("needs who pays, a positive amount and a real day for a promise to pay later", () => {
    const promise = { method: "bank_transfer", amount_fen: 39100, payer: "上海某某公司", due_on: "2026-12-15", note: "" };
    assert.deepEqual(checkPayload("payment.promise", promise), {});
    assert.deepEqual(checkPayload("payment.promise", { ...promise, payer: " ", due_on: "next week", amount_fen: 0 }), {
      amount_fen: "error.number",
      payer: "error.required",
      due_on: "error.required",
    });
  });

  it("asks for purchase proof and warranty card when warranty is claimed (S20)", () => {
    const damage = { brand: "华为", model: "S5735", description: "", warranty_claimed: true, purchase_proof_blob: null, warranty_card_blob: null, photo_blobs: [] };
    assert.deepEqual(Object.keys(checkPayload("damage.record", damage)).sort(), ["purchase_proof_blob", "warranty_card_blob"]);
    assert.deepEqual(checkPayload("damage.record", { ...damage, warranty_claimed: false }), {});
  });

  it("refuses quantities that are not whole positive numbers", () => {
    const part = { kind: "used", part_code: "SFP", description: "", qty: 0, unit_cost_fen: 100, reverses: null };
    assert.deepEqual(Object.keys(checkPayload("part.add", part)), ["qty"]);
    assert.deepEqual(checkPayload("part.add", { ...part, qty: 2 }), {});
  });

  it("needs the customer's signature for a sign-off and an equipment receipt", () => {
    assert.deepEqual(Object.keys(checkPayload("signoff.sign", { customer_name: "周", signature_blob: null, digest: "d", signed_hlc: "h" })), ["signature_blob"]);
  });
});

describe("money typed by a person", () => {
  it("turns yuan text into integer fen without floats", () => {
    assert.equal(parseYuan("350"), 35000);
    assert.equal(parseYuan("350.5"), 35050);
    assert.equal(parseYuan("1,234.05"), 123405);
    assert.equal(parseYuan("¥ 0.10"), 10);
    assert.equal(parseYuan("0.1"), 10);
    assert.equal(parseYuan("19.99"), 1999);
    for (const bad of ["", "abc", "1.234", "-5", "1e3", null]) assert.equal(parseYuan(bad), null, String(bad));
  });
});

describe("blob references", () => {
  it("lists every photo and signature an op needs uploaded first", () => {
    assert.deepEqual(blobRefs({ kind: "damage.record", payload: { purchase_proof_blob: "a", warranty_card_blob: null, photo_blobs: ["b", "c"] } }), ["a", "b", "c"]);
    assert.deepEqual(blobRefs({ kind: "signoff.sign", payload: { signature_blob: "s" } }), ["s"]);
    assert.deepEqual(blobRefs({ kind: "checklist.set", payload: {} }), []);
  });
});

describe("op validation vectors (spec/vectors/ops.json, shared with sync/ops.py)", () => {
  const { vectors } = loadVectors("ops");
  const limitsJson = JSON.parse(readFileSync(new URL("../../spec/limits.json", import.meta.url), "utf8"));

  it("checks with the server's limits table", () => {
    assert.deepEqual(LIMITS, { text: limitsJson.text, int: limitsJson.int, max_photos: limitsJson.max_photos });
  });

  for (const v of vectors.filter((x) => !x.server_only)) {
    it(v.name, () => {
      const found = Object.keys(checkPayload(v.kind, v.payload)).map((f) => `payload.${f}`).sort();
      assert.deepEqual(found, [...v.fields].sort());
    });
  }
});

describe("amounts typed in yuan (spec/vectors/yuan.json, the server's parser runs them too)", () => {
  for (const c of loadVectors("yuan").parse_yuan) {
    it(JSON.stringify(c.text), () => assert.equal(parseYuan(c.text), c.fen));
  }
});
