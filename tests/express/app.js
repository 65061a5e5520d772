// The reference for `cors-wasm-check import express` (tests/import_express.rs): an Express
// app with the real `cors` middleware given the options file, every request answered 200
// with the body "upstream" (as the tests' own upstream answers).
// usage: node app.js OPTIONS.json PORT_FILE   (writes the port it listens on to PORT_FILE)
'use strict';
const fs = require('fs');
const express = require('express');
const cors = require('cors');

// "/body/flags" strings of `origin` are regular expressions, as `import express` reads them.
function revive(value) {
  const match = typeof value === 'string' && /^\/(.*)\/([a-z]*)$/s.exec(value);
  return match ? new RegExp(match[1], match[2]) : value;
}

const options = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
// Only when given: an `origin` of undefined would replace cors's default "*" and disable it.
if (Array.isArray(options.origin)) {
  options.origin = options.origin.map(revive);
} else if ('origin' in options) {
  options.origin = revive(options.origin);
}

const app = express();
app.use(cors(options));
app.use((req, res) => res.status(200).send('upstream'));
const server = app.listen(0, '127.0.0.1', () => {
  fs.writeFileSync(process.argv[3], String(server.address().port));
});
