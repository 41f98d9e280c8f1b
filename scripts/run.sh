#!/usr/bin/env bash
# README command 1: install what is missing, build Natter (Release, in ./build), and run it.
#
#   scripts/run.sh                      # http://localhost:8080, data in ./data (SQLite + keys)
#   scripts/run.sh --listen 127.0.0.1:9000
#   scripts/run.sh admin ...            # operator subcommands (natter --help)
#
# It runs from the repo root, so ./data is the repo's data/ and relative paths in the arguments
# are taken from there. Any arguments go to natter. Unless --web-root or NATTER_WEB_ROOT is given,
# the web client is the repo's client-web/.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"

bash scripts/deps.sh

cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DNATTER_TESTS=OFF >/dev/null
cmake --build build --target natter -j"$(nproc)"

bin=build/server/natter
if [ ! -x "$bin" ]; then
  # The target's output directory moved: find the binary rather than fail.
  bin=$(find build -type f -name natter -perm -u+x -not -path '*/CMakeFiles/*' | head -n 1)
  [ -n "$bin" ] || { echo "run.sh: built, but no natter binary under build/" >&2; exit 1; }
fi

# The server (no arguments, a leading option, or `serve`) gets the repo's web client by default;
# other subcommands (admin, --help, --version) get their arguments unchanged.
has_web_root=0
for a in "$@"; do case "$a" in --web-root|--web-root=*) has_web_root=1 ;; esac; done
if [ "$has_web_root" -eq 0 ] && [ -z "${NATTER_WEB_ROOT:-}" ]; then
  case "${1:-}" in
    serve) shift; set -- serve --web-root "$repo/client-web" "$@" ;;
    ''|-*)
      case " $* " in
        *" --help "*|*" -h "*|*" --version "*) ;;
        *) set -- --web-root "$repo/client-web" "$@" ;;
      esac ;;
  esac
fi

exec "$bin" "$@"
