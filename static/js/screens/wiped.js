// Shown after the server revoked this phone and the app erased what it held.

import { t } from "../i18n.js";
import { forgetNotice, wipedNotice } from "../wipe.js";
import { h } from "../ui.js";

/** Return the "this phone was wiped" screen. */
export async function render({ render: redraw }) {
  const notice = wipedNotice();
  return h(
    "section",
    { class: "screen wiped", id: "wiped" },
    h("h1", {}, t("wiped.title")),
    h("p", { class: "warn", role: "alert" }, t("wiped.why")),
    h("p", {}, t("wiped.lost")),
    notice?.at ? h("p", { class: "small" }, t("wiped.when", { at: new Date(notice.at).toLocaleString() })) : null,
    h(
      "button",
      {
        type: "button",
        class: "primary",
        id: "wiped-continue",
        onclick: () => {
          forgetNotice();
          redraw();
        },
      },
      t("wiped.continue"),
    ),
  );
}
