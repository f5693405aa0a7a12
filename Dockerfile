# Gilgal's image: build with dev dependencies, run with production ones only, as a non-root user.
# Run it with DATABASE_URL (see docker-compose.yml); the embedded PostgreSQL is for laptops.

FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json tsconfig.json tsconfig.build.json ./
COPY src ./src
# `npm ci` runs `prepare`, which compiles src/ to dist/.
RUN npm ci && npm prune --omit=dev

FROM node:20-bookworm-slim
# git fetches sources for builds; tini forwards signals so shutdown is graceful.
RUN apt-get update \
  && apt-get install -y --no-install-recommends git ca-certificates tini \
  && rm -rf /var/lib/apt/lists/*
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
