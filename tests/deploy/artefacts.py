"""Paths, the service's metric contract and loaders shared by the deployment artefact tests."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
K8S = DEPLOY / "k8s"
PROMETHEUS = DEPLOY / "prometheus"
VERSION = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
IMAGE = f"localhost/folio:{VERSION}"
K8S_VERSION = "1.30.0"
WORKSPACE = "/var/lib/folio/workspace"

# The service's metric families (the contract deploy/ is written against).
COUNTERS = {
    "folio_http_requests_total",
    "folio_jobs_submitted_total",
    "folio_jobs_finished_total",
    "folio_job_failures_total",
    "folio_pages_processed_total",
}
HISTOGRAMS = {
    "folio_http_request_duration_seconds",
    "folio_job_duration_seconds",
    "folio_stage_duration_seconds",
}
GAUGES = {
    "folio_queue_depth",
    "folio_queue_oldest_job_age_seconds",
    "folio_workers",
    "folio_worker_rss_bytes",
    "folio_worker_heartbeat_age_seconds",
    "folio_ready",
}
KNOWN_METRICS = (
    COUNTERS | GAUGES | {h + s for h in HISTOGRAMS for s in ("_bucket", "_sum", "_count")}
)
# Every API replica reports the same global value of these (read from Redis): never sum them.
GLOBAL_FAMILY = re.compile(r"\bfolio_(jobs?|queue|workers?|pages|stage)_?\w*")
METRIC_NAME = re.compile(r"\bfolio_[a-z_]+\b")


def tool(name: str, package: str) -> str:
    """The tool next to the running Python (the venv), else on PATH; skip when neither has it."""
    beside = Path(sys.executable).parent / name
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    found = shutil.which(name)
    if found is None:
        pytest.skip(f"{name} is not installed ({package})")
    return found


def run(*command: str | Path) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [str(part) for part in command], capture_output=True, text=True, timeout=120, cwd=ROOT
    )
    assert done.returncode == 0, f"{command[0]} failed:\n{done.stdout}\n{done.stderr}"
    return done


def promtool() -> str:
    return tool("promtool", "Debian package prometheus")


def load_yaml(path: Path) -> dict:
    return yaml.safe_load(path.read_text())


def k8s_files() -> list[Path]:
    # kustomization.yaml is kustomize's file, not an API object.
    return sorted(p for p in K8S.glob("*.yaml") if p.name != "kustomization.yaml")


def k8s_objects(kind: str | None = None) -> list[dict]:
    docs = [d for p in k8s_files() for d in yaml.safe_load_all(p.read_text()) if d]
    return [d for d in docs if kind is None or d["kind"] == kind]


def deployment(name: str) -> dict:
    (found,) = [d for d in k8s_objects("Deployment") if d["metadata"]["name"] == name]
    return found


def grafana_exprs() -> list[str]:
    """Every `expr` in the dashboard, Grafana's interval variables replaced by durations."""
    text = (DEPLOY / "grafana" / "folio.json").read_text()
    exprs: list[str] = []

    def walk(node: object) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("expr"), str):
                exprs.append(node["expr"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(yaml.safe_load(text))  # JSON is YAML
    for variable, value in {
        "$__rate_interval": "5m",
        "$__interval": "1m",
        "$__range": "1h",
    }.items():
        exprs = [e.replace(variable, value) for e in exprs]
    return exprs


def alert_rules() -> list[dict]:
    return [r for g in load_yaml(PROMETHEUS / "alerts.yml")["groups"] for r in g["rules"]]


def adapter_rule() -> dict:
    (rule,) = load_yaml(K8S / "prometheus-adapter" / "values.yaml")["rules"]["external"]
    return rule


def check_promql(exprs: list[str], tmp_path: Path) -> None:
    """promtool parses each expression (wrapped as a recording rule; promtool query needs a
    server)."""
    rules = [{"record": f"check:expr_{i}", "expr": e} for i, e in enumerate(exprs)]
    path = tmp_path / "exprs.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "check", "rules": rules}]}))
    done = run(promtool(), "check", "rules", path)
    assert f"{len(exprs)} rules found" in done.stdout
