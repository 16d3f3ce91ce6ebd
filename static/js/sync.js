// The sync cycle: push the outbox, then pull until the server has nothing more.
// Triggers (a local write, the `online` event, a timer, the "sync now" button, other tabs) all go
// through requestSync(): one cycle at a time in this tab, and one across tabs (Web Locks), so two
// triggers never send the same op twice. An op leaves the outbox only in the transaction that
// records the server's answer for it (SYNC-LESSONS, "Exactly once").

import { receive } from "./core/hlc.js";
import { AuthError, OfflineError, call, offsetFrom } from "./api.js";
import { wipeDevice } from "./wipe.js";
import { changed } from "./bus.js";
import { SERVER_STORES, tx } from "./db.js";
import { FIELD_ENTITIES, applyTransition, opTarget, recordFromOp, recordKey } from "./model.js";
import { MAX_BATCH, PROTOCOL, blobRefs } from "./ops.js";
import { withLock } from "./outbox.js";

const SYNC_LOCK = "onsite-sync";
const PULL_LIMIT = 500;
const FINAL = ["applied", "duplicate", "rejected", "conflict"];
const ENTITY_STORES = { visit: "visits", customer: "customers", equipment: "equipment", checklist_template: "templates" };

let running = null;
let again = false;

/** Start a sync cycle, or ask the running one to go round once more; resolves when done. */
export function requestSync() {
  if (running) {
    again = true;
    return running;
  }
  running = (async () => {
    try {
      do {
        again = false;
        await withLock(SYNC_LOCK, syncOnce);
      } while (again);
    } finally {
      running = null;
    }
  })();
  return running;
}

async function syncState() {
  return tx(["meta"], "readonly", async (t) => ({
    session: await t.get("meta", "session"),
    device: await t.get("meta", "device"),
    sync: (await t.get("meta", "sync")) ?? {},
  }));
}

async function updateSync(changes) {
  await tx(["meta"], "readwrite", async (t) => {
    const sync = (await t.get("meta", "sync")) ?? {};
    await t.put("meta", { ...sync, ...changes }, "sync");
  });
  changed("sync");
}

/** Run one push-then-pull cycle; records the outcome in meta "sync" for the status bar. */
export async function syncOnce() {
  const { session, device } = await syncState();
  if (!session || session.expired || !device) return "signed_out";
  if (globalThis.navigator && navigator.onLine === false) {
    await updateSync({ online: false });
    return "offline";
  }
  await updateSync({ last_attempt: new Date().toISOString(), running: true });
  try {
    await push(session.token, device.id);
    await pull(session.token, device.id);
    await updateSync({ last_success: new Date().toISOString(), last_error: null, online: true, running: false });
    return "ok";
  } catch (error) {
    if (error instanceof AuthError && error.code === "device_revoked") {
      await wipeDevice("device_revoked");
      changed("session");
      return "wiped";
    }
    if (error instanceof AuthError) {
      await tx(["meta"], "readwrite", async (t) => {
        const s = await t.get("meta", "session");
        if (s) await t.put("meta", { ...s, expired: true }, "session");
      });
      changed("session");
      await updateSync({ last_error: "auth", running: false });
      return "auth";
    }
    // 426: this app speaks an older protocol than the server; unsent work stays until updated.
    const kind = error instanceof OfflineError ? "offline" : error?.status === 426 ? "upgrade" : "server";
    await updateSync({ last_error: kind, last_error_detail: String(error.message).slice(0, 300), online: kind !== "offline", running: false });
    return kind;
  }
}

async function adjustClock(body, sentAt, receivedAt, deviceId) {
  const offset = offsetFrom(body.server_time, sentAt, receivedAt);
  await tx(["meta"], "readwrite", async (t) => {
    const clock = (await t.get("meta", "clock")) ?? { hlc: null, offset_ms: 0 };
    if (offset !== null) clock.offset_ms = offset;
    if (body.hlc) clock.hlc = receive(clock.hlc, body.hlc, Date.now() + clock.offset_ms, deviceId);
    await t.put("meta", clock, "clock");
  });
}

// ---------------------------------------------------------------------------------------- push

async function push(token, deviceId) {
  // Each round either settles some ops or stops: ops the server asks to retry wait for next time.
  for (let round = 0; round < 50; round += 1) {
    const ops = await tx(["outbox"], "readonly", (t) => t.all("outbox", null, MAX_BATCH));
    if (!ops.length) return;
    await uploadBlobs(ops, token);
    // The epoch last heard lets a server restored from a backup bridge what it lost (R35).
    const { sync } = await syncState();
    const outbox = await outboxReport();
    const { body, sentAt, receivedAt } = await call("/api/sync/push", {
      method: "POST",
      token,
      json: { protocol: PROTOCOL, device_id: deviceId, epoch: sync?.epoch ?? null, ops, outbox },
    });
    await adjustClock(body, sentAt, receivedAt, deviceId);
    const { settled, missing } = await settle(ops, body);
    changed("outbox");
    // Go round again at once when something settled, or when the server named blobs it lacks
    // (they are uploaded first next round); ops held back for another reason wait for later.
    if (!settled && !missing) return;
  }
}

/**
 * What this phone still holds unsent, told to the server with each push: finance must not close a
 * day whose payments are still on a phone, and a revoked phone's unsent work is known by number.
 */
function outboxReport() {
  return tx(["meta", "outbox"], "readonly", async (t) => {
    const nextSeq = (await t.get("meta", "next_seq")) ?? 1;
    const waiting = await t.all("outbox");
    const paymentSeqs = waiting.filter((op) => op.kind === "payment.record").map((op) => op.seq);
    return { high_seq: nextSeq - 1, payment_seqs: paymentSeqs };
  });
}

async function uploadBlobs(ops, token) {
  const wanted = [...new Set(ops.flatMap(blobRefs))];
  for (const sha of wanted) {
    const blob = await tx(["blobs"], "readonly", (t) => t.get("blobs", sha));
    if (!blob || blob.uploaded) continue;
    await call(`/api/sync/blobs/${sha}`, { method: "PUT", token, raw: blob.bytes, contentType: blob.type });
    await tx(["blobs"], "readwrite", async (t) => {
      const current = await t.get("blobs", sha);
      if (current) await t.put("blobs", { ...current, uploaded: true });
    });
  }
}

/** Record the server's answers: remove settled ops, keep retries; return {settled, missing}. */
function settle(ops, body) {
  const byId = new Map(ops.map((op) => [op.op_id, op]));
  return tx(["outbox", "records", "visits", "problems", "blobs", "meta"], "readwrite", async (t) => {
    let settled = 0;
    let missing = 0;
    for (const result of body.results || []) {
      const op = byId.get(result.op_id);
      if (!op || op.seq !== result.seq) continue;
      if (result.status === "retry") {
        for (const sha of result.missing_blobs || []) {
          const blob = await t.get("blobs", sha);
          if (blob?.uploaded) {
            await t.put("blobs", { ...blob, uploaded: false });
            missing += 1;
          }
        }
        continue;
      }
      if (!FINAL.includes(result.status)) continue;
      await t.del("outbox", op.seq);
      settled += 1;
      if (result.status === "applied" || result.status === "duplicate") {
        await showApplied(t, op);
      } else if (result.server_state && op.kind === "checklist.set") {
        await t.put("records", storedRecord("checklist_item", op.record_id, op.visit_id, result.server_state));
      } else if (result.server_state?.status && op.kind === "visit.transition") {
        const visit = await t.get("visits", op.visit_id);
        if (visit) await t.put("visits", { ...visit, status: result.server_state.status });
      }
      const stale = op.kind === "signoff.sign" && result.server_state?.stale;
      if (result.status === "rejected" || result.status === "conflict" || stale) {
        await t.put("problems", {
          id: op.op_id,
          kind: op.kind,
          visit_id: op.visit_id,
          seq: op.seq,
          status: stale ? "stale" : result.status,
          reason: result.reason || "",
          payload: op.payload,
          at: new Date().toISOString(),
          seen: false,
        });
      }
    }
    const sync = (await t.get("meta", "sync")) ?? {};
    await t.put("meta", { ...sync, expected_seq: body.expected_seq, epoch: body.epoch }, "sync");
    return { settled, missing };
  });
}

// Show what the server accepted at once, before the next pull brings its own copy.
async function showApplied(t, op) {
  if (op.kind === "visit.transition") {
    const visit = await t.get("visits", op.visit_id);
    if (visit) await t.put("visits", applyTransition(visit, op.payload));
    return;
  }
  const { entity, id } = opTarget(op);
  if (await t.get("records", recordKey(entity, id))) return;
  const rec = recordFromOp(op);
  await t.put("records", storedRecord(rec.entity, rec.id, rec.visit_id, rec.data));
}

function storedRecord(entity, id, visitId, data) {
  return { key: recordKey(entity, id), entity, id: String(id), visit_id: visitId, data };
}

// ---------------------------------------------------------------------------------------- pull

async function pull(token, deviceId) {
  for (let page = 0; page < 10_000; page += 1) {
    const { sync } = await syncState();
    const cursor = encodeURIComponent(sync.cursor ?? "");
    // Conditional: at the feed head the server answers 304 from the head alone (R27b).
    const known = sync.cursor ? { "If-None-Match": `"${sync.cursor}"` } : {};
    const { status, body, sentAt, receivedAt } = await call(`/api/sync/pull?cursor=${cursor}&limit=${PULL_LIMIT}`, { token, headers: known, allow: [304] });
    if (status === 304) return;
    await adjustClock(body, sentAt, receivedAt, deviceId);
    await applyPage(body);
    changed("data");
    if (!body.has_more) return;
  }
}

/** Apply one pull page and save its cursor in the same transaction (never one without the other). */
export function applyPage(body) {
  return tx([...SERVER_STORES, "outbox", "problems", "meta"], "readwrite", async (t) => {
    if (body.resync) {
      // The server was restored or asks to start over: drop its data, never the outbox.
      for (const name of SERVER_STORES) await t.clear(name);
    }
    for (const change of body.changes || []) await applyChange(t, change);
    const sync = (await t.get("meta", "sync")) ?? {};
    await t.put("meta", { ...sync, cursor: body.cursor, last_pull: body.server_time }, "sync");
  });
}

async function applyChange(t, change) {
  const { entity, op, data } = change;
  if (entity === "visit" && op === "revoke") return revokeVisit(t, Number(data?.id ?? change.id));
  const store = ENTITY_STORES[entity];
  if (store) {
    const id = data?.id ?? Number(change.id);
    if (op === "delete") await t.del(store, id);
    else if (op === "upsert" && data) {
      const current = await t.get(store, id);
      await t.put(store, { ...(current || {}), ...data });
    }
    return;
  }
  if (!FIELD_ENTITIES.includes(entity)) return; // a newer server's entity: ignore, stay working
  const key = recordKey(entity, change.id);
  if (op === "delete") await t.del("records", key);
  else if (op === "upsert" && data) {
    const visitId = change.visit_id ?? data.visit_id ?? null;
    await t.put("records", storedRecord(entity, change.id, visitId, data));
  }
}

// A visit taken from this engineer goes from the phone, but its unsent work stays in the outbox.
async function revokeVisit(t, visitId) {
  const visit = await t.get("visits", visitId);
  await t.del("visits", visitId);
  for (const key of await t.keysByIndex("records", "visit_id", visitId)) await t.del("records", key);
  const waiting = (await t.keysByIndex("outbox", "visit_id", visitId)).length;
  await t.put("problems", {
    id: `revoked:${visitId}:${Date.now()}`,
    kind: "visit.revoked",
    visit_id: visitId,
    status: "revoked",
    reason: "",
    label: visit?.request?.number ?? String(visitId),
    waiting,
    at: new Date().toISOString(),
    seen: false,
  });
}
