#!/usr/bin/env bash
# The CI load test: train a model, start the API, load it with SLOs, stop the API.
#
# Exit code: the load test's. 0 every SLO holds, 1 the run failed (or the API never became
# ready: its own log is printed), 2 usage error, 3 an SLO failed. Everything lands in
# $SPENDCAST_CI_DIR (model, database, API log, server output and the run directory run/ with
# report.html and summary.json): publish that folder.
# Called by deploy/github-actions.yml; run it the same way on a laptop (see docs/ci.md).
set -euo pipefail

export SPENDCAST_CI_DIR="${SPENDCAST_CI_DIR:-ci-loadtest}"
export SPENDCAST_PORT="${SPENDCAST_PORT:-8000}"
export SPENDCAST_WORKERS="${SPENDCAST_WORKERS:-2}"
export SPENDCAST_LOADTEST_SCENARIO="${SPENDCAST_LOADTEST_SCENARIO:-mixed}"
export SPENDCAST_LOADTEST_USERS="${SPENDCAST_LOADTEST_USERS:-20}"
export SPENDCAST_LOADTEST_DURATION="${SPENDCAST_LOADTEST_DURATION:-60s}"
export SPENDCAST_LOADTEST_SLO="${SPENDCAST_LOADTEST_SLO:-p95<100ms;p99<250ms;errors<0.1%}"
ready_timeout="${SPENDCAST_READY_TIMEOUT:-120}" # seconds for the API to answer /ready
# The API and the load test share one token; a fresh one per job unless the job sets it.
export SPENDCAST_API_TOKEN="${SPENDCAST_API_TOKEN:-$(python -c 'import secrets; print(secrets.token_hex(16))')}"

ci_dir="$SPENDCAST_CI_DIR" # as the job sees it, for the messages
mkdir -p "$SPENDCAST_CI_DIR"
cd "$SPENDCAST_CI_DIR"
export SPENDCAST_MODEL_DIR="$PWD/models"
rm -rf run serve.log

# The files among $@ that exist, as the job sees them: messages point only at those.
existing() {
  local found=() file
  for file in "$@"; do
    [ -e "$file" ] && found+=("$ci_dir/$file")
  done
  echo "${found[*]:-nothing was written}"
}

echo "::group::train"
spendcast train
echo "::endgroup::"

PYTHONUNBUFFERED=1 spendcast serve --port "$SPENDCAST_PORT" --workers "$SPENDCAST_WORKERS" >serve.log 2>&1 &
server=$!

# SIGTERM is a graceful stop (it flushes the inference log); SIGKILL after $1 seconds.
stop_server() {
  local grace="${1:-90}" _
  kill -0 "$server" 2>/dev/null || return 0
  kill -TERM "$server"
  for _ in $(seq $((grace * 10))); do
    kill -0 "$server" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$server" 2>/dev/null; then
    echo "::warning title=API killed::no graceful stop within ${grace}s"
    pkill -KILL -P "$server" 2>/dev/null || true # its workers
    kill -KILL "$server" 2>/dev/null || true
  fi
  wait "$server" 2>/dev/null || true
}
trap stop_server EXIT

not_ready() {
  stop_server 10 # first, so that the log below is complete
  echo "::error title=API not ready::$1 (see $(existing serve.log api_logfile.log))"
  echo "----- serve.log: the API's own output -----"
  cat serve.log
  echo "----- end of serve.log -----"
  exit 1
}

url="http://127.0.0.1:$SPENDCAST_PORT"
deadline=$((SECONDS + ready_timeout))
until curl --silent --fail --max-time 2 "$url/ready" >/dev/null; do
  if ! kill -0 "$server" 2>/dev/null; then
    code=0
    wait "$server" || code=$?
    not_ready "the API exited with code $code before it was ready"
  fi
  if [ "$SECONDS" -ge "$deadline" ]; then
    not_ready "$url/ready did not answer within ${ready_timeout}s"
  fi
  sleep 0.2
done

status=0
spendcast loadtest --host "$url" --out run || status=$?
stop_server # flushes the inference log before the folder is published

case "$status" in
  0) echo "load test passed: $SPENDCAST_LOADTEST_SLO" ;;
  3) echo "::error title=SLO failed::$SPENDCAST_LOADTEST_SLO (see $(existing run/report.html run/summary.json))" ;;
  *) echo "::error title=Load test failed::exit code $status (see $(existing run/locust.log serve.log))" ;;
esac
exit "$status"
