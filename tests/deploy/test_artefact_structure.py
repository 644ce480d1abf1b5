"""Structural checks of the deployment artefacts that no validator makes: the parts agree with
each other and with the service contract (roles, probes, limits, metric names, aggregation)."""

from __future__ import annotations

import re

from tests.deploy.artefacts import (
    DEPLOY,
    GLOBAL_FAMILY,
    HISTOGRAMS,
    IMAGE,
    K8S,
    KNOWN_METRICS,
    METRIC_NAME,
    PROMETHEUS,
    VERSION,
    WORKSPACE,
    adapter_rule,
    alert_rules,
    deployment,
    grafana_exprs,
    k8s_files,
    k8s_objects,
    load_yaml,
)

# ---- Containerfile --------------------------------------------------------------------------


def containerfile_stages() -> list[list[tuple[str, str]]]:
    """(INSTRUCTION, arguments) per build stage, continuation lines joined, comments dropped."""
    text = (DEPLOY / "Containerfile").read_text()
    lines = [line for line in text.splitlines() if not line.lstrip().startswith("#")]
    joined = re.sub(r"\\\n\s*", " ", "\n".join(lines))
    stages: list[list[tuple[str, str]]] = []
    for line in filter(None, (raw.strip() for raw in joined.splitlines())):
        instruction, _, arguments = line.partition(" ")
        if instruction.upper() == "FROM":
            stages.append([])
        if stages:
            stages[-1].append((instruction.upper(), arguments))
    return stages


def test_containerfile_runs_non_root_offline_with_models_baked_in() -> None:
    build, runtime = containerfile_stages()
    assert all(args.startswith("${BASE_IMAGE}") for ins, args in build + runtime if ins == "FROM")
    assert any("models.fetch" in args for ins, args in build if ins == "RUN")
    assert not [args for ins, args in build + runtime if ins == "ADD"]
    final = dict(runtime)  # the last of each instruction wins, as in the image
    assert final["USER"].split(":")[0] not in {"root", "0"}
    assert "/opt/folio" in " ".join(args for ins, args in runtime if ins == "COPY")
    assert "HF_HUB_OFFLINE=1" in final["ENV"] and f"FOLIO_WORKSPACE={WORKSPACE}" in final["ENV"]
    assert WORKSPACE in final["VOLUME"]
    assert "folio-healthcheck" in final["HEALTHCHECK"]
    assert '"folio"' in final["ENTRYPOINT"]
    assert set(final["EXPOSE"].split()) == {"8000", "8501"}
    ignored = (DEPLOY / "Containerfile.dockerignore").read_text().split()
    assert {".git", ".venv", "data/workspace"} <= set(ignored)


# ---- compose --------------------------------------------------------------------------------


def test_compose_runs_every_role_from_one_image() -> None:
    services = load_yaml(DEPLOY / "compose.yaml")["services"]
    assert {"api", "worker", "app", "redis", "prometheus"} <= set(services)
    folio = {name: services[name] for name in ("api", "worker", "app")}
    assert {s["image"] for s in folio.values()} == {f"${{FOLIO_IMAGE:-{IMAGE}}}"}
    assert {name: s["command"][0] for name, s in folio.items()} == {
        "api": "serve",
        "worker": "worker",
        "app": "app",
    }
    for name, service in folio.items():
        assert f"workspace:{WORKSPACE}" in service["volumes"], name
        assert service["environment"]["FOLIO_REDIS_URL"].startswith("redis://redis:"), name
        assert service["read_only"] and "/tmp" in service["tmpfs"], name
    for name, service in services.items():
        assert "healthcheck" in service, name
        assert service["deploy"]["resources"]["limits"]["memory"], name
        assert all(str(p).startswith("127.0.0.1:") for p in service.get("ports", [])), name
    assert folio["api"]["deploy"]["replicas"] >= 2
    worker = folio["worker"]
    assert worker["deploy"]["replicas"] >= 2 and worker["stop_grace_period"] == "120s"
    assert "--heartbeat-file=/tmp/folio-worker.alive" in worker["command"]
    assert worker["networks"] == ["backend"]  # the internal network only: no route out
    assert load_yaml(DEPLOY / "compose.yaml")["networks"]["backend"]["internal"] is True
    for service in services.values():  # bind-mounted files exist
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            assert not source.startswith(".") or (DEPLOY / source).exists(), source


# ---- Kubernetes -----------------------------------------------------------------------------


def test_every_deployment_has_probes_limits_and_a_locked_down_pod() -> None:
    deployments = k8s_objects("Deployment")
    assert {d["metadata"]["name"] for d in deployments} == {
        "folio-api",
        "folio-worker",
        "folio-app",
        "folio-redis",
    }
    for d in deployments:
        name, pod = d["metadata"]["name"], d["spec"]["template"]["spec"]
        labels = d["spec"]["template"]["metadata"]["labels"]
        assert d["spec"]["selector"]["matchLabels"].items() <= labels.items(), name
        assert pod["securityContext"]["runAsNonRoot"] is True, name
        for c in pod["containers"]:
            for probe in ("livenessProbe", "readinessProbe"):
                assert {"httpGet", "exec", "tcpSocket", "grpc"} & set(c[probe]), (name, probe)
            for bound in ("requests", "limits"):
                assert {"cpu", "memory"} <= set(c["resources"][bound]), (name, bound)
            security = c["securityContext"]
            assert security["readOnlyRootFilesystem"] is True, name
            assert security["allowPrivilegeEscalation"] is False, name
            assert security["capabilities"]["drop"] == ["ALL"], name
    assert not [o for o in k8s_objects() if "namespace" in o["metadata"]], "namespace-agnostic"


def test_folio_pods_share_the_image_the_workspace_and_a_writable_tmp() -> None:
    for name, role in {"folio-api": "serve", "folio-worker": "worker", "folio-app": "app"}.items():
        pod = deployment(name)["spec"]["template"]["spec"]
        (container,) = pod["containers"]
        assert container["image"] == IMAGE and container["args"][0] == role, name
        assert "command" not in container, "args only: the image's entrypoint (tini, folio) runs"
        mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
        volumes = {v["name"]: v for v in pod["volumes"]}
        assert volumes[mounts[WORKSPACE]]["persistentVolumeClaim"]["claimName"] == "folio-workspace"
        assert "emptyDir" in volumes[mounts["/tmp"]], name
    (api,) = deployment("folio-api")["spec"]["template"]["spec"]["containers"]
    assert api["livenessProbe"]["httpGet"]["path"] == "/livez"
    assert api["readinessProbe"]["httpGet"]["path"] == "/readyz"
    (app,) = deployment("folio-app")["spec"]["template"]["spec"]["containers"]
    assert app["readinessProbe"]["httpGet"]["path"] == "/_stcore/health"
    (pvc,) = [
        p
        for p in k8s_objects("PersistentVolumeClaim")
        if p["metadata"]["name"] == "folio-workspace"
    ]
    assert pvc["spec"]["accessModes"] == ["ReadWriteMany"]


def test_worker_probes_follow_the_heartbeat_and_shutdown_is_warm() -> None:
    pod = deployment("folio-worker")["spec"]["template"]["spec"]
    (worker,) = pod["containers"]
    assert pod["terminationGracePeriodSeconds"] >= 120
    for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
        assert worker[probe]["exec"]["command"] == ["folio-healthcheck", "worker"], probe
    args = worker["args"]
    assert {"--queue=models", "--queue=cpu", "--heartbeat-file=/tmp/folio-worker.alive"} <= set(
        args
    )
    (max_rss,) = [int(a.split("=")[1]) for a in args if a.startswith("--max-rss-mb=")]
    assert worker["resources"]["limits"]["memory"] == "2Gi" and max_rss < 2048
    # The memory alerts name the same 2 GiB limit.
    memory_alerts = [r["expr"] for r in alert_rules() if "MemoryNearLimit" in r["alert"]]
    assert len(memory_alerts) == 2 and all("2 * 1024^3" in e for e in memory_alerts)


def test_hpa_scales_workers_on_cpu_and_models_queue_depth() -> None:
    (hpa,) = k8s_objects("HorizontalPodAutoscaler")
    assert hpa["apiVersion"] == "autoscaling/v2"
    target = hpa["spec"]["scaleTargetRef"]
    assert (target["kind"], target["name"]) == ("Deployment", "folio-worker")
    assert 1 <= hpa["spec"]["minReplicas"] <= hpa["spec"]["maxReplicas"]
    metrics = {m["type"]: m for m in hpa["spec"]["metrics"]}
    assert set(metrics) == {"Resource", "External"}
    assert metrics["Resource"]["resource"]["name"] == "cpu"
    external = metrics["External"]["external"]["metric"]
    assert external["name"] == "folio_queue_depth"
    assert external["selector"]["matchLabels"] == {"queue": "models"}
    # prometheus-adapter serves that very name, as a max over the replicas' identical values.
    rule = adapter_rule()
    assert rule["name"]["as"] == external["name"] and external["name"] in rule["seriesQuery"]
    assert rule["metricsQuery"].startswith("max by (queue)")


def test_services_and_budgets_select_real_pods() -> None:
    pods = {
        d["metadata"]["name"]: (d, d["spec"]["template"]["metadata"]["labels"])
        for d in k8s_objects("Deployment")
    }

    def selected(selector: dict) -> list[str]:
        return [n for n, (_, labels) in pods.items() if selector.items() <= labels.items()]

    for service in k8s_objects("Service"):
        (name,) = selected(service["spec"]["selector"])
        ports = {
            p["name"]
            for c in pods[name][0]["spec"]["template"]["spec"]["containers"]
            for p in c["ports"]
        }
        assert {p["targetPort"] for p in service["spec"]["ports"]} <= ports
    for budget in k8s_objects("PodDisruptionBudget"):
        (name,) = selected(budget["spec"]["selector"]["matchLabels"])
        replicas = pods[name][0]["spec"]["replicas"]
        assert budget["spec"].get("minAvailable", 0) < replicas, "a budget that blocks drains"
    kustomization = load_yaml(K8S / "kustomization.yaml")
    assert sorted(kustomization["resources"]) == sorted(p.name for p in k8s_files())
    assert kustomization["images"] == [{"name": "localhost/folio", "newTag": VERSION}]


# ---- Prometheus and Grafana -----------------------------------------------------------------


def test_alerts_cover_the_failure_modes_and_each_fires_and_stays_quiet() -> None:
    rules = alert_rules()
    exprs = " ".join(r["expr"] for r in rules)
    for needle in (
        'folio_jobs_finished_total{status="failed"}',  # error rate
        "folio_queue_depth",  # backlog
        "folio_queue_oldest_job_age_seconds",  # age
        "folio_worker_heartbeat_age_seconds",  # stalled worker
        'folio_workers{state="busy"}',  # busy with nothing finishing
        "changes(folio_ready[15m])",  # readiness flapping
        "folio_worker_rss_bytes",  # memory
        "process_resident_memory_bytes",
    ):
        assert needle in exprs, needle
    for rule in rules:
        assert rule["labels"]["severity"] in {"warning", "critical"}, rule["alert"]
        assert rule["annotations"]["summary"], rule["alert"]
    outcomes: dict[str, set[bool]] = {}
    for test in load_yaml(PROMETHEUS / "alerts_test.yml")["tests"]:
        for case in test.get("alert_rule_test", []):
            outcomes.setdefault(case["alertname"], set()).add(bool(case.get("exp_alerts")))
    assert {r["alert"]: {True, False} for r in rules} == {
        name: outcomes.get(name, set()) for name in (r["alert"] for r in rules)
    }


def test_global_families_are_never_summed_over_replicas() -> None:
    """Each replica reports the same global values: queries take their max over replicas."""
    exprs = [r["expr"] for r in alert_rules()] + grafana_exprs()
    for expr in exprs:
        if GLOBAL_FAMILY.search(expr):
            assert "max without(instance, pod)" in expr or "max by (" in expr, expr


def test_queries_name_only_the_service_metrics() -> None:
    texts = [r["expr"] for r in alert_rules()] + grafana_exprs() + [adapter_rule()["metricsQuery"]]
    used = {name for text in texts for name in METRIC_NAME.findall(text)}
    assert used <= KNOWN_METRICS, used - KNOWN_METRICS
    assert {n.removesuffix("_bucket") for n in used} >= HISTOGRAMS, "a histogram not charted"


def test_dashboard_charts_what_operators_ask_for() -> None:
    dashboard = load_yaml(DEPLOY / "grafana" / "folio.json")
    panels = dashboard["panels"]
    assert len({p["id"] for p in panels}) == len(panels)
    exprs = " ".join(grafana_exprs())
    for needle in (
        "rate(folio_pages_processed_total",
        "histogram_quantile(0.50, sum by (le) (max without(instance, pod) (rate(folio_job_duration",
        "histogram_quantile(0.95, sum by (le) (max without(instance, pod) (rate(folio_job_duration",
        "folio_queue_depth",
        "folio_queue_oldest_job_age_seconds",
        "sum by (reason)",
        "folio_worker_rss_bytes",
        'folio_http_requests_total{status=~"5.."}',
        "folio_stage_duration_seconds_bucket",
    ):
        assert needle in exprs, needle
    for panel in panels:
        for target in panel.get("targets", []):
            assert target["refId"] and target["datasource"]["uid"] == "${datasource}"
