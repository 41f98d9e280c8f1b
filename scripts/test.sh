#!/usr/bin/env bash
# README command 2: install what is missing (apt packages, Node >= 20, npm ci), build a Debug build
# with ASan + UBSan and -Werror in ./build-test, and run every test under ctest.
#
#   scripts/test.sh                          # the whole suite
#   scripts/test.sh -R integ                 # extra arguments go to ctest
#   NATTER_CONTAINER_TEST=ON scripts/test.sh # also the container test (root; see README)
#
# Exits with ctest's status; ctest's summary is the last thing it prints.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"

deps=(--test)
[ -d tests/browser ] && deps+=(--browser)   # browser tests need Debian's chromium
node_dir=$(bash scripts/deps.sh "${deps[@]}")
PATH="$node_dir:$PATH"
export PATH

case "${NATTER_CONTAINER_TEST:-OFF}" in
  1|ON|on|yes|true|TRUE) container=ON ;;
  *) container=OFF ;;
esac

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

# NODE_BIN is passed so that a cache from an older configure can't keep an older node.
cmake -S . -B build-test -DCMAKE_BUILD_TYPE=Debug \
  -DNATTER_SANITIZE=address,undefined -DNATTER_WERROR=ON \
  -DNODE_BIN="$node_dir/node" -DNATTER_CONTAINER_TEST="$container"
cmake --build build-test -j2

exec ctest --test-dir build-test -j2 --timeout 300 --output-on-failure "$@"
