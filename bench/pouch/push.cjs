// PouchDB replicating a local LevelDB database to express-pouchdb: the PouchDB side of
// bench/pouch_compare.py. node push.cjs URL RECORDS_JSON WORK_DIR BATCH_SIZE
// Loads the records into a local database first (not timed), then times the replication and
// prints one JSON line: {"seconds": ..., "docs_written": ..., "ok": ...}.
const fs = require("fs");
const PouchDB = require("pouchdb");

async function main() {
  const [url, file, dir, batch] = process.argv.slice(2);
  const local = new PouchDB(`${dir}/local`);
  const docs = JSON.parse(fs.readFileSync(file, "utf8"));
  for (let i = 0; i < docs.length; i += 1000) await local.bulkDocs(docs.slice(i, i + 1000));
  const started = process.hrtime.bigint();
  const result = await local.replicate.to(url, { batch_size: Number(batch) });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  console.log(JSON.stringify({ seconds, docs_written: result.docs_written, ok: result.ok }));
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
