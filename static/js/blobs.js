// Signatures and photos the phone shows or owes: fetched lazily from the server when this phone
// does not hold them (a second phone, a reinstalled app, after a resync), and given up with a
// reason when the phone lost one it never uploaded (docs/sync-protocol.md R13a, GET/lost blobs).

import { call } from "./api.js";
import { getMeta, tx } from "./db.js";
import { sha256Bytes } from "./media.js";
import { blobRefs } from "./ops.js";

const urls = new Map();

async function token() {
  return (await getMeta("session"))?.token;
}

/** Return a blob's {type, bytes}: from the phone, or fetched once from the server and kept. */
export async function blobData(sha) {
  const held = await tx(["blobs"], "readonly", (t) => t.get("blobs", sha));
  if (held) return held;
  let response;
  try {
    // Content-addressed and immutable: the browser's HTTP cache may answer too.
    response = await fetch(`/api/sync/blobs/${sha}`, { headers: { Authorization: `Bearer ${await token()}` }, credentials: "omit" });
  } catch {
    return null; // offline: shown when the phone is online again
  }
  if (!response.ok) return null;
  const bytes = await response.arrayBuffer();
  if ((await sha256Bytes(bytes)) !== sha) return null; // never show bytes that are not the blob
  const blob = { sha, type: response.headers.get("Content-Type") || "image/jpeg", bytes, uploaded: true, fetched: true };
  await tx(["blobs"], "readwrite", async (t) => {
    if (!(await t.get("blobs", sha))) await t.put("blobs", blob);
  });
  return blob;
}

/** Return an object URL for an <img> showing the blob, or null if it cannot be had now. */
export async function blobUrl(sha) {
  if (urls.has(sha)) return urls.get(sha);
  const blob = await blobData(sha);
  if (!blob) return null;
  const url = URL.createObjectURL(new Blob([blob.bytes], { type: blob.type }));
  urls.set(sha, url);
  return url;
}

/** Return the blobs unsent ops name that this phone no longer holds: they can never be uploaded. */
export async function lostBlobs() {
  return tx(["outbox", "blobs"], "readonly", async (t) => {
    const ops = await t.all("outbox");
    const lost = [];
    for (const sha of new Set(ops.flatMap(blobRefs))) {
      if (!(await t.get("blobs", sha))) lost.push(sha);
    }
    return lost;
  });
}

/** Tell the server the phone lost this blob, and why; the ops naming it are then sent without it. */
export async function giveUpBlob(sha, reason) {
  await call(`/api/sync/blobs/${sha}/lost`, { method: "POST", token: await token(), json: { reason }, allow: [200, 409] });
}

/** Return an <img> for a blob; its picture arrives when the blob is had (at once, or fetched). */
export function blobImage(sha, alt) {
  const img = document.createElement("img");
  img.alt = alt;
  img.className = "blob";
  img.dataset.sha = sha;
  blobUrl(sha).then((url) => {
    if (url) img.src = url;
  });
  return img;
}
