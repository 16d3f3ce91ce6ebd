// The app shell: every file the app loads is precached, the cache name changes with the shell,
// and the three languages say the same things.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readFileSync, readdirSync } from "node:fs";
import { describe, it } from "node:test";

const STATIC = new URL("../../static/", import.meta.url);
const read = (path) => readFileSync(new URL(path, STATIC));
const text = (path) => read(path).toString("utf8");
const sw = text("sw.js");
const PRECACHE = JSON.parse(`[${/const PRECACHE = \[(.*?)\];/s.exec(sw)[1].replace(/,\s*$/, "")}]`);
const fileOf = (path) => (path === "./" ? "index.html" : path);

// Every module reachable from index.html through static and dynamic imports, plus what it links.
function reachable() {
  const seen = new Set();
  const html = text("index.html");
  const queue = [...html.matchAll(/(?:src|href)="([^"#:]+)"/g)].map((m) => m[1]);
  while (queue.length) {
    const path = new URL(queue.shift(), "http://x/app/").pathname.replace(/^\/app\//, "");
    if (seen.has(path)) continue;
    seen.add(path);
    if (path.endsWith(".webmanifest")) {
      for (const icon of JSON.parse(text(path)).icons) queue.push(icon.src);
    }
    if (!path.endsWith(".js")) continue;
    const source = text(path);
    const base = `http://x/app/${path}`;
    for (const m of source.matchAll(/(?:from\s+|import\()\s*"(\.[^"]+)"/g)) queue.push(new URL(m[1], base).pathname);
  }
  return seen;
}

describe("service worker precache", () => {
  it("holds every file the app loads, and the three catalogues", () => {
    const precached = new Set(PRECACHE.map(fileOf));
    const missing = [...reachable()].filter((p) => !precached.has(p));
    assert.deepEqual(missing, []);
    for (const locale of ["en", "zh-Hans", "zh-Hant"]) assert.ok(precached.has(`i18n/${locale}.json`));
  });

  it("lists only files that exist", () => {
    for (const path of PRECACHE) assert.ok(read(fileOf(path)).length > 0, path);
  });

  it("names its cache after the shell's content, so a changed shell is a new version", () => {
    const hash = createHash("sha256");
    for (const path of PRECACHE) {
      hash.update(Buffer.concat([Buffer.from(`${path}\0`), read(fileOf(path)), Buffer.from("\0")]));
    }
    const version = /const VERSION = "([^"]+)";/.exec(sw)[1];
    assert.ok(version.endsWith(hash.digest("hex").slice(0, 8)), "run: python bench/shell_size.py --stamp");
  });

  it("never caches the API, the office or finance", () => {
    assert.match(sw, /url\.href\.startsWith\(scopeUrl\.href\)/);
    assert.ok(!PRECACHE.some((p) => /^(\/|\.\.\/|api\/|office\/|finance\/)/.test(p)));
  });
});

describe("languages", () => {
  const catalogues = Object.fromEntries(["en", "zh-Hans", "zh-Hant"].map((l) => [l, JSON.parse(text(`i18n/${l}.json`))]));

  it("have identical keys in all three locales", () => {
    const keys = (l) => Object.keys(catalogues[l]).sort();
    assert.deepEqual(keys("zh-Hans"), keys("en"));
    assert.deepEqual(keys("zh-Hant"), keys("en"));
  });

  it("keep the same placeholders in every translation", () => {
    for (const [key, value] of Object.entries(catalogues.en)) {
      const names = (s) => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();
      assert.deepEqual(names(catalogues["zh-Hans"][key]), names(value), key);
      assert.deepEqual(names(catalogues["zh-Hant"][key]), names(value), key);
    }
  });

  it("cover every literal key the code uses, and every dynamic family", () => {
    const jsFiles = ["js/", "js/screens/"].flatMap((dir) => readdirSync(new URL(dir, STATIC)).filter((f) => f.endsWith(".js")).map((f) => dir + f));
    const used = new Set();
    for (const f of jsFiles) for (const m of text(f).matchAll(/\bt\("([a-z_.]+)"/g)) used.add(m[1]);
    const families = {
      "visit.status.": ["scheduled", "en_route", "arrived", "in_progress", "completed", "not_fixed", "cancelled"],
      "kind.": ["visit.transition", "checklist.set", "part.add", "payment.record", "payment.void", "charge.waive", "equipment_receipt.issue", "damage.record", "feedback.submit", "signoff.sign", "payment.promise", "visit.revoked"],
      "method.": ["cash", "wechat", "alipay", "card", "bank_transfer"],
      "part.": ["used", "replaced", "returned"],
      "check.": ["done", "na", "open"],
      "warranty.": ["expired", "not_started", "unknown"],
      "status.error.": ["auth", "server", "offline"],
      "charges.": ["in_warranty", "out_of_warranty", "warranty_not_started", "warranty_unknown", "onsite_repair", "maintenance", "labour", "parts", "expansion_upgrade_support", "technical_support", "onsite_inspection", "phone_support", "parts_at_manufacturer_cost", "onsite_service_fee"],
      "signin.": ["wrong", "not_engineer", "other_engineer"],
      "import.": ["not_ours", "too_new", "other_device", "seq_clash"],
      "error.": ["required", "too_long", "number", "choice", "signature", "photo"],
    };
    for (const [prefix, names] of Object.entries(families)) for (const n of names) used.add(prefix + n);
    const missing = [...used].filter((k) => !(k in catalogues.en));
    assert.deepEqual(missing, []);
  });
});
