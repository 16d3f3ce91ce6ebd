// Sign-in: online, once; afterwards the app opens offline for as long as the token lasts.

import { t } from "../i18n.js";
import { currentSession, signIn } from "../session.js";
import { importWork } from "../storage.js";
import { loadStatus } from "../store.js";
import { requestSync } from "../sync.js";
import { field, h } from "../ui.js";

/** Return the sign-in screen. */
export async function render() {
  const { session } = await currentSession();
  const { waiting } = await loadStatus();
  const error = h("p", { class: "field-error", role: "alert", id: "signin-error" });
  const username = h("input", { name: "username", autocomplete: "username", autocapitalize: "none", value: session?.user?.username ?? "" });
  const password = h("input", { name: "password", type: "password", autocomplete: "current-password" });
  const form = h(
    "form",
    { class: "form", id: "signin-form" },
    field(t("signin.username"), username),
    field(t("signin.password"), password),
    h("button", { type: "submit", class: "primary", id: "signin-submit" }, t("signin.submit")),
    error,
  );
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    error.textContent = "";
    if (!window.isSecureContext) {
      error.textContent = t("signin.insecure");
      return;
    }
    if (!navigator.onLine) {
      error.textContent = t("signin.offline");
      return;
    }
    try {
      await signIn(username.value.trim(), password.value);
      requestSync();
    } catch (err) {
      error.textContent = err.code ? t(err.code, err.params) : t("signin.failed");
    }
  });
  // A phone whose storage was wiped gets its unsent work back from a saved file, then signs in.
  const loaded = h("p", { role: "status", id: "signin-import-message" });
  const fileInput = h("input", {
    type: "file",
    accept: "application/json,.json",
    id: "import-file",
    onchange: async (e) => {
      const file = e.target.files[0];
      if (!file) return;
      let result;
      try {
        result = await importWork(JSON.parse(await file.text()));
      } catch {
        result = { error: "import.not_ours" };
      }
      loaded.textContent = result.error ? t(result.error) : t("import.done", { n: result.added });
    },
  });
  return h(
    "section",
    { class: "screen signin" },
    h("h1", {}, t("app.name")),
    session?.expired ? h("p", { class: "warn" }, t("signin.expired")) : null,
    waiting ? h("p", { class: "warn", id: "signin-waiting" }, t("signin.waiting", { n: waiting })) : null,
    // Without a secure context there is no service worker and no crypto.randomUUID: say so plainly.
    window.isSecureContext ? null : h("p", { class: "warn", id: "signin-insecure", role: "alert" }, t("signin.insecure")),
    form,
    h("p", { class: "small" }, t("signin.once")),
    // Only for a phone that lost its storage: out of a new engineer's way until needed.
    h(
      "details",
      { class: "recover", open: Boolean(waiting) },
      h("summary", {}, t("import.lost")),
      h("label", { class: "button secondary", for: "import-file" }, t("import.button")),
      fileInput,
      loaded,
    ),
  );
}
