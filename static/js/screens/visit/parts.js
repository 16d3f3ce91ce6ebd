// Step 5: parts used, replaced or returned (S31), corrections as reversal events after a "sure?";
// then damaged hardware (S20) and equipment taken back (S21), each closed until needed.

import { formatFen } from "../../core/charges.js";
import { livePartEvents } from "../../core/digest.js";
import { t } from "../../i18n.js";
import { parseYuan } from "../../ops.js";
import { field, h } from "../../ui.js";
import { pendingMark } from "../common.js";
import { damage, takenBack } from "./equipment.js";
import { confirmButton, form, input, section, submit } from "./form.js";
import { frame, nextLink } from "./steps.js";

function parts(data, ctx) {
  const id = data.merged.visit.id;
  const events = data.merged.part_event.map((p) => ({ ...p, reverses: p.reverses ?? null }));
  const live = new Set(livePartEvents(events).map((p) => p.id));
  const reversed = new Set(events.filter((p) => p.reverses).map((p) => p.reverses));
  const correct = (p) =>
    ctx.save("part.add", id, { kind: p.kind, part_code: p.part_code, description: p.description, qty: p.qty, unit_cost_fen: p.unit_cost_fen, reverses: p.id });
  const rows = events.map((p) =>
    h(
      "li",
      { class: p.reverses ? "reversal" : reversed.has(p.id) ? "cancelled" : "", dataset: { part: p.id } },
      h("span", {}, t(`part.${p.kind}`), " · ", p.part_code, p.description ? ` ${p.description}` : "", ` ×${p.qty} · ${formatFen(p.unit_cost_fen)}`),
      p.reverses ? h("span", { class: "small" }, " ", t("part.correction")) : null,
      reversed.has(p.id) ? h("span", { class: "small" }, " ", t("part.cancelled")) : null,
      " ",
      pendingMark(p),
      live.has(p.id) ? confirmButton(t("part.correct"), t("part.correct_ask"), t("part.correct_yes"), () => correct(p), { dataset: { correct: p.id } }) : null,
    ),
  );
  return section(
    null,
    "parts",
    rows.length ? h("ul", { class: "list" }, rows) : h("p", { class: "empty" }, t("part.none")),
    h(
      "details",
      { open: !rows.length },
      h("summary", { class: "button secondary", id: "part-add" }, t("part.add")),
      form(
        "part-form",
        (vals, err) => [
          field(t("part.code"), input("part_code", vals.part_code), err.part_code),
          field(t("part.description"), input("description", vals.description), err.description),
          h(
            "div",
            { class: "grid3" },
            field(
              t("part.kind"),
              h("select", { name: "kind" }, ["used", "replaced", "returned"].map((k) => h("option", { value: k, selected: (vals.kind ?? "used") === k }, t(`part.${k}`)))),
              err.kind,
            ),
            field(t("part.qty"), input("qty", vals.qty ?? "1", { inputmode: "numeric" }), err.qty),
            field(t("part.unit_cost"), input("unit_cost", vals.unit_cost ?? "0", { inputmode: "decimal" }), err.unit_cost_fen),
          ),
          submit(t("part.save"), "part-save"),
        ],
        (vals) =>
          ctx.save("part.add", id, {
            kind: vals.kind,
            part_code: vals.part_code.trim(),
            description: vals.description.trim(),
            qty: /^\d+$/.test(vals.qty.trim()) ? Number(vals.qty.trim()) : NaN,
            unit_cost_fen: parseYuan(vals.unit_cost) ?? NaN,
            reverses: null,
          }),
      ),
    ),
  );
}

/** Return the Parts and equipment step. */
export function render(data, ctx) {
  return frame(data, "parts", parts(data, ctx), takenBack(data, ctx), damage(data, ctx), nextLink(data.merged.visit.id, "parts"));
}
