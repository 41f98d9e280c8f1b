#!/usr/bin/env bash
# Container test: builds the repo's Dockerfile with podman and checks the image really works
# (shared/CONTAINER.md). Needs root, Debian 12, and the apt mirror; no image registry is used.
#
#   bash tests/container/container-test.sh          # standalone, from anywhere
#   (under ctest it is container.image, registered with -DNATTER_CONTAINER_TEST=ON)
#
# Steps: install podman/runc/debootstrap if missing; write /etc/containers/containers.conf if absent;
# make a local debian:bookworm-slim from the apt mirror with debootstrap (once; it is cached);
# build the image (--format docker, so the HEALTHCHECK is kept); run it with a named volume on a
# random loopback port; check /healthz, the non-root user, the HEALTHCHECK; sign a user up over
# REST; stop (SIGTERM), remove and re-create the container on the same volume; log the user in.
# Containers and the volume are removed on exit; the images stay as a build cache
# (podman rmi localhost/natter:test, or podman system reset -f, frees the ~500 MB).
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
image=${NATTER_TEST_IMAGE:-localhost/natter:test}
base=docker.io/library/debian:bookworm-slim
suffix="$$-$RANDOM"
ctr=natter-test-$suffix
vol=natter-test-$suffix
tmp=
t0=$SECONDS

step() { printf '[container %4ds] %s\n' "$((SECONDS - t0))" "$*"; }
fail() { printf 'container test FAILED: %s\n' "$*" >&2; exit 1; }
# podman, minus its harmless complaint that there is no systemd to time the healthchecks with.
pm() { podman "$@" 2> >(grep -v 'unable to get systemd connection' >&2 || true); }

if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    exec sudo -n -E bash "${BASH_SOURCE[0]}" "$@"
  fi
  fail "needs root (rootful podman and debootstrap); run it as root"
fi

cleanup() {
  local rc=$?
  if [ -n "$ctr" ] && podman container exists "$ctr" 2>/dev/null; then
    if [ "$rc" -ne 0 ]; then
      echo "---- podman logs $ctr ----"; podman logs "$ctr" 2>&1 | tail -n 50 || true
    fi
    podman rm -f -t 0 "$ctr" >/dev/null 2>&1 || true
  fi
  podman volume rm -f "$vol" >/dev/null 2>&1 || true
  [ -n "$tmp" ] && rm -rf "$tmp"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- 1. podman, runc, debootstrap and their settings ------------------------------------------
step "dependencies"
bash "$repo/scripts/deps.sh" --container
conf=/etc/containers/containers.conf
if [ ! -e "$conf" ]; then
  # Without CAP_SYS_RESOURCE podman's default rlimits can't be set; crun refuses the hybrid
  # cgroup layout of these VMs, runc works.
  mkdir -p /etc/containers
  printf '%s\n' '[containers]' 'default_ulimits = ["nofile=20000:20000", "nproc=4096:4096"]' '' \
    '[engine]' 'runtime = "runc"' >"$conf"
  step "wrote $conf"
elif ! grep -q 'default_ulimits' "$conf" || ! grep -Eq '^[[:space:]]*runtime[[:space:]]*=[[:space:]]*"runc"' "$conf"; then
  step "note: $conf exists and lacks default_ulimits or runtime=\"runc\"; left as it is"
fi

# ---- 2. base image: debian:bookworm-slim from the machine's own apt mirror --------------------
apt_mirror() {
  local f=/etc/apt/sources.list.d/debian.sources m=
  [ -r "$f" ] && m=$(awk '/^URIs:/{print $2; exit}' "$f")
  [ -z "$m" ] && [ -r /etc/apt/sources.list ] &&
    m=$(awk '$1=="deb" {for (i=2; i<=NF; i++) if ($i ~ /^https?:/) {print $i; exit}}' /etc/apt/sources.list)
  printf '%s\n' "${m:-http://deb.debian.org/debian}"
}

make_base() {
  local mirror R
  mirror=$(apt_mirror)
  tmp=$(mktemp -d)
  R=$tmp/rootfs
  step "debootstrap bookworm from $mirror"
  if ! debootstrap --variant=minbase bookworm "$R" "$mirror" >"$tmp/debootstrap.log" 2>&1; then
    tail -n 30 "$tmp/debootstrap.log"; fail "debootstrap"
  fi
  # What the official slim image does: no apt caches, no docs/man/locales, empty hostname/resolv.
  printf '%s\n' \
    'DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };' \
    'APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };' \
    'Dir::Cache::pkgcache "";' 'Dir::Cache::srcpkgcache "";' >"$R/etc/apt/apt.conf.d/docker-clean"
  printf '%s\n' 'Acquire::GzipIndexes "true";' 'Acquire::CompressionTypes::Order:: "gz";' \
    >"$R/etc/apt/apt.conf.d/docker-gzip-indexes"
  printf '%s\n' 'APT::AutoRemove::SuggestsImportant "false";' >"$R/etc/apt/apt.conf.d/docker-autoremove-suggests"
  printf '%s\n' 'path-exclude /usr/share/doc/*' 'path-include /usr/share/doc/*/copyright' \
    'path-exclude /usr/share/man/*' 'path-exclude /usr/share/groff/*' 'path-exclude /usr/share/info/*' \
    'path-exclude /usr/share/locale/*' 'path-exclude /usr/share/lintian/*' 'path-exclude /usr/share/linda/*' \
    >"$R/etc/dpkg/dpkg.cfg.d/docker"
  find "$R/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete 2>/dev/null || true
  rm -rf "$R/usr/share/man/"* "$R/usr/share/groff/"* "$R/usr/share/info/"* "$R/usr/share/locale/"* \
    "$R/usr/share/lintian/"* "$R/var/lib/apt/lists/"* "$R/var/cache/apt/"*.bin \
    "$R/var/cache/apt/archives/"*.deb "$R/var/log/"*.log
  # apt inside the image uses the same mirror as this machine (bookworm, -updates, -security).
  rm -f "$R/etc/apt/sources.list"
  if [ -r /etc/apt/sources.list.d/debian.sources ]; then
    cp /etc/apt/sources.list.d/debian.sources "$R/etc/apt/sources.list.d/debian.sources"
  else
    printf '%s\n' 'Types: deb' "URIs: $mirror" 'Suites: bookworm bookworm-updates' 'Components: main' \
      'Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg' '' 'Types: deb' \
      "URIs: ${mirror%/debian}/debian-security" 'Suites: bookworm-security' 'Components: main' \
      'Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg' >"$R/etc/apt/sources.list.d/debian.sources"
  fi
  : >"$R/etc/hostname"
  : >"$R/etc/resolv.conf"
  tar --numeric-owner --xattrs -C "$R" -c . |
    podman import --change 'CMD ["bash"]' - localhost/debian:bookworm-slim >/dev/null
  podman tag localhost/debian:bookworm-slim "$base"
  rm -rf "$tmp"; tmp=
}

mkdir -p /var/lib/containers
exec 9>/var/lib/containers/.natter-base-image.lock
flock 9
if podman image exists "$base"; then
  step "base image $base: cached"
else
  make_base
  step "base image $base: made"
fi
flock -u 9

# ---- 3. build ----------------------------------------------------------------------------------
step "podman build -t $image"
podman build --pull=never --format docker -t "$image" -f "$repo/Dockerfile" "$repo"
step "built"

hc=$(podman image inspect --format '{{json .HealthCheck}}' "$image")
case "$hc" in *healthz*) step "HEALTHCHECK: $hc" ;; *) fail "the image has no HEALTHCHECK ($hc)" ;; esac
version=$(podman run --rm --no-healthcheck "$image" --version) || fail "natter --version in the image"
step "natter --version: $version"

# ---- 4. run ------------------------------------------------------------------------------------
# Below the kernel's ephemeral range (32768 and up by default), where outgoing connections of other
# tests could hold the port; and not in use by any socket, listening or not.
port_free() { ! ss -Htan "( sport = :$1 )" 2>/dev/null | grep -q .; }
port=
for _ in $(seq 1 50); do
  p=$((20000 + RANDOM % 12000))
  if port_free "$p"; then port=$p; break; fi
done
[ -n "$port" ] || fail "no free port"
url="http://127.0.0.1:$port"

start_ctr() {
  pm run -d --name "$ctr" -p "127.0.0.1:$port:8080" -v "$vol:/data" \
    -e NATTER_PUBLIC_URL="$url" "$image" >/dev/null
  local i code=
  for i in $(seq 1 60); do
    code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$url/healthz" || true)
    [ "$code" = 200 ] && { step "GET /healthz -> 200 after ${i}x0.5s"; return 0; }
    [ "$(podman inspect -f '{{.State.Running}}' "$ctr")" = true ] ||
      fail "the container exited with code $(podman inspect -f '{{.State.ExitCode}}' "$ctr")"
    sleep 0.5
  done
  fail "GET $url/healthz answered '$code', not 200, within 30 s"
}

expect_ok() { # expect_ok OP JSON: POST /api/v1/OP answers 200 with {"ok":true,...}
  local resp code body
  resp=$(curl -sS --max-time 20 -X POST -H 'Content-Type: application/json' --data "$2" \
    -w '\n%{http_code}' "$url/api/v1/$1") || fail "POST /api/v1/$1: no answer"
  code=${resp##*$'\n'} body=${resp%$'\n'*}
  if [ "$code" != 200 ] || ! printf '%s' "$body" | grep -Eq '"ok"[[:space:]]*:[[:space:]]*true'; then
    fail "POST /api/v1/$1 -> $code $body"
  fi
  step "POST /api/v1/$1 -> 200 ok"
}

podman volume create "$vol" >/dev/null
step "podman run $image on $url, volume $vol"
start_ctr

uid=$(podman exec "$ctr" id -u)
[ "$uid" != 0 ] || fail "natter runs as root in the container"
step "id -u in the container: $uid"

ok=0
for _ in 1 2 3 4 5; do
  if podman healthcheck run "$ctr" >/dev/null 2>&1; then ok=1; break; fi
  sleep 1
done
[ "$ok" = 1 ] || fail "podman healthcheck run: unhealthy"
step "podman healthcheck run: healthy"

expect_ok auth.signup '{"email":"a@example.com","name":"Ada","password":"correct horse"}'
podman exec "$ctr" test -s /data/natter.db || fail "/data/natter.db is missing or empty"
step "/data: $(podman exec "$ctr" ls /data | tr '\n' ' ')"

# ---- 5. stop, re-create on the same volume, and the data is still there -----------------------
pm stop -t 20 "$ctr" >/dev/null
code=$(podman inspect -f '{{.State.ExitCode}}' "$ctr")
case "$code" in
  0|143) step "stopped with SIGTERM: exit code $code" ;;
  137) fail "natter did not stop on SIGTERM within 20 s (killed, exit 137)" ;;
  *) fail "natter exited with $code on SIGTERM" ;;
esac
pm rm "$ctr" >/dev/null
step "re-created on volume $vol"
start_ctr
expect_ok auth.login '{"email":"a@example.com","password":"correct horse"}'

step "container test passed in $((SECONDS - t0)) s"
