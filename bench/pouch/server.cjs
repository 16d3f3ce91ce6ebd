// express-pouchdb on LevelDB: the PouchDB side of bench/pouch_compare.py.
// node server.cjs PORT DATA_DIR  (prints "ready" once listening on 127.0.0.1:PORT)
const express = require("express");
const PouchDB = require("pouchdb");
const expressPouchDB = require("express-pouchdb");

const [port, dir] = process.argv.slice(2);
const Pouch = PouchDB.defaults({ prefix: `${dir}/` });
const app = express();
app.use(
  "/",
  expressPouchDB(Pouch, {
    mode: "minimumForPouchDB",
    inMemoryConfig: true,
    logPath: `${dir}/express-pouchdb.log`,
  }),
);
app.listen(Number(port), "127.0.0.1", () => console.log("ready"));
