// Unsent work saved to a file and loaded back: ops keep op_id and seq, so a re-import is harmless.
import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { EXPORT_FORMAT, planImport, workIsOld } from "../../static/js/storage.js";

const op = (seq, opId = `op-${seq}`) => ({ op_id: opId, seq, kind: "checklist.set", visit_id: 1, payload: {} });
const file = (ops, extra = {}) => ({ format: EXPORT_FORMAT, version: 1, device_id: "dev-1", next_seq: 4, receipt_counters: { R: 2, E: 1 }, ops, ...extra });

describe("planImport", () => {
  it("adds only the ops the outbox lacks and never lowers a counter", () => {
    const plan = planImport(file([op(1), op(2), op(3)]), { deviceId: "dev-1", ops: [op(2)], nextSeq: 3, counters: { R: 5 } });
    assert.deepEqual(plan.add.map((o) => o.seq), [1, 3]);
    assert.equal(plan.nextSeq, 4);
    assert.deepEqual(plan.counters, { R: 5, E: 1 });
    assert.equal(plan.adoptDevice, false);
  });

  it("loading the same file twice adds nothing the second time", () => {
    const f = file([op(1), op(2)]);
    const first = planImport(f, { deviceId: "dev-1", ops: [], nextSeq: 1, counters: {} });
    const second = planImport(f, { deviceId: "dev-1", ops: first.add, nextSeq: first.nextSeq, counters: first.counters });
    assert.equal(second.add.length, 0);
  });

  it("restores a wiped phone as the same device", () => {
    const plan = planImport(file([op(5)]), { deviceId: null, ops: [], nextSeq: 1, counters: {} });
    assert.equal(plan.adoptDevice, true);
    assert.equal(plan.nextSeq, 6);
  });

  it("refuses another phone's file, a seq clash and strangers", () => {
    assert.equal(planImport(file([op(1)]), { deviceId: "dev-2", ops: [], nextSeq: 1 }).error, "import.other_device");
    assert.equal(planImport(file([op(1, "a")]), { deviceId: "dev-1", ops: [op(1, "b")], nextSeq: 2 }).error, "import.seq_clash");
    assert.equal(planImport({ format: "x" }, { deviceId: null, ops: [] }).error, "import.not_ours");
    assert.equal(planImport(file([], { version: 99 }), { deviceId: null, ops: [] }).error, "import.too_new");
  });
});

describe("workIsOld", () => {
  it("warns once the oldest unsent op is over a day old", () => {
    const now = Date.parse("2026-11-28T12:00:00Z");
    assert.equal(workIsOld("2026-11-27T11:59:00Z", now), true);
    assert.equal(workIsOld("2026-11-28T08:00:00+08:00", now), false);
    assert.equal(workIsOld(null, now), false);
  });
});
