#!/bin/sh
# Offline smoke check of the image, run inside a container with no network, a read-only root and
# the bundled samples mounted at /samples (deploy/build-image.sh --smoke does all that):
# the CLI starts, the baked-in models process the samples into the workspace, SQL reads them
# back, the review app starts, and (once `folio serve` exists) the API answers its health and
# metrics endpoints.
set -eu
ws=${FOLIO_WORKSPACE:-/var/lib/folio/workspace}

folio profiles
folio run /samples --workspace "$ws"
folio sql --workspace "$ws" "SELECT status, count(*) AS documents FROM documents GROUP BY status"
n=$(folio sql --workspace "$ws" --format csv "SELECT count(*) FROM documents WHERE status <> 'failed'" | tail -n 1)
[ "$n" -ge 1 ] || { echo "smoke: no document processed" >&2; exit 1; }

wait_for() {  # ROLE PID: until folio-healthcheck ROLE passes (2 minutes at most)
  i=0
  until folio-healthcheck "$1" 2>/dev/null; do
    i=$((i + 1))
    [ "$i" -lt 120 ] || { echo "smoke: $1 never became healthy" >&2; kill "$2"; exit 1; }
    sleep 1
  done
}

# The review app on a read-only root (HOME is /tmp).
folio app --workspace "$ws" --address 127.0.0.1 --port 8501 &
pid=$!
wait_for app "$pid"
kill -TERM "$pid"
wait "$pid" || true
echo "smoke: the review app answered /_stcore/health"

if folio serve --help >/dev/null 2>&1; then
  # No Redis in this container: the API must live, say it is not ready, and still export metrics
  # (folio_ready 0), or Prometheus could not tell "not ready" from "down".
  folio serve --workspace "$ws" --host 127.0.0.1 --port 8000 &
  pid=$!
  wait_for api "$pid"
  python3 - <<'PY' || { kill "$pid"; exit 1; }
import sys
import urllib.error
import urllib.request


def get(path: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen("http://127.0.0.1:8000" + path, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


checks = {"/version": 200, "/readyz": 503, "/metrics": 200}
got = {path: get(path) for path in checks}
bad = {p: got[p][0] for p, want in checks.items() if got[p][0] != want}
if not bad and "folio_ready 0" not in got["/metrics"][1]:
    bad["/metrics"] = "no `folio_ready 0`"
if bad:
    sys.exit(f"smoke: API without Redis: want {checks}, got {bad}")
print("smoke: API lives, reports not ready without Redis, exports folio_ready 0")
PY
  kill -TERM "$pid"
  wait "$pid" || true
fi
echo "smoke: ok"
