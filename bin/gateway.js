#!/usr/bin/env node
// The `gateway` command: runs the compiled composition root (npm install builds dist/ via "prepare").
'use strict';
require('../dist/gateway/main.js').main(process.argv.slice(2)).catch((e) => {
  process.stderr.write(`gateway: ${e && e.stack ? e.stack : String(e)}\n`);
  process.exit(1);
});
