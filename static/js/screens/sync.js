// Sync status in full: online or not, what waits, the last sync, and what the server refused or
// flagged, in words an engineer understands.

import { giveUpBlob, lostBlobs } from "../blobs.js";
import { tx } from "../db.js";
import { t } from "../i18n.js";
import { pendingOps } from "../outbox.js";
import { dismissProblem, loadStatus } from "../store.js";
import { requestSync } from "../sync.js";
import { workIsOld } from "../storage.js";
import { h } from "../ui.js";
import { problemText, when } from "./common.js";

/** Return the Sync screen. */
export async function render(ctx) {
  const s = await loadStatus();
  const ops = await pendingOps();
  const allProblems = await tx(["problems"], "readonly", (tr) => tr.all("problems"));
  allProblems.sort((a, b) => (a.at < b.at ? 1 : -1));
  const lost = await lostBlobs();
  // Each waiting item names the customer and the request it belongs to, not a sequence number.
  const names = await tx(["visits", "customers"], "readonly", async (tr) => {
    const out = new Map();
    for (const visitId of new Set(ops.map((op) => op.visit_id))) {
      const v = await tr.get("visits", visitId);
      const c = v?.request?.customer_id == null ? null : await tr.get("customers", v.request.customer_id);
      out.set(visitId, { customer: c?.name ?? v?.request?.contact_name ?? null, number: v?.request?.number ?? `#${visitId}` });
    }
    return out;
  });
  return h(
    "section",
    { class: "screen sync" },
    h("h1", {}, t("sync.title")),
    h(
      "dl",
      { class: "facts" },
      h("dt", {}, t("sync.connection")),
      h("dd", { id: "sync-online", class: navigator.onLine ? "" : "offline-text" }, navigator.onLine ? t("status.online") : `${t("status.offline")} — ${t("status.offline_note")}`),
      h("dt", {}, t("sync.waiting")),
      h("dd", { id: "sync-waiting" }, String(s.waiting)),
      h("dt", {}, t("sync.last")),
      h("dd", {}, s.sync.last_success ? when(s.sync.last_success) : t("status.never")),
      s.sync.last_error ? h("dt", {}, t("sync.last_error")) : null,
      s.sync.last_error ? h("dd", {}, t(`status.error.${s.sync.last_error}`)) : null,
    ),
    workIsOld(s.oldest) ? h("p", { class: "warn" }, t("sync.old_work")) : null,
    h("button", { type: "button", class: "primary", id: "sync-now-big", disabled: !navigator.onLine, onclick: async () => { await requestSync(); ctx.render(); } }, t("status.sync_now")),
    h("h2", {}, t("sync.problems")),
    allProblems.length
      ? h(
          "ul",
          { class: "list", id: "problems" },
          allProblems.map((p) =>
            h(
              "li",
              { class: p.seen ? "" : "warn", dataset: { status: p.status, kind: p.kind } },
              h("p", {}, problemText(p)),
              p.reason ? h("details", {}, h("summary", {}, t("sync.details")), h("p", { class: "small" }, p.reason)) : null,
              p.seen ? null : h("button", { type: "button", class: "secondary small-btn", onclick: async () => { await dismissProblem(p.id); ctx.render(); } }, t("sync.dismiss")),
            ),
          ),
        )
      : h("p", { class: "empty" }, t("sync.no_problems")),
    lost.length ? lostSection(ctx, lost) : null,
    h("h2", {}, t("sync.outbox")),
    ops.length
      ? h(
          "ul",
          { class: "outbox-list", id: "outbox" },
          ops.map((op) => {
            const { customer, number } = names.get(op.visit_id) ?? {};
            return h(
              "li",
              { dataset: { seq: op.seq } },
              h("strong", {}, customer ?? t("sync.unknown_visit")),
              h("span", { class: "small" }, " · ", number ?? "", " · ", t(`kind.${op.kind}`), " · ", when(op.device_time)),
            );
          }),
        )
      : h("p", { class: "empty" }, t("sync.outbox_empty")),
  );
}

// A photo or signature the phone lost before sending holds back the work that names it (R13a):
// the engineer gives it up with a reason, and the office sees the gap.
function lostSection(ctx, lost) {
  return h(
    "div",
    { id: "lost-blobs" },
    h("h2", {}, t("sync.lost_title")),
    h("p", {}, t("sync.lost_explain")),
    h(
      "ul",
      { class: "list" },
      lost.map((sha) => {
        const reason = h("input", { type: "text", maxlength: "500", "aria-label": t("sync.lost_reason"), placeholder: t("sync.lost_reason") });
        const giveUp = async () => {
          if (!reason.value.trim()) return reason.focus();
          await giveUpBlob(sha, reason.value.trim());
          await requestSync();
          ctx.render();
        };
        return h("li", { dataset: { sha } }, h("p", { class: "small" }, sha.slice(0, 12)), reason, h("button", { type: "button", class: "secondary small-btn", onclick: giveUp }, t("sync.lost_give_up")));
      }),
    ),
  );
}
