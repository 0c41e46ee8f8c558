#!/usr/bin/env bash
# The CI load test: train a model, start the API, load it with SLOs, stop the API.
#
# Exit code: the load test's. 0 every SLO holds, 1 the run failed, 2 usage error, 3 an SLO
# failed. Everything lands in $SPENDCAST_CI_DIR (model, database, API log, server output and
# the run directory run/ with report.html and summary.json): publish that folder.
# Called by deploy/github-actions.yml; run it the same way on a laptop (see docs/ci.md).
set -euo pipefail

export SPENDCAST_CI_DIR="${SPENDCAST_CI_DIR:-ci-loadtest}"
export SPENDCAST_PORT="${SPENDCAST_PORT:-8000}"
export SPENDCAST_WORKERS="${SPENDCAST_WORKERS:-2}"
export SPENDCAST_LOADTEST_SCENARIO="${SPENDCAST_LOADTEST_SCENARIO:-mixed}"
export SPENDCAST_LOADTEST_USERS="${SPENDCAST_LOADTEST_USERS:-20}"
export SPENDCAST_LOADTEST_DURATION="${SPENDCAST_LOADTEST_DURATION:-60s}"
export SPENDCAST_LOADTEST_SLO="${SPENDCAST_LOADTEST_SLO:-p95<100ms;p99<250ms;errors<0.1%}"
# The API and the load test share one token; a fresh one per job unless the job sets it.
export SPENDCAST_API_TOKEN="${SPENDCAST_API_TOKEN:-$(python -c 'import secrets; print(secrets.token_hex(16))')}"

mkdir -p "$SPENDCAST_CI_DIR"
cd "$SPENDCAST_CI_DIR"
export SPENDCAST_MODEL_DIR="$PWD/models"
rm -rf run

echo "::group::train"
spendcast train
echo "::endgroup::"

spendcast serve --port "$SPENDCAST_PORT" --workers "$SPENDCAST_WORKERS" >serve.log 2>&1 &
server=$!
stop_server() {
  if kill -0 "$server" 2>/dev/null; then
    kill -TERM "$server"
    wait "$server" || true
  fi
}
trap stop_server EXIT

url="http://127.0.0.1:$SPENDCAST_PORT"
for _ in $(seq 600); do
  if curl --silent --fail "$url/ready" >/dev/null; then break; fi
  if ! kill -0 "$server" 2>/dev/null; then
    echo "::error title=API did not start::see serve.log"
    cat serve.log
    exit 1
  fi
  sleep 0.1
done

status=0
spendcast loadtest --host "$url" --out run || status=$?
stop_server  # flushes the inference log before the folder is published

case "$status" in
  0) echo "load test passed: $SPENDCAST_LOADTEST_SLO" ;;
  3) echo "::error title=SLO failed::$SPENDCAST_LOADTEST_SLO (see run/report.html, run/summary.json)" ;;
  *) echo "::error title=Load test failed::exit code $status (see run/locust.log, serve.log)" ;;
esac
exit "$status"
