// Storage that survives: ask the browser to keep our data, watch the quota, and let the engineer
// carry unsent work out to a file and back (SYNC-LESSONS: browsers evict; give a way out).

import { changed } from "./bus.js";
import { tx } from "./db.js";
import { blobRefs } from "./ops.js";

export const EXPORT_FORMAT = "onsite-unsent-work";
export const EXPORT_VERSION = 1;
export const OLD_WORK_HOURS = 24;

/** Ask for persistent storage; return whether the browser granted it. */
export async function askPersist() {
  if (!navigator.storage?.persist) return false;
  if (await navigator.storage.persisted()) return true;
  return navigator.storage.persist();
}

/** Return {usage, quota, fraction} or null where the browser cannot tell. */
export async function quota() {
  if (!navigator.storage?.estimate) return null;
  const { usage = 0, quota: total = 0 } = await navigator.storage.estimate();
  return { usage, quota: total, fraction: total ? usage / total : 0 };
}

/** Return whether unsent work whose oldest op was made at `oldestIso` is getting old. */
export function workIsOld(oldestIso, nowMs = Date.now(), hours = OLD_WORK_HOURS) {
  if (!oldestIso) return false;
  const made = Date.parse(oldestIso);
  return !Number.isNaN(made) && nowMs - made > hours * 3_600_000;
}

function toBase64(buffer) {
  let s = "";
  const bytes = new Uint8Array(buffer);
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
}

function fromBase64(text) {
  const s = atob(text);
  const bytes = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i += 1) bytes[i] = s.charCodeAt(i);
  return bytes.buffer;
}

/** Return the unsent work as one JSON-ready object: ops as they are, with the photos they need. */
export function exportWork() {
  return tx(["meta", "outbox", "blobs"], "readonly", async (t) => {
    const device = await t.get("meta", "device");
    const session = await t.get("meta", "session");
    const ops = await t.all("outbox");
    const blobs = [];
    for (const sha of new Set(ops.flatMap(blobRefs))) {
      const blob = await t.get("blobs", sha);
      if (blob) blobs.push({ sha, type: blob.type, data: toBase64(blob.bytes) });
    }
    return {
      format: EXPORT_FORMAT,
      version: EXPORT_VERSION,
      exported_at: new Date().toISOString(),
      device_id: device?.id ?? null,
      user: session ? { id: session.user.id, username: session.user.username } : null,
      next_seq: (await t.get("meta", "next_seq")) ?? 1,
      receipt_counters: (await t.get("meta", "receipt_counters")) ?? {},
      hlc: (await t.get("meta", "clock"))?.hlc ?? null,
      ops,
      blobs,
    };
  });
}

/**
 * Decide what importing `file` into local state {deviceId, ops (in outbox), nextSeq, counters}
 * does: {error} or {adoptDevice, add: [ops], nextSeq, counters}. Ops keep their op_id and seq, so
 * an op the server already has is answered "duplicate": importing twice is harmless.
 */
export function planImport(file, local) {
  if (!file || file.format !== EXPORT_FORMAT) return { error: "import.not_ours" };
  if (file.version > EXPORT_VERSION) return { error: "import.too_new" };
  if (!Array.isArray(file.ops) || !file.device_id) return { error: "import.not_ours" };
  if (local.deviceId && local.deviceId !== file.device_id) return { error: "import.other_device" };
  const bySeq = new Map(local.ops.map((op) => [op.seq, op]));
  const add = [];
  for (const op of file.ops) {
    const mine = bySeq.get(op.seq);
    if (mine && mine.op_id !== op.op_id) return { error: "import.seq_clash" };
    if (!mine) add.push(op);
  }
  const maxSeq = Math.max(0, ...file.ops.map((op) => op.seq));
  const counters = { ...(local.counters || {}) };
  for (const [kind, n] of Object.entries(file.receipt_counters || {})) {
    counters[kind] = Math.max(counters[kind] ?? 0, n);
  }
  return {
    adoptDevice: !local.deviceId,
    add,
    nextSeq: Math.max(local.nextSeq ?? 1, file.next_seq ?? 1, maxSeq + 1),
    counters,
  };
}

/** Load a file saved by exportWork(); return {added} or {error: message key}. */
export async function importWork(file) {
  const result = await tx(["meta", "outbox", "blobs"], "readwrite", async (t) => {
    const device = await t.get("meta", "device");
    const plan = planImport(file, {
      deviceId: device?.id ?? null,
      ops: await t.all("outbox"),
      nextSeq: (await t.get("meta", "next_seq")) ?? 1,
      counters: (await t.get("meta", "receipt_counters")) ?? {},
    });
    if (plan.error) return plan;
    if (plan.adoptDevice) await t.put("meta", { id: file.device_id, created_at: new Date().toISOString() }, "device");
    for (const op of plan.add) await t.put("outbox", op);
    for (const blob of file.blobs || []) {
      if (!(await t.get("blobs", blob.sha))) {
        await t.put("blobs", { sha: blob.sha, type: blob.type, bytes: fromBase64(blob.data), uploaded: false });
      }
    }
    await t.put("meta", plan.nextSeq, "next_seq");
    await t.put("meta", plan.counters, "receipt_counters");
    const clock = (await t.get("meta", "clock")) ?? { hlc: null, offset_ms: 0 };
    if (file.hlc && (!clock.hlc || file.hlc > clock.hlc)) await t.put("meta", { ...clock, hlc: file.hlc }, "clock");
    return { added: plan.add.length };
  });
  changed("outbox");
  return result;
}
