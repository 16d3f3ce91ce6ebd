// Load a shared test vector file from spec/vectors/, the same file the Python tests read.
import { readFileSync } from "node:fs";

export function loadVectors(name) {
  const url = new URL(`../../spec/vectors/${name}.json`, import.meta.url);
  return JSON.parse(readFileSync(url, "utf8"));
}
