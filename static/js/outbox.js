// The outbox: every change the engineer makes becomes one protocol op, written to IndexedDB in the
// same transaction that allocates its sequence number, ticks the clock and (for receipts) takes the
// next receipt number. One writer at a time across tabs (Web Locks), so sequence numbers never skip
// and never repeat (SYNC-LESSONS: Replicache mono #6340).

import { tick } from "./core/hlc.js";
import { EQUIPMENT, PAYMENT, formatReceiptNo } from "./core/receipts.js";
import { tx } from "./db.js";
import { deviceTime, envelope } from "./ops.js";

const SEQ_LOCK = "onsite-seq";

/** Run fn while holding the named cross-tab lock (or directly where Web Locks are missing). */
export function withLock(name, fn) {
  if (globalThis.navigator?.locks?.request) return navigator.locks.request(name, fn);
  return fn();
}

/** Return a fresh lowercase UUID. */
export function uuid() {
  return crypto.randomUUID();
}

/** Return the physical time the HLC uses: the phone's clock corrected by the offset to the server. */
export function clockNow(clock) {
  return Date.now() + (clock?.offset_ms ?? 0);
}

/**
 * Store a new op and return it once committed.
 * `build(receiptNo)` returns the payload; `receipt` ("R" or "E") takes the device's next number.
 * `blobs` ([{sha, type, bytes}]) are stored in the same transaction, so an op never names a photo
 * or signature that is not on the phone.
 */
export async function enqueue({ kind, visitId, recordId, build, receipt = null, blobs = [] }) {
  return withLock(SEQ_LOCK, () =>
    tx(["meta", "outbox", "blobs"], "readwrite", async (t) => {
      const session = await t.get("meta", "session");
      const device = await t.get("meta", "device");
      if (!session || !device) throw new Error("not signed in");
      const seq = (await t.get("meta", "next_seq")) ?? 1;
      const clock = (await t.get("meta", "clock")) ?? { hlc: null, offset_ms: 0 };
      const counters = (await t.get("meta", "receipt_counters")) ?? { [PAYMENT]: 0, [EQUIPMENT]: 0 };
      let receiptNo = null;
      if (receipt) {
        counters[receipt] = (counters[receipt] ?? 0) + 1;
        receiptNo = formatReceiptNo(session.device.receipt_prefix, counters[receipt], receipt);
        await t.put("meta", counters, "receipt_counters");
      }
      const now = clockNow(clock);
      const hlc = tick(clock.hlc, now, device.id);
      const op = envelope({
        opId: uuid(),
        seq,
        kind,
        recordId: recordId ?? uuid(),
        visitId,
        hlc,
        payload: build(receiptNo, hlc),
        time: deviceTime(Date.now()),
      });
      for (const blob of blobs) {
        const existing = await t.get("blobs", blob.sha);
        if (!existing) await t.put("blobs", { ...blob, uploaded: false, created_at: Date.now() });
      }
      await t.put("outbox", op);
      await t.put("meta", seq + 1, "next_seq");
      await t.put("meta", { ...clock, hlc }, "clock");
      return op;
    }),
  );
}

/** Return every op waiting in the outbox, in sequence order. */
export function pendingOps() {
  return tx(["outbox"], "readonly", (t) => t.all("outbox"));
}

/** Return the ops waiting for one visit, in sequence order. */
export async function pendingOpsOf(visitId) {
  const ops = await tx(["outbox"], "readonly", (t) => t.byIndex("outbox", "visit_id", visitId));
  return ops.sort((a, b) => a.seq - b.seq);
}

/** Return how many ops wait and the device time of the oldest (or null). */
export async function outboxSummary() {
  return tx(["outbox"], "readonly", async (t) => {
    const count = await t.count("outbox");
    const first = count ? (await t.all("outbox", null, 1))[0] : null;
    return { count, oldest: first ? first.device_time : null };
  });
}
