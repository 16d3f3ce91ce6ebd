// Calls to the server. Every call says how long it took, so the clock offset can be measured.

export class OfflineError extends Error {}
export class AuthError extends Error {}
export class ServerError extends Error {
  constructor(status, body) {
    super(body?.message || `server answered ${status}`);
    this.status = status;
    this.body = body;
  }
}

/**
 * Call the API and return {status, body, sentAt, receivedAt}.
 * Throws OfflineError when the network fails, AuthError on 401 and ServerError on other non-2xx.
 */
export async function call(path, { method = "GET", json, raw, contentType, token, allow = [], headers: extra = {} } = {}) {
  const headers = { ...extra };
  if (token) headers.Authorization = `Bearer ${token}`;
  let body;
  if (json !== undefined) {
    headers["Content-Type"] = "application/json";
    body = JSON.stringify(json);
  } else if (raw !== undefined) {
    headers["Content-Type"] = contentType;
    body = raw;
  }
  const sentAt = Date.now();
  let response;
  try {
    response = await fetch(path, { method, headers, body, cache: "no-store", credentials: "omit" });
  } catch (error) {
    throw new OfflineError(error.message);
  }
  const receivedAt = Date.now();
  const text = await response.text();
  let parsed = null;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    parsed = { message: text.slice(0, 200) };
  }
  if (response.status === 401 && !allow.includes(401)) {
    // The code tells a revoked phone ("device_revoked": wipe) from an ended sign-in.
    throw Object.assign(new AuthError(parsed?.message || "401"), { code: parsed?.error });
  }
  if (!response.ok && !allow.includes(response.status)) throw new ServerError(response.status, parsed);
  return { status: response.status, body: parsed, sentAt, receivedAt };
}

/** Return the offset (ms) to add to Date.now() to get the server's time, from one round trip. */
export function offsetFrom(serverTimeIso, sentAt, receivedAt) {
  const server = Date.parse(serverTimeIso);
  if (Number.isNaN(server)) return null;
  return Math.round(server - (sentAt + receivedAt) / 2);
}
