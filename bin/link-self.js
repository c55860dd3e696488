#!/usr/bin/env node
// Run by `npm install` (prepare): links this package's own `gateway` bin into node_modules/.bin, so
// `npx gateway …` in a checkout runs this gateway instead of looking for a registry package of that name.
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const root = path.resolve(__dirname, '..');
const binDir = path.join(root, 'node_modules', '.bin');
const target = path.join(binDir, 'gateway');
fs.mkdirSync(binDir, { recursive: true });
try {
  fs.unlinkSync(target);
} catch {
  // not there yet
}
fs.symlinkSync(path.relative(binDir, path.join(root, 'bin', 'gateway.js')), target);
fs.chmodSync(path.join(root, 'bin', 'gateway.js'), 0o755);
