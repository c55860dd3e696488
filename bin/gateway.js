#!/usr/bin/env node
// The `gateway` command: runs the compiled composition root (npm install builds dist/ via "prepare").
'use strict';
// libuv's pool runs every file read, write and fsync; 4 threads (the default) let a few background
// fsyncs starve request I/O. Must be set before the pool first starts.
process.env.UV_THREADPOOL_SIZE ??= '16';
require('../dist/gateway/main.js').main(process.argv.slice(2)).catch((e) => {
  process.stderr.write(`gateway: ${e && e.stack ? e.stack : String(e)}\n`);
  process.exit(1);
});
