#!/usr/bin/env bash
# Rehearses the Dockerfile's stages without a container engine: the allow-listed build
# context, `npm ci` + `npm run build`, `npm ci --omit=dev`, then the runtime layout
# (dist/ + config/ + production node_modules + package.json) started with the image's
# ENTRYPOINT/CMD in front of a given registry, probed with the HEALTHCHECK command.
#   bash deploy/check-image-layout.sh http://127.0.0.1:5000
# Needs the npm registry. With a Docker engine, build the image itself instead.
set -euo pipefail
cd "$(dirname "$0")/.."
upstream="${1:?usage: $0 UPSTREAM_URL}"
work="$(mktemp -d)"
trap 'kill "${pid:-0}" 2>/dev/null || true; rm -rf "$work"' EXIT

# The build context: what .dockerignore lets through.
mkdir -p "$work/ctx" "$work/app"
cp package.json package-lock.json tsconfig.json tsconfig.build.json "$work/ctx/"
cp -r src config "$work/ctx/"

echo "== build stage: npm ci, npm run build"
(cd "$work/ctx" && npm ci --no-audit --no-fund --loglevel=error && npm run --silent build)
echo "== deps stage: npm ci --omit=dev"
cp package.json package-lock.json "$work/app/"
(cd "$work/app" && npm ci --omit=dev --no-audit --no-fund --loglevel=error)
echo "== runtime stage"
cp -r "$work/ctx/dist" "$work/app/dist"
cp -r config "$work/app/config"
du -sh "$work/app/node_modules" "$work/app/dist"
if ls "$work/app/node_modules" | grep -qE '^(typescript|tsx|@biomejs|fast-check)$'; then
  echo "dev dependencies in the runtime layout" >&2
  exit 1
fi

cd "$work/app"
port=$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
NODE_ENV=production HOST=127.0.0.1 PORT="$port" LOG_FORMAT=json UPSTREAM_URL="$upstream" \
  node dist/cli.js serve >"$work/log" 2>&1 &
pid=$!
for _ in $(seq 1 50); do
  grep -q '"proxy listening"' "$work/log" && break
  sleep 0.2
done
PORT="$port" HOST=127.0.0.1 node dist/cli.js healthcheck
node -e 'fetch(process.argv[1]).then(async r=>{console.log("GET /v2/ ->",r.status,await r.text());process.exit(r.status===200||r.status===401?0:1)})' "http://127.0.0.1:$port/v2/"
# The web UI's assets are in dist/ (the build copies them).
node -e 'fetch(process.argv[1]).then(r=>{console.log("GET /ui/assets/ui.js ->",r.status);process.exit(r.status===200?0:1)})' "http://127.0.0.1:$port/ui/assets/ui.js"
kill -TERM "$pid"
wait "$pid"
echo "== exit code after SIGTERM: $?"
cat "$work/log"
