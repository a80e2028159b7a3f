#!/usr/bin/env bash
# The test command (README, CI): lint and format check, type check, then every
# test file under test/ with Node's test runner. Integration tests start the real
# docker-registry binary; see test/helpers/registry.ts.
#   bash test/run.sh                 everything
#   bash test/run.sh test/unit/x.test.ts ...   just those files
set -euo pipefail
cd "$(dirname "$0")/.."
shopt -s globstar nullglob

if [ "$#" -gt 0 ]; then
  files=("$@")
else
  npx biome check .
  npx tsc --noEmit
  files=(test/**/*.test.ts)
fi

for bin in docker-registry skopeo; do
  command -v "$bin" >/dev/null || { echo "missing $bin: sudo apt-get install -y docker-registry skopeo podman" >&2; exit 1; }
done

exec node --import tsx --test --test-concurrency="${TEST_CONCURRENCY:-4}" --test-timeout=180000 "${files[@]}"
