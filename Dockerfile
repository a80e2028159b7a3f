# registry-compat-proxy: multi-stage image.
#   build:   npm ci (with dev dependencies) and tsc → dist/
#   deps:    production dependencies only (no scripts: nothing there needs one)
#   runtime: Node 24 LTS slim, dist/ + config/ + production node_modules, non-root,
#            state (the tag delete journal) in the volume /var/lib/registry-compat-proxy
# Build: docker build -t registry-compat-proxy .
# Run:   docker run -e UPSTREAM_URL=http://registry:5000 -p 5080:5080 \
#          -v rcp-state:/var/lib/registry-compat-proxy registry-compat-proxy
# The image has no docker-registry binary: set UPSTREAM_URL (or upstream.url in a config file
# passed with `serve --config FILE` or RCP_CONFIG).
ARG NODE_IMAGE=node:24-bookworm-slim

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
# NODE_OPTIONS: V8's young generation at most 2 x 8 MiB (Node 20 lets it grow to 2 x 16 MiB,
# Node 24 to 2 x 64 MiB); measured, docs/performance.md "Memory". The proxy sets its other V8
# flags itself.
# MALLOC_TRIM_THRESHOLD_: glibc keeps up to 64 MiB of freed memory instead of handing it back
# to the kernel at once. A blob moves in 64 KiB chunks that a young collection frees about
# 32 MiB at a time; returned and faulted back in page by page, that was 180,000 minor page
# faults and up to half the CPU per GiB pulled. 32 MiB was too close: on a busy machine a
# collection sometimes freed more, and 9,000-100,000 faults per GiB came back
# (docs/performance.md "Memory").
ENV NODE_ENV=production \
    NODE_OPTIONS=--max-semi-space-size=8 \
    MALLOC_TRIM_THRESHOLD_=67108864 \
    HOST=0.0.0.0 \
    PORT=5080 \
    LOG_FORMAT=json \
    DELETE_JOURNAL=/var/lib/registry-compat-proxy/tag-delete-journal.jsonl \
    DATA_DIR=/var/lib/registry-compat-proxy/data
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /src/dist ./dist
COPY package.json ./
COPY config ./config
# The one folder the proxy writes: the tag delete journal (a tag delete is refused
# without it, and the proxy will not start when it cannot write there). /app stays
# root-owned and read-only for the proxy. Mount a volume here (compose: a named
# volume; Kubernetes: a PVC): a new empty volume takes this folder's owner.
RUN mkdir -p /var/lib/registry-compat-proxy && chown node:node /var/lib/registry-compat-proxy
VOLUME ["/var/lib/registry-compat-proxy"]
# The image's unprivileged "node" user (uid 1000).
USER node
EXPOSE 5080
HEALTHCHECK --interval=15s --timeout=5s --start-period=10s --retries=3 \
  CMD ["node", "dist/cli.js", "healthcheck"]
# --min-semi-space-size=8: the young generation stays at 2 x 8 MiB. V8 shrinks it after a quiet
# spell (a full collection or a scavenge at a low allocation rate), and the next burst of requests
# then runs with 2 x 1 MiB: twice the young collections, and the objects of requests in flight
# promoted to the old generation until it has grown back (docs/performance.md "Memory").
# Node accepts this flag only on its command line, not in NODE_OPTIONS.
ENTRYPOINT ["node", "--min-semi-space-size=8", "dist/cli.js"]
CMD ["serve"]
