"""How the local executor cuts the queue into tasks, and what happens when a shared task stops."""

from __future__ import annotations

from pathlib import Path

from pipelines.execution.config import load_profile
from pipelines.execution.executor import Job, LocalExecutor
from pipelines.store.workspace import Workspace


def executor(tmp_path: Path, workers: int, per_batch: int) -> LocalExecutor:
    config = load_profile("text").model_copy(update={"documents_per_batch": per_batch})
    return LocalExecutor(config, Workspace.open(tmp_path / "ws"), "run-t", workers)


def jobs(n: int, alone: frozenset[int] = frozenset()) -> list[Job]:
    return [Job(Path(f"/in/{i}.png"), f"{i:064x}", "", alone=i in alone) for i in range(n)]


def names(task: list[Job]) -> list[str]:
    return [job.path.stem for job in task]


def test_tasks_fill_up_to_documents_per_batch_without_starving_a_worker(tmp_path: Path) -> None:
    ex = executor(tmp_path, workers=2, per_batch=4)
    pending = list(reversed(jobs(10)))
    tasks = [names(ex._next_task(pending)) for _ in range(4)]
    # 10 queued for 2 workers: 4, then 3 (ceil of 6/2), then 2 and 1 as the queue drains.
    assert tasks == [["0", "1", "2", "3"], ["4", "5", "6"], ["7", "8"], ["9"]]


def test_a_retried_document_gets_a_task_of_its_own(tmp_path: Path) -> None:
    ex = executor(tmp_path, workers=1, per_batch=4)
    pending = list(reversed(jobs(5, alone=frozenset({2}))))
    tasks = [names(ex._next_task(pending)) for _ in range(3)]
    assert tasks == [["0", "1"], ["2"], ["3", "4"]]


def test_a_stopped_shared_task_is_retried_one_by_one(tmp_path: Path) -> None:
    ex = executor(tmp_path, workers=1, per_batch=4)
    pending: list[Job] = []
    unfinished = jobs(3)
    assert list(ex._stopped(unfinished, "timed out", pending)) == []  # nobody blamed yet
    assert [job.alone for job in pending] == [True, True, True]
    assert names(ex._next_task(pending)) == ["0"]  # in their order, each alone


def test_a_stopped_single_document_fails_with_the_reason(tmp_path: Path) -> None:
    ex = executor(tmp_path, workers=1, per_batch=4)
    pending: list[Job] = []
    [result] = list(ex._stopped(jobs(1), "worker process was killed by SIGKILL", pending))
    assert result.status == "failed" and "SIGKILL" in result.errors[0]
    assert pending == []
    assert len(ex.workspace.staging.entries("results")) == 1  # recorded, not lost
