#!/usr/bin/env bash
# Runs one dfs role, configured by environment variables that match the CLI flags:
#   DFS_HOST DFS_PORT DFS_HTTP_PORT DFS_DATA_DIR DFS_REPLICATION DFS_CHUNK_SIZE DFS_NODE_TIMEOUT
#   DFS_NAMENODE DFS_CAPACITY DFS_ID DFS_LABELS (comma separated) DFS_SYNC_ON_CLOSE=1
#   DFS_MOUNT (mount point)
# Security (read by the programs themselves; files only, never the secret in a variable):
#   DFS_SECRET_FILE (name node, data nodes)  DFS_TOKEN_FILE (mount, dfs)  DFS_TLS_CERT DFS_TLS_KEY DFS_TLS_CA
#   secrets-init: writes DFS_SECRETS_DIR/secret (a new random cluster secret, unless present) and
#   DFS_SECRETS_DIR/token (a client token for it), mode 0600, owned by DFS_SECRETS_OWNER (default node).
# A data node bound to 0.0.0.0 advertises its hostname (the compose service name).
# Roles: namenode | datanode | mount | dfs ARGS... | client-suite | secrets-init | any other command (exec'd as is).
set -euo pipefail

APP=${DFS_APP_DIR:-$(cd "$(dirname "$(readlink -f "$0")")/.." 2>/dev/null && pwd)}
[[ -f $APP/dist/namenode/main.js ]] || APP=/app
# Node flags as src/common/node-flags.ts gives them (data nodes and mounts: single-threaded GC, a larger heap limit).
bin() {
  case $1 in datanode | mount) echo "node --single-threaded-gc --initial-old-space-size=256 $APP/dist/$1/main.js" ;; *) echo "node $APP/dist/$1/main.js" ;; esac
}

flag() { # flag NAME VALUE: emits "--NAME VALUE" when VALUE is set
  [[ -n ${2:-} ]] && printf -- '--%s\n%s\n' "$1" "$2"
  return 0
}

role=${1:-namenode}
[[ $# -gt 0 ]] && shift

case "$role" in
  namenode)
    mapfile -t args < <(
      flag host "${DFS_HOST:-0.0.0.0}"; flag port "${DFS_PORT:-}"; flag http-port "${DFS_HTTP_PORT:-}"
      flag data-dir "${DFS_DATA_DIR:-/data/namenode}"; flag replication "${DFS_REPLICATION:-}"
      flag chunk-size "${DFS_CHUNK_SIZE:-}"; flag node-timeout "${DFS_NODE_TIMEOUT:-}")
    exec $(bin namenode) "${args[@]}" "$@" ;;
  datanode)
    mapfile -t args < <(
      flag namenode "${DFS_NAMENODE:-namenode:9000}"; flag host "${DFS_HOST:-0.0.0.0}"
      flag port "${DFS_PORT:-}"
      flag http-port "${DFS_HTTP_PORT:-}"; flag data-dir "${DFS_DATA_DIR:-/data/datanode}"
      flag capacity "${DFS_CAPACITY:-}"; flag id "${DFS_ID:-}"
      IFS=, read -ra labels <<< "${DFS_LABELS:-}"
      for l in "${labels[@]}"; do flag label "$l"; done
      [[ ${DFS_SYNC_ON_CLOSE:-0} == 1 ]] && echo --sync-on-close
      true)
    exec $(bin datanode) "${args[@]}" "$@" ;;
  mount)
    mnt=${DFS_MOUNT:-/mnt/dfs}
    mkdir -p "$mnt"
    exec $(bin mount) "$mnt" -f --namenode "${DFS_NAMENODE:-namenode:9000}" "$@" ;;
  dfs)
    exec $(bin cli) "$@" ;;
  secrets-init)
    dir=${DFS_SECRETS_DIR:-/secrets}
    umask 077
    mkdir -p "$dir"
    chmod 700 "$dir"
    if [[ ! -s $dir/secret ]]; then
      node -e "process.stdout.write(require('crypto').randomBytes(32).toString('hex') + '\\n')" > "$dir/secret"
      echo "secrets-init: generated a new cluster secret in $dir/secret"
    fi
    $(bin namenode) --secret-file "$dir/secret" --issue-token "${DFS_TOKEN_NAME:-client}" > "$dir/token"
    if [[ $(id -u) == 0 ]] && id -u "${DFS_SECRETS_OWNER:-node}" >/dev/null 2>&1; then
      chown -R "${DFS_SECRETS_OWNER:-node}:" "$dir"
    fi
    echo "secrets-init: client token in $dir/token" ;;
  client-suite)
    # Mount the compose cluster, prove it works end to end, then run the whole integration suite
    # (which starts its own local clusters inside this container).
    mnt=${DFS_MOUNT:-/mnt/dfs}
    mkdir -p "$mnt"
    $(bin mount) "$mnt" --namenode "${DFS_NAMENODE:-namenode:9000}"
    trap 'fusermount -uz "$mnt" 2>/dev/null || true' EXIT
    head -c 8388608 /dev/urandom > /tmp/smoke.bin
    cp /tmp/smoke.bin "$mnt/smoke.bin"
    cmp /tmp/smoke.bin "$mnt/smoke.bin"
    $(bin cli) --namenode "${DFS_NAMENODE:-namenode:9000}" status
    rm "$mnt/smoke.bin"
    cd "$APP"
    npx vitest run "$@" ;;
  *)
    exec "$role" "$@" ;;
esac
