// A tiny promise wrapper around IndexedDB: one lazily opened database, one function per transaction.
// Every write the engineer makes goes through tx(), and the screen says "saved" only after the
// transaction's complete event, i.e. once the browser has committed it.

export const DB_NAME = "onsite";
// Raise only with an upgrade step below that keeps the outbox: a new app version carries it over.
export const DB_VERSION = 1;

// Server data from the pull (dropped on resync) versus the device's own work (never dropped).
export const SERVER_STORES = ["visits", "customers", "equipment", "templates", "records"];
export const OWN_STORES = ["meta", "outbox", "blobs", "problems"];

let opening = null;
const closedListeners = [];

/** Call fn when another tab (a newer app version) needs this connection closed. */
export function onDatabaseClosed(fn) {
  closedListeners.push(fn);
}

function upgrade(db, oldVersion) {
  if (oldVersion < 1) {
    db.createObjectStore("meta");
    db.createObjectStore("visits", { keyPath: "id" });
    db.createObjectStore("customers", { keyPath: "id" });
    db.createObjectStore("equipment", { keyPath: "id" }).createIndex("customer_id", "customer_id");
    db.createObjectStore("templates", { keyPath: "id" });
    // Field records of every entity: key is "<entity>:<id>".
    db.createObjectStore("records", { keyPath: "key" }).createIndex("visit_id", "visit_id");
    // Operations in the protocol's format, keyed by their sequence number.
    const outbox = db.createObjectStore("outbox", { keyPath: "seq" });
    outbox.createIndex("op_id", "op_id", { unique: true });
    outbox.createIndex("visit_id", "visit_id");
    db.createObjectStore("blobs", { keyPath: "sha" });
    db.createObjectStore("problems", { keyPath: "id" });
  }
}

/** Open (once) and return the database. */
export function openDb() {
  if (!opening) {
    opening = new Promise((resolve, reject) => {
      const request = indexedDB.open(DB_NAME, DB_VERSION);
      request.onupgradeneeded = (event) => upgrade(request.result, event.oldVersion);
      request.onsuccess = () => {
        const db = request.result;
        db.onversionchange = () => {
          db.close();
          opening = null;
          closedListeners.forEach((fn) => fn());
        };
        resolve(db);
      };
      request.onerror = () => {
        opening = null;
        reject(request.error);
      };
      request.onblocked = () => reject(new Error("database upgrade blocked by another tab"));
    });
  }
  return opening;
}

/** Close the connection (before the database is deleted: see wipe.js). */
export async function closeDb() {
  if (!opening) return;
  const pending = opening;
  opening = null;
  try {
    (await pending).close();
  } catch {
    // It never opened: nothing to close.
  }
}

function done(request) {
  return new Promise((resolve, reject) => {
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

// The helpers a transaction body uses; each returns a promise of the request's result.
function helpers(t) {
  const store = (name) => t.objectStore(name);
  return {
    raw: t,
    get: (name, key) => done(store(name).get(key)),
    put: (name, value, key) => done(key === undefined ? store(name).put(value) : store(name).put(value, key)),
    del: (name, key) => done(store(name).delete(key)),
    clear: (name) => done(store(name).clear()),
    all: (name, query, count) => done(store(name).getAll(query, count)),
    count: (name, query) => done(store(name).count(query)),
    byIndex: (name, index, query) => done(store(name).index(index).getAll(query)),
    keysByIndex: (name, index, query) => done(store(name).index(index).getAllKeys(query)),
    oneByIndex: (name, index, key) => done(store(name).index(index).get(key)),
  };
}

/**
 * Run body(t) in one transaction over `names`; resolve with its result once committed.
 * The body must only await IndexedDB requests (anything else lets the transaction close);
 * a throw aborts the whole transaction, so nothing is half-saved.
 */
export async function tx(names, mode, body) {
  const db = await openDb();
  return new Promise((resolve, reject) => {
    const t = db.transaction(names, mode, { durability: "strict" });
    let result;
    let failed = null;
    t.oncomplete = () => resolve(result);
    t.onabort = () => reject(failed || t.error || new Error("transaction aborted"));
    Promise.resolve()
      .then(() => body(helpers(t)))
      .then(
        (value) => {
          result = value;
        },
        (error) => {
          failed = error;
          try {
            t.abort();
          } catch {
            reject(error); // already finished: report the body's error anyway
          }
        },
      );
  });
}

/** Read one meta value. */
export function getMeta(key) {
  return tx(["meta"], "readonly", (t) => t.get("meta", key));
}

/** Write one meta value. */
export function setMeta(key, value) {
  return tx(["meta"], "readwrite", (t) => t.put("meta", value, key));
}
