// The visit (S13-S31) as steps in the order of the work: arrive and permission, the checklist's
// before / during / after, parts and equipment, the outcome; charges and sign-off are their own
// screens in the same strip, and a finished screen closes it.

import { t } from "../i18n.js";
import { loadVisit } from "../store.js";
import { h } from "../ui.js";
import { back } from "./common.js";
import * as arrive from "./visit/arrive.js";
import * as checklist from "./visit/checklist.js";
import * as done from "./visit/done.js";
import * as outcome from "./visit/outcome.js";
import * as parts from "./visit/parts.js";
import { currentStep } from "./visit/steps.js";

/** Return the Visit screen at the step in the address, or at the step the work is at. */
export async function render(ctx) {
  const data = await loadVisit(Number(ctx.params[0]));
  if (!data) return h("section", { class: "screen" }, back("#/today"), h("p", {}, t("visit.missing")));
  const step = ctx.params[1] || currentStep(data);
  if (step === "charges" || step === "signoff") {
    ctx.go(`#/visit/${data.merged.visit.id}/${step}`);
    return h("section", { class: "screen" });
  }
  if (step === "arrive") return arrive.render(data, ctx);
  if (step === "parts") return parts.render(data, ctx);
  if (step === "outcome") return outcome.render(data, ctx);
  if (step === "done") return done.render(data, ctx);
  return checklist.render(data, ctx, step);
}
