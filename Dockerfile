# Gilgal's image: build with dev dependencies, run with production ones only, as a non-root user.
# Run it with DATABASE_URL (see docker-compose.yml); the embedded PostgreSQL is for laptops.
#
# BASE_IMAGE is any image with Node 20+ and npm, a `node` user, and git and tini or apt-get to
# install them: the official slim image by default; an offline engine builds on a local one, e.g.
#   docker build --build-arg BASE_IMAGE=registry.local/node:20-bookworm-slim -t gilgal:local .
ARG BASE_IMAGE=node:20-bookworm-slim

FROM ${BASE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json tsconfig.json tsconfig.build.json ./
COPY src ./src
# `npm ci` runs `prepare`, which compiles src/ to dist/.
RUN npm ci && npm prune --omit=dev

FROM ${BASE_IMAGE}
# git fetches sources for builds; tini reaps them and forwards signals, so shutdown is graceful.
RUN if ! command -v git >/dev/null || ! command -v tini >/dev/null; then \
    apt-get update \
    && apt-get install -y --no-install-recommends git ca-certificates tini \
    && rm -rf /var/lib/apt/lists/*; \
  fi
ENV NODE_ENV=production HOST=0.0.0.0 PORT=3000 GILGAL_DATA_DIR=/var/lib/gilgal
WORKDIR /app
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
COPY migrations ./migrations
COPY manifests ./manifests
RUN mkdir -p /var/lib/gilgal && chown node:node /var/lib/gilgal
USER node
EXPOSE 3000
HEALTHCHECK --interval=10s --timeout=3s CMD ["node", "-e", "fetch('http://127.0.0.1:3000/health').then(r => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["/usr/bin/tini", "--", "node", "dist/cli/index.js"]
CMD ["server"]
