// Steps 2-4: one section of the checklist. One gesture confirms every item not yet answered as done
// and goes on; the engineer marks only the exceptions. Each item is still its own op, so the office
// sees who set which item and when.

import { locale, t } from "../../i18n.js";
import { checklistRecordId } from "../../ops.js";
import { h } from "../../ui.js";
import { choices, pendingMark } from "../common.js";
import { frame, nextStep, stepHref } from "./steps.js";

function itemRow(data, ctx, item, conflicts) {
  const id = data.merged.visit.id;
  const lang = locale();
  const current = data.merged.checklist[item.id];
  const setItem = (state, note) => ctx.save("checklist.set", id, { item_id: item.id, state, note }, { recordId: checklistRecordId(id, item.id) });
  const note = h("input", { name: "note", value: current?.note ?? "", "aria-label": t("checklist.note") });
  const noteRow = h(
    "div",
    { class: "row note-row", hidden: !current?.note },
    note,
    h("button", { type: "button", class: "secondary small-btn", onclick: () => setItem(current?.state ?? "open", note.value) }, t("checklist.save_note")),
  );
  const text = item.text[lang] ?? item.text.en;
  return h(
    "li",
    { class: "check-item", dataset: { item: item.id, state: current?.state ?? "" } },
    h("p", {}, text, " ", pendingMark(current ?? {}), conflicts.has(checklistRecordId(id, item.id)) ? h("span", { class: "badge warn" }, t("checklist.conflict")) : null),
    h(
      "div",
      { class: "item-controls" },
      choices(item.id, [["done", t("check.done")], ["na", t("check.na")], ["open", t("check.open")]], current?.state, (state) => setItem(state, note.value)),
      h(
        "button",
        {
          type: "button",
          class: "secondary note-toggle",
          "aria-label": `${t("checklist.note")}: ${text}`,
          "aria-expanded": String(!noteRow.hidden),
          onclick: (e) => {
            noteRow.hidden = !noteRow.hidden;
            e.currentTarget.setAttribute("aria-expanded", String(!noteRow.hidden));
            if (!noteRow.hidden) note.focus();
          },
        },
        "✎",
      ),
    ),
    current?.note ? h("p", { class: "small note-text" }, current.note) : null,
    noteRow,
  );
}

/** Return the step for checklist section `step` ("before", "during" or "after"). */
export function render(data, ctx, step) {
  const id = data.merged.visit.id;
  const sec = data.template?.body?.sections.find((s) => s.id === step);
  const next = nextStep(step);
  if (!sec) return frame(data, step, h("p", {}, t("checklist.none")), h("a", { class: "button primary next-step", href: stepHref(id, next), id: "next-step" }, t("steps.next", { step: t(`steps.${next}`) }), " ›"));
  const open = sec.items.filter((i) => !data.merged.checklist[i.id]?.state);
  const conflicts = new Set(data.merged.conflict.filter((c) => c.entity === "checklist_item").map((c) => c.record_id));
  const confirmAll = async () => {
    if (open.length) {
      const result = await ctx.saveAll(
        open.map((i) => ({ kind: "checklist.set", visitId: id, payload: { item_id: i.id, state: "done", note: "" }, recordId: checklistRecordId(id, i.id) })),
      );
      if (result?.errors) return;
    }
    ctx.go(stepHref(id, next));
  };
  return frame(
    data,
    step,
    h("p", { class: "small" }, sec.title[locale()] ?? sec.title.en, " · ", t("checklist.answered", { n: sec.items.length - open.length, total: sec.items.length })),
    h(
      "button",
      { type: "button", class: "primary wide", id: "confirm-section", dataset: { section: sec.id }, onclick: confirmAll },
      open.length ? t("checklist.confirm_rest", { n: open.length }) : t("steps.next", { step: t(`steps.${next}`) }),
      " ›",
    ),
    h("p", { class: "small" }, t("checklist.exceptions")),
    h("ul", { class: "check-list", id: "checklist", dataset: { section: sec.id } }, sec.items.map((item) => itemRow(data, ctx, item, conflicts))),
  );
}
