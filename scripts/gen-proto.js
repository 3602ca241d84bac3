#!/usr/bin/env node
// Generates typed message and stub definitions from src/rpc/protos into src/rpc/gen.
// The options here must match PROTO_OPTIONS in src/rpc/load.ts.
'use strict';
const { execFileSync } = require('node:child_process');
const path = require('node:path');
const fs = require('node:fs');

const root = path.resolve(__dirname, '..');
const protoDir = path.join(root, 'src/rpc/protos');
const outDir = path.join(root, 'src/rpc/gen');
fs.rmSync(outDir, { recursive: true, force: true });
const protos = fs.readdirSync(protoDir).filter((f) => f.endsWith('.proto'));
execFileSync(
  path.join(root, 'node_modules/.bin/proto-loader-gen-types'),
  ['--longs=String', '--enums=String', '--defaults', '--oneofs', '--grpcLib=@grpc/grpc-js',
   '--outDir', outDir, ...protos, '-I', protoDir],
  { stdio: 'inherit' },
);
