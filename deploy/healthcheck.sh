#!/bin/sh
# Container health for each Folio role; exit 0 when healthy (used by HEALTHCHECK, compose and
# Kubernetes exec probes).
#   folio-healthcheck api      GET /livez on the API port is 200 (FOLIO_HEALTH_URL overrides)
#   folio-healthcheck ready    GET /readyz is 200 (models, store and queue reachable)
#   folio-healthcheck worker   the worker's heartbeat file is younger than 60 s
#   folio-healthcheck app      GET /_stcore/health on the review app's port is 200
# The role defaults to $FOLIO_ROLE, else api.
set -eu

role=${1:-${FOLIO_ROLE:-api}}
api=${FOLIO_API_PORT:-8000}
app=${FOLIO_APP_PORT:-8501}

get() {
  python3 - "$1" <<'PY'
import sys
import urllib.request

try:
    with urllib.request.urlopen(sys.argv[1], timeout=4) as response:
        sys.exit(0 if response.status == 200 else 1)
except Exception as error:  # refused, timed out, or a 5xx such as readyz's 503
    print(f"unhealthy: {sys.argv[1]}: {error}", file=sys.stderr)
    sys.exit(1)
PY
}

case "$role" in
  api) get "${FOLIO_HEALTH_URL:-http://127.0.0.1:$api/livez}" ;;
  ready) get "${FOLIO_HEALTH_URL:-http://127.0.0.1:$api/readyz}" ;;
  app) get "${FOLIO_HEALTH_URL:-http://127.0.0.1:$app/_stcore/health}" ;;
  worker)
    file=${FOLIO_HEARTBEAT_FILE:-/tmp/folio-worker.alive}
    max_age=${FOLIO_HEARTBEAT_MAX_AGE_S:-60}
    [ -f "$file" ] || { echo "unhealthy: no heartbeat file $file" >&2; exit 1; }
    age=$(( $(date +%s) - $(stat -c %Y "$file") ))
    [ "$age" -lt "$max_age" ] || { echo "unhealthy: heartbeat ${age}s old" >&2; exit 1; }
    ;;
  *) echo "usage: folio-healthcheck api|ready|worker|app" >&2; exit 2 ;;
esac
