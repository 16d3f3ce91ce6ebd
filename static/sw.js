// The engineers' app's service worker: a small versioned program (after svgomg's src/js/sw).
// It precaches the app shell, serves it with no network, and never touches /api/, /office/ or
// /finance/ (its scope is /app/, and API calls from the app go straight to the network).
// A new version installs and then WAITS: the page tells the engineer it is ready and activates it
// on their word (message "skip-waiting"); the outbox lives in IndexedDB, which the new version
// opens unchanged, so unsent work is carried over.

const VERSION = "2026.12.01-f74e11d9"; // bench/shell_size.py --stamp keeps the hash in step
const PREFIX = "onsite-app-";
const SHELL_CACHE = `${PREFIX}shell-${VERSION}`;

// Every file the app needs to open and work offline, relative to /app/.
const PRECACHE = [
  "./",
  "manifest.webmanifest",
  "css/app.css",
  "icons/icon-192.png",
  "icons/icon-512.png",
  "icons/icon-maskable-512.png",
  "i18n/en.json",
  "i18n/zh-Hans.json",
  "i18n/zh-Hant.json",
  "js/api.js",
  "js/app.js",
  "js/blobs.js",
  "js/bus.js",
  "js/db.js",
  "js/i18n.js",
  "js/media.js",
  "js/model.js",
  "js/ops.js",
  "js/outbox.js",
  "js/session.js",
  "js/storage.js",
  "js/store.js",
  "js/sync.js",
  "js/ui.js",
  "js/wipe.js",
  "js/core/canonical.js",
  "js/core/charges.js",
  "js/core/digest.js",
  "js/core/hlc.js",
  "js/core/receipts.js",
  "js/core/sla.js",
  "js/core/warranty.js",
  "js/screens/charges.js",
  "js/screens/common.js",
  "js/screens/more.js",
  "js/screens/receipt.js",
  "js/screens/signin.js",
  "js/screens/signoff.js",
  "js/screens/sync.js",
  "js/screens/today.js",
  "js/screens/visit.js",
  "js/screens/visit/arrive.js",
  "js/screens/visit/checklist.js",
  "js/screens/visit/done.js",
  "js/screens/visit/equipment.js",
  "js/screens/visit/form.js",
  "js/screens/visit/outcome.js",
  "js/screens/visit/parts.js",
  "js/screens/visit/steps.js",
  "js/screens/wiped.js",
];

const scopeUrl = new URL(self.registration.scope);
const shellUrl = new URL("./", scopeUrl).href;

self.addEventListener("install", (event) => {
  // cache: "reload" bypasses the HTTP cache, so a new version never precaches stale files.
  event.waitUntil(
    caches.open(SHELL_CACHE).then((cache) =>
      cache.addAll(PRECACHE.map((path) => new Request(new URL(path, scopeUrl), { cache: "reload" }))),
    ),
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    (async () => {
      const names = await caches.keys();
      await Promise.all(names.filter((n) => n.startsWith(PREFIX) && n !== SHELL_CACHE).map((n) => caches.delete(n)));
      await self.clients.claim();
    })(),
  );
});

self.addEventListener("message", (event) => {
  if (event.data?.type === "skip-waiting") self.skipWaiting();
  // A page that opened while this worker was still installing missed the claim on activation.
  if (event.data?.type === "claim") event.waitUntil(self.clients.claim());
  if (event.data?.type === "version") event.ports[0]?.postMessage(VERSION);
});

// The app's pages: every navigation inside the scope gets the shell (routes live in the hash).
async function servePage(request) {
  const cached = await caches.match(shellUrl, { cacheName: SHELL_CACHE });
  if (cached) return cached;
  return fetch(request);
}

// The shell's files: from the cache of this version, else the network.
async function serveAsset(request) {
  const cached = await caches.match(request, { cacheName: SHELL_CACHE, ignoreSearch: true });
  return cached || fetch(request);
}

self.addEventListener("fetch", (event) => {
  const { request } = event;
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  // Only the app's own files; /api/ and everything else go to the network untouched.
  if (url.origin !== scopeUrl.origin || !url.href.startsWith(scopeUrl.href)) return;
  if (url.pathname.endsWith("/sw.js")) return;
  if (request.mode === "navigate") event.respondWith(servePage(request));
  else event.respondWith(serveAsset(request));
});
