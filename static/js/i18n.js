// The app's three languages; the catalogue is a precached JSON file per locale.

export const LOCALES = ["zh-Hant", "zh-Hans", "en"];
let messages = {};
let current = "en";

/** Return the locale that best fits the phone's languages (Traditional for TW/HK/MO). */
export function pickLocale(languages) {
  for (const raw of languages || []) {
    const tag = String(raw).toLowerCase();
    if (tag.startsWith("zh")) {
      return /hant|tw|hk|mo/.test(tag) ? "zh-Hant" : "zh-Hans";
    }
    if (tag.startsWith("en")) return "en";
  }
  return "zh-Hans";
}

/** Load a locale's catalogue and make it current. */
export async function setLocale(locale) {
  const chosen = LOCALES.includes(locale) ? locale : "en";
  const response = await fetch(new URL(`../i18n/${chosen}.json`, import.meta.url));
  messages = await response.json();
  current = chosen;
  document.documentElement.lang = chosen;
  return chosen;
}

/** Return the current locale. */
export function locale() {
  return current;
}

/** Return the message for key with {name} placeholders filled; the key itself when missing. */
export function t(key, vars = {}) {
  const text = messages[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (_, name) => (vars[name] ?? `{${name}}`));
}
