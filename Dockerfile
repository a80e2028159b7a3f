# registry-compat-proxy: multi-stage image.
#   build:   npm ci (with dev dependencies) and tsc → dist/
#   deps:    production dependencies only (no scripts: nothing there needs one)
#   runtime: Node 20 slim, dist/ + config/ + production node_modules, non-root
# Build: docker build -t registry-compat-proxy .
# Run:   docker run -e UPSTREAM_URL=http://registry:5000 -p 5080:5080 registry-compat-proxy
# The image has no docker-registry binary: set UPSTREAM_URL (or upstream.url in a config file
# passed with `serve --config FILE` or RCP_CONFIG).
ARG NODE_IMAGE=node:20-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force

FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=5080 \
    LOG_FORMAT=json
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /src/dist ./dist
COPY package.json ./
COPY config ./config
# The image's unprivileged "node" user (uid 1000).
USER node
EXPOSE 5080
HEALTHCHECK --interval=15s --timeout=5s --start-period=10s --retries=3 \
  CMD ["node", "dist/cli.js", "healthcheck"]
ENTRYPOINT ["node", "dist/cli.js"]
CMD ["serve"]
