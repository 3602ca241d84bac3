#!/usr/bin/env node
// Rebuilds fuse-native's addon from its patched C source (patches/fuse-native+*.patch):
// npm does not run dependencies' install scripts unless approved, and node-gyp-build
// prefers build/Release over the unpatched prebuilds, so the root postinstall runs this.
'use strict';
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const dir = path.dirname(require.resolve('fuse-native/package.json'));
const gyp =
  process.env.npm_config_node_gyp ||
  path.join(path.dirname(process.execPath), '../lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js');
const args = [gyp, 'rebuild', '--loglevel=warn'];
// Offline machines: build against the headers installed beside node instead of downloading them.
const nodedir = path.resolve(path.dirname(process.execPath), '..');
if (fs.existsSync(path.join(nodedir, 'include/node/common.gypi'))) args.push(`--nodedir=${nodedir}`);
execFileSync(process.execPath, args, { cwd: dir, stdio: ['ignore', 'ignore', 'inherit'] });

const binding = require('node-gyp-build')(dir);
if (typeof binding.fuse_native_get_context !== 'function') {
  console.error(
    'build-fuse-native: the rebuilt addon lacks the dfs patch (is patches/fuse-native+2.2.6.patch applied?)',
  );
  process.exit(1);
}
