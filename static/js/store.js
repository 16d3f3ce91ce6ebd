// Reading what the screens show: the server's data from the last pull, merged with the outbox.

import { tx } from "./db.js";
import { arrivalClock, chargesOf, mergeVisit, sortByAppointment, warrantyDay, warrantyOf } from "./model.js";

/** Return the engineer's visits for Today, each with its customer and pending-op count. */
export function loadToday() {
  return tx(["visits", "customers", "outbox"], "readonly", async (t) => {
    const visits = sortByAppointment(await t.all("visits"));
    const ops = await t.all("outbox");
    return Promise.all(
      visits.map(async (visit) => {
        const mine = ops.filter((op) => op.visit_id === visit.id);
        const merged = mergeVisit(visit, [], mine).visit;
        return {
          visit: merged,
          customer: (await t.get("customers", visit.request?.customer_id)) ?? null,
          waiting: mine.length,
          clock: arrivalClock(merged, Date.now()),
        };
      }),
    );
  });
}

/** Return everything the visit screens need, or null when the visit is not on the phone. */
export async function loadVisit(visitId) {
  const raw = await tx(["visits", "customers", "equipment", "templates", "records", "outbox", "problems"], "readonly", async (t) => {
    const visit = await t.get("visits", visitId);
    if (!visit) return null;
    const customerId = visit.request?.customer_id;
    const templates = await t.all("templates");
    return {
      visit,
      customer: (await t.get("customers", customerId)) ?? null,
      equipment: customerId == null ? [] : await t.byIndex("equipment", "customer_id", customerId),
      template: templates.sort((a, b) => b.version - a.version || b.id - a.id)[0] ?? null,
      records: await t.byIndex("records", "visit_id", visitId),
      ops: (await t.byIndex("outbox", "visit_id", visitId)).sort((a, b) => a.seq - b.seq),
      problems: (await t.all("problems")).filter((p) => p.visit_id === visitId),
    };
  });
  if (!raw) return null;
  const merged = mergeVisit(raw.visit, raw.records, raw.ops);
  const item = raw.equipment.find((e) => e.id === raw.visit.request?.equipment_id) ?? null;
  const warranty = warrantyOf(item, warrantyDay(raw.visit, Date.now()));
  // The server's verdict wins where it differs (e.g. equipment data the phone does not have).
  const inWarranty = typeof raw.visit.in_warranty === "boolean" ? raw.visit.in_warranty : warranty.status.in_warranty;
  return {
    ...raw,
    merged,
    item,
    warranty,
    inWarranty,
    charges: chargesOf(merged, inWarranty),
    clock: arrivalClock(merged.visit, Date.now()),
  };
}

/** Return the sync figures for the status bar. */
export function loadStatus() {
  return tx(["meta", "outbox", "problems"], "readonly", async (t) => {
    const count = await t.count("outbox");
    const first = count ? (await t.all("outbox", null, 1))[0] : null;
    const problems = (await t.all("problems")).filter((p) => !p.seen);
    return {
      waiting: count,
      oldest: first?.device_time ?? null,
      sync: (await t.get("meta", "sync")) ?? {},
      session: (await t.get("meta", "session")) ?? null,
      problems,
    };
  });
}

/** Mark problems as read (they stay listed on the sync screen). */
export function dismissProblem(id) {
  return tx(["problems"], "readwrite", async (t) => {
    const p = await t.get("problems", id);
    if (p) await t.put("problems", { ...p, seen: true });
  });
}
