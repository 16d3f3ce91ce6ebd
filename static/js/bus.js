// Tells the screens that stored data changed, in this tab and in the app's other tabs.

const target = new EventTarget();
const channel = "BroadcastChannel" in globalThis ? new BroadcastChannel("onsite") : null;
channel?.unref?.(); // Node (the unit tests) would otherwise wait on it forever; browsers lack unref

/** Announce a change of `what` ("outbox", "data", "sync", "session"). */
export function changed(what) {
  target.dispatchEvent(new CustomEvent("changed", { detail: what }));
  channel?.postMessage(what);
}

/** Call fn(what) on every change, here or in another tab. */
export function onChange(fn) {
  target.addEventListener("changed", (e) => fn(e.detail));
  channel?.addEventListener("message", (e) => fn(e.data));
}
