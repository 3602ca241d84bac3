#!/usr/bin/env bash
# Installs what `npm start`, `npm test` and `npm run bench` need on a fresh machine:
# libfuse2 + fusermount from apt, node_modules matching package-lock.json, and the build.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
[[ -e /usr/lib/x86_64-linux-gnu/libfuse.so.2 || -n "$(ldconfig -p 2>/dev/null | grep 'libfuse.so.2 ')" ]] || need_apt+=(libfuse2)
command -v fusermount >/dev/null 2>&1 || need_apt+=(fuse)
# getfattr/setfattr: the mount's extended attribute tests.
command -v setfattr >/dev/null 2>&1 || need_apt+=(attr)
# docker-compose (Debian's, no engine needed) validates docker/compose.yaml in the test suite.
command -v docker-compose >/dev/null 2>&1 || need_apt+=(docker-compose)
# Debian's Chromium: the status page test drives it with playwright-core (no browser download).
[[ -x /usr/bin/chromium ]] || need_apt+=(chromium)
[[ -n "${DFS_NEED_FIO:-}" ]] && ! command -v fio >/dev/null 2>&1 && need_apt+=(fio)
if ((${#need_apt[@]})); then
  echo "ensure-env: installing ${need_apt[*]} from apt" >&2
  SUDO=""; [[ $(id -u) -eq 0 ]] || SUDO="sudo"
  $SUDO apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

stamp=node_modules/.dfs-lock-stamp
# The patches count too: patch-package applies them in npm ci's postinstall only.
lock_sum=$(cat package-lock.json patches/* | sha256sum | cut -d' ' -f1)
if [[ ! -f $stamp || "$(cat "$stamp")" != "$lock_sum" ]]; then
  echo "ensure-env: npm ci" >&2
  npm ci --no-audit --no-fund
  echo "$lock_sum" > "$stamp"
fi

npm run -s build
