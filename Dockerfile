# The store as a container image, built from Debian's and npm's packages only (no downloaded
# binaries: better-sqlite3 is compiled from source). Debian 13 (trixie) because its nodejs is 20;
# Debian 12's is 18, older than the store supports. See docs/deployment.md.
#   docker build -t music-store .
#   docker run --env-file store.env -p 3000:3000 -v music-store-data:/var/lib/music-store music-store

FROM debian:trixie-slim AS build
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends nodejs npm libnode-dev python3 make g++ ca-certificates \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
# Native modules (better-sqlite3) are built here from source against Debian's node headers
# (libnode-dev in /usr/include/node), rather than fetched as prebuilt binaries or header tarballs.
ENV npm_config_build_from_source=true \
    npm_config_nodedir=/usr
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src src
COPY sandbox sandbox
COPY migrations migrations
RUN npm run build && npm prune --omit=dev

FROM debian:trixie-slim
# mariadb-client: `store backup` and `store restore` use mariadb-dump and mariadb when present.
# ffmpeg: checks lossless masters and makes the download formats (src/media/); without it only MP3 imports sell.
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends nodejs mariadb-client ffmpeg ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --home-dir /var/lib/music-store --shell /usr/sbin/nologin music-store \
 && install -d -o music-store -g music-store -m 0750 /var/lib/music-store
WORKDIR /app
COPY --from=build /app/node_modules node_modules
COPY --from=build /app/dist dist
COPY package.json ./
COPY bin bin
COPY views views
COPY public public
COPY specs specs
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=3000 \
    DATA_DIR=/var/lib/music-store
USER music-store
VOLUME /var/lib/music-store
EXPOSE 3000
# /healthz answers 503 while the database is unreachable.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + process.env.PORT + '/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# SIGTERM (docker stop) is the graceful stop; node runs as PID 1 and handles it itself.
# A small young generation and a bounded old space keep the peak RSS near 120 MB (docs/benchmarks.md).
CMD ["node", "--max-semi-space-size=1", "--max-old-space-size=96", "dist/src/server.js"]
