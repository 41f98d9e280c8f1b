# Natter: a chat server in one process, with its data (SQLite + signing keys) on the /data volume.
#
#   podman build --format docker -t natter .      # --format docker keeps the HEALTHCHECK
#   podman run -d --name natter -p 8080:8080 -v natter-data:/data \
#     -e NATTER_PUBLIC_URL=https://chat.example.com natter
#
# Every flag has an environment variable (natter --help); those set below are the image's defaults.
# Operator commands run against the same volume:  podman exec natter natter admin ...
# No heredocs here: buildah 1.28 (Debian 12) doesn't support them.

# ---- build stage ------------------------------------------------------------------------------
FROM debian:bookworm-slim AS build
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      build-essential cmake pkg-config \
      libwebsockets-dev libev-dev libsodium-dev libsqlite3-dev libcjson-dev libcurl4-openssl-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN cmake -S . -B /build -DCMAKE_BUILD_TYPE=Release -DNATTER_TESTS=OFF \
 && cmake --build /build -j"$(nproc)" \
 && cmake --install /build --prefix /opt/natter --strip

# ---- runtime stage ----------------------------------------------------------------------------
FROM debian:bookworm-slim
# Only the shared libraries natter links (Debian 12 names; libwebsockets loads its libev event
# loop as a plugin, so that package is named too), CA certificates for SMTP/HTTPS, and
# curl for the HEALTHCHECK.
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      libwebsockets17 libwebsockets-evlib-ev libev4 libsodium23 libsqlite3-0 libcjson1 libcurl4 \
      ca-certificates curl \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --user-group --home-dir /data --no-create-home \
      --shell /usr/sbin/nologin natter \
 && mkdir -p /data && chown natter:natter /data && chmod 0750 /data
COPY --from=build /opt/natter /opt/natter
# A runtime stage that lacks a library would still build and then fail at start: fail here instead.
RUN if ldd /opt/natter/bin/natter | grep 'not found'; then exit 1; fi

ENV PATH=/opt/natter/bin:$PATH \
    NATTER_LISTEN=0.0.0.0:8080 \
    NATTER_DATA_DIR=/data \
    NATTER_WEB_ROOT=/opt/natter/share/natter/client-web \
    NATTER_PUBLIC_URL=http://localhost:8080
VOLUME /data
WORKDIR /data
USER natter
EXPOSE 8080
# Shell form, so the port follows NATTER_LISTEN when it is overridden.
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
  CMD curl -fsS -o /dev/null "http://127.0.0.1:${NATTER_LISTEN##*:}/healthz" || exit 1
ENTRYPOINT ["natter"]
