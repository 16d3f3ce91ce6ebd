// The engineers' app: start-up, routes, the sync status bar, automatic sync and the update flow.

import { changed, onChange } from "./bus.js";
import { getMeta, onDatabaseClosed, openDb, setMeta } from "./db.js";
import { locale, pickLocale, setLocale, t } from "./i18n.js";
import { enqueue } from "./outbox.js";
import { checkPayload } from "./ops.js";
import { currentSession, sessionUsable } from "./session.js";
import { askPersist, quota, workIsOld } from "./storage.js";
import { loadStatus } from "./store.js";
import { requestSync } from "./sync.js";
import { h, mount, toast } from "./ui.js";
import { wipedNotice } from "./wipe.js";

const SYNC_EVERY_MS = 60_000;
const main = () => document.getElementById("main");
let dirty = false; // the engineer is typing: a background refresh must not wipe the form
let updateWaiting = null;

const ROUTES = [
  [/^#?\/?$|^#\/today$/, "today"],
  [/^#\/visit\/(\d+)(?:\/(arrive|before|during|after|parts|outcome|done))?$/, "visit"],
  [/^#\/visit\/(\d+)\/charges$/, "charges"],
  [/^#\/visit\/(\d+)\/signoff$/, "signoff"],
  [/^#\/visit\/(\d+)\/receipt\/([\w-]+)\/([\w-]+)$/, "receipt"],
  [/^#\/sync$/, "sync"],
  [/^#\/more$/, "more"],
];

function route() {
  const hash = location.hash || "#/today";
  for (const [re, name] of ROUTES) {
    const m = re.exec(hash);
    if (m) return { name, params: m.slice(1) };
  }
  return { name: "today", params: [] };
}

/** Go to a route of the app. */
export function go(hash) {
  if (location.hash === hash) render();
  else location.hash = hash;
}

/**
 * Save one operation: validate, store it (committed) and only then say "saved"; then sync.
 * Returns the op, or {errors} keyed by payload field for the form to show.
 */
export async function save(kind, visitId, payload, opts = {}) {
  const preview = typeof payload === "function" ? payload("R-XXXX-000001", null) : payload;
  const errors = checkPayload(kind, preview);
  if (Object.keys(errors).length) return { errors };
  const build = typeof payload === "function" ? payload : () => payload;
  const op = await enqueue({ kind, visitId, build, ...opts });
  dirty = false;
  changed("outbox");
  savedToast();
  requestSync();
  return op;
}

/**
 * Save several ops of one gesture (a checklist section confirmed at once): each is its own op, so
 * the office keeps who set what and when per item; one "saved" and one sync for the lot.
 */
export async function saveAll(items) {
  for (const { kind, payload } of items) {
    const errors = checkPayload(kind, payload);
    if (Object.keys(errors).length) return { errors };
  }
  const ops = [];
  for (const { kind, visitId, payload, ...opts } of items) ops.push(await enqueue({ kind, visitId, build: () => payload, ...opts }));
  dirty = false;
  changed("outbox");
  savedToast();
  requestSync();
  return ops;
}

// Offline, the toast keeps saying so while it lies over the bar's offline words.
function savedToast() {
  toast(navigator.onLine ? t("saved") : `${t("saved")} · ${t("status.offline")}`);
}

/** Tell the app the engineer started typing on this screen. */
export function markDirty() {
  dirty = true;
}

const screens = {
  today: () => import("./screens/today.js"),
  visit: () => import("./screens/visit.js"),
  charges: () => import("./screens/charges.js"),
  signoff: () => import("./screens/signoff.js"),
  receipt: () => import("./screens/receipt.js"),
  sync: () => import("./screens/sync.js"),
  more: () => import("./screens/more.js"),
  signin: () => import("./screens/signin.js"),
  wiped: () => import("./screens/wiped.js"),
};

let renderCount = 0;
let shownHash = null;

function detailsKey(el, i) {
  return `${el.closest("[id]")?.id ?? ""}:${i}`;
}

function openDetails() {
  return new Set([...main().querySelectorAll("details")].map((el, i) => (el.open ? detailsKey(el, i) : null)).filter(Boolean));
}

function restoreDetails(keys) {
  main().querySelectorAll("details").forEach((el, i) => {
    if (keys.has(detailsKey(el, i))) el.open = true;
  });
}

/**
 * Draw the current screen (and the bar). A background refresh (new data from a sync) gives way
 * when the engineer has started typing meanwhile: their input is never wiped.
 */
export async function render({ background = false } = {}) {
  const mine = ++renderCount;
  const { session } = await currentSession();
  const { name, params } = wipedNotice()
    ? { name: "wiped", params: [] }
    : sessionUsable(session)
      ? route()
      : { name: "signin", params: [] };
  document.body.dataset.screen = name;
  const module = await screens[name]();
  const node = await module.render({ params, session, go, save, saveAll, render });
  const ownNav = node.nav ?? null; // a visit step brings its strip of steps instead of the app's nav
  if (mine !== renderCount) return; // a newer render started meanwhile
  if (background && dirty) return;
  dirty = false;
  // A refresh of the same screen (new data from a sync) keeps what the engineer had open.
  const same = shownHash === location.hash && document.body.dataset.shown === name;
  const open = same ? openDetails() : new Set();
  const y = main().scrollTop;
  mount(main(), node);
  if (same) {
    restoreDetails(open);
    main().scrollTop = y;
  } else {
    main().scrollTop = 0; // a new screen opens at its top, never at the last one's position
    main().focus({ preventScroll: true, focusVisible: false }); // no ring unless the keyboard moves
  }
  shownHash = location.hash;
  document.body.dataset.shown = name;
  renderNav(name, ownNav);
  await renderStatus();
}

// The visit screens carry their own step strip at the bottom instead of the app's navigation.
const NO_NAV = ["signin", "receipt", "visit", "charges", "signoff"];

function renderNav(active, own) {
  const nav = document.getElementById("nav");
  nav.className = own ? own.className : "";
  nav.setAttribute("aria-label", own?.getAttribute("aria-label") ?? "Onsite");
  if (own) return mount(nav, [...own.childNodes]);
  if (NO_NAV.includes(active)) return mount(nav);
  const link = (hash, key, screen) =>
    h("a", { href: hash, class: screen === active ? "active" : "", "aria-current": screen === active ? "page" : null }, t(key));
  mount(nav, link("#/today", "nav.today", "today"), link("#/sync", "nav.sync", "sync"), link("#/more", "nav.more", "more"));
}

function ago(iso) {
  if (!iso) return t("status.never");
  const d = new Date(iso);
  // The company's zone, as every other time the app shows.
  return d.toLocaleTimeString(locale(), { hour: "2-digit", minute: "2-digit", timeZone: "Asia/Shanghai" });
}

/** Redraw the always-visible sync status bar. */
export async function renderStatus() {
  const s = await loadStatus();
  const online = navigator.onLine;
  const bar = document.getElementById("status");
  document.getElementById("bar").classList.toggle("offline", !online);
  const secure = window.isSecureContext;
  if (document.body.dataset.screen === "signin") {
    // Before signing in, sync figures mean nothing: say only what stops the engineer.
    return mount(
      bar,
      h(
        "div",
        { class: "status-text" },
        h("span", { class: `dot ${online ? "on" : "off"}`, id: "status-online" }, online ? t("status.online") : t("status.offline_signin")),
        secure ? null : h("span", { class: "warn", id: "status-insecure" }, t("status.insecure")),
      ),
    );
  }
  const parts = [
    h("span", { class: `dot ${online ? "on" : "off"}`, id: "status-online" }, online ? t("status.online") : t("status.offline")),
    online ? null : h("span", { id: "status-offline-note" }, t("status.offline_note")),
    h("span", { id: "status-waiting", dataset: { count: s.waiting } }, t("status.waiting", { n: s.waiting })),
    h("span", { id: "status-last" }, t("status.last", { time: ago(s.sync.last_success) })),
  ];
  if (s.problems.length) parts.push(h("a", { href: "#/sync", class: "warn", id: "status-problems" }, t("status.problems", { n: s.problems.length })));
  if (s.session?.expired) parts.push(h("span", { class: "warn" }, t("status.signin_again")));
  else if (s.sync.last_error && s.sync.last_error !== "offline" && online) parts.push(h("span", { class: "warn" }, t(`status.error.${s.sync.last_error}`)));
  if (workIsOld(s.oldest)) parts.push(h("span", { class: "warn", id: "status-old" }, t("status.old_work")));
  const button = h("button", { class: "sync-now", id: "sync-now", type: "button", disabled: !online || s.sync.running, onclick: () => requestSync() }, t("status.sync_now"));
  mount(bar, h("div", { class: "status-text" }, parts), button);
}

function renderBanner() {
  const banner = document.getElementById("banner");
  if (!updateWaiting) return mount(banner);
  mount(
    banner,
    h("p", {}, t("update.ready")),
    h("button", { type: "button", id: "apply-update", onclick: applyUpdate }, t("update.apply")),
  );
}

// The new version takes over only when the engineer says so. The outbox lives in IndexedDB and
// the new version opens the same database, so waiting ops are carried over, never dropped; we still
// try to send them first when there is a signal.
async function applyUpdate() {
  if (!updateWaiting) return;
  if (navigator.onLine) await requestSync();
  await setMeta("updated_from", { at: new Date().toISOString(), waiting: (await loadStatus()).waiting });
  updateWaiting.postMessage({ type: "skip-waiting" });
}

async function startServiceWorker() {
  if (!("serviceWorker" in navigator)) return;
  const registration = await navigator.serviceWorker.register("sw.js", { scope: "./" });
  const watch = (worker) => {
    if (!worker) return;
    const ready = () => {
      // A waiting worker while another controls the page is an update, not the first install.
      if (worker.state === "installed" && navigator.serviceWorker.controller) {
        updateWaiting = worker;
        renderBanner();
      }
    };
    worker.addEventListener("statechange", ready);
    ready();
  };
  // Opened while the first worker was installing, the page would stay uncontrolled (and not
  // work offline) until a reload: ask the active worker to take it.
  navigator.serviceWorker.ready.then((r) => {
    if (!navigator.serviceWorker.controller) r.active?.postMessage({ type: "claim" });
  });
  watch(registration.waiting);
  registration.addEventListener("updatefound", () => watch(registration.installing));
  let reloading = false;
  navigator.serviceWorker.addEventListener("controllerchange", () => {
    if (!updateWaiting) {
      // The first install claims the page: no reload needed. Before sign-in it means nothing yet.
      if (document.body.dataset.screen !== "signin") toast(t("offline.ready"));
      return;
    }
    if (reloading) return;
    reloading = true;
    location.reload();
  });
  // Look for a new version when the app comes back to the foreground.
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "visible") registration.update().catch(() => {});
  });
  window.onsiteCheckUpdate = () => registration.update();
}

async function watchStorage() {
  await askPersist().catch(() => false);
  const q = await quota().catch(() => null);
  if (q && q.fraction > 0.8) toast(t("storage.nearly_full"));
}

async function boot() {
  await openDb();
  onDatabaseClosed(() => location.reload()); // a newer version needs the database
  const saved = await getMeta("locale");
  await setLocale(saved || pickLocale(navigator.languages));
  window.addEventListener("hashchange", () => render());
  window.addEventListener("online", () => {
    renderStatus();
    requestSync();
  });
  window.addEventListener("offline", renderStatus);
  main().addEventListener("input", markDirty);
  // Typing has started once a field has the focus: a refresh would take the field away.
  main().addEventListener("focusin", (e) => {
    if (e.target.matches("input:not([type=checkbox]):not([type=radio]):not([type=file]), textarea")) markDirty();
  });
  onChange((what) => {
    renderStatus();
    if (what === "session") render();
    else if ((what === "data" || what === "outbox") && !dirty && document.body.dataset.screen !== "receipt") render({ background: true });
  });
  await render();
  performance.mark("onsite-ready"); // the first screen is drawn: what "opens in" measures
  startServiceWorker().catch((e) => console.warn("service worker", e));
  watchStorage();
  requestSync();
  setInterval(() => requestSync(), SYNC_EVERY_MS);
  document.documentElement.dataset.ready = "1";
}

boot();
