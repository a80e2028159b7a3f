#!/usr/bin/env bash
# The test command (README, CI): lint and format check, type check, then every
# test file under test/ with Node's test runner. Unit tests need nothing but
# Node; integration tests start the real docker-registry binary and check the
# tools they need themselves (test/helpers/prereq.ts names the package).
#   bash test/run.sh                 everything
#   bash test/run.sh test/unit/x.test.ts ...   just those files
# The tests never touch ./data (each proxy gets a temporary journal and data
# dir); the run fails if ./data changed while it ran, unless a serve (npm start)
# owns ./data meanwhile: its own writes are not the tests'.
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

# A fingerprint of ./data (names, sizes, modification times), "absent" when there is none.
data_state() {
  if [ -e data ]; then find data -printf '%p %s %T@\n' 2>/dev/null | sort | sha256sum; else echo absent; fi
}
# The pid of a running serve that owns ./data (data/serve.lock), if any.
data_owner() {
  local pid
  pid=$(sed -n 's/^{"pid":\([0-9]*\),.*/\1/p' data/serve.lock 2>/dev/null)
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then echo "$pid"; fi
}
before=$(data_state)
owner=$(data_owner)
status=0
node --import tsx --test --test-concurrency="${TEST_CONCURRENCY:-4}" --test-timeout=180000 "${files[@]}" || status=$?
owner=${owner:-$(data_owner)}
if [ -n "$owner" ]; then
  echo "test/run.sh: ./data belongs to a running serve (pid $owner): its changes were not checked" >&2
elif [ "$(data_state)" != "$before" ]; then
  echo "test/run.sh: ./data was created or changed while the tests ran (tests must use temporary directories)" >&2
  [ "$status" -ne 0 ] || status=1
fi
exit "$status"
