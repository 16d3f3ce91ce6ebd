// A revoked phone (reported lost or stolen, or its engineer has left) erases what it holds at its
// next contact with the server: the database (visits, customers, unsent work, the sign-in token),
// the cached app and the service worker. It sends and exports nothing first: the office lists
// what was unsent as lost. Only a note of why stays, so the screen can say what happened.

import { DB_NAME, closeDb } from "./db.js";

const NOTICE_KEY = "onsite-wiped";

function settle(request) {
  return new Promise((resolve) => {
    request.onsuccess = request.onerror = request.onblocked = () => resolve();
  });
}

/** Erase everything the app keeps on this phone, then remember why (and nothing else). */
export async function wipeDevice(reason) {
  try {
    localStorage.setItem(NOTICE_KEY, JSON.stringify({ at: new Date().toISOString(), reason }));
  } catch {
    // No local storage: the wipe matters more than the notice.
  }
  await closeDb();
  await settle(indexedDB.deleteDatabase(DB_NAME));
  if (globalThis.caches) for (const name of await caches.keys()) await caches.delete(name);
  if (navigator.serviceWorker) {
    for (const registration of await navigator.serviceWorker.getRegistrations()) await registration.unregister();
  }
  try {
    sessionStorage.clear();
  } catch {
    // Nothing kept there; clearing is belt and braces.
  }
}

/** Return {at, reason} when this phone was wiped, else null. */
export function wipedNotice() {
  try {
    return JSON.parse(localStorage.getItem(NOTICE_KEY) || "null");
  } catch {
    return null;
  }
}

/** Forget the notice (the engineer has read it and signs in afresh). */
export function forgetNotice() {
  try {
    localStorage.removeItem(NOTICE_KEY);
  } catch {
    // Nothing to forget.
  }
}
