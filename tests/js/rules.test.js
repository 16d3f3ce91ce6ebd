// The phone's twins of server/domain run the same vectors as the Python tests, case by case.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";

import { computeCharges, formatFen } from "../../static/js/core/charges.js";
import { findGaps, formatReceiptNo, parseReceiptNo } from "../../static/js/core/receipts.js";
import {
  clockState,
  onsiteArrivalDue,
  phoneResponseDue,
  remoteLoginAllowed,
  remoteLoginDue,
} from "../../static/js/core/sla.js";
import { warrantyStatus, whatItMeans } from "../../static/js/core/warranty.js";

function load(name) {
  return JSON.parse(readFileSync(new URL(`../../spec/vectors/${name}.json`, import.meta.url)));
}

// Python raises ValueError where JavaScript has only RangeError.
function assertThrows(fn, error) {
  const Kind = { type: TypeError, value: RangeError }[error.type];
  let thrown;
  try {
    fn();
  } catch (e) {
    thrown = e;
  }
  assert.ok(thrown instanceof Kind, `expected ${Kind.name} naming ${error.field}, got ${thrown}`);
  assert.ok(thrown.message.includes(error.field), `"${thrown.message}" should name ${error.field}`);
}

function ms(iso) {
  return iso === null ? null : Date.parse(iso);
}

// Each vector file's groups, and how one case of each is checked.
const RUNNERS = {
  warranty: {
    warranty_status: (c) => {
      const run = () => warrantyStatus(c.acceptance_date, c.warranty_months, c.on);
      if (c.error) assertThrows(run, c.error);
      else assert.deepEqual(run(), c.expect);
    },
    what_it_means: (c) => assert.deepEqual(whatItMeans(c.status), c.expect),
  },
  charges: {
    compute_charges: (c) => {
      const run = () =>
        computeCharges(c.in_warranty, c.parts, c.onsite_fee_fen, c.inspection_only, c.waived_fen);
      if (c.error) return assertThrows(run, c.error);
      // The digest hashes this object; its key order is part of the contract.
      assert.equal(JSON.stringify(run()), JSON.stringify(c.expect));
    },
    format_fen: (c) => {
      const run = () => formatFen(c.fen, c.locale);
      if (c.error) assertThrows(run, c.error);
      else assert.equal(run(), c.expect);
    },
  },
  sla: {
    due_times: (c) => {
      if (c.error) {
        return assertThrows(() => {
          phoneResponseDue(c.received_at);
          onsiteArrivalDue(c.received_at, c.needs_visit);
          remoteLoginDue(c.remote_consent_at);
        }, c.error);
      }
      assert.equal(phoneResponseDue(c.received_at).getTime(), ms(c.expect.phone_response_due));
      const onsite = onsiteArrivalDue(c.received_at, c.needs_visit);
      assert.equal(onsite && onsite.getTime(), ms(c.expect.onsite_arrival_due));
      const remote = remoteLoginDue(c.remote_consent_at);
      assert.equal(remote && remote.getTime(), ms(c.expect.remote_login_due));
      assert.equal(remoteLoginAllowed(c.remote_consent_at), c.remote_consent_at !== null);
    },
    clock_state: (c) => {
      const options = { windowMinutes: c.window_minutes };
      if ("at_risk_fraction" in c) options.atRiskFraction = c.at_risk_fraction;
      const run = () => clockState(c.due, c.done_at, c.now, options);
      if (c.error) assertThrows(run, c.error);
      else assert.deepEqual(run(), c.expect);
    },
  },
  receipts: {
    format_receipt_no: (c) => {
      const run = () =>
        "kind" in c ? formatReceiptNo(c.prefix, c.seq, c.kind) : formatReceiptNo(c.prefix, c.seq);
      if (c.error) assertThrows(run, c.error);
      else assert.equal(run(), c.expect);
    },
    parse_receipt_no: (c) => {
      const run = () => parseReceiptNo(c.text);
      if (c.error) assertThrows(run, c.error);
      else assert.deepEqual(run(), c.expect);
    },
    find_gaps: (c) => {
      const run = () => findGaps(c.seqs);
      if (c.error) assertThrows(run, c.error);
      else assert.deepEqual(run(), c.expect);
    },
  },
};

for (const [file, runners] of Object.entries(RUNNERS)) {
  const vectors = load(file);
  describe(`spec/vectors/${file}.json`, () => {
    it("has only the groups run here", () => {
      const groups = Object.keys(vectors).filter((k) => Array.isArray(vectors[k]));
      assert.deepEqual(groups.sort(), Object.keys(runners).sort());
    });
    for (const [group, check] of Object.entries(runners)) {
      describe(group, () => {
        for (const c of vectors[group]) it(c.name, () => check(c));
      });
    }
  });
}

describe("phone-only input handling", () => {
  it("rejects days that do not exist or are not written YYYY-MM-DD", () => {
    assertThrows(() => warrantyStatus("2023-02-29", 12, "2024-01-01"), {
      type: "value",
      field: "acceptance_date",
    });
    assertThrows(() => warrantyStatus("2024-01-01", 12, "2024-1-5"), {
      type: "value",
      field: "on",
    });
    assertThrows(() => warrantyStatus("2024-01-01", 12, new Date()), { type: "type", field: "on" });
  });

  it("reads the server's microsecond timestamps", () => {
    const due = phoneResponseDue("2026-11-28T15:30:00.123456+00:00");
    assert.equal(due.toISOString(), "2026-11-28T16:30:00.123Z");
  });

  it("takes Date objects as instants", () => {
    const received = new Date("2026-11-28T15:30:00Z");
    assert.equal(onsiteArrivalDue(received, true).toISOString(), "2026-11-28T17:30:00.000Z");
    assert.deepEqual(
      clockState(phoneResponseDue(received), null, new Date("2026-11-28T16:20:00Z"), {
        windowMinutes: 60,
      }),
      { state: "at_risk", minutes_remaining: 10, minutes_overdue: null },
    );
  });

  it("rejects an invalid Date", () => {
    assertThrows(() => phoneResponseDue(new Date("nonsense")), {
      type: "value",
      field: "received_at",
    });
  });

  it("treats a missing reversed flag as not reversed, as Python's PartLine default does", () => {
    const charges = computeCharges(false, [{ kind: "used", qty: 2, unit_cost_fen: 50 }], 0, false);
    assert.equal(charges.total_fen, 100);
  });

  it("hands out fresh lists, so a screen cannot change the next answer", () => {
    const first = whatItMeans({ in_warranty: true, reason: "in_warranty" });
    first.free.push("charges.everything");
    assert.equal(whatItMeans({ in_warranty: true, reason: "in_warranty" }).free.length, 5);
  });

  it("finds gaps in any iterable", () => {
    assert.deepEqual(findGaps(new Set([1, 4])), [2, 3]);
  });
});
