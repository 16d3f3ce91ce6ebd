// A few DOM helpers. Text always goes in as text (never as HTML), so customer input stays text.

/** Make an element: h("button", {class: "big", onclick}, "Save"). */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (name.startsWith("on")) el.addEventListener(name.slice(2), value);
    else if (name === "class") el.className = value;
    else if (name === "dataset") Object.assign(el.dataset, value);
    else if (name in el && typeof value !== "string") el[name] = value;
    else el.setAttribute(name, value === true ? "" : value);
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** Replace the element's content. */
export function mount(el, ...children) {
  el.replaceChildren();
  append(el, children);
}

/** Return a labelled form field; `error` (text) is shown beside it. */
export function field(label, input, error) {
  const id = input.id || `f-${Math.random().toString(36).slice(2, 9)}`;
  input.id = id;
  if (error) input.setAttribute("aria-invalid", "true");
  return h(
    "div",
    { class: "field" },
    h("label", { for: id }, label),
    input,
    error ? h("p", { class: "field-error", role: "alert" }, error) : null,
  );
}

/** Show a short message over the sync bar's text (never over a control; taps pass through). */
export function toast(text) {
  const box = document.getElementById("toast");
  if (!box) return;
  box.textContent = text;
  box.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => {
    box.hidden = true;
  }, 1800);
}

/** Read a form's named fields as strings (checkboxes as booleans). */
export function formValues(form) {
  const out = {};
  for (const el of form.elements) {
    if (!el.name) continue;
    if (el.type === "checkbox") out[el.name] = el.checked;
    else if (el.type === "radio") {
      if (el.checked) out[el.name] = el.value;
    } else out[el.name] = el.value;
  }
  return out;
}
