// Form pieces the visit steps share: a form that redraws itself with the errors a save returned.

import { markDirty } from "../../app.js";
import { formValues, h } from "../../ui.js";
import { errorTexts } from "../common.js";

/** Build a form whose content build(values, errors) can be redrawn in place with errors. */
export function form(id, build, onSubmit) {
  const draw = (values = {}, errors = {}) => {
    const el = h("form", { id, class: "form", novalidate: true }, build(values, errors));
    el.addEventListener("submit", async (e) => {
      e.preventDefault();
      const button = el.querySelector("button[type=submit]");
      if (button) button.disabled = true;
      const vals = formValues(el);
      try {
        const result = await onSubmit(vals, el);
        if (result?.errors) el.replaceWith(draw(vals, errorTexts(result)));
      } finally {
        if (button) button.disabled = false;
      }
    });
    return el;
  };
  return draw();
}

export const input = (name, value = "", attrs = {}) => h("input", { name, value: value ?? "", ...attrs });
export const area = (name, value = "", rows = 3) => h("textarea", { name, rows }, value ?? "");
export const check = (name, checked, label) =>
  h("label", { class: "check" }, h("input", { type: "checkbox", name, checked: Boolean(checked) }), " ", label);
export const submit = (label, id, cls = "primary") => h("button", { type: "submit", class: cls, id }, label);

/** Return a block of a step with a heading. */
export function section(title, id, ...body) {
  return h("section", { class: "block", id }, title ? h("h2", {}, title) : null, body);
}

/** Return a button that asks "sure?" in place before doing something that cannot be taken back. */
export function confirmButton(label, question, yes, onConfirm, attrs = {}) {
  const box = h("span", { class: "confirm" });
  // An open question is the engineer mid-action: a refresh from a sync must not close it.
  const ask = () => {
    markDirty();
    box.replaceChildren(
      h("span", { class: "confirm-q", role: "alert" }, question),
      h("button", { type: "button", class: "danger small-btn", dataset: { confirm: "yes" }, onclick: onConfirm }, yes),
      h("button", { type: "button", class: "secondary small-btn", onclick: reset }, "✕"),
    );
  };
  const reset = () => box.replaceChildren(h("button", { type: "button", class: "secondary small-btn", ...attrs, onclick: ask }, label));
  reset();
  return box;
}
