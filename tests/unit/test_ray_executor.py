"""The Ray executor keeps the local executor's contract: the same documents, nothing lost or
duplicated when a worker is killed, a slow document failing alone, a readable error without Ray.

One bounded local Ray (2 CPUs, a small object store, loopback) serves the whole module. The
worker kill is made deterministic by a test stage, `test.gate`: the page of one chosen document
announces itself (a file named after the actor's pid) and waits until the test opens the gate,
so the test kills the actor exactly while it holds that document, never by luck of timing.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from extractors.document import document_id_for
from extractors.stage import PageContext, PageStage, StageOptions, register
from models.assets import file_sha256
from pipelines.execution.config import PipelineConfig, StageSpec, load_profile
from pipelines.execution.executor import Job, JobResult, LocalExecutor
from pipelines.store.staging import StagingArea
from pipelines.store.workspace import Workspace
from tests.conftest import ROOT, text_image

ray = pytest.importorskip("ray")

from pipelines.execution import ray_executor  # noqa: E402  (after the skip: needs ray)
from pipelines.execution.ray_executor import RayExecutor, RayUnavailable  # noqa: E402


class GateOptions(StageOptions):
    document_id: str  # whose page waits
    gate: str  # folder: `entered-<pid>` is written on arrival, the page waits for `open`


@register
class GateStage(PageStage[GateOptions]):
    """Holds one document's page in the actor until the test opens the gate."""

    kind = "test.gate"
    Options = GateOptions

    def predict(self, batch: Sequence[PageContext]) -> list[Any]:
        for ctx in batch:
            if ctx.document_id == self.options.document_id:
                gate = Path(self.options.gate)
                (gate / f"entered-{os.getpid()}").touch()
                while not (gate / "open").exists():
                    time.sleep(0.02)
        return [None] * len(batch)

    def annotate(self, batch: Sequence[PageContext], predictions: Sequence[Any]) -> None:
        pass


def setup_worker() -> None:
    """Ray's worker setup hook: importing this module registers `test.gate` in the worker."""


@pytest.fixture(scope="module", autouse=True)
def local_ray() -> Iterator[None]:
    if ray.is_initialized():
        ray.shutdown()
    path = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p)
    ray_executor.start_local_ray(
        ray,
        num_cpus=2,
        object_store_memory=100 * 1024**2,
        runtime_env={
            "env_vars": {"PYTHONPATH": path},
            "worker_process_setup_hook": f"{__name__}.setup_worker",
        },
    )
    yield
    ray.shutdown()


def make_inputs(folder: Path, n: int, scans_every: int = 4) -> list[Path]:
    """`n` small one-page documents: born-digital PDFs and, every `scans_every`, a scan (OCR)."""
    from fpdf import FPDF

    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(n):
        if scans_every and i % scans_every == scans_every - 1:
            path = folder / f"d{i:02d}.png"
            lines = [f"Scanned receipt {i}", f"Total {i * 3}.50 EUR"]
            text_image(lines, size=(600, 200), font_size=28, seed=i).save(path)
        else:
            path = folder / f"d{i:02d}.pdf"
            pdf = FPDF(format=(300, 200), unit="pt")
            pdf.add_page()
            pdf.set_font("Helvetica", size=12)
            pdf.text(20, 40, f"Invoice number {i}")
            pdf.text(20, 70, f"Amount due {i * 3}.00 EUR")
            pdf.output(str(path))
        paths.append(path)
    return paths


def make_jobs(workspace: Workspace, paths: list[Path]) -> list[Job]:
    jobs = []
    for path in paths:
        sha = file_sha256(path)
        stored = workspace.keep_copy(path, sha)
        jobs.append(Job(path=path.resolve(), sha256=sha, stored_path=str(stored)))
    return jobs


def gated(config: PipelineConfig, document_sha: str, gate: Path, **update: Any) -> PipelineConfig:
    gate.mkdir(parents=True, exist_ok=True)
    options = {"document_id": document_id_for(document_sha), "gate": str(gate)}
    stages = [StageSpec(kind="test.gate", options=options), *config.stages]
    return config.model_copy(update={"stages": stages, **update})


def staged(workspace: Workspace) -> dict[str, list[dict[str, Any]]]:
    """Every staged result bundle, by result id (several for one id would be a duplicate)."""
    by_key: dict[str, list[dict[str, Any]]] = {}
    for entry in workspace.staging.entries("results"):
        payload = StagingArea.read(entry)
        assert payload is not None
        by_key.setdefault(entry.key, []).append(payload)
    return by_key


def comparable(payload: dict[str, Any]) -> str:
    """A staged document without what differs between two runs of the same work."""
    document = payload["document"]
    document["pipeline"].update(timings_ms={}, started_at="", elapsed_ms=0.0)
    return json.dumps(document, sort_keys=True)


def test_ray_gives_the_same_documents_as_the_local_executor(tmp_path: Path) -> None:
    config = load_profile("text")
    paths = make_inputs(tmp_path / "in", 16)  # 12 PDFs, 4 scans: tasks of several documents
    outcomes = {}
    for name, executor_class in (("local", LocalExecutor), ("ray", RayExecutor)):
        workspace = Workspace.open(tmp_path / name)
        jobs = make_jobs(workspace, paths)
        started = time.monotonic()
        results = list(executor_class(config, workspace, f"run-{name}", 2).run(jobs))
        print(f"{name}: {len(jobs)} documents in {time.monotonic() - started:.1f} s")
        assert sorted(r.job.path.name for r in results) == sorted(p.name for p in paths)
        assert {r.status for r in results} == {"ok"}
        bundles = staged(workspace)
        assert all(len(versions) == 1 for versions in bundles.values())
        assert {v[0]["run_id"] for v in bundles.values()} == {f"run-{name}"}
        outcomes[name] = {key: comparable(v[0]) for key, v in bundles.items()}
    assert len(outcomes["ray"]) == 16
    assert outcomes["ray"] == outcomes["local"]


def kill_at_gate(gate: Path, workspace: Workspace, kills: int, seen: dict[str, Any]) -> None:
    """Kill the actor holding the gated document `kills` times, then open the gate."""
    killed: list[int] = []
    deadline = time.monotonic() + 90
    while len(killed) < kills and time.monotonic() < deadline:
        for marker in gate.glob("entered-*"):
            pid = int(marker.name.partition("-")[2])
            if pid not in killed:
                seen.setdefault("staged_before_kill", len(workspace.staging.entries("results")))
                os.kill(pid, signal.SIGKILL)
                killed.append(pid)
        time.sleep(0.02)
    seen["killed"] = killed
    (gate / "open").touch()


def run_with_kills(
    tmp_path: Path, n: int, target: int, kills: int, **update: Any
) -> tuple[Workspace, list[Job], list[JobResult], dict[str, Any]]:
    workspace = Workspace.open(tmp_path / "ws")
    jobs = make_jobs(workspace, make_inputs(tmp_path / "in", n, scans_every=0))
    gate = tmp_path / "gate"
    config = gated(load_profile("text"), jobs[target].sha256, gate, **update)
    seen: dict[str, Any] = {}
    killer = threading.Thread(target=kill_at_gate, args=(gate, workspace, kills, seen))
    killer.start()
    try:
        results = list(RayExecutor(config, workspace, "run-kill", 2).run(jobs))
    finally:
        (gate / "open").touch()
        killer.join()
    return workspace, jobs, results, seen


def test_a_worker_killed_mid_batch_loses_and_duplicates_nothing(tmp_path: Path) -> None:
    # Tasks of 2 for 2 actors: [0 1] [2 3] [4 5] [6 7]; the actor holding 5 dies, so 4 and 5
    # are retried (each alone) on a fresh actor, and nothing finished before is redone.
    workspace, jobs, results, seen = run_with_kills(
        tmp_path, 8, target=5, kills=1, documents_per_batch=2
    )
    assert len(seen["killed"]) == 1 and seen["staged_before_kill"] >= 2  # mid-batch
    assert Counter(r.job.sha256 for r in results) == Counter(j.sha256 for j in jobs)
    assert {r.status for r in results} == {"ok"}, [r.errors for r in results]
    bundles = staged(workspace)
    assert len(bundles) == 8
    assert all(len(v) == 1 and v[0]["document"]["status"] == "ok" for v in bundles.values())
    # The gated document reached the gate twice: on the killed actor and on its replacement.
    assert len(list((tmp_path / "gate").glob("entered-*"))) == 2


def test_a_document_whose_worker_dies_twice_fails_alone_with_the_reason(tmp_path: Path) -> None:
    workspace, _jobs, results, seen = run_with_kills(tmp_path, 3, target=1, kills=2)
    assert len(seen["killed"]) == 2
    by_name = {r.job.path.name: r for r in results}
    assert len(results) == 3 and by_name["d00.pdf"].status == by_name["d02.pdf"].status == "ok"
    failed = by_name["d01.pdf"]
    assert failed.status == "failed"
    assert "Ray worker process died" in failed.errors[0] and "died twice" in failed.errors[0]
    assert all(len(v) == 1 for v in staged(workspace).values())


def test_a_document_over_the_time_limit_fails_alone_and_the_batch_goes_on(tmp_path: Path) -> None:
    workspace = Workspace.open(tmp_path / "ws")
    jobs = make_jobs(workspace, make_inputs(tmp_path / "in", 5, scans_every=0))
    # The gate never opens: document 1 holds its shared task [0 1 2] past the limit, the three
    # are retried one per task, and 1 alone times out again and fails; 0 and 2 finish.
    config = gated(
        load_profile("text"), jobs[1].sha256, tmp_path / "gate", timeout_s=3.0, stall_timeout_s=60
    )
    results = list(RayExecutor(config, workspace, "run-timeout", 2).run(jobs))
    by_name = {r.job.path.name: r for r in results}
    assert len(results) == 5
    assert by_name["d01.pdf"].status == "failed"
    assert "timed out after 3 s (timeout_s in the profile)" in by_name["d01.pdf"].errors[0]
    assert {r.status for name, r in by_name.items() if name != "d01.pdf"} == {"ok"}
    assert all(len(v) == 1 for v in staged(workspace).values())


def test_a_document_staged_before_its_worker_died_is_credited_not_redone(tmp_path: Path) -> None:
    from pipelines.execution.executor import failed_document
    from pipelines.store.staging import stage_bundle

    config = load_profile("text")
    workspace = Workspace.open(tmp_path / "ws")
    done, other_run = make_jobs(workspace, make_inputs(tmp_path / "in", 2, scans_every=0))
    executor = RayExecutor(config, workspace, "run-now", 2)
    for job, run_id in ((done, "run-now"), (other_run, "run-old")):
        document = failed_document(job, config, executor.config_hash, "stand-in for a result")
        stage_bundle(workspace, document, run_id, job.stored_path)
    pending: list[Job] = []
    credited = list(executor._lost([done, other_run], "worker died", pending, {}))
    assert [r.job for r in credited] == [done]  # this run's bundle: the driver missed its report
    assert [j.sha256 for j in pending] == [other_run.sha256]  # another run's: retried
    assert len(workspace.staging.entries("results")) == 2  # nothing restaged


def test_without_ray_the_error_says_how_to_install_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` fails as if not installed
    with pytest.raises(RayUnavailable, match=r"install with bash scripts/setup.sh --ray"):
        RayExecutor(load_profile("text"), Workspace.open(tmp_path / "ws"), "run-x", 1)


def test_folio_run_with_the_ray_executor(tmp_path: Path) -> None:
    # The console script's module in its own process: with no address it starts a local Ray
    # (loopback, bounded), runs the batch on it and shuts it down again.
    from pipelines.store.database import query

    make_inputs(tmp_path / "in", 3, scans_every=3)
    env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}
    command = [sys.executable, "-m", "service.cli", "run", str(tmp_path / "in")]
    command += ["-w", str(tmp_path / "ws"), "-p", "text", "-j", "2", "--executor", "ray"]
    result = subprocess.run(
        command, capture_output=True, text=True, timeout=240, env={**env, "COLUMNS": "200"}
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "3 / 0 / 0" in result.stdout  # ok / partial / failed
    table = query(Workspace.open(tmp_path / "ws"), "SELECT status FROM documents")
    assert table.column("status").to_pylist() == ["ok"] * 3


def test_folio_run_refuses_an_unknown_executor_and_a_missing_ray(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from service.cli import app

    make_inputs(tmp_path / "in", 1)
    args = ["run", str(tmp_path / "in"), "-w", str(tmp_path / "ws"), "-p", "text"]
    runner = CliRunner()
    bad = runner.invoke(app, [*args, "--executor", "spark"], env={"COLUMNS": "200"})
    assert bad.exit_code == 2 and "--executor must be local or ray, not 'spark'" in bad.output
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` fails as if not installed
    missing = runner.invoke(app, [*args, "--executor", "ray"], env={"COLUMNS": "200"})
    assert missing.exit_code == 2, missing.output
    assert "ray is not installed; install with bash scripts/setup.sh --ray" in missing.output


def test_models_on_a_model_server_actor_give_the_same_documents(tmp_path: Path) -> None:
    """GPU stages on GPU actors (here forced on the CPU): the pipeline actors send their model
    calls to one model-server actor; the documents equal the local executor's."""
    config = load_profile("text")
    paths = make_inputs(tmp_path / "in", 8, scans_every=2)
    outcomes = {}
    for name in ("local", "ray"):
        workspace = Workspace.open(tmp_path / name)
        jobs = make_jobs(workspace, paths)
        if name == "local":
            results = list(LocalExecutor(config, workspace, "run", 2).run(jobs))
        else:
            executor = RayExecutor(config, workspace, "run", 2, model_server=True)
            results = list(executor.run(jobs))
            calls = {n: s.calls for stats in executor.server_stats for n, s in stats.models.items()}
            assert calls.get("PP-OCRv6_det_small.onnx", 0) >= 1, calls
            assert calls.get("PP-OCRv6_rec_small.onnx", 0) >= 1, calls
        assert {r.status for r in results} == {"ok"}, [(name, r.errors) for r in results]
        outcomes[name] = {key: comparable(v[0]) for key, v in staged(workspace).items()}
    assert len(outcomes["ray"]) == 8
    assert outcomes["ray"] == outcomes["local"]
