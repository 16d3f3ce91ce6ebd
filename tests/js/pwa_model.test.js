// What the phone shows: server records with the outbox laid over them, charges, the sign-off input.
import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { digestVisit, signoffView } from "../../static/js/core/digest.js";
import {
  arrivalClock,
  chargesOf,
  mergeVisit,
  recordFromOp,
  signoffInput,
  sortByAppointment,
  warrantyDay,
} from "../../static/js/model.js";

const VISIT = {
  id: 7,
  status: "in_progress",
  onsite_fee_fen: 20000,
  inspection_only: false,
  outcome_summary: null,
  window_start: "2026-11-28T02:00:00+00:00",
  request: { received_at: "2026-11-28T01:00:00+00:00", needs_visit: true },
};

function op(seq, kind, payload, recordId = `r${seq}`) {
  return { op_id: `o${seq}`, seq, kind, record_id: recordId, visit_id: 7, hlc: `h${seq}`, payload, device_time: "2026-11-28T10:00:00+08:00" };
}

const part = (id, extra = {}) => ({ entity: "part_event", id, visit_id: 7, data: { id, kind: "used", part_code: "P", description: "", qty: 1, unit_cost_fen: 1000, reverses: null, ...extra } });

describe("mergeVisit", () => {
  it("lays pending ops over the pulled records", () => {
    const records = [{ entity: "checklist_item", id: "7:kit", visit_id: 7, data: { item_id: "kit", state: "open", note: "" } }, part("p1")];
    const ops = [
      op(1, "checklist.set", { item_id: "kit", state: "done", note: "ok" }, "7:kit"),
      op(2, "part.add", { kind: "replaced", part_code: "Q", description: "", qty: 2, unit_cost_fen: 500, reverses: null }),
      op(3, "visit.transition", { to: "completed", outcome_summary: "fixed", late_reason: null, customer_informed: null, permission_granted: null, explanation: null, escalate: null }, "7"),
    ];
    const m = mergeVisit(VISIT, records, ops);
    assert.equal(m.checklist.kit.state, "done");
    assert.equal(m.checklist.kit.pending, true);
    assert.deepEqual(m.part_event.map((p) => [p.id, p.pending]), [["p1", false], ["r2", true]]);
    assert.equal(m.visit.status, "completed");
    assert.equal(m.visit.outcome_summary, "fixed");
  });

  it("never shows a record twice once the pull has brought it", () => {
    const pending = op(4, "payment.record", { method: "cash", amount_fen: 100, currency: "CNY", payer: "", receipt_no: "R-2345-000001" }, "pay1");
    const pulled = { entity: "payment", id: "pay1", visit_id: 7, data: { id: "pay1", ...pending.payload } };
    assert.equal(mergeVisit(VISIT, [pulled], [pending]).payment.length, 1);
  });

  it("does not show a transition the server would refuse", () => {
    const back = op(5, "visit.transition", { to: "en_route", late_reason: null, customer_informed: null, permission_granted: null, outcome_summary: null, explanation: null, escalate: null }, "7");
    assert.equal(mergeVisit(VISIT, [], [back]).visit.status, "in_progress");
  });

  it("stops the arrival clock at the phone's own arrival time until the server has it", () => {
    const arrive = op(6, "visit.transition", { to: "arrived", late_reason: null, customer_informed: null, permission_granted: null, outcome_summary: null, explanation: null, escalate: null }, "7");
    const m = mergeVisit({ ...VISIT, status: "en_route" }, [], [arrive]);
    assert.equal(m.visit.arrived_at, arrive.device_time);
    assert.equal(arrivalClock(m.visit, Date.parse("2026-11-28T09:00:00Z")).state, "met");
  });
});

describe("charges (S2, S3)", () => {
  it("charges nothing in warranty", () => {
    const c = chargesOf(mergeVisit(VISIT, [part("p1")], []), true);
    assert.deepEqual([c.parts_fen, c.fee_fen, c.total_fen], [0, 0, 0]);
  });

  it("charges parts at cost plus the fee out of warranty; corrections cancel; returned parts are free", () => {
    const records = [part("p1"), part("p2", { kind: "returned", unit_cost_fen: 9999 }), part("p3", { unit_cost_fen: 5000 }), part("p4", { unit_cost_fen: 5000, reverses: "p3" })];
    const c = chargesOf(mergeVisit(VISIT, records, []), false);
    assert.deepEqual([c.parts_fen, c.fee_fen, c.total_fen], [1000, 20000, 21000]);
  });

  it("subtracts waivers and valid payments, never below zero", () => {
    const records = [
      part("p1"),
      { entity: "charge_waiver", id: "w", visit_id: 7, data: { id: "w", amount_fen: 500, reason: "r" } },
      { entity: "payment", id: "a", visit_id: 7, data: { id: "a", amount_fen: 10000, method: "cash", receipt_no: "R-2345-000001" } },
      { entity: "payment", id: "b", visit_id: 7, data: { id: "b", amount_fen: 10000, method: "cash", receipt_no: "R-2345-000002" } },
      { entity: "payment_void", id: "v", visit_id: 7, data: { id: "v", payment_id: "b", reason: "typo" } },
    ];
    const c = chargesOf(mergeVisit(VISIT, records, []), false);
    assert.deepEqual([c.total_fen, c.paid_fen, c.due_fen], [20500, 10000, 10500]);
  });
});

describe("sign-off input (R24, R26)", () => {
  it("uses the server's own terms for the visit when it sent them", () => {
    const visit = { ...VISIT, fee_fen: 0, parts_charged: false, outcome_summary: "done" };
    const input = signoffInput(mergeVisit(visit, [part("p1")], []), false);
    assert.equal(input.fee_fen, 0);
    assert.equal(input.parts_charged, false);
    assert.equal(signoffView(input).charges.total_fen, 0);
    assert.equal(signoffView(input).outcome, "done");
  });

  it("gives one digest whatever order the records arrived in, and a new one on any change", async () => {
    const a = [part("p1"), part("p2", { unit_cost_fen: 3 })];
    const one = await digestVisit(signoffView(signoffInput(mergeVisit(VISIT, a, []), false)));
    const two = await digestVisit(signoffView(signoffInput(mergeVisit(VISIT, [...a].reverse(), []), false)));
    const other = await digestVisit(signoffView(signoffInput(mergeVisit(VISIT, [part("p1")], []), false)));
    assert.equal(one, two);
    assert.notEqual(one, other);
  });

  it("keeps what an acknowledged op stored visible until the pull brings the server's copy", () => {
    const pay = op(9, "payment.record", { method: "cash", amount_fen: 100, currency: "CNY", payer: "", receipt_no: "R-2345-000001" }, "pay9");
    assert.deepEqual(recordFromOp(pay).entity, "payment");
    assert.equal(mergeVisit(VISIT, [recordFromOp(pay)], []).payment[0].receipt_no, "R-2345-000001");
  });
});

describe("Today", () => {
  it("orders visits by appointment, unscheduled last", () => {
    const v = (id, start) => ({ id, window_start: start });
    assert.deepEqual(sortByAppointment([v(1, null), v(2, "2026-11-28T05:00:00+00:00"), v(3, "2026-11-28T01:00:00+00:00")]).map((x) => x.id), [3, 2, 1]);
  });

  it("decides warranty on the visit's day as the server does", () => {
    assert.equal(warrantyDay({ ...VISIT, warranty_day: "2026-01-02" }, 0), "2026-01-02");
    // 2026-11-27T17:00Z is already 28 November in Shanghai.
    assert.equal(warrantyDay({ ...VISIT, window_start: "2026-11-27T17:00:00+00:00" }, 0), "2026-11-28");
  });
});
