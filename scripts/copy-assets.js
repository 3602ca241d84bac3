#!/usr/bin/env node
// Copies non-TypeScript runtime files (protos, static pages) into dist/ and marks the bins executable.
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
for (const dir of ['rpc/protos', 'namenode/static']) {
  const from = path.join(root, 'src', dir);
  if (fs.existsSync(from)) fs.cpSync(from, path.join(root, 'dist', dir), { recursive: true });
}
const pkg = require(path.join(root, 'package.json'));
for (const bin of Object.values(pkg.bin)) {
  const file = path.join(root, bin);
  if (fs.existsSync(file)) fs.chmodSync(file, 0o755);
}
