// Settings: language, storage, saving unsent work to a file and loading it back, update, sign-out.

import { setMeta } from "../db.js";
import { LOCALES, setLocale, t } from "../i18n.js";
import { APP_VERSION, signOut } from "../session.js";
import { exportWork, importWork, quota } from "../storage.js";
import { h, toast } from "../ui.js";

function mb(bytes) {
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

/** Return the More screen. */
export async function render(ctx) {
  const q = await quota().catch(() => null);
  const persisted = navigator.storage?.persisted ? await navigator.storage.persisted() : false;
  const message = h("p", { id: "more-message", role: "status" });

  const languages = h(
    "div",
    { class: "choices", role: "group", id: "languages" },
    LOCALES.map((code) =>
      h("button", {
        type: "button",
        class: "choice",
        lang: code,
        "aria-pressed": String(document.documentElement.lang === code),
        dataset: { locale: code },
        onclick: async () => {
          await setLocale(code);
          await setMeta("locale", code);
          ctx.render();
        },
      }, t(`lang.${code}`)),
    ),
  );

  async function save() {
    const work = await exportWork();
    const blob = new Blob([JSON.stringify(work)], { type: "application/json" });
    const a = h("a", { href: URL.createObjectURL(blob), download: `onsite-unsent-${new Date().toISOString().slice(0, 16).replace(/[:T]/g, "")}.json` });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
    message.textContent = t("export.saved", { n: work.ops.length });
  }

  const fileInput = h("input", {
    type: "file",
    accept: "application/json,.json",
    id: "import-file",
    onchange: async (e) => {
      const file = e.target.files[0];
      if (!file) return;
      let parsed;
      try {
        parsed = JSON.parse(await file.text());
      } catch {
        message.textContent = t("import.not_ours");
        return;
      }
      const result = await importWork(parsed);
      message.textContent = result.error ? t(result.error) : t("import.done", { n: result.added });
    },
  });

  const signOutBox = h("div", { id: "signout-box" });
  async function doSignOut(force = false) {
    const result = await signOut({ force });
    if (!result.done) {
      signOutBox.replaceChildren(
        h("p", { class: "warn", role: "alert" }, t("signout.unsent", { n: result.waiting })),
        h("button", { type: "button", class: "secondary", onclick: save }, t("export.button")),
        h("button", { type: "button", class: "danger", id: "signout-anyway", onclick: () => doSignOut(true) }, t("signout.anyway")),
      );
      return;
    }
    toast(t("signout.done"));
  }

  return h(
    "section",
    { class: "screen more" },
    h("h1", {}, t("more.title")),
    h("p", {}, ctx.session?.user?.display_name ?? "", " · ", t("more.device"), " ", ctx.session?.device?.receipt_prefix ?? ""),
    h("h2", {}, t("more.language")),
    languages,
    h("h2", {}, t("more.storage")),
    h("p", { id: "storage" }, persisted ? t("storage.persisted") : t("storage.not_persisted"), q ? ` · ${mb(q.usage)} / ${mb(q.quota)}` : ""),
    h("h2", {}, t("more.unsent")),
    h("p", { class: "small" }, t("export.explain")),
    h("div", { class: "row" }, h("button", { type: "button", class: "secondary", id: "export", onclick: save }, t("export.button")), h("label", { class: "button secondary", for: "import-file" }, t("import.button"))),
    fileInput,
    message,
    h("h2", {}, t("more.app")),
    h("p", {}, t("more.version"), " ", APP_VERSION),
    h("button", { type: "button", class: "secondary", onclick: () => window.onsiteCheckUpdate?.() }, t("update.check")),
    h("h2", {}, t("signout.title")),
    h("button", { type: "button", class: "danger", id: "signout", onclick: () => doSignOut(false) }, t("signout.button")),
    signOutBox,
  );
}
