// Sign-in (online, once), the device's own id, and signing out without losing unsent work.

import { call, offsetFrom } from "./api.js";
import { changed } from "./bus.js";
import { SERVER_STORES, tx } from "./db.js";
import { uuid } from "./outbox.js";

export const APP_VERSION = "1.0.0";

/** Return {session, device} as stored; session is null when nobody is signed in. */
export function currentSession() {
  return tx(["meta"], "readonly", async (t) => ({
    session: (await t.get("meta", "session")) ?? null,
    device: (await t.get("meta", "device")) ?? null,
  }));
}

/** Return this phone's device id, making it once and keeping it in IndexedDB. */
export function deviceId() {
  return tx(["meta"], "readwrite", async (t) => {
    let device = await t.get("meta", "device");
    if (!device) {
      device = { id: uuid(), created_at: new Date().toISOString() };
      await t.put("meta", device, "device");
    }
    return device.id;
  });
}

/** Return whether a stored session can still be used offline (not expired, not revoked). */
export function sessionUsable(session, nowMs = Date.now()) {
  if (!session || session.expired) return false;
  const ends = Date.parse(session.device?.expires_at ?? "");
  return Number.isNaN(ends) || ends > nowMs;
}

/**
 * Sign in with the server; resolves with the session or rejects with the API error
 * (401 wrong password or not an engineer, 403 a reset password to change first, 409 the phone
 * belongs to another engineer, 429 too many failures: wait).
 */
export async function signIn(username, password) {
  const id = await deviceId();
  const { status, body, sentAt, receivedAt } = await call("/api/auth/device", {
    method: "POST",
    json: {
      username,
      password,
      device_id: id,
      device_name: (navigator.userAgentData?.platform || navigator.platform || "phone").slice(0, 120),
      app_version: APP_VERSION,
    },
    allow: [401, 403, 409, 429],
  });
  if (status !== 201) {
    const error = new Error(body?.message || "sign-in failed");
    error.code = { 401: "signin.wrong", 403: "signin.not_engineer", 409: "signin.other_engineer", 429: "signin.locked" }[status];
    if (body?.error === "password_change_required") error.code = "signin.change_password";
    error.params = { minutes: Math.max(1, Math.ceil((body?.retry_after ?? 60) / 60)) };
    throw error;
  }
  const session = {
    token: body.token,
    user: body.user,
    device: body.device,
    signed_in_at: new Date().toISOString(),
    expired: false,
  };
  await tx(["meta", ...SERVER_STORES], "readwrite", async (t) => {
    const previous = await t.get("meta", "last_user_id");
    if (previous != null && previous !== body.user.id) {
      // Another engineer's visits must not show; the outbox stays (the server refuses a
      // device that belongs to someone else, so it can only be this engineer's own work).
      for (const name of SERVER_STORES) await t.clear(name);
      await t.put("meta", {}, "sync");
    }
    const clock = (await t.get("meta", "clock")) ?? { hlc: null, offset_ms: 0 };
    const offset = offsetFrom(body.server_time, sentAt, receivedAt);
    if (offset !== null) clock.offset_ms = offset;
    await t.put("meta", clock, "clock");
    await t.put("meta", session, "session");
    await t.put("meta", body.user.id, "last_user_id");
  });
  changed("session");
  return session;
}

/**
 * Sign out. With ops still unsent it refuses unless `force`; the outbox and photos are kept even
 * then, so signing in again as the same engineer sends them.
 */
export async function signOut({ force = false } = {}) {
  const { session } = await currentSession();
  const waiting = await tx(["outbox"], "readonly", (t) => t.count("outbox"));
  if (waiting && !force) return { done: false, waiting };
  if (session && navigator.onLine !== false) {
    try {
      await call(`/api/devices/${session.device.id}/revoke`, { method: "POST", token: session.token, json: {} });
    } catch {
      // Offline or already revoked: the token is forgotten here either way.
    }
  }
  await tx(["meta", ...SERVER_STORES], "readwrite", async (t) => {
    await t.del("meta", "session");
    if (!waiting) for (const name of SERVER_STORES) await t.clear(name);
    if (!waiting) await t.put("meta", {}, "sync");
  });
  changed("session");
  return { done: true, waiting };
}
