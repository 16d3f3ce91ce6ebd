// The visit as short steps in the order of the work (S13-S31), with a strip always in view that
// says where the engineer is, what is done and what is left, and goes to any step directly.

import { t } from "../../i18n.js";
import { h } from "../../ui.js";
import { back, conflictText, pendingMark, problemText } from "../common.js";

export const STEPS = ["arrive", "before", "during", "after", "parts", "outcome", "charges", "signoff", "done"];
export const TERMINAL = ["completed", "not_fixed", "cancelled"];
const WORKING = ["in_progress", ...TERMINAL];

/** Return the address of a step of a visit. */
export function stepHref(id, step) {
  return `#/visit/${id}/${step}`;
}

function sectionDone(data, sectionId) {
  const sec = data.template?.body?.sections.find((s) => s.id === sectionId);
  return Boolean(sec) && sec.items.every((i) => data.merged.checklist[i.id]?.state);
}

function signed(data) {
  return data.merged.signoff.some((s) => !s.stale);
}

/** Return which steps are finished, as a Set. */
export function doneSteps(data) {
  const v = data.merged.visit;
  const done = new Set();
  if (WORKING.includes(v.status)) done.add("arrive");
  for (const s of ["before", "during", "after"]) if (sectionDone(data, s)) done.add(s);
  if (TERMINAL.includes(v.status)) done.add("parts").add("outcome");
  if (TERMINAL.includes(v.status) && data.charges.due_fen <= 0) done.add("charges");
  if (signed(data)) done.add("signoff");
  if (signed(data) && data.merged.feedback.length) done.add("done");
  return done;
}

/** Return the step the work is at: the first one not finished, in the order of the work. */
export function currentStep(data) {
  const done = doneSteps(data);
  const v = data.merged.visit;
  if (!WORKING.includes(v.status)) return "arrive";
  if (TERMINAL.includes(v.status)) return STEPS.slice(6).find((s) => !done.has(s)) ?? "done";
  return ["before", "during", "after"].find((s) => !done.has(s)) ?? "parts";
}

/** Return the step after `step`. */
export function nextStep(step) {
  return STEPS[Math.min(STEPS.indexOf(step) + 1, STEPS.length - 1)];
}

/** Return a big "next step" link. */
export function nextLink(id, step, label) {
  const next = nextStep(step);
  return h("a", { class: "button primary next-step", href: stepHref(id, next), id: "next-step" }, label ?? t("steps.next", { step: t(`steps.${next}`) }), " ›");
}

function strip(data, step) {
  const id = data.merged.visit.id;
  const done = doneSteps(data);
  return h(
    "div",
    { class: "steps", "aria-label": t("steps.label") },
    h(
      "ol",
      {},
      STEPS.map((s, i) =>
        h(
          "li",
          {},
          h(
            "a",
            {
              href: stepHref(id, s),
              class: `${done.has(s) ? "done" : ""} ${s === step ? "here" : ""}`,
              "aria-current": s === step ? "step" : null,
              "aria-label": `${i + 1}. ${t(`steps.${s}`)}${done.has(s) ? ` ✓` : ""}`,
              dataset: { step: s },
            },
            h("span", { class: "n", "aria-hidden": "true" }, done.has(s) ? "✓" : String(i + 1)),
            h("span", { class: "l", "aria-hidden": "true" }, t(`steps.short.${s}`)),
          ),
        ),
      ),
    ),
  );
}

/** Return what the server flagged on this visit, if anything: shown on every step. */
function flagged(data) {
  const items = [
    ...data.problems.map((p) => h("li", { class: "warn" }, problemText(p))),
    ...data.merged.conflict.map((c) => h("li", { class: "warn" }, conflictText(c))),
  ];
  return items.length ? h("section", { class: "block", id: "flagged" }, h("h2", {}, t("visit.flagged")), h("ul", { class: "list" }, items)) : null;
}

/** Return a step screen: the way back, who the visit is for, where the engineer is, the step, the strip. */
export function frame(data, step, ...body) {
  const v = data.merged.visit;
  const n = STEPS.indexOf(step);
  const screen = h(
    "section",
    { class: `screen visit step-${step}`, dataset: { step } },
    h(
      "header",
      { class: "visit-head" },
      back("#/today", "nav.today"),
      h("p", { class: "small" }, v.request?.number ?? "", " · ", data.customer?.name ?? v.request?.contact_name ?? `#${v.id}`, " ", pendingMark(v)),
      h("h1", { id: "step-title" }, t("steps.of", { n: n + 1, total: STEPS.length }), " ", t(`steps.${step}`)),
    ),
    flagged(data),
    body,
  );
  screen.nav = strip(data, step); // shown in the app's bottom bar, outside the scrolling screen
  return screen;
}
